# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Spiderpool's IPAM keeps, read back: a pool's usage and the IPs a VM's SpiderEndpoint holds.

Pure code (standard library only) apart from the two readers, which take a ``_k8s.KubeApi``. The one place in the collection that says how many IPs a
pool has left (``pool_usage`` / ``free_ip_count``, used by vm_network's preflight and the
_info modules). It follows Spiderpool's allocator (v1.2, ``pkg/ippoolmanager``): an address of
``spec.ips`` can be handed out when it is not in ``spec.excludeIPs``, not held by a
SpiderReservedIP of the pool's IP version (terminating ones no longer hold) and not recorded in
``status.allocatedIPs`` (a JSON string ``{ip: {"pod": "ns/name", "podUid": ...}}``). A status
with a count but no records (written by another tool) is taken at its count.

A KubeVirt VM's SpiderEndpoint (Spiderpool with ``ipam.enableKubevirtStaticIP``) is named after
the VMI, has no owner, and lists per pod interface the IPs kept while the VM exists. KubeVirt
names the pod interface of the default network ``eth0`` and a secondary Multus network ``pod``
plus 11 hex characters of the SHA-256 of the network name (v1.0 and later; ``net<i>`` before).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ipmath
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApiError

API_VERSION = 'spiderpool.spidernet.io/v2beta1'
ENDPOINT_KIND = 'SpiderEndpoint'
RESERVED_KIND = 'SpiderReservedIP'
VMI_KIND = 'VirtualMachineInstance'
PRIMARY_INTERFACE = 'eth0'


# ---------------------------------------------------------------- reads (through the _k8s.KubeApi seam)
def read_optional(api, kind, namespace=None):
    """One LIST of a Spiderpool kind; [] when it is not served or not readable (403/404)."""
    if not api.is_served(API_VERSION, kind):
        return []
    try:
        return api.list(API_VERSION, kind, namespace=namespace)
    except KubeApiError as err:
        if err.status in (403, 404):
            return []
        raise


def read_reserved_ips(api):
    """The SpiderReservedIPs, whose addresses are never handed out."""
    return read_optional(api, RESERVED_KIND)


# ---------------------------------------------------------------- pools
def pool_version(pool):
    """4 or 6 from spec.ipVersion, else from the subnet; None when neither says."""
    spec = (pool or {}).get('spec') or {}
    if spec.get('ipVersion') in (4, 6):
        return spec['ipVersion']
    try:
        return _ipmath.ip_family(spec.get('subnet'))
    except (_ipmath.IPMathError, TypeError):
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


def reserved_ranges(reserved_objects, version):
    """Intervals held by the SpiderReservedIPs of ``version`` (unparsable entries hold nothing)."""
    ranges = []
    for obj in reserved_objects or ():
        if ((obj.get('metadata') or {}).get('deletionTimestamp')):
            continue
        for entry in ((obj.get('spec') or {}).get('ips')) or []:
            try:
                first, last, family = _ipmath.parse_entry(entry)
            except _ipmath.IPMathError:
                continue
            if family == version:
                ranges.append((first, last))
    return _ipmath.merge_ranges(ranges)


def pool_usage(pool, reserved_objects=()):
    """``{'total_ip_count', 'allocated_ip_count', 'reserved_ip_count', 'free_ip_count'}`` of one SpiderIPPool.

    total: ips minus excludeIPs (Spiderpool's totalIPCount); allocated: the records of
    status.allocatedIPs (else status.allocatedIPCount); reserved: usable addresses a
    SpiderReservedIP holds and nobody has; free: what the allocator can still hand out.
    Every count is None when the pool's addresses cannot be parsed.
    """
    spec = (pool or {}).get('spec') or {}
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
    if records:
        allocated = len(records)
    else:
        count = ((pool.get('status') or {}).get('allocatedIPCount'))
        allocated = count if isinstance(count, int) and count > 0 else 0
        free = max(0, free - allocated)
    return {'total_ip_count': _ipmath.count_ranges(usable), 'allocated_ip_count': allocated, 'reserved_ip_count': reserved,
            'free_ip_count': free}


def free_ip_count(pool, reserved_objects=()):
    """How many more IPs the pool can hand out (0 when its addresses cannot be parsed)."""
    return pool_usage(pool, reserved_objects)['free_ip_count'] or 0


# ---------------------------------------------------------------- SpiderEndpoints of KubeVirt VMs
def hashed_interface_name(network_name):
    """KubeVirt's pod interface name for a secondary Multus network (v1.0 and later)."""
    return 'pod' + hashlib.sha256(network_name.encode('utf-8')).hexdigest()[:11]


def pod_interface_names(template_spec, vmi=None):
    """network name -> the pod interface names its IPs may be recorded under (first one preferred).

    The name the VMI status reports (``podInterfaceName``) comes first, then KubeVirt's
    naming: ``eth0`` for the pod network or the Multus default, the hashed name or the older
    ``net<i>`` (the i-th secondary Multus network) otherwise.
    """
    reported = dict((i.get('name'), i.get('podInterfaceName')) for i in ((vmi or {}).get('status') or {}).get('interfaces') or []
                    if i.get('podInterfaceName'))
    names, ordinal = {}, 0
    for network in (template_spec or {}).get('networks') or []:
        name = network.get('name')
        multus = network.get('multus')
        if 'pod' in network or (multus and multus.get('default')):
            candidates = [PRIMARY_INTERFACE]
        elif multus:
            ordinal += 1
            candidates = [hashed_interface_name(name or ''), 'net%d' % ordinal]
        else:
            continue
        if reported.get(name):
            candidates = [reported[name]] + [c for c in candidates if c != reported[name]]
        names[name] = candidates
    return names


def kept_for_vm(endpoint):
    """True when the endpoint keeps IPs for a VM (static IPs): owned by no pod, for a VirtualMachineInstance."""
    if not endpoint or ((endpoint.get('metadata') or {}).get('ownerReferences')):
        return False
    return ((endpoint.get('status') or {}).get('ownerControllerType')) == VMI_KIND


def endpoint_entries(endpoint):
    """pod interface -> {'ip_addresses': [...], 'pools': {'ipv4': name, 'ipv6': name}} of a SpiderEndpoint."""
    result = {}
    for entry in (((endpoint or {}).get('status') or {}).get('current') or {}).get('ips') or []:
        if not isinstance(entry, dict):
            continue
        addresses, pools = [], {}
        for family in ('ipv4', 'ipv6'):
            if entry.get(family):
                addresses.append(str(entry[family]).split('/', 1)[0])
            if entry.get(family + 'Pool'):
                pools[family] = entry[family + 'Pool']
        result[entry.get('interface') or ''] = {'ip_addresses': addresses, 'pools': pools}
    return result


def nic_fixed_ips(template_spec, endpoint, vmi=None):
    """network name -> {'ip_addresses', 'pools'} the VM's SpiderEndpoint keeps for that NIC (kept IPs only)."""
    if not kept_for_vm(endpoint):
        return {}
    entries = endpoint_entries(endpoint)
    result = {}
    for network, candidates in pod_interface_names(template_spec, vmi).items():
        found = next((entries[c] for c in candidates if c in entries), None)
        if found is not None:
            result[network] = found
    return result
