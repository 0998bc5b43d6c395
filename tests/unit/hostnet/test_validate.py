"""Input validation of ovs_bridge: every bad input names the field, the value and the rule."""
import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import OvsSpecError, normalize_spec

GOOD_UPLINK = {'interface': 'eth1', 'allow_default_route': True}

# (params, text the message must contain) - at least 20 distinct ways to get it wrong.
BAD_INPUTS = [
    ({'name': ''}, 'name: "" is not a valid interface name'),
    ({'name': 'br-with-a-very-long-name'}, 'name: "br-with-a-very-long-name" is not a valid interface name'),
    ({'name': 'br/0'}, 'name: "br/0" is not a valid interface name'),
    ({'name': 'br 0'}, 'name: "br 0" is not a valid interface name'),
    ({'name': '-br0'}, 'name: "-br0" is not a valid interface name'),
    ({'name': 'br0', 'uplink': {'interface': 'eth:1'}}, 'uplink.interface: "eth:1" is not a valid interface name'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'trunks': [4095]}}, 'uplink.trunks[0]: 4095 must be a VLAN id from 0 to 4094'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'trunks': [-1]}}, 'uplink.trunks[0]: -1 must be a VLAN id'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'trunks': ['200-100']}}, 'uplink.trunks[0]: "200-100" is a range whose first VLAN is greater'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'trunks': ['100-5000']}}, 'uplink.trunks[0]: "100-5000" reaches past VLAN 4094'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'trunks': ['vlan10']}}, 'uplink.trunks[0]: "vlan10" must be a VLAN id'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'trunks': '100'}}, 'uplink.trunks: "100" must be a list'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'tag': 0, 'vlan_mode': 'native-untagged'}}, 'uplink.tag: 0 must be a VLAN id from 1 to 4094'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'vlan_mode': 'hybrid'}}, 'uplink.vlan_mode: "hybrid" must be one of'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'vlan_mode': 'access'}}, 'uplink.vlan_mode: "access" needs a tag'),
    ({'name': 'br0', 'uplink': {}}, 'uplink: [] needs exactly one of interface'),
    ({'name': 'br0', 'uplink': {'interface': 'eth1', 'bond': {'name': 'b0', 'interfaces': ['a', 'b']}}}, 'needs exactly one of interface'),
    ({'name': 'br0', 'uplink': {'bond': {'name': 'b0', 'interfaces': ['eth2']}}}, 'uplink.bond.interfaces: ["eth2"] must list at least two'),
    ({'name': 'br0', 'uplink': {'bond': {'name': 'b0', 'interfaces': ['eth2', 'eth2']}}}, 'lists an interface twice'),
    ({'name': 'br0', 'uplink': {'bond': {'name': 'b0', 'interfaces': ['e2', 'e3'], 'mode': 'balance-tcp'}}}, 'needs LACP'),
    ({'name': 'br0', 'ports': [{'name': 'p1', 'tag': 4095}]}, 'ports[0].tag: 4095 must be a VLAN id from 1 to 4094'),
    ({'name': 'br0', 'ports': [{'name': 'p1', 'tag': 'ten'}]}, 'ports[0].tag: "ten" must be a VLAN id'),
    ({'name': 'br0', 'ports': [{'name': 'p1', 'type': 'patch'}]}, 'ports[0].peer: null is required for a patch port'),
    ({'name': 'br0', 'ports': [{'name': 'p1', 'peer': 'p2'}]}, 'ports[0].peer: "p2" is only allowed with type patch'),
    ({'name': 'br0', 'ports': [{'name': 'p1', 'type': 'vxlan'}]}, 'ports[0].type: "vxlan" must be one of'),
    ({'name': 'br0', 'ports': [{'name': 'p1', 'tag': 10, 'trunks': [20]}]}, 'cannot go with an access tag'),
    ({'name': 'br0', 'ports': [{'name': 'p1'}, {'name': 'p1'}]}, 'ports[1].name: "p1" is already used as ports[0]'),
    ({'name': 'br0', 'uplink': GOOD_UPLINK, 'ports': [{'name': 'eth1'}]}, 'ports[0].name: "eth1" is already used as uplink'),
    ({'name': 'br0', 'ports': [{'name': 'br0'}]}, 'ports[0].name: "br0" is already used as name'),
    ({'name': 'br0', 'external_ids': {'bad key': 'x'}}, 'external_ids key: "bad key" must be'),
    ({'name': 'br0', 'other_config': {'k': {'nested': 1}}}, 'other_config.k: {"nested": 1} must be a string'),
    ({'name': 'br0', 'probes': {'ping': ['10.0.0.300']}}, 'probes.ping[0]: "10.0.0.300" is not an IPv4 or IPv6 address'),
    ({'name': 'br0', 'probes': {'tcp': ['10.0.0.1']}}, 'probes.tcp[0]: "10.0.0.1" must be "host:port"'),
    ({'name': 'br0', 'probes': {'tcp': ['10.0.0.1:70000']}}, 'probes.tcp[0]: "10.0.0.1:70000" must be'),
    ({'name': 'br0', 'probes': {'api_server': 'https://api'}}, 'probes.api_server: "https://api" must be'),
    ({'name': 'br0', 'probes': {'timeout': 0}}, 'probes.timeout: 0 must be a number of seconds from 1 to 600'),
    ({'name': 'br0', 'confirm_timeout': -5}, 'confirm_timeout: -5 must be a number of seconds'),
    ({'name': 'br0', 'persist': 'systemd-networkd'}, 'persist: "systemd-networkd" must be one of'),
    ({'name': 'br0', 'datapath_type': 'dpdk'}, 'datapath_type: "dpdk" must be one of'),
]


@pytest.mark.parametrize('params, message', BAD_INPUTS, ids=[m[:40] for _p, m in BAD_INPUTS])
def test_bad_input_names_field_value_and_rule(params, message):
    with pytest.raises(OvsSpecError) as caught:
        normalize_spec(params)
    assert message in str(caught.value)


def test_at_least_twenty_distinct_bad_inputs():
    assert len({message for _params, message in BAD_INPUTS}) >= 20


def test_all_problems_are_reported_at_once():
    with pytest.raises(OvsSpecError) as caught:
        normalize_spec({'name': 'a/b', 'uplink': {'interface': 'eth1', 'trunks': [5000]}, 'ports': [{'name': 'x', 'tag': 0}]})
    assert len(caught.value.errors) == 3


def test_good_spec_is_normalized():
    spec = normalize_spec({'name': 'br0', 'datapath_type': 'netdev',
                           'uplink': {'interface': 'eth1', 'trunks': ['100-102', 0, '101'], 'allow_default_route': True},
                           'ports': ['vm1', {'name': 'p2', 'type': 'patch', 'peer': 'p3'}],
                           'external_ids': {'owner': 'ops', 'enabled': True, 'old': None},
                           'probes': {'api_server': 'https://[fd00::1]:6443/healthz', 'ping': ['10.0.0.1']}})
    assert spec['uplink']['trunks'] == [0, 100, 101, 102]
    assert spec['uplink']['members'] == ['eth1'] and spec['uplink']['port'] == 'eth1'
    assert spec['ports'][0] == {'name': 'vm1', 'type': 'system', 'peer': None, 'tag': None, 'trunks': None,
                                'vlan_mode': None, 'external_ids': None, 'other_config': None}
    assert spec['external_ids'] == {'owner': 'ops', 'enabled': 'true', 'old': None}
    assert spec['probes']['tcp'] == [['fd00::1', 6443]]
    assert spec['confirm_timeout'] == 30 and spec['persist'] == 'auto'


def test_bond_uplink_port_is_the_bond():
    spec = normalize_spec({'name': 'br0', 'uplink': {'bond': {'name': 'bond0', 'interfaces': ['eth2', 'eth3'],
                                                              'mode': 'balance-tcp', 'lacp': 'active'}}})
    assert spec['uplink']['port'] == 'bond0'
    assert spec['uplink']['members'] == ['eth2', 'eth3']
