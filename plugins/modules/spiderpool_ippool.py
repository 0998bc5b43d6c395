#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module spiderpool_ippool: create, update or delete a Spiderpool SpiderIPPool."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
module: spiderpool_ippool
short_description: Manage Spiderpool SpiderIPPools with webhook-grade validation
version_added: 0.1.0
description:
  - Creates, updates or deletes a C(SpiderIPPool) (C(spiderpool.spidernet.io/v2beta1), cluster scoped).
  - Every rule of Spiderpool's validating webhook is checked before anything is written, so a
    bad pool fails with a message naming the option, the value and the rule. With a reachable
    cluster the cross-object rules are checked too - overlap with other pools, the pool's IPs
    inside the IPs of the C(SpiderSubnet) with the same subnet, immutable C(subnet) and
    C(ipVersion), allocated IPs that an update would remove.
  - C(ips) and C(exclude_ips) are written merged and canonical, as Spiderpool's mutating webhook
    stores them, so a second identical run reports no change.
  - What the task declares is what the pool holds - an option left unset that an earlier run set is
    removed. Lists replace the whole list.
  - Many pools in one task with O(ippools) (one read of the cluster for all of them, every entry checked
    before the first write).
  - The served CRD decides version-specific fields - O(vlan) exists only in Spiderpool v0.9.x.
author:
  - vmnet.kubevirt developers (@vmnet)
extends_documentation_fragment:
  - vmnet.kubevirt.k8s_auth
  - vmnet.kubevirt.cluster_api
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.CLUSTER
options:
  name:
    description: Name of the pool (a DNS-1123 subdomain). Required unless O(ippools) is given; mutually exclusive with it.
    type: str
  render_only:
    description:
      - Check every input and return the manifests without contacting any cluster (no kubeconfig needed).
        The rules that need the cluster (overlap with existing pools, subnets, allocated IPs) are not checked.
    type: bool
    default: false
  state:
    description: C(present) creates or updates the pool, C(absent) deletes it.
    type: str
    default: present
    choices: [present, absent]
  subnet:
    description:
      - The pool's CIDR in canonical form (C(10.6.0.0/16), not C(10.6.0.1/16)). Required with
        O(state=present) and immutable once the pool exists.
    type: str
  ip_version:
    description: IP version, 4 or 6. Derived from O(subnet) when omitted; immutable.
    type: int
    choices: [4, 6]
  ips:
    description:
      - Addresses of the pool, each a single address or a C(start-end) range inside O(subnet).
        CIDR entries are not allowed.
    type: list
    elements: str
  exclude_ips:
    description: Addresses never allocated from the pool, same format as O(ips).
    type: list
    elements: str
  gateway:
    description:
      - Gateway handed to pods; inside O(subnet), and listed in O(exclude_ips) when it lies inside O(ips).
    type: str
  routes:
    description:
      - Extra routes. C(dst) must not be the default route (use O(gateway)), must not repeat, and
        C(gw) must lie inside O(subnet).
    type: list
    elements: dict
    suboptions: &route
      dst:
        description: Destination CIDR.
        type: str
        required: true
      gw:
        description: Next hop, inside O(subnet).
        type: str
        required: true
  vlan:
    description:
      - Deprecated VLAN field of Spiderpool v0.9.x (0-4094). Refused when the served CRD has no
        such field (Spiderpool 1.0 and later).
    type: int
  default:
    description: Whether the pool is a cluster default pool (C(spec.default)).
    type: bool
  disable:
    description: Stop allocating from the pool (C(spec.disable)).
    type: bool
  multus_name:
    description: Multus CRs (C(namespace/name), or a bare name in the Spiderpool namespace) allowed to use the pool.
    type: list
    elements: str
  namespace_affinity:
    description: Label selector of namespaces allowed to use the pool.
    type: dict
    suboptions: &selector
      match_labels:
        description: Labels that must all match.
        type: dict
      match_expressions:
        description: Selector requirements.
        type: list
        elements: dict
        suboptions:
          key:
            description: Label key.
            type: str
            required: true
          operator:
            description: One of C(In), C(NotIn), C(Exists), C(DoesNotExist).
            type: str
            required: true
          values:
            description: Values, non-empty for C(In)/C(NotIn), empty otherwise.
            type: list
            elements: str
  node_affinity:
    description: Label selector of nodes whose pods may use the pool.
    type: dict
    suboptions: *selector
  pod_affinity:
    description: Label selector of pods allowed to use the pool; when given it must not be empty.
    type: dict
    suboptions: *selector
  namespace_name:
    description: Namespaces allowed to use the pool (namespace names, DNS-1123 labels).
    type: list
    elements: str
  node_name:
    description: Nodes whose pods may use the pool (node names, DNS-1123 subdomains).
    type: list
    elements: str
  labels:
    description:
      - Labels of the pool; keys are qualified names (C(prefix/name)), values label values (at most 63 characters).
        Numbers and booleans are written as text.
    type: dict
  spiderpool_namespace:
    description:
      - Namespace Spiderpool is installed in. Its C(spiderpool-conf) ConfigMap tells which IP families
        are enabled (webhook rule 1) and whether SpiderSubnet is on; when it cannot be read, both
        families and SpiderSubnet are assumed on, as by default.
    type: str
    default: kube-system
  force:
    description:
      - With O(state=absent), delete the pool even though IPs are still allocated from it.
        Spiderpool's finalizer then holds the pool until they are released.
    type: bool
    default: false
  ippools:
    description:
      - Many pools in one task, for inventories (C(vmnet_ippools)). Each entry takes the options of one pool, from
        O(name) to O(force), with their suboptions; an entry leaves out what the top-level option sets.
      - Every key of every entry is checked (an unknown or misspelt key fails naming the entry and the keys allowed
        there), then every rule of every entry, then the cross-object rules against the cluster and the entries
        before it; only then is anything written, in list order.
      - Returns RV(results), one per entry.
    type: list
    elements: dict
    suboptions:
      default:
        description: See O(default).
        type: bool
      disable:
        description: See O(disable).
        type: bool
      exclude_ips:
        description: See O(exclude_ips).
        type: list
        elements: str
      force:
        description: See O(force).
        type: bool
      gateway:
        description: See O(gateway).
        type: str
      ip_version:
        description: See O(ip_version).
        type: int
        choices: [4, 6]
      ips:
        description: See O(ips).
        type: list
        elements: str
      labels:
        description: See O(labels).
        type: dict
      multus_name:
        description: See O(multus_name).
        type: list
        elements: str
      name:
        description: See O(name).
        type: str
        required: true
      namespace_affinity:
        description: See O(namespace_affinity).
        type: dict
        suboptions: *selector
      namespace_name:
        description: See O(namespace_name).
        type: list
        elements: str
      node_affinity:
        description: See O(node_affinity).
        type: dict
        suboptions: *selector
      node_name:
        description: See O(node_name).
        type: list
        elements: str
      pod_affinity:
        description: See O(pod_affinity).
        type: dict
        suboptions: *selector
      routes:
        description: See O(routes).
        type: list
        elements: dict
        suboptions: *route
      state:
        description: See O(state).
        type: str
        choices: [present, absent]
      subnet:
        description: See O(subnet).
        type: str
      vlan:
        description: See O(vlan).
        type: int
notes:
  - Check mode sends the write as a server-side dry run, so nothing is stored.
  - Supports diff mode. Belongs to the C(vmnet.kubevirt.vmnet) action group, so
    C(module_defaults) for C(group/vmnet.kubevirt.vmnet) can carry the auth options.
attributes:
  check_mode:
    support: full
    details: Writes are sent as a server-side dry run; nothing is stored.
  diff_mode:
    support: full
    details: Returns the pool before and after.
requirements:
  - kubernetes >= 28.1.0
  - PyYAML
  - jsonpatch
'''

EXAMPLES = r'''
- name: A pool for VLAN 30 VMs, default pool of the ovs-vlan30 Multus CR
  vmnet.kubevirt.spiderpool_ippool:
    name: vlan30-v4
    subnet: 172.30.0.0/16
    ips:
      - 172.30.10.10-172.30.10.200
    gateway: 172.30.0.1
    multus_name:
      - kube-system/ovs-vlan30

- name: Pool used only in namespace tenant-a, with a route
  vmnet.kubevirt.spiderpool_ippool:
    name: tenant-a-v6
    subnet: fd00:30::/64
    ips: ["fd00:30::100-fd00:30::1ff"]
    routes:
      - dst: fd00:99::/64
        gw: fd00:30::fe
    namespace_name: [tenant-a]

- name: The pools of an inventory in one task (every entry checked before the first write)
  vmnet.kubevirt.spiderpool_ippool:
    ippools: "{{ vmnet_ippools }}"

- name: Remove a pool even though IPs are still allocated
  vmnet.kubevirt.spiderpool_ippool:
    name: old-pool
    state: absent
    force: true
'''

RETURN = r'''
action:
  description: What was done - C(created), C(updated), C(unchanged), C(deleted) or C(absent).
  returned: for one pool (O(name))
  type: str
  sample: created
result:
  description: The pool as the server returned it (server-owned metadata removed); empty after delete.
  returned: success, for one pool (O(name))
  type: dict
results:
  description: With O(ippools), one result per entry in list order, each with C(name), C(state), C(changed), C(action)
    (also C(rendered) with O(render_only)) and C(result) as above.
  returned: with O(ippools)
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
  sample: ['exclude_ips[0]: "10.7.0.1" lies outside subnet 10.6.0.0/16 (webhook rule 5: every ips/excludeIPs entry must be inside subnet)']
allocated_ips:
  description: Allocated addresses of a pool whose deletion was refused.
  returned: failure by a refused delete
  type: list
  elements: str
'''

from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._options import StrictModule  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool import POOL_KIND  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_runner import module_kwargs, run  # noqa: E402


def main():
    run_module(StrictModule(**module_kwargs(POOL_KIND)), run, connect=KubeApi.from_params, kind=POOL_KIND)


if __name__ == '__main__':
    main()
