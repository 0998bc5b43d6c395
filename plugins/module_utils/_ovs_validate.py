# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of ``vmnet.kubevirt.ovs_bridge`` parameters (pure, standard library, Python 3.9+).

``normalize_spec(params)`` turns the module parameters into one canonical spec dict or raises
``OvsSpecError`` listing every problem as ``<field>: <value> <rule>``. Nothing here reads the
host: checks that need the host's state (missing NIC, default route) live in ``_ovs_plan``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.vmnet.kubevirt.plugins.module_utils._iface_names import valid_ifname  # noqa: F401 (the one interface-name rule)
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import Problems

# Every rule here is matched with fullmatch: '$' would let a trailing newline through.
MAP_KEY_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}')
# The one charset for values without a documented type, and for every token the persistence
# files hold: no white space, quotes, backslash, '$', '`', '%', ';', '&', '|', '<', '>', '#',
# '*', '?', '[', brackets or non-ASCII, so neither a shell (ifupdown runs its lines through
# /bin/sh), nor systemd (netplan's OVS units), nor a keyfile parser gives any of it a meaning.
SAFE_VALUE_RE = re.compile(r'[A-Za-z0-9_.:/,=+@-]{1,256}')
SAFE_VALUE_RULE = "must be 1-256 characters of ASCII letters, digits and _ . : / , = + @ -"
MAC_RE = re.compile(r'[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}')
DIGITS_RE = re.compile(r'[0-9]{1,10}')
VLAN_RANGE_RE = re.compile(r'([0-9]{1,4})-([0-9]{1,4})')
VLAN_MODES = ('access', 'trunk', 'native-tagged', 'native-untagged')
PORT_TYPES = ('system', 'internal', 'patch')
BOND_MODES = ('active-backup', 'balance-slb', 'balance-tcp')
LACP_MODES = ('active', 'passive', 'off')
PERSIST_CHOICES = ('auto', 'ifupdown', 'netplan', 'networkmanager', 'none')
DATAPATH_TYPES = ('system', 'netdev')
FAIL_MODES = ('standalone', 'secure')
MAX_VLAN = 4094
MAX_CONFIRM_TIMEOUT = 3600
INT64 = 2 ** 63 - 1

# The options of each nested mapping (the module's argument spec refuses the same keys; this
# repeats it for callers that do not go through AnsibleModule, such as the roles' own checks).
TOP_OPTIONS = ('name', 'state', 'datapath_type', 'fail_mode', 'uplink', 'ports', 'purge_ports', 'external_ids',
               'other_config', 'confirm_timeout', 'probes', 'persist')
UPLINK_OPTIONS = ('interface', 'bond', 'migrate_ip', 'allow_default_route', 'tag', 'trunks', 'vlan_mode')
BOND_OPTIONS = ('name', 'interfaces', 'mode', 'lacp')
PORT_OPTIONS = ('name', 'type', 'peer', 'tag', 'trunks', 'vlan_mode', 'external_ids', 'other_config')
PROBE_OPTIONS = ('gateway', 'ping', 'tcp', 'api_server', 'timeout')

# Keys Open vSwitch documents for the columns this module writes (ovs-vswitchd.conf.db(5)),
# with the type of their values: ('int', low, high), ('bool',), ('choice', ...), ('mac',),
# ('unicast_mac',), ('nonzero_mac',), ('datapath_id',), ('ifname',), ('text', max length).
# Keys not listed get SAFE_VALUE_RE.
BRIDGE_OTHER_CONFIG = {
    'hwaddr': ('unicast_mac',),
    'datapath-id': ('datapath_id',),
    'dp-desc': ('text', 255),
    'dp-sn': ('text', 31),
    'disable-in-band': ('bool',),
    'in-band-queue': ('int', 0, 4294967295),
    'controller-queue-size': ('int', 1, 512),
    'stp-system-id': ('mac',),
    'stp-priority': ('int', 0, 65535),
    'stp-hello-time': ('int', 1, 10),
    'stp-max-age': ('int', 6, 40),
    'stp-forward-delay': ('int', 4, 30),
    'mcast-snooping-aging-time': ('int', 1, INT64),
    'mcast-snooping-table-size': ('int', 1, INT64),
    'mcast-snooping-disable-flood-unregistered': ('bool',),
    'rstp-address': ('mac',),
    'rstp-priority': ('int', 0, 61440),
    'rstp-ageing-time': ('int', 10, 1000000),
    'rstp-force-protocol-version': ('int', 0, INT64),
    'rstp-max-age': ('int', 6, 40),
    'rstp-forward-delay': ('int', 4, 30),
    'rstp-transmit-hold-count': ('int', 1, 10),
    'forward-bpdu': ('bool',),
    'mac-aging-time': ('int', 1, INT64),
    'mac-table-size': ('int', 1, INT64),
}
BRIDGE_EXTERNAL_IDS = {'bridge-id': ('text', 256)}
PORT_OTHER_CONFIG = {
    'qinq-ethtype': ('choice', '802.1ad', '802.1q'),
    'priority-tags': ('choice', 'always', 'if-nonzero', 'never'),
    'bond-hash-basis': ('int', 0, INT64),
    'lb-output-action': ('bool',),
    'bond-primary': ('ifname',),
    'all-members-active': ('bool',),
    'bond-detect-mode': ('choice', 'carrier', 'miimon'),
    'bond-miimon-interval': ('int', 0, INT64),
    'lacp-system-id': ('nonzero_mac',),
    'lacp-system-priority': ('int', 1, 65535),
    'lacp-time': ('choice', 'fast', 'slow'),
    'lacp-fallback-ab': ('bool',),
    'bond-rebalance-interval': ('int', 0, 2147483647),
    'stp-enable': ('bool',),
    'stp-port-num': ('int', 1, 255),
    'stp-port-priority': ('int', 0, 255),
    'stp-path-cost': ('int', 0, 65535),
    'rstp-enable': ('bool',),
    'rstp-port-priority': ('int', 0, 240),
    'rstp-port-num': ('int', 1, 4095),
    'rstp-path-cost': ('int', 0, INT64),
    'rstp-port-admin-edge': ('bool',),
    'rstp-port-auto-edge': ('bool',),
    'rstp-port-mcheck': ('bool',),
    'mcast-snooping-flood': ('bool',),
    'mcast-snooping-flood-reports': ('bool',),
    'transient': ('bool',),
}
PORT_EXTERNAL_IDS = {}


class OvsSpecError(ValueError):
    """Invalid input; ``errors`` holds one message per problem (field, value, rule)."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(OvsSpecError, self).__init__('; '.join(self.errors))


def safe_value(value):
    """True for a string every persistence format and command line can hold as it is."""
    return isinstance(value, str) and bool(SAFE_VALUE_RE.fullmatch(value))


def _check_ifname(errors, field, name):
    if not valid_ifname(name):
        errors.add(field, name, 'is not a valid interface name (1-15 characters: ASCII letters, digits, '
                   "'_', '.', '-', starting with a letter or digit)")
        return False
    return True


def _check_unknown(errors, where, value, known):
    """Refuse keys no option has: a misspelt key must not vanish silently."""
    for key in sorted((k for k in value if k not in known), key=str):
        errors.add('%s%s' % (where + '.' if where else '', key), value[key],
                   'is not a known option of %s (known: %s)' % (where or 'ovs_bridge', ', '.join(known)))


def _as_int(value):
    """An int, or a string of ASCII digits; never a bool, a float or other digits of Unicode."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and DIGITS_RE.fullmatch(value):
        return int(value)
    return None


def _check_bool(errors, field, value, default):
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.add(field, value, 'must be true or false')
        return default
    return value


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
        match = VLAN_RANGE_RE.fullmatch(entry) if isinstance(entry, str) else None
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


def _check_choice(errors, field, value, choices):
    if value is not None and (not isinstance(value, str) or value not in choices):
        errors.add(field, value, 'must be one of %s' % ', '.join(choices))
        return None
    return value


def _typed_value(kind, value):
    """(value as OVSDB stores it, None) or (None, the rule it broke) for one documented key."""
    name = kind[0]
    if name == 'int':
        low, high = kind[1], kind[2]
        number = _as_int(value)
        if number is None or not low <= number <= high:
            if high == INT64:
                return None, 'must be an integer of at least %d' % low
            return None, 'must be an integer from %d to %d' % (low, high)
        return str(number), None
    if name == 'bool':
        if isinstance(value, bool):
            return ('true' if value else 'false'), None
        if value in ('true', 'false'):
            return value, None
        return None, 'must be true or false'
    if name == 'choice':
        if isinstance(value, str) and value in kind[1:]:
            return value, None
        return None, 'must be one of %s' % ', '.join(kind[1:])
    if name in ('mac', 'unicast_mac', 'nonzero_mac'):
        if not isinstance(value, str) or not MAC_RE.fullmatch(value):
            return None, 'is not a MAC address (six pairs of hexadecimal digits separated by colons)'
        mac = value.lower()
        if name != 'mac' and mac == '00:00:00:00:00:00':
            return None, 'must be a unicast MAC address other than 00:00:00:00:00:00'
        if name == 'unicast_mac' and int(mac[:2], 16) & 1:
            return None, 'must be a unicast MAC address other than 00:00:00:00:00:00 (its first octet is a multicast one)'
        return mac, None
    if name == 'datapath_id':
        text = value if isinstance(value, str) else ''
        digits = text[2:] if text.startswith('0x') else (text if len(text) == 16 else '')
        if not re.fullmatch(r'[0-9A-Fa-f]{1,16}', digits) or int(digits, 16) == 0:
            return None, 'must be 16 hexadecimal digits or 0x and up to 16 of them, not all zero'
        return text, None
    if name == 'ifname':
        if valid_ifname(value):
            return value, None
        return None, 'is not a valid interface name'
    if name == 'text':
        if isinstance(value, str) and SAFE_VALUE_RE.fullmatch(value) and len(value) <= kind[1]:
            return value, None
        return None, 'must be 1-%d characters of ASCII letters, digits and _ . : / , = + @ - (no spaces)' % kind[1]
    raise ValueError('unknown value type %r' % (kind,))


def _check_map(errors, field, value, known=None):
    """other_config / external_ids: documented keys get their type, others SAFE_VALUE_RE."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(field, value, 'must be a mapping of strings')
        return None
    known = known or {}
    result = {}
    for key, item in value.items():
        if not isinstance(key, str) or not MAP_KEY_RE.fullmatch(key):
            errors.add('%s key' % field, key, 'must be 1-128 characters of ASCII letters, digits, _ . : / -, starting with a letter or digit')
            continue
        where = '%s.%s' % (field, key)
        if item is None:
            result[key] = None  # None removes the key
            continue
        if key in known:
            checked, rule = _typed_value(known[key], item)
            if rule:
                errors.add(where, item, rule + ' (Open vSwitch documents this key)')
            else:
                result[key] = checked
            continue
        if isinstance(item, bool):
            item = 'true' if item else 'false'
        elif isinstance(item, int):
            item = str(item)
        elif not isinstance(item, str):
            errors.add(where, item, 'must be a string, an integer or a boolean (null removes the key)')
            continue
        if not SAFE_VALUE_RE.fullmatch(item):
            errors.add(where, item, SAFE_VALUE_RULE)
            continue
        result[key] = item
    return result


def _check_address(errors, field, value):
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return str(ipaddress.ip_address(value))
    except ValueError:
        errors.add(field, value, 'is not an IPv4 or IPv6 address')
        return None


HOSTNAME = r'[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*'
ENDPOINT_RE = re.compile(r'(?:https?://)?(\[[0-9A-Fa-f:.]+\]|%s):([0-9]{1,5})(?:/[A-Za-z0-9._~/-]*)?' % HOSTNAME)


def parse_endpoint(text):
    """``host:port``, ``[v6]:port`` or ``https://host:port/...`` -> (host, port) or None."""
    if not isinstance(text, str):
        return None
    match = ENDPOINT_RE.fullmatch(text)
    if not match:
        return None
    host, port = match.group(1), int(match.group(2))
    if host.startswith('['):
        try:
            host = str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            return None
    if not 1 <= port <= 65535:
        return None
    return host, port


def _list_of(errors, field, value):
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(field, value, 'must be a list')
        return []
    return value


def _known_mapping(errors, field, value, known, rule='must be a mapping'):
    """``value`` when it is a mapping (its unknown keys are problems); None when it is absent or no mapping."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(field, value, rule)
        return None
    _check_unknown(errors, field, value, known)
    return value


def _check_probes(errors, value):
    probes = {'gateway': True, 'ping': [], 'tcp': [], 'timeout': 10}
    value = _known_mapping(errors, 'probes', value, PROBE_OPTIONS)
    if value is None:
        return probes
    probes['gateway'] = _check_bool(errors, 'probes.gateway', value.get('gateway'), True)
    for index, address in enumerate(_list_of(errors, 'probes.ping', value.get('ping'))):
        checked = _check_address(errors, 'probes.ping[%d]' % index, address)
        if checked:
            probes['ping'].append(checked)
    endpoints = [('probes.tcp[%d]' % i, item) for i, item in enumerate(_list_of(errors, 'probes.tcp', value.get('tcp')))]
    if value.get('api_server') is not None:
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
    value = _known_mapping(errors, 'uplink.bond', value, BOND_OPTIONS, 'must be a mapping with name and interfaces')
    if value is None:
        return None
    bond = {'name': value.get('name'), 'interfaces': [],
            'mode': _check_choice(errors, 'uplink.bond.mode', value.get('mode') or 'active-backup', BOND_MODES),
            'lacp': _check_choice(errors, 'uplink.bond.lacp', value.get('lacp') or 'off', LACP_MODES)}
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
    if bond['mode'] == 'balance-tcp' and bond['lacp'] == 'off':
        errors.add('uplink.bond.mode', 'balance-tcp', 'needs LACP (lacp: active or passive)')
    return bond


def _check_uplink(errors, value):
    value = _known_mapping(errors, 'uplink', value, UPLINK_OPTIONS)
    if value is None:
        return None
    has_interface, has_bond = bool(value.get('interface')), value.get('bond') is not None
    if has_interface == has_bond:
        errors.add('uplink', sorted(k for k in value if value[k] is not None),
                   'needs exactly one of interface (a NIC) or bond (several NICs)')
        return None
    uplink = {
        'interface': None, 'bond': None,
        'migrate_ip': _check_bool(errors, 'uplink.migrate_ip', value.get('migrate_ip'), True),
        'allow_default_route': _check_bool(errors, 'uplink.allow_default_route', value.get('allow_default_route'), False),
    }
    if has_interface:
        if _check_ifname(errors, 'uplink.interface', value['interface']):
            uplink['interface'] = value['interface']
        uplink['port'] = uplink['interface']
        uplink['members'] = [uplink['interface']] if uplink['interface'] else []
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
    for key in sorted((k for k in value if k not in PORT_OPTIONS), key=str):
        errors.add('%s.%s' % (field, key), value[key], 'is not a known option of ports[] (known: %s)' % ', '.join(PORT_OPTIONS))
    port = {'name': value.get('name'), 'type': _check_choice(errors, field + '.type', value.get('type') or 'system', PORT_TYPES),
            'peer': value.get('peer')}
    _check_ifname(errors, field + '.name', port['name'])
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
    port['external_ids'] = _check_map(errors, field + '.external_ids', value.get('external_ids'), PORT_EXTERNAL_IDS)
    port['other_config'] = _check_map(errors, field + '.other_config', value.get('other_config'), PORT_OTHER_CONFIG)
    return port


def normalize_spec(params):
    """Check the module parameters; return the canonical spec or raise ``OvsSpecError``."""
    errors = Problems()
    _check_unknown(errors, '', params, TOP_OPTIONS)
    name = params.get('name')
    _check_ifname(errors, 'name', name)
    state = params.get('state') or 'present'
    spec = {
        'name': name, 'state': state,
        'datapath_type': _check_choice(errors, 'datapath_type', params.get('datapath_type'), DATAPATH_TYPES),
        'fail_mode': _check_choice(errors, 'fail_mode', params.get('fail_mode'), FAIL_MODES),
        'external_ids': _check_map(errors, 'external_ids', params.get('external_ids'), BRIDGE_EXTERNAL_IDS),
        'other_config': _check_map(errors, 'other_config', params.get('other_config'), BRIDGE_OTHER_CONFIG),
        'purge_ports': _check_bool(errors, 'purge_ports', params.get('purge_ports'), False),
        'uplink': _check_uplink(errors, params.get('uplink')),
        'probes': _check_probes(errors, params.get('probes')),
        'persist': _check_choice(errors, 'persist', params.get('persist') or 'auto', PERSIST_CHOICES),
        'confirm_timeout': params.get('confirm_timeout'),
        'ports': [],
    }
    if not isinstance(state, str) or state not in ('present', 'absent'):
        errors.add('state', state, 'must be present or absent')
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
    if errors.items:
        raise OvsSpecError(errors.items)
    return spec


def _check_names_unique(errors, spec):
    seen = {spec['name']: 'name'} if isinstance(spec['name'], str) else {}
    uplink = spec['uplink']
    if uplink:
        owned = ([uplink['port']] if uplink['bond'] else []) + uplink['members']
        for item in owned:
            if item in seen:
                errors.add('uplink', item, 'is already used as %s' % seen[item])
            elif item:
                seen[item] = 'uplink'
    for index, port in enumerate(spec['ports']):
        if not isinstance(port['name'], str):
            continue
        if port['name'] in seen:
            errors.add('ports[%d].name' % index, port['name'], 'is already used as %s' % seen[port['name']])
        else:
            seen[port['name']] = 'ports[%d]' % index


# ---------------------------------------------------------------- values read from the host

ROUTE_WORD_RE = re.compile(r'[A-Za-z0-9_-]{1,32}')


def _ip_ok(value):
    try:
        return isinstance(value, str) and bool(ipaddress.ip_address(value))
    except ValueError:
        return False


def _destination_ok(value):
    if value in ('default', '0.0.0.0/0', '::/0'):
        return True
    try:
        return isinstance(value, str) and bool(ipaddress.ip_network(value, strict=False))
    except ValueError:
        return False


def _number_or_word(value):
    return (isinstance(value, int) and not isinstance(value, bool) and value >= 0) or \
        (isinstance(value, str) and bool(ROUTE_WORD_RE.fullmatch(value)))


ROUTE_FIELD_RULES = (
    ('dst', _destination_ok, "a destination ('default' or a network)"),
    ('gateway', _ip_ok, 'an IP address'),
    ('prefsrc', _ip_ok, 'an IP address'),
    ('dev', valid_ifname, 'an interface name'),
    ('metric', lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 0, 'a non-negative integer'),
    ('table', _number_or_word, 'a table number or name'),
    ('protocol', _number_or_word, 'a protocol number or name'),
    ('scope', _number_or_word, 'a scope number or name'),
)


def host_route_problems(route):
    """Why a route read from the host cannot be written into ip -batch lines or persistence files.

    The values come from the kernel (``ip -j route``), but names of tables and protocols come
    from files under /etc/iproute2 that anyone with root may have written: they get the same
    rules as user input before they reach a line a parser (or a shell, with ifupdown) reads.
    """
    problems = []
    for key, rule, text in ROUTE_FIELD_RULES:
        if route.get(key) is not None and not rule(route[key]):
            problems.append('route %s: %r is not %s' % (key, route[key], text))
    flags = route.get('flags') or []
    if not isinstance(flags, list) or not all(isinstance(flag, str) and ROUTE_WORD_RE.fullmatch(flag) for flag in flags):
        problems.append('route flags: %r are not a list of words' % (route.get('flags'),))
    return problems


def host_address_problems(address):
    """The same for an address read from the host (``ip -j addr``)."""
    problems = []
    if not _ip_ok(address.get('local')):
        problems.append('address local: %r is not an IP address' % (address.get('local'),))
    prefixlen = address.get('prefixlen')
    limit = 128 if ':' in str(address.get('local')) else 32
    if not isinstance(prefixlen, int) or isinstance(prefixlen, bool) or not 0 <= prefixlen <= limit:
        problems.append('address prefixlen: %r is not a prefix length from 0 to %d' % (prefixlen, limit))
    if address.get('broadcast') is not None and not _ip_ok(address['broadcast']):
        problems.append('address broadcast: %r is not an IP address' % (address['broadcast'],))
    if not valid_ifname(address.get('dev')):
        problems.append('address dev: %r is not an interface name' % (address.get('dev'),))
    return problems


# ---------------------------------------------------------------- ovs_fabric_port

def _strict_int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _fabric_address_fits(cidr, index):
    network = ipaddress.ip_network(cidr, strict=True)
    return 0 <= index and index + 2 <= network.num_addresses


def fabric_port_problems(params):
    """Messages naming the field, the value and the rule for ``ovs_fabric_port``'s parameters."""
    errors = Problems()
    for field in ('bridge', 'name'):
        _check_ifname(errors, field, params.get(field))
    vlan = _strict_int(params.get('vlan'))
    if vlan is None or not 1 <= vlan <= MAX_VLAN:
        errors.add('vlan', params.get('vlan'), 'must be a VLAN id from 1 to %d' % MAX_VLAN)
    for field, low, high in (('count', 1, 100), ('wait', 1, 60)):
        number = _strict_int(params.get(field))
        if number is None or not low <= number <= high:
            errors.add(field, params.get(field), 'must be an integer from %d to %d' % (low, high))
    cidr = params.get('cidr')
    try:
        if not isinstance(cidr, str):
            raise ValueError(cidr)
        ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        errors.add('cidr', cidr, 'must be a network (address/prefix length with no host bits set)')
        cidr = None
    indexes = [('host_index', params.get('host_index'), 'must be an integer of at least 0')]
    peers = params.get('peers')
    if peers is None:
        peers = {}
    if not isinstance(peers, dict):
        errors.add('peers', peers, "must be a mapping of peer name to the peer's host_index")
        peers = {}
    for peer, index in sorted(peers.items(), key=lambda item: str(item[0])):
        indexes.append(('peers.%s' % peer, index, "must be the peer's host_index (an integer of at least 0)"))
    for field, index, rule in indexes:
        if _strict_int(index) is None or index < 0:
            errors.add(field, index, rule)
        elif cidr and not _fabric_address_fits(cidr, index):
            errors.add(field, index, 'does not fit in cidr %s' % cidr)
    return errors.items
