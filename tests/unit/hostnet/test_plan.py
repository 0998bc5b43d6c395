"""Planning: OVSDB reading, the one-transaction reconcile, its rollback, the move and preflight.

The round-trip tests run every transaction against a real ovsdb-server with the vswitch
schema (``--no-wait``: no vswitchd), then read it back with the module's own reader.
"""
import copy
import json
import subprocess

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostIO
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import (
    PreflightError, move_lines, preflight, restore_lines, route_line, target_state, transaction_argv,
    transaction_commands)
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import normalize_spec

MAC = '00:16:3e:10:00:01'


def spec_of(**params):
    params.setdefault('name', 'br0')
    return normalize_spec(params)


def apply(commands):
    argv = transaction_argv(commands, ['--no-wait'])
    if argv:
        subprocess.run(argv, check=True, capture_output=True, text=True)


def read(name='br0'):
    return HostIO().read_ovsdb()[0].get(name)


FULL = dict(datapath_type='netdev', fail_mode='secure',
            uplink={'interface': 'eth1', 'trunks': [0, '100-101'], 'vlan_mode': 'trunk', 'allow_default_route': True},
            ports=[{'name': 'vm1', 'type': 'internal', 'tag': 100, 'external_ids': {'iface-id': 'vm-1'}},
                   {'name': 'patch-a', 'type': 'patch', 'peer': 'patch-b'},
                   {'name': 'nat', 'type': 'internal', 'tag': 5, 'vlan_mode': 'native-untagged', 'trunks': [6, 7]}],
            external_ids={'owner': 'ops-team', 'weird': 'a/b=c'}, other_config={'stp-enable': 'false'})


def test_new_bridge_round_trip_then_no_change_and_exact_rollback(ovsdb):
    spec = spec_of(**FULL)
    target = target_state(None, spec, MAC)
    apply(transaction_commands('br0', None, target))
    live = read()
    assert live == target
    assert live['other_config']['hwaddr'] == MAC
    assert live['ports']['eth1']['trunks'] == [0, 100, 101]
    assert live['ports']['vm1']['external_ids'] == {'iface-id': 'vm-1'}
    assert live['ports']['patch-a']['interfaces'] == {'patch-a': {'type': 'patch', 'peer': 'patch-b'}}
    # Second run: nothing to do.
    assert transaction_commands('br0', live, target_state(live, spec, MAC)) == []
    # Rollback of a creation deletes the bridge.
    apply(transaction_commands('br0', target, None))
    assert read() is None


def test_modify_and_rollback_restore_the_exact_previous_state(ovsdb):
    apply(transaction_commands('br0', None, target_state(None, spec_of(**FULL), MAC)))
    before = read()
    changed = copy.deepcopy(FULL)
    changed['uplink'] = {'interface': 'eth1', 'vlan_mode': 'native-untagged', 'trunks': [200], 'allow_default_route': True}
    changed['ports'] = [{'name': 'vm1', 'type': 'system', 'trunks': [100, 200], 'external_ids': {'iface-id': None, 'new': '1'}},
                        {'name': 'vm2', 'type': 'internal', 'tag': 300}]
    changed['purge_ports'] = True
    changed['external_ids'] = {'weird': None}
    changed['fail_mode'] = 'standalone'
    target = target_state(before, spec_of(**changed), MAC)
    commands = transaction_commands('br0', before, target)
    apply(commands)
    after = read()
    assert after == target
    assert set(after['ports']) == {'br0', 'eth1', 'vm1', 'vm2'}
    assert after['external_ids'] == {'owner': 'ops-team'}
    assert after['ports']['vm1']['tag'] is None and after['ports']['vm1']['interfaces']['vm1']['type'] == ''
    apply(transaction_commands('br0', after, before))
    assert read() == before


def test_unlisted_ports_and_foreign_keys_survive_without_purge(ovsdb):
    apply(transaction_commands('br0', None, target_state(None, spec_of(**FULL), MAC)))
    subprocess.run(['ovs-vsctl', '--no-wait', 'set', 'Bridge', 'br0', 'external_ids:ovn-owned=yes'], check=True)
    live = read()
    target = target_state(live, spec_of(name='br0', ports=[{'name': 'vm3', 'type': 'internal'}]), None)
    commands = transaction_commands('br0', live, target)
    assert commands == [['--may-exist', 'add-port', 'br0', 'vm3'], ['set', 'Interface', 'vm3', 'type=internal']]
    apply(commands)
    assert read()['external_ids']['ovn-owned'] == 'yes'
    assert {'eth1', 'vm1', 'vm3'} <= set(read()['ports'])


FOREIGN_VALUES = ['ops team', 'a\\b"c', 'line1\nline2', 'tab\there', 'ünïcode ✓', '$(id) `id` ; | &', "it's", '%n%H', '']


def test_values_other_managers_wrote_survive_a_change_and_its_rollback_exactly(ovsdb):
    # This module refuses such values as input, but OVN or ovs-cni may have set them: the
    # rollback (current state written back) must quote them so ovs-vsctl reads them unchanged.
    apply(transaction_commands('br0', None, target_state(None, spec_of(), None)))
    foreign = dict(('foreign%d' % index, value) for index, value in enumerate(FOREIGN_VALUES))
    subprocess.run(['ovs-vsctl', '--no-wait', 'set', 'Bridge', 'br0'] +
                   ['external_ids:%s=%s' % (key, json.dumps(value)) for key, value in sorted(foreign.items())] +
                   ['other_config:%s=%s' % (json.dumps('key with space'), json.dumps(FOREIGN_VALUES[1]))], check=True)
    before = read()
    assert before['external_ids'] == foreign
    target = target_state(before, spec_of(external_ids=dict.fromkeys(foreign)), None)
    apply(transaction_commands('br0', before, target))
    assert read()['external_ids'] == {} and read()['other_config']['key with space'] == FOREIGN_VALUES[1]
    apply(transaction_commands('br0', read(), before))
    assert read() == before


def test_bond_uplink_round_trip_and_member_change(ovsdb):
    bond = {'bond': {'name': 'bond0', 'interfaces': ['eth2', 'eth3'], 'mode': 'balance-tcp', 'lacp': 'active'},
            'trunks': ['10-12']}
    target = target_state(None, spec_of(uplink=bond), MAC)
    apply(transaction_commands('br0', None, target))
    live = read()
    assert live == target
    assert live['ports']['bond0']['bond_mode'] == 'balance-tcp' and live['ports']['bond0']['lacp'] == 'active'
    bond['bond']['interfaces'] = ['eth2', 'eth4']
    new_target = target_state(live, spec_of(uplink=bond), MAC)
    apply(transaction_commands('br0', live, new_target))
    assert sorted(read()['ports']['bond0']['interfaces']) == ['eth2', 'eth4']


def test_adopts_a_bridge_made_by_plain_ovs_vsctl_without_churn(ovsdb):
    # What openvswitch.openvswitch's openvswitch_bridge / openvswitch_port run (one call each).
    for argv in (['add-br', 'br0'], ['set', 'Bridge', 'br0', 'fail_mode=secure'],
                 ['br-set-external-id', 'br0', 'owner', 'ops'], ['add-port', 'br0', 'vm1', 'tag=100']):
        subprocess.run(['ovs-vsctl', '--no-wait'] + argv, check=True)
    live = read()
    spec = spec_of(fail_mode='secure', external_ids={'owner': 'ops'}, ports=[{'name': 'vm1', 'tag': 100}])
    assert transaction_commands('br0', live, target_state(live, spec, None)) == []


def test_system_datapath_matches_the_ovsdb_default():
    current = {'datapath_type': '', 'fail_mode': None, 'external_ids': {}, 'other_config': {}, 'ports': {}}
    assert transaction_commands('br0', current, target_state(current, spec_of(datapath_type='system'))) == []


def test_absent_deletes_and_absent_twice_is_a_no_op():
    current = target_state(None, spec_of(), None)
    assert transaction_commands('br0', current, target_state(current, spec_of(state='absent'))) == [['--if-exists', 'del-br', 'br0']]
    assert transaction_commands('br0', None, None) == []


def test_transaction_is_one_argv_with_separators():
    argv = transaction_argv([['--may-exist', 'add-br', 'br0'], ['set', 'Bridge', 'br0', 'fail_mode=secure']])
    assert argv == ['ovs-vsctl', '--timeout=30', '--', '--may-exist', 'add-br', 'br0', '--', 'set', 'Bridge', 'br0', 'fail_mode=secure']
    assert transaction_argv([]) == []


# ------------------------------------------------------------------ move and restore

LINKS = [
    {'ifname': 'lo', 'address': '00:00:00:00:00:00', 'addr_info': [{'family': 'inet', 'local': '127.0.0.1', 'prefixlen': 8, 'scope': 'host'}]},
    {'ifname': 'eth1', 'address': MAC, 'addr_info': [
        {'family': 'inet', 'local': '10.10.0.11', 'prefixlen': 24, 'broadcast': '10.10.0.255', 'scope': 'global'},
        {'family': 'inet', 'local': '10.10.0.111', 'prefixlen': 24, 'broadcast': '10.10.0.255', 'scope': 'global'},
        {'family': 'inet6', 'local': 'fd00::11', 'prefixlen': 64, 'scope': 'global'},
        {'family': 'inet6', 'local': 'fe80::216:3eff:fe10:1', 'prefixlen': 64, 'scope': 'link'}]},
    {'ifname': 'eth2', 'address': '00:16:3e:10:00:21', 'addr_info': []},
]
ROUTES = [
    {'dst': 'default', 'gateway': '10.10.0.1', 'dev': 'eth1', 'flags': []},
    {'dst': '10.10.0.0/24', 'dev': 'eth1', 'protocol': 'kernel', 'scope': 'link', 'prefsrc': '10.10.0.11', 'flags': []},
    {'dst': '172.16.0.0/16', 'gateway': '10.10.0.254', 'dev': 'eth1', 'protocol': 'static', 'metric': 50, 'flags': []},
    {'dst': '192.168.9.0/24', 'dev': 'eth1', 'scope': 'link', 'table': '100', 'flags': []},
    {'type': 'local', 'dst': '10.10.0.11', 'dev': 'eth1', 'table': 'local', 'protocol': 'kernel', 'scope': 'host', 'flags': []},
    {'dst': 'default', 'gateway': 'fd00::1', 'dev': 'eth1', 'metric': 1024, 'flags': [], 'pref': 'medium'},
    {'dst': 'fe80::/64', 'dev': 'eth1', 'protocol': 'kernel', 'metric': 256, 'flags': []},
]


def test_move_keeps_attributes_and_orders_link_routes_first():
    facts = preflight(spec_of(uplink={'interface': 'eth1', 'allow_default_route': True}), {}, {}, LINKS, LINKS, ROUTES)
    assert facts['uplink_mac'] == MAC
    assert [a['local'] for a in facts['addresses']] == ['10.10.0.11', '10.10.0.111', 'fd00::11']
    lines = move_lines(facts['addresses'], facts['routes'], facts['sources'], 'br0')
    assert lines == [
        'link set dev br0 up',
        'address flush dev eth1 scope global',
        'address add 10.10.0.11/24 broadcast 10.10.0.255 dev br0',
        'address add 10.10.0.111/24 broadcast 10.10.0.255 dev br0',
        'address add fd00::11/64 dev br0',
        'route replace 192.168.9.0/24 dev br0 scope link table 100',
        'route replace 172.16.0.0/16 via 10.10.0.254 dev br0 proto static metric 50',
        'route replace 0.0.0.0/0 via 10.10.0.1 dev br0',
        'route replace ::/0 via fd00::1 dev br0 metric 1024',
    ]
    back = restore_lines(facts['addresses'], facts['routes'], 'br0')
    assert back[:2] == ['address flush dev br0 scope global', 'link set dev eth1 up']
    assert 'address add 10.10.0.11/24 broadcast 10.10.0.255 dev eth1' in back
    assert 'route replace 0.0.0.0/0 via 10.10.0.1 dev eth1' in back


def test_route_line_keeps_onlink_and_source():
    route = {'dst': '10.1.0.0/16', 'gateway': '192.0.2.1', 'dev': 'eth1', 'prefsrc': '10.10.0.11', 'flags': ['onlink']}
    assert route_line(route, 'br0') == 'route replace 10.1.0.0/16 via 192.0.2.1 dev br0 src 10.10.0.11 onlink'


# ------------------------------------------------------------------ preflight refusals

def refused(spec_params, bridges=None, owners=None, links=None, routes=None):
    links = LINKS if links is None else links
    with pytest.raises(PreflightError) as caught:
        preflight(spec_of(**spec_params), bridges or {}, owners or {}, links, links, ROUTES if routes is None else routes)
    return str(caught.value)


def test_refuses_the_default_route_nic_without_opt_in():
    message = refused({'uplink': {'interface': 'eth1'}})
    assert "uplink.interface: 'eth1' carries the default route (via 10.10.0.1, fd00::1)" in message
    assert 'allow_default_route: true' in message


def test_refuses_a_missing_nic():
    assert "uplink.interface: 'eth9' does not exist on this host" in refused({'uplink': {'interface': 'eth9'}})


def test_refuses_trunks_that_drop_untagged_management():
    message = refused({'uplink': {'interface': 'eth1', 'allow_default_route': True, 'trunks': [100, 200]}})
    assert 'would drop the untagged management traffic of 10.10.0.11/24' in message


@pytest.mark.parametrize('uplink', [
    {'trunks': [0, 100]}, {'trunks': [100], 'vlan_mode': 'native-untagged'}, {'trunks': []}, {}])
def test_accepts_trunks_that_keep_untagged_management(uplink):
    preflight(spec_of(uplink=dict(uplink, interface='eth1', allow_default_route=True)), {}, {}, LINKS, LINKS, ROUTES)


def test_refuses_native_vlan_other_than_zero_for_management():
    message = refused({'uplink': {'interface': 'eth1', 'allow_default_route': True, 'tag': 10, 'vlan_mode': 'native-untagged'}})
    assert 'would drop the untagged management traffic' in message


def test_refuses_to_strand_addresses_without_migrate_ip():
    message = refused({'uplink': {'interface': 'eth1', 'migrate_ip': False}})
    assert "uplink.migrate_ip: False would strand the addresses 10.10.0.11/24, 10.10.0.111/24, fd00::11/64 of 'eth1'" in message


def test_refuses_a_nic_of_another_bridge_and_a_missing_system_port():
    message = refused({'uplink': {'interface': 'eth2'}, 'ports': [{'name': 'vm9'}]}, owners={'eth2': 'br-other'})
    assert "uplink.interface: 'eth2' is already a port of bridge 'br-other'" in message
    assert "ports[0].name: 'vm9' does not exist on this host" in message


def test_refuses_a_bridge_name_that_is_a_plain_interface():
    assert "name: 'eth2' is already a network interface" in refused({'name': 'eth2'})


def test_refuses_to_move_a_dhcp_lease():
    links = [dict(link) for link in LINKS]
    links[1] = dict(LINKS[1], addr_info=[dict(LINKS[1]['addr_info'][0], dynamic=True)] + LINKS[1]['addr_info'][1:])
    message = refused({'uplink': {'interface': 'eth1', 'allow_default_route': True}}, links=links)
    assert "uplink.interface: 'eth1' has the DHCP-assigned address 10.10.0.11/24" in message


def test_refuses_multipath_routes():
    routes = ROUTES + [{'dst': '10.9.0.0/16', 'nexthops': [{'gateway': '10.10.0.1', 'dev': 'eth1'}], 'flags': []}]
    assert 'multipath routes (10.9.0.0/16)' in refused({'uplink': {'interface': 'eth1', 'allow_default_route': True}}, routes=routes)


def test_second_run_has_nothing_to_move():
    moved = [dict(link) for link in LINKS]
    moved[1] = dict(LINKS[1], addr_info=[LINKS[1]['addr_info'][3]])
    moved.append({'ifname': 'br0', 'address': MAC, 'addr_info': LINKS[1]['addr_info'][:3]})
    routes = [dict(route, dev='br0') if route['dev'] == 'eth1' else route for route in ROUTES]
    bridges = {'br0': target_state(None, spec_of(uplink={'interface': 'eth1'}), MAC)}
    facts = preflight(spec_of(uplink={'interface': 'eth1'}), bridges, {'eth1': 'br0', 'br0': 'br0'}, moved, moved, routes)
    assert facts['addresses'] == [] and facts['routes'] == []


# ------------------------------------------------------------------ a NIC with addresses is only ever an uplink

def test_refuses_a_nic_that_carries_addresses_as_a_plain_port():
    # As a plain port it would lose its addresses (OVS takes the NIC) without the uplink move's
    # address transfer, probes and commit-confirm.
    message = refused({'ports': [{'name': 'eth1'}]})
    assert ("ports[0].name: 'eth1' carries the addresses 10.10.0.11/24, 10.10.0.111/24, fd00::11/64 and the routes "
            "default via 10.10.0.1, 172.16.0.0/16 via 10.10.0.254, 192.168.9.0/24, default via fd00::1") in message
    assert 'make it the uplink (uplink.interface)' in message


def test_refuses_a_nic_that_carries_only_routes_as_a_plain_port():
    links = LINKS + [{'ifname': 'eth3', 'address': '00:16:3e:10:00:31', 'addr_info': []}]
    routes = ROUTES + [{'dst': '203.0.113.0/24', 'dev': 'eth3', 'scope': 'link', 'flags': []}]
    assert "ports[0].name: 'eth3' carries the routes 203.0.113.0/24" in refused({'ports': [{'name': 'eth3'}]}, links=links, routes=routes)


def test_a_spare_nic_and_a_port_already_on_the_bridge_are_fine():
    preflight(spec_of(ports=[{'name': 'eth2'}]), {}, {}, LINKS, LINKS, ROUTES)
    bridges = {'br0': {'ports': {'eth1': {}}}}
    preflight(spec_of(ports=[{'name': 'eth1'}]), bridges, {'eth1': 'br0', 'br0': 'br0'}, LINKS, LINKS, ROUTES)


def test_refuses_an_internal_port_named_like_an_existing_interface():
    message = refused({'ports': [{'name': 'eth2', 'type': 'internal'}]})
    assert "ports[0].name: 'eth2' is already a network interface on this host; an internal port needs a new name" in message


# ------------------------------------------------------------------ values read from the host

def test_refuses_an_uplink_whose_mac_is_not_an_ethernet_mac_unless_hwaddr_is_given():
    links = [dict(link) for link in LINKS]
    links[1] = dict(LINKS[1], address='80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:1b:2c')
    message = refused({'uplink': {'interface': 'eth1', 'allow_default_route': True}}, links=links)
    assert "uplink.interface: 'eth1' has the address '80:00:02:08" in message and 'set other_config.hwaddr' in message
    preflight(spec_of(uplink={'interface': 'eth1', 'allow_default_route': True}, other_config={'hwaddr': MAC}),
              {}, {}, links, links, ROUTES)


def test_refuses_to_move_a_route_whose_table_name_could_not_be_written_safely():
    routes = ROUTES + [{'dst': '10.20.0.0/16', 'dev': 'eth1', 'scope': 'link', 'table': 'evil;reboot', 'flags': []}]
    message = refused({'uplink': {'interface': 'eth1', 'allow_default_route': True}}, routes=routes)
    assert "uplink.interface: 'eth1': route table: 'evil;reboot' is not a table number or name" in message
