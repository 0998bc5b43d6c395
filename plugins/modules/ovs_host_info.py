#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ovs_host_info
short_description: Read what a host has of Open vSwitch and what is left to install, enable or start
version_added: 0.1.0
description:
  - Reads in one module run what the C(vmnet.kubevirt.ovs) role needs to decide whether anything is left to do
    on a host - the distribution (as Ansible's C(setup) names it), whether NetworkManager runs, whether the
    Open vSwitch packages for that distribution are installed, whether the service starts at boot, and whether
    C(ovsdb-server) and C(ovs-vswitchd) answer (with the running version).
  - Chooses the packages and service for the distribution (Debian and Ubuntu C(openvswitch-switch); RHEL and
    its rebuilds O(rhel_package); Fedora and SUSE C(openvswitch); NetworkManager's OVS plugin where it is
    wanted) and reports what is missing, so a converged host costs this one read.
  - Changes nothing.
author:
  - vmnet.kubevirt developers (@vmnet)
extends_documentation_fragment:
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.HOST
  - vmnet.kubevirt.attributes.INFO_MODULE
attributes:
  platform:
    support: full
    details: Linux hosts with os-release; packages from dpkg (Debian family) or rpm (RedHat and Suse families).
options:
  install:
    description: Whether missing packages count as work left (false when the role only starts and checks Open vSwitch).
    type: bool
    default: true
  rhel_package:
    description: The Open vSwitch package on RHEL and its rebuilds (often versioned, e.g. C(openvswitch3.3)).
    type: str
    default: openvswitch
  networkmanager:
    description:
      - NetworkManager's OVS plugin - V(auto) (where NetworkManager runs), V(true) or V(false).
      - Booleans are accepted as they come from inventories.
    type: raw
    default: auto
  extra_packages:
    description: More packages that must be installed with Open vSwitch.
    type: list
    elements: str
    default: []
  service_enabled:
    description: Whether the service must start at boot (V(false) - it must not).
    type: bool
    default: true
  db_socket:
    description: The OVSDB socket to ask; C(ovs-vswitchd) is asked through the control socket in the same directory.
    type: path
    default: /var/run/openvswitch/db.sock
notes:
  - Packages are looked up by exact name; a package that only I(provides) the name counts as not installed, and the
    role's package task then settles it.
  - Start at boot is read as Ansible's service modules read it - C(systemctl is-enabled) under systemd, start links in
    C(/etc/rc?.d) where C(update-rc.d) manages SysV init scripts - and reported as null elsewhere.
'''

EXAMPLES = r'''
- name: What does the node have of Open vSwitch?
  vmnet.kubevirt.ovs_host_info:
  register: ovs_host

- name: Open vSwitch is installed, starts at boot and runs
  ansible.builtin.assert:
    that:
      - not ovs_host.todo.needed
      - ovs_host.ovs.running
    fail_msg: "missing packages {{ ovs_host.todo.missing }}, start needed: {{ ovs_host.todo.start }}"
'''

RETURN = r'''
facts:
  description: The distribution, named as Ansible's C(setup) names it.
  returned: always
  type: dict
  sample: {distribution: Debian, os_family: Debian, distribution_version: "12"}
problems:
  description: Every rule the input broke (field, value as JSON, rule); nothing on the host was read or changed.
  returned: failure by validation
  type: list
  elements: str
networkmanager_running:
  description: Whether NetworkManager runs (C(/run/NetworkManager) exists).
  returned: always
  type: bool
problem:
  description: Why there is no plan for this host (its family is not supported), or null.
  returned: always
  type: str
  sample: "os_family Gentoo (Gentoo) is not supported; supported families: Debian, RedHat, Fedora, Suse"
plan:
  description: The packages, service and package manager chosen for this host, or null with RV(problem).
  returned: always
  type: dict
  sample: {packages: [openvswitch-switch], service: openvswitch-switch, package_manager: apt, networkmanager: false}
package_database:
  description: The database the packages were looked up in (V(dpkg), V(rpm)), or null for an unknown family.
  returned: always
  type: str
  sample: dpkg
packages:
  description: Each planned package -> its installed version, or null when it is not installed.
  returned: always
  type: dict
  sample: {openvswitch-switch: "3.1.0-2+deb12u1"}
service_manager:
  description: V(systemd), V(sysv) (init scripts managed by update-rc.d) or V(unknown).
  returned: always
  type: str
  sample: sysv
service:
  description: The planned service - C(name) and C(enabled) (starts at boot; null when the service manager is unknown).
  returned: always
  type: dict
  sample: {name: openvswitch-switch, enabled: true}
ovs:
  description: The running Open vSwitch - C(ovsdb) and C(vswitchd) answer, C(running) when both do, C(version).
  returned: always
  type: dict
  sample: {ovsdb: true, vswitchd: true, running: true, version: "3.1.0", db_socket: /var/run/openvswitch/db.sock}
todo:
  description:
    - What is left to do - C(missing) packages, C(start) (the daemons do not answer or the boot setting differs
      from O(service_enabled)), and C(needed) when either is (missing packages count only with O(install)).
    - With RV(problem) set, C(needed) is true and the role fails naming it.
  returned: always
  type: dict
  sample: {missing: [], start: false, needed: false}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostIO
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_host_run import host_info
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module

ARGUMENT_SPEC = dict(
    install=dict(type='bool', default=True),
    rhel_package=dict(type='str', default='openvswitch'),
    networkmanager=dict(type='raw', default='auto'),
    extra_packages=dict(type='list', elements='str', default=[]),
    service_enabled=dict(type='bool', default=True),
    db_socket=dict(type='path', default='/var/run/openvswitch/db.sock'),
)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), host_info, HostIO)


if __name__ == '__main__':
    main()
