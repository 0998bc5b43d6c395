"""Simulations of admission webhooks, off by default: Spiderpool's and KubeVirt's.

``spiderpool-webhook``: only the rules listed in ../shared/reference/upstream-facts.md section a
are imitated: the mutating defaults (pool ipVersion and finalizer, SpiderMultusConfig ovs
defaults) and the validating rules that need no controller state beyond the stored objects.
Answers are 422 ``Invalid`` with one cause per broken rule, prefixed as the API server prefixes a
webhook denial. The pool finalizer is removed by the same simulation once a terminating pool has
no allocated IPs, as spiderpool-controller does.

``kubevirt-webhook``: KubeVirt's VM/VMI admission rules (the section at the end).
"""
import base64
import binascii
import ipaddress
import json
import re

from lab.kubeapi import kubevirt
from lab.kubeapi.schema import cause, invalid

SPIDERPOOL_GROUP = 'spiderpool.spidernet.io'
POOL_FINALIZER = 'spiderpool.spidernet.io'
CR_NAME = 'multus.spidernet.io/cr-name'
FORBIDDEN_SMC_ANNOTATIONS = ('cni.spidernet.io/rdma-resource-inject', 'cni.spidernet.io/network-resource-inject')
CNI_BLOCKS = ('macvlan', 'ipvlan', 'sriov', 'ovs', 'ibsriov', 'ipoib', 'vlan')
DNS1123_SUBDOMAIN = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')


def webhook_name(kind):
    return '%s.%s' % (kind.lower(), SPIDERPOOL_GROUP)


def mutate(res, obj, old):
    """The mutating webhook: defaults written into ``obj``."""
    if res.group != SPIDERPOOL_GROUP:
        return
    if res.kind in ('SpiderIPPool', 'SpiderSubnet') and old is None:
        _mutate_pool(res, obj)
    elif res.kind == 'SpiderMultusConfig':
        _mutate_smc(obj)


def validate(api, res, obj, old):
    """The validating webhook: causes for a denial ([] when admitted)."""
    if res.group != SPIDERPOOL_GROUP or obj['metadata'].get('deletionTimestamp'):
        return []
    if res.kind in ('SpiderIPPool', 'SpiderSubnet'):
        return address_causes(api, res, obj, old)
    if res.kind == 'SpiderMultusConfig':
        return smc_causes(obj, old)
    return []


def release_finalizer(api, res, obj):
    """spiderpool-controller: a terminating pool without allocated IPs loses its finalizer."""
    if res.kind != 'SpiderIPPool' or not obj['metadata'].get('deletionTimestamp'):
        return
    if (obj.get('status') or {}).get('allocatedIPs') or POOL_FINALIZER not in (obj['metadata'].get('finalizers') or []):
        return
    released = dict(obj, metadata=dict(obj['metadata']))
    released['metadata']['finalizers'] = [f for f in obj['metadata']['finalizers'] if f != POOL_FINALIZER]
    released['metadata'].pop('resourceVersion', None)
    api.internal_write(released, 'spiderpool-controller')


# ------------------------------------------------------------------ mutating

def _mutate_pool(res, obj):
    spec = obj.setdefault('spec', {})
    try:
        network = ipaddress.ip_network(spec.get('subnet', ''), strict=True)
    except ValueError:
        return
    spec.setdefault('ipVersion', network.version)
    if res.kind == 'SpiderIPPool':
        finalizers = obj['metadata'].setdefault('finalizers', [])
        if POOL_FINALIZER not in finalizers:
            finalizers.append(POOL_FINALIZER)


def _mutate_smc(obj):
    spec = obj.setdefault('spec', {})
    if spec.get('cniType') == 'ovs' and isinstance(spec.get('ovs'), dict):
        ovs = spec['ovs']
        ovs.setdefault('vlan', 0)
        pools = ovs.setdefault('ippools', {})
        pools.setdefault('ipv4', [])
        pools.setdefault('ipv6', [])
    if spec.get('cniType', 'custom') != 'custom':
        coordinator = spec.setdefault('coordinator', {})
        coordinator.setdefault('mode', 'auto')
        coordinator.setdefault('tunePodRoutes', True)


# ------------------------------------------------------------------ validating: pools and subnets

def _parse_entries(entries, field, network, causes):
    addresses = set()
    for index, entry in enumerate(entries or []):
        where = '%s[%d]' % (field, index)
        if not isinstance(entry, str) or '/' in entry:
            causes.append(invalid(where, entry, 'CIDR notation is not allowed; use "a.b.c.d" or "start-end"'))
            continue
        parts = [part.strip() for part in entry.split('-', 1)]
        try:
            start, end = (ipaddress.ip_address(part) for part in (parts * 2)[:2])
        except ValueError:
            causes.append(invalid(where, entry, 'not an IP address or an IP range'))
            continue
        if start.version != network.version or end.version != network.version:
            causes.append(invalid(where, entry, 'IP version differs from spec.subnet %s' % network))
            continue
        if int(end) < int(start):
            causes.append(invalid(where, entry, 'the range end is lower than its start'))
            continue
        if start not in network or end not in network:
            causes.append(invalid(where, entry, 'not inside spec.subnet %s' % network))
            continue
        if int(end) - int(start) > 1 << 20:
            causes.append(invalid(where, entry, 'range too large for the simulation'))
            continue
        addresses.update(range(int(start), int(end) + 1))
    return addresses


def address_causes(api, res, obj, old):
    spec = obj.get('spec') or {}
    causes = []
    text = spec.get('subnet')
    try:
        network = ipaddress.ip_network(text, strict=True)
    except (TypeError, ValueError):
        return [invalid('spec.subnet', text, 'not a valid canonical CIDR')]
    if spec.get('ipVersion') not in (None, network.version):
        causes.append(invalid('spec.ipVersion', spec['ipVersion'], 'does not match spec.subnet %s' % network))
    ips = _parse_entries(spec.get('ips'), 'spec.ips', network, causes)
    excluded = _parse_entries(spec.get('excludeIPs'), 'spec.excludeIPs', network, causes)
    effective = ips - excluded
    gateway = spec.get('gateway')
    if gateway:
        try:
            address = ipaddress.ip_address(gateway)
            if address not in network:
                causes.append(invalid('spec.gateway', gateway, 'not inside spec.subnet %s' % network))
            elif int(address) in effective:
                causes.append(invalid('spec.gateway', gateway, 'inside spec.ips but not listed in spec.excludeIPs'))
        except ValueError:
            causes.append(invalid('spec.gateway', gateway, 'not an IP address'))
    causes += _route_causes(spec.get('routes') or [], network)
    if old is not None:
        old_spec = old.get('spec') or {}
        for field in ('subnet', 'ipVersion'):
            if old_spec.get(field) is not None and spec.get(field) != old_spec.get(field):
                causes.append(invalid('spec.' + field, spec.get(field), 'field is immutable'))
    causes += _overlap_causes(api, res, obj, network, effective)
    return causes


def _route_causes(routes, network):
    causes, seen = [], set()
    for index, route in enumerate(routes):
        where = 'spec.routes[%d]' % index
        dst = route.get('dst')
        try:
            destination = ipaddress.ip_network(dst, strict=True)
        except (TypeError, ValueError):
            causes.append(invalid(where + '.dst', dst, 'not a valid CIDR'))
            continue
        if destination.prefixlen == 0:
            causes.append(invalid(where + '.dst', dst, 'the default route is set with spec.gateway, not in routes'))
        if str(destination) in seen:
            causes.append(cause('FieldValueDuplicate', where + '.dst', 'Duplicate value: "%s"' % dst))
        seen.add(str(destination))
        try:
            if ipaddress.ip_address(route.get('gw')) not in network:
                causes.append(invalid(where + '.gw', route.get('gw'), 'not inside spec.subnet %s' % network))
        except ValueError:
            causes.append(invalid(where + '.gw', route.get('gw'), 'not an IP address'))
    return causes


def _overlap_causes(api, res, obj, network, effective):
    causes = []
    name = obj['metadata'].get('name')
    for other in api.objects_of(res.api_version, res.kind):
        if other['metadata']['name'] == name:
            continue
        other_spec = other.get('spec') or {}
        try:
            other_network = ipaddress.ip_network(other_spec.get('subnet'), strict=True)
        except (TypeError, ValueError):
            continue
        if other_network.version != network.version:
            continue
        if other_network != network and other_network.overlaps(network):
            causes.append(invalid('spec.subnet', str(network), 'overlaps with %s %s (%s)'
                                  % (res.kind, other['metadata']['name'], other_network)))
        elif other_network == network and res.kind == 'SpiderIPPool':
            ignored = []
            theirs = _parse_entries(other_spec.get('ips'), 'ips', other_network, ignored) - \
                _parse_entries(other_spec.get('excludeIPs'), 'excludeIPs', other_network, ignored)
            shared = sorted(effective & theirs)
            if shared:
                causes.append(invalid('spec.ips', str(ipaddress.ip_address(shared[0])),
                                      'overlaps with the IPs of SpiderIPPool %s' % other['metadata']['name']))
    return causes


# ------------------------------------------------------------------ validating: SpiderMultusConfig

def smc_causes(obj, old):
    spec = obj.get('spec') or {}
    annotations = obj['metadata'].get('annotations') or {}
    causes = []
    cni_type = spec.get('cniType', 'custom')
    present = [block for block in CNI_BLOCKS if spec.get(block) is not None]
    if cni_type == 'ovs':
        ovs = spec.get('ovs')
        if not isinstance(ovs, dict):
            causes.append(cause('FieldValueRequired', 'spec.ovs', 'Required value: cniType ovs needs the ovs block'))
        else:
            vlan = ovs.get('vlan', 0)
            if not 0 <= vlan <= 4094:
                causes.append(invalid('spec.ovs.vlan', vlan, 'must be in 0-4094'))
            for index, trunk in enumerate(ovs.get('trunk') or []):
                low, high = trunk.get('minID'), trunk.get('maxID')
                for key in ('minID', 'maxID', 'id'):
                    if trunk.get(key) is not None and not 0 <= trunk[key] <= 4094:
                        causes.append(invalid('spec.ovs.trunk[%d].%s' % (index, key), trunk[key], 'must be in 0-4094'))
                if low is not None and high is not None and high < low:
                    causes.append(invalid('spec.ovs.trunk[%d].maxID' % index, high, 'must not be lower than minID'))
    if cni_type in CNI_BLOCKS and [block for block in present if block != cni_type]:
        extra = ', '.join(block for block in present if block != cni_type)
        causes.append(invalid('spec', extra, 'cniType %s allows no other CNI block (found %s)' % (cni_type, extra)))
    for key in FORBIDDEN_SMC_ANNOTATIONS:
        if key in annotations:
            causes.append(invalid('metadata.annotations[%s]' % key, annotations[key], 'not allowed for cniType %s' % cni_type))
    cr_name = annotations.get(CR_NAME)
    if cr_name is not None and (not DNS1123_SUBDOMAIN.match(cr_name) or len(cr_name) > 253):
        causes.append(invalid('metadata.annotations[%s]' % CR_NAME, cr_name, 'must be a DNS-1123 subdomain'))
    if old is not None:
        before = (old['metadata'].get('annotations') or {}).get(CR_NAME)
        if before is not None and cr_name != before:
            causes.append(invalid('metadata.annotations[%s]' % CR_NAME, cr_name, 'is immutable once set'))
    return causes


def denial_message(res, name, causes):
    text = json.dumps([c['field'] + ': ' + c['message'] for c in causes])
    return 'admission webhook "%s" denied the request: %s "%s" is invalid: %s' % (
        webhook_name(res.kind), res.kind, name, text)


# ------------------------------------------------------------------ KubeVirt's VM/VMI admission (kubevirt-webhook)
# Rules of KubeVirt v1.9.0's virt-api (pkg/network/admitter, admitters/vms-admitter.go and
# vmi-create-admitter.go), with KubeVirt's cause types and field paths; the messages are ours.

KUBEVIRT_GROUP = 'kubevirt.io'
BINDINGS = ('bridge', 'masquerade', 'sriov', 'passtBinding', 'binding')  # what counts as a binding method
DISCONTINUED = ('slirp', 'passt', 'macvtap')  # removed in v1.3: refused on creation
INTERFACE_NAME = re.compile(r'^[A-Za-z0-9-_]+$')
# Go's net.ParseMAC forms of 6 bytes (ValidateMacAddress refuses longer ones): one separator throughout, or dotted.
MAC_FORMS = (re.compile(r'^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$'), re.compile(r'^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){5}$'),
             re.compile(r'^[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4}){2}$'))
MODELS = ('e1000', 'e1000e', 'igb', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio')
RESERVED_MASQUERADE_MAC = '02:00:00:00:00:00'  # compared as written (link.IsReserved)
STATES = ('', 'absent', 'down', 'up')
PCI_ADDRESS = re.compile(r'^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$')
PORT_NAME = re.compile(r'^[-a-z0-9]+$')
CLOUD_INIT_LIMIT = 2048  # userData and networkData, each
DNS_POLICIES = ('ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None', '')
MAX_NAMESERVERS, MAX_SEARCHES, MAX_SEARCH_CHARS = 3, 6, 256


def kubevirt_webhook_name(kind):
    return '%s-validator.kubevirt.io' % kind.lower()


def kubevirt_causes(res, obj, old=None, config=None):
    """KubeVirt's admission for a VM or a VMI (``config``: the cluster's ``kubevirt.Config``).

    A VM is refused at the first stage that fails, as virt-api answers: on creation the discontinued
    bindings (with KubeVirt's ``spec.domain...`` field paths), then the VM spec with its template.
    """
    if res.group != KUBEVIRT_GROUP or res.kind not in ('VirtualMachine', 'VirtualMachineInstance') \
            or obj['metadata'].get('deletionTimestamp'):
        return []
    config = config or kubevirt.Config()
    spec = obj.get('spec') or {}
    if res.kind == 'VirtualMachineInstance':
        return discontinued_causes(spec, 'spec') + network_causes(spec, 'spec', config) + vmi_spec_causes(spec, 'spec')
    template = (spec.get('template') or {}).get('spec') or {}
    if old is None:
        causes = discontinued_causes(template, 'spec')  # sic: virt-api validates the template at path "spec" here
        if causes:
            return causes
    prefix = 'spec.template.spec'
    causes = network_causes(template, prefix, config) + vmi_spec_causes(template, prefix)
    if spec.get('running') is not None and spec.get('runStrategy') is not None:
        causes.append(invalid('spec.running', spec['running'], 'running and runStrategy are mutually exclusive'))
    if spec.get('running') is None and spec.get('runStrategy') is None:
        causes.append(invalid('spec.running', None, 'a runStrategy must be given'))
    if spec.get('runStrategy') == 'WaitAsReceiver' and not config.gate('DecentralizedLiveMigration'):
        causes.append(invalid('spec.runStrategy', 'WaitAsReceiver', 'needs the DecentralizedLiveMigration feature gate'))
    return causes


def discontinued_causes(vmi_spec, prefix):
    causes = []
    for index, iface in enumerate(_interfaces(vmi_spec)):
        for binding in DISCONTINUED:
            if iface.get(binding) is not None:
                causes.append(invalid('%s.domain.devices.interfaces[%d].%s' % (prefix, index, binding), iface.get('name'),
                                      'the %s binding is discontinued since KubeVirt v1.3' % binding))
    return causes


def _interfaces(vmi_spec):
    return ((vmi_spec.get('domain') or {}).get('devices') or {}).get('interfaces') or []


def _default_network(networks):
    """LookUpDefaultNetwork: the pod network, or the Multus network marked default."""
    return next((n for n in networks if n.get('pod') is not None or (n.get('multus') or {}).get('default')), None)


def network_causes(vmi_spec, prefix, config):
    """pkg/network/admitter Validator.Validate, in its order."""
    causes = []
    networks = vmi_spec.get('networks') or []
    interfaces = _interfaces(vmi_spec)
    ifaces = prefix + '.domain.devices.interfaces'
    pods = [n for n in networks if n.get('pod') is not None]
    defaults = [n for n in networks if (n.get('multus') or {}).get('default')]
    if len(pods) > 1:
        causes.append(cause('FieldValueDuplicate', prefix + '.interfaces', 'more than one interface is on a pod network'))
    if len(defaults) > 1:
        causes.append(invalid(prefix + '.networks', [n.get('name') for n in defaults], 'more than one Multus network is marked default'))
    if pods and defaults:
        causes.append(invalid(prefix + '.networks', [n.get('name') for n in pods + defaults],
                              'a pod network and a default Multus network cannot coexist'))
    for index, network in enumerate(networks):
        count = sum(1 for key in ('pod', 'multus', 'resourceClaim') if network.get(key) is not None)
        if count != 1:
            causes.append(cause('FieldValueRequired', '%s.networks[%d]' % (prefix, index),
                                'Required value: exactly one network type (found %d)' % count))
    for index, network in enumerate(networks):
        if network.get('multus') is not None and not (network['multus'] or {}).get('networkName'):
            causes.append(cause('FieldValueRequired', '%s.networks[%d]' % (prefix, index), 'Required value: multus needs a networkName'))
            break
    by_name = {n.get('name'): n for n in networks}
    default = _default_network(networks)
    for index, iface in enumerate(interfaces):  # interface state values
        state, where = iface.get('state') or '', '%s[%d].state' % (ifaces, index)
        if state not in STATES:
            causes.append(invalid(where, state, 'supported values: absent, down, up'))
        if iface.get('sriov') is not None and state in ('down', 'up'):
            causes.append(invalid(where, state, 'not supported on SR-IOV interfaces'))
        if state == 'absent' and iface.get('bridge') is None:
            causes.append(invalid(where, state, 'only a bridge interface can be absent'))
        if state == 'absent' and default is not None and default.get('name') == iface.get('name'):
            causes.append(invalid(where, state, 'the default network\'s interface cannot be absent'))
    for index, iface in enumerate(interfaces):  # bindings
        where = '%s[%d]' % (ifaces, index)
        network = by_name.get(iface.get('name')) or {}
        count = sum(1 for key in BINDINGS if iface.get(key) is not None)
        if count != 1:
            causes.append(invalid(where, iface.get('name'), 'exactly one binding method or binding plugin (found %d)' % count))
        if iface.get('masquerade') is not None and network.get('pod') is None:
            causes.append(invalid(where + '.name', iface.get('name'), 'masquerade works on the pod network only'))
        if iface.get('masquerade') is not None and iface.get('macAddress') == RESERVED_MASQUERADE_MAC:
            causes.append(invalid(where + '.macAddress', iface.get('macAddress'), 'reserved for masquerade\'s in-pod bridge'))
        if iface.get('bridge') is not None and network.get('pod') is not None and not config.permit_bridge_on_pod_network:
            causes.append(invalid(where + '.name', iface.get('name'), 'bridge on the pod network is not permitted by the KubeVirt CR'))
        if iface.get('passtBinding') is not None:
            if not config.gate('PasstBinding'):
                causes.append(invalid(where + '.name', iface.get('name'), 'the PasstBinding feature gate is not enabled'))
            if network.get('pod') is None:
                causes.append(invalid(where + '.name', iface.get('name'), 'passtBinding works on the pod network only'))
    seen = set()
    for index, network in enumerate(networks):
        if network.get('name') in seen:
            causes.append(cause('FieldValueDuplicate', '%s.networks[%d].name' % (prefix, index), 'Duplicate value: "%s"' % network.get('name')))
        seen.add(network.get('name'))
    names = {iface.get('name') for iface in interfaces}
    for index, network in enumerate(networks):
        if network.get('name') not in names:
            causes.append(cause('FieldValueRequired', '%s.networks[%d].name' % (prefix, index),
                                'Required value: network %s has no interface' % network.get('name')))
    seen = set()
    for index, iface in enumerate(interfaces):
        if iface.get('name') in seen:
            causes.append(cause('FieldValueDuplicate', '%s[%d].name' % (ifaces, index), 'Duplicate value: one interface per network'))
        seen.add(iface.get('name'))
    for index, iface in enumerate(interfaces):
        if iface.get('name') not in by_name:
            causes.append(invalid('%s[%d].name' % (ifaces, index), iface.get('name'), 'no network of that name'))
    for index, iface in enumerate(interfaces):
        causes += _interface_field_causes(iface, '%s[%d]' % (ifaces, index), by_name.get(iface.get('name')) or {}, config)
    return causes


def _interface_field_causes(iface, where, network, config):
    causes = []
    name = iface.get('name')
    if not isinstance(name, str) or not INTERFACE_NAME.match(name):
        causes.append(invalid(where + '.name', name, 'only letters, digits, "-" and "_"'))
    if iface.get('model') not in (None, '') and iface['model'] not in MODELS:
        causes.append(cause('FieldValueNotSupported', where + '.model', 'Unsupported value: "%s": supported values: %s'
                            % (iface['model'], ', '.join('"%s"' % m for m in MODELS))))
    mac = iface.get('macAddress')
    if mac not in (None, '') and not any(form.match(str(mac)) for form in MAC_FORMS):
        causes.append(invalid(where + '.macAddress', mac, 'not a MAC address of 6 bytes'))
    if iface.get('pciAddress') not in (None, '') and not PCI_ADDRESS.match(str(iface['pciAddress'])):
        causes.append(invalid(where + '.pciAddress', iface['pciAddress'], 'not a PCI address'))
    if network.get('pod') is not None and iface.get('ports') is not None:
        causes += _port_causes(iface['ports'], where + '.ports')
    if iface.get('portRanges') is not None and not config.gate('PortRangesSpec'):
        causes.append(invalid(where + '.name', name, 'portRanges needs the PortRangesSpec feature gate'))
    return causes


def valid_port_name(name):
    """Kubernetes' IsValidPortName (IANA_SVC_NAME)."""
    return (isinstance(name, str) and 0 < len(name) <= 15 and bool(PORT_NAME.match(name)) and '--' not in name
            and not name.startswith('-') and not name.endswith('-') and any('a' <= c <= 'z' for c in name))


def _port_causes(ports, where):
    causes, names = [], set()
    for index, port in enumerate(ports):
        name = port.get('name') or ''
        if name:
            if name in names:
                causes.append(cause('FieldValueDuplicate', '%s[%d].name' % (where, index), 'Duplicate value: "%s"' % name))
            if not valid_port_name(name):
                causes.append(invalid('%s[%d].name' % (where, index), name, 'not an IANA service name (at most 15 lower-case '
                                      'letters, digits and single "-", with at least one letter)'))
            names.add(name)
    for index, port in enumerate(ports):
        number = port.get('port') or 0
        if number == 0:
            causes.append(cause('FieldValueRequired', '%s[%d].port' % (where, index), 'Required value: the port'))
        if not 0 <= number < 65536:
            causes.append(invalid('%s[%d].port' % (where, index), number, 'must be in 1-65535'))
        if port.get('protocol') not in (None, '', 'TCP', 'UDP'):
            causes.append(invalid('%s[%d].protocol' % (where, index), port['protocol'], 'only TCP or UDP'))
    return causes


def vmi_spec_causes(vmi_spec, prefix):
    """The rest of ValidateVirtualMachineInstanceSpec this emulator imitates: cloud-init data and DNS."""
    return _cloud_init_causes(vmi_spec.get('volumes') or [], prefix + '.volumes') + _dns_causes(vmi_spec, prefix)


def _decoded_length(text):
    try:
        return len(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, TypeError):
        return None


def _cloud_init_causes(volumes, where):
    causes = []
    for index, volume in enumerate(volumes):
        for source in ('cloudInitNoCloud', 'cloudInitConfigDrive'):
            data = volume.get(source)
            if not isinstance(data, dict):
                continue
            field = '%s[%d].%s' % (where, index, source)
            found = 0
            # KubeVirt's JSON names of the Secret references: user data's is plain "secretRef".
            for kind, secret_ref in (('userData', 'secretRef'), ('networkData', 'networkDataSecretRef')):
                count, length = 0, 0
                if (data.get(secret_ref) or {}).get('name'):
                    count += 1
                if data.get(kind + 'Base64'):
                    count += 1
                    length = _decoded_length(data[kind + 'Base64'])
                    if length is None:
                        causes.append(invalid(field + '.' + kind + 'Base64', '<%d characters>' % len(data[kind + 'Base64']),
                                              'not valid base64'))
                        length = 0
                if data.get(kind):
                    count += 1
                    length = len(data[kind].encode())
                if count > 1:
                    causes.append(invalid(field, kind, 'only one %s source may be set' % kind))
                if length > CLOUD_INIT_LIMIT:
                    causes.append(invalid(field, '<%d bytes>' % length, '%s exceeds the %d byte limit; use %s for larger data'
                                          % (kind, CLOUD_INIT_LIMIT, secret_ref)))
                found += count
            if not found:
                causes.append(invalid(field, source, 'needs user data or network data'))
    return causes


def _dns_causes(vmi_spec, prefix):
    causes = []
    policy, dns = vmi_spec.get('dnsPolicy') or '', vmi_spec.get('dnsConfig')
    if policy not in DNS_POLICIES:
        causes.append(cause('FieldValueNotSupported', prefix + '.dnsPolicy', 'Unsupported value: "%s"' % policy))
    if policy == 'None' and not dns:
        return causes + [cause('FieldValueRequired', prefix + '.dnsConfig', 'Required value: dnsConfig with dnsPolicy None')]
    if policy == 'None' and not dns.get('nameservers'):
        return causes + [cause('FieldValueRequired', 'nameservers', 'Required value: a nameserver with dnsPolicy None')]
    if not dns:
        return causes
    servers, searches = dns.get('nameservers') or [], dns.get('searches') or []
    if len(servers) > MAX_NAMESERVERS:
        causes.append(invalid('nameservers', servers, 'at most %d nameservers' % MAX_NAMESERVERS))
    for server in servers:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            causes.append(invalid('nameservers', server, 'not an IP address'))
    if len(searches) > MAX_SEARCHES:
        causes.append(invalid('searchDomains', searches, 'at most %d search paths' % MAX_SEARCHES))
    if len(' '.join(searches)) > MAX_SEARCH_CHARS:
        causes.append(invalid('searchDomains', searches, 'at most %d characters in the search list' % MAX_SEARCH_CHARS))
    for search in searches:
        if len(search) > 253 or not DNS1123_SUBDOMAIN.match(search):
            causes.append(invalid('searchDomains', search, 'must be a DNS-1123 subdomain'))
    return causes


def kubevirt_warnings(res, obj):
    """Warnings KubeVirt (v1.5+) attaches to an admitted VM."""
    if res.group == KUBEVIRT_GROUP and res.kind == 'VirtualMachine' and (obj.get('spec') or {}).get('running') is not None:
        return ['spec.running is deprecated, please use spec.runStrategy instead.']
    return []


def kubevirt_denial(res, name, causes):
    text = '; '.join(c['field'] + ': ' + c['message'] for c in causes)
    return 'admission webhook "%s" denied the request: %s "%s": %s' % (kubevirt_webhook_name(res.kind), res.kind, name, text)
