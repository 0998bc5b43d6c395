#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ovs_bridge_confirm
short_description: Confirm a commit-confirmed change of M(vmnet.kubevirt.ovs_bridge)
version_added: 0.1.0
description:
  - M(vmnet.kubevirt.ovs_bridge) applies risky changes through a detached process on the node
    that restores the previous state unless it is confirmed in time. This module is that
    confirmation; that it runs at all proves the controller still reaches the node.
  - "Run it after C(meta: reset_connection): with O(require_new_connection) it refuses to confirm
    over the same SSH connection that started the change (compared through C(SSH_CONNECTION))."
  - It waits until the node reports the change committed (persistence files written) and fails
    if the node rolled back instead.
author:
  - vmnet.kubevirt developers (@vmnet)
attributes:
  check_mode:
    support: full
    details: Reports the state of the change without confirming it.
  diff_mode:
    support: none
  platform:
    support: full
    details: Linux hosts where M(vmnet.kubevirt.ovs_bridge) ran.
extends_documentation_fragment:
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.HOST
options:
  token:
    description: The C(commit.token) returned by M(vmnet.kubevirt.ovs_bridge).
    type: str
    required: true
  wait:
    description: Seconds to wait for the node to acknowledge the confirmation.
    type: int
    default: 10
  require_new_connection:
    description:
      - Refuse to confirm over the SSH connection that started the change, so the confirmation
        proves that a fresh connection reaches the node.
      - Ignored when the connection is not SSH (no C(SSH_CONNECTION) in the environment).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Move eth1 onto br1 (commit-confirmed)
  vmnet.kubevirt.ovs_bridge:
    name: br1
    uplink: {interface: eth1, allow_default_route: true}
  register: br1

- name: New SSH connection
  ansible.builtin.meta: reset_connection

- name: Confirm
  vmnet.kubevirt.ovs_bridge_confirm:
    token: "{{ br1.commit.token }}"
  when: br1.commit.status | default('') == 'waiting-confirm'
'''

RETURN = r'''
status:
  description: Final state of the change on the node (V(committed)), or its state in check mode.
  returned: always
  type: str
  sample: committed
problems:
  description: Every rule the input broke (field, value as JSON, rule); nothing on the host was read or changed.
  returned: failure by validation
  type: list
  elements: str
reason:
  description: Why the node rolled back, when it did.
  returned: when the node rolled back
  type: str
  sample: no confirmation from the controller within 30 s
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostIO
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_host_run import confirm
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module

ARGUMENT_SPEC = dict(
    token=dict(type='str', required=True, no_log=False),
    wait=dict(type='int', default=10),
    require_new_connection=dict(type='bool', default=True),
)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), confirm, HostIO)


if __name__ == '__main__':
    main()
