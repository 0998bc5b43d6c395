# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one seam to a host: the commands it runs (ovs-vsctl, ip, ping, TCP probes, package and
service reads; argv lists only) and the files it reads and writes (``HostFiles``).

Flows take a ``HostIO`` (or a fake of it in tests) and touch the host only through it, so a
test can record every write or forbid them all.

Standard library only, Python 3.9+: it also runs inside the detached commit-confirm agent,
after the Ansible module process has gone.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import socket
import stat
import subprocess
import sys

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_host
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_boot import read_text, write_file_atomic

READ_COLUMNS = (
    ('Bridge', '_uuid,name,ports,datapath_type,fail_mode,external_ids,other_config'),
    ('Port', '_uuid,name,interfaces,tag,trunks,vlan_mode,bond_mode,lacp,external_ids,other_config'),
    ('Interface', '_uuid,name,type,options'),
)


class HostCommandError(RuntimeError):
    def __init__(self, argv, rc, stderr):
        self.argv, self.rc, self.stderr = argv, rc, stderr
        super(HostCommandError, self).__init__('%s exited %d: %s' % (' '.join(argv[:3]), rc, stderr.strip()))


def _path():
    # Ansible may run modules with a minimal PATH; the tools live in the sbin directories.
    extra = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
    parts = os.environ.get('PATH', '').split(os.pathsep)
    return os.pathsep.join(parts + [item for item in extra if item not in parts])


class HostFiles:
    """This host's files, environment and interpreter: every filesystem call of the host flows."""

    @staticmethod
    def read_text(path):
        """The file's text, or None when it cannot be read."""
        return read_text(path)

    @staticmethod
    def write_atomic(path, content, mode=0o644):
        write_file_atomic(path, content, mode)

    @staticmethod
    def remove(path):
        """Remove a file or symlink; False when there was none."""
        if not os.path.lexists(path):
            return False
        os.unlink(path)
        return True

    @staticmethod
    def remove_dir(path):
        os.rmdir(path)

    @staticmethod
    def list_dir(path):
        """Sorted entry names, or [] when ``path`` is not a directory."""
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    @staticmethod
    def exists(path):
        return os.path.exists(path)

    @staticmethod
    def lexists(path):
        return os.path.lexists(path)

    @staticmethod
    def is_dir(path):
        return os.path.isdir(path)

    @staticmethod
    def make_dir(path, mode=0o755):
        os.makedirs(path, mode)

    @staticmethod
    def symlink(target, path):
        os.symlink(target, path)

    @staticmethod
    def file_mode(path, default=0o644):
        try:
            return stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            return default

    @staticmethod
    def mtime(path):
        return os.path.getmtime(path)

    @staticmethod
    def getenv(name, default=''):
        return os.environ.get(name, default)

    @staticmethod
    def python():
        """The interpreter the boot-time rollback runs with: the one running this module."""
        return sys.executable

    @staticmethod
    def paths_exist(patterns):
        """True when any of the paths or glob patterns exists on this host (the persistence facts)."""
        return any(glob.glob(pattern) for pattern in patterns)

    def networkmanager_running(self):
        return self.is_dir('/run/NetworkManager')


LOCAL_FILES = HostFiles()


class HostIO(HostFiles):
    """Commands against this host's OVS and kernel network stack, and its files."""

    def __init__(self):
        self.env = dict(os.environ, PATH=_path(), LC_ALL='C')

    def run(self, argv, data=None, check=True, timeout=60, env=None):
        # Not AnsibleModule.run_command: this also runs in the detached agent, after the module exited.
        try:
            proc = subprocess.run(argv, input=data, capture_output=True, text=True, env=dict(self.env, **(env or {})),  # pylint: disable=ansible-bad-function
                                  timeout=timeout, check=False)
        except FileNotFoundError:
            # A clear error instead of a traceback: e.g. ovs-vsctl before Open vSwitch is installed.
            message = '%s: not found (not installed on this node)' % argv[0]
            if check:
                raise HostCommandError(argv, 127, message)
            return 127, '', message
        if check and proc.returncode != 0:
            raise HostCommandError(argv, proc.returncode, proc.stderr)
        return proc.returncode, proc.stdout, proc.stderr

    def read_ovsdb(self):
        """All bridges and port owners in ONE ovs-vsctl read (the re-run path stays lean)."""
        # Imported here: ovs_host_info runs on every node on every run and never needs the planner.
        from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import parse_ovsdb  # pylint: disable=import-outside-toplevel
        argv = ['ovs-vsctl', '--timeout=10', '--format=json']
        for table, columns in READ_COLUMNS:
            argv += ['--', '--columns=' + columns, 'list', table]
        output = self.run(argv)[1]
        tables = [json.loads(line) for line in output.splitlines() if line.strip()]
        return parse_ovsdb(*tables)

    def read_network(self):
        """``ip -j addr`` (links with their addresses) and all IPv4 and IPv6 routes."""
        links = json.loads(self.run(['ip', '-j', '-d', 'addr', 'show'])[1] or '[]')
        routes = json.loads(self.run(['ip', '-j', 'route', 'show', 'table', 'all'])[1] or '[]')
        routes += json.loads(self.run(['ip', '-j', '-6', 'route', 'show', 'table', 'all'])[1] or '[]')
        return links, routes

    def ovs_transaction(self, argv):
        if argv:
            self.run(argv)

    def ip_batch(self, lines):
        """All lines in one ``ip`` process; ``-force`` goes on past a failed line."""
        if lines:
            return self.run(['ip', '-force', '-batch', '-'], data='\n'.join(lines) + '\n', check=False)
        return 0, '', ''

    def ping(self, address, wait=1):
        argv = ['ping', '-n', '-c', '1', '-W', str(wait), address]
        return self.run(argv, check=False, timeout=wait + 5)[0] == 0

    def ping_from(self, interface, address, count=2, wait=1):
        argv = ['ping', '-n', '-c', str(count), '-W', str(wait), '-I', interface, address]
        return self.run(argv, check=False, timeout=count * wait + 5)[0] == 0

    def answers(self, argv, timeout=15, env=None):
        """(rc, stdout) of a read-only command; rc 127 when the tool is not installed, 124 when it hangs."""
        try:
            rc, stdout, _stderr = self.run(argv, check=False, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return 124, ''
        return rc, stdout

    def installed_packages(self, database, names):
        """{installed name: version} of ``names`` in the ``dpkg`` or ``rpm`` database."""
        if not names:
            return {}
        if database == 'dpkg':
            output = self.answers(['dpkg-query', '-W', '-f', '${Package}\t${db:Status-Abbrev}\t${Version}\n'] + list(names))[1]
            return _ovs_host.parse_dpkg_query(output)
        if database == 'rpm':
            output = self.answers(['rpm', '-q', '--qf', '%{NAME}\t%{VERSION}-%{RELEASE}\n'] + list(names))[1]
            return _ovs_host.parse_rpm_query(output)
        return {}

    def service_enabled(self, manager, service):
        """Whether ``service`` starts at boot; None when this host's service manager is not known."""
        if not service:
            return None
        if manager == 'systemd':
            return self.answers(['systemctl', 'is-enabled', '--quiet', service])[0] == 0
        if manager == 'sysv':
            entries = []
            for level in '0123456S':
                entries.extend(self.list_dir('/etc/rc%s.d' % level))
            return _ovs_host.sysv_enabled(service, entries)
        return None

    @staticmethod
    def service_manager():
        """systemd when it runs (as Ansible decides), sysv where update-rc.d manages init scripts."""
        if os.path.isdir('/run/systemd/system'):
            return 'systemd'
        if os.path.isdir('/etc/init.d') and any(os.access(os.path.join(d, 'update-rc.d'), os.X_OK) for d in _path().split(os.pathsep)):
            return 'sysv'
        return 'unknown'

    def ovs_running(self, db_socket):
        """(ovsdb-server answers, ovs-vswitchd answers, version) for the OVSDB at ``db_socket``."""
        rc, output = self.answers(['ovs-vsctl', '--db=unix:' + db_socket, '--timeout=5', 'get', 'Open_vSwitch', '.', 'ovs_version'])
        ovsdb = rc == 0
        rundir = os.path.dirname(db_socket) or '/var/run/openvswitch'
        vswitchd = self.answers(['ovs-appctl', '--timeout=5', '-t', 'ovs-vswitchd', 'version'], env={'OVS_RUNDIR': rundir})[0] == 0
        return ovsdb, vswitchd, _ovs_host.ovs_version(output) if ovsdb else None

    @staticmethod
    def tcp(host, port, wait=1.0):
        try:
            with socket.create_connection((host, port), timeout=wait):
                return True
        except (OSError, socket.timeout):
            return False
