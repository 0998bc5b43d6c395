"""The ovs role on nodes that have Open vSwitch: one read per node when nothing is left to do, and
the work it still does when that read finds the service stopped or not starting at boot.

Everything here is real: the nodes' dpkg database, their SysV start links, their ovs-vswitchd.
"""
import json

import pytest

from lab.demo import task_outcomes
from tests.integration.hostnet.conftest import HOSTS_PLAYBOOK

pytestmark = [pytest.mark.lab_hosts]

READ = 'vmnet.kubevirt.ovs : Read what the node has of Open vSwitch and what it lacks'
CONVERGE = 'vmnet.kubevirt.ovs : Install, enable and start what the node lacks'
INSTALL = 'vmnet.kubevirt.ovs : Install Open vSwitch from the apt cache as it is'
START = 'vmnet.kubevirt.ovs : Start Open vSwitch now and at boot'
WAIT = 'vmnet.kubevirt.ovs : Wait for the OVSDB socket'
NO_BRIDGES = {'vmnet_ovs_bridge_bridges': []}


def outcomes(result):
    """{task name: {host: status}} of one run (a task that ran twice keeps its last outcome)."""
    return {task: statuses for _play, task, statuses in task_outcomes(result.stdout.splitlines())}


def run_role(host_lab, limit=None):
    result = host_lab.run_playbook(HOSTS_PLAYBOOK, tags='ovs', limit=limit, extra_vars=NO_BRIDGES, timeout=240)
    assert result.rc == 0, result.stdout[-3000:]
    return result


def vswitchd_answers(node):
    return node.exec(['ovs-appctl', '--timeout=5', '-t', 'ovs-vswitchd', 'version'], check=False).returncode == 0


def start_links(node):
    listing = node.exec(['sh', '-c', 'ls /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d']).stdout.split()
    return sorted(name for name in listing if name.endswith('openvswitch-switch'))


def test_a_converged_node_costs_one_read(host_lab):
    result = run_role(host_lab)
    seen = outcomes(result)
    nodes = sorted(result.recap)
    assert seen[READ] == dict.fromkeys(nodes, 'ok')
    assert seen[CONVERGE] == dict.fromkeys(nodes, 'skipping')
    assert not {INSTALL, START, WAIT} & set(seen), 'no install, start or wait task even loaded'
    assert all(counts['changed'] == 0 for counts in result.recap.values()), result.recap


def test_the_role_reports_what_it_read_and_the_running_version(host_lab, tmp_path):
    playbook = tmp_path / 'version.yml'
    playbook.write_text(json.dumps([
        {'hosts': 'node1', 'gather_facts': False, 'roles': ['vmnet.kubevirt.ovs'], 'tasks': [
            {'ansible.builtin.assert': {'that': ["vmnet_ovs_version is match('3\\\\.')"]}}]},
        {'hosts': 'node1', 'gather_facts': False, 'tasks': [  # a later play reads the registered answer
            {'ansible.builtin.assert': {'that': ["vmnet_ovs_host.ovs.version == hostvars['node1'].vmnet_ovs_host.ovs.version",
                                                 "vmnet_ovs_host.ovs.version is match('3\\\\.')", 'not vmnet_ovs_host.todo.needed']}}]},
    ]))
    result = host_lab.run_playbook(playbook)
    assert result.rc == 0, result.stdout[-3000:]
    assert result.recap['node1']['failed'] == 0


def test_a_stopped_vswitchd_is_started_again(host_lab):
    node = host_lab.node(2)
    node.exec(['ovs-appctl', '-t', 'ovs-vswitchd', 'exit'])
    try:
        assert not vswitchd_answers(node)
        result = run_role(host_lab, limit='node2')
        seen = outcomes(result)
        assert seen[START] == {'node2': 'changed'} and seen[WAIT] == {'node2': 'ok'}
        assert seen[INSTALL] == {'node2': 'skipping'}
        assert vswitchd_answers(node)
    finally:
        if not vswitchd_answers(node):
            node.exec(['/etc/init.d/openvswitch-switch', 'start'], check=False)


def test_a_service_disabled_at_boot_is_enabled_again(host_lab):
    node = host_lab.node(3)
    assert any(link.startswith('S') for link in start_links(node))
    node.exec(['update-rc.d', 'openvswitch-switch', 'disable'])
    try:
        assert not any(link.startswith('S') for link in start_links(node))
        first = outcomes(run_role(host_lab, limit='node3'))
        assert first[START] == {'node3': 'changed'}
        assert any(link.startswith('S') for link in start_links(node))
        again = outcomes(run_role(host_lab, limit='node3'))
        assert again[CONVERGE] == {'node3': 'skipping'} and START not in again
    finally:
        node.exec(['update-rc.d', 'openvswitch-switch', 'enable'], check=False)


def test_the_read_reports_the_node_as_it_is(host_lab, tmp_path):
    from tests.integration.hostnet.conftest import write_playbook  # pylint: disable=import-outside-toplevel
    playbook = write_playbook(tmp_path, 'read.yml', [
        {'name': 'read', 'vmnet.kubevirt.ovs_host_info': {'extra_packages': ['no-such-package']}, 'register': 'host'},
        {'name': 'check', 'ansible.builtin.assert': {'that': [
            "host.facts == {'distribution': 'Debian', 'os_family': 'Debian', 'distribution_version': '12'}",
            "host.plan == {'packages': ['openvswitch-switch', 'no-such-package'], 'service': 'openvswitch-switch', "
            "'package_manager': 'apt', 'networkmanager': false}",
            "host.package_database == 'dpkg' and host.service_manager == 'sysv'",
            "host.packages['openvswitch-switch'] is match('3\\\\.')",
            "host.packages['no-such-package'] is none",
            "host.service == {'name': 'openvswitch-switch', 'enabled': true}",
            "host.ovs.running and host.ovs.ovsdb and host.ovs.vswitchd",
            "host.ovs.version is match('3\\\\.')",
            "host.todo == {'missing': ['no-such-package'], 'start': false, 'needed': true}",
            "not host.changed",
        ]}},
        {'name': 'a name that could be an option is refused', 'vmnet.kubevirt.ovs_host_info': {'extra_packages': ['--admindir=/tmp']},
         'register': 'refused', 'ignore_errors': True},
        {'name': 'check the refusal', 'ansible.builtin.assert': {'that': [
            'refused.failed', "'extra_packages[0]' in refused.msg and '--admindir=/tmp' in refused.msg"]}},
    ], hosts='node1')
    result = host_lab.run_playbook(playbook)
    assert result.rc == 0, result.stdout[-3000:]


def test_bad_bridge_role_input_stops_hosts_yml_before_any_node_is_read(host_lab):
    # The bridges play comes second; its inputs are checked in the first play, before Open vSwitch
    # is installed or even read anywhere.
    result = host_lab.run_playbook(HOSTS_PLAYBOOK, extra_vars={'vmnet_ovs_bridge_bridges': [], 'vmnet_ovs_bridge_confirm_wait': 'soon'})
    assert result.rc != 0
    seen = outcomes(result)
    assert seen['Check the inputs of the ovs and ovs_bridge roles'] == {'node1': 'fatal', 'node2': 'fatal', 'node3': 'fatal'}
    assert READ not in seen
    assert 'vmnet_ovs_bridge_confirm_wait' in result.stdout and 'soon' in result.stdout
