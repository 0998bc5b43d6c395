"""ovs_bridge and ovs_fabric_port inputs tried as a hostile user would: shell metacharacters,
newlines, quotes, unicode, over-long names, wrong types, ints as strings, unknown keys.

Every case must be refused by the pure validators with a message naming the field, the value
and the rule, so nothing reaches a command line or a persistence file.
"""
import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import (
    OvsSpecError, fabric_port_problems, host_address_problems, host_route_problems, normalize_spec)

UPLINK = {'interface': 'eth1', 'allow_default_route': True}
PAYLOAD = '$(touch /var/tmp/vmnet-owned)'


def bridge(**params):
    params.setdefault('name', 'br0')
    return params


def port(**fields):
    fields.setdefault('name', 'vm1')
    fields.setdefault('type', 'internal')
    return bridge(ports=[fields])


# (category, params, text the message must contain)
HOSTILE_BRIDGE_INPUTS = [
    # -- MAC addresses (other_config.hwaddr and the other MAC-valued keys OVS documents)
    ('mac', bridge(other_config={'hwaddr': '00:16:3e:10:00:01' + PAYLOAD}), 'other_config.hwaddr: "%s" is not a MAC address' % ('00:16:3e:10:00:01' + PAYLOAD)),
    ('mac', bridge(other_config={'hwaddr': 'not-a-mac'}), 'other_config.hwaddr: "not-a-mac" is not a MAC address'),
    ('mac', bridge(other_config={'hwaddr': '00:16:3e:10:00:01\nup touch /x'}), 'other_config.hwaddr'),
    ('mac', bridge(other_config={'hwaddr': '00:16:3e:10:00'}), 'other_config.hwaddr: "00:16:3e:10:00" is not a MAC address'),
    ('mac', bridge(other_config={'hwaddr': '00-16-3e-10-00-01'}), 'is not a MAC address'),
    ('mac', bridge(other_config={'hwaddr': '01:00:5e:00:00:01'}), 'other_config.hwaddr: "01:00:5e:00:00:01" must be a unicast MAC'),
    ('mac', bridge(other_config={'hwaddr': '00:00:00:00:00:00'}), 'must be a unicast MAC address other than 00:00:00:00:00:00'),
    ('mac', bridge(other_config={'hwaddr': 22}), 'other_config.hwaddr: 22 is not a MAC address'),
    ('mac', bridge(other_config={'hwaddr': '００:16:3e:10:00:01'}), 'is not a MAC address'),
    ('mac', bridge(other_config={'stp-system-id': '00:16:3e:zz:00:01'}), 'other_config.stp-system-id: "00:16:3e:zz:00:01" is not a MAC'),
    ('mac', bridge(other_config={'rstp-address': '"00:16:3e:10:00:01"'}), 'other_config.rstp-address'),
    ('mac', port(other_config={'lacp-system-id': '00:00:00:00:00:00'}), 'ports[0].other_config.lacp-system-id'),
    # -- interface and bridge names (the Linux interface-name rule, then stricter)
    ('name', bridge(name='br0\n'), 'name: "br0\\n" is not a valid interface name'),
    ('name', bridge(name='br0;reboot'), 'name: "br0;reboot" is not a valid interface name'),
    ('name', bridge(name='br$(id)'), 'is not a valid interface name'),
    ('name', bridge(name='br`id`'), 'is not a valid interface name'),
    ('name', bridge(name='br*'), 'name: "br*" is not a valid interface name'),
    ('name', bridge(name='brü'), 'name: "br\\u00fc" is not a valid interface name'),
    ('name', bridge(name='b' * 16), 'is not a valid interface name'),
    ('name', bridge(name='--if-exists'), 'name: "--if-exists" is not a valid interface name'),
    ('name', bridge(name=7), 'name: 7 is not a valid interface name'),
    ('name', bridge(name=['br0']), 'name: ["br0"] is not a valid interface name'),
    ('name', bridge(uplink={'interface': 'eth1\n', 'allow_default_route': True}), 'uplink.interface: "eth1\\n" is not a valid'),
    ('name', bridge(uplink={'interface': 'eth1 eth2'}), 'uplink.interface: "eth1 eth2" is not a valid interface name'),
    ('name', bridge(uplink={'bond': {'name': 'bond0"', 'interfaces': ['eth2', 'eth3']}}), 'uplink.bond.name'),
    ('name', bridge(uplink={'bond': {'name': 'bond0', 'interfaces': ['eth2', 'eth3|x']}}), 'uplink.bond.interfaces[1]'),
    ('name', port(name="vm1'"), "ports[0].name: \"vm1'\" is not a valid interface name"),
    ('name', port(type='patch', peer='p2\r'), 'ports[0].peer: "p2\\r" is not a valid interface name'),
    ('name', port(other_config={'bond-primary': 'eth2;x'}), 'ports[0].other_config.bond-primary: "eth2;x" is not a valid interface name'),
    # -- VLANs: ints 0-4094 (tags 1-4094), never a bool, a float or a word
    ('vlan', port(tag=True), 'ports[0].tag: true must be a VLAN id from 1 to 4094'),
    ('vlan', port(tag=1.5), 'ports[0].tag: 1.5 must be a VLAN id'),
    ('vlan', port(tag='١٢'), 'ports[0].tag: "\\u0661\\u0662" must be a VLAN id'),
    ('vlan', port(tag='10; reboot'), 'ports[0].tag'),
    ('vlan', port(tag='0x10'), 'ports[0].tag: "0x10" must be a VLAN id'),
    ('vlan', port(tag='-1'), 'ports[0].tag: "-1" must be a VLAN id'),
    ('vlan', bridge(uplink=dict(UPLINK, trunks=[False])), 'uplink.trunks[0]: false must be a VLAN id'),
    ('vlan', bridge(uplink=dict(UPLINK, trunks=['1-2-3'])), 'uplink.trunks[0]: "1-2-3" must be a VLAN id'),
    ('vlan', bridge(uplink=dict(UPLINK, trunks=['10\n'])), 'uplink.trunks[0]'),
    ('vlan', bridge(uplink=dict(UPLINK, trunks=['٣-٤'])), 'uplink.trunks[0]'),
    ('vlan', bridge(uplink=dict(UPLINK, trunks=[{'vlan': 10}])), 'uplink.trunks[0]'),
    ('vlan', bridge(uplink=dict(UPLINK, trunks={'10': 'x'})), 'uplink.trunks'),
    ('vlan', bridge(uplink=dict(UPLINK, tag='4095', vlan_mode='native-tagged')), 'uplink.tag: "4095" must be a VLAN id'),
    # -- other_config / external_ids: known keys typed, others a conservative charset
    ('map', bridge(other_config={'stp-priority': 'high'}), 'other_config.stp-priority: "high" must be an integer from 0 to 65535'),
    ('map', bridge(other_config={'stp-priority': 70000}), 'other_config.stp-priority: 70000 must be an integer from 0 to 65535'),
    ('map', bridge(other_config={'stp-priority': True}), 'other_config.stp-priority: true must be an integer'),
    ('map', bridge(other_config={'stp-priority': '1e3'}), 'other_config.stp-priority: "1e3" must be an integer'),
    ('map', bridge(other_config={'disable-in-band': 'yes'}), 'other_config.disable-in-band: "yes" must be true or false'),
    ('map', bridge(other_config={'mac-table-size': 0}), 'other_config.mac-table-size: 0 must be an integer of at least 1'),
    ('map', bridge(other_config={'datapath-id': '12345'}), 'other_config.datapath-id: "12345" must be 16 hexadecimal digits'),
    ('map', bridge(other_config={'datapath-id': '0000000000000000'}), 'must be 16 hexadecimal digits or 0x and up to 16'),
    ('map', bridge(other_config={'dp-desc': 'switch 3 in room 3120'}), 'other_config.dp-desc: "switch 3 in room 3120" must be'),
    ('map', bridge(external_ids={'owner': 'ops; rm -rf /'}), 'external_ids.owner: "ops; rm -rf /" must be 1-256 characters of'),
    ('map', bridge(external_ids={'owner': 'a b'}), 'external_ids.owner: "a b" must be 1-256 characters'),
    ('map', bridge(external_ids={'owner': 'x\ny'}), 'external_ids.owner: "x\\ny" must be'),
    ('map', bridge(external_ids={'owner': '"quoted"'}), 'external_ids.owner'),
    ('map', bridge(external_ids={'owner': "it's"}), 'external_ids.owner'),
    ('map', bridge(external_ids={'owner': 'back\\slash'}), 'external_ids.owner'),
    ('map', bridge(external_ids={'owner': '%n%H'}), 'external_ids.owner'),
    ('map', bridge(external_ids={'owner': 'ünïcode'}), 'external_ids.owner'),
    ('map', bridge(external_ids={'owner': PAYLOAD}), 'external_ids.owner'),
    ('map', bridge(external_ids={'owner': 'x' * 257}), 'external_ids.owner'),
    ('map', bridge(external_ids={'owner': ''}), 'external_ids.owner: "" must be 1-256 characters'),
    ('map', bridge(external_ids={'owner': 1.5}), 'external_ids.owner: 1.5 must be a string, an integer or a boolean'),
    ('map', bridge(external_ids={'owner': {'nested': 'x'}}), 'external_ids.owner'),
    ('map', bridge(external_ids={'bridge-id': 'br 1'}), 'external_ids.bridge-id: "br 1" must be'),
    ('map', bridge(external_ids={'key\n': 'v'}), 'external_ids key: "key\\n" must be'),
    ('map', bridge(external_ids={'-key': 'v'}), 'external_ids key: "-key" must be'),
    ('map', bridge(external_ids={'k' * 129: 'v'}), 'external_ids key'),
    ('map', bridge(external_ids={7: 'v'}), 'external_ids key: 7 must be'),
    ('map', bridge(external_ids=['owner=ops']), 'external_ids: ["owner=ops"] must be a mapping'),
    ('map', port(other_config={'lacp-time': 'sometimes'}), 'ports[0].other_config.lacp-time: "sometimes" must be one of fast, slow'),
    ('map', port(other_config={'stp-port-num': 0}), 'ports[0].other_config.stp-port-num: 0 must be an integer from 1 to 255'),
    ('map', port(other_config={'rstp-port-priority': '241'}), 'ports[0].other_config.rstp-port-priority: "241" must be an integer from 0 to 240'),
    ('map', port(external_ids={'iface-id': 'vm 1'}), 'ports[0].external_ids.iface-id: "vm 1" must be'),
    # -- booleans: only true or false, never a word that Python finds truthy
    ('type', bridge(purge_ports='no'), 'purge_ports: "no" must be true or false'),
    ('type', bridge(uplink=dict(UPLINK, migrate_ip='false')), 'uplink.migrate_ip: "false" must be true or false'),
    ('type', bridge(uplink={'interface': 'eth1', 'allow_default_route': 1}), 'uplink.allow_default_route: 1 must be true or false'),
    ('type', bridge(probes={'gateway': 'off'}), 'probes.gateway: "off" must be true or false'),
    # -- other wrong types, ints as strings, unknown keys in nested dicts
    ('type', bridge(confirm_timeout='30s'), 'confirm_timeout: "30s" must be a number of seconds'),
    ('type', bridge(confirm_timeout=True), 'confirm_timeout: true must be a number of seconds'),
    ('type', bridge(confirm_timeout='٣٠'), 'confirm_timeout: "\\u0663\\u0660" must be a number of seconds'),
    ('type', bridge(probes={'timeout': '10 '}), 'probes.timeout: "10 " must be a number of seconds'),
    ('type', bridge(ports='vm1'), 'ports: "vm1" must be a list'),
    ('type', bridge(ports=[['vm1']]), 'ports[0]: ["vm1"] must be a port name or a mapping'),
    ('type', bridge(uplink='eth1'), 'uplink: "eth1" must be a mapping'),
    ('type', bridge(datapath_type=['netdev']), 'datapath_type: ["netdev"] must be one of system, netdev'),
    ('type', bridge(state='gone'), 'state: "gone" must be present or absent'),
    ('unknown', bridge(uplink={'interface': 'eth1', 'trunkz': [0]}), "uplink.trunkz: [0] is not a known option of uplink"),
    ('unknown', bridge(uplink={'bond': {'name': 'b0', 'interfaces': ['e2', 'e3'], 'mod': 'balance-slb'}}), 'uplink.bond.mod'),
    ('unknown', port(tagg=5), 'ports[0].tagg: 5 is not a known option of ports[]'),
    ('unknown', bridge(uplnk={'interface': 'eth1'}), 'uplnk: {"interface": "eth1"} is not a known option'),
    # -- probes: addresses and endpoints, nothing that could be read as an option or a second line
    ('probe', bridge(probes={'ping': ['-f']}), 'probes.ping[0]: "-f" is not an IPv4 or IPv6 address'),
    ('probe', bridge(probes={'ping': ['10.0.0.1 -f']}), 'probes.ping[0]'),
    ('probe', bridge(probes={'ping': ['10.0.0.1\n10.0.0.2']}), 'probes.ping[0]'),
    ('probe', bridge(probes={'tcp': ['-h:22']}), 'probes.tcp[0]: "-h:22" must be'),
    ('probe', bridge(probes={'tcp': ['host name:22']}), 'probes.tcp[0]'),
    ('probe', bridge(probes={'api_server': 'https://api:6443/$(id)\n'}), 'probes.api_server'),
    ('probe', bridge(probes={'ping': '10.0.0.1'}), 'probes.ping: "10.0.0.1" must be a list'),
]


@pytest.mark.parametrize('category, params, message', HOSTILE_BRIDGE_INPUTS,
                         ids=['%s-%d' % (case[0], index) for index, case in enumerate(HOSTILE_BRIDGE_INPUTS)])
def test_hostile_bridge_input_is_refused_naming_field_value_and_rule(category, params, message):
    with pytest.raises(OvsSpecError) as caught:
        normalize_spec(params)
    assert message in str(caught.value), (category, str(caught.value))


def test_every_category_has_cases_of_its_own():
    counts = {}
    for category, _params, _message in HOSTILE_BRIDGE_INPUTS:
        counts[category] = counts.get(category, 0) + 1
    assert set(counts) == {'mac', 'name', 'vlan', 'map', 'type', 'unknown', 'probe'}
    assert min(counts.values()) >= 4, counts


GOOD_VALUES = bridge(
    other_config={'hwaddr': '00:16:3E:10:00:0A', 'stp-priority': '4096', 'mac-table-size': 8192, 'forward-bpdu': True,
                  'datapath-id': '0x1f', 'dp-desc': 'rack3-room3120', 'vendor-key': 'a.b/c:d=e,f'},
    external_ids={'owner': 'platform-team', 'k8s.ovn.org/network': 'default', 'enabled': False, 'build': 42},
    ports=[{'name': 'vm1', 'type': 'internal', 'tag': '100',
            'other_config': {'lacp-time': 'fast', 'stp-port-priority': 128, 'bond-primary': 'eth2'}}],
    uplink={'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, '100-102', '7']})


def test_good_values_are_normalized_to_what_ovsdb_stores():
    spec = normalize_spec(GOOD_VALUES)
    assert spec['other_config'] == {'hwaddr': '00:16:3e:10:00:0a', 'stp-priority': '4096', 'mac-table-size': '8192',
                                    'forward-bpdu': 'true', 'datapath-id': '0x1f', 'dp-desc': 'rack3-room3120',
                                    'vendor-key': 'a.b/c:d=e,f'}
    assert spec['external_ids'] == {'owner': 'platform-team', 'k8s.ovn.org/network': 'default', 'enabled': 'false', 'build': '42'}
    assert spec['ports'][0]['tag'] == 100
    assert spec['ports'][0]['other_config'] == {'lacp-time': 'fast', 'stp-port-priority': '128', 'bond-primary': 'eth2'}
    assert spec['uplink']['trunks'] == [0, 7, 100, 101, 102]


def test_null_still_removes_a_key_of_any_table():
    spec = normalize_spec(bridge(other_config={'hwaddr': None, 'owner-note': None}, external_ids={'bridge-id': None}))
    assert spec['other_config'] == {'hwaddr': None, 'owner-note': None} and spec['external_ids'] == {'bridge-id': None}


# ---------------------------------------------------------------- values read from the host

GOOD_ROUTE = {'dst': '172.16.0.0/16', 'gateway': '10.10.0.254', 'dev': 'eth1', 'metric': 50, 'protocol': 'static',
              'scope': 'global', 'prefsrc': '10.10.0.11', 'table': 'main', 'flags': ['onlink']}


@pytest.mark.parametrize('field, value', [
    ('dst', '172.16.0.0/16\nroute add 0.0.0.0/0 via 6.6.6.6'), ('dst', 'default; reboot'), ('gateway', '10.10.0.1 onlink'),
    ('gateway', '$(id)'), ('dev', 'eth1 metric'), ('metric', '50; x'), ('metric', True), ('protocol', 'static x'),
    ('table', 'main\nx'), ('table', 'my table'), ('scope', 'link#'), ('prefsrc', '10.10.0.11 x'), ('flags', ['onlink;x']),
    ('flags', 'onlink'),
])
def test_a_host_route_with_a_field_that_is_not_safe_to_write_is_named(field, value):
    problems = host_route_problems(dict(GOOD_ROUTE, **{field: value}))
    assert problems and field in problems[0] and repr(value) in problems[0]


def test_ordinary_host_routes_and_addresses_are_fine():
    assert host_route_problems(GOOD_ROUTE) == []
    assert host_route_problems({'dst': 'default', 'gateway': 'fd00::1', 'dev': 'eth1', 'metric': 1024, 'table': 200, 'flags': []}) == []
    assert host_address_problems({'local': 'fd00::11', 'prefixlen': 64, 'family': 'inet6', 'dev': 'eth1'}) == []
    assert host_address_problems({'local': '10.10.0.11', 'prefixlen': 24, 'broadcast': '10.10.0.255', 'family': 'inet', 'dev': 'eth1'}) == []


@pytest.mark.parametrize('field, value', [('local', '10.10.0.11/24'), ('local', '10.10.0.11\n'), ('prefixlen', '24'),
                                          ('prefixlen', 33), ('broadcast', '10.10.0.255 x'), ('dev', 'eth1\n')])
def test_a_host_address_with_a_field_that_is_not_safe_to_write_is_named(field, value):
    address = dict({'local': '10.10.0.11', 'prefixlen': 24, 'broadcast': '10.10.0.255', 'family': 'inet', 'dev': 'eth1'}, **{field: value})
    problems = host_address_problems(address)
    assert problems and field in problems[0]


# ---------------------------------------------------------------- ovs_fabric_port

FABRIC = {'bridge': 'br0', 'name': 'vmnet-fabric', 'vlan': 4000, 'cidr': '198.18.250.0/24', 'host_index': 0,
          'peers': {'node2': 1}, 'count': 3, 'wait': 1, 'state': 'present'}

HOSTILE_FABRIC_INPUTS = [
    ({'bridge': 'br0\n'}, 'bridge: "br0\\n" is not a valid interface name'),
    ({'bridge': 'br0;id'}, 'bridge'),
    ({'name': 'vmnet-fabric-too-long'}, 'name: "vmnet-fabric-too-long" is not a valid interface name'),
    ({'name': '-x'}, 'name: "-x"'),
    ({'vlan': True}, 'vlan: true must be a VLAN id from 1 to 4094'),
    ({'vlan': 0}, 'vlan: 0 must be a VLAN id from 1 to 4094'),
    ({'vlan': 4095}, 'vlan: 4095 must be a VLAN id'),
    ({'cidr': '198.18.250.1/24'}, 'cidr: "198.18.250.1/24" must be a network'),
    ({'cidr': '198.18.250.0/24; id'}, 'cidr'),
    ({'cidr': '198.18.250.0/32'}, 'host_index: 0 does not fit in cidr 198.18.250.0/32'),
    ({'host_index': -1}, 'host_index: -1 must be an integer of at least 0'),
    ({'host_index': 300}, 'host_index: 300 does not fit in cidr 198.18.250.0/24'),
    ({'host_index': True}, 'host_index: true must be an integer'),
    ({'peers': {'node2': '1'}}, 'peers.node2: "1" must be the peer\'s host_index (an integer'),
    ({'peers': {'node2': True}}, 'peers.node2: true must be'),
    ({'peers': {'node2': 1.0}}, 'peers.node2: 1.0 must be'),
    ({'peers': {'node2': 999}}, 'peers.node2: 999 does not fit in cidr'),
    ({'peers': ['node2']}, 'peers: ["node2"] must be a mapping'),
    ({'count': 0}, 'count: 0 must be an integer from 1 to 100'),
    ({'count': 10 ** 9}, 'count: 1000000000 must be an integer from 1 to 100'),
    ({'wait': -1}, 'wait: -1 must be an integer from 1 to 60'),
    ({'wait': False}, 'wait: false must be'),
]


@pytest.mark.parametrize('override, message', HOSTILE_FABRIC_INPUTS, ids=[m[:40] for _o, m in HOSTILE_FABRIC_INPUTS])
def test_hostile_fabric_port_input_is_refused(override, message):
    problems = fabric_port_problems(dict(FABRIC, **override))
    assert any(message in problem for problem in problems), problems


def test_good_fabric_port_input_passes():
    assert fabric_port_problems(FABRIC) == []
