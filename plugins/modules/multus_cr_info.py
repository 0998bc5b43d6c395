#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module multus_cr_info: read Multus CRs and the NADs behind them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
module: multus_cr_info
short_description: Read Multus CRs (SpiderMultusConfigs and NetworkAttachmentDefinitions)
version_added: 0.1.0
description:
  - Returns SpiderMultusConfigs and NetworkAttachmentDefinitions, with each NAD's CNI config parsed.
  - With O(name) and O(kind=auto), returns the SpiderMultusConfig and the NAD generated from it
    (named by its C(multus.spidernet.io/cr-name) annotation), or the plain NAD of that name.
author:
  - vmnet.kubevirt developers (@vmnet)
extends_documentation_fragment:
  - vmnet.kubevirt.k8s_auth
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.CLUSTER
  - vmnet.kubevirt.attributes.INFO_MODULE
options:
  name:
    description: Name of one CR; all are returned when omitted.
    type: str
  namespace:
    description: Namespace to look in; all namespaces when omitted.
    type: str
  kind:
    description: Which kind to read; C(auto) reads both.
    type: str
    default: auto
    choices: [auto, SpiderMultusConfig, NetworkAttachmentDefinition]
requirements:
  - kubernetes >= 28.1.0
'''

EXAMPLES = r'''
- name: The ovs-vlan30 CR and its NAD
  vmnet.kubevirt.multus_cr_info:
    name: ovs-vlan30
    namespace: kube-system
  register: cr

- name: Its bridge
  ansible.builtin.debug:
    msg: "{{ cr.networks[0].config.plugins[0].bridge }}"
'''

RETURN = r'''
multus_configs:
  description: SpiderMultusConfigs found.
  returned: always
  type: list
  elements: dict
network_attachment_definitions:
  description: NetworkAttachmentDefinitions found.
  returned: always
  type: list
  elements: dict
networks:
  description: One digest per NAD.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: NAD name.
      type: str
    namespace:
      description: NAD namespace.
      type: str
    config:
      description: The parsed CNI config (null when not JSON).
      type: dict
    owner:
      description: The SpiderMultusConfig that generated it, if any.
      type: str
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._multus_runner import info_argument_spec, run_info  # noqa: E402
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module  # noqa: E402


def main():
    run_module(AnsibleModule(argument_spec=info_argument_spec(), supports_check_mode=True), run_info, connect=KubeApi.from_params)


if __name__ == '__main__':
    main()
