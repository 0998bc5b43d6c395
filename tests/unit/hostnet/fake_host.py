"""A fake of the host seam (``_ovs.HostIO``): files in a dict, commands answered from fixed data.

It records every write (``written``, ``removed``, ``commands``) and, with ``forbid_writes``,
fails the test on the first one: a flow that must change nothing is shown to change nothing,
files included. Nothing of the test machine is read (no ``/etc``, no ``/run``).
"""
import fnmatch


class HostWrite(AssertionError):
    """A write the test forbade."""


class FakeHost:
    def __init__(self, files=None, dirs=(), env=None, bridges=None, owners=None, links=None, routes=None,
                 forbid_writes=False):
        self.files = dict(files or {})
        self.dirs = set(dirs)
        self.environment = dict(env or {})
        self.bridges, self.owners = bridges or {}, owners or {}
        self.links, self.routes = links or [], routes or []
        self.forbid_writes = forbid_writes
        self.written, self.removed, self.commands, self.reads = [], [], [], []

    def _write(self, what):
        if self.forbid_writes:
            raise HostWrite('wrote to the host: %r' % (what,))

    # Files -------------------------------------------------------------------------------
    def read_text(self, path):
        self.reads.append(path)
        return self.files.get(path)

    def write_atomic(self, path, content, mode=0o644):
        self._write(('write', path))
        self.files[path] = content
        self.written.append((path, mode))

    def remove(self, path):
        self._write(('remove', path))
        self.removed.append(path)
        return self.files.pop(path, None) is not None

    def remove_dir(self, path):
        self._write(('rmdir', path))
        self.dirs.discard(path)

    def list_dir(self, path):
        prefix = path.rstrip('/') + '/'
        names = set(name[len(prefix):].split('/')[0] for name in list(self.files) + list(self.dirs) if name.startswith(prefix))
        return sorted(names)

    def exists(self, path):
        return path in self.files or path in self.dirs

    lexists = exists

    def is_dir(self, path):
        return path in self.dirs

    def make_dir(self, path, mode=0o755):
        self._write(('mkdir', path))
        self.dirs.add(path)

    def symlink(self, target, path):
        self._write(('symlink', path))
        self.files[path] = '-> %s' % target

    @staticmethod
    def file_mode(_path, default=0o644):
        return default

    @staticmethod
    def mtime(_path):
        return 0.0

    def getenv(self, name, default=''):
        return self.environment.get(name, default)

    @staticmethod
    def python():
        return '/usr/bin/python3'

    def paths_exist(self, patterns):
        return any(fnmatch.filter(list(self.files) + list(self.dirs), pattern) for pattern in patterns)

    def networkmanager_running(self):
        return self.is_dir('/run/NetworkManager')

    # Commands ----------------------------------------------------------------------------
    def read_ovsdb(self):
        self.commands.append(('read_ovsdb',))
        return self.bridges, self.owners

    def read_network(self):
        return self.links, self.routes

    def ovs_transaction(self, argv):
        if argv:
            self._write(('ovs-vsctl', argv))
            self.commands.append(('ovs', argv))

    def ip_batch(self, lines):
        if lines:
            self._write(('ip -batch', lines))
            self.commands.append(('ip', lines))
        return 0, '', ''

    def run(self, argv, data=None, check=True, timeout=60, env=None):
        self._write(('run', argv))
        self.commands.append(('run', argv))
        return 0, '', ''


def debian_ifupdown_node(**kwargs):
    """A Debian node configured with ifupdown, Open vSwitch's hook included; no netplan, no NetworkManager."""
    files = {'/sbin/ifup': '', '/etc/network/interfaces': 'source /etc/network/interfaces.d/*\n',
             '/etc/network/if-pre-up.d/openvswitch': ''}
    files.update(kwargs.pop('files', {}))
    dirs = {'/etc/network', '/etc/network/if-pre-up.d', '/etc/network/interfaces.d'} | set(kwargs.pop('dirs', ()))
    return FakeHost(files=files, dirs=dirs, **kwargs)
