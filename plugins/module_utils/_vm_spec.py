# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure validation and normalisation of vm_network input (no I/O).

``normalize_request(params)`` turns the module's parameters (one VM by ``name`` +
``namespace``, or many by ``vms:``, where top-level options are defaults for each entry) into
a list of normalised VM entries, and collects every problem at once. Each problem names the
field (``vms[2].nics[1].multus_cr``), the value and the rule it broke, so nothing is written
to the cluster while any problem remains.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ipmath
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _k8s_names as names
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import Problems

MODES = ('masquerade', 'bridge')
STATES = ('present', 'absent')
RUN_STRATEGIES = ('Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once')
LIVE_MIGRATION = ('required', 'preferred', 'ignore')
NIC_MODELS = ('e1000', 'e1000e', 'igb', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio')
# KubeVirt's admission (pkg/network/admitter, validateForwardPortProtocol) takes TCP and UDP only.
PORT_PROTOCOLS = ('TCP', 'UDP')
DISK_TYPES = ('container_disk', 'pvc', 'data_volume')
DISK_BUSES = ('virtio', 'sata', 'scsi', 'usb')
ACCESS_MODES = ('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod')
# KubeVirt's migration proxy listens on these ports inside the virt-launcher pod.
MIGRATION_PORTS = (49152, 49153)
# KubeVirt reserves this MAC for masquerade's in-pod bridge.
MASQUERADE_RESERVED_MAC = '02:00:00:00:00:00'
MASQUERADE_NIC = 'default'
# Where cloud-init user data goes: auto = a Secret when it holds a secret (a password, or your own user_data, which
# the module cannot read), else inline; secret = always a Secret; inline = always in the VM spec.
USER_DATA_PLACES = ('auto', 'secret', 'inline')

# Per-VM options: given at the top level they are defaults for every entry of ``vms``.
VM_OPTIONS = ('name', 'namespace', 'state', 'network_mode', 'nics', 'ports', 'live_migration', 'run_strategy',
              'cpu_cores', 'memory', 'disk', 'cloud_init', 'labels', 'annotations', 'spec', 'dns')
# KubeVirt's admission limits for the VMI's dnsConfig (vmi-create-admitter: maxDNSNameservers and friends).
MAX_DNS_SERVERS, MAX_DNS_SEARCHES, MAX_DNS_SEARCH_CHARS = 3, 6, 256
DEFAULTS = {'state': 'present', 'network_mode': 'masquerade', 'live_migration': 'preferred', 'run_strategy': 'Always',
            'cpu_cores': 1, 'memory': '1Gi'}

DNS1123_LABEL = names.DNS1123_LABEL
DNS1123_SUBDOMAIN = names.DNS1123_SUBDOMAIN
NIC_NAME = re.compile(r'^[A-Za-z0-9_-]+\Z')
MAC = re.compile(r'^([0-9A-Fa-f]{2})([:-][0-9A-Fa-f]{2}){5}\Z')
QUANTITY = re.compile(r'^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?\Z')


def derive_mac(namespace, vm_name, nic_name):
    """A stable MAC for a NIC: locally administered, unicast, never masquerade's reserved one.

    Derived from ``namespace/vm/nic`` so a re-run (or another controller node) gets the same
    address, and two NICs or two VMs practically never collide.
    """
    digest = bytearray(hashlib.sha256(('%s/%s/%s' % (namespace, vm_name, nic_name)).encode('utf-8')).digest()[:6])
    digest[0] = (digest[0] & 0xFC) | 0x02  # clear multicast bit, set locally-administered bit
    mac = ':'.join('%02x' % b for b in digest)
    if mac == MASQUERADE_RESERVED_MAC:  # astronomically unlikely; keep the rule absolute anyway
        mac = '02:00:00:00:00:01'
    return mac


def normalize_mac(text):
    return text.replace('-', ':').lower()


def split_multus_ref(ref, default_namespace):
    """``ns/name`` or ``name`` (the VM's namespace) -> (namespace, name)."""
    if '/' in ref:
        namespace, name = ref.split('/', 1)
        return namespace, name
    return default_namespace, ref


DNS_NAME_RULES = {
    'label': (DNS1123_LABEL, 'a DNS-1123 label (lower-case letters, digits and "-", starting and ending with a letter or digit, '
                             'at most %d characters)'),
    'subdomain': (DNS1123_SUBDOMAIN, 'a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most %d characters)'),
}


def _check_dns_name(problems, field, value, what, kind, max_len):
    if not isinstance(value, str) or not value:
        problems.add(field, value, 'is required: %s must be a non-empty string' % what)
        return False
    pattern, rule = DNS_NAME_RULES[kind]
    if len(value) > max_len or not pattern.match(value):
        problems.add(field, value, 'is not a valid %s: the rule is %s' % (what, rule % max_len))
        return False
    return True


def _check_name_label(problems, field, value, what, max_len=63):
    return _check_dns_name(problems, field, value, what, 'label', max_len)


def _check_subdomain(problems, field, value, what, max_len=253):
    return _check_dns_name(problems, field, value, what, 'subdomain', max_len)


def _check_choice(problems, field, value, choices):
    if value not in choices:
        problems.add(field, value, 'is not allowed: the rule is one of %s' % ', '.join(choices))
        return False
    return True


def _check_mac(problems, field, value, mode):
    if not isinstance(value, str) or not MAC.match(value):
        problems.add(field, value, 'is not a valid MAC address: the rule is six hex octets separated by ":" or "-"')
        return None
    mac = normalize_mac(value)
    first = int(mac[:2], 16)
    if mac in ('00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff') or first & 0x01:
        problems.add(field, value, 'is not a unicast MAC address: the rule is that the first octet has its lowest bit clear '
                     'and the address is neither all zeros nor broadcast')
        return None
    if mode == 'masquerade' and mac == MASQUERADE_RESERVED_MAC:
        problems.add(field, value, 'is reserved by KubeVirt for the masquerade binding: the rule is any other unicast MAC')
        return None
    return mac


def _check_labels(problems, field, value, label_values=True):
    """Labels (``label_values``) or annotations by Kubernetes' rules; returns the mapping with text values."""
    found, clean = names.check_metadata_map(field, value, labels=label_values)
    for where, item, rule in found:
        problems.add(where, item, rule)
    return clean


def _entry_params(params, entry):
    """Each option of a VM: its ``vms`` entry, else ``defaults``, else the top level, else the built-in default."""
    merged = {}
    defaults = params.get('defaults') or {}
    for key in VM_OPTIONS:
        value = entry.get(key) if entry is not None else None
        if value is None and key != 'name':
            value = defaults.get(key)
        if value is None:
            value = params.get(key)
        if value is None and key in DEFAULTS:
            value = DEFAULTS[key]
        merged[key] = value
    return merged


def normalize_request(params):
    """Return ``(entries, problems)``: every VM entry normalised, every problem found."""
    problems = Problems()
    if params.get('render_only') and params.get('return_manifests') is False:
        problems.add('return_manifests', False, 'with render_only leaves nothing to return: the rule is return_manifests true '
                                                '(the default) when render_only is true')
    vms = params.get('vms')
    entries = []
    if vms is not None:
        if params.get('name'):
            problems.add('name', params.get('name'), 'cannot be combined with vms: the rule is either name + namespace or a vms list')
        if not isinstance(vms, list) or not vms:
            problems.add('vms', vms, 'is empty: the rule is a non-empty list of VM entries')
            return [], problems
        for index, entry in enumerate(vms):
            if not isinstance(entry, dict):
                problems.add('vms[%d]' % index, entry, 'is not a mapping: the rule is a dict with at least name')
                continue
            entries.append(normalize_vm(_entry_params(params, entry), 'vms[%d].' % index, problems))
    else:
        if not params.get('name'):
            problems.add('name', params.get('name'), 'is required: the rule is name (with namespace) or a vms list')
            return [], problems
        entries.append(normalize_vm(_entry_params(params, None), '', problems))
    _check_batch(entries, problems)
    return entries, problems


def _check_batch(entries, problems):
    seen = {}
    macs = {}
    for entry in entries:
        key = (entry['namespace'], entry['name'])
        if key in seen:
            problems.add('%sname' % entry['path'], entry['name'], 'repeats %sname in namespace %s: the rule is one entry per VM'
                         % (seen[key], entry['namespace']))
        else:
            seen[key] = entry['path']
        if entry['state'] != 'present':
            continue
        for nic in entry['nics']:
            mac = nic.get('mac_address')
            if not mac:
                continue
            if mac in macs:
                problems.add(nic['path'] + 'mac_address', mac, 'is already used by %s: the rule is one MAC per NIC across the batch' % macs[mac])
            else:
                macs[mac] = '%s/%s NIC %s' % (entry['namespace'], entry['name'], nic['name'])


def normalize_vm(raw, path, problems):
    """One VM entry -> normalised dict (``path`` prefixes field names in messages)."""
    entry = {'path': path}
    entry['name'] = raw.get('name')
    entry['namespace'] = raw.get('namespace')
    # The VM name becomes the VMI name and the value of the vm.kubevirt.io/name pod label (<= 63).
    _check_subdomain(problems, path + 'name', entry['name'], 'VM name', max_len=63)
    _check_name_label(problems, path + 'namespace', entry['namespace'], 'namespace')
    entry['state'] = raw.get('state')
    _check_choice(problems, path + 'state', entry['state'], STATES)
    mode = raw.get('network_mode')
    entry['mode'] = mode
    if not _check_choice(problems, path + 'network_mode', mode, MODES):
        mode = None
    entry['live_migration'] = raw.get('live_migration')
    _check_choice(problems, path + 'live_migration', entry['live_migration'], LIVE_MIGRATION)
    entry['run_strategy'] = raw.get('run_strategy')
    _check_choice(problems, path + 'run_strategy', entry['run_strategy'], RUN_STRATEGIES)
    entry['labels'] = _check_labels(problems, path + 'labels', raw.get('labels'))
    entry['annotations'] = _check_labels(problems, path + 'annotations', raw.get('annotations'), label_values=False)
    spec = raw.get('spec')
    if spec is not None and not isinstance(spec, dict):
        problems.add(path + 'spec', spec, 'is not a mapping: the rule is a VirtualMachine spec fragment (dict) merged last')
        spec = None
    entry['spec'] = spec or {}
    entry['cpu_cores'] = raw.get('cpu_cores')
    if isinstance(entry['cpu_cores'], bool) or not isinstance(entry['cpu_cores'], int) or entry['cpu_cores'] < 1:
        problems.add(path + 'cpu_cores', entry['cpu_cores'], 'is not a positive integer: the rule is cpu_cores >= 1')
    entry['memory'] = raw.get('memory')
    if not isinstance(entry['memory'], str) or not QUANTITY.match(entry['memory']) or float(re.match(r'[0-9.]+', entry['memory']).group(0)) <= 0:
        problems.add(path + 'memory', entry['memory'], 'is not a valid memory quantity: the rule is a positive Kubernetes quantity such as 2Gi or 512Mi')
    entry['disk'] = _normalize_disk(raw.get('disk'), path + 'disk', problems)
    entry['cloud_init'] = _normalize_cloud_init(raw.get('cloud_init'), path + 'cloud_init', problems)
    entry['ports'] = _normalize_ports(raw.get('ports'), mode, path + 'ports', problems)
    entry['dns'] = _normalize_dns(raw.get('dns'), path + 'dns', problems)
    entry['nics'] = _normalize_nics(raw.get('nics'), mode, entry, path, problems)
    return entry


def _normalize_nics(nics, mode, entry, path, problems):
    namespace = entry['namespace'] if isinstance(entry['namespace'], str) else ''
    name = entry['name'] if isinstance(entry['name'], str) else ''
    if nics is None:
        nics = [{'name': MASQUERADE_NIC}] if mode == 'masquerade' else []
    if not isinstance(nics, list):
        problems.add(path + 'nics', nics, 'is not a list: the rule is a list of NIC entries')
        return []
    if mode == 'bridge' and not nics:
        problems.add(path + 'nics', nics, 'is empty: the rule is that bridge mode needs at least one NIC, each with a multus_cr')
    if mode == 'masquerade' and len(nics) > 1:
        problems.add(path + 'nics', [n.get('name') if isinstance(n, dict) else n for n in nics],
                     'has %d NICs: the rule is that masquerade mode has exactly one NIC, on the pod network' % len(nics))
    result = []
    names = {}
    for index, nic in enumerate(nics):
        field = '%snics[%d].' % (path, index)
        if not isinstance(nic, dict):
            problems.add(field[:-1], nic, 'is not a mapping: the rule is a dict with name and (bridge) multus_cr')
            continue
        item = {'path': field}
        item['name'] = nic.get('name') or (MASQUERADE_NIC if mode == 'masquerade' else None)
        if not isinstance(item['name'], str) or not NIC_NAME.match(item['name']):
            problems.add(field + 'name', item['name'], 'is not a valid NIC name: the rule is KubeVirt\'s ^[A-Za-z0-9_-]+$')
        elif item['name'] in names:
            problems.add(field + 'name', item['name'], 'repeats nics[%d].name: the rule is unique NIC names within a VM' % names[item['name']])
        else:
            names[item['name']] = index
        item['model'] = nic.get('model')
        if item['model'] is not None:
            _check_choice(problems, field + 'model', item['model'], NIC_MODELS)
        use_default = nic.get('use_default_ip_pool')
        item['use_default_ip_pool'] = True if use_default is None else use_default
        if not isinstance(item['use_default_ip_pool'], bool):
            problems.add(field + 'use_default_ip_pool', use_default, 'is not a boolean: the rule is true or false')
        pools = nic.get('ip_pools')
        item['ip_pools'] = _normalize_pools(pools, field + 'ip_pools', problems)
        multus = nic.get('multus_cr')
        item['multus_cr'] = None
        if mode == 'masquerade':
            if multus:
                problems.add(field + 'multus_cr', multus, 'is not allowed in masquerade mode: the rule is that masquerade uses the pod network only '
                             '(use network_mode: bridge for Multus NICs)')
            if pools:
                problems.add(field + 'ip_pools', pools, 'is not allowed in masquerade mode: the rule is that IP pools (and fixed IPs) need bridge mode')
            if use_default is False:
                problems.add(field + 'use_default_ip_pool', use_default, 'is not allowed in masquerade mode: the rule is that IP pools need bridge mode')
        elif mode == 'bridge':
            if not multus:
                problems.add(field + 'multus_cr', multus, 'is required in bridge mode: the rule is that every bridge NIC names a Multus CR as namespace/name')
            elif not isinstance(multus, str) or multus.count('/') > 1:
                problems.add(field + 'multus_cr', multus, 'is not a valid Multus CR reference: the rule is namespace/name or name')
            else:
                cr_ns, cr_name = split_multus_ref(multus, namespace)
                ok = _check_name_label(problems, field + 'multus_cr', cr_ns, 'Multus CR namespace')
                ok = _check_subdomain(problems, field + 'multus_cr', cr_name, 'Multus CR name') and ok
                if ok:
                    item['multus_cr'] = '%s/%s' % (cr_ns, cr_name)
            if item['use_default_ip_pool'] is False and not item['ip_pools']:
                problems.add(field + 'ip_pools', pools, 'is required when use_default_ip_pool is false: the rule is at least one pool in ipv4 or ipv6')
            if item['use_default_ip_pool'] is True and item['ip_pools']:
                problems.add(field + 'ip_pools', pools, 'is ignored while use_default_ip_pool is true: the rule is use_default_ip_pool: false '
                             'to choose pools by hand')
        mac = nic.get('mac_address')
        item['mac_given'] = mac is not None
        if mac is not None:
            mac = _check_mac(problems, field + 'mac_address', mac, mode)
        item['mac_address'] = mac or (derive_mac(namespace, name, item['name']) if isinstance(item['name'], str) else None)
        result.append(item)
    return result


def _normalize_pools(pools, field, problems):
    if pools is None:
        return {}
    if not isinstance(pools, dict):
        problems.add(field, pools, 'is not a mapping: the rule is {ipv4: [pool, ...], ipv6: [pool, ...]}')
        return {}
    found_before = len(problems.items)
    clean = {}
    for family in pools:
        if family not in ('ipv4', 'ipv6'):
            problems.add(field, family, 'is not an IP family key: the rule is ipv4 and/or ipv6')
    for family in ('ipv4', 'ipv6'):
        names = pools.get(family)
        if names is None:
            continue
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list):
            problems.add('%s.%s' % (field, family), names, 'is not a list: the rule is a list of SpiderIPPool names')
            continue
        seen = set()
        good = []
        for index, pool in enumerate(names):
            pfield = '%s.%s[%d]' % (field, family, index)
            if not _check_subdomain(problems, pfield, pool, 'SpiderIPPool name'):
                continue
            if pool in seen:
                problems.add(pfield, pool, 'is listed twice: the rule is each pool once per family')
                continue
            seen.add(pool)
            good.append(pool)
        if good:
            clean[family] = good
    if not clean and len(problems.items) == found_before:
        problems.add(field, pools, 'names no pool: the rule is at least one pool in ipv4 or ipv6')
    return clean


def _normalize_ports(ports, mode, field, problems):
    if ports is None or ports == []:
        return []
    if not isinstance(ports, list):
        problems.add(field, ports, 'is not a list: the rule is a list of {port, protocol, name}')
        return []
    if mode == 'bridge':
        problems.add(field, ports, 'is not allowed in bridge mode: the rule is that ports only apply to masquerade (bridge passes all traffic)')
        return []
    result = []
    seen = {}
    port_names = {}
    for index, port in enumerate(ports):
        pfield = '%s[%d]' % (field, index)
        if isinstance(port, int) and not isinstance(port, bool):
            port = {'port': port}
        if not isinstance(port, dict):
            problems.add(pfield, port, 'is not a mapping: the rule is {port, protocol, name}')
            continue
        number = port.get('port')
        protocol = port.get('protocol') or 'TCP'
        name = port.get('name')
        ok = True
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
            problems.add(pfield + '.port', number, 'is not a port number: the rule is an integer from 1 to 65535')
            ok = False
        elif number in MIGRATION_PORTS:
            problems.add(pfield + '.port', number, 'is reserved for live migration: the rule is never 49152 or 49153')
            ok = False
        if protocol not in PORT_PROTOCOLS:
            problems.add(pfield + '.protocol', protocol, 'is not allowed: the rule is one of %s (KubeVirt\'s masquerade forwards TCP and '
                         'UDP only)' % ', '.join(PORT_PROTOCOLS))
            ok = False
        if name is not None and not valid_port_name(name):
            problems.add(pfield + '.name', name, 'is not a valid port name: the rule is an IANA service name (at most 15 lower-case letters, '
                         'digits and single "-", with at least one letter)')
            ok = False
        elif name is not None and name in port_names:
            problems.add(pfield + '.name', name, 'repeats ports[%d].name: the rule is unique port names (KubeVirt\'s admission)'
                         % port_names[name])
            ok = False
        elif name is not None:
            port_names[name] = index
        if ok:
            key = (number, protocol)
            if key in seen:
                problems.add(pfield, port, 'repeats ports[%d]: the rule is each port/protocol once' % seen[key])
                continue
            seen[key] = index
            item = {'port': number, 'protocol': protocol}
            if name:
                item['name'] = name
            result.append(item)
    return result


def _optional_mapping(value, field, problems, shape):
    """``value`` when it is a mapping, None when it is absent or (a problem) anything else."""
    if value is not None and not isinstance(value, dict):
        problems.add(field, value, 'is not a mapping: the rule is %s' % shape)
        return None
    return value


def _normalize_dns(dns, field, problems):
    """``{servers, search}`` for the VMI's dnsConfig (dnsPolicy None), or None when not given."""
    dns = _optional_mapping(dns, field, problems, '{servers: [IP, ...], search: [domain, ...]}')
    if dns is None:
        return None
    for key in dns:
        if key not in ('servers', 'search'):
            problems.add(field, key, 'is not an option: the rule is servers and search')
    servers = dns.get('servers')
    if not isinstance(servers, list) or not servers:
        problems.add(field + '.servers', servers, 'is required: the rule is one to three DNS server IPs')
        servers = []
    elif len(servers) > MAX_DNS_SERVERS:
        problems.add(field + '.servers', servers, 'has %d entries: the rule is at most %d (KubeVirt\'s admission)' % (len(servers), MAX_DNS_SERVERS))
    clean = []
    for index, server in enumerate(servers):
        try:
            clean.append(str(_ipmath.parse_address(server)))
        except (_ipmath.IPMathError, TypeError, ValueError):
            problems.add('%s.servers[%d]' % (field, index), server, 'is not an IP address: the rule is an IPv4 or IPv6 address')
    search = dns.get('search') or []
    if not isinstance(search, list):
        problems.add(field + '.search', search, 'is not a list: the rule is a list of DNS domains')
        search = []
    elif len(search) > MAX_DNS_SEARCHES or len(' '.join(str(d) for d in search)) > MAX_DNS_SEARCH_CHARS:
        problems.add(field + '.search', search, 'is too long: the rule is at most %d domains and %d characters (KubeVirt\'s admission)'
                     % (MAX_DNS_SEARCHES, MAX_DNS_SEARCH_CHARS))
    for index, domain in enumerate(search):
        _check_subdomain(problems, '%s.search[%d]' % (field, index), domain, 'search domain')
    return {'servers': clean, 'search': [d for d in search if isinstance(d, str)]}


def valid_port_name(name):
    """Kubernetes' IsValidPortName (IANA_SVC_NAME), which KubeVirt applies to masquerade ports."""
    return (isinstance(name, str) and len(name) <= 15 and names.is_dns1123_label(name) and '--' not in name
            and any('a' <= c <= 'z' for c in name))


def _normalize_disk(disk, field, problems):
    disk = _optional_mapping(disk, field, problems, '{type, image | claim_name | source_url, ...}')
    if disk is None:
        return None
    kind = disk.get('type') or ('container_disk' if disk.get('image') else 'pvc' if disk.get('claim_name') else
                                'data_volume' if disk.get('source_url') else None)
    result = {'type': kind, 'bus': disk.get('bus') or 'virtio'}
    if not _check_choice(problems, field + '.type', kind, DISK_TYPES):
        return None
    _check_choice(problems, field + '.bus', result['bus'], DISK_BUSES)
    if kind == 'container_disk':
        image = disk.get('image')
        if not isinstance(image, str) or not image or any(c.isspace() for c in image):
            problems.add(field + '.image', image, 'is required for a container disk: the rule is a container image reference without spaces')
        result['image'] = image
    elif kind == 'pvc':
        claim = disk.get('claim_name')
        _check_subdomain(problems, field + '.claim_name', claim, 'PersistentVolumeClaim name')
        result['claim_name'] = claim
    else:
        url = disk.get('source_url')
        if not isinstance(url, str) or not re.match(r'^(docker|https?)://\S+\Z', url):
            problems.add(field + '.source_url', url, 'is not a DataVolume source: the rule is docker://image, http:// or https:// URL')
        result['source_url'] = url
        size = disk.get('size')
        if not isinstance(size, str) or not QUANTITY.match(size):
            problems.add(field + '.size', size, 'is required for a DataVolume: the rule is a Kubernetes quantity such as 20Gi')
        result['size'] = size
        storage_class = disk.get('storage_class')
        if storage_class is not None:
            _check_subdomain(problems, field + '.storage_class', storage_class, 'StorageClass name')
        result['storage_class'] = storage_class
        modes = disk.get('access_modes')
        if modes is not None:
            if not isinstance(modes, list) or not modes:
                problems.add(field + '.access_modes', modes, 'is not a list: the rule is a non-empty list of %s' % ', '.join(ACCESS_MODES))
                modes = None
            else:
                for index, mode in enumerate(modes):
                    _check_choice(problems, '%s.access_modes[%d]' % (field, index), mode, ACCESS_MODES)
        result['access_modes'] = modes
    return result


def holds_secret(cloud_init):
    """True when the user data carries a secret: a password, or user data the user wrote (which may hold any)."""
    return bool(cloud_init.get('password') or cloud_init.get('user_data'))


def _normalize_cloud_init(cloud_init, field, problems):
    result = _cloud_init_fields(cloud_init, field, problems)
    place = result.pop('user_data_in')
    result['user_data_in_secret'] = place == 'secret' or (place == 'auto' and holds_secret(result))
    return result


def _cloud_init_fields(cloud_init, field, problems):
    result = {'enabled': True, 'user_data': None, 'network_data': None, 'user': None, 'password': None, 'ssh_authorized_keys': [],
              'user_data_in': 'auto'}
    if cloud_init is None:
        return result
    if isinstance(cloud_init, dict) and cloud_init.get('user_data_in') is not None:
        if _check_choice(problems, field + '.user_data_in', cloud_init['user_data_in'], USER_DATA_PLACES):
            result['user_data_in'] = cloud_init['user_data_in']
    if not isinstance(cloud_init, dict):
        problems.add(field, cloud_init, 'is not a mapping: the rule is {user_data, network_data, user, password, ssh_authorized_keys}')
        return result
    for key in ('enabled',):
        if cloud_init.get(key) is not None:
            if not isinstance(cloud_init[key], bool):
                problems.add('%s.%s' % (field, key), cloud_init[key], 'is not a boolean: the rule is true or false')
            else:
                result[key] = cloud_init[key]
    for key in ('user_data', 'network_data', 'user', 'password'):
        value = cloud_init.get(key)
        if value is not None and not isinstance(value, str):
            problems.add('%s.%s' % (field, key), '<hidden>' if key in ('password', 'user_data') else value, 'is not a string: the rule is text')
            continue
        result[key] = value
    if result['user_data'] and (result['user'] or result['password'] or cloud_init.get('ssh_authorized_keys')):
        problems.add(field + '.user_data', '<user_data>', 'cannot be combined with user, password or ssh_authorized_keys: the rule is either '
                     'your own user_data or the generated one')
    keys = cloud_init.get('ssh_authorized_keys') or []
    if not isinstance(keys, list) or not all(isinstance(k, str) and k.strip() for k in keys):
        problems.add(field + '.ssh_authorized_keys', keys, 'is not a list of keys: the rule is a list of non-empty public key strings')
        keys = []
    result['ssh_authorized_keys'] = keys
    return result
