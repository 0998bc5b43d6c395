"""The boot-time rollback of unconfirmed changes, against a real OVSDB.

Jobs are laid out as ovs_bridge leaves them on disk; the rollback runs against a running
ovsdb-server (the ``ovsdb`` fixture) and against a bare database file, as at boot, where the
hook serves it through a private ovsdb-server of its own. The installed program is also run as
a separate process from the files ``hook_files`` gives, to show it needs nothing but Python.
"""
import json
import subprocess
import sys
import time

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_boot, _ovs_commit
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostIO
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import target_state, transaction_argv, transaction_commands
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import normalize_spec
from tests.unit.hostnet.conftest import SCHEMA

MAC = '00:16:3e:10:00:01'
TOKENS = ['%032x' % number for number in range(1, 6)]


def bridge_change():
    """(forward argv, rollback argv) of a new bridge br0 with eth1 as its uplink port."""
    spec = normalize_spec({'name': 'br0', 'datapath_type': 'netdev',
                           'uplink': {'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, 100]}})
    target = target_state(None, spec, MAC)
    return transaction_argv(transaction_commands('br0', None, target)), transaction_argv(transaction_commands('br0', target, None))


def write_job(root, token, status, rollback_ovs, restore=(), started_at=1.0, ovsdb=None):
    directory = root / token
    directory.mkdir(parents=True)
    (directory / 'plan.json').write_text(json.dumps({'rollback_ovs': rollback_ovs, 'restore': list(restore),
                                                     'ovsdb': ovsdb, 'files': []}))
    if status is not None:
        (directory / 'state.json').write_text(json.dumps({'status': status, 'started_at': started_at}))
    return directory


def state_of(directory):
    return json.loads((directory / 'state.json').read_text())


def bridges():
    return HostIO().read_ovsdb()[0]


def test_pending_jobs_are_the_unfinished_ones_newest_first(tmp_path):
    write_job(tmp_path, TOKENS[0], 'waiting-confirm', [], started_at=1)
    write_job(tmp_path, TOKENS[1], 'committed', [])
    write_job(tmp_path, TOKENS[2], 'committing', [], started_at=3)
    write_job(tmp_path, TOKENS[3], None, [], started_at=0)  # power lost before the agent wrote a state
    write_job(tmp_path, TOKENS[4], 'rolled-back', [])
    (tmp_path / 'not-a-token').mkdir()
    found = [directory.rsplit('/', 1)[1] for directory, _plan, _state in _ovs_boot.pending_jobs(str(tmp_path))]
    assert found == [TOKENS[2], TOKENS[0], TOKENS[3]]


def test_a_change_left_waiting_for_confirmation_is_rolled_back_with_its_files(ovsdb, tmp_path):
    forward, rollback = bridge_change()
    subprocess.run(forward[:1] + ['--no-wait'] + forward[1:], check=True, capture_output=True)
    assert 'br0' in bridges()
    persisted = tmp_path / 'etc' / 'network' / 'interfaces'
    persisted.parent.mkdir(parents=True)
    persisted.write_text('half-written by the commit\n')
    new_file = tmp_path / 'etc' / 'network' / 'interfaces.d' / 'vmnet-br0'
    new_file.parent.mkdir()
    new_file.write_text('written by the commit\n')
    restore = [{'path': str(persisted), 'content': 'auto eth1\niface eth1 inet static\n', 'mode': 0o644},
               {'path': str(new_file), 'content': None, 'mode': 0o644}]
    job = write_job(tmp_path / 'jobs', TOKENS[0], 'committing', rollback, restore)
    done = _ovs_boot.roll_back_pending(str(tmp_path / 'jobs'), log=lambda text: None)
    assert done == [(TOKENS[0], 'rolled-back')]
    assert 'br0' not in bridges()
    assert persisted.read_text() == 'auto eth1\niface eth1 inet static\n' and not new_file.exists()
    final = state_of(job)
    assert final['status'] == 'rolled-back' and final['rollback_errors'] == []
    assert final['reason'].startswith('the node restarted inside the confirmation window (last state: committing)')
    assert _ovs_boot.roll_back_pending(str(tmp_path / 'jobs'), log=lambda text: None) == [], 'a second boot has nothing to do'


def test_a_committed_change_is_kept(ovsdb, tmp_path):
    forward, rollback = bridge_change()
    subprocess.run(forward[:1] + ['--no-wait'] + forward[1:], check=True, capture_output=True)
    write_job(tmp_path, TOKENS[0], 'committed', rollback)
    assert _ovs_boot.roll_back_pending(str(tmp_path), log=lambda text: None) == []
    assert 'br0' in bridges()


@pytest.fixture
def bare_database(tmp_path, monkeypatch):
    """A database file nobody serves, as at boot; the default socket points at an empty dir, so
    no ovsdb-server of this machine can be reached by mistake."""
    if subprocess.run(['which', 'ovsdb-tool'], capture_output=True, check=False).returncode != 0:
        pytest.skip('Open vSwitch (ovsdb-tool) is not installed')
    empty = tmp_path / 'no-ovs'
    empty.mkdir()
    for variable in ('OVS_RUNDIR', 'OVS_DBDIR', 'OVS_LOGDIR'):
        monkeypatch.setenv(variable, str(empty))
    database = tmp_path / 'conf.db'
    subprocess.run(['ovsdb-tool', 'create', str(database), SCHEMA], check=True)
    return database


def test_at_boot_the_database_file_is_served_privately_for_the_rollback(bare_database, tmp_path):
    forward, rollback = bridge_change()
    rundir = tmp_path / 'boot-ovsdb'
    assert _ovs_boot.rollback_ovsdb(['ovs-vsctl', '--', 'init'] + forward[2:], str(bare_database), str(rundir)) == []
    shown = subprocess.run(['ovsdb-tool', 'show-log', str(bare_database)], capture_output=True, text=True, check=True).stdout
    assert 'br0' in shown, 'the forward change reached the file'
    write_job(tmp_path / 'jobs', TOKENS[0], 'waiting-confirm', rollback, ovsdb=str(bare_database))
    assert _ovs_boot.roll_back_pending(str(tmp_path / 'jobs'), str(rundir), log=lambda text: None) == [(TOKENS[0], 'rolled-back')]
    # The private server is gone (the real one can take the database's lock) and br0 with it.
    served = subprocess.Popen(['ovsdb-server', str(bare_database), '--remote=punix:%s' % (tmp_path / 'check.sock'),  # pylint: disable=consider-using-with
                               '--unixctl=%s' % (tmp_path / 'check.ctl'), '--no-chdir'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _attempt in range(500):
            if (tmp_path / 'check.sock').exists() or served.poll() is not None:
                break
            time.sleep(0.01)
        listed = subprocess.run(['ovs-vsctl', '--db=unix:%s' % (tmp_path / 'check.sock'), '--timeout=10', 'list-br'],
                                capture_output=True, text=True, check=True).stdout
    finally:
        served.terminate()
        served.wait(timeout=10)
    assert listed.split() == []


def test_a_rollback_that_fails_is_recorded_and_the_boot_goes_on(bare_database, tmp_path):
    job = write_job(tmp_path / 'jobs', TOKENS[0], 'waiting-confirm', ['ovs-vsctl', '--', 'del-br', 'no-such-bridge'],
                    ovsdb=str(bare_database))
    assert _ovs_boot.roll_back_pending(str(tmp_path / 'jobs'), str(tmp_path / 'run'), log=lambda text: None) == [(TOKENS[0], 'failed')]
    assert 'no-such-bridge' in state_of(job)['rollback_errors'][0]
    missing = write_job(tmp_path / 'jobs2', TOKENS[1], 'waiting-confirm', ['ovs-vsctl', '--', 'del-br', 'br0'],
                        ovsdb=str(tmp_path / 'gone.db'))
    _ovs_boot.roll_back_pending(str(tmp_path / 'jobs2'), str(tmp_path / 'run'), log=lambda text: None)
    assert 'gone.db does not exist' in state_of(missing)['rollback_errors'][0]


def test_the_installed_program_runs_on_its_own(bare_database, tmp_path):
    forward, rollback = bridge_change()
    _ovs_boot.rollback_ovsdb(['ovs-vsctl', '--', 'init'] + forward[2:], str(bare_database), str(tmp_path / 'run'))
    job = write_job(tmp_path / 'jobs', TOKENS[0], 'applying', rollback, ovsdb=str(bare_database))
    program = next(item for item in _ovs_boot.hook_files(sys.executable) if item['path'] == _ovs_boot.HOOK_PATH)
    hook = tmp_path / 'ovs-bridge-boot-rollback'
    hook.write_text(program['content'])
    hook.chmod(program['mode'])
    # -I: isolated, nothing of this checkout (or the collection) on sys.path.
    ran = subprocess.run([sys.executable, '-I', str(hook), str(tmp_path / 'jobs')], capture_output=True, text=True,
                         cwd=str(tmp_path), check=False, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert '%s: rolled-back' % TOKENS[0] in ran.stdout
    assert state_of(job)['status'] == 'rolled-back'


def test_the_boot_units_run_before_the_network_and_open_vswitch():
    files = dict((item['path'], item['content']) for item in _ovs_boot.hook_files('/usr/bin/python3'))
    assert files[_ovs_boot.HOOK_PATH].startswith('#!/usr/bin/python3\n')
    unit = files[_ovs_boot.SYSTEMD_UNIT]
    for line in ('DefaultDependencies=no', 'Before=network-pre.target', 'openvswitch-switch.service', 'NetworkManager.service',
                 'systemd-networkd.service', 'WantedBy=sysinit.target', 'ExecStart=%s' % _ovs_boot.HOOK_PATH,
                 'ConditionDirectoryNotEmpty=%s' % _ovs_boot.JOB_ROOT):
        assert line in unit
    script = files[_ovs_boot.INIT_SCRIPT]
    assert '# X-Start-Before:    networking openvswitch-switch network-manager' in script
    assert '# Default-Start:     S' in script and 'exec %s' % _ovs_boot.HOOK_PATH in script


def test_power_lost_while_committing_leaves_a_state_the_boot_rolls_back(tmp_path, monkeypatch):
    job = tmp_path / 'job'
    job.mkdir()
    seen = []

    def commit_then_lose_power(plan, files=None):
        seen.append(json.loads((job / 'state.json').read_text())['status'])
        raise KeyboardInterrupt('power lost')

    monkeypatch.setattr(_ovs_commit, 'commit', commit_then_lose_power)

    class Host:
        @staticmethod
        def ovs_transaction(argv):
            return None

        @staticmethod
        def ip_batch(lines):
            return 0, '', ''

    change = {'forward_ovs': ['x'], 'forward_ip': [], 'rollback_ovs': [], 'rollback_ip': [], 'files': [],
              'probes': {'gateway': False, 'ping': [], 'tcp': [], 'timeout': 1}, 'gateways': []}
    with pytest.raises(KeyboardInterrupt):
        _ovs_commit.run_change(Host(), change, str(job), lambda state: None, 0)
    assert seen == ['committing'] and json.loads((job / 'state.json').read_text())['status'] not in _ovs_boot.FINAL_STATES
