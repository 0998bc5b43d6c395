# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot-time rollback of ovs_bridge changes that were never confirmed (standard library, 3.9+).

A commit-confirmed change keeps its job on disk (``JOB_ROOT/<token>``: ``plan.json`` with the
rollback transaction and the previous contents of every file the commit writes, and
``state.json``). If the node loses power (or reboots) inside the confirmation window, OVSDB
(which is persistent) still holds the new bridge while nothing confirmed it. At the next boot,
before the network is configured and before Open vSwitch starts, this program restores the
files and runs the rollback transaction against the OVSDB file (through a private
``ovsdb-server`` when none runs yet), and marks the job rolled back.

This file is also that program: ``ovs_bridge`` installs its own source as ``HOOK_PATH``, run by
a systemd unit ordered before ``network-pre.target`` and Open vSwitch, and by a SysV script in
rcS ordered before ``networking``. So it imports nothing but the standard library.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys
import time

JOB_ROOT = '/var/lib/vmnet-kubevirt/ovs_bridge'
FINAL_STATES = ('committed', 'rolled-back', 'failed')
TOKEN_RE = re.compile(r'[0-9a-f]{32}')
SERVICE_NAME = 'vmnet-ovs-bridge-rollback'
HOOK_PATH = '/usr/local/libexec/vmnet-kubevirt/ovs-bridge-boot-rollback'
SYSTEMD_UNIT = '/etc/systemd/system/%s.service' % SERVICE_NAME
SYSTEMD_WANTS = '/etc/systemd/system/sysinit.target.wants/%s.service' % SERVICE_NAME
INIT_SCRIPT = '/etc/init.d/%s' % SERVICE_NAME
DEFAULT_OVSDB = '/etc/openvswitch/conf.db'
PRIVATE_RUNDIR = '/run/vmnet-kubevirt/boot-ovsdb'
TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def write_file_atomic(path, content, mode=0o644):
    """Write ``content`` to ``path`` through a temporary file and a rename that survives a power loss.

    The one copy: the host seam (``_ovs.HostFiles``) imports it from here, because this file
    must run alone at boot while the modules may import whatever module_utils they need.
    """
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    temporary = '%s.vmnet-tmp' % path
    with open(temporary, 'w') as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, mode)
    os.rename(temporary, path)
    sync_directory(directory)


def sync_directory(directory):
    """fsync a directory, so a rename in it survives a power loss."""
    try:
        handle = os.open(directory or '.', os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def pending_jobs(root=JOB_ROOT):
    """``[(directory, plan, state)]`` of the jobs that never reached a final state, newest first
    (stacked changes are undone in the reverse order of their making)."""
    jobs = []
    if not os.path.isdir(root):
        return jobs
    for token in os.listdir(root):
        directory = os.path.join(root, token)
        if not TOKEN_RE.fullmatch(token) or not os.path.isdir(directory):
            continue
        plan = _read_json(os.path.join(directory, 'plan.json'))
        state = _read_json(os.path.join(directory, 'state.json')) or {'status': 'starting'}
        if plan is None or state.get('status') in FINAL_STATES:
            continue
        jobs.append((directory, plan, state))
    jobs.sort(key=lambda job: job[2].get('started_at') or 0, reverse=True)
    return jobs


def restore_files(entries):
    """Put back the previous content of each file (``None``: the file did not exist)."""
    errors = []
    for entry in entries:
        path = entry['path']
        try:
            if entry.get('content') is None:
                if os.path.lexists(path):
                    os.unlink(path)
                    sync_directory(os.path.dirname(path))
            elif read_text(path) != entry['content']:
                write_file_atomic(path, entry['content'], entry.get('mode', 0o644))
        except (IOError, OSError) as error:
            errors.append('%s: %s' % (path, error))
    return errors


def read_text(path):
    """The file's text, or None when it cannot be read."""
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _run(argv, timeout=60):
    env = dict(os.environ, PATH=TOOL_PATH + os.pathsep + os.environ.get('PATH', ''), LC_ALL='C')
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)  # pylint: disable=ansible-bad-function
    except (OSError, subprocess.TimeoutExpired) as error:
        return 127, '', str(error)
    return proc.returncode, proc.stdout, proc.stderr


def _with_options(argv, options):
    """``ovs-vsctl <options> <the rest>``: the rollback argv pointed at another database."""
    return [argv[0]] + list(options) + list(argv[1:])


def rollback_ovsdb(argv, db_file, rundir=PRIVATE_RUNDIR):
    """Run the rollback transaction ``argv`` (an ``ovs-vsctl`` argv) against OVSDB; return errors.

    At boot no ovsdb-server runs yet: a private one serves ``db_file`` on a socket of its own for
    this transaction and stops before Open vSwitch starts. Where one already answers (the hook
    ran late), the transaction goes to it. ``--no-wait``: ovs-vswitchd need not run.
    """
    if not argv:
        return []
    if _run(['ovs-vsctl', '--timeout=3', '--no-wait', 'show'], timeout=10)[0] == 0:
        rc, _out, err = _run(_with_options(argv, ['--no-wait']))
        return [] if rc == 0 else ['ovs-vsctl: %s' % err.strip()]
    if not os.path.exists(db_file):
        return ['%s does not exist: there is no Open vSwitch database to roll back' % db_file]
    if not os.path.isdir(rundir):
        os.makedirs(rundir, 0o700)
    socket_path = os.path.join(rundir, 'db.sock')
    for leftover in (socket_path, os.path.join(rundir, 'ovsdb-server.ctl')):
        if os.path.lexists(leftover):
            os.unlink(leftover)
    try:
        server = subprocess.Popen(  # pylint: disable=consider-using-with,ansible-bad-function
            ['ovsdb-server', db_file, '--remote=punix:%s' % socket_path, '--unixctl=%s' % os.path.join(rundir, 'ovsdb-server.ctl'),
             '--no-chdir', '--log-file=%s' % os.path.join(rundir, 'ovsdb-server.log')],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, PATH=TOOL_PATH + os.pathsep + os.environ.get('PATH', '')))
    except OSError as error:
        return ['ovsdb-server: %s' % error]
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(socket_path) and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if not os.path.exists(socket_path):
            return ['ovsdb-server did not serve %s (exit status %s; see %s)' % (db_file, server.poll(), rundir)]
        rc, _out, err = _run(_with_options(argv, ['--db=unix:%s' % socket_path, '--no-wait']))
        return [] if rc == 0 else ['ovs-vsctl: %s' % err.strip()]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _print_line(text):
    # The boot log (journal, or the SysV boot output) is where an operator looks.
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def roll_back_pending(root=JOB_ROOT, rundir=PRIVATE_RUNDIR, log=None, clock=time.time):
    """Restore every job that was never confirmed; returns ``[(token, final status)]``."""
    log = log or _print_line
    done = []
    for directory, plan, state in pending_jobs(root):
        token = os.path.basename(directory)
        errors = restore_files(plan.get('restore', []))
        errors += rollback_ovsdb(plan.get('rollback_ovs') or [], plan.get('ovsdb') or DEFAULT_OVSDB, rundir)
        status = 'failed' if errors else 'rolled-back'
        reason = ('the node restarted inside the confirmation window (last state: %s); its previous state was restored at '
                  'boot' % state.get('status'))
        final = dict(state, status=status, reason=reason, rollback_errors=errors, restored_at_boot=clock())
        write_file_atomic(os.path.join(directory, 'state.json'), json.dumps(final, sort_keys=True), 0o600)
        log('%s: %s: %s%s' % (SERVICE_NAME, token, status, ''.join('; ' + error for error in errors)))
        done.append((token, status))
    return done


# ---------------------------------------------------------------- installing this program

def hook_source():
    """This file's own source (read through its loader: the module runs it from a zip)."""
    loader = globals().get('__loader__')
    source = None
    if loader is not None and hasattr(loader, 'get_source'):
        source = loader.get_source(__name__)
    if source is None:
        with open(__file__) as handle:
            source = handle.read()
    return source


SYSTEMD_UNIT_TEXT = '''\
# Installed by vmnet.kubevirt.ovs_bridge.
[Unit]
Description=Roll back vmnet.kubevirt OVS bridge changes that were never confirmed
DefaultDependencies=no
After=local-fs.target
Wants=network-pre.target
Before=network-pre.target sysinit.target shutdown.target
Before=ovsdb-server.service ovs-vswitchd.service openvswitch-switch.service openvswitch.service
Before=networking.service systemd-networkd.service NetworkManager.service
Conflicts=shutdown.target
ConditionDirectoryNotEmpty={jobs}

[Service]
Type=oneshot
ExecStart={hook}

[Install]
WantedBy=sysinit.target
'''

INIT_SCRIPT_TEXT = '''\
#!/bin/sh
# Installed by vmnet.kubevirt.ovs_bridge.
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:    $local_fs
# Required-Stop:
# X-Start-Before:    networking openvswitch-switch network-manager
# Default-Start:     S
# Default-Stop:
# Short-Description: Roll back vmnet.kubevirt OVS bridge changes that were never confirmed
### END INIT INFO

case "$1" in
    start) exec {hook} ;;
    stop|restart|force-reload|status) exit 0 ;;
    *) echo "Usage: $0 start" >&2; exit 3 ;;
esac
'''


def hook_files(python):
    """The files of the boot hook: ``[{'path', 'content', 'mode'}]`` (the program run by ``python``)."""
    return [
        {'path': HOOK_PATH, 'mode': 0o755, 'content': '#!%s\n%s' % (python, hook_source())},
        {'path': SYSTEMD_UNIT, 'mode': 0o644, 'content': SYSTEMD_UNIT_TEXT.format(jobs=JOB_ROOT, hook=HOOK_PATH)},
        {'path': INIT_SCRIPT, 'mode': 0o755, 'content': INIT_SCRIPT_TEXT.format(name=SERVICE_NAME, hook=HOOK_PATH)},
    ]


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    root = args[0] if args else JOB_ROOT
    roll_back_pending(root)
    return 0  # a boot must go on whatever happened; the job's state records it


if __name__ == '__main__':
    raise SystemExit(main())
