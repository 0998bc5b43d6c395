"""The commit-confirm state machine with a recording stand-in for the host (no network touched)."""
import ctypes
import json
import os

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_commit
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostCommandError


class RecordingHost:
    """Records every command; probes answer from a table."""

    def __init__(self, reachable=(), fail_ovs=False, ip_rc=0):
        self.calls = []
        self.reachable = set(reachable)
        self.fail_ovs = fail_ovs
        self.ip_rc = ip_rc

    def ovs_transaction(self, argv):
        self.calls.append(('ovs', argv))
        if self.fail_ovs and argv and argv[-1] == 'forward':
            raise HostCommandError(argv, 1, 'datapath type not supported')

    def ip_batch(self, lines):
        self.calls.append(('ip', lines))
        return (self.ip_rc if lines == ['forward'] else 0), '', 'RTNETLINK answers: bad' if self.ip_rc else ''

    def ping(self, address, wait=1):
        self.calls.append(('ping', address))
        return address in self.reachable

    def tcp(self, host, port, wait=1.0):
        self.calls.append(('tcp', '%s:%d' % (host, port)))
        return '%s:%d' % (host, port) in self.reachable


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def plan(tmp_path, probes=None):
    return {'forward_ovs': ['forward'], 'forward_ip': ['forward'], 'rollback_ovs': ['rollback'], 'rollback_ip': ['rollback'],
            'files': [{'path': str(tmp_path / 'etc' / 'vmnet-br0'), 'content': 'persisted\n', 'mode': 0o644}],
            'probes': probes or {'gateway': True, 'ping': [], 'tcp': [], 'timeout': 3}, 'gateways': ['10.10.0.1']}


def run(tmp_path, host, probes=None, confirm_timeout=5, confirm_at=None):
    clock = FakeClock()
    job = tmp_path / 'job'
    job.mkdir()
    reports = []

    def sleep(seconds):
        clock.sleep(seconds)
        if confirm_at is not None and clock.now >= confirm_at:
            (job / 'confirm').write_text('')

    state = _ovs_commit.run_change(host, plan(tmp_path, probes), str(job), reports.append, confirm_timeout,
                                   clock=clock, sleep=sleep)
    return state, reports, json.loads((job / 'state.json').read_text())


def test_confirmed_change_commits_and_writes_the_files(tmp_path):
    host = RecordingHost(reachable={'10.10.0.1'})
    state, reports, saved = run(tmp_path, host, confirm_at=1.0)
    assert [report['status'] for report in reports] == ['waiting-confirm', 'committed']
    assert saved['status'] == 'committed' == state['status']
    assert (tmp_path / 'etc' / 'vmnet-br0').read_text() == 'persisted\n'
    assert ('ovs', ['rollback']) not in host.calls


def test_no_confirmation_rolls_back_ovs_first_then_addresses(tmp_path):
    host = RecordingHost(reachable={'10.10.0.1'})
    state, _reports, saved = run(tmp_path, host, confirm_timeout=2)
    assert state['status'] == 'rolled-back' == saved['status']
    assert state['reason'] == 'no confirmation from the controller within 2 s'
    assert host.calls[-2:] == [('ovs', ['rollback']), ('ip', ['rollback'])]
    assert not (tmp_path / 'etc' / 'vmnet-br0').exists(), 'nothing is persisted without a confirmation'


def test_failing_probe_rolls_back_without_waiting_for_the_controller(tmp_path):
    host = RecordingHost(reachable={'10.10.0.1'})
    probes = {'gateway': True, 'ping': ['10.10.0.99'], 'tcp': [['10.10.0.5', 6443]], 'timeout': 2}
    state, reports, _saved = run(tmp_path, host, probes=probes, confirm_at=0.0)
    assert state['status'] == 'rolled-back'
    assert state['reason'] == 'probe failed: ping 10.10.0.99, tcp 10.10.0.5:6443'
    assert [report['status'] for report in reports] == ['rolled-back']
    assert {'probe': 'gateway', 'target': '10.10.0.1', 'passed': True} in state['probes']
    assert host.calls.count(('ping', '10.10.0.99')) > 1, 'a probe is retried until its time is spent'


def test_probe_that_passes_late_is_retried_until_it_does(tmp_path):
    class LateHost(RecordingHost):
        def ping(self, address, wait=1):
            self.calls.append(('ping', address))
            return len(self.calls) > 6

    state, _reports, _saved = run(tmp_path, LateHost(), confirm_at=0.0)
    assert state['status'] == 'committed'


def test_ovs_failure_still_runs_the_rollback(tmp_path):
    # ovs-vsctl can fail yet keep a new bridge (pitfall: unsupported datapath): always roll back.
    host = RecordingHost(fail_ovs=True)
    state, _reports, _saved = run(tmp_path, host)
    assert state['status'] == 'rolled-back'
    assert 'datapath type not supported' in state['reason']
    assert ('ovs', ['rollback']) in host.calls and ('ip', ['rollback']) in host.calls


def test_removal_moves_addresses_before_deleting_the_bridge(tmp_path):
    host = RecordingHost(reachable={'10.10.0.1'})
    clock = FakeClock()
    job = tmp_path / 'job'
    job.mkdir()
    removal = dict(plan(tmp_path), ip_first=True)
    _ovs_commit.run_change(host, removal, str(job), lambda state: None, 0, clock=clock, sleep=clock.sleep)
    assert host.calls[:2] == [('ip', ['forward']), ('ovs', ['forward'])]


def test_ip_batch_failure_rolls_back(tmp_path):
    host = RecordingHost(ip_rc=2)
    state, _reports, _saved = run(tmp_path, host)
    assert state['status'] == 'rolled-back' and state['reason'].startswith('ip -batch failed')


def test_zero_confirm_timeout_commits_after_the_probes(tmp_path):
    host = RecordingHost(reachable={'10.10.0.1'})
    state, reports, _saved = run(tmp_path, host, confirm_timeout=0)
    assert state['status'] == 'committed' and [r['status'] for r in reports] == ['committed']


def test_prune_removes_only_old_finished_jobs(tmp_path):
    root = tmp_path / 'jobs'
    statuses = {'a' * 32: 'committed', 'b' * 32: 'rolled-back', 'c' * 32: 'waiting-confirm', 'd' * 32: 'committed'}
    for token, status in statuses.items():
        (root / token).mkdir(parents=True)
        _ovs_commit.write_state(str(root / token), {'status': status})
        (root / token / 'agent.log').write_text('')
    old = os.path.getmtime(str(root / ('a' * 32) / 'state.json'))
    os.utime(str(root / ('d' * 32) / 'state.json'), (old + 90000, old + 90000))
    removed = _ovs_commit.prune_finished(str(root), keep_seconds=86400, now=old + 86401)
    assert removed == ['a' * 32, 'b' * 32]
    assert sorted(path.name for path in root.iterdir()) == ['c' * 32, 'd' * 32]


@pytest.mark.parametrize('token', ['', '../../etc', 'ABCDEF', '0' * 31, None])
def test_tokens_are_checked_before_they_name_a_path(token):
    with pytest.raises(ValueError, match='must be the 32 hexadecimal digits'):
        _ovs_commit.job_dir(token)


def _child_subreaper(enabled):
    """Make this process adopt orphaned descendants, so the test can reap the detached agent."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(36, 1 if enabled else 0, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER


def test_start_detached_returns_the_first_decisive_state(tmp_path):
    log = str(tmp_path / 'agent.log')
    marker = tmp_path / 'agent.pid'

    def work(report):
        marker.write_text(str(os.getpid()))
        report({'status': 'applying'})
        report({'status': 'waiting-confirm'})
        os.write(1, b'agent still running after its report\n')

    adopted = _child_subreaper(True)
    try:
        state = _ovs_commit.start_detached(work, log)
        assert state == {'status': 'waiting-confirm'}
        agent = int(marker.read_text())
        assert agent != os.getpid()
        if adopted:
            os.waitpid(agent, 0)  # reaped here: no zombie left behind
            assert 'agent still running after its report' in (tmp_path / 'agent.log').read_text()
    finally:
        _child_subreaper(False)


def test_state_records_when_the_change_started_was_applied_and_probed(tmp_path):
    host = RecordingHost(reachable={'10.10.0.1'})
    clock = FakeClock()
    job = tmp_path / 'job'
    job.mkdir()
    ticks = iter([100.0, 100.25, 101.5])
    state = _ovs_commit.run_change(host, plan(tmp_path), str(job), lambda _state: None, 0, clock=clock, sleep=clock.sleep,
                                   wall=lambda: next(ticks))
    assert state['status'] == 'committed'
    assert (state['started_at'], state['applied_at'], state['probed_at']) == (100.0, 100.25, 101.5)
    saved = json.loads((job / 'state.json').read_text())
    assert saved['applied_at'] == 100.25
