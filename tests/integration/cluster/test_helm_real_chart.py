"""Real helm with the real Spiderpool 1.2.2 chart against the API emulator, without Ansible.

What a cluster does for ``helm upgrade --install --wait``: the release Secret (sent as
protobuf), the OpenAPI document helm validates against, the rbac/admission/batch kinds, the
rollout and the hook Jobs (the emulator's workload-readiness and spiderpool-hooks simulations).
"""
import json

from cluster_helpers import SPIDERPOOL, real_chart_or_skip, run_helm

NS = 'kube-system'


def test_helm_upgrade_install_wait_of_the_real_chart_is_deployed(tmp_path, kubeapi):
    chart = real_chart_or_skip()
    kubeapi.simulate('workload-readiness')
    kubeapi.simulate('spiderpool-hooks')
    home = tmp_path / 'helm'
    run_helm(['upgrade', '--install', 'spiderpool', str(chart), '-n', NS, '--wait', '--timeout', '60s'], kubeapi, home)
    listed = json.loads(run_helm(['list', '-n', NS, '-o', 'json'], kubeapi, home).stdout)
    assert [(r['name'], r['status'], r['chart'], r['revision']) for r in listed] == \
        [('spiderpool', 'deployed', 'spiderpool-1.2.2', '1')]
    # The release is stored as helm stores it on a cluster: a Secret found by its labels.
    status, secrets = kubeapi.http('GET', '/api/v1/namespaces/%s/secrets' % NS, query={'labelSelector': 'owner=helm,name=spiderpool'})
    assert status == 200 and [s['type'] for s in secrets['items']] == ['helm.sh/release.v1']
    assert kubeapi.get('batch/v1', 'Job', 'spiderpool-init', NS)['status']['succeeded'] == 1
    assert kubeapi.get(SPIDERPOOL, 'SpiderCoordinator', 'default')['status']['phase'] == 'Synced'


def test_helm_wait_times_out_without_the_readiness_simulation(tmp_path, kubeapi):
    """Nothing makes the chart's post-install Job complete: helm waits for the hook, --wait or not."""
    chart = real_chart_or_skip()
    proc = run_helm(['install', 'spiderpool', str(chart), '-n', NS, '--timeout', '3s'], kubeapi, tmp_path / 'helm', check=False)
    assert proc.returncode != 0
    assert 'failed post-install' in proc.stderr and 'timed out waiting for the condition' in proc.stderr


def test_helm_leaves_validation_to_the_server_which_refuses_a_wrong_type(tmp_path, kubeapi):
    """helm asks for /openapi/v2 only for group-versions whose v3 document lacks fieldValidation; the
    emulator declares it everywhere, as the API server does, so the server's strictness decides."""
    chart = tmp_path / 'bad'
    (chart / 'templates').mkdir(parents=True)
    (chart / 'Chart.yaml').write_text('apiVersion: v2\nname: bad\nversion: 0.1.0\n', encoding='utf-8')
    (chart / 'templates' / 'role.yaml').write_text(
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: bad\n'
        'rules:\n  - verbs: get\n    apiGroups: [""]\n    resources: [pods]\n', encoding='utf-8')
    proc = run_helm(['install', 'bad', str(chart), '-n', NS], kubeapi, tmp_path / 'helm', check=False)
    assert proc.returncode != 0
    assert 'ClusterRole.rbac.authorization.k8s.io "bad" is invalid' in proc.stderr and 'rules[0].verbs' in proc.stderr
    assert not [r for r in kubeapi.requests() if r['path'] == '/openapi/v2']
    assert kubeapi.get('rbac.authorization.k8s.io/v1', 'ClusterRole', 'bad') is None
