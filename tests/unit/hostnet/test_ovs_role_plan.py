"""The ovs role's package and service choices per distribution, evaluated by real Ansible.

The role's own ``plan.yml`` runs on localhost with stand-in facts for each distribution; it
changes nothing (set_fact only), so RHEL and Fedora choices are checked here on Debian.
"""
import json
import os
import subprocess

import pytest

ROOT = __import__('pathlib').Path(__file__).resolve().parents[3]

CASES = {
    'debian': ({'os_family': 'Debian', 'distribution': 'Debian'}, {}, {
        'packages': ['openvswitch-switch'], 'service': 'openvswitch-switch', 'package_manager': 'apt', 'networkmanager': False}),
    'ubuntu_nm': ({'os_family': 'Debian', 'distribution': 'Ubuntu'}, {'__vmnet_ovs_nm_running': True}, {
        'packages': ['openvswitch-switch'], 'service': 'openvswitch-switch',
        'package_manager': 'apt', 'networkmanager': True}),
    'rhel_nm': ({'os_family': 'RedHat', 'distribution': 'RedHat'}, {'__vmnet_ovs_nm_running': True}, {
        'packages': ['openvswitch', 'NetworkManager-ovs'], 'service': 'openvswitch', 'package_manager': 'dnf', 'networkmanager': True}),
    'rhel_fdp': ({'os_family': 'RedHat', 'distribution': 'Rocky'}, {'vmnet_ovs_rhel_package': 'openvswitch3.3', 'vmnet_ovs_networkmanager': False}, {
        'packages': ['openvswitch3.3'], 'service': 'openvswitch', 'package_manager': 'dnf', 'networkmanager': False}),
    'fedora_no_nm': ({'os_family': 'RedHat', 'distribution': 'Fedora'}, {}, {
        'packages': ['openvswitch'], 'service': 'openvswitch', 'package_manager': 'dnf', 'networkmanager': False}),
    'fedora_forced_nm': ({'os_family': 'RedHat', 'distribution': 'Fedora'},
                         {'vmnet_ovs_networkmanager': True, 'vmnet_ovs_extra_packages': ['tcpdump']}, {
        'packages': ['openvswitch', 'NetworkManager-ovs', 'tcpdump'], 'service': 'openvswitch', 'package_manager': 'dnf',
        'networkmanager': True}),
}


@pytest.fixture(scope='module')
def plans(tmp_path_factory):
    tasks = []
    for name, (facts, variables, _expected) in CASES.items():
        tasks.append({'name': name, 'ansible.builtin.include_role': {'name': 'vmnet.kubevirt.ovs', 'tasks_from': 'plan.yml'},
                      'vars': dict(variables, __vmnet_ovs_fact_override=facts)})
        tasks.append({'name': 'show ' + name, 'ansible.builtin.debug': {'msg': 'PLAN %s {{ __vmnet_ovs_plan | to_json }}' % name}})
    tasks.append({'name': 'unknown family', 'ansible.builtin.include_role': {'name': 'vmnet.kubevirt.ovs', 'tasks_from': 'plan.yml'},
                  'vars': {'__vmnet_ovs_fact_override': {'os_family': 'Gentoo', 'distribution': 'Gentoo'}}})
    playbook = tmp_path_factory.mktemp('ovs-plan') / 'plan.yml'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'connection': 'local', 'tasks': tasks}]))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_NOCOLOR='1',
               ANSIBLE_HOME=str(playbook.parent / 'home'), ANSIBLE_LOCAL_TEMP=str(playbook.parent / 'tmp'))
    proc = subprocess.run([str(ROOT / '.venv' / 'bin' / 'ansible-playbook'), '-i', 'localhost,', str(playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                          timeout=300) if (ROOT / '.venv' / 'bin' / 'ansible-playbook').exists() else None
    if proc is None:
        pytest.skip('no .venv/bin/ansible-playbook (run scripts/setup)')
    found = {}
    for line in proc.stdout.splitlines():
        if '"msg": "PLAN ' in line:
            _prefix, name, payload = line.split('"msg": "', 1)[1].rstrip('"').split(' ', 2)
            found[name] = json.loads(payload.replace('\\"', '"'))
    return found, proc


@pytest.mark.parametrize('case', sorted(CASES))
def test_package_and_service_choice(plans, case):
    found, proc = plans
    assert case in found, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert found[case] == CASES[case][2]


def test_unknown_family_fails_with_the_supported_list(plans):
    _found, proc = plans
    assert proc.returncode != 0
    assert 'os_family Gentoo (Gentoo) is not supported; supported families: Debian, RedHat, Fedora, Suse' in proc.stdout
