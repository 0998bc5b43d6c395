#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
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
reachability:
  description: Peer name -> whether its test port answered.
  returned: always
  type: dict
  sample: {node2: true, node3: false}
'''

import ipaddress
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostIO, HostCommandError
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import transaction_argv
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import fabric_port_problems


def test_address(cidr, index):
    """Host number ``index + 1`` of ``cidr`` with its prefix length, e.g. ``198.18.250.2/24``."""
    network = ipaddress.ip_network(cidr, strict=True)
    if index < 0 or index + 2 > network.num_addresses:
        raise ValueError('host_index: %r does not fit in cidr %s' % (index, cidr))
    return '%s/%d' % (network.network_address + index + 1, network.prefixlen)


def main():
    module = AnsibleModule(argument_spec=dict(
        bridge=dict(type='str', required=True),
        name=dict(type='str', default='vmnet-fabric'),
        vlan=dict(type='int', default=4000),
        cidr=dict(type='str', default='198.18.250.0/24'),
        host_index=dict(type='int', required=True),
        peers=dict(type='dict', default={}),
        count=dict(type='int', default=3),
        wait=dict(type='int', default=1),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    ), supports_check_mode=True)
    params = module.params
    problems = fabric_port_problems(params)
    if problems:
        module.fail_json(msg='invalid input, nothing was changed: %s' % '; '.join(problems), errors=problems)
    address = test_address(params['cidr'], params['host_index'])
    peers = dict((name, test_address(params['cidr'], index).split('/')[0]) for name, index in params['peers'].items())
    io = HostIO()
    bridges, owners = io.read_ovsdb()
    if params['bridge'] not in bridges:
        module.fail_json(msg='bridge: %r does not exist on this node' % params['bridge'], address=address, reachability={})
    exists = owners.get(params['name']) == params['bridge']
    if owners.get(params['name']) not in (None, params['bridge']):
        module.fail_json(msg='name: %r is a port of bridge %r' % (params['name'], owners[params['name']]))
    result = {'changed': False, 'address': address, 'reachability': {}}
    if params['state'] == 'absent':
        result['changed'] = exists
        if exists and not module.check_mode:
            io.ovs_transaction(transaction_argv([['--if-exists', 'del-port', params['bridge'], params['name']]]))
        module.exit_json(**result)
    links, _routes = io.read_network()
    has_address = any(info.get('local') == address.split('/')[0] for link in links if link.get('ifname') == params['name']
                      for info in link.get('addr_info', []))
    if not exists or not has_address:
        result['changed'] = True
        if not module.check_mode:
            try:
                io.ovs_transaction(transaction_argv([
                    ['--may-exist', 'add-port', params['bridge'], params['name'], 'tag=%d' % params['vlan']],
                    ['set', 'Interface', params['name'], 'type=internal']]))
                rc, _out, err = io.ip_batch(['address replace %s dev %s' % (address, params['name']),
                                             'link set dev %s up' % params['name']])
                if rc != 0:
                    module.fail_json(msg='could not address the test port: %s' % err.strip(), **result)
            except HostCommandError as error:
                module.fail_json(msg=str(error), **result)
    if peers and not module.check_mode:
        def probe(item):
            return item[0], io.ping_from(params['name'], item[1], params['count'], params['wait'])
        with ThreadPoolExecutor(max_workers=min(16, len(peers))) as pool:
            result['reachability'] = dict(pool.map(probe, sorted(peers.items())))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
