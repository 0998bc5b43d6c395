# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure readings of a host for the ovs role: distribution, installed packages, boot-time services.

No I/O here: the texts come from ``_ovs.HostIO``. Standard library only, Python 3.9+ (runs on
the nodes). The names follow Ansible's own facts (``distribution``, ``os_family``), so what the
module reports reads like what ``setup`` would.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# os-release ID -> the distribution name Ansible's setup reports.
DISTRIBUTION_NAMES = {
    'debian': 'Debian', 'ubuntu': 'Ubuntu', 'raspbian': 'Debian', 'linuxmint': 'Linux Mint', 'pop': 'Pop!_OS',
    'devuan': 'Devuan', 'kali': 'Kali',
    'rhel': 'RedHat', 'centos': 'CentOS', 'rocky': 'Rocky', 'almalinux': 'AlmaLinux', 'ol': 'OracleLinux',
    'amzn': 'Amazon', 'fedora': 'Fedora', 'eurolinux': 'EuroLinux', 'cloudlinux': 'CloudLinux',
    'sles': 'SLES', 'sled': 'SLED', 'sles_sap': 'SLES_SAP', 'opensuse-leap': 'openSUSE Leap',
    'opensuse-tumbleweed': 'openSUSE Tumbleweed', 'opensuse': 'openSUSE',
}

# Family by os-release ID or ID_LIKE token, as Ansible groups them.
FAMILY_OF = {
    'debian': 'Debian', 'ubuntu': 'Debian', 'raspbian': 'Debian', 'linuxmint': 'Debian', 'pop': 'Debian',
    'devuan': 'Debian', 'kali': 'Debian',
    'rhel': 'RedHat', 'centos': 'RedHat', 'fedora': 'RedHat', 'rocky': 'RedHat', 'almalinux': 'RedHat',
    'ol': 'RedHat', 'amzn': 'RedHat', 'eurolinux': 'RedHat', 'cloudlinux': 'RedHat',
    'sles': 'Suse', 'sled': 'Suse', 'sles_sap': 'Suse', 'suse': 'Suse', 'opensuse': 'Suse',
    'opensuse-leap': 'Suse', 'opensuse-tumbleweed': 'Suse',
}

# Which package database answers "is it installed" for a family.
PACKAGE_DB = {'Debian': 'dpkg', 'RedHat': 'rpm', 'Suse': 'rpm'}

_ASSIGNMENT = re.compile(r'^([A-Z][A-Z0-9_]*)=(.*)$')


def parse_os_release(text):
    """``/etc/os-release`` -> {KEY: value}, shell quoting removed."""
    values = {}
    for line in (text or '').splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if not match:
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
            value = re.sub(r'\\(["\\$`])', r'\1', value)
        values[key] = value
    return values


def distribution_facts(os_release):
    """{distribution, os_family, distribution_version} from parsed os-release.

    An unknown distribution keeps its own name as its family, so the role's "not supported"
    message can name it.
    """
    ident = (os_release.get('ID') or '').lower()
    likes = (os_release.get('ID_LIKE') or '').lower().split()
    distribution = DISTRIBUTION_NAMES.get(ident) or os_release.get('NAME') or ident or 'unknown'
    family = FAMILY_OF.get(ident)
    if family is None:
        family = next((FAMILY_OF[like] for like in likes if like in FAMILY_OF), distribution)
    return {'distribution': distribution, 'os_family': family,
            'distribution_version': os_release.get('VERSION_ID') or ''}


def parse_dpkg_query(output):
    """``dpkg-query -W -f '${Package}\\t${db:Status-Abbrev}\\t${Version}\\n'`` -> {installed name: version}.

    The status's second letter is the package's state; only ``i`` (installed) counts, so
    removed packages that left their configuration files (``rc``) are not installed.
    """
    installed = {}
    for line in (output or '').splitlines():
        fields = line.split('\t')
        if len(fields) == 3 and len(fields[1]) >= 2 and fields[1][1] == 'i':
            installed[fields[0]] = fields[2]
    return installed


def parse_rpm_query(output):
    """``rpm -q --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n' NAME...`` -> {installed name: version}.

    Names rpm does not know come back as "package X is not installed" lines, without a tab.
    """
    installed = {}
    for line in (output or '').splitlines():
        fields = line.split('\t')
        if len(fields) == 2 and fields[0]:
            installed[fields[0]] = fields[1]
    return installed


def sysv_enabled(service, rc_entries):
    """Enabled at boot under SysV init: a start link ``S<NN><service>`` in some /etc/rc?.d.

    The rule Ansible's service module applies on update-rc.d hosts; ``rc_entries`` are the
    file names found in the /etc/rc?.d directories.
    """
    pattern = re.compile(r'^S\d\d' + re.escape(service) + r'$')
    return any(pattern.match(entry) for entry in rc_entries)


def ovs_version(output):
    """``ovs-vsctl get Open_vSwitch . ovs_version`` prints the version quoted."""
    version = (output or '').strip().strip('"')
    return version or None


_SAFE_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9+._@:-]{0,254}')


def valid_package_name(name):
    """Package and service names: no leading dash (never read as an option), no spaces or paths."""
    # fullmatch: '$' would let a trailing newline through.
    return isinstance(name, str) and bool(_SAFE_NAME.fullmatch(name))


# Package and service names per distribution family (Ubuntu is in the Debian family); RHEL and
# its rebuilds ship Open vSwitch under versioned names (``rhel_package``). Debian and Ubuntu
# build NetworkManager's OVS device plugin into network-manager itself.
FAMILY_CHOICES = (
    ('Debian', {'packages': ['openvswitch-switch'], 'service': 'openvswitch-switch',
                'networkmanager_packages': [], 'package_manager': 'apt'}),
    ('RedHat', {'packages': [None], 'service': 'openvswitch',
                'networkmanager_packages': ['NetworkManager-ovs'], 'package_manager': 'dnf'}),
    ('Fedora', {'packages': ['openvswitch'], 'service': 'openvswitch',
                'networkmanager_packages': ['NetworkManager-ovs'], 'package_manager': 'dnf'}),
    ('Suse', {'packages': ['openvswitch'], 'service': 'openvswitch',
              'networkmanager_packages': ['NetworkManager-ovs'], 'package_manager': 'zypper'}),
)


def choose_packages(facts, networkmanager_running, networkmanager='auto', extra_packages=(), rhel_package='openvswitch'):
    """(plan, problem): the packages, service and package manager for this host, or why there are none.

    ``networkmanager`` is ``auto`` (NetworkManager's OVS plugin where NetworkManager runs),
    ``true`` or ``false``. Fedora is its own choice although its family is RedHat.
    """
    key = 'Fedora' if facts.get('distribution') == 'Fedora' else facts.get('os_family')
    choices = dict(FAMILY_CHOICES)
    if key not in choices:
        return None, ('os_family %s (%s) is not supported; supported families: %s'
                      % (facts.get('os_family') or 'unknown', facts.get('distribution') or 'unknown',
                         ', '.join(name for name, _choice in FAMILY_CHOICES)))
    choice = choices[key]
    wanted = str(networkmanager).lower()
    with_nm = wanted == 'true' or (wanted == 'auto' and bool(networkmanager_running))
    packages = [rhel_package if name is None else name for name in choice['packages']]
    packages += (choice['networkmanager_packages'] if with_nm else []) + list(extra_packages)
    return {'packages': packages, 'service': choice['service'], 'package_manager': choice['package_manager'],
            'networkmanager': with_nm}, None


def work_left(plan, installed, boot_enabled, running, install=True, service_enabled=True):
    """What the ovs role still has to do on a host it has read: missing packages, a start, both."""
    missing = [name for name in plan['packages'] if installed.get(name) is None]
    start = (not running) or boot_enabled is None or bool(boot_enabled) != bool(service_enabled)
    return {'missing': missing, 'start': start, 'needed': bool((install and missing) or start)}
