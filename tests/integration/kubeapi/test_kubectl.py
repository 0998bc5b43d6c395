"""kubectl against the emulator, with client-side validation on (no --validate=false)."""
import shutil
import subprocess
import threading
import time

import pytest

KUBECTL = shutil.which('kubectl')
pytestmark = pytest.mark.skipif(KUBECTL is None, reason='kubectl is not installed on this machine')
SP = 'spiderpool.spidernet.io/v2beta1'

POOL = """\
apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderIPPool
metadata:
  name: pool1
  labels: {tier: lab}
spec:
  subnet: 10.20.0.0/24
  ips: [10.20.0.10-10.20.0.20]
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: demo}
data:
  mode: fast
"""


@pytest.fixture
def kubectl(kubeapi, tmp_path):
    env = kubeapi.env()
    env['KUBECACHEDIR'] = str(tmp_path / 'kube-cache')

    def run(*args, stdin=None, check=True):
        result = subprocess.run([KUBECTL, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False)
        if check and result.returncode != 0:
            raise AssertionError('kubectl %s failed: %s%s' % (' '.join(args), result.stdout, result.stderr))
        return result
    return run


def test_apply_twice_creates_then_is_unchanged_without_a_write(kubeapi, kubectl):
    assert kubectl('apply', '-f', '-', stdin=POOL).stdout.strip() == 'spiderippool.spiderpool.spidernet.io/pool1 created'
    assert kubeapi.get(SP, 'SpiderIPPool', 'pool1')['spec']['ips'] == ['10.20.0.10-10.20.0.20']
    kubeapi.clear_requests()
    assert kubectl('apply', '-f', '-', stdin=POOL).stdout.strip() == 'spiderippool.spiderpool.spidernet.io/pool1 unchanged'
    assert kubeapi.writes() == []
    changed = POOL.replace('10.20.0.20]', '10.20.0.30]')
    assert kubectl('apply', '-f', '-', stdin=changed).stdout.strip().endswith('configured')
    assert [w['verb'] for w in kubeapi.writes()] == ['patch']
    assert kubeapi.get(SP, 'SpiderIPPool', 'pool1')['metadata']['generation'] == 2


def test_apply_builtin_twice(kubeapi, kubectl):
    kubectl('apply', '-f', '-', stdin=CONFIGMAP)
    kubeapi.clear_requests()
    assert kubectl('apply', '-f', '-', stdin=CONFIGMAP).stdout.strip() == 'configmap/settings unchanged'
    assert kubeapi.writes() == []


def test_create_twice_fails_with_already_exists(kubeapi, kubectl):
    kubectl('create', '-f', '-', stdin=CONFIGMAP)
    second = kubectl('create', '-f', '-', stdin=CONFIGMAP, check=False)
    assert second.returncode == 1
    assert 'AlreadyExists' in second.stderr and 'configmaps "settings" already exists' in second.stderr


def test_replace_and_diff(kubeapi, kubectl):
    kubectl('create', '-f', '-', stdin=CONFIGMAP)
    kubectl('replace', '-f', '-', stdin=CONFIGMAP.replace('fast', 'safe'))
    assert kubeapi.get('v1', 'ConfigMap', 'settings', 'default')['data'] == {'mode': 'safe'}
    kubeapi.clear_requests()
    same = kubectl('diff', '-f', '-', stdin=CONFIGMAP.replace('fast', 'safe'), check=False)
    assert same.returncode == 0 and same.stdout == ''
    different = kubectl('diff', '-f', '-', stdin=CONFIGMAP.replace('fast', 'slow'), check=False)
    assert different.returncode == 1
    assert '-  mode: safe' in different.stdout and '+  mode: slow' in different.stdout
    assert kubeapi.writes() == []
    assert kubeapi.get('v1', 'ConfigMap', 'settings', 'default')['data'] == {'mode': 'safe'}


def test_server_side_apply_conflict_and_force(kubeapi, kubectl):
    kubectl('apply', '--server-side', '--field-manager=alice', '-f', '-', stdin=POOL)
    other = POOL.replace('10.20.0.20]', '10.20.0.40]')
    conflict = kubectl('apply', '--server-side', '--field-manager=bob', '-f', '-', stdin=other, check=False)
    assert conflict.returncode == 1
    assert 'conflict with "alice"' in conflict.stderr and '.spec.ips' in conflict.stderr
    assert kubeapi.get(SP, 'SpiderIPPool', 'pool1')['spec']['ips'] == ['10.20.0.10-10.20.0.20']
    kubectl('apply', '--server-side', '--field-manager=bob', '--force-conflicts', '-f', '-', stdin=other)
    stored = kubeapi.get(SP, 'SpiderIPPool', 'pool1')
    assert stored['spec']['ips'] == ['10.20.0.10-10.20.0.40']
    owners = {entry['manager']: entry['fieldsV1'] for entry in stored['metadata']['managedFields']}
    assert 'f:ips' in owners['bob']['f:spec'] and 'f:ips' not in owners['alice']['f:spec']
    assert 'f:subnet' in owners['alice']['f:spec'] and 'f:subnet' in owners['bob']['f:spec']


def test_server_side_apply_removes_fields_the_manager_dropped(kubeapi, kubectl):
    with_gateway = POOL + '  gateway: 10.20.0.1\n'
    kubectl('apply', '--server-side', '--field-manager=alice', '-f', '-', stdin=with_gateway)
    assert kubeapi.get(SP, 'SpiderIPPool', 'pool1')['spec']['gateway'] == '10.20.0.1'
    kubectl('apply', '--server-side', '--field-manager=alice', '-f', '-', stdin=POOL)
    assert 'gateway' not in kubeapi.get(SP, 'SpiderIPPool', 'pool1')['spec']


def test_server_dry_run_leaves_nothing(kubeapi, kubectl):
    kubeapi.clear_requests()
    out = kubectl('create', '--dry-run=server', '-f', '-', stdin=POOL).stdout
    assert 'created (server dry run)' in out
    out = kubectl('apply', '--dry-run=server', '-f', '-', stdin=CONFIGMAP).stdout
    assert 'server dry run' in out
    assert kubeapi.writes() == []
    assert any(r['dry_run'] for r in kubeapi.requests())
    assert kubeapi.get(SP, 'SpiderIPPool', 'pool1') is None
    assert kubeapi.get('v1', 'ConfigMap', 'settings', 'default') is None


def test_invalid_object_is_refused_by_the_server(kubeapi, kubectl):
    bad = POOL.replace('10.20.0.0/24', '10.20.0.0/24\n  ipVersion: 5')
    result = kubectl('apply', '-f', '-', stdin=bad, check=False)
    assert result.returncode == 1 and 'spec.ipVersion: Unsupported value: 5' in result.stderr
    unknown = kubectl('apply', '-f', '-', stdin=POOL.replace('  subnet', '  colour: red\n  subnet'), check=False)
    assert unknown.returncode == 1 and 'unknown field "spec.colour"' in unknown.stderr
    assert kubeapi.get(SP, 'SpiderIPPool', 'pool1') is None


def test_get_with_label_selector(kubeapi, kubectl):
    kubectl('apply', '-f', '-', stdin=CONFIGMAP)
    kubectl('apply', '-f', '-', stdin=CONFIGMAP.replace('settings', 'other').replace('app: demo', 'app: else'))
    names = kubectl('get', 'configmaps', '-l', 'app=demo', '-o', 'name').stdout.split()
    assert names == ['configmap/settings']
    assert kubectl('get', 'sp', '-o', 'name').stdout == ''


def _later(action, delay=0.5):
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()))
    thread.start()
    return thread


def test_wait_for_condition_and_delete(kubeapi, kubectl):
    kubectl('apply', '-f', '-', stdin=POOL)
    status_path = '/apis/%s/spiderippools/pool1/status' % SP
    thread = _later(lambda: kubeapi.http('PATCH', status_path, {'status': {'totalIPCount': 11}},
                                         content_type='application/merge-patch+json'))
    result = kubectl('wait', '--for=jsonpath={.status.totalIPCount}=11', 'spiderippool/pool1', '--timeout=30s')
    thread.join()
    assert 'condition met' in result.stdout
    thread = _later(lambda: kubeapi.delete(SP, 'SpiderIPPool', 'pool1'))
    result = kubectl('wait', '--for=delete', 'spiderippool/pool1', '--timeout=30s')
    thread.join()
    assert 'deleted' in result.stdout or 'condition met' in result.stdout
    assert kubeapi.get(SP, 'SpiderIPPool', 'pool1') is None


def test_wait_for_crd_established(kubeapi, kubectl):
    result = kubectl('wait', '--for=condition=Established', 'crd/spidermultusconfigs.spiderpool.spidernet.io',
                     '--timeout=10s')
    assert 'condition met' in result.stdout


def test_get_prints_the_crd_printer_columns(kubeapi, kubectl):
    kubectl('apply', '-f', '-', stdin=POOL.replace('  subnet', '  ipVersion: 4\n  default: true\n  subnet'))
    header, row = kubectl('get', 'spiderippools').stdout.splitlines()
    assert header.split() == ['NAME', 'VERSION', 'SUBNET', 'ALLOCATED-IP-COUNT', 'TOTAL-IP-COUNT', 'DEFAULT']
    assert row.split() == ['pool1', '4', '10.20.0.0/24', 'true']  # no status yet: empty count cells
    wide_header = kubectl('get', 'spiderippools', '-o', 'wide').stdout.splitlines()[0]
    assert 'MULTUSNAME' in wide_header.split()
    namespaces = kubectl('get', 'namespaces', 'kube-system').stdout.splitlines()
    assert namespaces[0].split() == ['NAME', 'STATUS', 'AGE'] and namespaces[1].split()[:2] == ['kube-system', 'Active']


def test_patch_label_annotate_status_explain_and_delete(kubeapi, kubectl):
    kubectl('apply', '-f', '-', stdin=POOL)
    strategic = kubectl('patch', 'spiderippool', 'pool1', '-p', '{"spec":{"gateway":"10.20.0.1"}}', check=False)
    assert strategic.returncode == 1 and 'strategic-merge-patch+json is not supported' in strategic.stderr
    kubectl('patch', 'spiderippool', 'pool1', '--type=merge', '-p', '{"spec":{"gateway":"10.20.0.1"}}')
    kubectl('patch', 'spiderippool', 'pool1', '--type=json', '-p', '[{"op":"add","path":"/spec/excludeIPs","value":["10.20.0.11"]}]')
    kubectl('patch', 'spiderippool', 'pool1', '--subresource=status', '--type=merge', '-p', '{"status":{"totalIPCount":10}}')
    kubectl('label', 'spiderippool', 'pool1', 'zone=a')
    kubectl('annotate', 'spiderippool', 'pool1', 'note=checked')
    stored = kubeapi.get(SP, 'SpiderIPPool', 'pool1')
    assert stored['spec']['gateway'] == '10.20.0.1' and stored['spec']['excludeIPs'] == ['10.20.0.11']
    assert stored['status'] == {'totalIPCount': 10}
    assert stored['metadata']['labels'] == {'tier': 'lab', 'zone': 'a'}
    assert stored['metadata']['annotations']['note'] == 'checked'
    assert stored['metadata']['generation'] == 3
    jsonpath = kubectl('get', 'sp', 'pool1', '-o', 'jsonpath={.spec.subnet} {.status.totalIPCount}').stdout
    assert jsonpath == '10.20.0.0/24 10'
    explained = kubectl('explain', 'spidermultusconfig.spec.ovs').stdout
    assert 'bridge' in explained and 'vlan' in explained and 'trunk' in explained
    kubectl('delete', 'spiderippool', 'pool1')
    assert kubeapi.get(SP, 'SpiderIPPool', 'pool1') is None
    missing = kubectl('delete', 'spiderippool', 'pool1', check=False)
    assert missing.returncode == 1 and 'NotFound' in missing.stderr


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: CONTAINER
        image: IMAGE
"""


def test_server_side_apply_merges_containers_by_name_between_managers(kubeapi, kubectl):
    kubectl('apply', '--server-side', '--field-manager=app', '-f', '-',
            stdin=DEPLOYMENT.replace('CONTAINER', 'app').replace('IMAGE', 'app:1'))
    kubectl('apply', '--server-side', '--field-manager=sidecar', '-f', '-',
            stdin=DEPLOYMENT.replace('CONTAINER', 'proxy').replace('IMAGE', 'proxy:1'))
    containers = kubeapi.get('apps/v1', 'Deployment', 'web', 'default')['spec']['template']['spec']['containers']
    assert [(c['name'], c['image']) for c in containers] == [('app', 'app:1'), ('proxy', 'proxy:1')]
    conflict = kubectl('apply', '--server-side', '--field-manager=sidecar', '-f', '-', check=False,
                       stdin=DEPLOYMENT.replace('CONTAINER', 'app').replace('IMAGE', 'app:2'))
    assert conflict.returncode == 1 and 'conflict with "app"' in conflict.stderr
    assert '.spec.template.spec.containers[name="app"].image' in conflict.stderr
