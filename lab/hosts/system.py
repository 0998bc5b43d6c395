"""The host lab's one seam to the machine: commands (argv lists), namespaces, processes, mounts."""
import ctypes
import errno
import os
import pathlib
import signal
import subprocess
import time

NETNS_DIR = pathlib.Path('/run/netns')
NODE_ENV = {
    'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOME': '/root',
    'LANG': 'C.UTF-8',
    'TERM': 'dumb',
}
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


class CommandError(RuntimeError):
    def __init__(self, argv, result):
        self.argv = list(argv)
        self.result = result
        super().__init__('command %s failed (rc=%s): %s' % (
            ' '.join(map(str, argv)), result.returncode, (result.stderr or result.stdout or '').strip()[-2000:]))


def run(argv, check=True, input=None, env=None, timeout=120, cwd=None):  # pylint: disable=redefined-builtin
    result = subprocess.run([str(item) for item in argv], input=input, capture_output=True, text=True,
                            env=env, timeout=timeout, check=False, cwd=cwd)
    if check and result.returncode != 0:
        raise CommandError(argv, result)
    return result


def ip_in(namespace, *args, check=True):
    return run(['ip', '-n', namespace] + list(args), check=check)


def netns_exec(namespace, argv, check=True, input=None, timeout=120):  # pylint: disable=redefined-builtin
    return run(['ip', 'netns', 'exec', namespace] + list(argv), check=check, input=input, env=NODE_ENV, timeout=timeout)


def netns_path(namespace):
    return NETNS_DIR / namespace


def netns_exists(namespace):
    return netns_path(namespace).exists()


def netns_names(prefix):
    if not NETNS_DIR.is_dir():
        return []
    return sorted(entry.name for entry in NETNS_DIR.iterdir() if entry.name.startswith(prefix))


def add_netns(namespace):
    run(['ip', 'netns', 'add', namespace])
    ip_in(namespace, 'link', 'set', 'lo', 'up')


def delete_netns(namespace):
    if netns_exists(namespace):
        run(['ip', 'netns', 'delete', namespace], check=False)


def link_exists(namespace, name):
    return ip_in(namespace, 'link', 'show', 'dev', name, check=False).returncode == 0


def wait_link_gone(namespace, name, timeout=5.0):
    # Namespace teardown is asynchronous (pitfall 7): wait for the veth to vanish.
    deadline = time.monotonic() + timeout
    while link_exists(namespace, name):
        if time.monotonic() > deadline:
            raise RuntimeError('link %s in %s did not go away within %.0f s' % (name, namespace, timeout))
        time.sleep(0.02)


def tx_offload_off(namespace, interface):
    # Veth checksum offload breaks TCP through the userspace datapath (pitfall 1).
    netns_exec(namespace, ['ethtool', '-K', interface, 'tx', 'off'])


def ns_inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def processes_in(namespace_inodes):
    """PIDs of every process whose net, mnt, uts or pid namespace is one of *namespace_inodes*."""
    wanted = set(item for item in namespace_inodes if item)
    found = []
    if not wanted:
        return found
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        for kind in ('net', 'mnt', 'uts', 'pid'):
            try:
                inode = os.stat('/proc/%s/ns/%s' % (entry, kind)).st_ino
            except OSError:
                break
            if inode in wanted:
                found.append(int(entry))
                break
    return sorted(found)


def stop_processes(pids_of, grace=3.0):
    """SIGTERM what *pids_of()* lists, then SIGKILL survivors; loops until none is left."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        pids = pids_of()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while pids_of() and time.monotonic() < deadline:
            time.sleep(0.02)
    left = pids_of()
    if left:
        raise RuntimeError('processes still running after SIGKILL: %s' % left)


def mountinfo():
    """(mount point, fs type, source) of every mount in this process's namespace."""
    rows = []
    with open('/proc/self/mountinfo', encoding='utf-8') as handle:
        for line in handle:
            left, _sep, right = line.partition(' - ')
            fields = left.split()
            fstype, source = right.split()[:2]
            rows.append((_unescape(fields[4]), fstype, source))
    return rows


def _unescape(path):
    return path.encode().decode('unicode_escape') if '\\' in path else path


def umount(path, lazy=True):
    if _libc.umount2(str(path).encode(), MNT_DETACH if lazy else 0) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise OSError(err, os.strerror(err), str(path))


def mounts_under(path):
    prefix = str(path).rstrip('/') + '/'
    return [row[0] for row in mountinfo() if row[0] == str(path) or row[0].startswith(prefix)]


def make_private_bind(path):
    """Bind *path* onto itself with private propagation, so namespace files can be bound in it."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if str(path) not in [row[0] for row in mountinfo()]:
        run(['mount', '--bind', path, path])
    run(['mount', '--make-private', path])


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open('/proc/%d/smaps_rollup' % pid, encoding='utf-8') as handle:
                for line in handle:
                    if line.startswith('Pss:'):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def process_start_time(pid):
    """Start time of *pid* in clock ticks since boot (None when it does not exist)."""
    try:
        with open('/proc/%d/stat' % pid, encoding='utf-8') as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    return int(text.rsplit(')', 1)[1].split()[19])


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
