"""Discovery, OpenAPI, and less common verbs' details."""
import json

import urllib3

SP = 'spiderpool.spidernet.io/v2beta1'
AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'


def test_legacy_discovery_documents(kubeapi):
    status, version = kubeapi.http('GET', '/version')
    assert status == 200 and version['major'] == '1' and version['gitVersion'].startswith('v1.32')
    status, groups = kubeapi.http('GET', '/apis')
    names = [group['name'] for group in groups['groups']]
    assert {'apps', 'apiextensions.k8s.io', 'spiderpool.spidernet.io', 'k8s.cni.cncf.io', 'kubevirt.io'} <= set(names)
    status, listing = kubeapi.http('GET', '/apis/spiderpool.spidernet.io/v2beta1')
    entries = {entry['name']: entry for entry in listing['resources']}
    assert entries['spiderippools']['namespaced'] is False and entries['spiderippools']['shortNames'] == ['sp']
    assert entries['spidermultusconfigs']['namespaced'] is True
    assert entries['spiderippools/status']['verbs'] == ['get', 'patch', 'update']
    assert 'spidermultusconfigs/status' not in entries
    status, _missing = kubeapi.http('GET', '/apis/example.com/v1')
    assert status == 404


def test_aggregated_discovery_when_asked(kubeapi):
    pool = urllib3.PoolManager()
    response = pool.request('GET', kubeapi.url + '/apis', headers={'Accept': AGGREGATED})
    assert response.status == 200
    assert response.headers['Content-Type'] == 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'
    document = json.loads(response.data)
    assert document['kind'] == 'APIGroupDiscoveryList' and document['apiVersion'] == 'apidiscovery.k8s.io/v2'
    groups = {item['metadata']['name']: item for item in document['items']}
    resources = {r['resource']: r for r in groups['kubevirt.io']['versions'][0]['resources']}
    assert resources['virtualmachines']['scope'] == 'Namespaced'
    assert resources['virtualmachines']['subresources'][0]['subresource'] == 'status'
    core = json.loads(pool.request('GET', kubeapi.url + '/api', headers={'Accept': AGGREGATED}).data)
    assert core['items'][0]['metadata']['name'] == ''
    plain = json.loads(pool.request('GET', kubeapi.url + '/api').data)
    assert plain['kind'] == 'APIVersions' and plain['versions'] == ['v1']


def test_openapi_v3_index_follows_crd_changes(kubeapi):
    _status, before = kubeapi.http('GET', '/openapi/v3')
    assert 'apis/example.com/v1' not in before['paths']
    kubeapi.apply({'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition',
                   'metadata': {'name': 'gadgets.example.com'},
                   'spec': {'group': 'example.com', 'scope': 'Cluster', 'names': {'plural': 'gadgets', 'kind': 'Gadget'},
                            'versions': [{'name': 'v1', 'served': True, 'storage': True, 'schema': {'openAPIV3Schema': {
                                'type': 'object', 'properties': {'spec': {'type': 'object', 'properties': {
                                    'size': {'type': 'integer'}}}}}}}]}})
    _status, after = kubeapi.http('GET', '/openapi/v3')
    url = after['paths']['apis/example.com/v1']['serverRelativeURL']
    status, document = kubeapi.http('GET', url.split('?')[0])
    assert status == 200
    schema = document['components']['schemas']['com.example.v1.Gadget']
    assert schema['properties']['spec']['properties']['size'] == {'type': 'integer'}
    patch = document['paths']['/apis/example.com/v1/gadgets/{name}']['patch']
    assert patch['x-kubernetes-group-version-kind'] == {'group': 'example.com', 'version': 'v1', 'kind': 'Gadget'}
    assert 'fieldValidation' in [p['name'] for p in patch['parameters']]
    kubeapi.delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'gadgets.example.com')
    _status, final = kubeapi.http('GET', '/openapi/v3')
    assert 'apis/example.com/v1' not in final['paths']
    status, _gone = kubeapi.http('GET', '/apis/example.com/v1/gadgets')
    assert status == 404


def test_watch_from_a_compacted_resource_version_is_gone(kubeapi):
    status, body = kubeapi.http('GET', '/api/v1/namespaces/default/configmaps', query={'watch': '1', 'resourceVersion': '1'})
    assert status == 410 and body['reason'] == 'Expired'


def test_delete_preconditions_and_foreground_propagation(kubeapi):
    owner = kubeapi.apply({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'owner', 'namespace': 'default'}})
    kubeapi.apply({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {
        'name': 'child', 'namespace': 'default',
        'ownerReferences': [{'apiVersion': 'v1', 'kind': 'ConfigMap', 'name': 'owner', 'uid': owner['metadata']['uid']}]}})
    path = '/api/v1/namespaces/default/configmaps/owner'
    status, body = kubeapi.http('DELETE', path, {'preconditions': {'uid': 'not-the-uid'}})
    assert status == 409 and 'Precondition failed' in body['message']
    status, _body = kubeapi.http('DELETE', path, {'propagationPolicy': 'Foreground',
                                                  'preconditions': {'uid': owner['metadata']['uid']}})
    assert status == 200
    assert kubeapi.get('v1', 'ConfigMap', 'owner', 'default') is None
    assert kubeapi.get('v1', 'ConfigMap', 'child', 'default') is None


def test_orphan_propagation_keeps_dependents(kubeapi):
    owner = kubeapi.apply({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'owner', 'namespace': 'default'}})
    kubeapi.apply({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {
        'name': 'child', 'namespace': 'default',
        'ownerReferences': [{'apiVersion': 'v1', 'kind': 'ConfigMap', 'name': 'owner', 'uid': owner['metadata']['uid']}]}})
    status, _body = kubeapi.http('DELETE', '/api/v1/namespaces/default/configmaps/owner', {'propagationPolicy': 'Orphan'})
    assert status == 200 and kubeapi.get('v1', 'ConfigMap', 'child', 'default') is not None


def test_bad_requests(kubeapi):
    status, body = kubeapi.http('GET', '/api/v1/namespaces/default/configmaps', query={'continue': 'garbage'})
    assert status == 400
    status, body = kubeapi.http('POST', '/api/v1/namespaces/default/configmaps', query={'dryRun': 'Sometimes'},
                                body={'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'x'}})
    assert status == 400 and 'Invalid dry run value' in body['message']
    status, body = kubeapi.http('POST', '/api/v1/namespaces/default/configmaps',
                                body={'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 'x'}})
    assert status == 400 and 'does not match the expected kind' in body['message']
    status, body = kubeapi.http('POST', '/api/v1/namespaces/default/configmaps',
                                body={'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'Not_Valid'}})
    assert status == 422 and body['details']['causes'][0]['field'] == 'metadata.name'
    status, body = kubeapi.http('PATCH', '/apis/%s/spiderippools/x' % SP, body={'spec': {}},
                                content_type='application/apply-patch+yaml')
    assert status == 400 and 'fieldManager is required' in body['message']
    status, body = kubeapi.http('PATCH', '/api/v1/namespaces/default/configmaps/x', body={}, content_type='text/plain')
    assert status == 415
    status, body = kubeapi.http('PUT', '/apis/%s/spidermultusconfigs/x/status' % SP, body={})
    assert status == 404


def test_spiderpool_v09_set_serves_the_vlan_field(tmp_path, kubeapi):
    from lab.kubeapi.fixtures import start_kubeapi  # pylint: disable=import-outside-toplevel
    pool = {'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': 'p'},
            'spec': {'subnet': '10.60.0.0/24', 'vlan': 60}}
    strict = {'fieldValidation': 'Strict'}
    path = '/apis/%s/spiderippools' % SP
    status, body = kubeapi.http('POST', path, pool, query=strict)
    assert status == 400 and 'unknown field "spec.vlan"' in body['message']
    with start_kubeapi(tmp_path / 'v09', crds='spiderpool-v0.9') as old:
        crd = old.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'spiderippools.spiderpool.spidernet.io')
        vlan = crd['spec']['versions'][0]['schema']['openAPIV3Schema']['properties']['spec']['properties']['vlan']
        assert vlan['maximum'] == 4094
        status, body = old.http('POST', path, pool, query=strict)
        assert status == 201 and body['spec']['vlan'] == 60
        status, body = old.http('POST', path, dict(pool, metadata={'name': 'q'}, spec={'subnet': '10.61.0.0/24', 'vlan': 5000}))
        assert status == 422 and body['details']['causes'][0]['field'] == 'spec.vlan'


def test_cli_fixed_port_kubeconfig_and_bad_arguments(tmp_path):
    import socket  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    from lab.kubeapi.fixtures import start_kubeapi  # pylint: disable=import-outside-toplevel
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    with start_kubeapi(tmp_path / 'fixed', port=port, simulate=('ippool-status',)) as server:
        assert server.url == 'http://127.0.0.1:%d' % port
        assert server.simulate('vm-vmi', on=False)['active'] == ['ippool-status']
    bad = subprocess.run([sys.executable, '-m', 'lab', 'kubeapi', '--crds', 'nonsense', '--kubeconfig', str(tmp_path / 'k')],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "invalid choice: 'nonsense'" in bad.stderr
    unknown = subprocess.run([sys.executable, '-m', 'lab', 'kubeapi', '--simulate', 'dhcp', '--kubeconfig', str(tmp_path / 'k')],
                             capture_output=True, text=True, timeout=60, check=False)
    assert unknown.returncode == 2 and "invalid choice: 'dhcp'" in unknown.stderr
    assert not (tmp_path / 'k').exists()
