"""Pure parts of the host lab: names, addresses, generated files, output parsing (no I/O)."""
import ipaddress
import json
import os
import re
import shlex

SUBNET = ipaddress.ip_network('10.10.0.0/24')
GATEWAY = '10.10.0.1'
CONTROLLER_IP = '10.10.0.254'
FIRST_NODE_HOST = 10
MAX_NODES = 200
UPLINK = 'eth1'
SWITCH_BRIDGE = 'br0'
LAB_NAME_RE = re.compile(r'^[a-z0-9][a-z0-9-]{0,15}$')
VM_NAME_RE = re.compile(r'^[a-z0-9][a-z0-9-]{0,9}$')


def check_lab_name(name):
    if not isinstance(name, str) or not LAB_NAME_RE.match(name):
        raise ValueError('lab name %r: must match %s (lower-case letters, digits, dashes, at most 16)' % (name, LAB_NAME_RE.pattern))
    return name


def check_node_count(count):
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_NODES:
        raise ValueError('node count %r: must be an integer from 1 to %d' % (count, MAX_NODES))
    return count


def check_vm_name(name):
    if not isinstance(name, str) or not VM_NAME_RE.match(name):
        raise ValueError('VM name %r: must match %s (it names a port of at most 15 characters)' % (name, VM_NAME_RE.pattern))
    return name


def check_vlan_tag(tag):
    if tag is None:
        return None
    if not isinstance(tag, int) or isinstance(tag, bool) or not 0 <= tag <= 4095:
        raise ValueError('vlan_tag %r: must be an integer from 0 to 4095 or None' % (tag,))
    return tag


def check_cidr(cidr):
    try:
        return ipaddress.ip_interface(cidr)
    except ValueError:
        raise ValueError('ip_cidr %r: must be an address with a prefix length, e.g. 192.168.100.11/24' % (cidr,)) from None


NS_TAG_ENV = 'VMNET_LAB_NS_TAG'
NS_TAG_RE = re.compile(r'^[a-z0-9]{1,8}$')


def namespace_prefix(lab_name, tag=None):
    """``vmlab-NAME``, or ``vmlab-TAG-NAME`` when $VMNET_LAB_NS_TAG is set.

    Network namespace names are global to the machine: a tag lets two checkouts run their
    test suites side by side without their labs of the same name colliding.
    """
    tag = os.environ.get(NS_TAG_ENV, '') if tag is None else tag
    if not tag:
        return 'vmlab-%s' % lab_name
    if not NS_TAG_RE.match(tag):
        raise ValueError('%s %r: must match %s' % (NS_TAG_ENV, tag, NS_TAG_RE.pattern))
    return 'vmlab-%s-%s' % (tag, lab_name)


def switch_namespace(lab_name):
    return namespace_prefix(lab_name) + '-sw'


def controller_namespace(lab_name):
    return namespace_prefix(lab_name) + '-ctl'


def node_namespace(lab_name, index):
    return '%s-node%d' % (namespace_prefix(lab_name), index)


def vm_namespace(lab_name, vm_name):
    return '%s-vm-%s' % (namespace_prefix(lab_name), vm_name)


def node_name(index):
    return 'node%d' % index


def node_ip(index):
    return str(SUBNET.network_address + FIRST_NODE_HOST + index)


def node_cidr(index):
    return '%s/%d' % (node_ip(index), SUBNET.prefixlen)


def node_mac(index):
    # A universal (not locally administered) MAC: OVS only copies those to a bridge (pitfall 3).
    high, low = divmod(index, 256)
    return '00:16:3e:10:%02x:%02x' % (high, low)


def switch_port(index):
    """Name of node *index*'s port on the lab switch (inside the switch namespace)."""
    return 'n%d' % index


def vm_port(vm_name):
    """Name of a VM's port on its node (inside the node's namespace, at most 15 characters)."""
    return 'vm-' + vm_name


def etc_hosts(index, count):
    lines = ['127.0.0.1\tlocalhost', '127.0.1.1\t%s' % node_name(index), '%s\tgateway' % GATEWAY, '%s\tcontroller' % CONTROLLER_IP]
    lines += ['%s\t%s' % (node_ip(other), node_name(other)) for other in range(1, count + 1) if other != index]
    lines += ['', '::1\tlocalhost ip6-localhost ip6-loopback', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters']
    return '\n'.join(lines) + '\n'


def network_interfaces(index):
    """The node's /etc/network/interfaces at creation: eth1 static, as an installer writes it."""
    return (
        '# This file describes the network interfaces available on your system\n'
        '# and how to activate them. For more information, see interfaces(5).\n'
        '\n'
        'source /etc/network/interfaces.d/*\n'
        '\n'
        'auto lo\n'
        'iface lo inet loopback\n'
        '\n'
        'auto {uplink}\n'
        'iface {uplink} inet static\n'
        '    address {cidr}\n'
        '    gateway {gateway}\n'
    ).format(uplink=UPLINK, cidr=node_cidr(index), gateway=GATEWAY)


# Sysctls applied at every boot: make the userspace datapath behave like the kernel one, where
# a port enslaved to a bridge no longer answers for addresses moved off it (pitfall 2).
BOOT_SYSCTLS = (
    ('net.ipv4.conf.all.rp_filter', '1'),
    ('net.ipv4.conf.default.rp_filter', '1'),
    ('net.ipv4.conf.all.arp_ignore', '1'),
    ('net.ipv4.conf.default.arp_ignore', '1'),
    ('net.ipv4.conf.all.arp_announce', '2'),
    ('net.ipv4.conf.default.arp_announce', '2'),
)


def sysctl_conf():
    return '# Written by the vmnet lab: imitate the kernel datapath with the userspace one.\n' + ''.join(
        '%s = %s\n' % item for item in BOOT_SYSCTLS)


LSB_FIELD = re.compile(r'^#\s*([A-Za-z][A-Za-z-]*):\s*(.*)$')
NETWORK_FACILITIES = ('networking', '$network')


def lsb_header(text):
    """The ``### BEGIN INIT INFO`` block of an init script -> {field: value}."""
    fields, inside = {}, False
    for line in text.splitlines():
        if line.startswith('### BEGIN INIT INFO'):
            inside = True
        elif line.startswith('### END INIT INFO'):
            break
        elif inside:
            match = LSB_FIELD.match(line)
            if match:
                fields[match.group(1)] = match.group(2).strip()
    return fields


def starts_before_networking(header):
    """What insserv concludes from a header: the script runs before networking (ifupdown)."""
    return any(word in NETWORK_FACILITIES for word in header.get('X-Start-Before', '').split())


def proxy_command(controller_ns):
    return 'ip netns exec %s socat - TCP:%%h:%%p' % controller_ns


def ssh_common_args(controller_ns, known_hosts):
    # ServerAlive x CountMax (3 x 10 s) stays longer than any rollback window the roles use, so a
    # kept connection outlives an uplink move; reboot() closes the node's sessions cleanly.
    options = [
        '-o', 'ProxyCommand=%s' % proxy_command(controller_ns),
        '-o', 'UserKnownHostsFile=%s' % known_hosts,
        '-o', 'StrictHostKeyChecking=yes',
        '-o', 'ServerAliveInterval=3',
        '-o', 'ServerAliveCountMax=10',
        '-o', 'ConnectTimeout=10',
    ]
    return ' '.join(shlex.quote(option) for option in options)


def inventory(lab_name, count, key_file, known_hosts, control_path_dir, python='/usr/bin/python3'):
    """Ansible inventory (JSON is valid YAML) reaching every node over real SSH."""
    hosts = {}
    for index in range(1, count + 1):
        hosts[node_name(index)] = {
            'ansible_host': node_ip(index),
            'vmnet_lab_uplink': UPLINK,
            'vmnet_lab_mgmt_cidr': node_cidr(index),
            'vmnet_lab_gateway': GATEWAY,
            'vmnet_lab_mac': node_mac(index),
        }
    group_vars = {
        'ansible_user': 'root',
        'ansible_connection': 'ssh',
        'ansible_ssh_private_key_file': str(key_file),
        'ansible_ssh_common_args': ssh_common_args(controller_namespace(lab_name), known_hosts),
        'ansible_control_path_dir': str(control_path_dir),
        'ansible_python_interpreter': python,
        'vmnet_lab_name': lab_name,
    }
    return {'all': {'children': {'lab_nodes': {'hosts': hosts, 'vars': group_vars}}}}


def inventory_text(*args, **kwargs):
    return '# Generated by `python -m lab hosts up`: the lab nodes over real SSH.\n' + json.dumps(
        inventory(*args, **kwargs), indent=2, sort_keys=True) + '\n'


RECAP_LINE = re.compile(r'^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$')


def parse_recap(stdout):
    """PLAY RECAP -> {host: {'ok': n, 'changed': n, 'unreachable': n, 'failed': n, ...}}."""
    recap = {}
    lines = stdout.splitlines()
    try:
        start = max(i for i, line in enumerate(lines) if line.startswith('PLAY RECAP'))
    except ValueError:
        return recap
    for line in lines[start + 1:]:
        match = RECAP_LINE.match(line.strip())
        if not match:
            if line.strip():
                break
            continue
        counts = dict(item.split('=') for item in match.group('counts').split())
        recap[match.group('host')] = {key: int(value) for key, value in counts.items()}
    return recap


PING_REPLY = re.compile(r'^\[(?P<ts>\d+\.\d+)\].*icmp_seq=(?P<seq>\d+)')
PING_SUMMARY = re.compile(r'(?P<sent>\d+) packets transmitted, (?P<received>\d+) received')


def reply_times(output):
    """Epoch times of the echo replies in ``ping -D`` output, in order."""
    times = []
    for line in output.splitlines():
        match = PING_REPLY.match(line)
        if match and 'bytes from' in line:
            times.append(float(match.group('ts')))
    return sorted(times)


def window_gap_ms(times, start, end):
    """Longest silence (ms) between consecutive replies that overlaps the window [start, end].

    A move that cuts a node off shows as a silence inside the window; silences wholly outside the window belong to something else (the machine busy
    with other nodes' work) and are not counted. No reply at all around the window counts as
    the whole window; replies that stop inside it and never resume count up to its end.
    """
    before = [t for t in times if t <= start]
    inside = [t for t in times if start < t < end]
    after = [t for t in times if t >= end]
    points = (before[-1:] or [start]) + inside + (after[:1] or [end])
    return round(max(later - earlier for earlier, later in zip(points, points[1:])) * 1000.0, 1)


def ping_gaps(output, started, stopped):
    """Longest gap (ms) between consecutive replies (and the ends of the window) and lost count."""
    times = reply_times(output)
    summary = PING_SUMMARY.search(output)
    sent = int(summary.group('sent')) if summary else 0
    received = int(summary.group('received')) if summary else len(times)
    points = sorted(times)
    gaps = [later - earlier for earlier, later in zip(points, points[1:])]
    if not points:
        gaps.append(stopped - started)
    longest = max(gaps) if gaps else 0.0
    return {'longest_gap_ms': round(longest * 1000.0, 1), 'lost': max(sent - received, 0), 'sent': sent, 'received': received}


def ovs_rows(json_text):
    """`ovs-vsctl -f json list TABLE` -> list of {column: python value}."""
    data = json.loads(json_text)
    return [{column: ovs_value(value) for column, value in zip(data['headings'], row)} for row in data['data']]


def ovs_value(value):
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, payload = value
        if kind == 'set':
            return [ovs_value(item) for item in payload]
        if kind == 'map':
            return {ovs_value(key): ovs_value(item) for key, item in payload}
        if kind == 'uuid':
            return ('uuid', payload)
        if kind == 'named-uuid':
            return ('uuid', payload)
    return value


def ovs_snapshot(bridges, ports, interfaces):
    """Bridges with their ports and interfaces, uuids replaced by names, for exact comparisons."""
    def uuid_of(row):
        return row['_uuid'][1]

    def names(value, by_uuid):
        items = value if isinstance(value, list) else [value]
        return sorted(by_uuid[item[1]]['name'] for item in items if isinstance(item, tuple) and item[1] in by_uuid)

    def scalar(value):
        # OVS encodes "not set" as an empty set.
        return None if value == [] else value

    interface_by_uuid = {uuid_of(row): row for row in interfaces}
    port_by_uuid = {uuid_of(row): row for row in ports}
    snapshot = {}
    for bridge in bridges:
        bridge_ports = {}
        for port_name in names(bridge['ports'], port_by_uuid):
            port = next(row for row in ports if row['name'] == port_name)
            port_interfaces = {}
            for interface_name in names(port['interfaces'], interface_by_uuid):
                interface = next(row for row in interfaces if row['name'] == interface_name)
                port_interfaces[interface_name] = {
                    'type': interface['type'], 'options': interface['options'],
                    'mac': scalar(interface.get('mac')), 'external_ids': interface['external_ids'],
                }
            bridge_ports[port_name] = {
                'tag': scalar(port['tag']), 'trunks': port['trunks'] if isinstance(port['trunks'], list) else [port['trunks']],
                'vlan_mode': scalar(port['vlan_mode']), 'external_ids': port['external_ids'],
                'other_config': port['other_config'], 'interfaces': port_interfaces,
            }
        snapshot[bridge['name']] = {
            'datapath_type': bridge['datapath_type'], 'fail_mode': scalar(bridge['fail_mode']),
            'other_config': bridge['other_config'], 'external_ids': bridge['external_ids'], 'ports': bridge_ports,
        }
    return snapshot


def ip_snapshot(addresses_json, routes_json, links_json):
    """`ip -j addr`, `ip -j route show table all`, `ip -j -d link` -> comparable dicts."""
    addresses = {}
    for link in json.loads(addresses_json):
        cidrs = sorted('%s/%s' % (info['local'], info['prefixlen']) for info in link.get('addr_info', [])
                       if info.get('scope') != 'link')
        addresses[link['ifname']] = cidrs
    routes = []
    for route in json.loads(routes_json):
        if route.get('table') == 'local' or route.get('type') in ('local', 'broadcast', 'multicast'):
            continue
        if str(route.get('dst', '')).startswith('fe80') or route.get('dst') == 'ff00::/8':
            continue
        routes.append({key: route.get(key) for key in ('dst', 'gateway', 'dev', 'table', 'protocol', 'scope', 'metric', 'prefsrc')})
    routes.sort(key=lambda item: json.dumps(item, sort_keys=True))
    links = {}
    for link in json.loads(links_json):
        links[link['ifname']] = {
            'mac': link.get('address'), 'mtu': link.get('mtu'), 'up': 'UP' in link.get('flags', []),
            'master': link.get('master'), 'kind': (link.get('linkinfo') or {}).get('info_kind'),
        }
    return {'addresses': addresses, 'routes': routes, 'links': links}
