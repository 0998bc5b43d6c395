# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attribute descriptions shared by every module, as ansible-core's attributes convention has them.

Each module names the fragments it needs and sets only ``support`` (and ``details`` where
that says something of its own) for each attribute.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):  # pylint: disable=too-few-public-methods

    # Every module.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check mode and then reports what would change without changing it.
  diff_mode:
    description: Returns what changed (or would change in check mode) when run in diff mode.
'''

    # Modules that only read.
    INFO_MODULE = r'''
attributes:
  check_mode:
    support: full
    details: The module only reads; it does the same in check mode.
  diff_mode:
    support: N/A
    details: The module only reads, so there is nothing to diff.
'''

    # Modules that talk to the Kubernetes API: members of the vmnet.kubevirt.vmnet action group.
    CLUSTER = r'''
attributes:
  action_group:
    description: Part of an action group, so C(module_defaults) for the group apply to it.
    support: full
    membership:
      - vmnet.kubevirt.vmnet
'''

    # Modules that run on a host node.
    HOST = r'''
attributes:
  platform:
    description: The target systems the module runs on.
    support: full
    platforms: posix
'''
