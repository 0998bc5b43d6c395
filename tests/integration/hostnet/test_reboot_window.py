"""A node power-cycled inside the confirmation window comes back exactly as before the change:
addresses, routes, links, OVSDB and the persistence files (ifupdown, the backend the lab's
Debian nodes run; netplan needs systemd and NetworkManager its daemon, neither runs here).

The rollback is the boot hook the module installed before its change, run by the node's boot as
Debian runs it (rcS, before networking and Open vSwitch): the lab's reboot is a power cycle,
nothing of the old boot's processes survives.
"""
import json

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_boot import JOB_ROOT, SERVICE_NAME
from tests.integration.hostnet.conftest import HOSTS_PLAYBOOK, bridge_entry, comparable, write_playbook

pytestmark = [pytest.mark.lab_hosts]

NODE = 3
PERSISTENCE_DIRS = ('/etc/network', '/etc/netplan', '/etc/NetworkManager/system-connections')


def persistence_files(node):
    """Every file of the network configuration systems, with its content."""
    listing = node.exec(['find'] + list(PERSISTENCE_DIRS) + ['-type', 'f', '-newer', '/etc/hostname'], check=False).stdout.split()
    listing += ['/etc/network/interfaces']
    return dict((path, node.exec(['cat', path]).stdout) for path in sorted(set(listing)))


def snapshot(node):
    return {'network': comparable(node.network_state()), 'files': persistence_files(node)}


def jobs(node):
    text = node.exec(['sh', '-c', 'for f in %s/*/state.json; do [ -f "$f" ] && cat "$f" && echo; done; true' % JOB_ROOT]).stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def start_unconfirmed(lab, tmp_path, entry):
    """Run ovs_bridge and never confirm: the change is applied and waits for its confirmation."""
    playbook = write_playbook(tmp_path, 'unconfirmed.yml', [
        {'name': 'Change and do not confirm', 'vmnet.kubevirt.ovs_bridge': dict(entry, confirm_timeout=600), 'register': 'moved'},
        {'name': 'Token', 'ansible.builtin.debug': {'msg': 'TOKEN={{ moved.commit.token }}'}}], hosts='node%d' % NODE)
    result = lab.run_playbook(playbook)
    assert result.rc == 0, result.stdout[-3000:]
    return result.stdout.split('TOKEN=', 1)[1].split('"', 1)[0]


def reboot_and_check(lab, node, token, expected):
    lab.reboot(NODE)
    assert snapshot(node) == expected
    record = next(state for state in jobs(node) if state['status'] in ('rolled-back', 'failed', 'committed')
                  and state.get('restored_at_boot'))
    assert record['status'] == 'rolled-back' and record['rollback_errors'] == [], record
    assert record['reason'].startswith('the node restarted inside the confirmation window (last state: waiting-confirm)')
    boot = (node.dir / 'boot.log').read_text(encoding='utf-8').rsplit('--- boot at', 1)[1]
    assert boot.index('%s start (rc=0)' % SERVICE_NAME) < boot.index('$ ifup -a') < boot.index('openvswitch-switch start')
    assert '%s: %s: rolled-back' % (SERVICE_NAME, token) in boot
    # The controller's confirmation now fails, naming why, and the node answers Ansible.
    confirm = lab.run_ansible('node%d' % NODE, 'vmnet.kubevirt.ovs_bridge_confirm', {'token': token, 'require_new_connection': False})
    assert confirm.returncode != 0 and 'the node restarted inside the confirmation window' in confirm.stdout, confirm.stdout
    assert lab.run_ansible('node%d' % NODE, 'ansible.builtin.ping').returncode == 0


def test_power_cycle_inside_the_window_of_a_new_uplink_bridge_restores_the_node(host_lab, tmp_path):
    node = host_lab.node(NODE)
    before = snapshot(node)
    token = start_unconfirmed(host_lab, tmp_path, bridge_entry())
    moved = node.network_state()
    assert moved['addresses']['br0'] == [node.mgmt_cidr] and 'br0' in moved['ovs'], 'the change is live inside the window'
    assert [state['status'] for state in jobs(node)] == ['waiting-confirm']
    reboot_and_check(host_lab, node, token, before)


def test_power_cycle_inside_the_window_of_a_change_to_a_confirmed_bridge_restores_it(host_lab, tmp_path):
    node = host_lab.node(NODE)
    original = snapshot(node)
    built = host_lab.run_playbook(HOSTS_PLAYBOOK, limit='node%d' % NODE, tags='bridges',
                                  extra_vars={'vmnet_ovs_bridge_bridges': [bridge_entry()]})
    assert built.rc == 0, built.stdout[-3000:]
    confirmed = snapshot(node)
    assert '/etc/network/interfaces.d/vmnet-br0' in confirmed['files'] and 'br0' in confirmed['network']['ovs']
    # A risky change to the uplink port (its trunks), left unconfirmed, then the power goes.
    new_trunks = {'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, 200, 4000]}
    token = start_unconfirmed(host_lab, tmp_path, bridge_entry(uplink=new_trunks))
    assert node.network_state()['ovs']['br0']['ports']['eth1']['trunks'] == [0, 200, 4000]
    reboot_and_check(host_lab, node, token, confirmed)
    # Back to the node as the lab made it (the bridge removed, the NIC's stanzas restored).
    removed = host_lab.run_playbook(HOSTS_PLAYBOOK, limit='node%d' % NODE, tags='bridges', extra_vars={
        'vmnet_ovs_bridge_bridges': [bridge_entry(state='absent', uplink={'interface': 'eth1'})]})
    assert removed.rc == 0, removed.stdout[-3000:]
    after = snapshot(node)
    assert after['network'] == original['network']
    assert after['files'] == original['files']
