# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_network_info's flow: the VMs, their VMIs, NICs, IPs and the pools they draw from, in bulk reads.

``run(params, connect, check_mode, diff) -> result``, the contract of every module family;
``connect()`` opens the API seam (``_k8s.KubeApi``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_ipam as ipam
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model as model
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApiError
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_render import API_VERSION, KIND
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_model import API_VERSION as SPIDER_API, NAD_API_VERSION as NAD_API
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_preflight import ClusterFacts, resolve_multus_cr
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_status import describe_vm, multus_refs


def cr_default_pools(api, vms):
    """Multus network -> its CR's default pools (one LIST of SMCs and of NADs per namespace used)."""
    refs = multus_refs(vms)
    smcs, nads = [], []
    for namespace in sorted(set(ref.split('/', 1)[0] for ref in refs)):
        for api_version, kind, bucket in ((SPIDER_API, 'SpiderMultusConfig', smcs), (NAD_API, 'NetworkAttachmentDefinition', nads)):
            if api.is_served(api_version, kind):
                try:
                    bucket.extend(api.list(api_version, kind, namespace=namespace))
                except KubeApiError as err:
                    if err.status != 403:
                        raise
    facts = ClusterFacts(smcs=smcs, nads=nads)
    result = {}
    for ref in refs:
        info = resolve_multus_cr(ref, facts)
        if info is not None:
            result[ref] = info['default_pools']
    # A VM names the NAD; a SpiderMultusConfig with a cr-name annotation generates a NAD of another name.
    for smc in smcs:
        info = resolve_multus_cr('%s/%s' % (smc['metadata'].get('namespace'), smc['metadata']['name']), facts)
        result.setdefault(info['nad'], info['default_pools'])
    return result


def read_vms(api, name=None, namespace=None, label_selectors=(), read_volumes=True):
    """VMs, VMIs (and PVC access modes) with one LIST per kind and namespace."""
    selector = ','.join(label_selectors) if label_selectors else None
    if name:
        vm = api.get(API_VERSION, KIND, name, namespace)
        vms = [vm] if vm else []
    else:
        vms = api.list(API_VERSION, KIND, namespace=namespace, label_selector=selector)
    namespaces = sorted(set(vm['metadata'].get('namespace') for vm in vms))
    vmis, claims = {}, {}
    for ns in namespaces:
        if name:
            vmi = api.get(API_VERSION, 'VirtualMachineInstance', name, ns)
            items = [vmi] if vmi else []
        else:
            items = api.list(API_VERSION, 'VirtualMachineInstance', namespace=ns)
        for vmi in items:
            vmis[(ns, vmi['metadata']['name'])] = vmi
        if read_volumes:
            try:
                for pvc in api.list('v1', 'PersistentVolumeClaim', namespace=ns):
                    claims[(ns, pvc['metadata']['name'])] = (pvc.get('spec') or {}).get('accessModes') or []
            except KubeApiError as err:
                if err.status not in (403, 404):
                    raise
    defaults = cr_default_pools(api, vms)
    endpoints = read_endpoints(api, namespaces) if any(multus_refs([vm]) for vm in vms) else {}
    result = []
    for vm in vms:
        ns = vm['metadata'].get('namespace')
        modes = dict((claim, m) for (cns, claim), m in claims.items() if cns == ns)
        endpoint = endpoints.get((ns, vm['metadata']['name'])) if endpoints is not None else False
        result.append(describe_vm(vm, vmis.get((ns, vm['metadata']['name'])), modes, defaults, endpoint))
    return result


def read_endpoints(api, namespaces):
    """(namespace, name) -> SpiderEndpoint, one LIST per namespace; None when they cannot be read."""
    if not api.is_served(model.API_VERSION, model.ENDPOINT_KIND):
        return None
    found = {}
    for namespace in namespaces:
        try:
            items = api.list(model.API_VERSION, model.ENDPOINT_KIND, namespace=namespace)
        except KubeApiError as err:
            if err.status in (403, 404):
                return None
            raise
        for endpoint in items:
            found[(namespace, endpoint['metadata']['name'])] = endpoint
    return found


def pool_usage(api, vms):
    """Usage of every pool the VMs' NICs draw from or hold an IP of, with the VMs holding one."""
    wanted, holders = set(), {}
    for vm in vms:
        for nic in vm['nics']:
            names = list((nic.get('ip_pools') or {}).get('ipv4') or []) + list((nic.get('ip_pools') or {}).get('ipv6') or [])
            names += list((nic.get('allocated_from') or {}).values())
            wanted.update(names)
            for name in (nic.get('allocated_from') or {}).values():
                holders.setdefault(name, set()).add('%s/%s' % (vm['namespace'], vm['name']))
    if not wanted or not api.is_served(model.API_VERSION, 'SpiderIPPool'):
        return []
    try:
        pools = api.list(model.API_VERSION, 'SpiderIPPool')
    except KubeApiError as err:
        if err.status in (403, 404):
            return []
        raise
    reserved = ipam.read_reserved_ips(api)
    result = []
    for pool in sorted(pools, key=lambda p: p['metadata']['name']):
        name = pool['metadata']['name']
        if name not in wanted:
            continue
        usage = model.pool_usage(pool, reserved)
        usage.update(name=name, subnet=(pool.get('spec') or {}).get('subnet'), ip_version=model.pool_version(pool),
                     vms=sorted(holders.get(name, ())))
        result.append(usage)
    return result


def run(params, connect, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """Read only: check mode and diff change nothing."""
    try:
        api = connect()
        vms = read_vms(api, params['name'], params['namespace'], params['label_selectors'], params['read_volumes'])
        pools = pool_usage(api, vms)
    except KubeApiError as err:
        return {'failed': True, 'changed': False, 'msg': str(err), 'vms': [], 'pools': []}
    return {'changed': False, 'vms': vms, 'pools': pools}
