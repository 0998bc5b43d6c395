# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot-time configuration for an OVS bridge that carries the node's addresses (pure, 3.9+).

OVSDB already keeps bridges and ports across reboots; what the host must re-create is the
bridge's addresses and routes and the uplink being a bridge port rather than an IP interface.
Three renderers, one per network configuration system:

- ``render_ifupdown``: ``/etc/network/interfaces.d/vmnet-<bridge>`` with the OVS ifupdown
  stanzas of Debian's openvswitch-switch, and ``disable_ifupdown_stanzas`` to comment out the
  uplink's own stanzas in ``/etc/network/interfaces``.
- ``render_netplan``: ``/etc/netplan/60-vmnet-<bridge>.yaml`` (networkd renderer, openvswitch).
- ``render_networkmanager``: keyfiles for ovs-bridge, ovs-port, ovs-interface and the uplink.

``choose_persist(requested, facts)`` resolves ``auto`` from what the host runs.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import uuid

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import (
    MAC_RE, SAFE_VALUE_RULE, host_address_problems, host_route_problems, safe_value, valid_ifname)

HEADER = 'Managed by vmnet.kubevirt.ovs_bridge: changes here are overwritten.'
IFUPDOWN_DIR = '/etc/network/interfaces.d'
IFUPDOWN_MAIN = '/etc/network/interfaces'
NETPLAN_DIR = '/etc/netplan'
NM_DIR = '/etc/NetworkManager/system-connections'
DEFAULT_DESTINATIONS = ('default', '0.0.0.0/0', '::/0')


class PersistError(ValueError):
    pass


# What each persistence method needs on the node: (method, what to name when it is missing,
# paths or glob patterns of which any one is enough, whether the Open vSwitch package brings it).
PERSIST_REQUIREMENTS = (
    ('netplan', 'the netplan command', ('/usr/sbin/netplan', '/usr/bin/netplan', '/sbin/netplan'), False),
    ('netplan', 'the /etc/netplan directory', (NETPLAN_DIR,), False),
    ('networkmanager', 'nmcli', ('/usr/bin/nmcli', '/bin/nmcli'), False),
    ('networkmanager', 'a running NetworkManager (/run/NetworkManager)', ('/run/NetworkManager',), False),
    ('ifupdown', 'ifup (ifupdown)', ('/sbin/ifup', '/usr/sbin/ifup'), False),
    ('ifupdown', IFUPDOWN_MAIN, (IFUPDOWN_MAIN,), False),
    # Without it ifupdown ignores the ovs_* stanzas: the bridge would come back without its addresses.
    ('ifupdown', "Open vSwitch's ifupdown hook /etc/network/if-pre-up.d/openvswitch (package openvswitch-switch)",
     ('/etc/network/if-pre-up.d/openvswitch',), True),
)
# What shows that the node's network is configured with a method (persist: auto takes the first).
PERSIST_IN_USE = (('netplan', ('%s/*.yaml' % NETPLAN_DIR,)), ('networkmanager', ('/run/NetworkManager',)),
                  ('ifupdown', (IFUPDOWN_MAIN,)))
PERSIST_METHODS = ('netplan', 'networkmanager', 'ifupdown')


def persist_facts(found, ovs_installed=True):
    """``{method: {'missing': [...], 'in_use': bool}}`` from ``found(patterns) -> bool`` (the host seam).

    With ``ovs_installed=False`` (check mode before the ovs role installed Open vSwitch) what
    the Open vSwitch package brings does not count as missing.
    """
    facts = dict((method, {'missing': [], 'in_use': False}) for method in PERSIST_METHODS)
    for method, label, patterns, with_ovs in PERSIST_REQUIREMENTS:
        if not found(patterns) and (ovs_installed or not with_ovs):
            facts[method]['missing'].append(label)
    for method, patterns in PERSIST_IN_USE:
        facts[method]['in_use'] = bool(found(patterns))
    return facts


def choose_persist(requested, facts):
    """The method to use, or a PersistError naming what the node lacks.

    An explicit method is used only when the node can run it; ``auto`` takes netplan where
    /etc/netplan holds configuration, then NetworkManager where it runs, then ifupdown where
    /etc/network/interfaces is used, each only when nothing it needs is missing.
    """
    if requested != 'auto':
        missing = facts[requested]['missing']
        if missing:
            raise PersistError('persist: %s cannot be used on this node: it lacks %s (persist: auto picks a method the '
                               'node can run, persist: none writes nothing)' % (requested, ', '.join(missing)))
        return requested
    reasons = []
    for method in PERSIST_METHODS:
        if not facts[method]['in_use']:
            reasons.append('%s is not in use' % method)
        elif facts[method]['missing']:
            reasons.append('%s lacks %s' % (method, ', '.join(facts[method]['missing'])))
        else:
            return method
    raise PersistError('persist: auto found no netplan, NetworkManager or ifupdown this node can run (%s); install one '
                       'of them or set persist: none' % '; '.join(reasons))


def _token(value, where):
    """``value`` as text that a shell, systemd and a keyfile parser all read as plain data.

    The validator has already refused anything else from the user; this guards the rest (values
    read from the host or from OVSDB, written there by others) at the last moment before a file.
    """
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not safe_value(text):
        raise PersistError('persist: %s: %r cannot be written safely: it %s' % (where, value, SAFE_VALUE_RULE))
    return text


def _name(value, where):
    if not valid_ifname(value):
        raise PersistError('persist: %s: %r is not a valid interface name' % (where, value))
    return value


def _mac(value, where):
    if not isinstance(value, str) or not MAC_RE.fullmatch(value):
        raise PersistError('persist: %s: %r is not a MAC address' % (where, value))
    return value.lower()


def _checked_host_values(addresses, routes):
    problems = []
    for address in addresses:
        problems += host_address_problems(address)
    for route in routes:
        problems += host_route_problems(route)
    if problems:
        raise PersistError('persist: the addresses and routes to write hold values that cannot be written safely: %s'
                           % '; '.join(problems))


def _cidr(address):
    return '%s/%d' % (address['local'], address['prefixlen'])


def _route_words(route, dev):
    words = ['ip', 'route', 'replace']
    dst = route.get('dst', 'default')
    words.append(dst)
    if route.get('gateway'):
        words += ['via', route['gateway']]
    words += ['dev', dev]
    for key, keyword in (('prefsrc', 'src'), ('metric', 'metric'), ('table', 'table'), ('scope', 'scope')):
        if route.get(key) not in (None, '', 'main', 'global'):
            words += [keyword, str(route[key])]
    if 'onlink' in (route.get('flags') or []):
        words.append('onlink')
    # Every word but the device (the literal ${IFACE} ifupdown fills in) is a checked token.
    where = 'route %s' % route.get('dst', 'default')
    return ' '.join(word if word == dev else _token(word, where) for word in words)


def _ovs_port_options(port, where):
    options = []
    if port.get('tag') is not None:
        options.append('tag=%s' % _token(port['tag'], where + '.tag'))
    if port.get('trunks'):
        options.append('trunks=%s' % ','.join(_token(vlan, where + '.trunks') for vlan in port['trunks']))
    if port.get('vlan_mode'):
        options.append('vlan_mode=%s' % _token(port['vlan_mode'], where + '.vlan_mode'))
    return options


def render_ifupdown(bridge, state, uplink_port, addresses, routes):
    """Text of ``/etc/network/interfaces.d/vmnet-<bridge>``.

    ifupdown hands every line to ``/bin/sh`` (``up`` lines, and the OVS hook word-splits
    ``ovs_options``/``ovs_ports`` and ``eval``s ``ovs_extra``): only checked tokens are written,
    and the bridge's own settings go through ``ovs_options``, never ``ovs_extra``.
    """
    _name(bridge, 'bridge name')
    _checked_host_values(addresses, routes)
    port = state['ports'][uplink_port] if uplink_port else None
    if uplink_port:
        _name(uplink_port, 'uplink port')
    # allow-ovs, not auto: the openvswitch-switch init script brings it up once OVS runs
    # (networking starts before Open vSwitch at boot).
    lines = ['# ' + HEADER, 'allow-ovs %s' % bridge]
    families = [('inet', [a for a in addresses if a['family'] == 'inet']),
                ('inet6', [a for a in addresses if a['family'] == 'inet6'])]
    bridge_columns = []
    if state.get('datapath_type'):
        bridge_columns.append('datapath_type=%s' % _token(state['datapath_type'], 'datapath_type'))
    if state.get('other_config', {}).get('hwaddr'):
        bridge_columns.append('other-config:hwaddr=%s' % _mac(state['other_config']['hwaddr'], 'other_config.hwaddr'))
    first = True
    for family, family_addresses in families:
        if not family_addresses and not (first and family == 'inet'):
            continue
        method = 'static' if family_addresses else 'manual'
        lines.append('iface %s %s %s' % (bridge, family, method))
        if family_addresses:
            lines.append('    address %s' % _token(_cidr(family_addresses[0]), 'address'))
            for address in family_addresses[1:]:
                lines.append('    up ip address add %s dev ${IFACE}' % _token(_cidr(address), 'address'))
        family_routes = [r for r in routes if (':' in (r.get('gateway') or r.get('dst', ''))) == (family == 'inet6')]
        for route in family_routes:
            if route.get('dst') in DEFAULT_DESTINATIONS and route.get('gateway') and not route.get('metric') \
                    and not route.get('table') and family_addresses:
                lines.append('    gateway %s' % _token(route['gateway'], 'route gateway'))
            else:
                lines.append('    up %s' % _route_words(route, '${IFACE}'))
        if first:
            lines.append('    ovs_type OVSBridge')
            if uplink_port:
                lines.append('    ovs_ports %s' % uplink_port)
            if bridge_columns:
                # Word-split by the hook after "add-br ${IFACE}": a second command of the same
                # ovs-vsctl run, every word a checked token.
                lines.append('    ovs_options -- set Bridge %s %s' % (bridge, ' '.join(bridge_columns)))
            first = False
        lines.append('')
    if port:
        members = [_name(member, 'uplink member') for member in sorted(port['interfaces'])]
        lines += ['allow-%s %s' % (bridge, uplink_port), 'iface %s inet manual' % uplink_port,
                  '    ovs_bridge %s' % bridge]
        where = 'ports.%s' % uplink_port
        if len(members) > 1:
            lines += ['    ovs_type OVSBond', '    ovs_bonds %s' % ' '.join(members)]
            bond_options = ['bond_mode=%s' % _token(port['bond_mode'], where + '.bond_mode')] if port.get('bond_mode') else []
            bond_options += ['lacp=%s' % _token(port['lacp'], where + '.lacp')] if port.get('lacp') else []
            options = _ovs_port_options(port, where) + bond_options
        else:
            lines.append('    ovs_type OVSPort')
            options = _ovs_port_options(port, where)
        if options:
            lines.append('    ovs_options %s' % ' '.join(options))
        lines.append('')
    return '\n'.join(lines)


def disable_ifupdown_stanzas(text, interfaces, bridge):
    """Comment out ``auto``/``allow-*``/``iface`` stanzas of ``interfaces`` in the main file.

    Returns the new text (unchanged when there is nothing to do). The source line for
    interfaces.d is added when the main file lacks it.
    """
    marker = '# vmnet.kubevirt: moved to OVS bridge %s: ' % bridge
    out, in_stanza = [], False
    names = set(interfaces)
    for line in (text or '').splitlines():
        words = line.split()
        if words and words[0] == 'iface':
            in_stanza = len(words) > 1 and words[1] in names
        elif words and (words[0] in ('auto', 'mapping', 'source', 'source-directory') or words[0].startswith('allow-')):
            in_stanza = False
            if words[0] != 'mapping' and words[0] not in ('source', 'source-directory') and \
                    any(word in names for word in words[1:]):
                kept = [word for word in words[1:] if word not in names]
                out.append(marker + line)
                if kept:
                    out.append('%s %s' % (words[0], ' '.join(kept)))
                continue
        if in_stanza and line.strip():
            out.append(marker + line)
            continue
        out.append(line)
    result = '\n'.join(out) + '\n'
    if not re.search(r'^\s*(source\s+/etc/network/interfaces\.d/\*|source-directory\s+/etc/network/interfaces\.d/?)\s*$',
                     result, re.M):
        result += 'source %s/vmnet-*\n' % IFUPDOWN_DIR
    return result


def restore_ifupdown_stanzas(text, bridge):
    """Undo ``disable_ifupdown_stanzas`` for ``bridge`` (when the bridge is removed)."""
    marker = '# vmnet.kubevirt: moved to OVS bridge %s: ' % bridge
    if text is None or marker not in text:
        return text
    return '\n'.join(line[len(marker):] if line.startswith(marker) else line for line in text.split('\n'))


def _yaml_scalar(value):
    return json.dumps(value)


def _yaml_key(name):
    # Quoted: an interface named "yes", "null" or "0" would otherwise be read as a boolean,
    # a null or a number by YAML.
    return json.dumps(name) + ':'


def _yaml_map(values, where):
    """{key: value} for netplan's openvswitch maps; netplan copies both into ovs-vsctl lines of
    systemd units (ExecStart), so both must be checked tokens."""
    return _yaml_scalar(dict((_token(key, where + ' key'), _token(value, '%s.%s' % (where, key)))
                             for key, value in sorted(values.items())))


def render_netplan(bridge, state, uplink_port, addresses, routes):
    """Text of ``/etc/netplan/60-vmnet-<bridge>.yaml`` (JSON-style YAML flow values)."""
    _name(bridge, 'bridge name')
    _checked_host_values(addresses, routes)
    port = state['ports'][uplink_port] if uplink_port else None
    members = [_name(member, 'uplink member') for member in sorted(port['interfaces'])] if port else []
    lines = ['# ' + HEADER, 'network:', '  version: 2', '  renderer: networkd']
    if members:
        lines.append('  ethernets:')
        for member in members:
            lines += ['    %s' % _yaml_key(member), '      dhcp4: false', '      dhcp6: false', '      accept-ra: false']
    bond_name = _name(uplink_port, 'uplink port') if len(members) > 1 else None
    if bond_name:
        lines += ['  bonds:', '    %s' % _yaml_key(bond_name), '      interfaces: %s' % _yaml_scalar(members),
                  '      parameters:',
                  '        mode: %s' % _yaml_scalar(_token(port.get('bond_mode') or 'active-backup', 'uplink bond_mode'))]
        if port.get('lacp') and port['lacp'] != 'off':
            lines += ['        lacp-rate: fast']
        lines += ['      openvswitch:', '        lacp: %s' % _yaml_scalar(_token(port.get('lacp') or 'off', 'uplink lacp'))]
    lines += ['  bridges:', '    %s' % _yaml_key(bridge)]
    if uplink_port:
        lines.append('      interfaces: %s' % _yaml_scalar([bond_name] if bond_name else members))
    hwaddr = state.get('other_config', {}).get('hwaddr')
    if hwaddr:
        lines.append('      macaddress: %s' % _yaml_scalar(_mac(hwaddr, 'other_config.hwaddr')))
    if addresses:
        lines.append('      addresses: %s' % _yaml_scalar([_token(_cidr(address), 'address') for address in addresses]))
    else:
        lines += ['      dhcp4: false', '      dhcp6: false']
    if routes:
        lines.append('      routes:')
        for route in routes:
            destination = route.get('dst', 'default')
            lines.append('        - to: %s' % _yaml_scalar('default' if destination in DEFAULT_DESTINATIONS else destination))
            if route.get('gateway'):
                lines.append('          via: %s' % _yaml_scalar(route['gateway']))
            for key, word in (('metric', 'metric'), ('table', 'table'), ('prefsrc', 'from'), ('scope', 'scope')):
                if route.get(key) not in (None, '', 'main', 'global'):
                    value = route[key]
                    lines.append('          %s: %s' % (word, value if key in ('metric', 'table') and isinstance(value, int)
                                                       else _yaml_scalar(_token(value, 'route %s' % key))))
            if 'onlink' in (route.get('flags') or []):
                lines.append('          on-link: true')
    lines.append('      openvswitch:')
    if state.get('fail_mode'):
        lines.append('        fail-mode: %s' % _yaml_scalar(_token(state['fail_mode'], 'fail_mode')))
    external_ids = state.get('external_ids') or {}
    other_config = dict((k, v) for k, v in (state.get('other_config') or {}).items() if k != 'hwaddr')
    if external_ids:
        lines.append('        external-ids: %s' % _yaml_map(external_ids, 'external_ids'))
    if other_config:
        lines.append('        other-config: %s' % _yaml_map(other_config, 'other_config'))
    if not (state.get('fail_mode') or external_ids or other_config):
        lines[-1] = '      openvswitch: {}'
    return '\n'.join(lines) + '\n'


def _stable_uuid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, 'vmnet.kubevirt/ovs_bridge/' + '/'.join(parts)))


def _keyfile(sections):
    """A keyfile; every value a checked token (a newline would start a new key or section)."""
    out = ['# ' + HEADER]
    for name, items in sections:
        out.append('[%s]' % name)
        out += ['%s=%s' % (key, _token(value, '%s.%s' % (name, key))) for key, value in items]
        out.append('')
    return '\n'.join(out)


def render_networkmanager(bridge, state, uplink_port, addresses, routes):
    """``{file name: keyfile text}`` for NetworkManager's OVS connection types.

    The bridge's addresses sit on an ovs-interface named like the bridge (NetworkManager's
    model); the uplink is an ovs-port with an ethernet connection enslaved to it.
    """
    _name(bridge, 'bridge name')
    _checked_host_values(addresses, routes)
    files = {}

    def connection(con_id, con_type, interface, master=None, slave_type=None):
        items = [('id', con_id), ('uuid', _stable_uuid(bridge, con_id)), ('type', con_type),
                 ('interface-name', interface), ('autoconnect', 'true')]
        if master:
            items += [('master', master), ('slave-type', slave_type)]
        return ('connection', items)

    files['vmnet-%s.nmconnection' % bridge] = _keyfile([
        connection('vmnet-%s' % bridge, 'ovs-bridge', bridge),
        ('ovs-bridge', [('fail-mode', state['fail_mode'])] if state.get('fail_mode') else []),
    ])
    files['vmnet-%s-port-int.nmconnection' % bridge] = _keyfile([
        connection('vmnet-%s-port-int' % bridge, 'ovs-port', bridge, bridge, 'ovs-bridge'),
        ('ovs-port', []),
    ])
    ipv4 = [a for a in addresses if a['family'] == 'inet']
    ipv6 = [a for a in addresses if a['family'] == 'inet6']

    def ip_section(name, family_addresses, family_routes):
        if not family_addresses:
            return (name, [('method', 'disabled' if name == 'ipv4' else 'ignore')])
        items = [('method', 'manual')]
        items += [('address%d' % (index + 1), _cidr(address)) for index, address in enumerate(family_addresses)]
        index = 0
        for route in family_routes:
            destination = route.get('dst', 'default')
            if destination in DEFAULT_DESTINATIONS and route.get('gateway') and not route.get('table'):
                items.append(('gateway', route['gateway']))
                if route.get('metric'):
                    items.append(('route-metric', str(route['metric'])))
                continue
            index += 1
            value = destination
            if route.get('gateway'):
                value += ',%s' % route['gateway']
            elif route.get('metric') is not None:
                value += ',::' if name == 'ipv6' else ',0.0.0.0'
            if route.get('metric') is not None:
                value += ',%s' % route['metric']
            items.append(('route%d' % index, value))
        return (name, items)

    is6 = [r for r in routes if ':' in (r.get('gateway') or r.get('dst', ''))]
    is4 = [r for r in routes if r not in is6]
    interface_sections = [
        connection('vmnet-%s-if' % bridge, 'ovs-interface', bridge, 'vmnet-%s-port-int' % bridge, 'ovs-port'),
        ('ovs-interface', [('type', 'internal')]),
    ]
    hwaddr = state.get('other_config', {}).get('hwaddr')
    if hwaddr:
        interface_sections.append(('ethernet', [('cloned-mac-address', _mac(hwaddr, 'other_config.hwaddr'))]))
    interface_sections += [ip_section('ipv4', ipv4, is4), ip_section('ipv6', ipv6, is6)]
    files['vmnet-%s-if.nmconnection' % bridge] = _keyfile(interface_sections)
    port = state['ports'].get(uplink_port) if uplink_port else None
    if port:
        port_items = []
        if port.get('tag') is not None:
            port_items.append(('tag', str(port['tag'])))
        if port.get('vlan_mode'):
            port_items.append(('vlan-mode', port['vlan_mode']))
        if port.get('trunks'):
            port_items.append(('trunks', ','.join(str(vlan) for vlan in port['trunks'])))
        members = [_name(member, 'uplink member') for member in sorted(port['interfaces'])]
        if len(members) > 1:
            if port.get('bond_mode'):
                port_items.append(('bond-mode', port['bond_mode']))
            if port.get('lacp'):
                port_items.append(('lacp', port['lacp']))
        port_id = 'vmnet-%s-port-%s' % (bridge, _name(uplink_port, 'uplink port'))
        files['%s.nmconnection' % port_id] = _keyfile([
            connection(port_id, 'ovs-port', uplink_port, bridge, 'ovs-bridge'), ('ovs-port', port_items)])
        for member in members:
            member_id = 'vmnet-%s-%s' % (bridge, member)
            files['%s.nmconnection' % member_id] = _keyfile([
                connection(member_id, 'ethernet', member, port_id, 'ovs-port'), ('ethernet', [])])
    return files


def persistence_files(kind, bridge, state, uplink_port, addresses, routes, main_interfaces_text=None):
    """``[{'path', 'content', 'mode'}]`` for ``kind`` (empty for ``none``)."""
    if kind == 'none' or state is None:
        return []
    if kind == 'ifupdown':
        files = [{'path': '%s/vmnet-%s' % (IFUPDOWN_DIR, bridge), 'mode': 0o644,
                  'content': render_ifupdown(bridge, state, uplink_port, addresses, routes)}]
        if uplink_port:
            members = sorted(state['ports'][uplink_port]['interfaces'])
            names = members + ([uplink_port] if uplink_port not in members else [])
            new_main = disable_ifupdown_stanzas(main_interfaces_text, names, bridge)
            if new_main != main_interfaces_text:
                files.append({'path': IFUPDOWN_MAIN, 'mode': 0o644, 'content': new_main})
        return files
    if kind == 'netplan':
        return [{'path': '%s/60-vmnet-%s.yaml' % (NETPLAN_DIR, bridge), 'mode': 0o600,
                 'content': render_netplan(bridge, state, uplink_port, addresses, routes)}]
    if kind == 'networkmanager':
        rendered = render_networkmanager(bridge, state, uplink_port, addresses, routes)
        return [{'path': '%s/%s' % (NM_DIR, name), 'mode': 0o600, 'content': text}
                for name, text in sorted(rendered.items())]
    raise PersistError('persist: %r must be one of auto, ifupdown, netplan, networkmanager, none' % kind)
