"""PID 1 of a lab node's own PID namespace: a /proc of its own, orphans reaped, SIGTERM = shutdown.

Kept to the standard library's smallest modules (it runs once per node, for the node's life).
Its name is ``vmnet-lab-init``: Ansible's service_mgr fact then reports that custom init (not
systemd, which the host image's /sbin/init symlink would otherwise suggest), and the service
module drives the node's SysV init scripts.
"""
import ctypes
import os
import signal
import sys
import time

PR_SET_NAME = 15
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
SHUTDOWN_GRACE = 3.0
_libc = ctypes.CDLL(None, use_errno=True)


def mount_proc():
    if _libc.mount(b'proc', b'/proc', b'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, None) != 0:
        error = ctypes.get_errno()
        raise OSError(error, 'mount proc on /proc: %s' % os.strerror(error))


def main():
    mount_proc()
    _libc.prctl(PR_SET_NAME, b'vmnet-lab-init', 0, 0, 0)
    shutdown_at = []

    def shutdown(_signum, _frame):
        shutdown_at.append(time.monotonic())
        os.kill(-1, signal.SIGTERM)

    signal.signal(signal.SIGTERM, shutdown)
    for ignored in (signal.SIGINT, signal.SIGHUP):
        signal.signal(ignored, signal.SIG_IGN)
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(devnull, descriptor)
    while True:
        try:
            os.waitpid(-1, os.WNOHANG if shutdown_at else 0)
        except ChildProcessError:
            if shutdown_at:
                return 0
            time.sleep(0.2)
        if shutdown_at:
            if time.monotonic() - shutdown_at[0] > SHUTDOWN_GRACE:
                return 0
            time.sleep(0.02)


if __name__ == '__main__':
    sys.exit(main())
