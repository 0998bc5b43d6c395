"""Fault injection, the request log, watch streams, bearer-token auth and TLS."""
import json
import threading

import pytest
import urllib3
from kubernetes import client as k8s_client, watch
from kubernetes.dynamic.exceptions import ApiException

from lab.kubeapi.fixtures import port_is_open, start_kubeapi

SP = 'spiderpool.spidernet.io/v2beta1'


def configmap(name, data=None):
    return {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': name}, 'data': data or {'k': 'v'}}


@pytest.fixture
def configmaps(kubeapi):
    return kubeapi.client().resources.get(api_version='v1', kind='ConfigMap')


@pytest.mark.parametrize('status,reason', [(500, 'InternalError'), (503, 'ServiceUnavailable'), (409, 'Conflict')])
def test_injected_status_answers_once_then_normal_service(kubeapi, configmaps, status, reason):
    kubeapi.inject(status=status, verb='create', resource='configmaps')
    with pytest.raises(ApiException) as info:
        configmaps.create(body=configmap('a'), namespace='default')
    assert info.value.status == status and json.loads(info.value.body)['reason'] == reason
    assert kubeapi.get('v1', 'ConfigMap', 'a', 'default') is None
    assert configmaps.create(body=configmap('a'), namespace='default').metadata.name == 'a'
    log = [r for r in kubeapi.requests() if r['verb'] == 'create']
    assert [(r['status'], r['fault']) for r in log] == [(status, {'status': status, 'latency': None}), (201, None)]


def test_throttling_carries_retry_after(kubeapi):
    kubeapi.inject(status=429, verb='get', resource='configmaps', name='a', retry_after=3)
    status, body = kubeapi.http('GET', '/api/v1/namespaces/default/configmaps/a')
    assert status == 429 and body['reason'] == 'TooManyRequests' and body['details']['retryAfterSeconds'] == 3
    pool = urllib3.PoolManager(retries=False)
    kubeapi.inject(status=429, verb='get', resource='configmaps', name='a', retry_after=2)
    response = pool.request('GET', kubeapi.url + '/api/v1/namespaces/default/configmaps/a')
    assert response.status == 429 and response.headers['Retry-After'] == '2'
    status, _body = kubeapi.http('GET', '/api/v1/namespaces/default/configmaps/a')
    assert status == 404  # the fault is used up; the object does not exist


@pytest.mark.parametrize('drop,stored', [('after', True), ('before', False)])
def test_dropped_connection_loses_the_answer_after_or_before_the_work(kubeapi, drop, stored):
    """A POST whose connection drops: with drop=after the server stored it, the client saw no answer."""
    kubeapi.inject(status=None, verb='create', resource='configmaps', drop=drop)
    pool = urllib3.PoolManager(retries=False)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        pool.request('POST', kubeapi.url + '/api/v1/namespaces/default/configmaps', body=json.dumps(configmap('lost')),
                     headers={'Content-Type': 'application/json'})
    assert (kubeapi.get('v1', 'ConfigMap', 'lost', 'default') is not None) is stored
    entry = [r for r in kubeapi.requests() if r['verb'] == 'create'][-1]
    assert entry['status'] == 0 and entry['fault'] == {'status': None, 'latency': None, 'drop': drop}
    assert kubeapi.faults() == []


def test_fault_filters_by_verb_resource_and_name(kubeapi, configmaps):
    configmaps.create(body=configmap('a'), namespace='default')
    configmaps.create(body=configmap('b'), namespace='default')
    kubeapi.inject(status=500, verb='patch', resource='configmaps', name='b', count=2)
    patch = {'data': {'k': 'new'}}
    assert configmaps.patch(body=patch, name='a', namespace='default',
                            content_type='application/merge-patch+json').data.k == 'new'
    for _attempt in range(2):
        with pytest.raises(ApiException):
            configmaps.patch(body=patch, name='b', namespace='default', content_type='application/merge-patch+json')
    assert configmaps.patch(body=patch, name='b', namespace='default',
                            content_type='application/merge-patch+json').data.k == 'new'
    assert kubeapi.faults() == []


def test_probability_zero_never_fires_and_one_always_fires(kubeapi, configmaps):
    kubeapi.inject(status=500, verb='list', probability=0.0, count=None)
    for _attempt in range(5):
        configmaps.get(namespace='default')
    kubeapi.clear_faults()
    kubeapi.inject(status=503, verb='list', probability=1.0, count=None)
    for _attempt in range(3):
        with pytest.raises(ApiException):
            configmaps.get(namespace='default')
    kubeapi.clear_faults()
    assert [r['status'] for r in kubeapi.requests() if r['verb'] == 'list'] == [200] * 5 + [503] * 3


def test_latency_fault_delays_but_serves(kubeapi, configmaps):
    configmaps.create(body=configmap('a'), namespace='default')
    kubeapi.clear_requests()
    kubeapi.inject(status=None, latency=0.2, verb='get', resource='configmaps')
    assert configmaps.get(name='a', namespace='default').data.k == 'v'
    entry, = [r for r in kubeapi.requests() if r['verb'] == 'get']
    assert entry['status'] == 200 and entry['fault'] == {'status': None, 'latency': 0.2}


def test_request_log_fields(kubeapi, configmaps):
    configmaps.create(body=configmap('a'), namespace='default', query_params=[('fieldManager', 'tester')])
    entry = [r for r in kubeapi.requests() if r['verb'] == 'create'][-1]
    assert {k: entry[k] for k in ('method', 'verb', 'path', 'group', 'version', 'resource', 'namespace', 'name',
                                  'subresource', 'dry_run', 'status')} == {
        'method': 'POST', 'verb': 'create', 'path': '/api/v1/namespaces/default/configmaps', 'group': '', 'version': 'v1',
        'resource': 'configmaps', 'namespace': 'default', 'name': None, 'subresource': None, 'dry_run': False,
        'status': 201}
    assert entry['query'] == {'fieldManager': 'tester'}
    kubeapi.clear_requests()
    assert kubeapi.requests() == []


def test_watch_streams_added_modified_deleted(kubeapi, configmaps):
    api = k8s_client.CoreV1Api(kubeapi.client().client)
    start = configmaps.get(namespace='default').metadata.resourceVersion
    events = []

    def consume():
        stream = watch.Watch()
        for event in stream.stream(api.list_namespaced_config_map, 'default', resource_version=start, timeout_seconds=20):
            events.append((event['type'], event['object'].metadata.name, (event['object'].data or {}).get('k')))
            if event['type'] == 'DELETED':
                stream.stop()
    thread = threading.Thread(target=consume)
    thread.start()
    configmaps.create(body=configmap('w'), namespace='default')
    configmaps.patch(body={'data': {'k': 'v2'}}, name='w', namespace='default', content_type='application/merge-patch+json')
    configmaps.delete(name='w', namespace='default')
    thread.join(30)
    assert not thread.is_alive()
    assert events == [('ADDED', 'w', 'v'), ('MODIFIED', 'w', 'v2'), ('DELETED', 'w', 'v2')]


def test_watch_with_label_selector_reports_objects_leaving_the_selection(kubeapi, configmaps):
    body = configmap('sel')
    body['metadata']['labels'] = {'watch': 'me'}
    start = configmaps.get(namespace='default').metadata.resourceVersion
    configmaps.create(body=body, namespace='default')
    configmaps.patch(body={'metadata': {'labels': {'watch': 'no'}}}, name='sel', namespace='default',
                     content_type='application/merge-patch+json')
    status, _listing = kubeapi.http('GET', '/api/v1/namespaces/default/configmaps')
    assert status == 200
    pool = urllib3.PoolManager()
    response = pool.request('GET', kubeapi.url + '/api/v1/namespaces/default/configmaps',
                            fields={'watch': '1', 'resourceVersion': start, 'labelSelector': 'watch=me',
                                    'timeoutSeconds': '1'})
    kinds = [json.loads(line)['type'] for line in response.data.splitlines() if line]
    assert kinds == ['ADDED', 'DELETED']


def test_token_auth_and_tls(tmp_path):
    with start_kubeapi(tmp_path / 'secure', tls=True, token='s3cret') as server:
        assert server.url.startswith('https://127.0.0.1:')
        pool = urllib3.PoolManager(ca_certs=server.ca_cert, cert_reqs='CERT_REQUIRED')
        anonymous = pool.request('GET', server.url + '/api/v1/namespaces')
        assert anonymous.status == 401 and json.loads(anonymous.data)['reason'] == 'Unauthorized'
        wrong = pool.request('GET', server.url + '/api/v1/namespaces', headers={'Authorization': 'Bearer nope'})
        assert wrong.status == 401
        right = pool.request('GET', server.url + '/api/v1/namespaces', headers={'Authorization': 'Bearer s3cret'})
        assert right.status == 200
        names = [i.metadata.name for i in server.client().resources.get(api_version='v1', kind='Namespace').get().items]
        assert 'kube-system' in names
        with pytest.raises(urllib3.exceptions.SSLError):
            urllib3.PoolManager(cert_reqs='CERT_REQUIRED', retries=False).request('GET', server.url + '/version')
        # The token stays out of the command line.
        with open('/proc/%d/cmdline' % server.pid, 'rb') as cmdline:
            assert b's3cret' not in cmdline.read()
    assert not port_is_open(server.port)


def test_stopped_server_leaves_no_process_or_port(tmp_path):
    with start_kubeapi(tmp_path / 'short', crds='none') as server:
        pid, port = server.pid, server.port
        assert port_is_open(port)
        status, listing = server.http('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions')
        assert status == 200 and listing['items'] == []
    assert server.process.returncode is not None
    assert not port_is_open(port)
    with pytest.raises(ProcessLookupError):
        import os  # pylint: disable=import-outside-toplevel
        os.kill(pid, 0)


def test_a_pytest_session_leaves_no_server_behind(tmp_path):
    """A whole pytest run using the fixtures (and one forgotten launch()) ends with no process or port."""
    import os  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    record = tmp_path / 'servers.txt'
    (tmp_path / 'conftest.py').write_text("pytest_plugins = ['lab.kubeapi.fixtures']\n", encoding='utf-8')
    (tmp_path / 'test_inner.py').write_text(
        'from lab.kubeapi.fixtures import launch\n'
        'def test_uses(kubeapi, tmp_path):\n'
        '    forgotten = launch(tmp_path / "forgotten", crds="none")\n'
        '    with open(%r, "w") as out:\n'
        '        out.write("%%d %%d\\n%%d %%d\\n" %% (kubeapi.pid, kubeapi.port, forgotten.pid, forgotten.port))\n'
        '    assert kubeapi.get("v1", "Namespace", "default")\n' % str(record), encoding='utf-8')
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.path.join(root, '.deps')]))
    result = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-c', os.devnull,
                             '--rootdir', str(tmp_path), str(tmp_path / 'test_inner.py')],
                            cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in record.read_text(encoding='utf-8').splitlines():
        pid, port = (int(part) for part in line.split())
        assert not port_is_open(port)
        assert not os.path.exists('/proc/%d' % pid) or 'zombie' in open('/proc/%d/status' % pid, encoding='utf-8').read()


def test_watch_as_table_for_kubectl_get_watch(kubeapi, configmaps):
    configmaps.create(body=configmap('t1'), namespace='default')
    configmaps.create(body=configmap('t2'), namespace='default')
    accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'
    response = urllib3.PoolManager().request('GET', kubeapi.url + '/api/v1/namespaces/default/configmaps',
                                             fields={'watch': '1', 'resourceVersion': '0', 'timeoutSeconds': '1'},
                                             headers={'Accept': accept})
    events = [json.loads(line) for line in response.data.splitlines() if line]
    assert [e['object']['kind'] for e in events] == ['Table', 'Table']
    assert [c['name'] for c in events[0]['object']['columnDefinitions']] == ['Name', 'Age']
    assert events[1]['object']['columnDefinitions'] == []
    assert sorted(e['object']['rows'][0]['cells'][0] for e in events) == ['t1', 't2']
