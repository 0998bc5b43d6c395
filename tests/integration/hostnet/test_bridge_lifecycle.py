"""Fresh nodes to bridged nodes: install OVS, move eth1's IP under the play's own SSH, re-run,
check mode, reboot persistence, fabric check (healthy and with a cut uplink)."""
import json

import pytest

from tests.integration.hostnet.conftest import HOSTS_PLAYBOOK, bridge_entry, write_playbook

pytestmark = [pytest.mark.lab_hosts, pytest.mark.slow]


def recap_changed(result):
    return {host: counts['changed'] for host, counts in result.recap.items()}


@pytest.fixture(scope='module')
def fresh_lab():
    from lab.hosts.fixtures import skip_unless_lab_possible  # pylint: disable=import-outside-toplevel
    skip_unless_lab_possible()
    from lab.hosts.lab import host_lab  # pylint: disable=import-outside-toplevel
    with host_lab(3, with_ovs=False) as lab:
        yield lab


@pytest.fixture(scope='module')
def first_look(fresh_lab):
    """What fresh nodes report, and the ovs role in check mode, before anything is installed."""
    read = fresh_lab.run_ansible('node1', 'vmnet.kubevirt.ovs_host_info')
    assert read.returncode == 0, read.stdout
    # "Look first": the whole of hosts.yml in check mode on nodes that have no Open vSwitch yet.
    check = fresh_lab.run_playbook(HOSTS_PLAYBOOK, check=True, diff=True, extra_vars={'vmnet_ovs_bridge_bridges': [bridge_entry()]})
    installed = [node.exec(['dpkg-query', '-W', '-f=${Status}', 'openvswitch-switch'], check=False).stdout for node in fresh_lab.nodes]
    return json.loads(read.stdout.split('=>', 1)[1]), check, installed


def test_fresh_nodes_report_no_open_vswitch_and_check_mode_changes_nothing(first_look):
    read, check, installed = first_look
    assert read['packages'] == {'openvswitch-switch': None}
    assert read['ovs']['running'] is False and read['ovs']['version'] is None
    assert read['todo'] == {'missing': ['openvswitch-switch'], 'start': True, 'needed': True}
    assert check.rc == 0, check.stdout[-3000:]
    assert recap_changed(check) == {'node1': 2, 'node2': 2, 'node3': 2}  # the install and the bridge, as they would run
    assert 'planned against an empty Open vSwitch database' in check.stdout + check.stderr
    assert all('changed: [%s] => (item=br0)' % node in check.stdout for node in ('node1', 'node2', 'node3'))
    assert all('install ok installed' not in status for status in installed)


@pytest.fixture(scope='module')
def bridged(fresh_lab, first_look):
    """hosts.yml on fresh nodes while node1 is pinged every 5 ms from the controller side."""
    before = [node.network_state() for node in fresh_lab.nodes]
    assert all(state['ovs'] is None for state in before), 'the nodes must start without Open vSwitch'
    with fresh_lab.ping_gap_monitor(1) as monitor:
        result = fresh_lab.run_playbook(HOSTS_PLAYBOOK, extra_vars={'vmnet_ovs_bridge_bridges': [bridge_entry()]})
    assert result.rc == 0, result.stdout[-4000:]
    print('\nuplink move on node1 under the play\'s own SSH: longest ping gap %.1f ms, %d of %d pings lost'
          % (monitor.longest_gap_ms, monitor.lost, monitor.result['sent']))
    return result


def test_fresh_nodes_get_ovs_and_the_ip_moves_onto_the_bridge(fresh_lab, bridged):
    for node in fresh_lab.nodes:
        assert node.exec(['ovs-vsctl', 'get', 'Open_vSwitch', '.', 'ovs_version']).stdout.strip().strip('"').startswith('3.')
    for node in fresh_lab.nodes:
        state = node.network_state()
        assert state['addresses']['br0'] == [node.mgmt_cidr]
        assert state['addresses']['eth1'] == []
        assert state['links']['br0']['mac'] == node.mac, 'the bridge keeps the NIC MAC'
        default = [route for route in state['routes'] if route['dst'] == 'default']
        assert default and default[0]['dev'] == 'br0' and default[0]['gateway'] == node.gateway
        ports = state['ovs']
        assert 'br0' in json.dumps(ports) and '4000' in json.dumps(ports)
    # Rolling: node1's bridge is confirmed before node2's bridge task starts.
    bridges_play = bridged.stdout[bridged.stdout.index('PLAY [OVS bridges, rolling]'):]
    assert bridges_play.index('changed: [node1] => (item=') < bridges_play.index('changed: [node2] => (item=')
    assert bridges_play.index('Confirm, or the node restores') < bridges_play.index('changed: [node2] => (item=')
    assert 'fabric check passed: 3 nodes reach each other' in bridged.stdout
    info = fresh_lab.run_ansible('node1', 'vmnet.kubevirt.ovs_bridge_info', 'name=br0')
    assert info.returncode == 0, info.stdout
    reported = json.loads(info.stdout.split('=>', 1)[1])
    assert reported['bridges']['br0']['addresses'] == [fresh_lab.node(1).mgmt_cidr]
    assert reported['bridges']['br0']['routes'] == ['default via %s' % fresh_lab.node(1).gateway]
    assert reported['pending'] == []


def test_second_run_reports_no_change_on_three_nodes(fresh_lab, bridged):
    # All three nodes in one batch: the rolling order was shown by the first run.
    result = fresh_lab.run_playbook(HOSTS_PLAYBOOK, extra_vars={'vmnet_ovs_bridge_bridges': [bridge_entry()],
                                                                'vmnet_hosts_serial': 3})
    assert result.rc == 0, result.stdout[-3000:]
    assert recap_changed(result) == {'node1': 0, 'node2': 0, 'node3': 0}


def test_check_mode_on_a_changed_spec_changes_nothing(fresh_lab, bridged):
    before = [node.network_state() for node in fresh_lab.nodes]
    changed = bridge_entry(uplink={'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, 200]},
                           ports=[{'name': 'vmtap1', 'type': 'internal', 'tag': 200}])
    result = fresh_lab.run_playbook(HOSTS_PLAYBOOK, extra_vars={'vmnet_ovs_bridge_bridges': [changed]},
                                    check=True, diff=True, tags='bridges')
    assert result.rc == 0, result.stdout[-3000:]
    assert all(count >= 1 for count in recap_changed(result).values()), result.recap
    assert '"vmtap1"' in result.stdout, 'the diff shows the port that would be added'
    assert [node.network_state() for node in fresh_lab.nodes] == before


def test_reboot_brings_back_bridge_ip_route_and_trunks(fresh_lab, bridged):
    node = fresh_lab.node(2)
    before = node.network_state()
    fresh_lab.reboot(2)
    after = node.network_state()
    assert after['addresses']['br0'] == [node.mgmt_cidr]
    assert after['ovs'] == before['ovs']
    assert after['routes'] == before['routes']
    assert after['addresses'] == before['addresses']
    ping = fresh_lab.run_ansible('node2', 'ansible.builtin.ping')
    assert ping.returncode == 0, ping.stdout


def test_fabric_check_fails_naming_the_node_with_a_cut_uplink(fresh_lab, bridged, tmp_path):
    # Close the SSH master to node3 first: a master over a cut path would only give up after the
    # keepalive window (30 s in the lab), which tells nothing about the fabric check.
    reset = fresh_lab.run_playbook(write_playbook(tmp_path, 'reset.yml', [{'ansible.builtin.meta': 'reset_connection'}],
                                                  hosts='node3'))
    assert reset.rc == 0, reset.stdout[-2000:]
    fresh_lab.cut_uplink(3)
    try:
        result = fresh_lab.run_playbook(HOSTS_PLAYBOOK, extra_vars={'vmnet_ovs_bridge_bridges': [bridge_entry()]},
                                        tags='fabric')
    finally:
        fresh_lab.restore_uplink(3)
    assert result.rc != 0
    assert 'cannot reach the others: node3;' in result.stdout
    assert 'node1 -> node2:ok node3:FAIL' in result.stdout
    assert 'vmnet-fabric' not in json.dumps(fresh_lab.node(1).network_state()), 'the test port is removed'
