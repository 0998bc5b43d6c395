"""Role vmnet.kubevirt.spiderpool through playbooks/cluster.yml.

Helm cannot be installed here: install_method helm runs against ``helm-double``, a DOUBLE of
the helm CLI (tests/integration/cluster/helm_double.py) that records every command line;
the tests assert those command lines exactly. The double deploys nothing, so the cluster state
a deploy would produce (controller, agent, SpiderCoordinator) is played by a small stand-in
for the controllers that reacts to what is in the API (``ControllerStandIn``).
install_method manifests is run for real against the emulator.
"""
import json
import shutil
import sys
import threading

import yaml

from cluster_helpers import ROOT, SPIDERPOOL, run_playbook

HERE = ROOT / 'tests' / 'integration' / 'cluster'
HELM_DOUBLE = HERE / 'helm-double'
REPO = 'https://spidernet-io.github.io/spiderpool'
NS = 'kube-system'


class ControllerStandIn:
    """What kube-controller-manager and spiderpool-controller do once Spiderpool's workloads exist:
    mark the controller Deployment and agent DaemonSet rolled out and the SpiderCoordinator Synced."""

    def __init__(self, kubeapi):
        self.kubeapi = kubeapi
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)

    def _status(self, path, status):
        self.kubeapi.http('PATCH', path + '/status', body={'status': status}, content_type='application/merge-patch+json')

    def run(self):
        while not self.stop.wait(0.2):
            deployment = self.kubeapi.get('apps/v1', 'Deployment', 'spiderpool-controller', NS)
            if deployment and (deployment.get('status') or {}).get('observedGeneration') != deployment['metadata'].get('generation'):
                replicas = deployment['spec'].get('replicas', 1)
                self._status('/apis/apps/v1/namespaces/%s/deployments/spiderpool-controller' % NS, {
                    'observedGeneration': deployment['metadata'].get('generation'), 'replicas': replicas,
                    'availableReplicas': replicas, 'readyReplicas': replicas, 'updatedReplicas': replicas})
            daemonset = self.kubeapi.get('apps/v1', 'DaemonSet', 'spiderpool-agent', NS)
            if daemonset and (daemonset.get('status') or {}).get('observedGeneration') != daemonset['metadata'].get('generation'):
                self._status('/apis/apps/v1/namespaces/%s/daemonsets/spiderpool-agent' % NS, {
                    'observedGeneration': daemonset['metadata'].get('generation'), 'desiredNumberScheduled': 3,
                    'currentNumberScheduled': 3, 'updatedNumberScheduled': 3, 'numberReady': 3, 'numberAvailable': 3,
                    'numberMisscheduled': 0})
            if deployment and self.kubeapi.get(SPIDERPOOL, 'SpiderCoordinator', 'default') is None:
                self.kubeapi.apply({'apiVersion': SPIDERPOOL, 'kind': 'SpiderCoordinator', 'metadata': {'name': 'default'},
                                    'spec': {'mode': 'auto', 'podCIDRType': 'auto', 'tunePodRoutes': True}})
                self._status('/apis/%s/spidercoordinators/default' % SPIDERPOOL, {'phase': 'Synced'})


def workloads(release='spiderpool'):
    """The controller Deployment and agent DaemonSet the chart would create (trimmed)."""
    template = {'metadata': {'labels': {'app': 'x'}}, 'spec': {'containers': [{'name': 'main', 'image': 'spiderpool:v1.2.2'}]}}
    notes = {'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': NS}
    deployment = {'apiVersion': 'apps/v1', 'kind': 'Deployment',
                  'metadata': {'name': release + '-controller', 'namespace': NS, 'annotations': notes},
                  'spec': {'replicas': 1, 'selector': {'matchLabels': {'app': 'x'}}, 'template': template}}
    daemonset = {'apiVersion': 'apps/v1', 'kind': 'DaemonSet',
                 'metadata': {'name': release + '-agent', 'namespace': NS, 'annotations': notes},
                 'spec': {'selector': {'matchLabels': {'app': 'x'}}, 'template': template}}
    multus = {'apiVersion': 'apps/v1', 'kind': 'DaemonSet',
              'metadata': {'name': release + '-multus', 'namespace': NS, 'annotations': notes},
              'spec': {'selector': {'matchLabels': {'app': 'x'}}, 'template': template}}
    return [deployment, daemonset, multus]


class HelmRun:
    def __init__(self, tmp_path, kubeapi):
        self.tmp_path = tmp_path
        self.kubeapi = kubeapi
        self.state = tmp_path / 'helm-state.json'
        self.log = tmp_path / 'helm-calls.jsonl'

    def __call__(self, *options, **extra_vars):
        if self.log.exists():
            self.log.unlink()
        variables = {'vmnet_kubeconfig': self.kubeapi.kubeconfig, 'vmnet_spiderpool_helm_binary': str(HELM_DOUBLE),
                     'vmnet_spiderpool_coordinator_delay': 1, 'vmnet_spiderpool_wait_timeout': 30}
        variables.update(extra_vars)
        path = self.tmp_path / 'vars.json'
        path.write_text(json.dumps(variables), encoding='utf-8')
        proc = run_playbook(['playbooks/cluster.yml', '-e', '@' + str(path)] + list(options),
                            env={'HELM_DOUBLE_STATE': str(self.state), 'HELM_DOUBLE_LOG': str(self.log),
                                 'HELM_DOUBLE_PYTHON': sys.executable})
        calls = [json.loads(line) for line in self.log.read_text(encoding='utf-8').splitlines()] if self.log.exists() else []
        return proc, calls


def recap(proc):
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('localhost')][-1]
    return dict((k, int(v)) for k, v in (part.split('=') for part in line.split(':', 1)[1].split()))


def deploys(calls):
    return [c for c in calls if 'upgrade' in c['argv'] or 'uninstall' in c['argv']]


def normalized_argv(call):
    """The argv with the values file's temporary path replaced by a marker."""
    return ['-f=<values>' if arg.startswith('-f=') else arg for arg in call['argv']]


EXPECTED_VALUES = {
    'ipam': {'enableIPv4': True, 'enableIPv6': False, 'enableKubevirtStaticIP': True},
    'multus': {'multusCNI': {'install': True, 'defaultCniCRName': ''}},
    'plugins': {'installOvsCNI': True},
}


def test_helm_install_upgrade_noop_and_uninstall(tmp_path, kubeapi):
    helm = HelmRun(tmp_path, kubeapi)
    for obj in workloads():
        kubeapi.apply(obj)
    with ControllerStandIn(kubeapi):
        proc, calls = helm(vmnet_spiderpool_chart_version='1.2.1')
        assert proc.returncode == 0, proc.stdout + proc.stderr
        install, = deploys(calls)
        # every command kubernetes.core.helm ran, in order: nothing installed yet, so no 'get values'
        assert [normalized_argv(c) for c in calls] == [
            ['version'],
            ['list', '--output=yaml', '--filter', 'spiderpool', '--deployed'],
            ['--version=1.2.1', '--repo=' + REPO, 'show', 'chart', 'spiderpool'],
            ['--version=1.2.1', '--repo=' + REPO, 'upgrade', '-i', '--reset-values', '--wait', '--timeout', '30s', '-f=<values>',
             'spiderpool', 'spiderpool'],
            ['version'],
            ['list', '--output=yaml', '--filter', 'spiderpool', '--all'],
            ['get', 'values', '--output=yaml', 'spiderpool'],
        ]
        assert install['namespace'] == NS and install['kubeconfig_set']
        assert yaml.safe_load(list(install['values'].values())[0]) == EXPECTED_VALUES

        proc, calls = helm(vmnet_spiderpool_ipv6=True)  # default chart version 1.2.2 and IPv6 on: an upgrade
        assert proc.returncode == 0, proc.stdout + proc.stderr
        upgrade, = deploys(calls)
        assert normalized_argv(upgrade) == ['--version=1.2.2', '--repo=' + REPO, 'upgrade', '-i', '--reset-values', '--wait',
                                            '--timeout', '30s', '-f=<values>', 'spiderpool', 'spiderpool']
        values = yaml.safe_load(list(upgrade['values'].values())[0])
        assert values['ipam']['enableIPv6'] is True and values['multus']['multusCNI']['install'] is True

        proc, calls = helm(vmnet_spiderpool_ipv6=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert deploys(calls) == [] and recap(proc)['changed'] == 0, proc.stdout

    kubeapi.apply({'apiVersion': SPIDERPOOL, 'kind': 'SpiderIPPool', 'metadata': {'name': 'held', 'finalizers': ['spiderpool.spidernet.io']},
                   'spec': {'subnet': '10.1.0.0/16'}})
    proc, calls = helm(vmnet_spiderpool_state='absent')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    uninstall, = deploys(calls)
    assert uninstall['argv'] == ['uninstall', '--wait', 'spiderpool']
    assert [c['argv'] for c in calls][-4:] == [['version'], ['uninstall', '--wait', 'spiderpool'], ['version'],
                                               ['list', '--output=yaml', '--filter', 'spiderpool', '--all']]
    assert 'SpiderIPPool objects still carry finalizers' in proc.stdout and 'held' in proc.stdout
    proc, calls = helm(vmnet_spiderpool_state='absent')
    assert proc.returncode == 0 and deploys(calls) == []


def test_helm_existing_multus_is_not_installed_again(tmp_path, kubeapi):
    helm = HelmRun(tmp_path, kubeapi)
    for obj in workloads()[:2]:
        kubeapi.apply(obj)
    kubeapi.apply({'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'metadata': {'name': 'kube-multus-ds', 'namespace': NS},
                   'spec': {'selector': {'matchLabels': {'app': 'multus'}},
                            'template': {'metadata': {'labels': {'app': 'multus'}},
                                         'spec': {'containers': [{'name': 'multus', 'image': 'multus:v4'}]}}}})
    kubeapi.clear_requests()
    proc, calls = helm('--check')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert deploys(calls) == [] and kubeapi.writes() == []  # check mode: helm only asked, nothing deployed or written
    assert not helm.state.exists() or json.loads(helm.state.read_text(encoding='utf-8'))['releases'] == {}
    with ControllerStandIn(kubeapi):
        proc, calls = helm(vmnet_spiderpool_default_cni_cr_name='')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    install, = deploys(calls)
    assert normalized_argv(install) == ['--version=1.2.2', '--repo=' + REPO, 'upgrade', '-i', '--reset-values', '--wait',
                                        '--timeout', '30s', '-f=<values>', 'spiderpool', 'spiderpool']
    values = yaml.safe_load(list(install['values'].values())[0])
    assert values == dict(EXPECTED_VALUES, multus={'multusCNI': {'install': False, 'defaultCniCRName': ''}})
    assert 'The cluster already runs Multus (kube-system/kube-multus-ds)' in proc.stdout


def test_manifests_are_applied_for_real_and_verified(tmp_path, kubeapi):
    manifests = tmp_path / 'rendered'
    manifests.mkdir()
    upstream = ROOT.parent / 'shared' / 'upstream' / 'spiderpool'
    if upstream.is_dir():  # helm template --include-crds puts the CRDs in front
        shutil.copy(upstream / 'spiderpool.spidernet.io_spiderippools.yaml', manifests / '00-crd-ippools.yaml')
    objects = [{'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'spiderpool-conf'},
                'data': {'conf.yml': 'enableIPv4: true\nenableIPv6: false\nenableKubevirtStaticIP: true\n'}}] + workloads()[:2]
    for obj in objects:
        obj['metadata'].pop('namespace', None)  # helm template leaves namespaced objects to -n
    (manifests / 'spiderpool.yaml').write_text(yaml.safe_dump_all(objects), encoding='utf-8')
    helm = HelmRun(tmp_path, kubeapi)
    with ControllerStandIn(kubeapi):
        proc, calls = helm(vmnet_spiderpool_install_method='manifests', vmnet_spiderpool_manifests_dir=str(manifests))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert calls == []  # no helm at all
        assert kubeapi.get('v1', 'ConfigMap', 'spiderpool-conf', NS)['data']['conf.yml'].startswith('enableIPv4: true')
        assert kubeapi.get('apps/v1', 'DaemonSet', 'spiderpool-agent', NS) is not None
        before = kubeapi.get('apps/v1', 'DaemonSet', 'spiderpool-agent', NS)
        proc, calls = helm(vmnet_spiderpool_install_method='manifests', vmnet_spiderpool_manifests_dir=str(manifests))
        assert proc.returncode == 0, proc.stdout
        after = kubeapi.get('apps/v1', 'DaemonSet', 'spiderpool-agent', NS)
        assert after['spec'] == before['spec'] and after['metadata']['generation'] == before['metadata']['generation']
        # Only kubernetes.core.k8s's own apply tasks may report a change here: the emulator currently
        # bumps resourceVersion on a no-op update (managedFields re-ordered, CRD condition times
        # re-stamped), which kubernetes.core reads as a change. Everything of the role's own is idempotent.
        changed_tasks = [line for line in proc.stdout.split('TASK [')[1:] if '\nchanged:' in line]
        assert all(t.startswith('vmnet.kubevirt.spiderpool : Apply the') for t in changed_tasks), changed_tasks
    empty = tmp_path / 'empty'
    empty.mkdir()
    proc, _calls = helm(vmnet_spiderpool_install_method='manifests', vmnet_spiderpool_manifests_dir=str(empty))
    assert proc.returncode != 0 and 'holds no Kubernetes objects' in proc.stdout


def test_coordinator_not_synced_fails_clearly(tmp_path, kubeapi):
    for obj in workloads()[:2]:
        kubeapi.apply(obj)
    with ControllerStandIn(kubeapi) as stand_in:
        # wait until the stand-in rolled the workloads out and made the coordinator, then stop it
        for _attempt in range(100):
            if kubeapi.get(SPIDERPOOL, 'SpiderCoordinator', 'default') is not None:
                break
            stand_in.stop.wait(0.1)
    kubeapi.http('PATCH', '/apis/%s/spidercoordinators/default/status' % SPIDERPOOL, body={'status': {'phase': 'NotReady'}},
                 content_type='application/merge-patch+json')
    proc, _calls = HelmRun(tmp_path, kubeapi)(vmnet_spiderpool_coordinator_retries=1)
    assert proc.returncode != 0
    assert 'TASK [vmnet.kubevirt.spiderpool : Wait for the SpiderCoordinator default to be Synced]' in proc.stdout
    assert 'FAILED - RETRYING' in proc.stdout or 'fatal: [localhost]' in proc.stdout


def test_missing_crds_fail_the_verification(tmp_path):
    from lab.kubeapi.fixtures import start_kubeapi  # pylint: disable=import-outside-toplevel
    with start_kubeapi(tmp_path / 'bare', crds='none') as api:
        proc, calls = HelmRun(tmp_path, api)(vmnet_spiderpool_wait=False)
    assert proc.returncode != 0
    assert len(deploys(calls)) == 1  # installed, then the check found nothing served
    assert ('Not served by this cluster: spiderpool.spidernet.io/v2beta1 SpiderIPPool, spiderpool.spidernet.io/v2beta1 SpiderSubnet'
            in proc.stdout), proc.stdout
    assert 'k8s.cni.cncf.io/v1 NetworkAttachmentDefinition. Are Spiderpool\'s CRDs installed?' in proc.stdout
