"""The _k8s API seam: retries, 409 handling, idempotence with server defaults, dry run, messages.

A fake of the kubernetes dynamic client's Resource (the object kubernetes.core's K8SClient hands
back) stands in for the server here; the same paths run against the emulator in tests/integration/vm.
"""
import copy
import datetime
import email.utils
import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError, api_exception

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _k8s


def api_error(status, message='boom', headers=None, causes=None, details=None):
    exc = ApiException(status=status, reason='Reason%d' % status)
    body = {'kind': 'Status', 'message': message, 'reason': 'Reason%d' % status}
    if causes or details:
        body['details'] = dict(details or {}, **({'causes': causes} if causes else {}))
    exc.body = json.dumps(body)
    exc.headers = headers or {}
    return api_exception(exc)


def connection_dropped():
    """What urllib3 raises (its own retries off) when the server closes the connection unanswered."""
    return urllib3.exceptions.ProtocolError('Connection aborted.', ConnectionResetError('reset by peer'))


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
        key = (namespace, name)
        current = self.store.get(key)
        content_type = params.get('content_type')
        if content_type == 'application/apply-patch+yaml':
            obj = self._apply(copy.deepcopy(body), current, params)
        elif current is None:
            raise api_error(404, 'not found')
        elif content_type == 'application/json-patch+json':
            obj = copy.deepcopy(current)
            for op in body:
                if op['op'] == 'test' and op['path'] == '/metadata/resourceVersion' and op['value'] != current['metadata']['resourceVersion']:
                    raise api_error(422, 'test failed')
                if op['op'] == 'replace' and op['path'] == '/metadata/managedFields':
                    obj['metadata']['managedFields'] = op['value']
            obj = self._stamp(obj)
        else:
            wanted_rv = body.get('metadata', {}).get('resourceVersion')
            if wanted_rv and wanted_rv != current['metadata']['resourceVersion']:
                raise api_error(409, 'the object has been modified')
            obj = self._stamp(merge_patch(copy.deepcopy(current), body))
        if not params.get('dry_run'):
            self.store[key] = obj
        self._fault('patch', stored=True)
        return answer(obj)

    def _apply(self, applied, current, params):
        """A small stand-in for server-side apply: the manager's fields from its last apply that it no
        longer sends are removed, the rest is merged (lists replace), ownership lands in managedFields."""
        manager = params['field_manager']
        paths = leaf_paths(applied)
        obj = copy.deepcopy(current) if current is not None else {}
        entries = (obj.get('metadata') or {}).get('managedFields') or []
        previous = set()
        others = []
        for entry in entries:
            owned = _k8s.fields_paths(entry.get('fieldsV1'))
            if entry.get('manager') == manager and entry.get('operation') == 'Apply':
                previous = owned
            else:
                others.append((entry, owned))
        conflicts = [(entry['manager'], path) for entry, owned in others for path in owned & paths
                     if _value(obj, path) != _value(applied, path)]
        if conflicts and params.get('force_conflicts') != 'true':
            raise api_error(409, 'Apply failed with %d conflict(s)' % len(conflicts),
                            causes=[{'reason': 'FieldManagerConflict', 'field': '.' + '.'.join(e[2:] for e in path),
                                     'message': 'conflict with "%s" using kubevirt.io/v1' % who} for who, path in conflicts])
        for path in previous - paths:
            if not any(path in owned for _entry, owned in others):
                _k8s.remove_path(obj, path)
        obj = deep_merge(obj, applied)
        kept = [dict(entry, fieldsV1=_k8s.fields_tree(owned - paths)) for entry, owned in others if owned - paths]
        obj['metadata']['managedFields'] = kept + [{'manager': manager, 'operation': 'Apply', 'fieldsType': 'FieldsV1',
                                                    'fieldsV1': _k8s.fields_tree(paths)}]
        return self._stamp(obj)

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


def leaf_paths(obj, prefix=()):
    """fieldsV1-style paths of the leaves of a plain object (lists are atomic), metadata.name/namespace left out."""
    paths = set()
    for key, value in obj.items():
        if prefix == () and key in ('apiVersion', 'kind'):
            continue
        if prefix == ('f:metadata',) and key in ('name', 'namespace', 'managedFields', 'resourceVersion', 'uid'):
            continue
        path = prefix + ('f:' + key,)
        if isinstance(value, dict) and value:
            paths |= leaf_paths(value, path)
        else:
            paths.add(path)
    return paths


def _value(obj, path):
    for element in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(element[2:])
    return obj


def deep_merge(base, extra):
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


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


def apply_params(resource):
    return [c[2] for c in resource.calls if c[0] == 'patch' and c[2].get('content_type') == 'application/apply-patch+yaml']


def test_create_then_unchanged_although_the_server_added_defaults():
    api, resource, _s = make(defaults={'instancetype': None, 'dataVolumeTemplates': []})
    first = api.ensure(copy.deepcopy(VM))
    assert first['changed'] and first['action'] == 'created' and first['uid'] == 'uid-vm1'
    second = api.ensure(copy.deepcopy(VM))
    assert second == {'changed': False, 'action': 'unchanged', 'before': second['before'], 'after': second['before'],
                      'diff': second['diff'], 'uid': 'uid-vm1'}
    assert resource.verbs() == ['get', 'patch', 'get']  # the re-run sends nothing


def test_update_by_server_side_apply_with_a_fixed_field_manager_and_diff():
    api, resource, _s = make()
    api.ensure(copy.deepcopy(VM))
    changed = copy.deepcopy(VM)
    changed['spec']['runStrategy'] = 'Halted'
    outcome = api.ensure(changed)
    assert outcome['action'] == 'updated'
    assert outcome['diff']['before']['spec']['runStrategy'] == 'Always' and outcome['diff']['after']['spec']['runStrategy'] == 'Halted'
    assert 'resourceVersion' not in outcome['diff']['after']['metadata']
    params = apply_params(resource)[-1]
    assert params['field_manager'] == 'vmnet.kubevirt' and 'force_conflicts' not in params


def test_every_request_carries_the_bounded_timeout():
    api, resource, _s = make()
    api.ensure(copy.deepcopy(VM))
    api.list('kubevirt.io/v1', 'VirtualMachine', namespace='ns')
    api.delete('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns')
    assert resource.calls and all(params.get('_request_timeout') == _k8s.DEFAULT_REQUEST_TIMEOUT for _v, _n, params in resource.calls)
    assert 0 < _k8s.DEFAULT_REQUEST_TIMEOUT <= 60


@pytest.mark.parametrize('settings,message', [
    ({'request_timeout': 0}, 'request_timeout: 0 must be a number of seconds above 0'),
    ({'request_timeout': -1.5}, 'request_timeout: -1.5 must be'),
    ({'retry_budget': -1}, 'retry_budget: -1 must be a number of seconds from 0 to 3600'),
    ({'retry_budget': 99999}, 'retry_budget: 99999'),
])
def test_bad_timeout_settings_fail_before_any_request(settings, message):
    with pytest.raises(_k8s.KubeApiError, match=message):
        _k8s.KubeApi(FakeClient(FakeResource()), **settings)


def test_a_field_left_out_is_removed_by_the_next_apply():
    api, resource, _s = make()
    labelled = copy.deepcopy(VM)
    labelled['metadata']['labels'] = {'team': 'a', 'tier': 'db'}
    api.ensure(labelled)
    del labelled['metadata']['labels']['tier']
    outcome = api.ensure(copy.deepcopy(labelled))
    assert outcome['changed'] and outcome['action'] == 'updated', outcome
    assert resource.store[('ns', 'vm1')]['metadata']['labels'] == {'team': 'a'}
    assert api.ensure(copy.deepcopy(labelled))['changed'] is False


def test_fields_of_the_old_merge_patch_writer_are_handed_over_then_removed():
    """An object written by an earlier version (merge patch, fields recorded under OpenAPI-Generator)."""
    api, resource, _s = make()
    old = copy.deepcopy(VM)
    old['metadata']['labels'] = {'team': 'a', 'tier': 'db', 'ipam.spidernet.io/ippool-cidr': '10-0-0-0-24'}
    old = resource._stamp(old)
    old['metadata']['managedFields'] = [{'manager': 'OpenAPI-Generator', 'operation': 'Update', 'fieldsType': 'FieldsV1',
                                         'fieldsV1': _k8s.fields_tree(leaf_paths(old) | {('f:metadata', 'f:finalizers')})}]
    resource.store[('ns', 'vm1')] = old
    wanted = copy.deepcopy(VM)
    wanted['metadata']['labels'] = {'team': 'a'}
    outcome = api.ensure(wanted)
    assert outcome['changed'] and outcome['action'] == 'updated'
    hand_over = [c for c in resource.calls if c[2].get('content_type') == 'application/json-patch+json']
    assert len(hand_over) == 1
    stored = resource.store[('ns', 'vm1')]
    # tier went; the webhook's label (a controller's domain) stayed with its old owner
    assert stored['metadata']['labels'] == {'team': 'a', 'ipam.spidernet.io/ippool-cidr': '10-0-0-0-24'}
    assert api.ensure(copy.deepcopy(wanted))['changed'] is False


def test_check_mode_sends_server_dry_run_and_stores_nothing():
    api, resource, _s = make(check_mode=True)
    outcome = api.ensure(copy.deepcopy(VM))
    assert outcome['changed'] and resource.store == {}
    assert [params.get('dry_run') for params in apply_params(resource)] == ['All']


@pytest.mark.parametrize('status', [429, 500, 502, 503, 504])
def test_transient_errors_are_retried_with_bounded_attempts(status):
    api, resource, sleeps = make(retries=3)
    resource.faults = [('patch', api_error(status)), ('patch', api_error(status))]
    assert api.ensure(copy.deepcopy(VM))['action'] == 'created'
    assert api.retried == 2 and len(sleeps) == 2 and sleeps[1] > sleeps[0]
    resource.store.clear()
    resource.faults = [('patch', api_error(status))] * 4
    with pytest.raises(_k8s.KubeApiError, match=r'apply VirtualMachine ns/vm1 \(kubevirt.io/v1\) failed: boom \(gave up after 4 attempts\)'):
        api.ensure(copy.deepcopy(VM))


def test_retry_after_is_waited_for_in_full_not_cut_to_the_backoff_cap():
    api, resource, sleeps = make()
    resource.faults = [('get', api_error(503, headers={'Retry-After': '8'})), ('get', api_error(429, headers={'retry-after': '1'}))]
    assert api.get('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns') is None
    assert sleeps == [8.0, 1.0]  # the old seam capped the first wait at 5 s, earlier than the server asked


def test_retry_after_as_an_http_date_and_in_the_status_details():
    api, resource, sleeps = make()
    when = email.utils.format_datetime(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3), usegmt=True)
    resource.faults = [('get', api_error(503, headers={'Retry-After': when})),
                       ('get', api_error(429, details={'retryAfterSeconds': 2}))]
    api.get('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns')
    assert 1.0 <= sleeps[0] <= 3.0 and sleeps[1] == 2.0


def test_a_retry_after_beyond_the_budget_fails_at_once_and_cleanly():
    api, resource, sleeps = make()
    api.retry_budget = 10.0
    resource.faults = [('patch', api_error(429, headers={'Retry-After': '4'})), ('patch', api_error(429, headers={'Retry-After': '8'}))]
    with pytest.raises(_k8s.KubeApiError) as err:
        api.ensure(copy.deepcopy(VM))
    assert sleeps == [4.0]  # 8 s did not fit in the 6 s left: no early retry, no over-long wait
    assert 'the server asked to retry after 8 s, more than the 6 s left of the retry budget (retry_budget 10 s); gave up after 2 attempts' \
        in str(err.value)
    assert resource.store == {}


def test_backoff_stops_when_the_budget_is_used_up():
    api, resource, sleeps = make(retries=10)
    api.retry_budget = 1.0
    resource.faults = [('get', api_error(500))] * 11
    with pytest.raises(_k8s.KubeApiError, match='the retry budget of 1 s is used up'):
        api.get('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns')
    assert abs(sum(sleeps) - 1.0) < 1e-9


def test_non_transient_errors_are_not_retried_and_name_the_causes():
    api, resource, sleeps = make()
    resource.faults = [('patch', api_error(422, 'VirtualMachine.kubevirt.io "vm1" is invalid',
                                           causes=[{'field': 'spec.template.spec.networks[0]', 'message': 'must have a source'}]))]
    with pytest.raises(_k8s.KubeApiError) as err:
        api.ensure(copy.deepcopy(VM))
    assert err.value.status == 422 and sleeps == []
    assert 'spec.template.spec.networks[0]: must have a source' in str(err.value)


def test_an_object_that_appeared_since_the_read_is_applied_onto_never_duplicated():
    api, resource, _s = make()
    other = copy.deepcopy(VM)
    other['spec']['runStrategy'] = 'Manual'
    resource.store[('ns', 'vm1')] = resource._stamp(other)  # appeared between our read and our apply
    outcome = api.ensure(copy.deepcopy(VM), existing=None, prefetched=True)
    assert outcome['changed'] is True
    assert resource.verbs() == ['patch']
    assert len(resource.store) == 1 and resource.store[('ns', 'vm1')]['spec']['runStrategy'] == 'Always'


@pytest.mark.parametrize('existing', [False, True])
def test_a_write_whose_answer_was_lost_is_reported_as_changed(existing):
    """The apply was stored, the answer lost (connection dropped): the retry finds our own result, and
    ``changed`` still says what this run did."""
    api, resource, _s = make()
    if existing:
        api.ensure(copy.deepcopy(VM))
    wanted = copy.deepcopy(VM)
    wanted['spec']['runStrategy'] = 'Halted'
    resource.faults = [('patch', connection_dropped(), True)]
    outcome = api.ensure(wanted)
    assert outcome['changed'] is True and outcome['action'] == ('updated' if existing else 'created'), outcome
    assert api.retried == 1 and len(resource.store) == 1
    assert resource.store[('ns', 'vm1')]['spec']['runStrategy'] == 'Halted'


def test_an_apply_conflict_names_field_and_manager_and_force_takes_over():
    api, resource, _s = make()
    api.ensure(copy.deepcopy(VM))
    stored = resource.store[('ns', 'vm1')]
    stored['spec']['runStrategy'] = 'Halted'  # someone else (virt-api, kubectl edit) changed a field we declare
    stored['metadata']['managedFields'].append({'manager': 'kubectl-edit', 'operation': 'Update', 'fieldsType': 'FieldsV1',
                                                'fieldsV1': {'f:spec': {'f:runStrategy': {}}}})
    with pytest.raises(_k8s.KubeApiError) as err:
        api.ensure(copy.deepcopy(VM))
    assert err.value.status == 409 and str(err.value) == (
        'apply VirtualMachine ns/vm1 (kubevirt.io/v1) failed: field(s) owned by another field manager with other values: '
        '.spec.runStrategy (owned by kubectl-edit). Change the inventory to match, or set force_conflicts: true to make '
        'vmnet.kubevirt their owner')
    assert stored['spec']['runStrategy'] == 'Halted'
    api.force_conflicts = True
    assert api.ensure(copy.deepcopy(VM))['changed'] is True
    assert apply_params(resource)[-1]['force_conflicts'] == 'true'
    assert resource.store[('ns', 'vm1')]['spec']['runStrategy'] == 'Always'


def test_delete_is_idempotent_and_survives_a_retried_delete():
    api, resource, _s = make()
    api.ensure(copy.deepcopy(VM))
    resource.faults = [('delete', api_error(503), True)]  # deleted, but the answer was lost: the retry gets 404
    assert api.delete('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns')['action'] == 'deleted'
    assert api.delete('kubevirt.io/v1', 'VirtualMachine', 'vm1', 'ns') == {
        'changed': False, 'action': 'absent', 'before': None, 'after': None, 'diff': {'before': {}, 'after': {}}, 'uid': None}


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
    assert resource.calls[-1][2] == {'label_selector': 'app=x', 'field_selector': 'metadata.name=y', '_request_timeout': 20.0}


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
