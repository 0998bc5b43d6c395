"""The _k8s seam against the emulator: server defaults, dry run, server-side apply (removals, other managers,
the hand-over from the old merge-patch writer), lost answers, timeouts, Retry-After and the retry budget, 422 messages."""
import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _k8s
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi, KubeApiError

POOL = {'apiVersion': 'spiderpool.spidernet.io/v2beta1', 'kind': 'SpiderIPPool', 'metadata': {'name': 'seam-v4'},
        'spec': {'subnet': '10.77.0.0/24', 'ips': ['10.77.0.10-10.77.0.20']}}


def make(kubeapi, check_mode=False):
    return KubeApi.from_params({'kubeconfig': kubeapi.kubeconfig}, check_mode=check_mode, backoff=0.01)


def test_ensure_is_unchanged_although_the_server_added_defaults(kubeapi):
    api = make(kubeapi)
    created = api.ensure(POOL)
    assert created['action'] == 'created'
    stored = kubeapi.get('spiderpool.spidernet.io/v2beta1', 'SpiderIPPool', 'seam-v4')
    assert set(stored['spec']) > set(POOL['spec'])  # the CRD's defaults were applied by the server
    kubeapi.clear_requests()
    again = api.ensure(POOL)
    assert again['changed'] is False and again['action'] == 'unchanged'
    assert [r['verb'] for r in kubeapi.requests() if r['resource'] == 'spiderippools'] == ['get']


def test_check_mode_is_a_server_dry_run(kubeapi):
    outcome = make(kubeapi, check_mode=True).ensure(POOL)
    assert outcome['action'] == 'created' and outcome['after']['metadata']['name'] == 'seam-v4'
    applies = [r for r in kubeapi.requests() if r['verb'] == 'patch']
    assert applies and all(r['dry_run'] and r['content_type'] == 'application/apply-patch+yaml' for r in applies)
    assert kubeapi.get('spiderpool.spidernet.io/v2beta1', 'SpiderIPPool', 'seam-v4') is None


def test_transient_faults_then_update_by_server_side_apply(kubeapi):
    api = make(kubeapi)
    api.ensure(POOL)
    kubeapi.inject(status=503, verb='patch', resource='spiderippools', count=2, retry_after=0)
    wanted = dict(POOL, spec=dict(POOL['spec'], ips=['10.77.0.10-10.77.0.30']))
    outcome = api.ensure(wanted)
    assert outcome['action'] == 'updated' and api.retried == 2
    assert kubeapi.get('spiderpool.spidernet.io/v2beta1', 'SpiderIPPool', 'seam-v4')['spec']['ips'] == ['10.77.0.10-10.77.0.30']


def test_schema_rejection_is_a_clear_message(kubeapi):
    bad = dict(POOL, spec=dict(POOL['spec'], ipVersion='four'))
    with pytest.raises(KubeApiError) as err:
        make(kubeapi).ensure(bad)
    assert err.value.status == 422
    assert 'apply SpiderIPPool seam-v4 (spiderpool.spidernet.io/v2beta1) failed' in str(err.value) and 'ipVersion' in str(err.value)


def test_auth_options_without_kubeconfig_over_tls_with_a_token(tmp_path):
    from lab.kubeapi.fixtures import start_kubeapi
    with start_kubeapi(tmp_path / 'api', tls=True, token='s3cret-token') as server:
        params = {'host': server.url, 'api_key': 's3cret-token', 'ca_cert': server.ca_cert, 'validate_certs': True}
        api = KubeApi.from_params(params)
        assert api.is_served('kubevirt.io/v1', 'VirtualMachine')
        assert api.ensure(POOL)['action'] == 'created'
        with pytest.raises(KubeApiError) as err:
            KubeApi.from_params(dict(params, api_key='wrong')).list('spiderpool.spidernet.io/v2beta1', 'SpiderIPPool')
        assert err.value.status == 401


def test_reads_and_writes_come_back_as_plain_dicts(kubeapi):
    # The seam asks the real dynamic client for plain decoded JSON (no ResourceInstance round trip).
    api = make(kubeapi)
    created = api.ensure(POOL)
    assert type(created['after']) is dict and type(created['after']['spec']) is dict  # pylint: disable=unidiomatic-typecheck
    listed = api.list('spiderpool.spidernet.io/v2beta1', 'SpiderIPPool')
    assert [type(item) for item in listed] == [dict] * len(listed) and listed
    got = api.get('spiderpool.spidernet.io/v2beta1', 'SpiderIPPool', 'seam-v4')
    assert type(got['metadata']) is dict and got['metadata']['resourceVersion']  # pylint: disable=unidiomatic-typecheck
    stripped = _k8s.strip_server_fields(got)
    assert 'resourceVersion' not in stripped['metadata'] and 'resourceVersion' in got['metadata'], 'the read object is left alone'


SPIDER = 'spiderpool.spidernet.io/v2beta1'


def labelled(labels, **spec):
    return dict(POOL, metadata=dict(POOL['metadata'], labels=labels), spec=dict(POOL['spec'], **spec))


def test_removed_fields_go_and_other_managers_fields_stay(kubeapi):
    api = make(kubeapi)
    api.ensure(labelled({'team': 'a', 'tier': 'db'}, excludeIPs=['10.77.0.15']))
    kubeapi.http('PATCH', '/apis/%s/spiderippools/seam-v4' % SPIDER, body={'metadata': {'labels': {'owner': 'ops'}}},
                 content_type='application/merge-patch+json')  # another tool's label (field manager lab-fixture)
    kubeapi.clear_requests()
    outcome = api.ensure(labelled({'team': 'a'}))
    assert outcome['changed'] and outcome['action'] == 'updated'
    stored = kubeapi.get(SPIDER, 'SpiderIPPool', 'seam-v4')
    assert stored['metadata']['labels'] == {'team': 'a', 'owner': 'ops'}
    assert 'excludeIPs' not in stored['spec']
    assert [r['field_manager'] for r in kubeapi.writes()] == ['vmnet.kubevirt']
    kubeapi.clear_requests()
    assert api.ensure(labelled({'team': 'a'}))['changed'] is False and kubeapi.writes() == []


def test_objects_of_the_old_merge_patch_writer_are_taken_over_so_removals_work(kubeapi):
    """Created the way earlier versions did (POST, then merge patches, no field manager: the server names
    the fields' owner after the client's User-Agent, OpenAPI-Generator)."""
    pools = kubeapi.client().resources.get(api_version=SPIDER, kind='SpiderIPPool')
    pools.create(body=labelled({'team': 'a', 'tier': 'db'}, namespaceName=['vms']))
    pools.patch(name='seam-v4', body={'metadata': {'labels': {'zone': 'x'}}}, content_type='application/merge-patch+json')
    managers = [e['manager'] for e in kubeapi.get(SPIDER, 'SpiderIPPool', 'seam-v4')['metadata']['managedFields']]
    assert managers == ['OpenAPI-Generator']
    api = make(kubeapi)
    assert api.ensure(labelled({'team': 'a', 'tier': 'db', 'zone': 'x'}, namespaceName=['vms']))['changed'] is False
    checked = make(kubeapi, check_mode=True).ensure(labelled({'team': 'a'}))
    assert checked['changed'] and checked['after']['metadata']['labels'] == {'team': 'a'}
    assert 'namespaceName' not in checked['after']['spec']
    assert kubeapi.get(SPIDER, 'SpiderIPPool', 'seam-v4')['metadata']['labels'] == {'team': 'a', 'tier': 'db', 'zone': 'x'}
    outcome = api.ensure(labelled({'team': 'a'}))
    assert outcome['changed'] and outcome['action'] == 'updated'
    stored = kubeapi.get(SPIDER, 'SpiderIPPool', 'seam-v4')
    assert stored['metadata']['labels'] == {'team': 'a'} and 'namespaceName' not in stored['spec']
    assert [e['manager'] for e in stored['metadata']['managedFields']] == ['vmnet.kubevirt']
    assert api.ensure(labelled({'team': 'a'}))['changed'] is False


def test_a_conflict_with_another_manager_fails_cleanly_unless_forced(kubeapi):
    api = make(kubeapi)
    api.ensure(POOL)
    kubeapi.apply(dict(POOL, spec={'subnet': '10.77.0.0/24', 'ips': ['10.77.0.10-10.77.0.40']}), field_manager='kubectl-edit')
    kubeapi.clear_requests()
    with pytest.raises(KubeApiError) as err:
        api.ensure(POOL)
    assert err.value.status == 409
    assert str(err.value) == ('apply SpiderIPPool seam-v4 (spiderpool.spidernet.io/v2beta1) failed: field(s) owned by another field '
                              'manager with other values: .spec.ips (owned by kubectl-edit). Change the inventory to match, or set '
                              'force_conflicts: true to make vmnet.kubevirt their owner')
    assert kubeapi.get(SPIDER, 'SpiderIPPool', 'seam-v4')['spec']['ips'] == ['10.77.0.10-10.77.0.40']
    forced = KubeApi.from_params({'kubeconfig': kubeapi.kubeconfig, 'force_conflicts': True}, backoff=0.01).ensure(POOL)
    assert forced['changed'] and kubeapi.get(SPIDER, 'SpiderIPPool', 'seam-v4')['spec']['ips'] == ['10.77.0.10-10.77.0.20']


@pytest.mark.parametrize('exists', [False, True])
def test_a_write_whose_answer_was_lost_still_reports_changed(kubeapi, exists):
    api = make(kubeapi)
    if exists:
        api.ensure(POOL)
    kubeapi.inject(status=None, verb='patch', resource='spiderippools', name='seam-v4', drop='after')
    wanted = dict(POOL, spec=dict(POOL['spec'], ips=['10.77.0.10-10.77.0.30']))
    outcome = api.ensure(wanted)
    assert outcome['changed'] is True and outcome['action'] == ('updated' if exists else 'created'), outcome
    assert api.retried == 1
    dropped = [r for r in kubeapi.requests() if (r.get('fault') or {}).get('drop')]
    assert len(dropped) == 1
    assert kubeapi.get(SPIDER, 'SpiderIPPool', 'seam-v4')['spec']['ips'] == ['10.77.0.10-10.77.0.30']


def test_a_stalled_answer_times_out_and_is_retried_within_the_budget(kubeapi):
    api = KubeApi.from_params({'kubeconfig': kubeapi.kubeconfig, 'request_timeout': 0.5}, backoff=0.01)
    kubeapi.inject(status=None, verb='get', resource='spiderippools', name='seam-v4', latency=3)
    assert api.get(SPIDER, 'SpiderIPPool', 'seam-v4') is None
    assert api.retried == 1
    # the retry has been answered; the stalled request (abandoned by the client) is logged once the server wakes
    gets = [r for r in kubeapi.requests() if r['verb'] == 'get' and r.get('name') == 'seam-v4']
    assert [r['fault'] for r in gets] == [None] and kubeapi.faults() == []


def test_urllib3_retries_nothing_behind_the_budget(kubeapi):
    """A 503 with Retry-After on a GET used to be retried inside urllib3, unseen and uncounted."""
    api = make(kubeapi)
    kubeapi.inject(status=503, verb='get', resource='spiderippools', name='seam-v4', retry_after=0)
    assert api.get(SPIDER, 'SpiderIPPool', 'seam-v4') is None
    assert api.retried == 1


def test_retry_after_beyond_the_budget_fails_cleanly_without_waiting(kubeapi):
    api = KubeApi.from_params({'kubeconfig': kubeapi.kubeconfig, 'retry_budget': 5}, backoff=0.01)
    kubeapi.inject(status=429, verb='patch', resource='spiderippools', retry_after=60)
    with pytest.raises(KubeApiError) as err:
        api.ensure(POOL)
    assert err.value.status == 429
    assert 'the server asked to retry after 60 s, more than the 5 s left of the retry budget (retry_budget 5 s); gave up after 1 attempt' \
        in str(err.value)
    assert kubeapi.get(SPIDER, 'SpiderIPPool', 'seam-v4') is None
