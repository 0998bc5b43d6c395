#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ovs_bridge
short_description: Desired state of an Open vSwitch bridge, with a safe uplink move
version_added: 0.1.0
description:
  - Reconciles one OVS bridge and its ports (tags, trunks, VLAN mode, external_ids, other_config)
    in a single C(ovs-vsctl) transaction, so OVSDB applies all of it or none of it.
  - With O(uplink), the NIC (or a bond of NICs) becomes a bridge port and, with
    O(uplink.migrate_ip), its addresses and routes move onto the bridge in one C(ip -batch) step
    while the bridge keeps the NIC's MAC address (C(other-config:hwaddr)).
  - "Risky changes (anything that touches the uplink port or moves addresses) are protected by
    commit-confirm: a detached process on the node applies the change, runs the local O(probes),
    and restores the exact previous state (bridge, ports, addresses, routes) unless the probes pass
    and M(vmnet.kubevirt.ovs_bridge_confirm) confirms over a new SSH connection within
    O(confirm_timeout) seconds. The returned C(commit.token) is what the confirmation needs."
  - Preflight refuses, before writing anything, a missing NIC, a NIC of another bridge, bridging
    the NIC that carries the default route unless O(uplink.allow_default_route=true), and uplink
    VLAN settings that would drop the untagged management traffic.
  - A second identical run reads OVSDB once, finds nothing to do and writes nothing.
author:
  - vmnet.kubevirt developers (@vmnet)
requirements:
  - Open vSwitch (C(ovs-vsctl)) and iproute2 (C(ip)) on the managed node.
  - C(ping) on the managed node for the gateway and address probes.
notes:
  - Map values (O(external_ids), O(other_config) and the port ones) are merged into what OVSDB
    holds, so keys written by others (ovs-cni, OVN) are kept; give a key the value V(null) to
    remove it. Port C(tag), C(trunks) and C(vlan_mode) of listed ports are fully managed.
  - "Commit-confirm state lives under C(/var/lib/vmnet-kubevirt/ovs_bridge) on the node. Keep the SSH
    keepalive window (C(ServerAliveInterval) x C(ServerAliveCountMax)) longer than
    O(confirm_timeout) plus O(probes.timeout), or reset the connection before confirming."
  - "A node that restarts (or loses power) inside the confirmation window restores its previous
    state at boot, before the network is configured and before Open vSwitch starts: bridge,
    ports and settings in OVSDB, and the persistence files. Before its first commit-confirmed
    change the module installs that boot hook: C(/usr/local/libexec/vmnet-kubevirt/ovs-bridge-boot-rollback),
    run by the systemd unit C(vmnet-ovs-bridge-rollback.service) (before C(network-pre.target))
    and by the SysV script C(/etc/init.d/vmnet-ovs-bridge-rollback) (rcS, before C(networking))."

  - The role M(vmnet.kubevirt.ovs_bridge) runs this module, resets the connection and confirms.
  - Persistence with O(persist=ifupdown) comments out the uplink's own stanzas in
    C(/etc/network/interfaces); O(state=absent) removes the files this module wrote and restores
    those stanzas, so the NIC gets its own addresses again at the next boot.
extends_documentation_fragment:
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.HOST
attributes:
  check_mode:
    support: full
    details: Computes the transaction, the address move and the files without running them.
  diff_mode:
    support: full
    details: Shows the bridge, its addresses and routes, and the persistence files before and after.
  platform:
    support: full
    details: Linux hosts with Open vSwitch.
options:
  name:
    description: Name of the bridge (a Linux interface name, at most 15 characters).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the bridge; V(absent) deletes it.
      - With V(absent), a bridge that carries addresses is only deleted when O(uplink.interface)
        names the NIC to move them back to (a commit-confirmed move).
    type: str
    choices: [present, absent]
    default: present
  datapath_type:
    description:
      - OVS datapath of the bridge. V(system) is the kernel datapath (OVS's default),
        V(netdev) the userspace one. Unset keeps what the bridge has.
    type: str
    choices: [system, netdev]
  fail_mode:
    description: What the bridge does without an OpenFlow controller. Unset keeps the current value.
    type: str
    choices: [standalone, secure]
  uplink:
    description: The bridge's uplink, either one NIC (O(uplink.interface)) or a bond (O(uplink.bond)).
    type: dict
    suboptions:
      interface:
        description: The NIC to make a bridge port.
        type: str
      bond:
        description: A bond of NICs as the uplink port.
        type: dict
        suboptions:
          name:
            description: Name of the bond port.
            type: str
            required: true
          interfaces:
            description: The member NICs (at least two).
            type: list
            elements: str
            required: true
          mode:
            description: OVS bond mode.
            type: str
            choices: [active-backup, balance-slb, balance-tcp]
            default: active-backup
          lacp:
            description: LACP negotiation; V(balance-tcp) needs V(active) or V(passive).
            type: str
            choices: [active, passive, 'off']
            default: 'off'
      migrate_ip:
        description: Move the NIC's global addresses and its routes onto the bridge.
        type: bool
        default: true
      allow_default_route:
        description:
          - Allow moving a NIC that carries the default route (usually the node's own path).
          - Without it, preflight refuses such a move before anything is changed.
        type: bool
        default: false
      tag:
        description: Native VLAN of the uplink port (with O(uplink.vlan_mode) V(native-untagged) or V(native-tagged)).
        type: int
      trunks:
        description:
          - VLANs the uplink carries, as ids or V(first-last) ranges. Empty means all VLANs.
          - When management addresses ride the bridge, untagged traffic must stay on VLAN 0, so
            include V(0) or use O(uplink.vlan_mode=native-untagged) without a tag.
        type: list
        elements: raw
      vlan_mode:
        description: OVS VLAN mode of the uplink port.
        type: str
        choices: [access, trunk, native-tagged, native-untagged]
  ports:
    description:
      - Further ports of the bridge.
      - A system NIC that carries addresses or routes is refused as a port; make it the O(uplink)
        (its addresses then move with the uplink's safety).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Port (and interface) name.
        type: str
        required: true
      type:
        description: V(system) for an existing device, V(internal) for an OVS internal port, V(patch) for a patch port.
        type: str
        choices: [system, internal, patch]
        default: system
      peer:
        description: Peer of a patch port.
        type: str
      tag:
        description: Access VLAN (1-4094).
        type: int
      trunks:
        description: Trunked VLANs as ids or V(first-last) ranges.
        type: list
        elements: raw
      vlan_mode:
        description: OVS VLAN mode of the port.
        type: str
        choices: [access, trunk, native-tagged, native-untagged]
      external_ids:
        description: Port external_ids to set (V(null) removes a key).
        type: dict
      other_config:
        description: Port other_config to set (V(null) removes a key).
        type: dict
  purge_ports:
    description: Remove ports of the bridge that are neither the uplink nor listed in O(ports).
    type: bool
    default: false
  external_ids:
    description:
      - Bridge external_ids to set (V(null) removes a key; other keys are kept).
      - "Keys are 1-128 ASCII letters, digits and C(_ . : / -); values 1-256 ASCII letters, digits
        and C(_ . : / , = + @ -) (no spaces or shell characters, which would reach netplan's systemd
        units), or the type Open vSwitch documents for the key (C(bridge-id))."
    type: dict
  other_config:
    description:
      - Bridge other_config to set (V(null) removes a key; other keys are kept).
      - C(hwaddr) defaults to the uplink's MAC address and must be a unicast MAC.
      - Keys that ovs-vswitchd.conf.db(5) documents for the Bridge table get their type (for example
        C(stp-priority) an integer from 0 to 65535, C(disable-in-band) true or false,
        C(datapath-id) 16 hexadecimal digits); other keys and values follow the rule of
        O(external_ids). The same holds for the port options (C(lacp-time), C(bond-primary), ...).
    type: dict
  confirm_timeout:
    description:
      - Seconds the node waits, after the probes pass, for M(vmnet.kubevirt.ovs_bridge_confirm)
        before it restores the previous state. V(0) turns the controller confirmation off
        (the probes still guard the change).
    type: int
    default: 30
  probes:
    description: Local checks the node runs after a risky change; any failure rolls the change back.
    type: dict
    suboptions:
      gateway:
        description: Ping the gateways of the moved routes.
        type: bool
        default: true
      ping:
        description: Further addresses to ping.
        type: list
        elements: str
      tcp:
        description: TCP endpoints (V(host:port), V([v6]:port)) that must accept a connection.
        type: list
        elements: str
      api_server:
        description: The Kubernetes API server (V(https://host:port) or V(host:port)), probed over TCP.
        type: str
      timeout:
        description: Seconds the probes may retry before they count as failed.
        type: int
        default: 10
  persist:
    description:
      - Make the bridge's addresses, routes and uplink come back after a reboot.
      - V(auto) picks netplan where C(/etc/netplan) holds configuration, NetworkManager where it
        runs, ifupdown where C(/etc/network/interfaces) is used, each only when the node has all it
        needs (the command, and for ifupdown Open vSwitch's ifupdown hook). It writes nothing when
        the bridge has neither an uplink nor addresses (OVSDB keeps bridges by itself).
      - An explicit method the node cannot run is refused before any change, naming what it lacks.
      - V(none) writes nothing.
    type: str
    choices: [auto, ifupdown, netplan, networkmanager, none]
    default: auto
'''

EXAMPLES = r'''
- name: Bridge eth1 with the node's IP moved onto br1, trunking VLANs 100-199 plus untagged
  vmnet.kubevirt.ovs_bridge:
    name: br1
    uplink:
      interface: eth1
      allow_default_route: true
      trunks: [0, "100-199"]
    probes:
      api_server: https://10.0.0.10:6443
  register: br1

- name: Reconnect, so the confirmation proves a NEW SSH connection reaches the node
  ansible.builtin.meta: reset_connection

- name: Confirm, or the node rolls back by itself
  vmnet.kubevirt.ovs_bridge_confirm:
    token: "{{ br1.commit.token }}"
  when: br1.commit.status | default('') == 'waiting-confirm'

- name: A bridge for VMs only, with an access port and a patch port, nothing else allowed
  vmnet.kubevirt.ovs_bridge:
    name: br-vm
    datapath_type: netdev
    fail_mode: standalone
    ports:
      - {name: vm-probe, type: internal, tag: 30}
      - {name: to-br1, type: patch, peer: to-br-vm}
    purge_ports: true
    external_ids:
      owner: platform-team

- name: A bond uplink without addresses
  vmnet.kubevirt.ovs_bridge:
    name: br-data
    uplink:
      bond:
        name: bond0
        interfaces: [eth2, eth3]
        mode: balance-tcp
        lacp: active
      trunks: ["200-299"]
    persist: none
'''

RETURN = r'''
bridge:
  description: The bridge as it is after the run (as it would be, in check mode); null when absent.
  returned: always
  type: dict
  sample: {datapath_type: netdev, fail_mode: null, external_ids: {}, other_config: {hwaddr: "00:16:3e:10:00:01"},
           ports: {eth1: {tag: null, trunks: [0, 100], vlan_mode: null}}}
problems:
  description: Every rule the input broke (field, value as JSON, rule); nothing on the host was read or changed.
  returned: failure by validation
  type: list
  elements: str
commands:
  description: The one ovs-vsctl transaction (argv) that was run, or would be in check mode.
  returned: always
  type: list
  elements: str
  sample: [ovs-vsctl, --timeout=30, --, --may-exist, add-br, br1]
ip_batch:
  description: The C(ip -batch) lines of the address and route move.
  returned: always
  type: list
  elements: str
  sample: ["link set dev br1 up", "address flush dev eth1 scope global", "address add 10.0.0.11/24 dev br1"]
rollback:
  description: What restores the previous state (C(commands) argv and C(ip_batch) lines).
  returned: always
  type: dict
moved:
  description: Addresses and routes moved, and between which interfaces.
  returned: always
  type: dict
  sample: {from: [eth1], to: br1, addresses: ["10.0.0.11/24"], routes: ["0.0.0.0/0 via 10.0.0.1"]}
persist:
  description: The persistence method used (V(auto) resolved) and the files written or to write.
  returned: always
  type: dict
  sample: {method: ifupdown, files: [/etc/network/interfaces.d/vmnet-br1]}
commit:
  description:
    - Commit-confirm outcome. C(status) is V(committed), V(waiting-confirm) (confirm with C(token)
      before C(confirm_timeout) runs out) or V(not-needed).
  returned: always
  type: dict
  sample: {status: waiting-confirm, token: 0f3c5c3be6e54f9c9a4f8cf3a3b9d7e1, probes: [{probe: gateway, target: 10.0.0.1, passed: true}]}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostIO
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_bridge_run import run
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module

VLAN_OPTIONS = dict(
    tag=dict(type='int'),
    trunks=dict(type='list', elements='raw'),
    vlan_mode=dict(type='str', choices=['access', 'trunk', 'native-tagged', 'native-untagged']),
)

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    datapath_type=dict(type='str', choices=['system', 'netdev']),
    fail_mode=dict(type='str', choices=['standalone', 'secure']),
    uplink=dict(type='dict', options=dict(
        interface=dict(type='str'),
        bond=dict(type='dict', options=dict(
            name=dict(type='str', required=True),
            interfaces=dict(type='list', elements='str', required=True),
            mode=dict(type='str', choices=['active-backup', 'balance-slb', 'balance-tcp'], default='active-backup'),
            lacp=dict(type='str', choices=['active', 'passive', 'off'], default='off'),
        )),
        migrate_ip=dict(type='bool', default=True),
        allow_default_route=dict(type='bool', default=False),
        **VLAN_OPTIONS
    ), mutually_exclusive=[['interface', 'bond']], required_one_of=[['interface', 'bond']]),
    ports=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        type=dict(type='str', choices=['system', 'internal', 'patch'], default='system'),
        peer=dict(type='str'),
        external_ids=dict(type='dict'),
        other_config=dict(type='dict'),
        **VLAN_OPTIONS
    )),
    purge_ports=dict(type='bool', default=False),
    external_ids=dict(type='dict'),
    other_config=dict(type='dict'),
    confirm_timeout=dict(type='int', default=30),
    probes=dict(type='dict', options=dict(
        gateway=dict(type='bool', default=True),
        ping=dict(type='list', elements='str'),
        tcp=dict(type='list', elements='str'),
        api_server=dict(type='str'),
        timeout=dict(type='int', default=10),
    )),
    persist=dict(type='str', choices=['auto', 'ifupdown', 'netplan', 'networkmanager', 'none'], default='auto'),
)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), run, HostIO)


if __name__ == '__main__':
    main()
