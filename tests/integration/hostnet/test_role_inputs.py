"""Inventory typos in the host roles' inputs are refused, naming the entry and the key, before any
node is touched; the bridge role hands each entry to the module whole, so even with its own
argument check skipped a misspelt key cannot vanish."""
import json

import pytest

from lab.demo import task_outcomes
from tests.integration.hostnet.conftest import HOSTS_PLAYBOOK, bridge_entry, comparable, write_playbook

pytestmark = [pytest.mark.lab_hosts]

READ = 'Read what the node has of Open vSwitch and what it lacks'


def states(lab):
    return [comparable(node.network_state()) for node in lab.nodes]


def touched_nothing(lab, result, before):
    """No task past the input checks ran on any node, and every node is as it was."""
    ran = [task for _play, task, _statuses in task_outcomes(result.stdout.splitlines())]
    assert not [task for task in ran if READ in task or 'Reconcile each bridge' in task], ran
    assert states(lab) == before


@pytest.mark.parametrize('bridges, message', [
    # The reported case: uplnk for uplink built a bridge without its uplink.
    ([dict(bridge_entry(), uplink=None, uplnk={'interface': 'eth1', 'allow_default_route': True})],
     'vmnet_ovs_bridge_bridges[0] (br0): unknown key uplnk. Supported parameters include: confirm_timeout'),
    ([{'name': 'br9', 'persist': 'none'}, bridge_entry(uplink={'interface': 'eth1', 'allow_default_route': True, 'trunkz': [0]})],
     'vmnet_ovs_bridge_bridges[1] (br0): unknown key uplink.trunkz. Supported parameters include: allow_default_route'),
    ([bridge_entry(ports=[{'name': 'vm1', 'type': 'internal', 'tagg': 10}], probes={'timeout': 5, 'pnig': ['10.10.0.1']})],
     'unknown key ports.tagg, probes.pnig'),
    ('br0', 'vmnet_ovs_bridge_bridges: \\"br0\\" must be a list of bridge entries (mappings with name, uplink, ports, ...), not a str'),
    ({'name': 'br0'}, 'vmnet_ovs_bridge_bridges: {\\"name\\": \\"br0\\"} must be a list of bridge entries'),
    (['br0'], 'these entries are not mappings: [\\"br0\\"]'),
])
def test_hosts_yml_refuses_a_bad_entry_before_any_node_is_touched(host_lab, bridges, message):
    before = states(host_lab)
    result = host_lab.run_playbook(HOSTS_PLAYBOOK, extra_vars={'vmnet_ovs_bridge_bridges': bridges})
    assert result.rc != 0
    assert message in result.stdout, result.stdout[-3000:]
    touched_nothing(host_lab, result, before)


def test_the_role_hands_each_entry_whole_to_the_module(host_lab, tmp_path):
    # The role's own argument check is skipped (as hosts.yml's rolling play does after its first
    # play checked everything): the module's argument spec still refuses the misspelt key.
    node = host_lab.node(2)
    before = comparable(node.network_state())
    entry = dict(bridge_entry(), uplink=None, uplnk={'interface': 'eth1', 'allow_default_route': True})
    playbook = tmp_path / 'role-unchecked.yml'
    playbook.write_text(json.dumps([{'hosts': 'node2', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.import_role': {'name': 'vmnet.kubevirt.ovs_bridge', 'rolespec_validate': False},
         'vars': {'vmnet_ovs_bridge_bridges': [entry]}}]}]))
    result = host_lab.run_playbook(playbook)
    assert result.rc != 0
    assert 'Unsupported parameters for (vmnet.kubevirt.ovs_bridge) module: uplnk' in result.stdout, result.stdout[-3000:]
    assert "(item=br0)" in result.stdout, 'the failure names the entry'
    assert comparable(node.network_state()) == before


def test_the_role_used_on_its_own_checks_nested_keys(host_lab, tmp_path):
    node = host_lab.node(2)
    before = comparable(node.network_state())
    entry = bridge_entry(uplink={'interface': 'eth1', 'allow_default_route': True, 'bond': {'name': 'b0', 'interfacs': ['a', 'b']}})
    playbook = write_playbook(tmp_path, 'role-checked.yml', [
        {'ansible.builtin.include_role': {'name': 'vmnet.kubevirt.ovs_bridge'}, 'vars': {'vmnet_ovs_bridge_bridges': [entry]}}],
        hosts='node2')
    result = host_lab.run_playbook(playbook)
    assert result.rc != 0
    assert 'vmnet_ovs_bridge_bridges.uplink.bond.interfacs' in result.stdout, result.stdout[-3000:]
    assert comparable(node.network_state()) == before


@pytest.mark.parametrize('entry, message', [
    (bridge_entry(persist='netplan'), 'persist: netplan cannot be used on this node: it lacks the netplan command'),
    (bridge_entry(uplink=None, ports=[{'name': 'eth1'}]), "ports[0].name: 'eth1' carries the addresses"),
])
def test_hosts_yml_refuses_what_the_node_cannot_take_before_installing_anything(host_lab, entry, message):
    before = states(host_lab)
    result = host_lab.run_playbook(HOSTS_PLAYBOOK, extra_vars={'vmnet_ovs_bridge_bridges': [entry]})
    assert result.rc != 0
    assert message in result.stdout, result.stdout[-3000:]
    seen = dict((task, statuses) for _play, task, statuses in task_outcomes(result.stdout.splitlines()))
    assert seen['Preflight each bridge on each node, changing nothing'] == dict.fromkeys(('node1', 'node2', 'node3'), 'failed')
    touched_nothing(host_lab, result, before)
