"""The _k8s seam against the emulator: server defaults, dry run, 409 on a lost create answer, 422 messages."""
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
    creates = [r for r in kubeapi.requests() if r['verb'] == 'create']
    assert creates and all(r['dry_run'] for r in creates)
    assert kubeapi.get('spiderpool.spidernet.io/v2beta1', 'SpiderIPPool', 'seam-v4') is None


def test_transient_faults_then_update_by_merge_patch(kubeapi):
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
    assert 'create SpiderIPPool seam-v4 (spiderpool.spidernet.io/v2beta1) failed' in str(err.value) and 'ipVersion' in str(err.value)


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
