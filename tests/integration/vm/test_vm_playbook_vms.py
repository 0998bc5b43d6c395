"""playbooks/vms.yml: VMs from inventory variables, through real ansible-playbook on the emulator."""
import json
import os
import subprocess

from vm_playbook import PLAYBOOK, ROOT, bridge_world


def run_vms_playbook(tmp_path, kubeapi, extra, check=False, inventory=None):
    extra_file = tmp_path / 'extra.json'
    extra_file.write_text(json.dumps(dict(extra, vmnet_kubeconfig=kubeapi.kubeconfig if kubeapi else None)))
    argv = [str(PLAYBOOK), str(ROOT / 'playbooks' / 'vms.yml'), '-i', inventory or 'localhost,', '-e', '@' + str(extra_file)]
    if check:
        argv += ['--check', '--diff']
    env = dict(kubeapi.env() if kubeapi else os.environ)
    env['ANSIBLE_PYTHON_INTERPRETER'] = str(ROOT / '.venv' / 'bin' / 'python')
    proc = subprocess.run(argv, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


VMS = [
    {'name': 'web', 'network_mode': 'masquerade', 'ports': [{'port': 22}], 'live_migration': 'required'},
    {'name': 'db', 'namespace': 'data', 'network_mode': 'bridge', 'nics': [{'name': 'vlan30', 'multus_cr': 'kube-system/ovs-vlan30'}]},
    {'name': 'app', 'network_mode': 'bridge', 'nics': [
        {'name': 'front', 'multus_cr': 'kube-system/ovs-vlan30', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['v30']}},
        {'name': 'back', 'multus_cr': 'kube-system/ovs-vlan40', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['v40']}}]},
]


def test_vms_playbook_check_then_apply_then_idempotent(kubeapi, tmp_path):
    bridge_world(kubeapi)
    extra = {'vmnet_vms': VMS, 'vmnet_vm_namespace': 'apps', 'vmnet_vm_defaults': {'memory': '2Gi'}}
    code, out = run_vms_playbook(tmp_path, kubeapi, extra, check=True)
    assert code == 0, out[-3000:]
    assert 'apps/app: created' in out and 'data/db: created' in out
    assert [w for w in kubeapi.writes() if w.get('field_manager') != 'lab-fixture'] == []

    code, out = run_vms_playbook(tmp_path, kubeapi, extra)
    assert code == 0, out[-3000:]
    for namespace, name in (('apps', 'web'), ('data', 'db'), ('apps', 'app')):
        vm = kubeapi.get('kubevirt.io/v1', 'VirtualMachine', name, namespace)
        assert vm is not None, (namespace, name)
        assert vm['spec']['template']['spec']['domain']['memory'] == {'guest': '2Gi'}
    assert 'apps/web: created' in out and 'live migration yes' in out

    code, out = run_vms_playbook(tmp_path, kubeapi, extra)
    assert code == 0 and 'changed=0' in out, out[-3000:]
    assert 'apps/app: unchanged' in out


def test_sample_inventory_renders():
    code, out = run_vms_playbook_sample()
    assert code == 0, out[-3000:]
    for name in ('vm-masq', 'vm-bridge-default', 'vm-bridge-pools'):
        assert 'vms/%s: rendered' % name in out


def run_vms_playbook_sample():
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('K8S_AUTH', 'KUBECONFIG')))
    env['ANSIBLE_PYTHON_INTERPRETER'] = str(ROOT / '.venv' / 'bin' / 'python')
    argv = [str(PLAYBOOK), str(ROOT / 'playbooks' / 'vms.yml'), '-i', str(ROOT / 'inventory' / 'sample'), '-e', 'vmnet_vm_render_only=true']
    proc = subprocess.run(argv, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_a_misspelt_default_fails_before_anything_is_written(kubeapi, tmp_path):
    """vms.yml used to copy vmnet_vm_defaults key by key: memroy (for memory) vanished and the VMs got 1Gi."""
    bridge_world(kubeapi)
    extra = {'vmnet_vms': VMS, 'vmnet_vm_namespace': 'apps', 'vmnet_vm_defaults': {'memroy': '2Gi'}}
    code, out = run_vms_playbook(tmp_path, kubeapi, extra)
    assert code != 0
    assert 'defaults: unknown option memroy (did you mean memory?)' in out, out[-3000:]
    assert [w for w in kubeapi.writes() if w.get('field_manager') != 'lab-fixture'] == []  # not even the namespaces
    assert kubeapi.get('v1', 'Namespace', 'apps') is None
    code, out = run_vms_playbook(tmp_path, kubeapi, dict(extra, vmnet_vm_defaults=['memory']))
    assert code != 0 and 'vmnet_vm_defaults a mapping of the same options, got ["memory"]' in out
