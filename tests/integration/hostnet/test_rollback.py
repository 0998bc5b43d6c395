"""Commit-confirm and refusals on the shared 3-node lab: every test leaves the nodes as it found them.

* a failing probe rolls node1 back to the exact previous state and stops the rolling rollout;
* a controller that never confirms: the node restores itself after confirm_timeout;
* confirming over the same SSH connection is refused (the node then rolls back by itself);
* at least 20 bad inputs fail with a clear message and touch nothing.
"""
import json

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_boot import JOB_ROOT
from tests.integration.hostnet.conftest import HOSTS_PLAYBOOK, bridge_entry, comparable, wait_for, write_playbook

pytestmark = [pytest.mark.lab_hosts]


def states(lab):
    return [comparable(node.network_state()) for node in lab.nodes]


def job_tokens(node):
    return set(node.exec(['sh', '-c', 'ls %s 2>/dev/null || true' % JOB_ROOT]).stdout.split())


def agent_statuses(node, since=()):
    """States of the jobs not in ``since`` (job directories stay on the node's disk)."""
    statuses = []
    for token in sorted(job_tokens(node) - set(since)):
        text = node.exec(['cat', '%s/%s/state.json' % (JOB_ROOT, token)], check=False).stdout
        if text.strip():
            statuses.append(json.loads(text)['status'])
    return statuses


def test_failing_probe_rolls_back_and_stops_the_rollout(host_lab):
    before = states(host_lab)
    entry = bridge_entry(probes={'ping': ['10.10.0.99'], 'timeout': 2})
    result = host_lab.run_playbook(HOSTS_PLAYBOOK, extra_vars={'vmnet_ovs_bridge_bridges': [entry]}, tags='bridges')
    assert result.rc != 0
    assert 'the node restored its previous state (probe failed: ping 10.10.0.99)' in result.stdout
    # The rollout stops at node1: the bridge task never runs on node2 or node3 (their recap
    # only counts the role argument checks of the install play).
    bridges_play = result.stdout[result.stdout.index('PLAY [OVS bridges, rolling]'):]
    assert '[node2]' not in bridges_play and '[node3]' not in bridges_play, bridges_play[-3000:]
    assert states(host_lab) == before
    assert host_lab.run_ansible('node1', 'ansible.builtin.ping').returncode == 0


def test_gateway_probe_fails_when_the_gateway_is_down(host_lab):
    before = states(host_lab)
    host_lab.gateway_down()
    try:
        result = host_lab.run_playbook(HOSTS_PLAYBOOK, limit='node2', tags='bridges',
                                       extra_vars={'vmnet_ovs_bridge_bridges': [bridge_entry(probes={'timeout': 2})]})
    finally:
        host_lab.gateway_up()
    assert result.rc != 0
    assert 'probe failed: gateway 10.10.0.1' in result.stdout
    assert states(host_lab) == before


def test_no_confirmation_restores_the_exact_previous_state(host_lab, tmp_path):
    node = host_lab.node(3)
    before = comparable(node.network_state())
    earlier_jobs = job_tokens(node)
    playbook = write_playbook(tmp_path, 'move-without-confirm.yml', [{
        'name': 'Move eth1 and never confirm',
        # Long enough for the checks below on a loaded machine; the wait below is bounded.
        'vmnet.kubevirt.ovs_bridge': dict(bridge_entry(), confirm_timeout=15),
        'register': 'moved'}, {
        'name': 'Show',
        'ansible.builtin.debug': {'var': 'moved.commit'}}], hosts='node3')
    result = host_lab.run_playbook(playbook)
    assert result.rc == 0, result.stdout[-3000:]
    assert "'status': 'waiting-confirm'" in result.stdout or '"status": "waiting-confirm"' in result.stdout
    moved = node.network_state()
    assert moved['addresses']['br0'] == [node.mgmt_cidr], 'the move happened before the window closed'
    assert agent_statuses(node, earlier_jobs) == ['waiting-confirm']
    wait_for(lambda: 'rolled-back' in agent_statuses(node, earlier_jobs), timeout=60)
    assert comparable(node.network_state()) == before
    assert host_lab.run_ansible('node3', 'ansible.builtin.ping').returncode == 0


def test_confirming_over_the_same_connection_is_refused(host_lab, tmp_path):
    node = host_lab.node(3)
    before = comparable(node.network_state())
    playbook = write_playbook(tmp_path, 'same-connection.yml', [{
        'name': 'Move eth1',
        'vmnet.kubevirt.ovs_bridge': dict(bridge_entry(), confirm_timeout=15),
        'register': 'moved'}, {
        'name': 'Confirm without reconnecting',
        'vmnet.kubevirt.ovs_bridge_confirm': {'token': '{{ moved.commit.token }}'}}], hosts='node3')
    result = host_lab.run_playbook(playbook)
    assert result.rc != 0
    assert 'require_new_connection: this is the SSH connection that started the change' in result.stdout
    wait_for(lambda: comparable(node.network_state()) == before, timeout=30)


BAD_ENTRIES = [
    ({'name': 'br0/x'}, 'name: "br0/x" is not a valid interface name'),
    ({'name': 'this-name-is-too-long'}, 'name: "this-name-is-too-long" is not a valid interface name'),
    ({'name': 'eth1'}, "name: 'eth1' is already a network interface"),
    ({'uplink': {'interface': 'eth9', 'allow_default_route': True}}, "uplink.interface: 'eth9' does not exist on this host"),
    ({'uplink': {'interface': 'eth1'}}, "uplink.interface: 'eth1' carries the default route (via 10.10.0.1)"),
    ({'uplink': {'interface': 'eth1', 'allow_default_route': True, 'trunks': [100, 200]}}, 'would drop the untagged management traffic'),
    ({'uplink': {'interface': 'eth1', 'allow_default_route': True, 'tag': 7, 'vlan_mode': 'native-untagged'}},
     'would drop the untagged management traffic'),
    ({'uplink': {'interface': 'eth1', 'migrate_ip': False}}, 'uplink.migrate_ip: False would strand the addresses'),
    ({'uplink': {'interface': 'eth1', 'allow_default_route': True, 'trunks': [4095]}}, 'uplink.trunks[0]: 4095 must be a VLAN id'),
    ({'uplink': {'interface': 'eth1', 'allow_default_route': True, 'trunks': ['300-200']}}, '"300-200" is a range whose first VLAN'),
    ({'uplink': {'interface': 'eth1', 'allow_default_route': True, 'trunks': ['ten']}}, 'uplink.trunks[0]: "ten" must be a VLAN id'),
    ({'uplink': {'interface': 'eth1', 'allow_default_route': True, 'vlan_mode': 'access'}}, 'uplink.vlan_mode: "access" needs a tag'),
    ({'ports': [{'name': 'vm1', 'type': 'internal', 'tag': 0}]}, 'ports[0].tag: 0 must be a VLAN id from 1 to 4094'),
    ({'ports': [{'name': 'vm1', 'type': 'internal', 'tag': 5000}]}, 'ports[0].tag: 5000 must be a VLAN id from 1 to 4094'),
    ({'ports': [{'name': 'vm1', 'type': 'patch'}]}, 'ports[0].peer: null is required for a patch port'),
    ({'ports': [{'name': 'ghost0'}]}, "ports[0].name: 'ghost0' does not exist on this host"),
    ({'ports': [{'name': 'vm1', 'type': 'internal'}, {'name': 'vm1', 'type': 'internal'}]}, 'ports[1].name: "vm1" is already used'),
    ({'probes': {'ping': ['10.10.0.300']}}, 'probes.ping[0]: "10.10.0.300" is not an IPv4 or IPv6 address'),
    ({'probes': {'api_server': 'https://api.example:99999'}}, 'probes.api_server: "https://api.example:99999" must be'),
    ({'probes': {'ping': ['10.10.0.0/24']}}, 'probes.ping[0]: "10.10.0.0/24" is not an IPv4 or IPv6 address'),
    ({'confirm_timeout': 7200}, 'confirm_timeout: 7200 must be a number of seconds'),
    ({'external_ids': {'bad key!': 'x'}}, 'external_ids key: "bad key!" must be'),
    ({'uplink': {'bond': {'name': 'bond0', 'interfaces': ['eth1']}}}, 'uplink.bond.interfaces: ["eth1"] must list at least two'),
    # Injection through persisted values, and host inputs the node cannot take (issue 13).
    ({'other_config': {'hwaddr': '00:16:3e:10:00:02$(touch /var/tmp/vmnet-owned)'}, 'uplink': {'interface': 'eth1', 'allow_default_route': True}},
     'other_config.hwaddr: "00:16:3e:10:00:02$(touch /var/tmp/vmnet-owned)" is not a MAC address'),
    ({'other_config': {'hwaddr': 'not-a-mac'}}, 'other_config.hwaddr: "not-a-mac" is not a MAC address'),
    ({'external_ids': {'owner': 'ops;touch /var/tmp/vmnet-owned'}}, 'external_ids.owner: "ops;touch /var/tmp/vmnet-owned" must be 1-256 characters'),
    ({'name': 'br$(id)'}, 'name: "br$(id)" is not a valid interface name'),
    ({'uplink': {'interface': 'eth1', 'allow_default_route': True, 'trunks': ['0;reboot']}}, 'uplink.trunks[0]: "0;reboot" must be a VLAN id'),
    ({'ports': [{'name': 'vm1', 'type': 'internal', 'other_config': {'stp-port-num': 0}}]},
     'ports[0].other_config.stp-port-num: 0 must be an integer from 1 to 255'),
    ({'ports': [{'name': 'eth1'}]}, "ports[0].name: 'eth1' carries the addresses 10.10.0.12/24 and the routes default via 10.10.0.1"),
    ({'uplink': {'interface': 'eth1', 'allow_default_route': True}, 'persist': 'netplan'},
     'persist: netplan cannot be used on this node: it lacks the netplan command, the /etc/netplan directory'),
    ({'uplink': {'interface': 'eth1', 'allow_default_route': True}, 'persist': 'networkmanager'},
     'persist: networkmanager cannot be used on this node: it lacks nmcli, a running NetworkManager'),
]


def test_bad_inputs_fail_clearly_and_leave_the_node_untouched(host_lab, tmp_path):
    assert len(BAD_ENTRIES) >= 20
    node = host_lab.node(2)
    before = node.network_state()
    base = {'name': 'br0', 'datapath_type': 'netdev'}
    tasks = [{'name': 'bad input %d' % index, 'vmnet.kubevirt.ovs_bridge': dict(base, **entry), 'ignore_errors': True,
              'register': 'bad%d' % index} for index, (entry, _message) in enumerate(BAD_ENTRIES)]
    tasks.append({'name': 'Messages', 'ansible.builtin.debug': {
        'msg': '{{ [%s] | to_json }}' % ', '.join('bad%d.msg | default("NO FAILURE")' % index for index in range(len(BAD_ENTRIES)))}})
    result = host_lab.run_playbook(write_playbook(tmp_path, 'bad-inputs.yml', tasks, hosts='node2'))
    assert result.recap['node2']['failed'] == 0 and result.recap['node2']['ignored'] == len(BAD_ENTRIES), result.recap
    assert result.recap['node2']['changed'] == 0
    for entry, message in BAD_ENTRIES:
        assert json.dumps(message)[1:-1] in result.stdout, (entry, message)  # as the failure's JSON shows it
    assert node.network_state() == before
    assert node.exec(['test', '-e', '/var/tmp/vmnet-owned'], check=False).returncode == 1
    assert node.exec(['ls', '/etc/network/interfaces.d']).stdout.strip() == ''


def test_removal_moves_the_ip_back_and_a_failed_removal_keeps_the_bridge(host_lab, tmp_path):
    node = host_lab.node(1)
    original = comparable(node.network_state())
    original_interfaces = node.exec(['cat', '/etc/network/interfaces']).stdout
    built = host_lab.run_playbook(HOSTS_PLAYBOOK, limit='node1', tags='bridges',
                                  extra_vars={'vmnet_ovs_bridge_bridges': [bridge_entry()]})
    assert built.rc == 0, built.stdout[-3000:]
    bridged = comparable(node.network_state())
    assert bridged['addresses']['br0'] == [node.mgmt_cidr]

    def removal(**extra):
        return bridge_entry(state='absent', uplink={'interface': 'eth1'}, **extra)

    refused = host_lab.run_playbook(HOSTS_PLAYBOOK, limit='node1', tags='bridges', extra_vars={
        'vmnet_ovs_bridge_bridges': [bridge_entry(state='absent', uplink=None)]})
    assert refused.rc != 0 and "state: absent would drop the addresses %s of bridge 'br0'" % node.mgmt_cidr in refused.stdout
    failed = host_lab.run_playbook(HOSTS_PLAYBOOK, limit='node1', tags='bridges', extra_vars={
        'vmnet_ovs_bridge_bridges': [removal(probes={'ping': ['10.10.0.99'], 'timeout': 2})]})
    assert failed.rc != 0 and 'probe failed: ping 10.10.0.99' in failed.stdout
    assert comparable(node.network_state()) == bridged, 'a failed removal restores the bridge exactly'
    removed = host_lab.run_playbook(HOSTS_PLAYBOOK, limit='node1', tags='bridges',
                                    extra_vars={'vmnet_ovs_bridge_bridges': [removal()]})
    assert removed.rc == 0, removed.stdout[-3000:]
    assert comparable(node.network_state()) == original
    assert node.exec(['cat', '/etc/network/interfaces']).stdout == original_interfaces
    assert node.exec(['ls', '/etc/network/interfaces.d']).stdout.strip() == ''


def test_a_bridge_made_by_openvswitch_openvswitch_is_adopted_without_churn(host_lab, tmp_path):
    node = host_lab.node(2)
    before = comparable(node.network_state())
    spec = {'name': 'bradopt', 'datapath_type': 'netdev', 'fail_mode': 'secure', 'external_ids': {'owner': 'ops'},
            'ports': [{'name': 'vmp1', 'type': 'internal', 'tag': 100}], 'persist': 'none'}
    playbook = write_playbook(tmp_path, 'adopt.yml', [
        {'name': 'Bridge made by openvswitch.openvswitch',
         'openvswitch.openvswitch.openvswitch_bridge': {'bridge': 'bradopt', 'fail_mode': 'secure',
                                                        'external_ids': {'owner': 'ops'},
                                                        'set': 'bridge bradopt datapath_type=netdev'}},
        {'name': 'Port made by openvswitch.openvswitch',
         'openvswitch.openvswitch.openvswitch_port': {'bridge': 'bradopt', 'port': 'vmp1', 'tag': 100,
                                                      'set': 'Interface vmp1 type=internal'}},
        {'name': 'Same state through vmnet.kubevirt.ovs_bridge', 'vmnet.kubevirt.ovs_bridge': spec, 'register': 'adopted'},
        {'name': 'Adoption must not change anything', 'ansible.builtin.assert': {
            'that': ['not adopted.changed', 'adopted.commands == []']}},
        {'name': 'Clean up', 'vmnet.kubevirt.ovs_bridge': {'name': 'bradopt', 'state': 'absent'}},
    ], hosts='node2')
    result = host_lab.run_playbook(playbook)
    assert result.rc == 0, result.stdout[-3000:]
    assert result.recap['node2']['changed'] == 3, result.recap
    assert comparable(node.network_state()) == before


def test_bond_uplink_on_a_real_vswitchd(host_lab, tmp_path):
    node = host_lab.node(2)
    before = comparable(node.network_state())
    for member in ('bnda', 'bndb'):
        node.exec(['ip', 'link', 'add', member, 'type', 'veth', 'peer', 'name', member + '-p'])
        node.exec(['ip', 'link', 'set', member, 'up'])
    try:
        bond = {'name': 'brbond', 'datapath_type': 'netdev', 'persist': 'none',
                'uplink': {'bond': {'name': 'bond0', 'interfaces': ['bnda', 'bndb'], 'mode': 'balance-slb'},
                           'trunks': [10, 20]}}
        playbook = write_playbook(tmp_path, 'bond.yml', [
            {'name': 'Bond uplink', 'vmnet.kubevirt.ovs_bridge': bond, 'register': 'first'},
            {'name': 'Same again', 'vmnet.kubevirt.ovs_bridge': bond, 'register': 'second'},
            {'name': 'Other bond mode', 'vmnet.kubevirt.ovs_bridge': dict(bond, uplink=dict(
                bond['uplink'], bond={'name': 'bond0', 'interfaces': ['bnda', 'bndb'], 'mode': 'active-backup'})),
             'register': 'third'},
            {'name': 'Bond as vswitchd runs it', 'ansible.builtin.command': {'argv': ['ovs-appctl', 'bond/show', 'bond0']},
             'register': 'shown', 'changed_when': False},
            {'name': 'Check', 'ansible.builtin.assert': {'that': [
                'first.changed', 'not second.changed', 'third.changed',
                "'bond_mode: active-backup' in shown.stdout", "'member bnda' in shown.stdout", "'member bndb' in shown.stdout",
                "first.bridge.ports.bond0.trunks == [10, 20]"]}},
            {'name': 'Remove', 'vmnet.kubevirt.ovs_bridge': {'name': 'brbond', 'state': 'absent'}},
        ], hosts='node2')
        result = host_lab.run_playbook(playbook)
        assert result.rc == 0, result.stdout[-3000:]
    finally:
        for member in ('bnda', 'bndb'):
            node.exec(['ip', 'link', 'delete', member], check=False)
    assert comparable(node.network_state()) == before


def test_ovs_role_rerun_needs_no_package_mirror(host_lab):
    # The shared lab's nodes have Open vSwitch installed and no reachable mirror: a re-run must
    # not wait for apt-get update (it used to, for as long as apt's own timeouts).
    result = host_lab.run_playbook(HOSTS_PLAYBOOK, tags='ovs', timeout=240,
                                   extra_vars={'vmnet_ovs_bridge_bridges': []})
    assert result.rc == 0, result.stdout[-3000:]
    assert {host: counts['changed'] for host, counts in result.recap.items()} == {'node1': 0, 'node2': 0, 'node3': 0}
    assert all(counts['rescued'] == 0 for counts in result.recap.values()), 'no apt cache refresh was needed'
