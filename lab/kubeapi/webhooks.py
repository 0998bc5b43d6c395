"""Simulation of Spiderpool's admission webhooks (``spiderpool-webhook``, off by default).

Only the rules listed in ../shared/reference/upstream-facts.md section a are imitated: the
mutating defaults (pool ipVersion and finalizer, SpiderMultusConfig ovs defaults) and the
validating rules that need no controller state beyond the stored objects. Answers are 422
``Invalid`` with one cause per broken rule, prefixed as the API server prefixes a webhook
denial. The pool finalizer is removed by the same simulation once a terminating pool has no
allocated IPs, as spiderpool-controller does.
"""
import ipaddress
import json
import re

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

KUBEVIRT_GROUP = 'kubevirt.io'
BINDINGS = ('bridge', 'masquerade', 'sriov', 'passtBinding', 'binding', 'slirp', 'macvtap', 'passt')
INTERFACE_NAME = re.compile(r'^[A-Za-z0-9-_]+$')
MAC = re.compile(r'^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$')
MODELS = ('e1000', 'e1000e', 'igb', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio')
RESERVED_MASQUERADE_MAC = '02:00:00:00:00:00'
NETWORK_DATA_LIMIT = 2048


def kubevirt_webhook_name(kind):
    return '%s-validator.kubevirt.io' % kind.lower()


def kubevirt_causes(res, obj):
    """KubeVirt's network admission rules (upstream-facts.md section d) for a VM or a VMI."""
    if res.group != KUBEVIRT_GROUP or res.kind not in ('VirtualMachine', 'VirtualMachineInstance') \
            or obj['metadata'].get('deletionTimestamp'):
        return []
    spec = obj.get('spec') or {}
    causes = []
    if res.kind == 'VirtualMachine':
        if spec.get('running') is not None and spec.get('runStrategy') is not None:
            causes.append(invalid('spec.running', spec['running'], 'running and runStrategy are mutually exclusive'))
        if spec.get('running') is None and spec.get('runStrategy') is None:
            causes.append(cause('FieldValueRequired', 'spec.runStrategy', 'Required value: one of running or runStrategy'))
        prefix, vmi_spec = 'spec.template.spec', ((spec.get('template') or {}).get('spec') or {})
    else:
        prefix, vmi_spec = 'spec', spec
    return causes + network_causes(vmi_spec, prefix)


def network_causes(vmi_spec, prefix):
    causes = []
    networks = vmi_spec.get('networks') or []
    interfaces = ((vmi_spec.get('domain') or {}).get('devices') or {}).get('interfaces') or []
    by_name, pods, defaults = {}, [], []
    for index, network in enumerate(networks):
        where = '%s.networks[%d]' % (prefix, index)
        name = network.get('name')
        if name in by_name:
            causes.append(cause('FieldValueDuplicate', where + '.name', 'Duplicate value: "%s"' % name))
        by_name[name] = network
        sources = [key for key in ('pod', 'multus', 'resourceClaim') if network.get(key) is not None]
        if len(sources) != 1:
            causes.append(invalid(where, name, 'should have exactly one network source (found %d)' % len(sources)))
        if 'pod' in sources:
            pods.append(name)
        if 'multus' in sources:
            if not (network['multus'] or {}).get('networkName'):
                causes.append(cause('FieldValueRequired', where + '.multus.networkName', 'Required value'))
            if (network['multus'] or {}).get('default'):
                defaults.append(name)
    if len(pods) > 1:
        causes.append(invalid(prefix + '.networks', pods, 'more than one pod network'))
    if len(defaults) > 1:
        causes.append(invalid(prefix + '.networks', defaults, 'more than one multus network marked default'))
    if pods and defaults:
        causes.append(invalid(prefix + '.networks', pods + defaults, 'a pod network and a default multus network cannot coexist'))
    causes += _interface_causes(interfaces, by_name, set(pods + defaults), prefix)
    causes += _network_data_causes(vmi_spec, prefix)
    return causes


def _interface_causes(interfaces, networks, primaries, prefix):
    causes, seen = [], set()
    for index, iface in enumerate(interfaces):
        where = '%s.domain.devices.interfaces[%d]' % (prefix, index)
        name = iface.get('name')
        if name in seen:
            causes.append(cause('FieldValueDuplicate', where + '.name', 'Duplicate value: "%s"' % name))
        seen.add(name)
        if not isinstance(name, str) or not INTERFACE_NAME.match(name):
            causes.append(invalid(where + '.name', name, 'must match ^[A-Za-z0-9-_]+$'))
        network = networks.get(name)
        if network is None:
            causes.append(invalid(where + '.name', name, 'has no network of that name in %s.networks' % prefix))
        bindings = [key for key in BINDINGS if iface.get(key) is not None]
        if len(bindings) != 1:
            causes.append(invalid(where, name, 'should have exactly one binding method (found %d)' % len(bindings)))
        if 'masquerade' in bindings and network is not None and network.get('pod') is None:
            causes.append(invalid(where + '.masquerade', name, 'masquerade is only allowed on a pod network'))
        mac = iface.get('macAddress')
        if mac is not None and not MAC.match(mac):
            causes.append(invalid(where + '.macAddress', mac, 'not a valid MAC address'))
        elif mac is not None and 'masquerade' in bindings and mac.replace('-', ':').lower() == RESERVED_MASQUERADE_MAC:
            causes.append(invalid(where + '.macAddress', mac, 'reserved for masquerade'))
        if iface.get('model') is not None and iface['model'] not in MODELS:
            causes.append(cause('FieldValueNotSupported', where + '.model', 'Unsupported value: "%s": supported values: %s'
                                % (iface['model'], ', '.join('"%s"' % m for m in MODELS))))
        if iface.get('state') == 'absent' and ('bridge' not in bindings or name in primaries):
            causes.append(invalid(where + '.state', 'absent', 'only a bridge interface on a secondary network can be absent'))
    names = {iface.get('name') for iface in interfaces}
    for index, name in enumerate(networks):
        if name not in names:
            causes.append(invalid('%s.networks[%d].name' % (prefix, index), name, 'has no interface of that name'))
    return causes


def _network_data_causes(vmi_spec, prefix):
    causes = []
    for index, volume in enumerate(vmi_spec.get('volumes') or []):
        for source in ('cloudInitNoCloud', 'cloudInitConfigDrive'):
            data = (volume.get(source) or {}).get('networkData')
            if isinstance(data, str) and len(data.encode()) > NETWORK_DATA_LIMIT:
                causes.append(invalid('%s.volumes[%d].%s.networkData' % (prefix, index, source), '<%d bytes>' % len(data),
                                      'must be at most %d bytes' % NETWORK_DATA_LIMIT))
    return causes


def kubevirt_warnings(res, obj):
    """Warnings KubeVirt (v1.5+) attaches to an admitted VM."""
    if res.group == KUBEVIRT_GROUP and res.kind == 'VirtualMachine' and (obj.get('spec') or {}).get('running') is not None:
        return ['spec.running is deprecated, please use spec.runStrategy instead.']
    return []


def kubevirt_denial(res, name, causes):
    text = '; '.join(c['field'] + ': ' + c['message'] for c in causes)
    return 'admission webhook "%s" denied the request: %s "%s": %s' % (kubevirt_webhook_name(res.kind), res.kind, name, text)
