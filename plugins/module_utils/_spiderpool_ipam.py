# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Spiderpool's IPAM keeps, read back: the SpiderReservedIPs and the IPs a VM's SpiderEndpoint holds.

Pure code (standard library only) apart from the two readers, which take a ``_k8s.KubeApi``. A
pool's usage (allocated, reserved and free IPs) is ``_spiderpool_model.pool_usage``, the
collection's one count; it is named here too for the callers that read it from this module.

A KubeVirt VM's SpiderEndpoint (Spiderpool with ``ipam.enableKubevirtStaticIP``) is named after
the VMI, has no owner, and lists per pod interface the IPs kept while the VM exists. KubeVirt
names the pod interface of the default network ``eth0`` and a secondary Multus network ``pod``
plus 11 hex characters of the SHA-256 of the network name (v1.0 and later; ``net<i>`` before).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApiError
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_model import API_VERSION, RESERVED_KIND

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
