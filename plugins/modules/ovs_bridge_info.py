#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ovs_bridge_info
short_description: Read Open vSwitch bridges, their ports, addresses and routes
version_added: 0.1.0
description:
  - Reads every OVS bridge (or the one named) in one OVSDB read, in the shape
    M(vmnet.kubevirt.ovs_bridge) manages, with the addresses and routes the kernel has on each
    bridge device and the commit-confirm changes still waiting for a confirmation.
author:
  - vmnet.kubevirt developers (@vmnet)
extends_documentation_fragment:
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.HOST
  - vmnet.kubevirt.attributes.INFO_MODULE
attributes:
  platform:
    support: full
    details: Linux hosts with Open vSwitch.
options:
  name:
    description: Only this bridge (all bridges when unset).
    type: str
'''

EXAMPLES = r'''
- name: Read br1
  vmnet.kubevirt.ovs_bridge_info:
    name: br1
  register: br1_info

- name: The bridge carries the node's address
  ansible.builtin.assert:
    that: br1_info.bridges.br1.addresses | length > 0
'''

RETURN = r'''
bridges:
  description: Bridge name -> state (datapath_type, fail_mode, external_ids, other_config, ports) plus addresses and routes.
  returned: always
  type: dict
  sample: {br1: {datapath_type: "", fail_mode: null, external_ids: {}, other_config: {hwaddr: "00:16:3e:10:00:01"},
                 ports: {eth1: {trunks: [0, 100], tag: null, vlan_mode: null}}, addresses: ["10.0.0.11/24"],
                 routes: ["default via 10.0.0.1"]}}
problems:
  description: Every rule the input broke (field, value as JSON, rule); nothing on the host was read or changed.
  returned: failure by validation
  type: list
  elements: str
pending:
  description: Commit-confirm changes on this node still waiting for their confirmation (tokens).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostIO
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_host_run import bridge_info
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module

ARGUMENT_SPEC = dict(name=dict(type='str'))


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), bridge_info, HostIO)


if __name__ == '__main__':
    main()
