"""Runs once per node boot inside the node's fresh mount and UTS namespaces (started by unshare).

It builds the node's view of the host OS: copy-on-write overlays whose upper dirs are the node's
own disk, fresh /sys for the node's network namespace, tmpfs /run and /tmp. On the first boot it
also "installs" the node: hostname, hosts, network config, SSH host key, authorized key, an empty
OVS database. Nodes without Open vSwitch see a shared layer between the host and their own disk
in which it was purged (built once with ``--layer-step``, see lab/hosts/image.py).
"""
import argparse
import ctypes
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys

OVERLAID = ('etc', 'var', 'usr', 'root', 'opt')
OVS_PACKAGES = ('openvswitch-switch', 'openvswitch-common', 'python3-openvswitch')
MNT_DETACH = 2
MS_BIND, MS_REC = 4096, 16384
_libc = ctypes.CDLL(None, use_errno=True)


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, **kwargs)


def detach(path):
    _libc.umount2(str(path).encode(), MNT_DETACH)


def detach_namespace_handles():
    # The copied mount table holds every /run/netns and namespace-file bind mount of the host;
    # they would pin other nodes' and labs' namespaces (pitfall 8).
    with open('/proc/self/mountinfo', encoding='utf-8') as handle:
        rows = [line.split(' - ') for line in handle]
    for left, right in rows:
        if right.split()[0] == 'nsfs':
            detach(left.split()[4])


def mount_overlays(node_dir, base=None):
    """Copy-on-write views of the host's system dirs; *base* is an optional shared layer between."""
    for name in OVERLAID:
        upper = node_dir / 'upper' / name
        work = node_dir / 'work' / name
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        lower = '/' + name if base is None else '%s:/%s' % (base / 'upper' / name, name)
        options = 'lowerdir=%s,upperdir=%s,workdir=%s' % (lower, upper, work)
        run(['mount', '-t', 'overlay', 'overlay', '-o', options, '/' + name])


def checkout_root():
    """The checkout the lab runs from (its venv Python, the node init and node dirs live there)."""
    return pathlib.Path(__file__).resolve().parents[2]


def mount_private_tmpfs(target, options, keep=()):
    """A private tmpfs on *target*, with the directories of *keep* that lie under it bound back.

    A checkout under /tmp (a CI clone, say) must stay visible in the node: its Python, the node
    init and the node's own disk live there.
    """
    target = pathlib.Path(target)
    kept = [path for path in keep if target in path.parents]
    handles = [os.open(str(path), os.O_RDONLY | os.O_DIRECTORY) for path in kept]
    try:
        run(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', str(target)])
        for path, handle in zip(kept, handles):
            path.mkdir(parents=True, exist_ok=True)
            # mount(8) would resolve /proc/self/fd/N to the (now hidden) path name: use the syscall.
            if _libc.mount(('/proc/self/fd/%d' % handle).encode(), str(path).encode(), None, MS_BIND | MS_REC, None) != 0:
                error = ctypes.get_errno()
                raise OSError(error, 'bind %s back over the private %s: %s' % (path, target, os.strerror(error)))
    finally:
        for handle in handles:
            os.close(handle)


def mount_run_and_tmp():
    keep = (checkout_root(),)
    mount_private_tmpfs('/run', 'mode=0755,size=64m', keep)
    mount_private_tmpfs('/tmp', 'mode=1777,size=256m', keep)


def mount_view(node_dir, base=None):
    mount_overlays(node_dir, base)
    detach('/sys')
    run(['mount', '-t', 'sysfs', 'sysfs', '/sys'])
    mount_run_and_tmp()
    for directory in ('sshd', 'lock', 'network', 'openvswitch'):
        pathlib.Path('/run', directory).mkdir(mode=0o755, exist_ok=True)


def write(path, text, mode=0o644):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')
    os.chmod(path, mode)


def remove(path):
    path = pathlib.Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def provision(spec):
    write('/etc/hostname', spec['hostname'] + '\n')
    write('/etc/hosts', spec['etc_hosts'])
    write('/etc/machine-id', spec['machine_id'] + '\n', 0o444)
    write('/etc/network/interfaces', spec['interfaces'])
    write('/etc/sysctl.d/60-vmnet-lab.conf', spec['sysctl_conf'])
    for key in pathlib.Path('/etc/ssh').glob('ssh_host_*'):
        key.unlink()
    run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'root@' + spec['hostname'], '-f', '/etc/ssh/ssh_host_ed25519_key'])
    write('/etc/ssh/sshd_config.d/vmnet-lab.conf',
          '# vmnet lab node: one host key (fast to create), root by key only.\n'
          'HostKey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin prohibit-password\nUseDNS no\n')
    ssh_dir = pathlib.Path('/root/.ssh')
    remove(ssh_dir)
    ssh_dir.mkdir(mode=0o700)
    write(ssh_dir / 'authorized_keys', spec['authorized_key'] + '\n', 0o600)
    # Start from an empty Open vSwitch database, as a fresh install does.
    for leftover in ('/etc/openvswitch/conf.db', '/etc/openvswitch/.conf.db.~lock~', '/etc/openvswitch/system-id.conf'):
        remove(leftover)
    for directory in ('/var/log/openvswitch', '/var/lib/openvswitch'):
        for entry in pathlib.Path(directory).glob('*'):
            remove(entry)
    if spec['with_ovs']:
        defaults = pathlib.Path('/etc/default/openvswitch-switch')
        text = defaults.read_text(encoding='utf-8') if defaults.exists() else ''
        # Without it each ovs-vswitchd pins ~57 MB (pitfall 6).
        write(defaults, text + "\n# vmnet lab: do not pin memory.\nOVS_CTL_OPTS='--no-mlockall'\n")


def purge_ovs():
    """Remove Open vSwitch the way an admin would (dpkg and the files agree afterwards)."""
    installed = [name for name in OVS_PACKAGES if subprocess.run(
        ['dpkg-query', '-W', '-f=${Status}', name], capture_output=True, text=True, check=False).stdout.endswith('installed')]
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    if installed:
        run(['dpkg', '--purge'] + installed, env=env, stdout=subprocess.DEVNULL)
    for leftover in ('/etc/openvswitch', '/var/log/openvswitch', '/var/lib/openvswitch'):
        remove(leftover)


def run_in_layer(layer_dir, argv):
    """Build step of a shared layer: run *argv* with the layer's overlays mounted (no node yet).

    Private /run and /tmp, so package scripts (e.g. an init script's stop) cannot reach the
    host's daemons through their PID files or sockets.
    """
    mount_overlays(layer_dir)
    mount_run_and_tmp()
    if argv == ['purge-ovs']:
        purge_ovs()
        return 0
    return subprocess.run(argv, check=False).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('node_dir', type=pathlib.Path)
    parser.add_argument('--provision', type=pathlib.Path, help='JSON spec of the first-boot install')
    parser.add_argument('--base', type=pathlib.Path, help='a shared layer between the host and the node')
    parser.add_argument('--layer-step', nargs=argparse.REMAINDER, help='build a shared layer in node_dir: run this argv')
    args = parser.parse_args(argv)
    if args.layer_step:
        return run_in_layer(args.node_dir.resolve(), args.layer_step)
    spec = json.loads(args.provision.read_text(encoding='utf-8')) if args.provision else None
    detach_namespace_handles()
    mount_view(args.node_dir.resolve(), args.base.resolve() if args.base else None)
    hostname = pathlib.Path('/etc/hostname').read_text(encoding='utf-8').strip() if spec is None else spec['hostname']
    socket.sethostname(hostname)
    if spec is not None:
        provision(spec)
    return 0


if __name__ == '__main__':
    sys.exit(main())
