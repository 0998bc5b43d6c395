#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ovs_fabric_port
short_description: Temporary OVS test port for a fabric check across nodes
version_added: 0.1.0
description:
  - Creates an OVS internal port on a test VLAN with a test address (host number
    O(host_index) + 1 in O(cidr)), optionally pings the same port on other nodes and reports
    which of them answered, and removes the port again with O(state=absent).
  - The role M(vmnet.kubevirt.ovs_bridge) runs it on every node (tasks C(fabric_check.yml)) and
    turns the answers into a reachability matrix.
author:
  - vmnet.kubevirt developers (@vmnet)
attributes:
  check_mode:
    support: full
    details: Reports what would change; pings nothing.
  diff_mode:
    support: none
  platform:
    support: full
    details: Linux hosts with Open vSwitch.
extends_documentation_fragment:
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.HOST
options:
  bridge:
    description: The bridge to test.
    type: str
    required: true
  name:
    description: Name of the temporary internal port.
    type: str
    default: vmnet-fabric
  vlan:
    description: Test VLAN (access tag of the port, 1-4094).
    type: int
    default: 4000
  cidr:
    description: Private test range; it must not be used anywhere else on the nodes.
    type: str
    default: 198.18.250.0/24
  host_index:
    description: This node's position (0-based); its address is host number O(host_index) + 1.
    type: int
    required: true
  peers:
    description: Other nodes to ping, as name -> their O(host_index).
    type: dict
    default: {}
  count:
    description: Pings per peer (1-100).
    type: int
    default: 3
  wait:
    description: Seconds to wait for each reply (1-60).
    type: int
    default: 1
  state:
    description: V(present) creates the port (and pings O(peers)); V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
'''

EXAMPLES = r'''
- name: Test port on every node
  vmnet.kubevirt.ovs_fabric_port:
    bridge: br0
    host_index: "{{ ansible_play_hosts_all.index(inventory_hostname) }}"

- name: Ping every other node's test port
  vmnet.kubevirt.ovs_fabric_port:
    bridge: br0
    host_index: "{{ ansible_play_hosts_all.index(inventory_hostname) }}"
    peers: {node2: 1, node3: 2}
  register: fabric

- name: Remove the test port
  vmnet.kubevirt.ovs_fabric_port:
    bridge: br0
    host_index: 0
    state: absent
'''

RETURN = r'''
address:
  description: This node's test address.
  returned: always
  type: str
  sample: 198.18.250.1/24
problems:
  description: Every rule the input broke (field, value as JSON, rule); nothing on the host was read or changed.
  returned: failure by validation
  type: list
  elements: str
reachability:
  description: Peer name -> whether its test port answered.
  returned: always
  type: dict
  sample: {node2: true, node3: false}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostIO
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_host_run import fabric_port
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module

ARGUMENT_SPEC = dict(
    bridge=dict(type='str', required=True),
    name=dict(type='str', default='vmnet-fabric'),
    vlan=dict(type='int', default=4000),
    cidr=dict(type='str', default='198.18.250.0/24'),
    host_index=dict(type='int', required=True),
    peers=dict(type='dict', default={}),
    count=dict(type='int', default=3),
    wait=dict(type='int', default=1),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), fabric_port, HostIO)


if __name__ == '__main__':
    main()
