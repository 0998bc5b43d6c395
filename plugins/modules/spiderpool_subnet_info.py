#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module spiderpool_subnet_info: read SpiderSubnets and their computed IP counts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
module: spiderpool_subnet_info
short_description: Read Spiderpool SpiderSubnets with computed IP counts
version_added: 0.1.0
description:
  - Returns one C(SpiderSubnet) by O(name), or all of them (optionally filtered by labels).
  - Besides the objects, returns a summary per object whose total and free IP counts are computed
    from C(ips), C(excludeIPs) and C(status.allocatedIPs), not copied from the status counters.
author:
  - vmnet.kubevirt developers (@vmnet)
extends_documentation_fragment:
  - vmnet.kubevirt.k8s_auth
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.CLUSTER
  - vmnet.kubevirt.attributes.INFO_MODULE
  - vmnet.kubevirt.label_selectors
options:
  name:
    description: Name of one SpiderSubnet; all are returned when omitted.
    type: str
requirements:
  - kubernetes >= 28.1.0
'''

EXAMPLES = r'''
- name: All SpiderSubnets
  vmnet.kubevirt.spiderpool_subnet_info:
  register: found

- name: Free addresses of one
  ansible.builtin.debug:
    msg: "{{ (found.summaries | selectattr('name', 'equalto', 'vlan30-v4') | first).free_ip_count }}"
'''

RETURN = r'''
resources:
  description: The SpiderSubnets as the API returned them.
  returned: always
  type: list
  elements: dict
summaries:
  description: One digest per object.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Object name.
      type: str
    subnet:
      description: CIDR.
      type: str
    ip_version:
      description: 4 or 6.
      type: int
    total_ip_count:
      description: Addresses in ips minus excludeIPs.
      type: int
    allocated_ip_count:
      description: status.allocatedIPCount (or the number of allocated IPs).
      type: int
    free_ip_count:
      description: Usable addresses not allocated.
      type: int
    default:
      description: spec.default (pools).
      type: bool
    disable:
      description: spec.disable (pools).
      type: bool
    owner_subnet:
      description: The SpiderSubnet that owns a pool, from its label.
      type: str
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool import SUBNET_KIND  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_runner import info_argument_spec, run_info  # noqa: E402


def main():
    run_module(AnsibleModule(argument_spec=info_argument_spec(), supports_check_mode=True), run_info, connect=KubeApi.from_params, kind=SUBNET_KIND)


if __name__ == '__main__':
    main()
