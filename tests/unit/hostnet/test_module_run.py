"""The module's glue (read once -> plan -> check/diff or apply) with a recording host stand-in."""
import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostCommandError, HostIO
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import PreflightError, target_state
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import normalize_spec
from ansible_collections.vmnet.kubevirt.plugins.modules import ovs_bridge

MAC = '00:16:3e:10:00:01'
ETH1 = {'ifname': 'eth1', 'address': MAC, 'addr_info': [
    {'family': 'inet', 'local': '10.10.0.11', 'prefixlen': 24, 'broadcast': '10.10.0.255', 'scope': 'global'}]}
ROUTES = [{'dst': 'default', 'gateway': '10.10.0.1', 'dev': 'eth1', 'flags': ['onlink']},
          {'dst': '10.10.0.0/24', 'dev': 'eth1', 'protocol': 'kernel', 'scope': 'link', 'prefsrc': '10.10.0.11', 'flags': []}]


class Failed(Exception):
    pass


class StubModule:
    def __init__(self, check_mode=False, diff=True):
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def fail_json(self, **kwargs):
        raise Failed(kwargs)

    def warn(self, warning):
        self.warnings.append(warning)


class ReadOnlyHost:
    """Answers the reads; any write is a test failure."""

    def __init__(self, bridges=None, owners=None, links=None, routes=None):
        self.bridges, self.owners = bridges or {}, owners or {}
        self.links, self.routes = links if links is not None else [ETH1], routes if routes is not None else ROUTES
        self.reads = 0

    def read_ovsdb(self):
        self.reads += 1
        return self.bridges, self.owners

    def read_network(self):
        return self.links, self.routes

    @staticmethod
    def paths_exist(patterns):
        # A Debian node configured with ifupdown, Open vSwitch's hook included; no netplan, no NetworkManager.
        return any(pattern in ('/sbin/ifup', '/etc/network/interfaces', '/etc/network/if-pre-up.d/openvswitch')
                   for pattern in patterns)

    def ovs_transaction(self, argv):
        raise AssertionError('wrote to OVSDB: %r' % argv)

    def ip_batch(self, lines):
        raise AssertionError('ran ip -batch: %r' % lines)


def spec(**params):
    params.setdefault('name', 'br0')
    params.setdefault('persist', 'none')
    return normalize_spec(params)


UPLINK = {'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, 100]}


def test_check_mode_plans_the_move_and_writes_nothing():
    host = ReadOnlyHost()
    result = ovs_bridge.BridgeRun(StubModule(check_mode=True), host).execute(spec(datapath_type='netdev', uplink=UPLINK))
    assert result['changed'] and host.reads == 1
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
    host = ReadOnlyHost({'br0': current}, {'br0': 'br0', 'eth1': 'br0'}, [moved_eth1, bridge], routes)
    result = ovs_bridge.BridgeRun(StubModule(), host).execute(spec(datapath_type='netdev', uplink=UPLINK))
    assert not result['changed'] and result['commands'] == [] and result['ip_batch'] == []


def test_preflight_refusal_happens_before_any_write():
    host = ReadOnlyHost()
    with pytest.raises(PreflightError, match="carries the default route"):
        ovs_bridge.BridgeRun(StubModule(), host).execute(spec(uplink={'interface': 'eth1'}))


def test_absent_bridge_with_addresses_needs_the_nic_to_move_them_back():
    current = target_state(None, spec(uplink=UPLINK), MAC)
    bridge = {'ifname': 'br0', 'address': MAC, 'addr_info': ETH1['addr_info']}
    host = ReadOnlyHost({'br0': current}, {'br0': 'br0', 'eth1': 'br0'}, [dict(ETH1, addr_info=[]), bridge],
                        [dict(route, dev='br0') for route in ROUTES])
    with pytest.raises(PreflightError, match="state: absent would drop the addresses 10.10.0.11/24 of bridge 'br0'"):
        ovs_bridge.BridgeRun(StubModule(), host).execute(spec(state='absent'))
    result = ovs_bridge.BridgeRun(StubModule(check_mode=True), host).execute(spec(state='absent', uplink={'interface': 'eth1'}))
    assert result['ip_batch'][:3] == ['link set dev eth1 up', 'address flush dev br0 scope global',
                                      'address add 10.10.0.11/24 broadcast 10.10.0.255 dev eth1']
    assert result['commands'][-3:] == ['--if-exists', 'del-br', 'br0']
    assert result['rollback']['commands'][:6] == ['ovs-vsctl', '--timeout=30', '--', '--may-exist', 'add-br', 'br0']


class HostWithoutOvs(ReadOnlyHost):
    """A node before the ovs role ran: ovs-vsctl is not there."""

    def read_ovsdb(self):
        self.reads += 1
        raise HostCommandError(['ovs-vsctl', '--timeout=10'], 127, 'ovs-vsctl: not found')


def test_check_mode_before_open_vswitch_is_installed_plans_against_an_empty_database():
    module = StubModule(check_mode=True)
    result = ovs_bridge.BridgeRun(module, HostWithoutOvs()).execute(spec(datapath_type='netdev', uplink=UPLINK))
    assert result['changed'] and result['commands'][:6] == ['ovs-vsctl', '--timeout=30', '--', '--may-exist', 'add-br', 'br0']
    assert result['moved']['addresses'] == ['10.10.0.11/24']
    assert len(module.warnings) == 1 and 'planned against an empty Open vSwitch database' in module.warnings[0]


def test_without_open_vswitch_a_real_run_fails_naming_the_role_that_installs_it():
    with pytest.raises(Failed) as failed:
        ovs_bridge.BridgeRun(StubModule(), HostWithoutOvs()).execute(spec(datapath_type='netdev', uplink=UPLINK))
    message = failed.value.args[0]['msg']
    assert 'ovs-vsctl: not found' in message and 'vmnet.kubevirt.ovs role' in message


def test_a_missing_tool_is_a_clear_error_not_a_traceback():
    io = HostIO()
    with pytest.raises(HostCommandError, match='no-such-tool-vmnet: not found'):
        io.run(['no-such-tool-vmnet', '--version'])
    assert io.run(['no-such-tool-vmnet'], check=False) == (127, '', 'no-such-tool-vmnet: not found (not installed on this node)')


def test_a_nic_with_addresses_as_a_plain_port_is_refused_before_any_write():
    with pytest.raises(PreflightError, match="ports\\[0\\].name: 'eth1' carries the addresses 10.10.0.11/24 and the routes default via 10.10.0.1"):
        ovs_bridge.BridgeRun(StubModule(), ReadOnlyHost()).execute(spec(datapath_type='netdev', ports=[{'name': 'eth1'}]))


def test_moving_addresses_back_refuses_a_host_route_that_cannot_be_written_safely():
    current = target_state(None, spec(uplink=UPLINK), MAC)
    bridge = {'ifname': 'br0', 'address': MAC, 'addr_info': ETH1['addr_info']}
    routes = [dict(route, dev='br0') for route in ROUTES] + [{'dst': '10.9.0.0/16', 'dev': 'br0', 'table': 'x y', 'flags': []}]
    host = ReadOnlyHost({'br0': current}, {'br0': 'br0', 'eth1': 'br0'}, [dict(ETH1, addr_info=[]), bridge], routes)
    with pytest.raises(PreflightError, match="name: 'br0': route table: 'x y' is not a table number or name"):
        ovs_bridge.BridgeRun(StubModule(), host).execute(spec(state='absent', uplink={'interface': 'eth1'}))


@pytest.mark.parametrize('persist, lacks', [
    ('netplan', 'persist: netplan cannot be used on this node: it lacks the netplan command, the /etc/netplan directory'),
    ('networkmanager', 'persist: networkmanager cannot be used on this node: it lacks nmcli'),
])
def test_a_persistence_method_the_node_lacks_is_refused_before_any_write(persist, lacks):
    # ReadOnlyHost fails the test on any write: the refusal comes from the plan, before the change.
    with pytest.raises(Exception) as caught:
        ovs_bridge.BridgeRun(StubModule(), ReadOnlyHost()).execute(spec(datapath_type='netdev', uplink=UPLINK, persist=persist))
    assert lacks in str(caught.value)


def test_auto_falls_back_to_what_the_node_runs():
    result = ovs_bridge.BridgeRun(StubModule(check_mode=True), ReadOnlyHost()).execute(
        spec(datapath_type='netdev', uplink=UPLINK, persist='auto'))
    assert result['persist']['method'] == 'ifupdown'
