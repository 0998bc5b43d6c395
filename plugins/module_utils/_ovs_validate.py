# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of ``vmnet.kubevirt.ovs_bridge`` parameters (pure, standard library, Python 3.9+).

``normalize_spec(params)`` turns the module parameters into one canonical spec dict or raises
``OvsSpecError`` listing every problem as ``<field>: <value> <rule>``. Nothing here reads the
host: checks that need the host's state (missing NIC, default route) live in ``_ovs_plan``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

# Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no '/', ':' or white space. We are
# stricter (letters, digits, '_', '.', '-', starting with a letter or digit) so names are also
# safe as ovs-vsctl, ip and ifupdown tokens.
IFNAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$')
MAP_KEY_RE = re.compile(r'^[A-Za-z0-9_.:/-]{1,128}$')
VLAN_MODES = ('access', 'trunk', 'native-tagged', 'native-untagged')
PORT_TYPES = ('system', 'internal', 'patch')
BOND_MODES = ('active-backup', 'balance-slb', 'balance-tcp')
LACP_MODES = ('active', 'passive', 'off')
PERSIST_CHOICES = ('auto', 'ifupdown', 'netplan', 'networkmanager', 'none')
DATAPATH_TYPES = ('system', 'netdev')
FAIL_MODES = ('standalone', 'secure')
MAX_VLAN = 4094
MAX_CONFIRM_TIMEOUT = 3600


class OvsSpecError(ValueError):
    """Invalid input; ``errors`` holds one message per problem (field, value, rule)."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(OvsSpecError, self).__init__('; '.join(self.errors))


class _Collector:
    def __init__(self):
        self.errors = []

    def add(self, field, value, rule):
        self.errors.append('%s: %r %s' % (field, value, rule))


def valid_ifname(name):
    return isinstance(name, str) and bool(IFNAME_RE.match(name)) and name not in ('.', '..')


def _check_ifname(errors, field, name):
    if not valid_ifname(name):
        errors.add(field, name, 'is not a valid interface name (1-15 characters: letters, digits, '
                   "'_', '.', '-', starting with a letter or digit)")
        return False
    return True


def _as_int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r'^\s*\d+\s*$', value):
        return int(value)
    return None


def _check_tag(errors, field, value):
    if value is None:
        return None
    tag = _as_int(value)
    if tag is None or not 1 <= tag <= MAX_VLAN:
        errors.add(field, value, 'must be a VLAN id from 1 to %d' % MAX_VLAN)
        return None
    return tag


def parse_trunks(errors, field, value):
    """Trunks as a sorted list of VLAN ids; entries are ids or ``"first-last"`` ranges."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        errors.add(field, value, 'must be a list of VLAN ids or "first-last" ranges')
        return None
    vlans = set()
    for index, entry in enumerate(value):
        where = '%s[%d]' % (field, index)
        single = _as_int(entry)
        if single is not None:
            if not 0 <= single <= MAX_VLAN:
                errors.add(where, entry, 'must be a VLAN id from 0 to %d' % MAX_VLAN)
            else:
                vlans.add(single)
            continue
        match = re.match(r'^\s*(\d+)\s*-\s*(\d+)\s*$', entry) if isinstance(entry, str) else None
        if not match:
            errors.add(where, entry, 'must be a VLAN id (0-%d) or a "first-last" range' % MAX_VLAN)
            continue
        first, last = int(match.group(1)), int(match.group(2))
        if first > last:
            errors.add(where, entry, 'is a range whose first VLAN is greater than its last')
        elif last > MAX_VLAN:
            errors.add(where, entry, 'reaches past VLAN %d' % MAX_VLAN)
        else:
            vlans.update(range(first, last + 1))
    return sorted(vlans)


def _check_vlan_mode(errors, field, value, tag):
    if value is None:
        return None
    if value not in VLAN_MODES:
        errors.add(field, value, 'must be one of %s' % ', '.join(VLAN_MODES))
        return None
    if value == 'access' and tag is None:
        errors.add(field, value, 'needs a tag (the access VLAN)')
    return value


def _check_map(errors, field, value):
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(field, value, 'must be a mapping of strings')
        return None
    result = {}
    for key, item in value.items():
        if not isinstance(key, str) or not MAP_KEY_RE.match(key):
            errors.add('%s key' % field, key, 'must be 1-128 characters of letters, digits, _ . : / -')
            continue
        if item is None:
            result[key] = None  # None removes the key
            continue
        if isinstance(item, (dict, list)):
            errors.add('%s.%s' % (field, key), item, 'must be a string, number, boolean or null (null removes the key)')
            continue
        if isinstance(item, bool):
            item = 'true' if item else 'false'
        result[key] = str(item)
    return result


def _check_address(errors, field, value):
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        errors.add(field, value, 'is not an IPv4 or IPv6 address')
        return None


def parse_endpoint(text):
    """``host:port``, ``[v6]:port`` or ``https://host:port/...`` -> (host, port) or None."""
    if not isinstance(text, str):
        return None
    match = re.match(r'^(?:https?://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})(?:/.*)?$', text.strip())
    if not match:
        return None
    host, port = match.group(1).strip('[]'), int(match.group(2))
    if not 1 <= port <= 65535:
        return None
    return host, port


def _check_probes(errors, value):
    probes = {'gateway': True, 'ping': [], 'tcp': [], 'timeout': 10}
    if value is None:
        return probes
    if not isinstance(value, dict):
        errors.add('probes', value, 'must be a mapping')
        return probes
    unknown = sorted(set(value) - {'gateway', 'ping', 'tcp', 'api_server', 'timeout'})
    for key in unknown:
        errors.add('probes.%s' % key, value[key], 'is not a known probe (gateway, ping, tcp, api_server, timeout)')
    if value.get('gateway') is not None:
        probes['gateway'] = bool(value['gateway'])
    for index, address in enumerate(value.get('ping') or []):
        checked = _check_address(errors, 'probes.ping[%d]' % index, address)
        if checked:
            probes['ping'].append(checked)
    endpoints = [('probes.tcp[%d]' % i, item) for i, item in enumerate(value.get('tcp') or [])]
    if value.get('api_server'):
        endpoints.append(('probes.api_server', value['api_server']))
    for field, item in endpoints:
        endpoint = parse_endpoint(item)
        if endpoint is None:
            errors.add(field, item, 'must be "host:port", "[v6]:port" or "https://host:port" with a port from 1 to 65535')
        else:
            probes['tcp'].append(list(endpoint))
    if value.get('timeout') is not None:
        timeout = _as_int(value['timeout'])
        if timeout is None or not 1 <= timeout <= 600:
            errors.add('probes.timeout', value['timeout'], 'must be a number of seconds from 1 to 600')
        else:
            probes['timeout'] = timeout
    return probes


def _check_bond(errors, value):
    if not isinstance(value, dict):
        errors.add('uplink.bond', value, 'must be a mapping with name and interfaces')
        return None
    bond = {'name': value.get('name'), 'interfaces': [], 'mode': value.get('mode') or 'active-backup',
            'lacp': value.get('lacp') or 'off'}
    _check_ifname(errors, 'uplink.bond.name', bond['name'])
    members = value.get('interfaces')
    if not isinstance(members, list) or len(members) < 2:
        errors.add('uplink.bond.interfaces', members, 'must list at least two interfaces')
    else:
        for index, member in enumerate(members):
            if _check_ifname(errors, 'uplink.bond.interfaces[%d]' % index, member):
                bond['interfaces'].append(member)
        if len(set(bond['interfaces'])) != len(bond['interfaces']):
            errors.add('uplink.bond.interfaces', members, 'lists an interface twice')
    if bond['mode'] not in BOND_MODES:
        errors.add('uplink.bond.mode', bond['mode'], 'must be one of %s' % ', '.join(BOND_MODES))
    if bond['lacp'] not in LACP_MODES:
        errors.add('uplink.bond.lacp', bond['lacp'], 'must be one of %s' % ', '.join(LACP_MODES))
    if bond['mode'] == 'balance-tcp' and bond['lacp'] == 'off':
        errors.add('uplink.bond.mode', 'balance-tcp', 'needs LACP (lacp: active or passive)')
    return bond


def _check_uplink(errors, value):
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add('uplink', value, 'must be a mapping')
        return None
    has_interface, has_bond = bool(value.get('interface')), value.get('bond') is not None
    if has_interface == has_bond:
        errors.add('uplink', sorted(k for k in value if value[k] is not None),
                   'needs exactly one of interface (a NIC) or bond (several NICs)')
        return None
    uplink = {
        'interface': None, 'bond': None,
        'migrate_ip': True if value.get('migrate_ip') is None else bool(value['migrate_ip']),
        'allow_default_route': bool(value.get('allow_default_route')),
    }
    if has_interface:
        if _check_ifname(errors, 'uplink.interface', value['interface']):
            uplink['interface'] = value['interface']
        uplink['port'] = value['interface']
        uplink['members'] = [value['interface']]
    else:
        uplink['bond'] = _check_bond(errors, value['bond'])
        uplink['port'] = uplink['bond']['name'] if uplink['bond'] else None
        uplink['members'] = uplink['bond']['interfaces'] if uplink['bond'] else []
    uplink['tag'] = _check_tag(errors, 'uplink.tag', value.get('tag'))
    uplink['trunks'] = parse_trunks(errors, 'uplink.trunks', value.get('trunks'))
    uplink['vlan_mode'] = _check_vlan_mode(errors, 'uplink.vlan_mode', value.get('vlan_mode'), uplink['tag'])
    return uplink


def _check_port(errors, index, value):
    field = 'ports[%d]' % index
    if isinstance(value, str):
        value = {'name': value}
    if not isinstance(value, dict):
        errors.add(field, value, 'must be a port name or a mapping with name')
        return None
    port = {'name': value.get('name'), 'type': value.get('type') or 'system', 'peer': value.get('peer')}
    _check_ifname(errors, field + '.name', port['name'])
    if port['type'] not in PORT_TYPES:
        errors.add(field + '.type', port['type'], 'must be one of %s' % ', '.join(PORT_TYPES))
    if port['type'] == 'patch':
        if not port['peer']:
            errors.add(field + '.peer', port['peer'], 'is required for a patch port')
        else:
            _check_ifname(errors, field + '.peer', port['peer'])
    elif port['peer']:
        errors.add(field + '.peer', port['peer'], 'is only allowed with type patch')
    port['tag'] = _check_tag(errors, field + '.tag', value.get('tag'))
    port['trunks'] = parse_trunks(errors, field + '.trunks', value.get('trunks'))
    port['vlan_mode'] = _check_vlan_mode(errors, field + '.vlan_mode', value.get('vlan_mode'), port['tag'])
    if port['tag'] is not None and port['trunks'] and port['vlan_mode'] in (None, 'access'):
        errors.add(field + '.trunks', value.get('trunks'), 'cannot go with an access tag; set vlan_mode native-tagged or native-untagged')
    port['external_ids'] = _check_map(errors, field + '.external_ids', value.get('external_ids'))
    port['other_config'] = _check_map(errors, field + '.other_config', value.get('other_config'))
    return port


def normalize_spec(params):
    """Check the module parameters; return the canonical spec or raise ``OvsSpecError``."""
    errors = _Collector()
    name = params.get('name')
    _check_ifname(errors, 'name', name)
    state = params.get('state') or 'present'
    spec = {
        'name': name, 'state': state,
        'datapath_type': params.get('datapath_type'),
        'fail_mode': params.get('fail_mode'),
        'external_ids': _check_map(errors, 'external_ids', params.get('external_ids')),
        'other_config': _check_map(errors, 'other_config', params.get('other_config')),
        'purge_ports': bool(params.get('purge_ports')),
        'uplink': _check_uplink(errors, params.get('uplink')),
        'probes': _check_probes(errors, params.get('probes')),
        'persist': params.get('persist') or 'auto',
        'confirm_timeout': params.get('confirm_timeout'),
        'ports': [],
    }
    if state not in ('present', 'absent'):
        errors.add('state', state, 'must be present or absent')
    if spec['datapath_type'] is not None and spec['datapath_type'] not in DATAPATH_TYPES:
        errors.add('datapath_type', spec['datapath_type'], 'must be one of %s' % ', '.join(DATAPATH_TYPES))
    if spec['fail_mode'] is not None and spec['fail_mode'] not in FAIL_MODES:
        errors.add('fail_mode', spec['fail_mode'], 'must be one of %s' % ', '.join(FAIL_MODES))
    if spec['persist'] not in PERSIST_CHOICES:
        errors.add('persist', spec['persist'], 'must be one of %s' % ', '.join(PERSIST_CHOICES))
    timeout = spec['confirm_timeout']
    timeout = 30 if timeout is None else _as_int(timeout)
    if timeout is None or not 0 <= timeout <= MAX_CONFIRM_TIMEOUT:
        errors.add('confirm_timeout', spec['confirm_timeout'], 'must be a number of seconds from 0 (no confirmation) to %d' % MAX_CONFIRM_TIMEOUT)
    spec['confirm_timeout'] = timeout
    ports = params.get('ports') or []
    if not isinstance(ports, list):
        errors.add('ports', ports, 'must be a list')
        ports = []
    for index, item in enumerate(ports):
        port = _check_port(errors, index, item)
        if port:
            spec['ports'].append(port)
    _check_names_unique(errors, spec)
    if errors.errors:
        raise OvsSpecError(errors.errors)
    return spec


def _check_names_unique(errors, spec):
    seen = {spec['name']: 'name'}
    uplink = spec['uplink']
    if uplink:
        owned = ([uplink['port']] if uplink['bond'] else []) + uplink['members']
        for item in owned:
            if item in seen:
                errors.add('uplink', item, 'is already used as %s' % seen[item])
            elif item:
                seen[item] = 'uplink'
    for index, port in enumerate(spec['ports']):
        if port['name'] in seen:
            errors.add('ports[%d].name' % index, port['name'], 'is already used as %s' % seen[port['name']])
        else:
            seen[port['name']] = 'ports[%d]' % index
