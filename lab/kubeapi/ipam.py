"""``spiderpool-ipam``: a SIMULATION of Spiderpool's IPAM for KubeVirt VM pods (not Spiderpool).

What spiderpool-agent does when Multus calls its IPAM plugin for a virt-launcher pod (see
``launcher.py``), from the inputs Spiderpool reads, and what its controller's garbage collection
releases. Facts followed (Spiderpool v1.2.2: ``pkg/ipam``, ``pkg/ippoolmanager``,
``pkg/workloadendpointmanager``, ``pkg/kubevirtmanager``, ``pkg/reservedipmanager``):

- Only NICs whose NetworkAttachmentDefinition runs IPAM ``type: spiderpool`` are served; a
  missing NAD fails the pod's network setup as Multus does.
- Pools for a NIC, first rule that applies: the pod annotation ``ipam.spidernet.io/ippools``
  (items without ``interface`` map to the pod's NICs by order, eth0 first; with ``interface``
  every item names one, duplicates refused), then ``ipam.spidernet.io/ippool`` (every NIC),
  the namespace annotations ``ipam.spidernet.io/default-ipv4-ippool``/``-ipv6-``, the NAD's
  ``default_ipv4_ippool``/``default_ipv6_ippool`` (how a SpiderMultusConfig's ``ippools``
  reach IPAM), and last the pools with ``spec.default: true``.
- Candidates are dropped when terminating, disabled, of the other IP version, or not admitting
  the pod: ``nodeName`` (else ``nodeAffinity`` on the Node's labels), ``namespaceName`` (else
  ``namespaceAffinity``), ``podAffinity`` on the pod's labels, ``multusName`` (a bare name is in
  Spiderpool's namespace). Survivors are tried pods-affinity first, then node, namespace and
  multusName affinity (``ByPoolPriority``), each taking its first address in ``ips`` order that
  is not in ``excludeIPs``, not reserved by a SpiderReservedIP of that version and not recorded in
  ``status.allocatedIPs``.
- ``status.allocatedIPs`` is the JSON string ``{ip: {"pod": "ns/name", "podUid": uid}}`` and
  ``allocatedIPCount`` its size; the name is the VMI's when the IP is kept for the VM.
- With ``enableKubevirtStaticIP`` (``conf.yml`` of the ``spiderpool-conf`` ConfigMap, as the
  agent reads it; true when absent) the SpiderEndpoint is named after the VMI, has no owner and
  keeps each NIC's IPs while the VM exists: a VMI deleted and recreated (restart, stop/start)
  gets the same IPs back; they are released once the VMI is gone and the VM is deleted or
  terminating. Without it the SpiderEndpoint is named after the pod, owned by it, and released
  with it. ``enableIPv4``/``enableIPv6`` drop the pools of a disabled family.
- A NIC that gets no IP fails the pod sandbox: a Warning Event ``FailedCreatePodSandBox`` on the
  pod with Spiderpool's error text naming the pools (``all IP addresses used out``).

Every allocation and release runs under the store's lock, so requests served on parallel
threads never hand out one IP twice.
"""
import hashlib
import ipaddress
import json
import time

import yaml

from lab.kubeapi import launcher

NAME = 'spiderpool-ipam'
SPIDERPOOL = 'spiderpool.spidernet.io/v2beta1'
NAD_API = 'k8s.cni.cncf.io/v1'
KUBEVIRT = 'kubevirt.io/v1'
POOLS_ANNOTATION = 'ipam.spidernet.io/ippools'
POOL_ANNOTATION = 'ipam.spidernet.io/ippool'
NS_DEFAULT_ANNOTATION = 'ipam.spidernet.io/default-ipv%d-ippool'
FINALIZER = 'spiderpool.spidernet.io'
CONF_NAME = 'spiderpool-conf'
DEFAULT_CONF = {'enableIPv4': True, 'enableIPv6': True, 'enableKubevirtStaticIP': True}
USED_OUT = 'all IP addresses used out'
STANDARD_MODE = 'failed to allocate IP addresses in standard mode: '
CNI_PREFIX = 'spiderpool IP allocation error: [POST /ipam/ip][500] postIpamIpFailure  '


class IpamError(Exception):
    """An allocation failure, worded as Spiderpool's agent words it."""


def aggregate(messages):
    """k8s.io/apimachinery's utilerrors.NewAggregate(...).Error()."""
    return messages[0] if len(messages) == 1 else '[%s]' % ', '.join(messages)


def go_list(names):
    return '[%s]' % ' '.join(names)


# ------------------------------------------------------------------ addresses (pure)

def parse_ranges(entries, version):
    """``ips``-style entries ("a", "a-b") -> [(first, last)] as integers, in the order given."""
    ranges = []
    for entry in entries or []:
        first, _sep, last = str(entry).partition('-')
        start, end = ipaddress.ip_address(first.strip()), ipaddress.ip_address((last or first).strip())
        if start.version != version or end.version != version:
            raise ValueError('%s is not an IPv%d entry' % (entry, version))
        if int(start) <= int(end):
            ranges.append((int(start), int(end)))
    return ranges


def merge(ranges):
    result = []
    for first, last in sorted(ranges):
        if result and first <= result[-1][1] + 1:
            result[-1] = (result[-1][0], max(result[-1][1], last))
        else:
            result.append((first, last))
    return result


def first_free(ips, blocked):
    """The first address of ``ips`` (entry order) outside ``blocked`` (merged ranges), or None."""
    for first, last in ips:
        candidate = first
        for low, high in blocked:
            if high < candidate:
                continue
            if low > candidate:
                break
            candidate = high + 1
        if candidate <= last:
            return candidate
    return None


def pool_version(pool):
    spec = pool.get('spec') or {}
    if spec.get('ipVersion') in (4, 6):
        return spec['ipVersion']
    return ipaddress.ip_network(spec.get('subnet') or '', strict=False).version


def records(pool):
    raw = (pool.get('status') or {}).get('allocatedIPs')
    if not raw:
        return {}
    value = json.loads(raw) if isinstance(raw, str) else raw
    return dict(value) if isinstance(value, dict) else {}


def reserved_ranges(reserved_objects, version):
    """Addresses held by SpiderReservedIPs of ``version`` (terminating ones no longer count)."""
    ranges = []
    for obj in reserved_objects:
        spec = obj.get('spec') or {}
        if obj['metadata'].get('deletionTimestamp') or spec.get('ipVersion') not in (None, version):
            continue
        for entry in spec.get('ips') or []:
            try:
                ranges += parse_ranges([entry], version)
            except ValueError:
                continue  # an entry of the other version
    return ranges


def pick_address(pool, reserved):
    """The address Spiderpool hands out next from ``pool`` (text, no prefix), or None when used out."""
    spec = pool.get('spec') or {}
    version = pool_version(pool)
    taken = []
    for ip in records(pool):
        try:
            taken.append((int(ipaddress.ip_address(ip)),) * 2)
        except ValueError:
            continue  # not an address: it blocks nothing
    blocked = merge(parse_ranges(spec.get('excludeIPs'), version) + list(reserved) + taken)
    found = first_free(parse_ranges(spec.get('ips'), version), blocked)
    return None if found is None else str(ipaddress.ip_address(found))


# ------------------------------------------------------------------ pool choice and filters (pure)

def selector_matches(selector, labels):
    """metav1.LabelSelector: matchLabels and matchExpressions; an empty selector selects everything."""
    labels = labels or {}
    for key, value in (selector.get('matchLabels') or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get('matchExpressions') or []:
        key, operator, values = expr.get('key'), expr.get('operator'), expr.get('values') or []
        present = key in labels
        if (operator == 'In' and (not present or labels[key] not in values)) or \
                (operator == 'NotIn' and present and labels[key] in values) or \
                (operator == 'Exists' and not present) or (operator == 'DoesNotExist' and present):
            return False
    return True


def _items(annotation):
    """Parsed and checked ``ipam.spidernet.io/ippools``: [{nic, 4: [...], 6: [...]}], NIC names by index when unnamed."""
    prefix = 'wrong input, invalid format of Pod annotation \'%s\': ' % POOLS_ANNOTATION
    try:
        items = json.loads(annotation)
    except ValueError as err:
        raise IpamError(prefix + str(err)) from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise IpamError(prefix + 'json: cannot unmarshal into Go value of type types.AnnoPodIPPoolsValue')
    if not items:
        raise IpamError(prefix + 'value requires at least one item')
    named = bool(items[0].get('interface'))
    result, seen = [], set()
    for index, item in enumerate(items):
        if bool(item.get('interface')) != named:
            raise IpamError(prefix + 'NIC should be either all specified or all unspecified')
        nic = item.get('interface') or str(index)
        if nic in seen:
            raise IpamError(prefix + 'duplicate interface %s' % nic)
        seen.add(nic)
        result.append({'nic': nic, 4: list(item.get('ipv4') or []), 6: list(item.get('ipv6') or [])})
    return result, named


def pool_choice(pod_annotations, ifname, position, namespace_annotations, nad_pools, default_pools):
    """``(nic_label, {4: [...], 6: [...]})`` for one pod NIC, by Spiderpool's precedence.

    ``position`` is the NIC's index in the pod (eth0 is 0); ``nic_label`` is the NIC name
    Spiderpool uses in its messages ("0", "1"... for unnamed annotation items).
    """
    if POOLS_ANNOTATION in pod_annotations:
        items, named = _items(pod_annotations[POOLS_ANNOTATION])
        if named:
            item = next((i for i in items if i['nic'] == ifname), None)
            if item is None:
                raise IpamError('wrong input, invalid format of Pod annotation \'%s\': interface %s must be specified'
                                % (POOLS_ANNOTATION, ifname))
            return ifname, {4: item[4], 6: item[6]}
        item = items[position] if position < len(items) else {4: [], 6: []}
        return str(position), {4: item[4], 6: item[6]}
    if POOL_ANNOTATION in pod_annotations:
        try:
            item = json.loads(pod_annotations[POOL_ANNOTATION])
        except ValueError as err:
            raise IpamError('wrong input, invalid format of Pod annotation \'%s\': %s' % (POOL_ANNOTATION, err)) from None
        return ifname, {4: list(item.get('ipv4') or []), 6: list(item.get('ipv6') or [])}
    from_namespace = {}
    for version in (4, 6):
        raw = namespace_annotations.get(NS_DEFAULT_ANNOTATION % version)
        if raw:
            try:
                from_namespace[version] = list(json.loads(raw) or [])
            except ValueError as err:
                raise IpamError('failed to parse namespace annotation %s: %s' % (NS_DEFAULT_ANNOTATION % version, err)) from None
    if any(from_namespace.values()):
        return ifname, {4: from_namespace.get(4, []), 6: from_namespace.get(6, [])}
    if nad_pools.get(4) or nad_pools.get(6):
        return ifname, {4: list(nad_pools.get(4) or []), 6: list(nad_pools.get(6) or [])}
    if not default_pools.get(4) and not default_pools.get(6):
        raise IpamError('no IPPool available, no pool selection rules of any type are specified')
    return ifname, {4: list(default_pools.get(4) or []), 6: list(default_pools.get(6) or [])}


def refusal(pool, version, pod, namespace_labels, node_labels, nic_label, multus_ref, spiderpool_namespace):
    """Why ``pool`` cannot serve this pod NIC (Spiderpool's words), or None."""
    name, spec = pool['metadata']['name'], pool.get('spec') or {}
    if pool['metadata'].get('deletionTimestamp'):
        return 'terminating IPPool %s' % name
    if spec.get('disable'):
        return 'disabled IPPool %s' % name
    if _version_or_none(pool) != version:
        return 'expect an IPv%d IPPool, but the version of the IPPool %s is IPv%s' % (version, name, _version_or_none(pool))
    node = (pod.get('spec') or {}).get('nodeName')
    if spec.get('nodeName'):
        if node not in spec['nodeName']:
            return 'unmatched Node name of IPPool %s' % name
    elif spec.get('nodeAffinity') is not None:
        if node_labels is None:
            return 'nodes "%s" not found' % node
        if not selector_matches(spec['nodeAffinity'], node_labels):
            return 'unmatched Node affinity of IPPool %s' % name
    namespace = pod['metadata'].get('namespace')
    if spec.get('namespaceName'):
        if namespace not in spec['namespaceName']:
            return 'unmatched Namespace name of IPPool %s' % name
    elif spec.get('namespaceAffinity') is not None and not selector_matches(spec['namespaceAffinity'], namespace_labels):
        return 'unmatched Namespace affinity of IPPool %s' % name
    if spec.get('podAffinity') is not None and not selector_matches(spec['podAffinity'], pod['metadata'].get('labels')):
        return 'unmatched Pod affinity of IPPool %s' % name
    if spec.get('multusName'):
        allowed = [m if '/' in m else '%s/%s' % (spiderpool_namespace, m) for m in spec['multusName']]
        if multus_ref not in allowed:
            return ('the spec.multusName %s in the IPPool %s used by the Pod interface %s is not matched with the multusCR %s '
                    'specified by the Pod' % (go_list(spec['multusName']), name, nic_label, multus_ref))
    return None


def priority(pool):
    """Sort key of ByPoolPriority: pools with podAffinity, then nodeName, nodeAffinity, namespaceName,
    namespaceAffinity, multusName come first (stable otherwise)."""
    spec = pool.get('spec') or {}
    return tuple(0 if spec.get(field) else 1
                 for field in ('podAffinity', 'nodeName', 'nodeAffinity', 'namespaceName', 'namespaceAffinity', 'multusName'))


# ------------------------------------------------------------------ reading the cluster

def config(api):
    """Spiderpool's switches from ``conf.yml`` of its ConfigMap (the chart's defaults when absent)."""
    found = api.find('v1', 'ConfigMap', 'kube-system', CONF_NAME)
    if found is None:
        found = next(iter(sorted((c for c in api.objects_of('v1', 'ConfigMap') if c['metadata']['name'] == CONF_NAME),
                                 key=lambda c: c['metadata'].get('namespace'))), None)
    conf = dict(DEFAULT_CONF, namespace='kube-system')
    if found is not None:
        conf['namespace'] = found['metadata'].get('namespace')
        try:
            parsed = yaml.safe_load(((found.get('data') or {}).get('conf.yml')) or '') or {}
        except yaml.YAMLError:
            parsed = {}
        for key in DEFAULT_CONF:
            if isinstance(parsed.get(key), bool):
                conf[key] = parsed[key]
    return conf


def nad_ipam(nad):
    """(has spiderpool IPAM, {4: default pools, 6: default pools}) from a NAD's spec.config."""
    try:
        conf = json.loads((nad.get('spec') or {}).get('config') or '{}')
    except ValueError:
        return False, {}
    plugins = conf.get('plugins') if isinstance(conf.get('plugins'), list) else [conf]
    for plugin in plugins:
        ipam = (plugin or {}).get('ipam') if isinstance(plugin, dict) else None
        if isinstance(ipam, dict) and ipam.get('type') == 'spiderpool':
            return True, {4: list(ipam.get('default_ipv4_ippool') or []), 6: list(ipam.get('default_ipv6_ippool') or [])}
    return False, {}


class Cluster:
    """What one allocation reads, read once under the lock."""

    def __init__(self, api, pod):
        self.api = api
        self.conf = config(api)
        self.pools = {p['metadata']['name']: p for p in api.objects_of(SPIDERPOOL, 'SpiderIPPool')}
        reserved = api.objects_of(SPIDERPOOL, 'SpiderReservedIP')
        self.reserved = {v: merge(reserved_ranges(reserved, v)) for v in (4, 6)}
        namespace = api.find('v1', 'Namespace', None, pod['metadata'].get('namespace')) or {'metadata': {}}
        self.namespace_labels = namespace['metadata'].get('labels') or {}
        self.namespace_annotations = namespace['metadata'].get('annotations') or {}
        node = api.find('v1', 'Node', None, (pod.get('spec') or {}).get('nodeName') or '')
        self.node_labels = None if node is None else (node['metadata'].get('labels') or {})
        self.defaults = {v: [n for n, p in sorted(self.pools.items()) if (p.get('spec') or {}).get('default') and _version_or_none(p) == v]
                         for v in (4, 6)}
        self.changed_pools = {}

    def pool(self, name):
        return self.changed_pools.get(name) or self.pools.get(name)


def _version_or_none(pool):
    try:
        return pool_version(pool)
    except ValueError:
        return None


# ------------------------------------------------------------------ allocation

class Outcome:
    """IPs per pod interface (``{ifname: [ip, ...]}``) and, when a NIC got none, the kubelet message."""

    def __init__(self, addresses=None, error=None):
        self.addresses = addresses or {}
        self.error = error

    @property
    def ok(self):
        return self.error is None


NO_IPAM = Outcome()


def _vmi_owner(pod):
    return next((ref for ref in pod['metadata'].get('ownerReferences') or []
                 if ref.get('controller') and ref.get('kind') == 'VirtualMachineInstance' and ref.get('apiVersion') == KUBEVIRT), None)


def _served_nics(api, nics):
    """The pod NICs Spiderpool serves, each with its NAD's default pools; raises for a missing NAD (Multus fails)."""
    served = []
    for position, nic in enumerate(nics):
        if nic['kind'] == 'pod':
            continue  # the cluster's own CNI
        namespace, name = nic['nad'].split('/', 1)
        nad = api.find(NAD_API, 'NetworkAttachmentDefinition', namespace, name)
        if nad is None:
            message = ('GetNetworkDelegates: failed getting the delegate: getKubernetesDelegate: cannot find a '
                       'network-attachment-definition (%s) in namespace (%s): network-attachment-definitions.k8s.cni.cncf.io '
                       '"%s" not found' % (name, namespace, name))
            raise _Failed(nic, message, [])
        spiderpool, pools = nad_ipam(nad)
        if spiderpool:
            served.append(dict(nic, position=position, nad_pools=pools))
    return served


def allocate(api, pod):
    """Spiderpool's IPAM for every NIC of ``pod``: retrieve what its SpiderEndpoint keeps, allocate the rest."""
    with api.store.lock:
        return _allocate(api, pod)


def _allocate(api, pod):
    meta = pod['metadata']
    namespace = meta.get('namespace')
    nics = launcher.pod_interfaces_of_pod(pod)
    try:
        served = _served_nics(api, nics)
    except _Failed as failed:
        return Outcome(error=_sandbox_message(pod, failed.nic, failed.message))
    if not served:
        return Outcome()
    cluster = Cluster(api, pod)
    owner = _vmi_owner(pod)
    static = bool(cluster.conf['enableKubevirtStaticIP'] and owner)
    endpoint_name = owner['name'] if static else meta['name']
    endpoint = api.find(SPIDERPOOL, 'SpiderEndpoint', namespace, endpoint_name)
    if endpoint is not None and endpoint['metadata'].get('deletionTimestamp'):
        endpoint = None
    current = (endpoint or {}).get('status', {}).get('current') or {}
    if endpoint is not None and not static and current.get('uid') != meta['uid']:
        _release_endpoint(api, endpoint)  # a stale endpoint of an earlier pod of that name
        endpoint, current = None, {}
    kept = {entry.get('interface'): entry for entry in current.get('ips') or []}
    holder = '%s/%s' % (namespace, endpoint_name)
    missing = [nic for nic in served if nic['ifname'] not in kept]
    error, new = None, []
    try:
        if missing:
            new = _allocate_missing(cluster, pod, missing, holder)
    except _Failed as failed:
        new = failed.done
        error = _sandbox_message(pod, failed.nic, failed.message)
    got = dict(kept, **{entry['interface']: entry for entry in new})
    # NIC order, then what the endpoint keeps for NICs the pod no longer has (kept while the VM exists).
    order = [nic['ifname'] for nic in served if nic['ifname'] in got] + [name for name in kept if name not in {n['ifname'] for n in served}]
    entries = [got[name] for name in order]
    if entries:
        _record_uid(cluster, entries, holder, meta['uid'])
        _write_pools(api, cluster)
        _write_endpoint(api, pod, endpoint, endpoint_name, entries, static, owner)
    addresses = {}
    for nic in served:
        if nic['ifname'] in got:
            addresses[nic['ifname']] = [got[nic['ifname']][key].split('/')[0] for key in ('ipv4', 'ipv6') if got[nic['ifname']].get(key)]
    return Outcome(addresses, error)


class _Failed(Exception):
    def __init__(self, nic, message, done):
        super().__init__(message)
        self.nic, self.message, self.done = nic, message, done


def _allocate_missing(cluster, pod, missing, holder):
    """Entries for the NICs without one. Unnamed ippools items are all allocated at the first NIC's call (and fail
    together); otherwise NIC after NIC, stopping at the first that fails (as Multus stops)."""
    annotations = pod['metadata'].get('annotations') or {}
    together = POOLS_ANNOTATION in annotations and '"interface"' not in annotations[POOLS_ANNOTATION]
    done, errors = [], []
    for nic in missing:
        try:
            done.append(_allocate_nic(cluster, pod, nic, holder))
        except IpamError as err:
            if not together:
                raise _Failed(nic, STANDARD_MODE + str(err), done) from None
            errors.append(str(err))
    if errors:
        raise _Failed(missing[0], STANDARD_MODE + aggregate(errors), done)
    return done


def _allocate_nic(cluster, pod, nic, holder):
    label, choice = pool_choice(pod['metadata'].get('annotations') or {}, nic['ifname'], nic['position'],
                                cluster.namespace_annotations, nic['nad_pools'], cluster.defaults)
    families = [v for v in (4, 6) if choice.get(v) and cluster.conf['enableIPv%d' % v]]
    picked, errors = {}, []
    for version in families:
        try:
            picked[version] = _allocate_family(cluster, pod, nic, label, version, choice[version], holder)
        except IpamError as err:
            errors.append(str(err))
    if errors:
        for version, (pool_name, address) in picked.items():  # give back this NIC's other family (one call fails whole)
            _unrecord(cluster, pool_name, address)
        raise IpamError(aggregate(errors))
    entry = {'interface': nic['ifname'], 'vlan': 0}
    for version, (pool_name, address) in sorted(picked.items()):
        pool = cluster.pool(pool_name)
        spec = pool.get('spec') or {}
        prefix = ipaddress.ip_network(spec['subnet'], strict=False).prefixlen
        key = 'ipv%d' % version
        entry[key] = '%s/%d' % (address, prefix)
        entry[key + 'Pool'] = pool_name
        if spec.get('gateway'):
            entry[key + 'Gateway'] = spec['gateway']
            entry['cleanGateway'] = False
        if spec.get('routes'):
            entry.setdefault('routes', []).extend({'dst': r['dst'], 'gw': r['gw']} for r in spec['routes'])
    return entry


def _allocate_family(cluster, pod, nic, label, version, names, holder):
    seen = set()
    for name in names:
        if name in seen:
            raise IpamError('wrong input, duplicate IPPool %s specified for NIC %s' % (name, label))
        seen.add(name)
        if cluster.pool(name) is None:
            raise IpamError('failed to get original IPPool %s: spiderippools.spiderpool.spidernet.io "%s" not found' % (name, name))
    reasons, admitted = [], []
    for name in names:
        why = refusal(cluster.pool(name), version, pod, cluster.namespace_labels, cluster.node_labels, label, nic['nad'],
                      cluster.conf['namespace'])
        if why:
            reasons.append(why)
        else:
            admitted.append(cluster.pool(name))
    if not admitted:
        raise IpamError('no IPPool available, all IPv%d IPPools %s of %s filtered out: %s' % (version, go_list(names), label, aggregate(reasons)))
    admitted.sort(key=priority)
    failures = []
    for pool in admitted:
        address = pick_address(pool, cluster.reserved[version])
        if address is None:
            failures.append(USED_OUT)
            continue
        _record(cluster, pool, address, holder, pod['metadata']['uid'])
        return pool['metadata']['name'], address
    raise IpamError('failed to allocate any IPv%d IP address to NIC %s from IPPools %s: %s'
                    % (version, label, go_list([p['metadata']['name'] for p in admitted]), aggregate(failures)))


def _record(cluster, pool, address, holder, uid):
    updated = cluster.changed_pools.get(pool['metadata']['name']) or json.loads(json.dumps(pool))
    held = records(updated)
    held[address] = {'pod': holder, 'podUid': uid}
    _set_records(updated, held)
    cluster.changed_pools[pool['metadata']['name']] = updated


def _unrecord(cluster, pool_name, address):
    updated = cluster.changed_pools[pool_name]
    held = records(updated)
    held.pop(address, None)
    _set_records(updated, held)


def _set_records(pool, held):
    status = dict(pool.get('status') or {})
    if held:
        status['allocatedIPs'] = json.dumps(held, sort_keys=True, separators=(',', ':'))
    else:
        status.pop('allocatedIPs', None)
    status['allocatedIPCount'] = len(held)
    pool['status'] = status


def _record_uid(cluster, entries, holder, uid):
    """A retrieved allocation now belongs to the new pod (UpdateAllocatedIPs)."""
    for entry in entries:
        for version in (4, 6):
            name, cidr = entry.get('ipv%dPool' % version), entry.get('ipv%d' % version)
            pool = cluster.pool(name) if name else None
            if pool is None or not cidr:
                continue
            address = cidr.split('/')[0]
            held = records(pool)
            if held.get(address, {}).get('pod') == holder and held[address].get('podUid') != uid:
                _record(cluster, pool, address, holder, uid)


def _write_pools(api, cluster):
    for name, pool in sorted(cluster.changed_pools.items()):
        if records(pool) != records(cluster.pools[name]):
            api.internal_write(pool, 'spiderpool-agent', subresource='status')


def _write_endpoint(api, pod, endpoint, name, entries, static, owner):
    meta = pod['metadata']
    status = {'current': {'uid': meta['uid'], 'node': (pod.get('spec') or {}).get('nodeName') or '', 'ips': entries},
              'ownerControllerType': 'VirtualMachineInstance' if owner else 'Pod',
              'ownerControllerName': owner['name'] if owner else meta['name']}
    if endpoint is not None:
        if endpoint.get('status') == status:
            return
        updated = dict(endpoint, status=status)
        updated['metadata'] = dict(endpoint['metadata'])
        updated['metadata'].pop('resourceVersion', None)
        api.internal_write(updated, 'spiderpool-agent')
        return
    created = {'apiVersion': SPIDERPOOL, 'kind': 'SpiderEndpoint',
               'metadata': {'name': name, 'namespace': meta.get('namespace'), 'finalizers': [FINALIZER]}, 'status': status}
    if not static:
        created['metadata']['ownerReferences'] = [{'apiVersion': 'v1', 'kind': 'Pod', 'name': meta['name'], 'uid': meta['uid']}]
    api.internal_write(created, 'spiderpool-agent')


def _sandbox_message(pod, nic, error):
    """The kubelet Event text for a CNI ADD that failed in Spiderpool (or in Multus before it)."""
    meta = pod['metadata']
    sandbox = hashlib.sha256(('sandbox/%s' % meta['uid']).encode()).hexdigest()
    network = (nic or {}).get('nad', '/').split('/', 1)[1] if nic and nic.get('nad') else 'multus-cni-network'
    inner = error if error.startswith('GetNetworkDelegates') else CNI_PREFIX + error
    return ('Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "%s": plugin '
            'type="multus" name="multus-cni-network" failed (add): [%s/%s/%s:%s]: error adding container to network "%s": %s'
            % (sandbox, meta.get('namespace'), meta['name'], meta['uid'], network, network, inner))


def report_failure(api, pod, message):
    """kubelet's Warning Event on the pod (counted up when the same failure repeats)."""
    meta = pod['metadata']
    name = '%s.%s' % (meta['name'], hashlib.sha256(('%s/%s' % (meta['uid'], message)).encode()).hexdigest()[:16])
    now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    node = (pod.get('spec') or {}).get('nodeName') or ''
    existing = api.find('v1', 'Event', meta.get('namespace'), name)
    if existing is not None:
        existing['count'] = int(existing.get('count') or 1) + 1
        existing['lastTimestamp'] = now
        existing['metadata'].pop('resourceVersion', None)
        api.internal_write(existing, 'kubelet')
        return
    api.internal_write({
        'apiVersion': 'v1', 'kind': 'Event', 'metadata': {'name': name, 'namespace': meta.get('namespace')},
        'involvedObject': {'apiVersion': 'v1', 'kind': 'Pod', 'name': meta['name'], 'namespace': meta.get('namespace'), 'uid': meta['uid']},
        'reason': 'FailedCreatePodSandBox', 'message': message, 'type': 'Warning', 'count': 1,
        'firstTimestamp': now, 'lastTimestamp': now, 'source': {'component': 'kubelet', 'host': node},
        'reportingComponent': 'kubelet', 'reportingInstance': node}, 'kubelet')


# ------------------------------------------------------------------ release (CNI DEL and the controller's GC)

def _release_endpoint(api, endpoint):
    """Give the endpoint's IPs back to their pools, then let the endpoint go (delete, drop the finalizer)."""
    meta = endpoint['metadata']
    holder = '%s/%s' % (meta.get('namespace'), meta['name'])
    by_pool = {}
    for entry in ((endpoint.get('status') or {}).get('current') or {}).get('ips') or []:
        for version in (4, 6):
            if entry.get('ipv%dPool' % version) and entry.get('ipv%d' % version):
                by_pool.setdefault(entry['ipv%dPool' % version], []).append(entry['ipv%d' % version].split('/')[0])
    released = False
    for name, addresses in sorted(by_pool.items()):
        pool = api.find(SPIDERPOOL, 'SpiderIPPool', None, name)
        if pool is None:
            continue
        held = records(pool)
        left = {ip: rec for ip, rec in held.items() if not (ip in addresses and rec.get('pod') == holder)}
        if left != held:
            _set_records(pool, left)
            pool['metadata'].pop('resourceVersion', None)
            api.internal_write(pool, 'spiderpool-agent', subresource='status')
            released = True
    if api.find(SPIDERPOOL, 'SpiderEndpoint', meta.get('namespace'), meta['name']) is None:
        return released
    api.internal_delete(SPIDERPOOL, 'SpiderEndpoint', meta.get('namespace'), meta['name'])
    left = api.find(SPIDERPOOL, 'SpiderEndpoint', meta.get('namespace'), meta['name'])
    if left is not None:
        left['metadata']['finalizers'] = [f for f in left['metadata'].get('finalizers') or [] if f != FINALIZER]
        left['metadata'].pop('resourceVersion', None)
        api.internal_write(left, 'spiderpool-agent')
    return released


def _vm_keeps_ips(api, namespace, name):
    """IsValidVMPod: a live VMI, or a VM that exists and is not terminating, keeps the IPs."""
    vmi = api.find(KUBEVIRT, 'VirtualMachineInstance', namespace, name)
    if vmi is not None and not vmi['metadata'].get('deletionTimestamp'):
        return True
    vm = api.find(KUBEVIRT, 'VirtualMachine', namespace, name)
    return vm is not None and not vm['metadata'].get('deletionTimestamp')


def observe(api, res, event, obj):
    """Releases: a launcher pod gone (CNI DEL), a VMI or VM gone (GC), an endpoint gone without its release.

    After a release, or a change of a pool's spec or of the reserved IPs, pods whose network setup
    failed get another try (kubelet retries them).
    """
    with api.store.lock:
        retry = False
        if res.group == '' and res.kind == 'Pod' and event == 'DELETED':
            retry = _pod_gone(api, obj)
        elif res.kind in ('VirtualMachineInstance', 'VirtualMachine') and res.group == 'kubevirt.io' and \
                (event == 'DELETED' or obj['metadata'].get('deletionTimestamp')):
            endpoint = api.find(SPIDERPOOL, 'SpiderEndpoint', obj['metadata'].get('namespace'), obj['metadata']['name'])
            if _kept_for_vm(endpoint) and not _vm_keeps_ips(api, obj['metadata'].get('namespace'), obj['metadata']['name']):
                retry = _release_endpoint(api, endpoint)
        elif res.kind == 'SpiderEndpoint' and res.group == 'spiderpool.spidernet.io' and event == 'DELETED':
            retry = _release_endpoint(api, obj)  # e.g. its namespace went at once: the GC frees what it held
        elif res.kind == 'SpiderIPPool' and res.group == 'spiderpool.spidernet.io' and event != 'DELETED':
            retry = _spec_changed(obj) or event == 'ADDED'
        elif (res.kind, event) in (('SpiderReservedIP', 'DELETED'), ('NetworkAttachmentDefinition', 'ADDED'),
                                   ('NetworkAttachmentDefinition', 'MODIFIED')):
            retry = True
        if retry and hasattr(api.simulations, 'retry_pending'):
            api.simulations.retry_pending(api)


_SEEN_GENERATIONS = {}  # pool uid -> metadata.generation last seen: a status write does not bump it


def _spec_changed(pool):
    meta = pool['metadata']
    seen = _SEEN_GENERATIONS.get(meta['uid'])
    _SEEN_GENERATIONS[meta['uid']] = meta.get('generation')
    return seen is not None and seen != meta.get('generation')


def _kept_for_vm(endpoint):
    if endpoint is None or endpoint['metadata'].get('ownerReferences'):
        return False
    return ((endpoint.get('status') or {}).get('ownerControllerType')) == 'VirtualMachineInstance'


def _pod_gone(api, pod):
    meta = pod['metadata']
    if (meta.get('labels') or {}).get('kubevirt.io') != 'virt-launcher':
        return False
    namespace = meta.get('namespace')
    released = False
    own = api.find(SPIDERPOOL, 'SpiderEndpoint', namespace, meta['name'])
    if own is not None and any(ref.get('uid') == meta['uid'] for ref in own['metadata'].get('ownerReferences') or []):
        released = _release_endpoint(api, own)
    owner = _vmi_owner(pod)
    if owner is not None:
        endpoint = api.find(SPIDERPOOL, 'SpiderEndpoint', namespace, owner['name'])
        if _kept_for_vm(endpoint) and not _vm_keeps_ips(api, namespace, owner['name']):
            released = _release_endpoint(api, endpoint) or released
    return released
