"""The ovs_bridge flow (read once -> plan -> check/diff or apply) on a fake host that forbids writes."""
import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_bridge_run
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostCommandError, HostIO
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import target_state
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import normalize_spec
from fake_host import FakeHost, debian_ifupdown_node

MAC = '00:16:3e:10:00:01'
ETH1 = {'ifname': 'eth1', 'address': MAC, 'addr_info': [
    {'family': 'inet', 'local': '10.10.0.11', 'prefixlen': 24, 'broadcast': '10.10.0.255', 'scope': 'global'}]}
ROUTES = [{'dst': 'default', 'gateway': '10.10.0.1', 'dev': 'eth1', 'flags': ['onlink']},
          {'dst': '10.10.0.0/24', 'dev': 'eth1', 'protocol': 'kernel', 'scope': 'link', 'prefsrc': '10.10.0.11', 'flags': []}]


def host(bridges=None, owners=None, links=None, routes=None):
    """A read-only node: any write (OVSDB, ip, a file) fails the test."""
    return debian_ifupdown_node(bridges=bridges, owners=owners, links=[ETH1] if links is None else links,
                                routes=ROUTES if routes is None else routes, forbid_writes=True)


def run(node, params, check_mode=False, diff=True):
    return _ovs_bridge_run.run(params, lambda: node, check_mode=check_mode, diff=diff)


def params(**given):
    given.setdefault('name', 'br0')
    given.setdefault('persist', 'none')
    return given


def spec(**given):
    return normalize_spec(params(**given))


UPLINK = {'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, 100]}


def refusal(result):
    """The message of a run that refused; the fake host has already proved nothing was written."""
    assert result['failed'] and result['changed'] is False
    return result['msg']


def test_check_mode_plans_the_move_and_writes_nothing():
    node = host()
    result = run(node, params(datapath_type='netdev', uplink=UPLINK), check_mode=True)
    assert result['changed'] and node.commands == [('read_ovsdb',)]
    assert result['commands'][:6] == ['ovs-vsctl', '--timeout=30', '--', '--may-exist', 'add-br', 'br0']
    assert 'other_config:"hwaddr"="%s"' % MAC in result['commands']
    assert result['ip_batch'] == ['link set dev br0 up', 'address flush dev eth1 scope global',
                                  'address add 10.10.0.11/24 broadcast 10.10.0.255 dev br0',
                                  'route replace 0.0.0.0/0 via 10.10.0.1 dev br0 onlink']
    assert result['rollback']['commands'] == ['ovs-vsctl', '--timeout=30', '--', '--if-exists', 'del-br', 'br0']
    assert result['moved'] == {'from': ['eth1'], 'to': 'br0', 'addresses': ['10.10.0.11/24'], 'routes': ['default via 10.10.0.1']}
    assert result['diff']['before']['bridge'] is None and result['diff']['before']['addresses'] == ['10.10.0.11/24']
    assert result['diff']['after']['bridge']['ports']['eth1']['trunks'] == [0, 100]
    assert result['commit'] == {'status': 'not-needed'}


def test_nothing_to_do_reports_no_change():
    current = target_state(None, spec(datapath_type='netdev', uplink=UPLINK), MAC)
    moved_eth1 = dict(ETH1, addr_info=[])
    bridge = {'ifname': 'br0', 'address': MAC, 'addr_info': ETH1['addr_info']}
    routes = [dict(route, dev='br0') for route in ROUTES]
    node = host({'br0': current}, {'br0': 'br0', 'eth1': 'br0'}, [moved_eth1, bridge], routes)
    result = run(node, params(datapath_type='netdev', uplink=UPLINK))
    assert not result['changed'] and result['commands'] == [] and result['ip_batch'] == []


def test_preflight_refusal_happens_before_any_write():
    assert 'carries the default route' in refusal(run(host(), params(uplink={'interface': 'eth1'})))


def test_absent_bridge_with_addresses_needs_the_nic_to_move_them_back():
    current = target_state(None, spec(uplink=UPLINK), MAC)
    bridge = {'ifname': 'br0', 'address': MAC, 'addr_info': ETH1['addr_info']}
    node = host({'br0': current}, {'br0': 'br0', 'eth1': 'br0'}, [dict(ETH1, addr_info=[]), bridge],
                [dict(route, dev='br0') for route in ROUTES])
    assert "state: absent would drop the addresses 10.10.0.11/24 of bridge 'br0'" in refusal(run(node, params(state='absent')))
    result = run(node, params(state='absent', uplink={'interface': 'eth1'}), check_mode=True)
    assert result['ip_batch'][:3] == ['link set dev eth1 up', 'address flush dev br0 scope global',
                                      'address add 10.10.0.11/24 broadcast 10.10.0.255 dev eth1']
    assert result['commands'][-3:] == ['--if-exists', 'del-br', 'br0']
    assert result['rollback']['commands'][:6] == ['ovs-vsctl', '--timeout=30', '--', '--may-exist', 'add-br', 'br0']


class HostWithoutOvs(FakeHost):
    """A node before the ovs role ran: ovs-vsctl is not there."""

    def read_ovsdb(self):
        raise HostCommandError(['ovs-vsctl', '--timeout=10'], 127, 'ovs-vsctl: not found')


def without_ovs():
    return HostWithoutOvs(links=[ETH1], routes=ROUTES, forbid_writes=True)


def test_check_mode_before_open_vswitch_is_installed_plans_against_an_empty_database():
    result = run(without_ovs(), params(datapath_type='netdev', uplink=UPLINK), check_mode=True)
    assert result['changed'] and result['commands'][:6] == ['ovs-vsctl', '--timeout=30', '--', '--may-exist', 'add-br', 'br0']
    assert result['moved']['addresses'] == ['10.10.0.11/24']
    assert len(result['warnings']) == 1 and 'planned against an empty Open vSwitch database' in result['warnings'][0]


def test_without_open_vswitch_a_real_run_fails_naming_the_role_that_installs_it():
    message = refusal(run(without_ovs(), params(datapath_type='netdev', uplink=UPLINK)))
    assert 'ovs-vsctl: not found' in message and 'vmnet.kubevirt.ovs role' in message


def test_a_missing_tool_is_a_clear_error_not_a_traceback():
    io = HostIO()
    with pytest.raises(HostCommandError, match='no-such-tool-vmnet: not found'):
        io.run(['no-such-tool-vmnet', '--version'])
    assert io.run(['no-such-tool-vmnet'], check=False) == (127, '', 'no-such-tool-vmnet: not found (not installed on this node)')


def test_a_nic_with_addresses_as_a_plain_port_is_refused_before_any_write():
    message = refusal(run(host(), params(datapath_type='netdev', ports=[{'name': 'eth1'}])))
    assert "ports[0].name: 'eth1' carries the addresses 10.10.0.11/24 and the routes default via 10.10.0.1" in message


def test_moving_addresses_back_refuses_a_host_route_that_cannot_be_written_safely():
    current = target_state(None, spec(uplink=UPLINK), MAC)
    bridge = {'ifname': 'br0', 'address': MAC, 'addr_info': ETH1['addr_info']}
    routes = [dict(route, dev='br0') for route in ROUTES] + [{'dst': '10.9.0.0/16', 'dev': 'br0', 'table': 'x y', 'flags': []}]
    node = host({'br0': current}, {'br0': 'br0', 'eth1': 'br0'}, [dict(ETH1, addr_info=[]), bridge], routes)
    message = refusal(run(node, params(state='absent', uplink={'interface': 'eth1'})))
    assert "name: 'br0': route table: 'x y' is not a table number or name" in message


@pytest.mark.parametrize('persist, lacks', [
    ('netplan', 'persist: netplan cannot be used on this node: it lacks the netplan command, the /etc/netplan directory'),
    ('networkmanager', 'persist: networkmanager cannot be used on this node: it lacks nmcli'),
])
def test_a_persistence_method_the_node_lacks_is_refused_before_any_write(persist, lacks):
    # The fake host fails the test on any write: the refusal comes from the plan, before the change.
    assert lacks in refusal(run(host(), params(datapath_type='netdev', uplink=UPLINK, persist=persist)))


def test_auto_falls_back_to_what_the_node_runs():
    result = run(host(), params(datapath_type='netdev', uplink=UPLINK, persist='auto'), check_mode=True)
    assert result['persist']['method'] == 'ifupdown'


def test_removal_deletes_only_the_files_this_module_wrote_through_the_seam():
    current = target_state(None, spec(), None)
    nm = '/etc/NetworkManager/system-connections'
    node = debian_ifupdown_node(bridges={'br0': current}, owners={'br0': 'br0'}, links=[ETH1], routes=ROUTES, dirs={nm},
                                files={'/etc/network/interfaces.d/vmnet-br0': 'auto br0\n',
                                       nm + '/vmnet-br0.nmconnection': '[connection]\n', nm + '/vmnet-br01.nmconnection': 'x',
                                       nm + '/other.nmconnection': 'y'})
    result = run(node, params(state='absent'))
    assert result['changed'] and result['commit']['status'] == 'committed'
    assert sorted(result['persist']['files']) == ['/etc/NetworkManager/system-connections/vmnet-br0.nmconnection',
                                                  '/etc/network/interfaces.d/vmnet-br0']
    assert sorted(node.removed) == sorted(result['persist']['files']) and node.written == []
    assert node.commands[-1] == ('ovs', ['ovs-vsctl', '--timeout=30', '--', '--if-exists', 'del-br', 'br0'])
    assert nm + '/vmnet-br01.nmconnection' in node.files and nm + '/other.nmconnection' in node.files


def test_the_real_seam_offers_every_call_the_fake_answers():
    # The fake must not offer what HostIO lacks (an instance attribute once shadowed HostIO.env).
    real = HostIO()
    calls = [name for name in vars(FakeHost) if not name.startswith('_')]
    assert len(calls) > 15
    assert [name for name in calls if not callable(getattr(real, name, None))] == []
    assert real.getenv('VMNET_NO_SUCH_VARIABLE', 'unset') == 'unset'
