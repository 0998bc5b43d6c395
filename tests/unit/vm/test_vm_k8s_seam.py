"""The _k8s API seam: retries, 409 handling, idempotence with server defaults, dry run, messages.

A fake of the kubernetes dynamic client's Resource (the object kubernetes.core's K8SClient hands
back) stands in for the server here; the same paths run against the emulator in tests/integration/vm.
"""
import copy
import json

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError, api_exception

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _k8s


def api_error(status, message='boom', headers=None, causes=None):
    exc = ApiException(status=status, reason='Reason%d' % status)
    body = {'kind': 'Status', 'message': message, 'reason': 'Reason%d' % status}
    if causes:
        body['details'] = {'causes': causes}
    exc.body = json.dumps(body)
    exc.headers = headers or {}
    return api_exception(exc)


class FakeResource:
    """Stores objects; ``faults`` is a list of (verb, error) consumed in order."""

    def __init__(self, defaults=None):
        self.store = {}
        self.calls = []
        self.faults = []
        self.defaults = defaults or {}
        self.version = 0

    def _record(self, verb, name, params):
        """Log the call without its serializer; return how to answer it, as the dynamic client
        does: ``serializer(client, decoded JSON)``. The seam must always name one."""
        params = dict(params)
        serializer = params.pop('serializer')
        self.calls.append((verb, name, params))
        return lambda data: serializer(None, copy.deepcopy(data)), params

    def _fault(self, verb, stored=False):
        """Raise the first queued fault for ``verb``; ``stored`` faults fire after the write is kept
        (the server did it, the answer was lost)."""
        for index, fault in enumerate(self.faults):
            fverb, error = fault[0], fault[1]
            after = len(fault) > 2 and fault[2]
            if fverb == verb and after == stored:
                del self.faults[index]
                raise error

    def get(self, name=None, namespace=None, **params):
        answer, params = self._record('get', name, params)
        self._fault('get')
        if name is None:
            return answer({'items': list(self.store.values())})
        if (namespace, name) not in self.store:
            raise api_error(404, 'not found')
        return answer(self.store[(namespace, name)])

    def _stamp(self, obj):
        self.version += 1
        obj.setdefault('metadata', {})['resourceVersion'] = str(self.version)
        obj['metadata']['uid'] = 'uid-' + obj['metadata']['name']
        for key, value in self.defaults.items():
            obj.setdefault('spec', {}).setdefault(key, value)
        return obj

    def create(self, body=None, namespace=None, **params):
        answer, params = self._record('create', body['metadata']['name'], params)
        self._fault('create')
        key = (namespace, body['metadata']['name'])
        if key in self.store:
            raise api_error(409, 'already exists')
        obj = self._stamp(copy.deepcopy(body))
        if not params.get('dry_run'):
            self.store[key] = obj
        self._fault('create', stored=True)
        return answer(obj)

    def patch(self, body=None, name=None, namespace=None, **params):
        answer, params = self._record('patch', name, params)
        self._fault('patch')
        current = self.store.get((namespace, name))
        if current is None:
            raise api_error(404, 'not found')
        wanted_rv = body.get('metadata', {}).get('resourceVersion')
        if wanted_rv and wanted_rv != current['metadata']['resourceVersion']:
            raise api_error(409, 'the object has been modified')
        merged = merge_patch(copy.deepcopy(current), body)
        obj = self._stamp(merged)
        if not params.get('dry_run'):
            self.store[(namespace, name)] = obj
        return answer(obj)

    def delete(self, name=None, namespace=None, **params):
        answer, params = self._record('delete', name, params)
        self._fault('delete')
        if (namespace, name) not in self.store:
            raise api_error(404, 'not found')
        if not params.get('dry_run'):
            del self.store[(namespace, name)]
        self._fault('delete', stored=True)
        return answer({})

    def verbs(self):
        return [c[0] for c in self.calls]


def merge_patch(target, patch):
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class FakeClient:
    def __init__(self, resource, served=True):
        self.res = resource
        self.served = served
        self.lookups = 0

    def resource(self, kind, api_version):
        self.lookups += 1
        if not self.served or kind == 'Missing':
            raise ResourceNotFoundError('no %s' % kind)
        return self.res


def make(defaults=None, check_mode=False, retries=3):
    resource = FakeResource(defaults)
    sleeps = []
    api = _k8s.KubeApi(FakeClient(resource), check_mode=check_mode, retries=retries, sleep=sleeps.append)
    return api, resource, sleeps


VM = {'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine', 'metadata': {'name': 'vm1', 'namespace': 'ns'},
      'spec': {'runStrategy': 'Always', 'template': {'spec': {'domain': {'devices': {'interfaces': [{'name': 'a', 'bridge': {}}]}}}}}}


def test_create_then_unchanged_although_the_server_added_defaults():
    api, resource, _s = make(defaults={'instancetype': None, 'dataVolumeTemplates': []})
    first = api.ensure(copy.deepcopy(VM))
    assert first['changed'] and first['action'] == 'created'
    second = api.ensure(copy.deepcopy(VM))
    assert second == {'changed': False, 'action': 'unchanged', 'before': second['before'], 'after': second['before'],
                      'diff': second['diff']}
    assert resource.verbs() == ['get', 'create', 'get']


def test_update_by_merge_patch_with_resource_version_and_diff():
    api, resource, _s = make()
    api.ensure(copy.deepcopy(VM))
    changed = copy.deepcopy(VM)
    changed['spec']['runStrategy'] = 'Halted'
    outcome = api.ensure(changed)
    assert outcome['action'] == 'updated'
    assert outcome['diff']['before']['spec']['runStrategy'] == 'Always' and outcome['diff']['after']['spec']['runStrategy'] == 'Halted'
    assert 'resourceVersion' not in outcome['diff']['after']['metadata']
    patch_params = [c[2] for c in resource.calls if c[0] == 'patch'][0]
    assert patch_params['content_type'] == 'application/merge-patch+json'


def test_check_mode_sends_server_dry_run_and_stores_nothing():
    api, resource, _s = make(check_mode=True)
    outcome = api.ensure(copy.deepcopy(VM))
    assert outcome['changed'] and resource.store == {}
    assert [c[2].get('dry_run') for c in resource.calls if c[0] == 'create'] == ['All']


@pytest.mark.parametrize('status', [429, 500, 502, 503, 504])
def test_transient_errors_are_retried_with_bounded_attempts(status):
    api, resource, sleeps = make(retries=3)
    resource.faults = [('create', api_error(status)), ('create', api_error(status))]
    assert api.ensure(copy.deepcopy(VM))['action'] == 'created'
    assert api.retried == 2 and len(sleeps) == 2 and sleeps[1] > sleeps[0]
    resource.store.clear()
    resource.faults = [('create', api_error(status))] * 4
    with pytest.raises(_k8s.KubeApiError, match=r'create VirtualMachine ns/vm1 \(kubevirt.io/v1\) failed: boom \(gave up after 4 attempts\)'):
        api.ensure(copy.deepcopy(VM))


def test_retry_after_header_is_honoured_and_capped():
    api, resource, sleeps = make()
    api.max_backoff = 2.0
    resource.faults = [('get', api_error(429, headers={'Retry-After': '1'})), ('get', api_error(429, headers={'Retry-After': '30'}))]
    assert api.get('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns') is None
    assert sleeps == [1.0, 2.0]


def test_non_transient_errors_are_not_retried_and_name_the_causes():
    api, resource, sleeps = make()
    resource.faults = [('create', api_error(422, 'VirtualMachine.kubevirt.io "vm1" is invalid',
                                            causes=[{'field': 'spec.template.spec.networks[0]', 'message': 'must have a source'}]))]
    with pytest.raises(_k8s.KubeApiError) as err:
        api.ensure(copy.deepcopy(VM))
    assert err.value.status == 422 and sleeps == []
    assert 'spec.template.spec.networks[0]: must have a source' in str(err.value)


def test_create_conflict_turns_into_update_never_a_duplicate():
    """A create that was stored although the client saw an error, then retried, must not fail or duplicate."""
    api, resource, _s = make()
    other = copy.deepcopy(VM)
    other['spec']['runStrategy'] = 'Manual'
    resource.store[('ns', 'vm1')] = resource._stamp(other)  # appeared between our read and our create
    outcome = api.ensure(copy.deepcopy(VM), existing=None, prefetched=True)
    assert outcome['action'] == 'updated'
    assert resource.verbs() == ['create', 'get', 'patch']
    assert len(resource.store) == 1 and resource.store[('ns', 'vm1')]['spec']['runStrategy'] == 'Always'


def test_create_stored_but_answer_lost_is_retried_without_duplicate():
    api, resource, _s = make()
    resource.faults = [('create', api_error(500), True)]
    outcome = api.ensure(copy.deepcopy(VM))
    assert outcome['changed'] is True and outcome['action'] == 'created'  # the retry found our own object: this run created it
    assert resource.verbs() == ['get', 'create', 'create', 'get']
    assert len(resource.store) == 1


def test_update_conflict_rereads_and_retries():
    api, resource, _s = make()
    api.ensure(copy.deepcopy(VM))
    stale = copy.deepcopy(resource.store[('ns', 'vm1')])
    resource.store[('ns', 'vm1')] = resource._stamp(copy.deepcopy(stale))  # someone else bumped resourceVersion
    changed = copy.deepcopy(VM)
    changed['spec']['runStrategy'] = 'Halted'
    outcome = api.ensure(changed, existing=stale, prefetched=True)
    assert outcome['action'] == 'updated'
    assert resource.verbs()[-3:] == ['patch', 'get', 'patch']


def test_endless_conflicts_give_up_with_a_clear_message():
    api, resource, _s = make(retries=2)
    api.ensure(copy.deepcopy(VM))
    changed = copy.deepcopy(VM)
    changed['spec']['runStrategy'] = 'Halted'
    resource.faults = [('patch', api_error(409, 'modified'))] * 3
    with pytest.raises(_k8s.KubeApiError, match='kept conflicting with concurrent changes; gave up after 3 attempts'):
        api.ensure(changed)


def test_delete_is_idempotent_and_survives_a_retried_delete():
    api, resource, _s = make()
    api.ensure(copy.deepcopy(VM))
    resource.faults = [('delete', api_error(503), True)]  # deleted, but the answer was lost: the retry gets 404
    assert api.delete('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns')['action'] == 'deleted'
    assert api.delete('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns') == {
        'changed': False, 'action': 'absent', 'before': None, 'after': None, 'diff': {'before': {}, 'after': {}}}


def test_discovery_is_cached_and_not_served_is_reported():
    api, _resource, _s = make()
    assert api.is_served('kubevirt.io/v1', 'VirtualMachine')
    api.get('kubevirt.io/v1', 'VirtualMachine', 'x', 'ns')
    api.list('kubevirt.io/v1', 'VirtualMachine', namespace='ns', label_selector='a=b')
    assert api.client.lookups == 1
    assert api.is_served('spiderpool.spidernet.io/v2beta1', 'Missing') is False
    with pytest.raises(_k8s.KubeApiError, match='Missing spiderpool.spidernet.io/v2beta1 is not served'):
        api.list('spiderpool.spidernet.io/v2beta1', 'Missing')


def test_list_passes_selectors():
    api, resource, _s = make()
    api.list('kubevirt.io/v1', 'VirtualMachine', namespace='ns', label_selector='app=x', field_selector='metadata.name=y')
    assert resource.calls[-1][2] == {'label_selector': 'app=x', 'field_selector': 'metadata.name=y'}


class TestIsSubset:
    def test_extra_server_keys_are_fine(self):
        assert _k8s.is_subset({'a': {'b': 1}}, {'a': {'b': 1, 'c': 2}, 'status': {}})

    def test_list_length_and_order_matter(self):
        assert not _k8s.is_subset({'l': [1, 2]}, {'l': [2, 1]})
        assert not _k8s.is_subset({'l': [{'n': 1}]}, {'l': [{'n': 1}, {'n': 2}]})
        assert _k8s.is_subset({'l': [{'n': 1}]}, {'l': [{'n': 1, 'default': True}]})

    def test_none_means_absent(self):
        assert _k8s.is_subset({'a': None}, {})
        assert not _k8s.is_subset({'a': None}, {'a': 'x'})

    def test_bool_is_not_int(self):
        assert not _k8s.is_subset({'a': 1}, {'a': True})
        assert not _k8s.is_subset({'a': True}, {'a': 1})


def test_from_params_reports_a_bad_kubeconfig(tmp_path):
    missing = tmp_path / 'nope'
    with pytest.raises(_k8s.KubeApiError, match='could not create the Kubernetes API client'):
        _k8s.KubeApi.from_params({'kubeconfig': str(missing)})


def test_delete_with_a_prefetched_object_reads_nothing_more():
    api, resource, _s = make()
    api.ensure(copy.deepcopy(VM))
    listed = copy.deepcopy(resource.store[('ns', 'vm1')])
    resource.calls.clear()
    assert api.delete('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns', existing=listed, prefetched=True)['action'] == 'deleted'
    assert api.delete('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns', existing=None, prefetched=True)['action'] == 'absent'
    assert resource.verbs() == ['delete']


def test_strip_server_fields_copies_only_what_it_changes():
    obj = {'apiVersion': 'v1', 'kind': 'X', 'metadata': {'name': 'a', 'resourceVersion': '7', 'uid': 'u', 'labels': {'k': 'v'}},
           'spec': {'deep': {'list': [1, 2]}}}
    clean = _k8s.strip_server_fields(obj)
    assert clean == {'apiVersion': 'v1', 'kind': 'X', 'metadata': {'name': 'a', 'labels': {'k': 'v'}}, 'spec': {'deep': {'list': [1, 2]}}}
    assert obj['metadata']['resourceVersion'] == '7' and obj['metadata']['uid'] == 'u'
    assert _k8s.strip_server_fields(None) is None and _k8s.strip_server_fields({}) == {}
