# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule for Linux interface names, shared by the host side (ovs_bridge, ovs_fabric_port) and the
cluster side (multus_cr's OVS bridge, macvlan/ipvlan masters and the coordinator's pod NIC).

Pure, standard library only, Python 3.9+ (it runs on the nodes too). A name is at most 15 bytes
(Linux IFNAMSIZ - 1). The kernel takes nearly any byte, but a name that reaches ovs-vsctl, ip,
ifupdown, netplan, a NetworkManager keyfile or a CNI plugin is held to ASCII letters, digits,
"_", "." and "-", starting with a letter or digit, so it is a safe token everywhere. Matched with
fullmatch: "$" would let a trailing newline through.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

IFNAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,14}')
IFNAME_RULE = ('must be a Linux interface name (1-15 ASCII letters, digits, "_", "." and "-", starting with a letter or '
               'digit)')


def valid_ifname(name):
    """True when ``name`` is an interface name every host tool and CNI plugin takes as it is."""
    return isinstance(name, str) and bool(IFNAME_RE.fullmatch(name))
