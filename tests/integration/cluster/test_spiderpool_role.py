"""Role vmnet.kubevirt.spiderpool through playbooks/cluster.yml, with real helm and the real chart.

The chart is Spiderpool 1.2.2, read in place from ../shared/upstream/charts (skipped with a
message where it is absent). The API emulator plays the cluster with two named controller
simulations on: ``workload-readiness`` (rollouts and Job completion, what helm --wait and the
hooks wait on) and ``spiderpool-hooks`` (what the chart's init and cleanup Jobs do).

One emulator and one release serve the tests of the helm path in file order: install (under a
release name that is not "spiderpool"), an unchanged second run, check mode with --diff, an
upgrade, "Multus already installed", and the uninstall. install_method manifests and the
input checks use the session emulator.
"""
import json
import subprocess

import pytest
import yaml

from cluster_helpers import (SPIDERPOOL, changed_tasks, helm_or_fail, real_chart_or_skip, recap, run_helm, run_playbook,
                             helm_env)
from lab.kubeapi.fixtures import start_kubeapi

NS = 'kube-system'
RELEASE = 'vmnet-sp'  # the chart names its workloads spiderpool-controller/-agent whatever the release is called
SIMULATIONS = ('workload-readiness', 'spiderpool-hooks')


def playbook(kubeapi, tmp_path, *options, **extra_vars):
    variables = {'vmnet_kubeconfig': kubeapi.kubeconfig, 'vmnet_spiderpool_helm_binary': str(helm_or_fail()),
                 'vmnet_spiderpool_coordinator_delay': 1, 'vmnet_spiderpool_coordinator_retries': 5,
                 'vmnet_spiderpool_wait_timeout': 60}
    variables.update(extra_vars)
    path = tmp_path / ('vars-%d.json' % len(list(tmp_path.glob('vars-*.json'))))
    path.write_text(json.dumps(variables), encoding='utf-8')
    return run_playbook(['playbooks/cluster.yml', '-e', '@' + str(path)] + list(options), env=helm_env(tmp_path / 'helm'))


class Cluster:
    """The module's emulator and the role runs against the one release."""

    def __init__(self, api, tmp_path, chart):
        self.api = api
        self.tmp_path = tmp_path
        self.chart = chart

    def run(self, *options, **extra_vars):
        extra_vars.setdefault('vmnet_spiderpool_chart_path', str(self.chart))
        extra_vars.setdefault('vmnet_spiderpool_release_name', RELEASE)
        return playbook(self.api, self.tmp_path, *options, **extra_vars)

    def helm(self, *args):
        return run_helm(list(args) + ['-n', NS], self.api, self.tmp_path / 'helm')

    def releases(self):
        return json.loads(self.helm('list', '--all', '-o', 'json').stdout)

    def values(self):
        return json.loads(self.helm('get', 'values', RELEASE, '-o', 'json').stdout)


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    chart = real_chart_or_skip()
    helm_or_fail()
    tmp_path = tmp_path_factory.mktemp('spiderpool-role')
    with start_kubeapi(tmp_path / 'kubeapi', simulate=SIMULATIONS) as api:
        yield Cluster(api, tmp_path, chart)


@pytest.fixture(scope='module')
def installed(cluster):
    """The first run: nothing installed yet."""
    return cluster.run()


def test_install_verifies_and_a_second_run_changes_nothing(cluster, installed):
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert 'vmnet.kubevirt.spiderpool : Install or upgrade the Spiderpool chart' in changed_tasks(installed)
    release, = cluster.releases()
    assert (release['name'], release['status'], release['chart'], release['revision']) == \
        (RELEASE, 'deployed', 'spiderpool-1.2.2', '1')
    assert cluster.values() == {'ipam': {'enableIPv4': True, 'enableIPv6': False, 'enableKubevirtStaticIP': True},
                                'multus': {'multusCNI': {'install': True, 'defaultCniCRName': ''}},
                                'plugins': {'installOvsCNI': True}}
    # The rollout wait found the chart's own workload names although the release is not "spiderpool".
    assert 'ok: [localhost] => (item=Deployment spiderpool-controller)' in installed.stdout
    assert 'ok: [localhost] => (item=DaemonSet spiderpool-agent)' in installed.stdout
    assert cluster.api.get(SPIDERPOOL, 'SpiderCoordinator', 'default')['status']['phase'] == 'Synced'
    assert cluster.api.get('rbac.authorization.k8s.io/v1', 'ClusterRole', 'spiderpool-admin') is not None
    assert cluster.api.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', 'spiderpool-controller')

    cluster.api.clear_requests()
    again = cluster.run()
    assert again.returncode == 0, again.stdout
    assert recap(again)['changed'] == 0, changed_tasks(again)
    assert cluster.api.writes() == []  # not even helm's release storage was written: no needless upgrade
    assert cluster.releases()[0]['revision'] == '1'


def test_check_mode_with_diff_shows_the_change_and_writes_nothing(cluster, installed):
    assert installed.returncode == 0
    cluster.api.clear_requests()
    proc = cluster.run('--check', '--diff', vmnet_spiderpool_ipv6=True)
    assert proc.returncode == 0, proc.stdout
    assert 'vmnet.kubevirt.spiderpool : Install or upgrade the Spiderpool chart' in changed_tasks(proc)
    shown = proc.stdout.split('Show the values change')[1].split('TASK [')[0]
    assert '"enableIPv6": false' in shown.split('values_to_deploy')[0] and '"enableIPv6": true' in shown.split('values_to_deploy')[1]
    assert cluster.api.writes() == []
    assert cluster.releases()[0]['revision'] == '1'


def test_upgrade_to_other_values(cluster, installed):
    assert installed.returncode == 0
    proc = cluster.run(vmnet_spiderpool_ipv6=True, vmnet_spiderpool_kubevirt_static_ip=False)
    assert proc.returncode == 0, proc.stdout
    release, = cluster.releases()
    assert (release['status'], release['revision']) == ('deployed', '2')
    assert cluster.values()['ipam'] == {'enableIPv4': True, 'enableIPv6': True, 'enableKubevirtStaticIP': False}
    conf = yaml.safe_load(cluster.api.get('v1', 'ConfigMap', 'spiderpool-conf', NS)['data']['conf.yml'])
    assert (conf['enableIPv6'], conf['enableKubevirtStaticIP']) == (True, False)


def test_a_cluster_that_already_runs_multus_keeps_it(cluster, installed):
    assert installed.returncode == 0
    assert cluster.api.get('v1', 'ConfigMap', 'spiderpool-multus-entrypoint', NS) is not None  # the chart's own Multus
    cluster.api.apply({'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'metadata': {'name': 'kube-multus-ds', 'namespace': NS},
                       'spec': {'selector': {'matchLabels': {'app': 'multus'}},
                                'template': {'metadata': {'labels': {'app': 'multus'}},
                                             'spec': {'containers': [{'name': 'kube-multus', 'image': 'multus:v4'}]}}}})
    try:
        proc = cluster.run(vmnet_spiderpool_ipv6=True, vmnet_spiderpool_kubevirt_static_ip=False)
        assert proc.returncode == 0, proc.stdout
        assert 'The cluster already runs Multus (kube-system/kube-multus-ds)' in proc.stdout
        assert cluster.values()['multus']['multusCNI']['install'] is False
        agent = cluster.api.get('apps/v1', 'DaemonSet', 'spiderpool-agent', NS)
        containers = [c['name'] for c in agent['spec']['template']['spec']['containers']]
        assert 'multus-cni' not in containers and 'spiderpool-agent' in containers
        assert cluster.api.get('v1', 'ConfigMap', 'spiderpool-multus-entrypoint', NS) is None
    finally:
        cluster.api.delete('apps/v1', 'DaemonSet', 'kube-multus-ds', NS)


def test_a_local_chart_of_another_version_than_the_pin_is_refused(cluster, installed):
    assert installed.returncode == 0
    packed = run_helm(['package', str(cluster.chart), '-d', str(cluster.tmp_path)], cluster.api, cluster.tmp_path / 'helm')
    archive = packed.stdout.strip().rsplit(' ', 1)[-1]
    assert archive.endswith('spiderpool-1.2.2.tgz')
    cluster.api.clear_requests()
    proc = cluster.run(vmnet_spiderpool_chart_path=archive, vmnet_spiderpool_chart_version='1.2.1')
    assert proc.returncode != 0
    assert 'holds chart spiderpool version 1.2.2, but this run pins spiderpool 1.2.1' in proc.stdout
    assert cluster.api.writes() == []
    assert cluster.releases()[0]['revision'] == '3'


def test_uninstall_refuses_while_the_cleanup_would_delete_networks_then_deletes_them_when_confirmed(cluster, installed):
    assert installed.returncode == 0
    cluster.api.apply({'apiVersion': SPIDERPOOL, 'kind': 'SpiderIPPool',
                       'metadata': {'name': 'vlan100-v4', 'finalizers': ['spiderpool.spidernet.io']},
                       'spec': {'subnet': '172.16.100.0/24', 'ips': ['172.16.100.10-172.16.100.20']}})
    cluster.api.clear_requests()
    refused = cluster.run(vmnet_spiderpool_state='absent')
    assert refused.returncode != 0
    assert 'runs the chart\'s pre-delete cleanup (Job spiderpool-controller-hook-pre-delete)' in refused.stdout
    assert 'These exist: SpiderIPPool vlan100-v4' in refused.stdout
    assert cluster.api.writes() == [] and cluster.releases()[0]['status'] == 'deployed'

    proc = cluster.run(vmnet_spiderpool_state='absent', vmnet_spiderpool_confirm_delete_networks=True)
    assert proc.returncode == 0, proc.stdout
    assert cluster.releases() == []
    # What the cleanup Job did (spiderpool-hooks simulation): the pool and Spiderpool's CRDs are gone.
    assert cluster.api.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'spiderippools.spiderpool.spidernet.io') is None
    assert cluster.api.get('apps/v1', 'Deployment', 'spiderpool-controller', NS) is None
    again = cluster.run(vmnet_spiderpool_state='absent')
    assert again.returncode == 0 and recap(again)['changed'] == 0, again.stdout


# ---------------------------------------------------------------- install_method manifests and the input checks

def rendered_chart(tmp_path, kubeapi):
    """helm template of the real chart (hooks included, as helm template prints them) with CRDs."""
    chart = real_chart_or_skip()
    proc = run_helm(['template', 'spiderpool', str(chart), '-n', NS, '--include-crds'], kubeapi, tmp_path / 'helm')
    directory = tmp_path / 'rendered'
    directory.mkdir()
    (directory / 'spiderpool.yaml').write_text(proc.stdout, encoding='utf-8')
    return directory


def test_manifests_apply_the_chart_but_never_its_cleanup_hook(tmp_path, kubeapi):
    manifests = rendered_chart(tmp_path, kubeapi)
    for name in SIMULATIONS:
        kubeapi.simulate(name)
    kubeapi.clear_requests()
    proc = playbook(kubeapi, tmp_path, vmnet_spiderpool_install_method='manifests', vmnet_spiderpool_manifests_dir=str(manifests))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Not applied (helm hooks, run by helm only at their event): Job spiderpool-controller-hook-pre-delete (pre-delete)' \
        in proc.stdout
    created_jobs = [r for r in kubeapi.writes() if r['resource'] == 'jobs' and r['verb'] == 'create']
    assert len(created_jobs) == 1 and kubeapi.get('batch/v1', 'Job', 'spiderpool-init', NS) is not None
    assert kubeapi.get('batch/v1', 'Job', 'spiderpool-controller-hook-pre-delete', NS) is None
    # Spiderpool's CRDs survived (the cleanup would have deleted them) and the init Job made the coordinator.
    assert kubeapi.get(SPIDERPOOL, 'SpiderCoordinator', 'default')['status']['phase'] == 'Synced'
    assert 'ok: [localhost] => (item=DaemonSet spiderpool-agent)' in proc.stdout

    kubeapi.clear_requests()
    again = playbook(kubeapi, tmp_path, vmnet_spiderpool_install_method='manifests', vmnet_spiderpool_manifests_dir=str(manifests))
    assert again.returncode == 0, again.stdout
    assert not [r for r in kubeapi.writes() if r['resource'] == 'jobs'], 'the post-install hook ran twice'
    # Only kubernetes.core.k8s's own apply tasks may report a change here (see the emulator README's known gaps).
    assert all(task.startswith('vmnet.kubevirt.spiderpool : Apply the') for task in changed_tasks(again)), changed_tasks(again)

    empty = tmp_path / 'empty'
    empty.mkdir()
    proc = playbook(kubeapi, tmp_path, vmnet_spiderpool_install_method='manifests', vmnet_spiderpool_manifests_dir=str(empty))
    assert proc.returncode != 0 and 'holds no Kubernetes objects' in proc.stdout


def workloads():
    template = {'metadata': {'labels': {'app': 'x'}}, 'spec': {'containers': [{'name': 'main', 'image': 'spiderpool:v1.2.2'}]}}
    return [{'apiVersion': 'apps/v1', 'kind': kind, 'metadata': {'name': name},
             'spec': {'selector': {'matchLabels': {'app': 'x'}}, 'template': template}}
            for kind, name in (('Deployment', 'spiderpool-controller'), ('DaemonSet', 'spiderpool-agent'))]


def test_coordinator_not_synced_fails_clearly(tmp_path, kubeapi):
    manifests = tmp_path / 'workloads'
    manifests.mkdir()
    (manifests / 'workloads.yaml').write_text(yaml.safe_dump_all(workloads()), encoding='utf-8')
    kubeapi.simulate('workload-readiness')  # rolled out, but no init Job made the coordinator
    proc = playbook(kubeapi, tmp_path, vmnet_spiderpool_install_method='manifests', vmnet_spiderpool_manifests_dir=str(manifests),
                    vmnet_spiderpool_coordinator_retries=1)
    assert proc.returncode != 0
    assert 'TASK [vmnet.kubevirt.spiderpool : Wait for the SpiderCoordinator default to be Synced]' in proc.stdout
    assert 'fatal: [localhost]' in proc.stdout.split('Wait for the SpiderCoordinator default to be Synced')[-1]


def test_missing_crds_fail_the_verification(tmp_path):
    manifests = tmp_path / 'workloads'
    manifests.mkdir()
    (manifests / 'workloads.yaml').write_text(yaml.safe_dump_all(workloads()), encoding='utf-8')
    with start_kubeapi(tmp_path / 'bare', crds='none') as api:
        proc = playbook(api, tmp_path, vmnet_spiderpool_install_method='manifests', vmnet_spiderpool_manifests_dir=str(manifests),
                        vmnet_spiderpool_wait=False)
    assert proc.returncode != 0
    assert ('Not served by this cluster: spiderpool.spidernet.io/v2beta1 SpiderIPPool, spiderpool.spidernet.io/v2beta1 SpiderSubnet'
            in proc.stdout), proc.stdout
    assert 'k8s.cni.cncf.io/v1 NetworkAttachmentDefinition. Are Spiderpool\'s CRDs installed?' in proc.stdout


@pytest.mark.parametrize('variables, message', [
    ({'vmnet_spiderpool_release_name': 'Spider_Pool'}, 'vmnet_spiderpool_release_name "Spider_Pool" must be'),
    ({'vmnet_spiderpool_chart_path': '/nonexistent/chart dir'}, 'vmnet_spiderpool_chart_path: "/nonexistent/chart dir" must be'),
    ({'vmnet_spiderpool_chart_version': "1.2.2' --post-renderer=x"}, 'must be a semantic version'),
])
def test_bad_input_is_refused_before_the_cluster_is_touched(tmp_path, kubeapi, variables, message):
    kubeapi.clear_requests()
    proc = playbook(kubeapi, tmp_path, **variables)
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout
    assert kubeapi.requests() == []


def test_helm_is_the_real_one():
    proc = subprocess.run([str(helm_or_fail()), 'version', '--template', '{{.Version}}'], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == 'v3.17.1'
