"""`down` leaves no namespace, link, mount or process behind; labs run side by side."""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import lab as lab_package
from lab.hosts import lab as host_lab_module
from lab.hosts.fixtures import lab_unavailable_reason
from lab.hosts import plan, system

pytestmark = pytest.mark.lab_hosts


def root_links():
    listing = subprocess.run(['ip', '-j', 'link', 'show'], capture_output=True, text=True, check=True).stdout
    return sorted(link['ifname'] for link in json.loads(listing))


def root_network():
    """The machine's own addresses and routes (root network namespace)."""
    def listing(*args):
        return subprocess.run(['ip', '-j'] + list(args), capture_output=True, text=True, check=True).stdout
    addresses = sorted((link['ifname'], info['local'], info['prefixlen']) for link in json.loads(listing('addr', 'show'))
                       for info in link.get('addr_info', []))
    routes = sorted(json.dumps(route, sort_keys=True) for route in json.loads(listing('route', 'show', 'table', 'all')))
    return addresses, routes


def processes_mentioning(text):
    found = []
    for entry in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                if text.encode() in handle.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return [pid for pid in found if pid != os.getpid()]


def test_destroy_leaves_nothing_behind(make_host_lab):
    links_before = root_links()
    network_before = root_network()
    with make_host_lab(2) as own_lab:
        assert root_network() == network_before, 'the lab lives in its own namespaces only'

        node = own_lab.nodes[0]
        node.exec(['ovs-vsctl', 'add-br', 'brvm', '--', 'set', 'Bridge', 'brvm', 'datapath_type=netdev'])
        own_lab.add_vm(1, 'brvm', 100, '192.168.100.1/24')
        # A live SSH master (ControlPersist) and a process started in a node and a VM.
        assert own_lab.run_ansible('all', 'ansible.builtin.ping').returncode == 0
        node.spawn(['sleep', '600'], 'sleep.log')
        inodes = own_lab.namespace_inodes()
        vm_inode = system.ns_inode(system.netns_path(own_lab.vms['v1'].namespace))
        lab_dir = own_lab.dir
        assert len(own_lab.leftovers(inodes + [vm_inode])['processes']) >= 8
        assert len(own_lab.leftovers()['namespaces']) == 5
        assert processes_mentioning(str(lab_dir)), 'the SSH control master and the node daemons name the lab directory'
    assert own_lab.leftovers(inodes + [vm_inode]) == {}
    assert not system.netns_names(own_lab.name)
    assert not lab_dir.exists()
    assert not [row for row in system.mountinfo() if str(lab_dir) in row[0]]
    assert not [row for row in system.mountinfo() if row[1] == 'nsfs' and own_lab.name in row[0]]
    assert root_links() == links_before
    assert root_network() == network_before
    assert processes_mentioning(str(lab_dir)) == []


def test_two_labs_start_at_once_in_the_same_address_range():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(host_lab_module.HostLab.create, 1) for _index in range(2)]
    labs = [future.result() for future in futures if future.exception() is None]
    try:
        assert len(labs) == 2, [future.exception() for future in futures]
        first, second = labs
        assert first.nodes[0].mgmt_ip == second.nodes[0].mgmt_ip
        assert set(first.namespaces()).isdisjoint(second.namespaces())
        first.nodes[0].exec(['ovs-vsctl', 'add-br', 'br-first', '--', 'set', 'Bridge', 'br-first', 'datapath_type=netdev'])
        assert second.nodes[0].network_state()['ovs'] == {}
        for own_lab in labs:
            result = own_lab.run_ansible('all', 'ansible.builtin.ping')
            assert result.returncode == 0, result.stdout + result.stderr
        machine_ids = {own_lab.nodes[0].exec(['cat', '/etc/machine-id']).stdout for own_lab in labs}
        assert len(machine_ids) == 2
    finally:
        for own_lab in labs:
            own_lab.destroy()


def test_a_lab_name_in_use_is_refused(make_host_lab):
    with make_host_lab(1) as own_lab:
        with pytest.raises(host_lab_module.LabError, match='already exists'):
            host_lab_module.HostLab.create(1, name=own_lab.name)
        assert own_lab.run_ansible('all', 'ansible.builtin.ping').returncode == 0


def test_cli_up_status_exec_reboot_down():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    name = 'cli-%d' % os.getpid()
    command = [sys.executable, '-m', 'lab', 'hosts']

    def cli(*args, check=True):
        result = subprocess.run(command + list(args), capture_output=True, text=True, cwd=str(lab_package.ROOT), check=False)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    up = cli('up', '2', '--name', name)
    inventory = up.stdout.strip()
    try:
        assert inventory.endswith('/%s/inventory.yml' % name) and os.path.exists(inventory)
        status = cli('status', '--name', name)
        assert 'node2' in status.stdout and 'MiB' in status.stdout
        status_json = json.loads(cli('status', '--json', '--name', name).stdout)
        assert [row['up'] for row in status_json['nodes']] == [True, True]
        assert all(row['memory_kib'] > 0 and row['ovs_running'] for row in status_json['nodes'])
        assert cli('--name', name, 'exec', '2', 'hostname').stdout == 'node2\n'
        assert cli('--name', name, 'exec', '1', 'false', check=False).returncode == 1
        assert cli('--name', name, 'ssh', '2', 'hostname').stdout == 'node2\n'
        assert cli('--name', name, 'ssh', '1', 'exit', '3', check=False).returncode == 3
        cli('reboot', '2', '--name', name)
        assert cli('--name', name, 'exec', '2', 'ovs-vsctl', 'show').returncode == 0
        assert name in cli('list').stdout.split()
        playbook = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible'), '-i', inventory, 'all', '-m', 'ping'],
                                  capture_output=True, text=True, cwd=str(lab_package.ROOT), check=False)
        assert playbook.returncode == 0, playbook.stdout + playbook.stderr
    finally:
        cli('down', '--name', name, check=False)
    assert not system.netns_names(plan.namespace_prefix(name) + '-')
    assert cli('status', '--name', name, check=False).returncode == 1


def test_a_failed_start_cleans_up_after_itself(monkeypatch):
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    real_boot = host_lab_module.Node.boot_services

    def boot_fails_on_node2(node, wait=True):
        if node.index == 2:
            raise host_lab_module.LabError('injected boot failure on node2')
        real_boot(node, wait=wait)

    monkeypatch.setattr(host_lab_module.Node, 'boot_services', boot_fails_on_node2)
    name = 'fail-%d' % os.getpid()
    with pytest.raises(host_lab_module.LabError, match='injected boot failure'):
        host_lab_module.HostLab.create(2, name=name)
    leftover = host_lab_module.HostLab(name, 2)
    assert leftover.leftovers() == {}
    assert not leftover.dir.exists()
    assert processes_mentioning(str(leftover.dir)) == []


def test_ephemeral_labs_of_a_vanished_test_run_are_reaped():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    gone = subprocess.Popen(['true'])
    gone.wait()
    orphan = host_lab_module.HostLab.create(1, owner_pid=os.getpid())
    kept = host_lab_module.HostLab.create(1, owner_pid=os.getpid())
    try:
        # Re-own one lab by a process that has exited, as a test run killed before teardown.
        orphan.owner = {'pid': gone.pid, 'start': 1}
        orphan.save()
        inodes = orphan.namespace_inodes()
        assert orphan.name in host_lab_module.reap_orphans()
        assert orphan.leftovers(inodes) == {} and not orphan.dir.exists()
        assert kept.name in host_lab_module.existing_labs() and not kept.orphaned()
        assert kept.run_ansible('all', 'ansible.builtin.ping').returncode == 0
    finally:
        kept.destroy()
        if orphan.dir.exists():
            orphan.destroy()
