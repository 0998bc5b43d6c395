"""Helpers for the host-networking integration tests (real Ansible over SSH into the host lab)."""
import json
import time

import pytest

from lab import ROOT

HOSTS_PLAYBOOK = ROOT / 'playbooks' / 'hosts.yml'


def bridge_entry(**overrides):
    """The usual test bridge: eth1 (the node's own path) with its IP moved onto br0.

    ``persist: auto`` resolves to ifupdown on the lab's Debian nodes (ifup and
    /etc/network/interfaces, no netplan, no NetworkManager).
    """
    entry = {'name': 'br0', 'datapath_type': 'netdev',
             'uplink': {'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, '100-110', 4000]},
             'persist': 'auto'}
    entry.update(overrides)
    return entry


def write_playbook(tmp_path, name, tasks, hosts='all'):
    """A one-play playbook (JSON is valid YAML) calling the collection's modules directly."""
    path = tmp_path / name
    path.write_text(json.dumps([{'name': name, 'hosts': hosts, 'gather_facts': False, 'tasks': tasks}], indent=1),
                    encoding='utf-8')
    return path


def comparable(state):
    """network_state() minus the userspace datapath's own tap (``ovs-netdev``), which OVS keeps
    once a netdev bridge has existed: it is not configuration and not part of any rollback."""
    state = json.loads(json.dumps(state))
    state['links'].pop('ovs-netdev', None)
    state['addresses'].pop('ovs-netdev', None)
    return state


def wait_for(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail('condition not met within %.0f s' % timeout)
