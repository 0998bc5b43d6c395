#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_network_info
short_description: Read back the network of KubeVirt VMs
version_added: 0.1.0
description:
  - For each KubeVirt C(VirtualMachine) returns its NICs with their mode, Multus CR, IP pools (from Spiderpool's
    C(ipam.spidernet.io/ippools) annotation, in NIC order, or else the Multus CR's default pools), MACs, the IPs
    reported in the VMI status and the IPs Spiderpool keeps for the VM (its C(SpiderEndpoint)), plus the
    live-migration verdict with its blockers.
  - Also returns the usage of the pools those NICs use, counting every VM that holds an IP.
  - Reads one VM by O(name), or every VM of O(namespace) (or of all namespaces) matching O(label_selectors), with one
    LIST of VMs, of VMIs, of PVCs and of SpiderEndpoints per namespace, one LIST of Multus CRs per namespace the VMs'
    NICs use, and one LIST of SpiderIPPools and of SpiderReservedIPs.
author:
  - vmnet.kubevirt developers (!UNKNOWN)
extends_documentation_fragment:
  - vmnet.kubevirt.k8s_auth
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.CLUSTER
  - vmnet.kubevirt.attributes.INFO_MODULE
  - vmnet.kubevirt.label_selectors
options:
  name:
    description: Name of one VM. Requires O(namespace).
    type: str
  namespace:
    description: Namespace to read; all namespaces when left out.
    type: str
  read_volumes:
    description:
      - Read the access modes of the VMs' PersistentVolumeClaims (one LIST per namespace) so the verdict can judge
        storage; without it unknown access modes are reported as notes.
    type: bool
    default: true
notes:
  - Check mode changes nothing (this module only reads).
seealso:
  - module: vmnet.kubevirt.vm_network
'''

EXAMPLES = r'''
- name: Read one VM
  vmnet.kubevirt.vm_network_info:
    name: db1
    namespace: vms
  register: db1

- name: Show the IPs of its NICs
  ansible.builtin.debug:
    msg: "{{ db1.vms[0].nics | map(attribute='ip_addresses') | list }}"

- name: Fail unless every Multus NIC has an IP that Spiderpool keeps for the VM
  ansible.builtin.assert:
    that: db1.vms[0].nics | selectattr('multus_cr') | rejectattr('fixed_ip') | list | length == 0

- name: Every VM managed by this collection in a namespace
  vmnet.kubevirt.vm_network_info:
    namespace: vms
    label_selectors:
      - app.kubernetes.io/managed-by=vmnet.kubevirt
'''

RETURN = r'''
vms:
  description: One entry per VM found (empty when none matches).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM name.
      type: str
    namespace:
      description: VM namespace.
      type: str
    network_mode:
      description: C(masquerade), C(bridge), C(mixed) (not a layout this collection renders) or C(none).
      type: str
    run_strategy:
      description: C(spec.runStrategy).
      type: str
    printable_status:
      description: KubeVirt's C(status.printableStatus).
      type: str
    ready:
      description: KubeVirt's C(status.ready).
      type: bool
    nics:
      description: The VM's NICs in spec order.
      type: list
      elements: dict
      contains:
        name:
          description: NIC name.
          type: str
        mode:
          description: Binding, C(masquerade) or C(bridge) (or another KubeVirt binding).
          type: str
        multus_cr:
          description: Multus network (C(namespace/name)), null on the pod network.
          type: str
        ip_pools:
          description: Pools the NIC draws from, by family; its Multus CR's default pools when none are chosen by hand.
          type: dict
        use_default_ip_pool:
          description: Whether the NIC takes its Multus CR's default pools (null on the pod network).
          type: bool
        mac_address:
          description: MAC from the spec, else from the VMI status.
          type: str
        fixed_ip:
          description:
            - Whether Spiderpool keeps this NIC's IPs for the VM, read from the VM's C(SpiderEndpoint) (named after
              the VM, kept while the VM exists), so a restart or a stop and start gets the same IPs back.
            - False on the pod network, for a VM that never started, or when Spiderpool does not keep IPs for VMs
              (C(ipam.enableKubevirtStaticIP) off, where the endpoint belongs to the pod and goes with it).
            - Null when SpiderEndpoints cannot be read (not served, or not allowed).
          type: bool
        guest_ip_families:
          description:
            - The IP families the guest gets from Spiderpool on a Bridge NIC; KubeVirt's bridge binding serves DHCPv4
              only, so V(ipv4) at most. A kept IPv6 address stays on the pod interface and makes no RV(vms[].nics[].fixed_ip).
          type: list
          elements: str
        fixed_ip_addresses:
          description: The IPs the VM's SpiderEndpoint keeps for this NIC, also while the VM is stopped.
          type: list
          elements: str
        allocated_from:
          description: The pool of each kept IP by family (C(ipv4), C(ipv6)), from the SpiderEndpoint.
          type: dict
        ip_addresses:
          description: IPs in the VMI status (empty when not running).
          type: list
          elements: str
        state:
          description: C(up), C(down) or C(absent).
          type: str
        model:
          description: NIC model, when set.
          type: str
    restart_required:
      description:
        - Whether KubeVirt reports the VM condition C(RestartRequired) (a template change that reaches the running VM only at its
          next start).
      type: bool
    live_migratable:
      description:
        - True only when nothing blocks live migration and nothing about it is in doubt (RV(vms[].live_migration_verdict=yes)).
          A disputed or unchecked verdict is false here, so a yes/no reader never sees an unqualified yes.
      type: bool
    live_migration_verdict:
      description:
        - V(yes) (nothing blocks, nothing in doubt), V(no) (see RV(vms[].live_migration_blockers)), V(disputed) (nothing
          blocks, but upstream disagrees whether it works, as for bridge binding on OVS), V(unchecked) (nothing blocks, but
          something could not be checked, see RV(vms[].live_migration_notes)).
      type: str
      choices: ["yes", "no", disputed, unchecked]
    live_migration_blockers:
      description: Why the VM cannot live-migrate.
      type: list
      elements: str
    live_migration_notes:
      description: Doubts and unchecked points.
      type: list
      elements: str
pools:
  description:
    - Usage of every SpiderIPPool the listed VMs' NICs draw from or hold an IP of, counted as Spiderpool's allocator
      counts (the same counts as M(vmnet.kubevirt.spiderpool_ippool_info) and vm_network's preflight).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Pool name.
      type: str
    subnet:
      description: Pool CIDR.
      type: str
    ip_version:
      description: 4 or 6.
      type: int
    total_ip_count:
      description: Addresses in ips minus excludeIPs.
      type: int
    allocated_ip_count:
      description: Addresses recorded in the pool's status.allocatedIPs (every VM that holds one, running or stopped).
      type: int
    reserved_ip_count:
      description: Free addresses held back by SpiderReservedIPs.
      type: int
    free_ip_count:
      description: Addresses the pool can still hand out.
      type: int
    vms:
      description: The listed VMs (C(namespace/name)) whose SpiderEndpoint keeps an IP of this pool.
      type: list
      elements: str
'''

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_ipam as ipam
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model as model
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi, KubeApiError, auth_argument_spec
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


def main():
    spec = auth_argument_spec()
    spec.update(name=dict(type='str'), namespace=dict(type='str'), label_selectors=dict(type='list', elements='str', default=[]),
                read_volumes=dict(type='bool', default=True))
    module = AnsibleK8SModule(argument_spec=spec, required_by={'name': 'namespace'}, supports_check_mode=True, check_pyyaml=False)
    params = module.params
    try:
        api = KubeApi.from_params(params)
        vms = read_vms(api, params['name'], params['namespace'], params['label_selectors'], params['read_volumes'])
        pools = pool_usage(api, vms)
    except KubeApiError as err:
        module.fail_json(msg=str(err), vms=[], pools=[])
    module.exit_json(changed=False, vms=vms, pools=pools)


if __name__ == '__main__':
    main()
