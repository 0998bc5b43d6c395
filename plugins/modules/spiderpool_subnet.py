#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module spiderpool_subnet: create, update or delete a Spiderpool SpiderSubnet."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
module: spiderpool_subnet
short_description: Manage Spiderpool SpiderSubnets with webhook-grade validation
version_added: 0.1.0
description:
  - Creates, updates or deletes a C(SpiderSubnet) (C(spiderpool.spidernet.io/v2beta1), cluster scoped).
  - The subnet webhook's rules are checked before anything is written - canonical CIDR of the IP
    version, O(ips) and O(exclude_ips) inside the subnet, O(gateway) and O(routes), no overlap with
    another subnet of the same IP version or with an orphan pool of a different subnet, orphan pools
    of the same subnet inside O(ips), immutable O(subnet) and O(ip_version), and IPs used by the
    subnet's pools that an update would remove.
  - O(ips) and O(exclude_ips) are written merged and canonical. What the task declares is what the
    subnet holds - an option left unset that an earlier run set is removed.
  - Many subnets in one task with O(subnets), every entry checked before the first write.
  - SpiderSubnets are only acted on by Spiderpool when C(ipam.spiderSubnet.enable=true) (the default).
author:
  - vmnet.kubevirt developers (@vmnet)
extends_documentation_fragment:
  - vmnet.kubevirt.k8s_auth
  - vmnet.kubevirt.cluster_api
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.CLUSTER
options:
  name:
    description: Name of the subnet (a DNS-1123 subdomain). Required unless O(subnets) is given; mutually exclusive with it.
    type: str
  render_only:
    description:
      - Check every input and return the manifests without contacting any cluster (no kubeconfig needed).
    type: bool
    default: false
  state:
    description: C(present) creates or updates the subnet, C(absent) deletes it.
    type: str
    default: present
    choices: [present, absent]
  subnet:
    description: The CIDR in canonical form; required with O(state=present), immutable.
    type: str
  ip_version:
    description: IP version, derived from O(subnet) when omitted; immutable.
    type: int
    choices: [4, 6]
  ips:
    description: Addresses pools may take from the subnet, each an address or a C(start-end) range.
    type: list
    elements: str
  exclude_ips:
    description: Addresses never handed out, same format as O(ips).
    type: list
    elements: str
  gateway:
    description: Gateway inherited by the subnet's pools; inside O(subnet).
    type: str
  routes:
    description: Routes inherited by the subnet's pools.
    type: list
    elements: dict
    suboptions: &route
      dst:
        description: Destination CIDR, not the default route.
        type: str
        required: true
      gw:
        description: Next hop, inside O(subnet).
        type: str
        required: true
  vlan:
    description: Deprecated VLAN field of Spiderpool v0.9.x (0-4094); refused when the served CRD lacks it.
    type: int
  labels:
    description:
      - Labels of the subnet; keys are qualified names (C(prefix/name)), values label values (at most 63 characters).
    type: dict
  spiderpool_namespace:
    description:
      - Namespace Spiderpool is installed in. Its C(spiderpool-conf) ConfigMap tells which IP families
        are enabled (webhook rule 1) and whether SpiderSubnet is on; when it cannot be read, both
        families and SpiderSubnet are assumed on, as by default.
    type: str
    default: kube-system
  force:
    description: With O(state=absent), delete even though IPs are still allocated from the subnet.
    type: bool
    default: false
  subnets:
    description:
      - Many subnets in one task, for inventories (C(vmnet_subnets)). Each entry takes the options of one subnet, from
        O(name) to O(force), with their suboptions; an entry leaves out what the top-level option sets.
      - Every key of every entry is checked (an unknown or misspelt key fails naming the entry and the keys allowed
        there), then every rule, then the cross-object rules; only then is anything written, in list order.
      - Returns RV(results), one per entry.
    type: list
    elements: dict
    suboptions:
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
      name:
        description: See O(name).
        type: str
        required: true
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
  - Check mode sends the write as a server-side dry run. Supports diff mode. Part of the
    C(vmnet.kubevirt.vmnet) action group.
attributes:
  check_mode:
    support: full
    details: Writes are sent as a server-side dry run; nothing is stored.
  diff_mode:
    support: full
    details: Returns the subnet before and after.
requirements:
  - kubernetes >= 28.1.0
'''

EXAMPLES = r'''
- name: The VLAN 30 subnet
  vmnet.kubevirt.spiderpool_subnet:
    name: vlan30-v4
    subnet: 172.30.0.0/16
    ips: [172.30.10.1-172.30.10.250]
    gateway: 172.30.0.1

- name: Delete it
  vmnet.kubevirt.spiderpool_subnet:
    name: vlan30-v4
    state: absent
'''

RETURN = r'''
action:
  description: What was done - C(created), C(updated), C(unchanged), C(deleted) or C(absent).
  returned: for one subnet (O(name))
  type: str
  sample: updated
result:
  description: The subnet as the server returned it; empty after delete.
  returned: success, for one subnet (O(name))
  type: dict
results:
  description: With O(subnets), one result per entry in list order, each with C(name), C(state), C(changed), C(action)
    and C(result) as above.
  returned: with O(subnets)
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
from ansible_collections.vmnet.kubevirt.plugins.module_utils._options import StrictModule  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool import SUBNET_KIND  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_runner import module_kwargs, run  # noqa: E402


def main():
    run_module(StrictModule(**module_kwargs(SUBNET_KIND)), run, connect=KubeApi.from_params, kind=SUBNET_KIND)


if __name__ == '__main__':
    main()
