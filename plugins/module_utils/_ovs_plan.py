# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for ``vmnet.kubevirt.ovs_bridge``: pure functions, standard library, Python 3.9+.

Bridge state is one shape everywhere (read from OVSDB, wanted, predicted)::

    {'datapath_type': '', 'fail_mode': None, 'external_ids': {}, 'other_config': {},
     'ports': {name: {'interfaces': {name: {'type': '', 'peer': None}}, 'tag': None,
                      'trunks': [], 'vlan_mode': None, 'bond_mode': None, 'lacp': None,
                      'external_ids': {}, 'other_config': {}}}}

``parse_ovsdb`` reads that shape from ``ovs-vsctl --format=json list``;
``target_state(current, spec, uplink_mac)`` merges the spec into the current state;
``transaction_commands(name, current, target)`` is the single ovs-vsctl transaction that turns
one into the other (``transaction_argv`` makes it one argv), so the rollback is
``transaction_commands(name, target, current)``. ``move_lines`` gives the ``ip -batch`` lines
that move addresses and routes from the NIC onto the bridge, ``restore_lines`` their inverse.
``preflight`` refuses, before anything is written, what would cut the node off. The flow that
reads the host and applies the plan is ``_ovs_bridge_run``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import (
    MAC_RE, host_address_problems, host_route_problems)

OVS_VSCTL = ['ovs-vsctl', '--timeout=30']
PORT_FIELDS = ('tag', 'trunks', 'vlan_mode', 'bond_mode', 'lacp')


class PreflightError(ValueError):
    """The host's state makes the spec unsafe or impossible; nothing has been written."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(PreflightError, self).__init__('; '.join(self.errors))


# ---------------------------------------------------------------- reading OVSDB JSON output

def _atom(value):
    if isinstance(value, list) and len(value) == 2 and value[0] in ('uuid', 'named-uuid'):
        return value[1]
    return value


def _set(value):
    if isinstance(value, list) and len(value) == 2 and value[0] == 'set':
        return [_atom(item) for item in value[1]]
    return [_atom(value)]


def _map(value):
    if isinstance(value, list) and len(value) == 2 and value[0] == 'map':
        return dict((key, _atom(item)) for key, item in value[1])
    return {}


def _optional(value):
    items = _set(value)
    return items[0] if items else None


def table_rows(table):
    """Rows of one ``ovs-vsctl --format=json list`` table as dicts keyed by column."""
    return [dict(zip(table['headings'], row)) for row in table.get('data', [])]


def parse_ovsdb(bridge_table, port_table, interface_table):
    """All bridges as ``{name: bridge state}`` plus ``{port or interface name: bridge}``."""
    interfaces = {}
    for row in table_rows(interface_table):
        options = _map(row.get('options'))
        interfaces[_atom(row['_uuid'])] = (row['name'], {'type': row.get('type') or '', 'peer': options.get('peer')})
    ports = {}
    for row in table_rows(port_table):
        members = [interfaces[uuid] for uuid in _set(row['interfaces']) if uuid in interfaces]
        ports[_atom(row['_uuid'])] = (row['name'], {
            'interfaces': dict(members),
            'tag': _optional(row.get('tag')),
            'trunks': sorted(_set(row.get('trunks'))),
            'vlan_mode': _optional(row.get('vlan_mode')),
            'bond_mode': _optional(row.get('bond_mode')) if len(members) > 1 else None,
            'lacp': _optional(row.get('lacp')) if len(members) > 1 else None,
            'external_ids': _map(row.get('external_ids')),
            'other_config': _map(row.get('other_config')),
        })
    bridges, owners = {}, {}
    for row in table_rows(bridge_table):
        name = row['name']
        bridge_ports = dict(ports[uuid] for uuid in _set(row['ports']) if uuid in ports)
        bridges[name] = {
            'datapath_type': row.get('datapath_type') or '',
            'fail_mode': _optional(row.get('fail_mode')),
            'external_ids': _map(row.get('external_ids')),
            'other_config': _map(row.get('other_config')),
            'ports': bridge_ports,
        }
        for port_name, port in bridge_ports.items():
            owners[port_name] = name
            for interface_name in port['interfaces']:
                owners[interface_name] = name
    return bridges, owners


# ---------------------------------------------------------------- wanted state

def _new_port(interfaces, interface_type='', peer=None):
    return {'interfaces': dict((name, {'type': interface_type, 'peer': peer}) for name in interfaces),
            'tag': None, 'trunks': [], 'vlan_mode': None, 'bond_mode': None, 'lacp': None,
            'external_ids': {}, 'other_config': {}}


def _merge_map(current, wanted):
    """Keys set to a value are set, keys set to None are removed, others are kept."""
    merged = dict(current)
    for key, value in (wanted or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _wanted_port(current, spec_port, interfaces, interface_type='', peer=None):
    port = copy.deepcopy(current) if current else _new_port(interfaces, interface_type, peer)
    port['interfaces'] = dict((name, {'type': interface_type, 'peer': peer}) for name in interfaces)
    port['tag'] = spec_port.get('tag')
    port['trunks'] = list(spec_port.get('trunks') or [])
    port['vlan_mode'] = spec_port.get('vlan_mode')
    port['external_ids'] = _merge_map(port['external_ids'], spec_port.get('external_ids'))
    port['other_config'] = _merge_map(port['other_config'], spec_port.get('other_config'))
    return port


def target_state(current, spec, uplink_mac=None):
    """The bridge as it should be after this run (None when ``state=absent``)."""
    if spec['state'] == 'absent':
        return None
    name = spec['name']
    target = copy.deepcopy(current) if current else {
        'datapath_type': '', 'fail_mode': None, 'external_ids': {}, 'other_config': {},
        'ports': {name: _new_port([name], 'internal')}}
    datapath_type = spec.get('datapath_type')
    # OVSDB stores the default datapath as ''; 'system' asks for that same default.
    if datapath_type is not None and not (datapath_type == 'system' and target['datapath_type'] == ''):
        target['datapath_type'] = datapath_type
    if spec.get('fail_mode') is not None:
        target['fail_mode'] = spec['fail_mode']
    target['external_ids'] = _merge_map(target['external_ids'], spec.get('external_ids'))
    other_config = dict(spec.get('other_config') or {})
    if uplink_mac and 'hwaddr' not in other_config:
        # The bridge keeps the uplink NIC's MAC: neighbours' ARP caches stay valid (no gap).
        other_config['hwaddr'] = uplink_mac
    target['other_config'] = _merge_map(target['other_config'], other_config)
    wanted = {name}
    uplink = spec.get('uplink')
    if uplink:
        current_port = (current or {}).get('ports', {}).get(uplink['port'])
        port = _wanted_port(current_port, uplink, uplink['members'])
        if uplink['bond']:
            port['bond_mode'] = uplink['bond']['mode']
            port['lacp'] = uplink['bond']['lacp']
        target['ports'][uplink['port']] = port
        wanted.add(uplink['port'])
    for spec_port in spec.get('ports', []):
        interface_type = '' if spec_port['type'] == 'system' else spec_port['type']
        current_port = (current or {}).get('ports', {}).get(spec_port['name'])
        target['ports'][spec_port['name']] = _wanted_port(current_port, spec_port, [spec_port['name']],
                                                          interface_type, spec_port.get('peer'))
        wanted.add(spec_port['name'])
    if spec.get('purge_ports'):
        for port_name in list(target['ports']):
            if port_name not in wanted:
                del target['ports'][port_name]
    return target


# ---------------------------------------------------------------- ovs-vsctl transaction

def quote(value):
    """An ovs-vsctl string literal (double-quoted, backslash escapes)."""
    return '"%s"' % str(value).replace('\\', '\\\\').replace('"', '\\"')


def _map_commands(table, record, column, current, target):
    commands = []
    sets = ['%s:%s=%s' % (column, quote(key), quote(value)) for key, value in sorted(target.items())
            if current.get(key) != value]
    if sets:
        commands.append(['set', table, record] + sets)
    removed = sorted(key for key in current if key not in target)
    if removed:
        commands.append(['remove', table, record, column] + [quote(key) for key in removed])
    return commands


def _port_columns(port):
    columns = []
    if port['tag'] is not None:
        columns.append('tag=%d' % port['tag'])
    if port['trunks']:
        columns.append('trunks=[%s]' % ','.join(str(vlan) for vlan in port['trunks']))
    if port['vlan_mode']:
        columns.append('vlan_mode=%s' % port['vlan_mode'])
    if len(port['interfaces']) > 1:
        if port['bond_mode']:
            columns.append('bond_mode=%s' % port['bond_mode'])
        if port['lacp']:
            columns.append('lacp=%s' % port['lacp'])
    return columns


def _interface_commands(interfaces):
    commands = []
    for name, interface in sorted(interfaces.items()):
        columns = []
        if interface['type']:
            columns.append('type=%s' % interface['type'])
        if interface['peer']:
            columns.append('options:peer=%s' % quote(interface['peer']))
        if columns:
            commands.append(['set', 'Interface', name] + columns)
    return commands


def _add_port_commands(bridge, name, port):
    members = sorted(port['interfaces'])
    if len(members) > 1:
        commands = [['--may-exist', 'add-bond', bridge, name] + members + _port_columns(port)]
    else:
        commands = [['--may-exist', 'add-port', bridge, name] + _port_columns(port)]
    commands += _interface_commands(port['interfaces'])
    for column in ('external_ids', 'other_config'):
        commands += _map_commands('Port', name, column, {}, port[column])
    return commands


def _change_port_commands(bridge, name, current, target):
    if sorted(current['interfaces']) != sorted(target['interfaces']):
        return [['--if-exists', 'del-port', bridge, name]] + _add_port_commands(bridge, name, target)
    commands = []
    sets, clears = [], []
    for field in PORT_FIELDS:
        if current[field] == target[field] or (field in ('bond_mode', 'lacp') and len(target['interfaces']) < 2):
            continue
        if target[field] in (None, []):
            clears.append(field)
        elif field == 'trunks':
            sets.append('trunks=[%s]' % ','.join(str(vlan) for vlan in target['trunks']))
        elif field == 'tag':
            sets.append('tag=%d' % target['tag'])
        else:
            sets.append('%s=%s' % (field, target[field]))
    if sets:
        commands.append(['set', 'Port', name] + sets)
    if clears:
        commands.append(['clear', 'Port', name] + clears)
    changed_interfaces = dict((key, value) for key, value in target['interfaces'].items()
                              if current['interfaces'].get(key) != value)
    for interface_name, interface in sorted(changed_interfaces.items()):
        old = current['interfaces'].get(interface_name, {})
        commands += _interface_commands({interface_name: interface})
        if old.get('peer') and not interface['peer']:
            commands.append(['remove', 'Interface', interface_name, 'options', 'peer'])
        if old.get('type') and not interface['type']:
            commands.append(['set', 'Interface', interface_name, 'type=""'])
    for column in ('external_ids', 'other_config'):
        commands += _map_commands('Port', name, column, current[column], target[column])
    return commands


def transaction_commands(name, current, target):
    """ovs-vsctl commands (each an argv fragment) that turn ``current`` into ``target``."""
    if target is None:
        return [['--if-exists', 'del-br', name]] if current is not None else []
    commands = []
    base = current
    if current is None:
        commands.append(['--may-exist', 'add-br', name])
        base = {'datapath_type': '', 'fail_mode': None, 'external_ids': {}, 'other_config': {},
                'ports': {name: target['ports'].get(name, _new_port([name], 'internal'))}}
    columns = []
    if base['datapath_type'] != target['datapath_type']:
        columns.append('datapath_type=%s' % (target['datapath_type'] or '""'))
    if base['fail_mode'] != target['fail_mode'] and target['fail_mode']:
        columns.append('fail_mode=%s' % target['fail_mode'])
    if columns:
        commands.append(['set', 'Bridge', name] + columns)
    if base['fail_mode'] and not target['fail_mode']:
        commands.append(['clear', 'Bridge', name, 'fail_mode'])
    for column in ('external_ids', 'other_config'):
        commands += _map_commands('Bridge', name, column, base[column], target[column])
    for port_name in sorted(base['ports']):
        if port_name not in target['ports']:
            commands.append(['--if-exists', 'del-port', name, port_name])
    for port_name, port in sorted(target['ports'].items()):
        if port_name not in base['ports']:
            commands += _add_port_commands(name, port_name, port)
        elif base['ports'][port_name] != port:
            commands += _change_port_commands(name, port_name, base['ports'][port_name], port)
    return commands


def transaction_argv(commands, extra_options=()):
    """One ovs-vsctl run for all commands: OVSDB applies them atomically or not at all."""
    if not commands:
        return []
    argv = OVS_VSCTL + list(extra_options)
    for command in commands:
        argv += ['--'] + command
    return argv


# ---------------------------------------------------------------- host network facts

def _family(address):
    return 6 if ':' in address else 4


def addresses_of(ip_addr, interfaces):
    """Global addresses of ``interfaces`` from ``ip -j addr show``, in kernel order."""
    found = []
    for link in ip_addr:
        if link.get('ifname') not in interfaces:
            continue
        for info in link.get('addr_info', []):
            if info.get('scope') != 'global':
                continue
            found.append({'dev': link['ifname'], 'local': info['local'], 'prefixlen': info['prefixlen'],
                          'broadcast': info.get('broadcast'), 'family': info['family'],
                          'dynamic': bool(info.get('dynamic'))})
    return found


def routes_of(routes, interfaces):
    """Routes that use ``interfaces`` and that the kernel does not recreate by itself."""
    found = []
    for route in routes:
        if route.get('dev') not in interfaces or route.get('table') == 'local':
            continue
        if route.get('type', 'unicast') != 'unicast' or route.get('protocol') == 'kernel':
            continue
        found.append(dict(route))
    return found


def multipath_routes(routes, interfaces):
    return [route for route in routes if route.get('nexthops') and
            any(hop.get('dev') in interfaces for hop in route['nexthops'])]


def default_routes(routes, interfaces):
    return [route for route in routes_of(routes, interfaces) if route.get('dst') in ('default', '0.0.0.0/0', '::/0')]


def gateways(routes):
    return sorted(set(route['gateway'] for route in routes if route.get('gateway')))


# ---------------------------------------------------------------- ip -batch lines

def _address_line(verb, address, dev):
    line = 'address %s %s/%d' % (verb, address['local'], address['prefixlen'])
    if verb == 'add' and address.get('broadcast'):
        line += ' broadcast %s' % address['broadcast']
    return line + ' dev %s' % dev


def route_line(route, dev):
    """``route replace`` line that recreates ``route`` on ``dev`` with its own attributes."""
    dst = route.get('dst', 'default')
    gateway = route.get('gateway')
    family = _family(gateway or (dst if dst != 'default' else route.get('prefsrc', '0.0.0.0')))
    if dst == 'default':
        dst = '::/0' if family == 6 else '0.0.0.0/0'
    parts = ['route', 'replace', dst]
    if gateway:
        parts += ['via', gateway]
    parts += ['dev', dev]
    for key, keyword in (('protocol', 'proto'), ('scope', 'scope'), ('prefsrc', 'src'), ('metric', 'metric'),
                         ('table', 'table')):
        if route.get(key) not in (None, '', 'main') and not (key == 'scope' and route[key] == 'global'):
            parts += [keyword, str(route[key])]
    if 'onlink' in (route.get('flags') or []):
        parts.append('onlink')
    return ' '.join(parts)


def _route_order(route):
    # Link routes first (a gateway route needs its gateway reachable), default routes last.
    default = route.get('dst', 'default') in ('default', '0.0.0.0/0', '::/0')
    return (1 if route.get('gateway') else 0, 1 if default else 0, route.get('dst', ''))


def move_lines(addresses, routes, sources, destination):
    """ip -batch lines that move ``addresses`` and ``routes`` from ``sources`` to ``destination``."""
    lines = ['link set dev %s up' % destination]
    for source in sources:
        if any(address['dev'] == source for address in addresses):
            lines.append('address flush dev %s scope global' % source)
    lines += [_address_line('add', address, destination) for address in addresses]
    lines += [route_line(route, destination) for route in sorted(routes, key=_route_order)]
    return lines


def restore_lines(addresses, routes, bridge):
    """ip -batch lines that put ``addresses`` and ``routes`` back on their own interfaces."""
    lines = ['address flush dev %s scope global' % bridge]
    # A re-created OVS internal port comes back down: routes need their device up.
    for dev in sorted(set(item['dev'] for item in list(addresses) + list(routes))):
        lines.append('link set dev %s up' % dev)
    for address in addresses:
        lines.append(_address_line('add', address, address['dev']))
    lines += [route_line(route, route['dev']) for route in sorted(routes, key=_route_order)]
    return lines


# ---------------------------------------------------------------- preflight

def _management_untagged_ok(uplink):
    """True when untagged frames from the uplink reach the bridge's own (untagged) port."""
    mode, tag, trunks = uplink.get('vlan_mode'), uplink.get('tag'), uplink.get('trunks') or []
    if mode in ('native-untagged', 'native-tagged'):
        return tag in (None, 0)
    if mode == 'access' or tag is not None:
        return False
    return not trunks or 0 in trunks


def _describe(addresses):
    return ', '.join('%s/%d' % (address['local'], address['prefixlen']) for address in addresses)


def _describe_routes(routes):
    return ', '.join('%s%s' % (route.get('dst', 'default'), ' via %s' % route['gateway'] if route.get('gateway') else '')
                     for route in routes)


def unsafe_host_values(field, addresses, routes):
    """Refusals for addresses or routes read from the host that must not reach an ip -batch line
    or a persistence file (see ``_ovs_validate.host_route_problems``)."""
    problems = []
    for item in addresses:
        problems += host_address_problems(item)
    for item in routes:
        problems += host_route_problems(item)
    return ['%s: %s' % (field, problem) for problem in problems]


def preflight(spec, bridges, owners, links, ip_addr, routes):
    """Check the spec against the host before anything is written; return the move facts.

    Returns ``{'sources': [...], 'addresses': [...], 'routes': [...], 'uplink_mac': mac}``;
    raises ``PreflightError`` listing every reason to refuse.
    """
    errors = []
    name = spec['name']
    link_names = dict((link['ifname'], link) for link in links)
    facts = {'sources': [], 'addresses': [], 'routes': [], 'uplink_mac': None}
    if spec['state'] == 'absent':
        return facts
    if name in owners and owners[name] != name:
        errors.append("name: %r is already a port of bridge %r" % (name, owners[name]))
    if name not in bridges and name in link_names:
        errors.append("name: %r is already a network interface on this host that is not an OVS bridge" % name)
    uplink = spec.get('uplink')
    if uplink:
        field = 'uplink.interface' if uplink['interface'] else 'uplink.bond.interfaces'
        for member in uplink['members']:
            if member not in link_names:
                errors.append('%s: %r does not exist on this host' % (field, member))
            elif member in bridges:
                errors.append('%s: %r is an OVS bridge, not a NIC' % (field, member))
            elif owners.get(member) not in (None, name):
                errors.append('%s: %r is already a port of bridge %r; remove it there first' % (field, member, owners[member]))
            elif link_names[member].get('master'):
                errors.append('%s: %r is enslaved to %r; release it first' % (field, member, link_names[member]['master']))
        members = [member for member in uplink['members'] if member in link_names]
        # SLAAC addresses are not moved: the bridge (same MAC) gets the same ones from the routers.
        addresses = [address for address in addresses_of(ip_addr, members)
                     if not (address['dynamic'] and address['family'] == 'inet6')]
        moved_routes = routes_of(routes, members)
        if members:
            facts['uplink_mac'] = link_names[members[0]].get('address')
            if 'hwaddr' not in (spec.get('other_config') or {}) and not MAC_RE.fullmatch(str(facts['uplink_mac'])):
                # The bridge takes the uplink's MAC (other_config.hwaddr): it must be an Ethernet one.
                errors.append("%s: %r has the address %r, not an Ethernet MAC address the bridge could take; set "
                              "other_config.hwaddr" % (field, members[0], facts['uplink_mac']))
                facts['uplink_mac'] = None
        multipath = multipath_routes(routes, members)
        if multipath:
            errors.append('%s: %r carries multipath routes (%s) that cannot be moved safely'
                          % (field, uplink['port'], ', '.join(route.get('dst', '?') for route in multipath)))
        if addresses and not uplink['migrate_ip']:
            errors.append('uplink.migrate_ip: False would strand the addresses %s of %r on an OVS port; '
                          'set migrate_ip: true' % (_describe(addresses), uplink['port']))
        dynamic = [address for address in addresses if address['dynamic'] and address['family'] == 'inet']
        if dynamic and uplink['migrate_ip']:
            # The NIC's DHCP client would go on renewing the lease on the NIC, not on the bridge.
            errors.append('%s: %r has the DHCP-assigned address %s: moving it would leave the DHCP client renewing it '
                          'on the NIC; give the NIC a static address first' % (field, uplink['port'], _describe(dynamic)))
        if addresses and uplink['migrate_ip']:
            defaults = default_routes(routes, members)
            if defaults and not uplink['allow_default_route']:
                errors.append('%s: %r carries the default route (via %s); moving it puts the node\'s own path on '
                              'the bridge: set uplink.allow_default_route: true to allow it (commit-confirm '
                              'rolls it back if the node loses its way)'
                              % (field, uplink['port'], ', '.join(gateways(defaults)) or 'link'))
            facts.update(sources=members, addresses=addresses, routes=moved_routes)
            errors += unsafe_host_values('%s: %r' % (field, uplink['port']), addresses, moved_routes)
        bridge_addresses = addresses_of(ip_addr, [name])
        if (addresses or bridge_addresses) and not _management_untagged_ok(uplink):
            errors.append('uplink.trunks: %r with vlan_mode %r and tag %r would drop the untagged management '
                          'traffic of %s: add VLAN 0 to trunks or use vlan_mode native-untagged without a tag'
                          % (uplink.get('trunks'), uplink.get('vlan_mode'), uplink.get('tag'),
                             _describe(addresses or bridge_addresses)))
    bridge_ports = (bridges.get(name) or {}).get('ports', {})
    for index, port in enumerate(spec.get('ports', [])):
        field = 'ports[%d].name' % index
        if owners.get(port['name']) not in (None, name):
            errors.append('%s: %r is already a port of bridge %r' % (field, port['name'], owners[port['name']]))
        elif port['name'] in bridge_ports or owners.get(port['name']) == name:
            continue
        elif port['type'] == 'system' and port['name'] not in link_names:
            errors.append('%s: %r does not exist on this host (create it first, or use type internal)' % (field, port['name']))
        elif port['type'] == 'system':
            carried = addresses_of(ip_addr, [port['name']])
            carried_routes = routes_of(routes, [port['name']])
            if carried or carried_routes:
                # OVS takes the NIC: its addresses and routes would be cut off, without the move,
                # the probes and the commit-confirm that an uplink gets.
                what = ' and '.join(part for part in (
                    'the addresses %s' % _describe(carried) if carried else '',
                    'the routes %s' % _describe_routes(carried_routes) if carried_routes else '') if part)
                errors.append('%s: %r carries %s: as a plain port it would lose them without the uplink move\'s '
                              'safety; make it the uplink (uplink.interface), or move them off it first'
                              % (field, port['name'], what))
        elif port['type'] == 'internal' and port['name'] in link_names:
            errors.append('%s: %r is already a network interface on this host; an internal port needs a new name'
                          % (field, port['name']))
    if errors:
        raise PreflightError(errors)
    return facts


def ip_in_cidr(address, cidr):
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
