# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection knows about Spiderpool and Multus objects, written once for every module family.

Pure code (standard library only): the API groups, kinds and CRD names; a pool's IP version,
allocation records and usage (allocated, reserved and free IPs with ONE semantics); the NAD a
Multus CR generates and the default pools it names; a NAD's CNI config and plugins; the pools
a pool's ``multusName`` admits; the spec fields a served CRD offers. The rule modules
(``_spiderpool``, ``_multus``, ``_vm_preflight``) and the runners take their facts from here.

Free IPs follow Spiderpool's allocator (v1.2, ``pkg/ippoolmanager``): an address of
``spec.ips`` can be handed out when it is not in ``spec.excludeIPs``, not held by a
SpiderReservedIP of the pool's IP version (terminating ones no longer hold) and not recorded in
``status.allocatedIPs`` (a JSON string ``{ip: {"pod": "ns/name", "podUid": ...}}``). A status
with a count but no records (written by another tool) is taken at its count.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ipmath

GROUP = 'spiderpool.spidernet.io'
VERSION = 'v2beta1'
API_VERSION = GROUP + '/' + VERSION
POOL_KIND = 'SpiderIPPool'
SUBNET_KIND = 'SpiderSubnet'
SMC_KIND = 'SpiderMultusConfig'
ENDPOINT_KIND = 'SpiderEndpoint'
RESERVED_KIND = 'SpiderReservedIP'
NAD_API_VERSION = 'k8s.cni.cncf.io/v1'
NAD_KIND = 'NetworkAttachmentDefinition'
CRD_API_VERSION = 'apiextensions.k8s.io/v1'
CRD_KIND = 'CustomResourceDefinition'
PLURALS = {POOL_KIND: 'spiderippools', SUBNET_KIND: 'spidersubnets', SMC_KIND: 'spidermultusconfigs'}
# An SMC's NAD takes the SMC's name unless this annotation names another one (immutable once set).
CR_NAME_ANNOTATION = 'multus.spidernet.io/cr-name'
FAMILIES = {'ipv4': 4, 'ipv6': 6}


def crd_name(kind):
    """The CustomResourceDefinition of a Spiderpool kind (``spiderippools.spiderpool.spidernet.io``)."""
    return '%s.%s' % (PLURALS[kind], GROUP)


def _meta(obj):
    return (obj or {}).get('metadata') or {}


def _spec(obj):
    return (obj or {}).get('spec') or {}


# ---------------------------------------------------------------- pools: version, allocations, usage
def pool_version(pool):
    """4 or 6 from spec.ipVersion, else from the subnet; None when neither says."""
    spec = _spec(pool)
    if spec.get('ipVersion') in (4, 6):
        return spec['ipVersion']
    try:
        return _ipmath.ip_family(spec.get('subnet'))
    except (_ipmath.IPMathError, ValueError, TypeError):
        return None


def allocation_records(pool):
    """``status.allocatedIPs`` as a dict (empty when absent or unreadable)."""
    raw = ((pool or {}).get('status') or {}).get('allocatedIPs')
    if not raw:
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def allocated_ip_count(pool):
    """How many IPs the pool has handed out: its records, else ``status.allocatedIPCount``."""
    records = allocation_records(pool)
    if records:
        return len(records)
    count = ((pool or {}).get('status') or {}).get('allocatedIPCount')
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0


def reserved_ranges(reserved_objects, version):
    """Intervals held by the SpiderReservedIPs of ``version`` (unparsable entries hold nothing)."""
    ranges = []
    for obj in reserved_objects or ():
        if _meta(obj).get('deletionTimestamp'):
            continue
        for entry in _spec(obj).get('ips') or []:
            try:
                first, last, family = _ipmath.parse_entry(entry)
            except _ipmath.IPMathError:
                continue
            if family == version:
                ranges.append((first, last))
    return _ipmath.merge_ranges(ranges)


def pool_usage(pool, reserved_objects=()):
    """``{'total_ip_count', 'allocated_ip_count', 'reserved_ip_count', 'free_ip_count'}`` of one SpiderIPPool.

    total: ips minus excludeIPs (Spiderpool's totalIPCount); allocated: ``allocated_ip_count``;
    reserved: usable addresses a SpiderReservedIP holds and nobody has; free: what the allocator
    can still hand out. Every count is None when the pool's addresses cannot be parsed.
    """
    spec = _spec(pool)
    version = pool_version(pool)
    unknown = {'total_ip_count': None, 'allocated_ip_count': None, 'reserved_ip_count': None, 'free_ip_count': None}
    if version is None:
        return unknown
    try:
        usable = _ipmath.effective_ranges(spec.get('ips') or [], spec.get('excludeIPs') or [], version)
    except _ipmath.IPMathError:
        return unknown
    records = allocation_records(pool)
    taken = []
    for address in records:
        try:
            taken.append(_ipmath.parse_entry(address, version)[:2])
        except _ipmath.IPMathError:
            continue  # a record that is no address of this family holds nothing
    unallocated = _ipmath.subtract_ranges(usable, taken)
    reserved = _ipmath.count_ranges(_ipmath.intersect_ranges(unallocated, reserved_ranges(reserved_objects, version)))
    free = _ipmath.count_ranges(unallocated) - reserved
    allocated = allocated_ip_count(pool)
    if not records:
        free = max(0, free - allocated)
    return {'total_ip_count': _ipmath.count_ranges(usable), 'allocated_ip_count': allocated, 'reserved_ip_count': reserved,
            'free_ip_count': free}


def free_ip_count(pool, reserved_objects=()):
    """How many more IPs the pool can hand out (0 when its addresses cannot be parsed): the collection's one count."""
    return pool_usage(pool, reserved_objects)['free_ip_count'] or 0


def cluster_default_pools(pools_by_name):
    """family -> names of the enabled pools marked ``default: true`` (Spiderpool's fallback when a CR names none)."""
    return dict((family, [name for name, pool in sorted(pools_by_name.items())
                          if _spec(pool).get('default') and not _spec(pool).get('disable') and pool_version(pool) == version])
                for family, version in FAMILIES.items())


def multus_names(entries, spiderpool_namespace):
    """A pool's multusName as ``namespace/name`` (a bare name lives in Spiderpool's namespace)."""
    return set(entry if '/' in entry else '%s/%s' % (spiderpool_namespace, entry) for entry in entries or [] if isinstance(entry, str))


# ---------------------------------------------------------------- Multus CRs: the NAD they generate, their default pools
def nad_name(cr_name, nad_override=None):
    """The NAD a Multus CR named ``cr_name`` generates: the cr-name override, else the CR's own name."""
    return nad_override or cr_name


def smc_nad_name(smc):
    """The NAD name of an SMC read from the API."""
    meta = _meta(smc)
    return nad_name(meta.get('name'), (meta.get('annotations') or {}).get(CR_NAME_ANNOTATION))


def owner_smc(nad):
    """The SMC that generated a NAD (from its ownerReferences), or None."""
    for ref in _meta(nad).get('ownerReferences') or []:
        if ref.get('kind') == SMC_KIND:
            return ref.get('name')
    return None


def nad_config(nad):
    """A NAD's CNI config as a dict (None when it is not a JSON object)."""
    try:
        config = json.loads(_spec(nad).get('config') or '{}')
    except (TypeError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def nad_plugins(nad):
    """The CNI plugins of a NAD's config (a conflist's ``plugins`` or the single config); None when unparsable."""
    config = nad_config(nad)
    if config is None:
        return None
    plugins = config.get('plugins')
    if isinstance(plugins, list):
        return [p for p in plugins if isinstance(p, dict)]
    return [config]


def multus_cr_of_smc(smc):
    """``{'kind', 'cni_type', 'nad', 'default_pools', 'bridge'}`` of an SMC as read from the API.

    ``nad`` is ``namespace/name`` of the NAD that pods attach to; ``default_pools`` the pools per
    family the CR names (its ``ovs.ippools``).
    """
    spec = _spec(smc)
    ippools = (spec.get('ovs') or {}).get('ippools') or {}
    return {'kind': SMC_KIND, 'cni_type': spec.get('cniType') or 'custom', 'nad': '%s/%s' % (_meta(smc).get('namespace'), smc_nad_name(smc)),
            'default_pools': dict((f, list(ippools[f])) for f in FAMILIES if ippools.get(f)), 'bridge': (spec.get('ovs') or {}).get('bridge')}


def multus_cr_of_nad(nad):
    """The same facts for a plain NAD: its type is the ovs plugin's (else the first one's), its default pools
    its Spiderpool IPAM's ``default_ipv4_ippool`` / ``default_ipv6_ippool``."""
    ref = '%s/%s' % (_meta(nad).get('namespace'), _meta(nad).get('name'))
    plugins = nad_plugins(nad)
    if plugins is None:
        return {'kind': NAD_KIND, 'cni_type': 'unparsable', 'nad': ref, 'default_pools': {}}
    main = next((p for p in plugins if p.get('type') == 'ovs'), plugins[0] if plugins else {})
    ipam = main.get('ipam') or {}
    pools = dict((family, list(ipam['default_%s_ippool' % family])) for family in FAMILIES if ipam.get('default_%s_ippool' % family))
    return {'kind': NAD_KIND, 'cni_type': main.get('type') or 'unknown', 'nad': ref, 'default_pools': pools, 'bridge': main.get('bridge')}


# ---------------------------------------------------------------- served CRDs
def served_spec_properties(crd, version=VERSION):
    """The ``spec`` properties (field -> schema) a served CRD offers at ``version``; None when unknown."""
    if not crd:
        return None
    for served in _spec(crd).get('versions') or []:
        if served.get('name') == version:
            schema = ((served.get('schema') or {}).get('openAPIV3Schema') or {}).get('properties') or {}
            return (schema.get('spec') or {}).get('properties') or {}
    return None
