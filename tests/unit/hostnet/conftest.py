"""Fixtures for the host-networking unit tests: a private, real ovsdb-server (no vswitchd)."""
import os
import shutil
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
    # A child of the test (no --detach): it is stopped and reaped here, no orphan or zombie left.
    server = subprocess.Popen(['ovsdb-server', '--remote=punix:%s' % (rundir / 'db.sock'),  # pylint: disable=consider-using-with
                               '--unixctl=%s' % (rundir / 'ctl'), '--no-chdir', '--log-file=%s' % (rundir / 'ovsdb.log'),
                               str(rundir / 'conf.db')], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _attempt in range(500):
            if (rundir / 'db.sock').exists() or server.poll() is not None:
                break
            time.sleep(0.01)
        subprocess.run(['ovs-vsctl', '--no-wait', '--timeout=10', 'init'], check=True)
        yield rundir
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
