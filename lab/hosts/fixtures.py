"""Pytest fixtures for the host lab (loaded as a plugin by tests/conftest.py).

* ``host_lab`` (session): 3 nodes with Open vSwitch installed and running, no bridges; torn
  down at session end. Tests that change nodes must restore them or use a lab of their own.
* ``make_host_lab(n, with_ovs=True, name=None)``: context-manager factory for a lab of one's own.

Both skip with the reason when the machine cannot run the lab (not root, no namespaces, ...).
"""
import functools
import os
import shutil
import subprocess

import pytest

REQUIRED_TOOLS = ('ip', 'nsenter', 'unshare', 'socat', 'ethtool', 'ssh', 'ssh-keygen', 'ping')


@functools.lru_cache(maxsize=None)
def lab_unavailable_reason():
    """Why the host lab cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return 'the host lab needs root (network, mount and UTS namespaces, daemons per node)'
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if not os.path.exists('/usr/sbin/sshd'):
        missing.append('sshd (openssh-server)')
    if not os.path.exists('/usr/sbin/ovs-vswitchd'):
        missing.append('ovs-vswitchd (openvswitch-switch)')
    if not os.path.exists('/sbin/ifup'):
        missing.append('ifup (ifupdown)')
    if missing:
        return 'the host lab needs %s; run scripts/setup as root' % ', '.join(missing)
    probe = subprocess.run(['unshare', '--net', '--mount', '--uts', 'true'], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return 'network/mount namespaces are unavailable here: %s' % probe.stderr.strip()
    return None


def skip_unless_lab_possible():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope='session')
def host_lab():
    """3 nodes, Open vSwitch running, no bridges; shared by the session."""
    skip_unless_lab_possible()
    from lab.hosts.lab import HostLab, reap_orphans  # pylint: disable=import-outside-toplevel
    reap_orphans()
    created = HostLab.create(3, with_ovs=True, owner_pid=os.getpid())
    try:
        yield created
    finally:
        created.destroy()


@pytest.fixture
def make_host_lab():
    """Factory: ``with make_host_lab(2, with_ovs=False) as lab: ...`` (torn down on exit).

    A lab the test created but did not close (e.g. ``make_host_lab(1).__enter__()``) is torn
    down when the test ends.
    """
    skip_unless_lab_possible()
    from lab.hosts.lab import host_lab as open_lab  # pylint: disable=import-outside-toplevel
    opened = []

    def factory(n, with_ovs=True, name=None):
        manager = open_lab(n, with_ovs=with_ovs, name=name)
        opened.append(manager)
        return manager

    yield factory
    for manager in opened:
        # Closing an already closed generator-based manager is a no-op.
        manager.gen.close()
