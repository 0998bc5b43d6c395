# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirm for risky bridge changes (standard library, Python 3.9+).

A change is a plan: one ovs-vsctl transaction and one ``ip -batch`` forward, the same pair
backward, and the persistence files to write once the change is final. ``run_change`` applies
it, runs the local probes, and then waits for a confirmation file that only a NEW connection
from the controller writes (``ovs_bridge_confirm``); anything else restores the previous state.
``start_detached`` runs it in a ``setsid`` grandchild so a dropped SSH session cannot stop it
halfway. Job files live on disk (``JOB_ROOT``), with the previous contents of the files the
commit writes: a node that loses power inside the window is restored at boot by the hook of
``_ovs_boot`` (``install_boot_hook`` puts it in place before any change is applied).

Every file it touches goes through the host seam (``files``: a ``HostFiles``, or the ``HostIO``
of the run, or a fake in tests); only the detached agent's process handling is its own.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import LOCAL_FILES
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import problem
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_boot import (
    FINAL_STATES, INIT_SCRIPT, JOB_ROOT, SERVICE_NAME, SYSTEMD_UNIT, SYSTEMD_WANTS, TOKEN_RE, hook_files)


def job_dir(token, root=JOB_ROOT):
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise ValueError(problem('token', token, 'must be the 32 hexadecimal digits returned by ovs_bridge'))
    return os.path.join(root, token)


def prune_finished(root=JOB_ROOT, keep_seconds=86400, now=None, files=LOCAL_FILES):
    """Remove job directories of changes that finished more than ``keep_seconds`` ago."""
    now = time.time() if now is None else now
    removed = []
    for token in files.list_dir(root):
        directory = os.path.join(root, token)
        state_file = os.path.join(directory, 'state.json')
        state = read_state(directory, files)
        if not TOKEN_RE.fullmatch(token) or not state or state.get('status') not in FINAL_STATES:
            continue
        if now - files.mtime(state_file) > keep_seconds:
            for name in files.list_dir(directory):
                files.remove(os.path.join(directory, name))
            files.remove_dir(directory)
            removed.append(token)
    return removed


def read_state(directory, files=LOCAL_FILES):
    try:
        return json.loads(files.read_text(os.path.join(directory, 'state.json')) or 'null')
    except ValueError:
        return None


def write_state(directory, state, files=LOCAL_FILES):
    files.write_atomic(os.path.join(directory, 'state.json'), json.dumps(state, sort_keys=True), 0o600)


def pending_tokens(root=JOB_ROOT, files=LOCAL_FILES):
    """Tokens of the changes waiting for their confirmation on this node."""
    return [token for token in files.list_dir(root)
            if (read_state(os.path.join(root, token), files) or {}).get('status') == 'waiting-confirm']


def run_probes(io, probes, gateways, clock=time.monotonic, sleep=time.sleep):
    """Retry every probe until it passes or ``probes.timeout`` is spent; return the results."""
    checks = []
    if probes.get('gateway', True):
        checks += [('gateway', address) for address in gateways]
    checks += [('ping', address) for address in probes.get('ping', [])]
    checks += [('tcp', '%s:%d' % (host, port)) for host, port in probes.get('tcp', [])]
    deadline = clock() + probes.get('timeout', 10)
    results = dict((check, False) for check in checks)
    while True:
        for kind, target in checks:
            if results[(kind, target)]:
                continue
            if kind == 'tcp':
                host, _sep, port = target.rpartition(':')
                results[(kind, target)] = io.tcp(host, int(port))
            else:
                results[(kind, target)] = io.ping(target)
        if all(results.values()) or clock() >= deadline:
            break
        sleep(0.2)
    return [{'probe': kind, 'target': target, 'passed': passed} for (kind, target), passed in results.items()]


def rollback(io, plan):
    """Restore the exact previous state: OVSDB first (it owns the ports), then addresses and routes."""
    errors = []
    try:
        io.ovs_transaction(plan['rollback_ovs'])
    except Exception as error:  # pylint: disable=broad-except  # keep restoring the rest
        errors.append(str(error))
    rc, _out, err = io.ip_batch(plan['rollback_ip'])
    if rc != 0:
        errors.append('ip -batch: %s' % err.strip())
    return errors


def commit(plan, files=LOCAL_FILES):
    """The change is final: write (or remove) the boot-time configuration."""
    for item in plan.get('files', []):
        files.write_atomic(item['path'], item['content'], item.get('mode', 0o644))
    for path in plan.get('remove', []):
        if files.exists(path):
            files.remove(path)


def run_change(io, plan, directory, report, confirm_timeout, clock=time.monotonic, sleep=time.sleep, wall=time.time,
               files=LOCAL_FILES):
    """Apply, probe, wait for the confirmation, then commit or roll back. Returns the final state.

    The state records when the change started, when it was applied and when the probes ended
    (epoch seconds), so a connectivity gap seen from outside can be matched to the move.
    """
    state = {'status': 'applying', 'probes': [], 'reason': None, 'started_at': wall()}

    def finish(status, reason=None, rollback_errors=None):
        state.update(status=status, reason=reason, rollback_errors=rollback_errors or [])
        write_state(directory, state, files)
        report(dict(state))
        return state

    write_state(directory, state, files)
    # Building a bridge: OVS first (the addresses need the bridge). Removing one: addresses first.
    steps = ['ip', 'ovs'] if plan.get('ip_first') else ['ovs', 'ip']
    for step in steps:
        if step == 'ovs':
            try:
                io.ovs_transaction(plan['forward_ovs'])
            except Exception as error:  # pylint: disable=broad-except  # any failure: put things back
                return finish('rolled-back', 'ovs-vsctl failed: %s' % error, rollback(io, plan))
        else:
            rc, _out, err = io.ip_batch(plan['forward_ip'])
            if rc != 0:
                return finish('rolled-back', 'ip -batch failed: %s' % err.strip(), rollback(io, plan))
    state['applied_at'] = wall()
    state['probes'] = run_probes(io, plan['probes'], plan.get('gateways', []), clock, sleep)
    state['probed_at'] = wall()
    failed = [item for item in state['probes'] if not item['passed']]
    if failed:
        reason = 'probe failed: %s' % ', '.join('%s %s' % (item['probe'], item['target']) for item in failed)
        return finish('rolled-back', reason, rollback(io, plan))
    if confirm_timeout <= 0:
        state['status'] = 'committing'
        write_state(directory, state, files)
        commit(plan, files)
        return finish('committed')
    state['status'] = 'waiting-confirm'
    state['deadline_seconds'] = confirm_timeout
    write_state(directory, state, files)
    report(dict(state))
    confirm_path = os.path.join(directory, 'confirm')
    deadline = clock() + confirm_timeout
    while clock() < deadline:
        if files.exists(confirm_path):
            # Not final until the files are written: power lost in between is rolled back at boot.
            state['status'] = 'committing'
            write_state(directory, state, files)
            commit(plan, files)
            return finish('committed')
        sleep(0.1)
    return finish('rolled-back', 'no confirmation from the controller within %d s' % confirm_timeout,
                  rollback(io, plan))


def install_boot_hook(io, python):
    """Put the boot-time rollback in place (idempotent); returns the paths it wrote or linked.

    ``io`` is the whole host seam: its files and its commands (``update-rc.d``).

    The systemd unit runs it before network-pre.target and Open vSwitch; the SysV script runs it
    in rcS before networking, registered with update-rc.d where Debian has it (insserv orders it
    by its header), else linked by hand. Each only where that init system's directory exists.
    """
    written = []
    for item in hook_files(python):
        if item['path'] == SYSTEMD_UNIT and not io.is_dir('/etc/systemd'):
            continue
        if item['path'] == INIT_SCRIPT and not io.is_dir('/etc/init.d'):
            continue
        if io.read_text(item['path']) != item['content']:
            io.write_atomic(item['path'], item['content'], item['mode'])
            written.append(item['path'])
    if io.exists(SYSTEMD_UNIT) and not io.lexists(SYSTEMD_WANTS):
        # What systemctl enable does for WantedBy=sysinit.target (systemd need not run now).
        if not io.is_dir(os.path.dirname(SYSTEMD_WANTS)):
            io.make_dir(os.path.dirname(SYSTEMD_WANTS), 0o755)
        io.symlink(SYSTEMD_UNIT, SYSTEMD_WANTS)
        written.append(SYSTEMD_WANTS)
    if io.exists(INIT_SCRIPT) and not io.paths_exist(['/etc/rc?.d/[SK][0-9][0-9]%s' % SERVICE_NAME]):
        if io.paths_exist(['/usr/sbin/update-rc.d', '/sbin/update-rc.d']):
            io.run(['update-rc.d', SERVICE_NAME, 'defaults'])
        elif io.is_dir('/etc/rcS.d'):
            io.symlink('../init.d/%s' % SERVICE_NAME, '/etc/rcS.d/S01%s' % SERVICE_NAME)
        written.append('/etc/rcS.d (%s)' % SERVICE_NAME)
    return written


def start_detached(work, log_path):
    """Run ``work(report)`` in a ``setsid`` grandchild; return the first decisive state it reports.

    The grandchild drops every descriptor it inherited (the SSH channel included) so the
    Ansible task can return while it keeps waiting for the confirmation.
    """
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        try:
            os.close(read_end)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            null = os.open(os.devnull, os.O_RDWR)
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.closerange(3, write_end)
            os.closerange(write_end + 1, 65536)

            def report(state):
                try:
                    os.write(write_end, (json.dumps(state) + '\n').encode())
                except OSError:
                    pass  # the module has gone already: the state file is the record

            work(report)
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    state, buffer = None, b''
    with os.fdopen(read_end, 'rb') as reader:
        for line in reader:
            buffer = line
            state = json.loads(buffer.decode())
            if state.get('status') in FINAL_STATES + ('waiting-confirm',):
                break
    return state
