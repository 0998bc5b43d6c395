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
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi, auth_argument_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_info_run import run


def argument_spec():
    spec = auth_argument_spec()
    spec.update(name=dict(type='str'), namespace=dict(type='str'), label_selectors=dict(type='list', elements='str', default=[]),
                read_volumes=dict(type='bool', default=True))
    return spec


def main():
    module = AnsibleK8SModule(argument_spec=argument_spec(), required_by={'name': 'namespace'}, supports_check_mode=True, check_pyyaml=False)
    run_module(module, run, connect=KubeApi.from_params)


if __name__ == '__main__':
    main()
