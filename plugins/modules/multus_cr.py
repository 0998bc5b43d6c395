#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module multus_cr: a Multus CR as a SpiderMultusConfig or a plain NetworkAttachmentDefinition."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
module: multus_cr
short_description: Manage Multus CRs (Spiderpool SpiderMultusConfig or NetworkAttachmentDefinition)
version_added: 0.1.0
description:
  - Creates, updates or deletes the Multus CR that KubeVirt Bridge-mode NICs name.
  - With O(kind=SpiderMultusConfig) (or O(kind=auto) on a cluster that serves it) a
    C(SpiderMultusConfig) is written and Spiderpool generates the C(NetworkAttachmentDefinition).
  - With O(kind=NetworkAttachmentDefinition) (or O(kind=auto) without Spiderpool's CRD) a plain NAD
    is written carrying exactly the ovs-cni + Spiderpool IPAM + coordinator config that Spiderpool
    would generate.
  - Spiderpool's webhook rules are checked before anything is written - the ovs block and its bridge,
    VLAN 0-4094, trunk ranges, no block for another CNI, the C(cr-name) and C(cni-version)
    annotations, the forbidden resource-inject annotations. With a reachable cluster also - the
    default pools exist and their IP family matches, the NAD name is not owned by another
    SpiderMultusConfig, C(cr-name) is not changed, the served CRD offers each coordinator field.
author:
  - vmnet.kubevirt developers (@vmnet)
extends_documentation_fragment:
  - vmnet.kubevirt.k8s_auth
  - vmnet.kubevirt.cluster_api
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.CLUSTER
options:
  name:
    description: Name of the Multus CR. Required unless O(multus_crs) is given; mutually exclusive with it.
    type: str
  namespace:
    description: Namespace. Spiderpool's multus config allows VMs to use CRs of other namespaces.
    type: str
    default: kube-system
  state:
    description: C(present) or C(absent). Deleting a SpiderMultusConfig also removes its generated NAD.
    type: str
    default: present
    choices: [present, absent]
  kind:
    description: What to write; C(auto) picks SpiderMultusConfig when the cluster serves it.
    type: str
    default: auto
    choices: [auto, SpiderMultusConfig, NetworkAttachmentDefinition]
  cni_type:
    description: The CNI. Only C(ovs) can be written as a plain NAD.
    type: str
    default: ovs
    choices: [ovs, macvlan, ipvlan, custom]
  ovs:
    description: The ovs-cni settings (required for O(cni_type=ovs)).
    type: dict
    suboptions: &ovs
      bridge:
        description: OVS bridge on the nodes (a Linux interface name, at most 15 characters).
        type: str
      vlan:
        description: Access VLAN, 0-4094 (0 = untagged). Not with O(ovs.trunk), which makes a trunk port (ovs-cni ignores the VLAN then).
        type: int
      trunk:
        description: Trunk VLANs; each entry sets O(ovs.trunk[].id) or both O(ovs.trunk[].min_id) and O(ovs.trunk[].max_id).
        type: list
        elements: dict
        suboptions:
          min_id:
            description: First VLAN of a range.
            type: int
          max_id:
            description: Last VLAN of a range, not below O(ovs.trunk[].min_id).
            type: int
          id:
            description: A single VLAN.
            type: int
      device_id:
        description: PCI address of a VF for OVS hardware offload.
        type: str
  macvlan:
    description: macvlan settings (O(cni_type=macvlan)).
    type: dict
    suboptions: &link
      master:
        description: Parent interfaces.
        type: list
        elements: str
      vlan_id:
        description: VLAN, 0-4094.
        type: int
  ipvlan:
    description: ipvlan settings (O(cni_type=ipvlan)).
    type: dict
    suboptions: *link
  custom_cni:
    description: The CNI config as a JSON string (O(cni_type=custom)).
    type: str
  default_ip_pools:
    description:
      - The CR's default SpiderIPPools, used by NICs with "Use Default IP Pool" on. Each must exist, be of the
        family it is listed under and admit this CR (its C(multusName), if set, lists the CR's NAD).
    type: dict
    suboptions: &pools
      ipv4:
        description: IPv4 pools.
        type: list
        elements: str
      ipv6:
        description: IPv6 pools.
        type: list
        elements: str
  coordinator:
    description:
      - Spiderpool coordinator settings; keep it enabled for multi-NIC VMs (default routes).
      - Every value is checked before anything is written, by Spiderpool's webhook rules and the ranges the
        coordinator plugin reads.
    type: dict
    suboptions: &coordinator
      enabled:
        description: C(spec.enableCoordinator); default true (always false for custom).
        type: bool
      mode:
        description: Coordinator mode.
        type: str
        choices: [auto, underlay, overlay, disabled]
      pod_cidr_type:
        description: How the pod CIDR is found.
        type: str
        choices: [auto, cluster, calico, cilium, none]
      pod_default_route_nic:
        description: Pod NIC that carries the default route (a Linux interface name, at most 15 characters).
        type: str
      tune_pod_routes:
        description: Let the coordinator tune routes.
        type: bool
      hijack_cidr:
        description: Addresses or CIDR networks (host bits zero) routed through the host.
        type: list
        elements: str
      pod_mac_prefix:
        description: Two-byte unicast MAC prefix for pod NICs, like C(0a:1b) (first digit 0, lowest bit of the first byte 0).
        type: str
      pod_rp_filter:
        description: rp_filter in the pod - 0, 1 or 2, or negative to leave it.
        type: int
      host_rule_table:
        description: Host policy-routing table, 1-4294967295 but not the kernel's 253, 254 or 255.
        type: int
      tx_queue_len:
        description: TX queue length, 0 (leave it) to 2147483647.
        type: int
      veth_link_address:
        description: IPv4 link-local address (169.254.0.0/16) of the veth.
        type: str
      veth_mtu:
        description: veth MTU, 68-65535 (Spiderpool 1.x only).
        type: int
  disable_ipam:
    description: Leave IPAM out (C(spec.disableIPAM)).
    type: bool
  nad_name:
    description: Name of the generated NAD (annotation C(multus.spidernet.io/cr-name)); immutable once set.
    type: str
  cni_version:
    description: CNI version (annotation C(multus.spidernet.io/cni-version)); 0.3.0, 0.3.1, 0.4.0 or 1.0.0.
    type: str
  annotations:
    description:
      - Extra annotations, copied to the generated NAD. Keys are qualified names (C(prefix/name)); numbers and booleans
        are written as text.
    type: dict
  check_pools:
    description: Check that the default pools exist and match their IP family.
    type: bool
    default: true
  spiderpool_namespace:
    description: Namespace Spiderpool is installed in; a default pool's bare C(multusName) entries refer to it.
    type: str
    default: kube-system
  render_only:
    description:
      - Check every input and return the manifests without contacting any cluster (no kubeconfig needed).
        O(kind=auto) renders a SpiderMultusConfig. The rules that need the cluster are not checked.
    type: bool
    default: false
  multus_crs:
    description:
      - Many Multus CRs in one task, for inventories (C(vmnet_multus_crs)). Each entry takes the options of one CR, from
        O(name) to O(check_pools), with their suboptions; an entry leaves out what the top-level option sets.
      - Every key of every entry is checked (an unknown or misspelt key fails naming the entry and the keys allowed
        there), then every rule of every entry, then the rules against the cluster; only then is anything written, in
        list order.
      - Returns RV(results), one per entry.
    type: list
    elements: dict
    suboptions:
      annotations:
        description: See O(annotations).
        type: dict
      check_pools:
        description: See O(check_pools).
        type: bool
      cni_type:
        description: See O(cni_type).
        type: str
        choices: [ovs, macvlan, ipvlan, custom]
      cni_version:
        description: See O(cni_version).
        type: str
      coordinator:
        description: See O(coordinator).
        type: dict
        suboptions: *coordinator
      custom_cni:
        description: See O(custom_cni).
        type: str
      default_ip_pools:
        description: See O(default_ip_pools).
        type: dict
        suboptions: *pools
      disable_ipam:
        description: See O(disable_ipam).
        type: bool
      ipvlan:
        description: See O(ipvlan).
        type: dict
        suboptions: *link
      kind:
        description: See O(kind).
        type: str
        choices: [auto, SpiderMultusConfig, NetworkAttachmentDefinition]
      macvlan:
        description: See O(macvlan).
        type: dict
        suboptions: *link
      nad_name:
        description: See O(nad_name).
        type: str
      name:
        description: See O(name).
        type: str
        required: true
      namespace:
        description: See O(namespace).
        type: str
      ovs:
        description: See O(ovs).
        type: dict
        suboptions: *ovs
      state:
        description: See O(state).
        type: str
        choices: [present, absent]
notes:
  - Check mode sends the write as a server-side dry run. Supports diff mode. Part of the
    C(vmnet.kubevirt.vmnet) action group.
attributes:
  check_mode:
    support: full
    details: Writes are sent as a server-side dry run; nothing is stored.
  diff_mode:
    support: full
    details: Returns the Multus CR before and after.
requirements:
  - kubernetes >= 28.1.0
'''

EXAMPLES = r'''
- name: OVS on br1, VLAN 30, default pool vlan30-v4
  vmnet.kubevirt.multus_cr:
    name: ovs-vlan30
    namespace: kube-system
    cni_type: ovs
    ovs:
      bridge: br1
      vlan: 30
    default_ip_pools:
      ipv4: [vlan30-v4]

- name: The same as a plain NetworkAttachmentDefinition
  vmnet.kubevirt.multus_cr:
    name: ovs-vlan30
    kind: NetworkAttachmentDefinition
    ovs:
      bridge: br1
      vlan: 30
    default_ip_pools:
      ipv4: [vlan30-v4]

- name: A trunk port
  vmnet.kubevirt.multus_cr:
    name: ovs-trunk
    ovs:
      bridge: br1
      trunk:
        - {min_id: 100, max_id: 199}
        - {id: 300}
'''

RETURN = r'''
action:
  description: C(created), C(updated), C(unchanged), C(deleted) or C(absent).
  returned: for one CR (O(name))
  type: str
kind:
  description: The kind that was written (after resolving C(auto)).
  returned: success
  type: str
  sample: SpiderMultusConfig
result:
  description: The object as the server returned it; empty after delete.
  returned: success, for one CR (O(name))
  type: dict
results:
  description: With O(multus_crs), one result per entry in list order, each with C(name), C(namespace), C(state), C(kind),
    C(changed), C(action) (also C(rendered) with O(render_only)) and C(result) as above.
  returned: with O(multus_crs)
  type: list
  elements: dict
api_retries:
  description: How many transient API failures were retried.
  returned: success
  type: int
problems:
  description: Every rule the input broke; nothing was written (the message counts and lists them).
  returned: failure by validation
  type: list
  elements: str
'''

from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._multus_runner import module_kwargs, run  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._options import StrictModule  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module  # noqa: E402


def main():
    run_module(StrictModule(**module_kwargs()), run, connect=KubeApi.from_params)


if __name__ == '__main__':
    main()
