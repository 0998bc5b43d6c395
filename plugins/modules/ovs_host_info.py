#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_host
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostIO, read_text

PACKAGE_NAME_RULE = 'a package name (letters, digits and + . _ @ : -, starting with a letter or digit)'
NETWORKMANAGER_CHOICES = {'auto': 'auto', 'true': 'true', 'yes': 'true', 'false': 'false', 'no': 'false'}


def input_problems(params):
    """Messages naming the field, the value and the rule; nothing is read when there is one."""
    problems = []
    names = [('rhel_package', params['rhel_package'])]
    names += [('extra_packages[%d]' % index, name) for index, name in enumerate(params['extra_packages'])]
    for field, name in names:
        if not _ovs_host.valid_package_name(name):
            problems.append('%s: %r is not %s' % (field, name, PACKAGE_NAME_RULE))
    if str(params['networkmanager']).lower() not in NETWORKMANAGER_CHOICES:
        problems.append('networkmanager: %r must be auto, true or false' % (params['networkmanager'],))
    return problems


def read_host(io, params):
    """Everything the module returns, from the host seam ``io``."""
    facts = _ovs_host.distribution_facts(_ovs_host.parse_os_release(read_text('/etc/os-release') or read_text('/usr/lib/os-release') or ''))
    nm_running = os.path.isdir('/run/NetworkManager')
    plan, problem = _ovs_host.choose_packages(facts, nm_running, NETWORKMANAGER_CHOICES[str(params['networkmanager']).lower()],
                                              params['extra_packages'], params['rhel_package'])
    database = _ovs_host.PACKAGE_DB.get(facts['os_family'])
    packages = plan['packages'] if plan else []
    installed = io.installed_packages(database, packages)
    manager = io.service_manager()
    service = {'name': plan['service'], 'enabled': io.service_enabled(manager, plan['service'])} if plan else {'name': None, 'enabled': None}
    ovsdb, vswitchd, version = io.ovs_running(params['db_socket'])
    running = ovsdb and vswitchd
    if plan:
        todo = _ovs_host.work_left(plan, installed, service['enabled'], running, params['install'], params['service_enabled'])
    else:
        todo = {'missing': [], 'start': False, 'needed': True}
    return {
        'facts': facts, 'networkmanager_running': nm_running, 'plan': plan, 'problem': problem,
        'package_database': database, 'packages': dict((name, installed.get(name)) for name in packages),
        'service_manager': manager, 'service': service,
        'ovs': {'ovsdb': ovsdb, 'vswitchd': vswitchd, 'running': running, 'version': version, 'db_socket': params['db_socket']},
        'todo': todo,
    }


def main():
    module = AnsibleModule(argument_spec=dict(
        install=dict(type='bool', default=True),
        rhel_package=dict(type='str', default='openvswitch'),
        networkmanager=dict(type='raw', default='auto'),
        extra_packages=dict(type='list', elements='str', default=[]),
        service_enabled=dict(type='bool', default=True),
        db_socket=dict(type='path', default='/var/run/openvswitch/db.sock'),
    ), supports_check_mode=True)
    problems = input_problems(module.params)
    if problems:
        module.fail_json(msg='invalid input, nothing was read: ' + '; '.join(problems))
    module.exit_json(changed=False, **read_host(HostIO(), module.params))


if __name__ == '__main__':
    main()
