"""Run vm_network / vm_network_info through real ansible-playbook against the API emulator."""
import json
import os
import pathlib
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK = ROOT / '.venv' / 'bin' / 'ansible-playbook'
SPIDER = 'spiderpool.spidernet.io/v2beta1'


def run_tasks(tmp_path, tasks, env=None, check=False, diff=False, name='play', with_stderr=False):
    """Run ``tasks`` (module name -> args dicts, each registered) in one playbook; return their results and
    what ansible-playbook printed on stdout (followed by its stderr, where warnings go, ``with_stderr``)."""
    play_tasks = []
    for index, (module, args) in enumerate(tasks):
        play_tasks.append({'name': 'task %d' % index, module: args, 'register': 'r%d' % index, 'ignore_errors': True})
    results = '{%s}' % ', '.join("'r%d': r%d" % (i, i) for i in range(len(tasks)))
    out = tmp_path / ('%s-results.json' % name)
    save = {'content': '{{ %s | to_json }}' % results, 'dest': str(out)}
    play_tasks.append({'name': 'save results', 'ansible.builtin.copy': save, 'check_mode': False, 'diff': False})
    playbook = tmp_path / ('%s.yml' % name)
    playbook.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': play_tasks}], sort_keys=False))
    argv = [str(PLAYBOOK), str(playbook), '-i', 'localhost,', '-c', 'local']
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    run_env = dict(env if env is not None else os.environ)
    run_env.setdefault('ANSIBLE_PYTHON_INTERPRETER', str(ROOT / '.venv' / 'bin' / 'python'))
    proc = subprocess.run(argv, cwd=str(ROOT), env=run_env, capture_output=True, text=True, timeout=600, check=False)
    assert out.exists(), proc.stdout[-4000:] + proc.stderr[-4000:]
    data = json.loads(out.read_text())
    return [data['r%d' % i] for i in range(len(tasks))], proc.stdout + (proc.stderr if with_stderr else '')


def namespace(name, labels=None):
    return {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': name, 'labels': labels or {}}}


def smc(name, bridge='br1', vlan=0, v4=None, ns='kube-system'):
    ovs = {'bridge': bridge, 'vlan': vlan}
    if v4:
        ovs['ippools'] = {'ipv4': v4}
    return {'apiVersion': SPIDER, 'kind': 'SpiderMultusConfig', 'metadata': {'name': name, 'namespace': ns},
            'spec': {'cniType': 'ovs', 'ovs': ovs}}


def ippool(name, subnet, ips, **spec):
    body = {'subnet': subnet, 'ips': ips}
    body.update(spec)
    return {'apiVersion': SPIDER, 'kind': 'SpiderIPPool', 'metadata': {'name': name}, 'spec': body}


def kubevirt_cr(kubeapi, version='v1.9.0', methods=('LiveMigrate',)):
    """The cluster's KubeVirt CR as virt-operator keeps it: the workload update methods, the version it runs."""
    kubeapi.apply({'apiVersion': 'kubevirt.io/v1', 'kind': 'KubeVirt', 'metadata': {'name': 'kubevirt', 'namespace': 'kubevirt'},
                   'spec': {'workloadUpdateStrategy': {'workloadUpdateMethods': list(methods)}}})
    kubeapi.http('PATCH', '/apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts/kubevirt/status',
                 {'status': {'observedKubeVirtVersion': version, 'phase': 'Deployed'}}, content_type='application/merge-patch+json')


def bridge_world(kubeapi, size=50):
    """Namespace vms, SMCs ovs-vlan30 (default pool v30) and ovs-vlan40, pools v30 and v40."""
    kubeapi.simulate('spidermultusconfig-nad')
    kubeapi.apply(namespace('vms', {'team': 'a'}))
    kubeapi.apply(smc('ovs-vlan30', vlan=30, v4=['v30']))
    kubeapi.apply(smc('ovs-vlan40', vlan=40))
    kubeapi.apply(ippool('v30', '10.30.0.0/16', ['10.30.1.1-10.30.1.%d' % size], gateway='10.30.0.1'))
    kubeapi.apply(ippool('v40', '10.40.0.0/16', ['10.40.1.1-10.40.1.%d' % size], gateway='10.40.0.1'))
    kubeapi.clear_requests()
