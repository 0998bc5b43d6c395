"""Fixtures for the host-networking unit tests: a private, real ovsdb-server (no vswitchd)."""
import os
import shutil
import signal
import subprocess
import time

import pytest

SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'


@pytest.fixture
def ovsdb(tmp_path, monkeypatch):
    """A real OVSDB with the vswitch schema; ovs-vsctl finds it through OVS_RUNDIR.

    Without ovs-vswitchd, transactions must run with ``--no-wait``; the database checks the
    schema, references and atomicity exactly as on a node.
    """
    if not shutil.which('ovsdb-server') or not os.path.exists(SCHEMA):
        pytest.skip('Open vSwitch (ovsdb-server and its schema) is not installed')
    rundir = tmp_path / 'ovs'
    rundir.mkdir()
    for variable in ('OVS_RUNDIR', 'OVS_LOGDIR', 'OVS_DBDIR'):
        monkeypatch.setenv(variable, str(rundir))
    subprocess.run(['ovsdb-tool', 'create', str(rundir / 'conf.db'), SCHEMA], check=True)
    subprocess.run(['ovsdb-server', '--remote=punix:%s' % (rundir / 'db.sock'), '--unixctl=%s' % (rundir / 'ctl'),
                    '--pidfile=%s' % (rundir / 'ovsdb.pid'), '--detach', '--no-chdir',
                    '--log-file=%s' % (rundir / 'ovsdb.log'), str(rundir / 'conf.db')], check=True)
    pid = int((rundir / 'ovsdb.pid').read_text().strip())
    try:
        subprocess.run(['ovs-vsctl', '--no-wait', 'init'], check=True)
        yield rundir
    finally:
        os.kill(pid, signal.SIGTERM)
        for _attempt in range(100):
            if not _running(pid):
                break
            time.sleep(0.02)


def _running(pid):
    # A daemon whose parent does not reap it lingers as a zombie: that counts as stopped.
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False
