"""Object semantics and verbs, driven through the kubernetes Python client (DynamicClient)."""
import json

import pytest
from kubernetes.dynamic.exceptions import ApiException

SP = 'spiderpool.spidernet.io/v2beta1'


def configmap(name, namespace='default', labels=None, data=None):
    return {'apiVersion': 'v1', 'kind': 'ConfigMap',
            'metadata': {'name': name, 'namespace': namespace, 'labels': labels or {}}, 'data': data or {'k': 'v'}}


def ippool(name, subnet='10.10.0.0/24', **spec):
    return {'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': name}, 'spec': dict(subnet=subnet, **spec)}


def error_of(call):
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, json.loads(info.value.body)


@pytest.fixture
def client(kubeapi):
    return kubeapi.client()


def test_create_sets_server_fields_and_second_create_is_409(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    created = cms.create(body=configmap('a'), namespace='default')
    assert created.metadata.uid and created.metadata.resourceVersion.isdigit()
    assert created.metadata.creationTimestamp.endswith('Z')
    assert created.metadata.managedFields[0]['operation'] == 'Update'
    status, body = error_of(lambda: cms.create(body=configmap('a'), namespace='default'))
    assert (status, body['reason']) == (409, 'AlreadyExists')
    assert body['details'] == {'name': 'a', 'group': '', 'kind': 'configmaps'}


def test_get_missing_is_404_with_status(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    status, body = error_of(lambda: cms.get(name='nope', namespace='default'))
    assert status == 404 and body['reason'] == 'NotFound' and body['message'] == 'configmaps "nope" not found'


def test_namespaced_object_refused_in_missing_namespace(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    status, body = error_of(lambda: cms.create(body=configmap('a', namespace='ghost'), namespace='ghost'))
    assert status == 404 and body['message'] == 'namespaces "ghost" not found'


def test_update_with_stale_resource_version_is_409(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    first = cms.create(body=configmap('a'), namespace='default').to_dict()
    stale = json.loads(json.dumps(first))
    first['data'] = {'k': 'v2'}
    updated = cms.replace(body=first, namespace='default')
    assert int(updated.metadata.resourceVersion) > int(stale['metadata']['resourceVersion'])
    stale['data'] = {'k': 'v3'}
    status, body = error_of(lambda: cms.replace(body=stale, namespace='default'))
    assert status == 409 and body['reason'] == 'Conflict' and 'the object has been modified' in body['message']
    assert cms.get(name='a', namespace='default').data.k == 'v2'


def test_noop_update_keeps_resource_version(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    first = cms.create(body=configmap('a'), namespace='default')
    again = cms.patch(body={'data': {'k': 'v'}}, name='a', namespace='default', content_type='application/merge-patch+json')
    assert again.metadata.resourceVersion == first.metadata.resourceVersion


def test_crd_schema_validation_gives_422_with_field_causes(kubeapi, client):
    pools = client.resources.get(api_version=SP, kind='SpiderIPPool')
    body = ippool('p', ipVersion=5)
    del body['spec']['subnet']
    status, error = error_of(lambda: pools.create(body=body))
    assert status == 422 and error['reason'] == 'Invalid'
    causes = {(c['field'], c['reason']) for c in error['details']['causes']}
    assert causes == {('spec.subnet', 'FieldValueRequired'), ('spec.ipVersion', 'FieldValueNotSupported')}
    assert kubeapi.get(SP, 'SpiderIPPool', 'p') is None


def test_crd_defaults_and_pruning(kubeapi, client):
    pools = client.resources.get(api_version=SP, kind='SpiderIPPool')
    created = pools.create(body=ippool('p', ips=['10.10.0.10-10.10.0.20'], unknownField=1)).to_dict()
    assert created['spec']['default'] is False and created['spec']['disable'] is False
    assert 'unknownField' not in created['spec']


def test_strict_field_validation_rejects_unknown_fields(kubeapi, client):
    pools = client.resources.get(api_version=SP, kind='SpiderIPPool')
    status, body = error_of(lambda: pools.create(body=ippool('p', unknownField=1), query_params=[('fieldValidation', 'Strict')]))
    assert status == 400 and 'unknown field "spec.unknownField"' in body['message']
    assert kubeapi.get(SP, 'SpiderIPPool', 'p') is None


def test_nulls_on_non_nullable_fields_are_dropped(kubeapi, client):
    vms = client.resources.get(api_version='kubevirt.io/v1', kind='VirtualMachine')
    vm = {'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine', 'metadata': {'name': 'vm1', 'namespace': 'default'},
          'spec': {'running': None, 'runStrategy': 'Halted', 'template': {'spec': {'domain': {'devices': {}}}}}}
    created = vms.create(body=vm, namespace='default').to_dict()
    assert 'running' not in created['spec'] and created['spec']['runStrategy'] == 'Halted'


def test_dry_run_create_update_delete_write_nothing(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    cms.create(body=configmap('keep'), namespace='default')
    kubeapi.clear_requests()
    dry = [('dryRun', 'All')]
    created = cms.create(body=configmap('ghost'), namespace='default', query_params=dry)
    assert created.metadata.name == 'ghost'
    cms.patch(body={'data': {'k': 'changed'}}, name='keep', namespace='default', query_params=dry,
              content_type='application/merge-patch+json')
    cms.delete(name='keep', namespace='default', query_params=dry)
    assert kubeapi.writes() == []
    assert [r['verb'] for r in kubeapi.requests() if r['dry_run']] == ['create', 'patch', 'delete']
    assert kubeapi.get('v1', 'ConfigMap', 'ghost', 'default') is None
    assert kubeapi.get('v1', 'ConfigMap', 'keep', 'default')['data'] == {'k': 'v'}


def test_label_and_field_selectors_limit_and_continue(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    for index in range(5):
        cms.create(body=configmap('cm%d' % index, labels={'app': 'x' if index % 2 else 'y', 'n': str(index)}),
                   namespace='default')
    assert sorted(i.metadata.name for i in cms.get(namespace='default', label_selector='app=x').items) == ['cm1', 'cm3']
    assert len(cms.get(namespace='default', label_selector='app in (x,y),n!=0').items) == 4
    assert len(cms.get(namespace='default', label_selector='!app').items) == 0
    assert [i.metadata.name for i in cms.get(namespace='default', field_selector='metadata.name=cm2').items] == ['cm2']
    first = cms.get(namespace='default', limit=2)
    assert [i.metadata.name for i in first.items] == ['cm0', 'cm1'] and first.metadata.remainingItemCount == 3
    second = cms.get(namespace='default', limit=2, _continue=first.metadata['continue'])
    assert [i.metadata.name for i in second.items] == ['cm2', 'cm3']
    status, body = error_of(lambda: cms.get(namespace='default', field_selector='data.k=v'))
    assert status == 400 and 'field label not supported' in body['message']


def test_deletecollection_by_label(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    for index in range(3):
        cms.create(body=configmap('cm%d' % index, labels={'drop': 'yes' if index else 'no'}), namespace='default')
    cms.delete(namespace='default', label_selector='drop=yes')
    assert [i.metadata.name for i in cms.get(namespace='default').items] == ['cm0']


def test_finalizers_hold_deletion_until_removed(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    body = configmap('held')
    body['metadata']['finalizers'] = ['example.com/hold']
    cms.create(body=body, namespace='default')
    cms.delete(name='held', namespace='default')
    held = cms.get(name='held', namespace='default')
    assert held.metadata.deletionTimestamp
    status, _body = error_of(lambda: cms.patch(name='held', namespace='default', content_type='application/merge-patch+json',
                                               body={'metadata': {'finalizers': ['example.com/hold', 'example.com/new']}}))
    assert status == 422
    cms.patch(name='held', namespace='default', body={'metadata': {'finalizers': None}},
              content_type='application/merge-patch+json')
    assert kubeapi.get('v1', 'ConfigMap', 'held', 'default') is None


def test_status_subresource_and_generation(kubeapi, client):
    pools = client.resources.get(api_version=SP, kind='SpiderIPPool')
    pools.create(body=ippool('p', ips=['10.10.0.5']))
    with_status = pools.get(name='p').to_dict()
    with_status['status'] = {'totalIPCount': 1, 'allocatedIPCount': 0}
    ignored = pools.replace(body=with_status).to_dict()
    assert 'status' not in ignored and ignored['metadata']['generation'] == 1
    stored = pools.status.replace(body=with_status).to_dict()
    assert stored['status'] == {'totalIPCount': 1, 'allocatedIPCount': 0}
    assert stored['metadata']['generation'] == 1
    spec_change = pools.patch(name='p', body={'spec': {'ips': ['10.10.0.6']}}, content_type='application/merge-patch+json')
    assert spec_change.metadata.generation == 2
    assert spec_change.status.totalIPCount == 1


def test_strategic_merge_patch_is_415_on_custom_resources(kubeapi, client):
    pools = client.resources.get(api_version=SP, kind='SpiderIPPool')
    pools.create(body=ippool('p'))
    status, body = error_of(lambda: pools.patch(name='p', body={'spec': {'gateway': '10.10.0.1'}},
                                                content_type='application/strategic-merge-patch+json'))
    assert status == 415 and body['reason'] == 'UnsupportedMediaType'


def test_strategic_merge_patch_merges_containers_by_name(kubeapi, client):
    deployments = client.resources.get(api_version='apps/v1', kind='Deployment')
    body = {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': 'd', 'namespace': 'default'},
            'spec': {'selector': {'matchLabels': {'app': 'd'}},
                     'template': {'metadata': {'labels': {'app': 'd'}},
                                  'spec': {'containers': [{'name': 'a', 'image': 'a:1'}, {'name': 'b', 'image': 'b:1'}]}}}}
    deployments.create(body=body, namespace='default')
    patched = deployments.patch(name='d', namespace='default', content_type='application/strategic-merge-patch+json',
                                body={'spec': {'template': {'spec': {'containers': [{'name': 'b', 'image': 'b:2'}]}}}})
    containers = patched.to_dict()['spec']['template']['spec']['containers']
    assert containers == [{'name': 'a', 'image': 'a:1'}, {'name': 'b', 'image': 'b:2'}]
    assert patched.metadata.generation == 2


def test_json_patch_and_failed_test_operation(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    cms.create(body=configmap('a'), namespace='default')
    patched = cms.patch(name='a', namespace='default', content_type='application/json-patch+json',
                        body=[{'op': 'add', 'path': '/data/extra', 'value': '1'}])
    assert patched.data.extra == '1'
    status, _body = error_of(lambda: cms.patch(name='a', namespace='default', content_type='application/json-patch+json',
                                               body=[{'op': 'test', 'path': '/data/k', 'value': 'other'}]))
    assert status == 422


def test_secret_string_data_is_encoded(kubeapi, client):
    secrets = client.resources.get(api_version='v1', kind='Secret')
    created = secrets.create(namespace='default', body={'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 's'},
                                                        'stringData': {'password': 'hunter2'}})
    assert created.data.password == 'aHVudGVyMg==' and created.type == 'Opaque' and 'stringData' not in created.to_dict()


def test_namespace_delete_removes_its_objects(kubeapi, client):
    namespaces = client.resources.get(api_version='v1', kind='Namespace')
    namespaces.create(body={'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'tmp'}})
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    cms.create(body=configmap('a', namespace='tmp'), namespace='tmp')
    namespaces.delete(name='tmp')
    assert kubeapi.get('v1', 'Namespace', 'tmp') is None
    assert kubeapi.get('v1', 'ConfigMap', 'a', 'tmp') is None


def test_owner_references_cascade_on_delete(kubeapi, client):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    owner = cms.create(body=configmap('owner'), namespace='default')
    child = configmap('child')
    child['metadata']['ownerReferences'] = [{'apiVersion': 'v1', 'kind': 'ConfigMap', 'name': 'owner',
                                             'uid': owner.metadata.uid}]
    cms.create(body=child, namespace='default')
    cms.delete(name='owner', namespace='default')
    assert kubeapi.get('v1', 'ConfigMap', 'child', 'default') is None


def test_crd_registration_updates_discovery_and_validates(kubeapi, client):
    crd = {'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition',
           'metadata': {'name': 'widgets.example.com'},
           'spec': {'group': 'example.com', 'scope': 'Namespaced',
                    'names': {'plural': 'widgets', 'singular': 'widget', 'kind': 'Widget'},
                    'versions': [{'name': 'v1', 'served': True, 'storage': True, 'schema': {'openAPIV3Schema': {
                        'type': 'object', 'properties': {'spec': {'type': 'object', 'properties': {
                            'size': {'type': 'integer', 'minimum': 1},
                            'ports': {'type': 'array', 'x-kubernetes-list-type': 'map',
                                      'x-kubernetes-list-map-keys': ['name'],
                                      'items': {'type': 'object', 'required': ['name'],
                                                'properties': {'name': {'type': 'string'},
                                                               'port': {'x-kubernetes-int-or-string': True}}}},
                            'note': {'type': 'string', 'nullable': True}}}}}}}]}}
    created = client.resources.get(api_version='apiextensions.k8s.io/v1', kind='CustomResourceDefinition').create(body=crd)
    assert {c['type']: c['status'] for c in created.to_dict()['status']['conditions']}['Established'] == 'True'
    status, listing = kubeapi.http('GET', '/apis/example.com/v1')
    assert status == 200 and listing['resources'][0]['name'] == 'widgets'
    path = '/apis/example.com/v1/namespaces/default/widgets'
    base = {'apiVersion': 'example.com/v1', 'kind': 'Widget', 'metadata': {'name': 'w'}}
    status, body = kubeapi.http('POST', path, dict(base, spec={'size': 0, 'ports': [{'name': 'a', 'port': 'http'},
                                                                                    {'name': 'a', 'port': 80}]}))
    assert status == 422
    assert {(c['field'], c['reason']) for c in body['details']['causes']} == {
        ('spec.size', 'FieldValueInvalid'), ('spec.ports[1]', 'FieldValueDuplicate')}
    status, body = kubeapi.http('POST', path, dict(base, spec={'size': 2, 'note': None, 'ports': [{'name': 'a', 'port': True}]}))
    assert status == 422 and body['details']['causes'][0]['field'] == 'spec.ports[0].port'
    status, body = kubeapi.http('POST', path, dict(base, spec={'size': 2, 'note': None, 'ports': [{'name': 'a', 'port': 80}]}))
    assert status == 201 and body['spec']['note'] is None


def test_common_built_in_rules_refuse_what_a_cluster_refuses(kubeapi):
    base = '/apis/apps/v1/namespaces/default/daemonsets'
    daemonset = {'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'metadata': {'name': 'ovs-cni'},
                 'spec': {'selector': {'matchLabels': {'app': 'ovs-cni'}},
                          'template': {'metadata': {'labels': {'app': 'other'}},
                                       'spec': {'containers': [{'name': 'Main', 'ports': [{'containerPort': 0}]}]}}}}
    status, body = kubeapi.http('POST', base, daemonset)
    assert status == 422
    assert [c['field'] for c in body['details']['causes']] == [
        'spec.template.metadata.labels', 'spec.template.spec.containers[0].name',
        'spec.template.spec.containers[0].image', 'spec.template.spec.containers[0].ports[0].containerPort']
    status, body = kubeapi.http('POST', '/api/v1/namespaces/default/services',
                                {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 'svc'},
                                 'spec': {'type': 'Bridge', 'ports': [{'port': 80}, {'port': 70000, 'name': 'b'}]}})
    assert status == 422
    assert [c['field'] for c in body['details']['causes']] == ['spec.type', 'spec.ports[0].name', 'spec.ports[1].port']
    status, body = kubeapi.http('POST', '/api/v1/namespaces/default/configmaps',
                                {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'c'}, 'data': {'a/b': 'x'}})
    assert status == 422 and body['details']['causes'][0]['field'] == 'data[a/b]'


def test_empty_values_are_omitted_as_go_omits_them(kubeapi):
    status, node = kubeapi.http('POST', '/api/v1/nodes', {'apiVersion': 'v1', 'kind': 'Node', 'metadata': {
        'name': 'n1', 'labels': {}, 'annotations': {}}, 'spec': {}})
    assert status == 201 and node['spec'] == {} and 'labels' not in node['metadata'] and 'annotations' not in node['metadata']
    status, cm = kubeapi.http('POST', '/api/v1/namespaces/default/configmaps',
                              {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'e'}, 'data': {}, 'immutable': None})
    assert status == 201 and 'data' not in cm and 'immutable' not in cm
    status, pool = kubeapi.http('POST', '/apis/%s/spiderippools' % SP, dict(ippool('p'), metadata={'name': 'p', 'labels': {}}))
    assert status == 201 and 'labels' not in pool['metadata'] and pool['spec']['subnet'] == '10.10.0.0/24'
