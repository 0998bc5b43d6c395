# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirm for risky bridge changes (standard library, Python 3.9+).

A change is a plan: one ovs-vsctl transaction and one ``ip -batch`` forward, the same pair
backward, and the persistence files to write once the change is final. ``run_change`` applies
it, runs the local probes, and then waits for a confirmation file that only a NEW connection
from the controller writes (``ovs_bridge_confirm``); anything else restores the previous state.
``start_detached`` runs it in a ``setsid`` grandchild so a dropped SSH session cannot stop it
halfway. Job files live in a tmpfs directory: a reboot forgets them, as it should.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import write_file_atomic

JOB_ROOT = '/run/vmnet-kubevirt/ovs_bridge'
TOKEN_RE = re.compile(r'^[0-9a-f]{32}$')
FINAL_STATES = ('committed', 'rolled-back', 'failed')


def job_dir(token, root=JOB_ROOT):
    if not TOKEN_RE.match(token or ''):
        raise ValueError('token: %r must be the 32 hexadecimal digits returned by ovs_bridge' % (token,))
    return os.path.join(root, token)


def prune_finished(root=JOB_ROOT, keep_seconds=86400, now=None):
    """Remove job directories of changes that finished more than ``keep_seconds`` ago."""
    now = time.time() if now is None else now
    removed = []
    if not os.path.isdir(root):
        return removed
    for token in sorted(os.listdir(root)):
        directory = os.path.join(root, token)
        state_file = os.path.join(directory, 'state.json')
        state = read_state(directory)
        if not TOKEN_RE.match(token) or not state or state.get('status') not in FINAL_STATES:
            continue
        if now - os.path.getmtime(state_file) > keep_seconds:
            for name in os.listdir(directory):
                os.unlink(os.path.join(directory, name))
            os.rmdir(directory)
            removed.append(token)
    return removed


def read_state(directory):
    try:
        with open(os.path.join(directory, 'state.json')) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def write_state(directory, state):
    write_file_atomic(os.path.join(directory, 'state.json'), json.dumps(state, sort_keys=True), 0o600)


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


def commit(plan):
    """The change is final: write (or remove) the boot-time configuration."""
    for item in plan.get('files', []):
        write_file_atomic(item['path'], item['content'], item.get('mode', 0o644))
    for path in plan.get('remove', []):
        if os.path.exists(path):
            os.unlink(path)


def run_change(io, plan, directory, report, confirm_timeout, clock=time.monotonic, sleep=time.sleep, wall=time.time):
    """Apply, probe, wait for the confirmation, then commit or roll back. Returns the final state.

    The state records when the change started, when it was applied and when the probes ended
    (epoch seconds), so a connectivity gap seen from outside can be matched to the move.
    """
    state = {'status': 'applying', 'probes': [], 'reason': None, 'started_at': wall()}

    def finish(status, reason=None, rollback_errors=None):
        state.update(status=status, reason=reason, rollback_errors=rollback_errors or [])
        write_state(directory, state)
        report(dict(state))
        return state

    write_state(directory, state)
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
        commit(plan)
        return finish('committed')
    state['status'] = 'waiting-confirm'
    state['deadline_seconds'] = confirm_timeout
    write_state(directory, state)
    report(dict(state))
    confirm_path = os.path.join(directory, 'confirm')
    deadline = clock() + confirm_timeout
    while clock() < deadline:
        if os.path.exists(confirm_path):
            commit(plan)
            return finish('committed')
        sleep(0.1)
    return finish('rolled-back', 'no confirmation from the controller within %d s' % confirm_timeout,
                  rollback(io, plan))


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
