"""The host lab's nodes behave like separate machines reached over real SSH."""
import json
import time

import pytest

pytestmark = pytest.mark.lab_hosts


def pids_inside(node):
    """The node's processes as PIDs of its own PID namespace (NSpid's last field)."""
    found = set()
    for pid in node.pids():
        with open('/proc/%d/status' % pid, encoding='utf-8') as handle:
            for line in handle:
                if line.startswith('NSpid:'):
                    found.add(int(line.split()[-1]))
    return found


def test_ansible_ping_reaches_every_node_over_ssh(host_lab):
    result = host_lab.run_ansible('all', 'ansible.builtin.ping')
    assert result.returncode == 0, result.stdout + result.stderr
    for node in host_lab.nodes:
        assert '%s | SUCCESS' % node.name in result.stdout


def test_playbook_facts_show_each_node_as_its_own_host(host_lab, tmp_path):
    playbook = tmp_path / 'facts.yml'
    playbook.write_text(
        '- hosts: all\n'
        '  gather_facts: true\n'
        '  gather_subset: [network]\n'
        '  tasks:\n'
        '    - ansible.builtin.copy:\n'
        '        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"\n'
        '        content: "{{ {\'hostname\': ansible_facts.hostname, \'ip\': ansible_facts.default_ipv4.address,'
        ' \'mac\': ansible_facts.default_ipv4.macaddress, \'iface\': ansible_facts.default_ipv4.interface} | to_json }}"\n'
        '      delegate_to: localhost\n'
        '      connection: local\n'
        '      vars:\n'
        '        ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
    )
    result = host_lab.run_playbook(playbook, extra_vars={'out_dir': str(tmp_path)})
    assert result.rc == 0, result.stdout + result.stderr
    assert set(result.recap) == {node.name for node in host_lab.nodes}
    assert all(counts['failed'] == 0 and counts['unreachable'] == 0 for counts in result.recap.values())
    for node in host_lab.nodes:
        facts = json.loads((tmp_path / ('%s.json' % node.name)).read_text())
        assert facts == {'hostname': node.name, 'ip': node.mgmt_ip, 'mac': node.mac, 'iface': 'eth1'}


def test_each_node_sees_only_its_own_ovs_database(host_lab):
    system_ids = set()
    for node in host_lab.nodes:
        uuid = node.exec(['ovs-vsctl', 'get', 'Open_vSwitch', '.', '_uuid']).stdout.strip()
        system_ids.add(uuid)
        # The PID file holds the PID inside the node's own PID namespace.
        db_pid = int(node.exec(['cat', '/run/openvswitch/ovsdb-server.pid']).stdout)
        assert db_pid in pids_inside(node)
        servers = node.exec(['ps', '-e', '-o', 'comm=']).stdout.split().count('ovsdb-server')
        assert servers == 1, 'a node sees only its own processes'
    assert len(system_ids) == len(host_lab.nodes)


def test_bridge_created_in_one_node_is_absent_in_the_others(host_lab):
    first, *others = host_lab.nodes
    first.exec(['ovs-vsctl', 'add-br', 'brtest', '--', 'set', 'Bridge', 'brtest', 'datapath_type=netdev'])
    try:
        assert first.exec(['ovs-vsctl', 'br-exists', 'brtest'], check=False).returncode == 0
        assert 'brtest' in first.network_state()['ovs']
        for node in others:
            assert node.exec(['ovs-vsctl', 'br-exists', 'brtest'], check=False).returncode == 2
            assert node.network_state()['ovs'] == {}
            assert node.exec(['ip', 'link', 'show', 'brtest'], check=False).returncode != 0
    finally:
        first.exec(['ovs-vsctl', '--if-exists', 'del-br', 'brtest'])
    assert first.network_state()['ovs'] == {}


def test_node_has_its_own_init_and_looks_like_a_non_systemd_host(host_lab, tmp_path):
    node = host_lab.nodes[1]
    assert node.exec(['cat', '/proc/1/comm']).stdout == 'vmnet-lab-init\n'
    playbook = tmp_path / 'service_mgr.yml'
    playbook.write_text('- hosts: node2\n  gather_facts: true\n  gather_subset: [service_mgr]\n  tasks:\n'
                        '    - ansible.builtin.assert:\n        that: ansible_facts.service_mgr == "vmnet-lab-init"\n')
    result = host_lab.run_playbook(playbook)
    assert result.rc == 0, result.stdout
    assert result.recap['node2']['failed'] == 0


def test_node_files_stay_inside_the_node(host_lab):
    first, second = host_lab.nodes[:2]
    first.exec(['sh', '-c', 'echo only-on-node1 > /etc/vmnet-lab-marker'])
    try:
        assert first.exec(['cat', '/etc/vmnet-lab-marker']).stdout == 'only-on-node1\n'
        assert second.exec(['test', '-e', '/etc/vmnet-lab-marker'], check=False).returncode == 1
        assert not __import__('os').path.exists('/etc/vmnet-lab-marker')
        assert (first.dir / 'upper' / 'etc' / 'vmnet-lab-marker').exists()
    finally:
        first.exec(['rm', '-f', '/etc/vmnet-lab-marker'])


def test_nodes_imitate_the_kernel_datapath_with_sysctls(host_lab):
    node = host_lab.nodes[2]
    values = node.exec(['sysctl', '-n', 'net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.all.arp_ignore',
                        'net.ipv4.conf.all.arp_announce']).stdout.split()
    assert values == ['1', '1', '2']
    assert node.exec(['cat', '/etc/sysctl.d/60-vmnet-lab.conf']).stdout.count(' = ') == 6


def test_ansible_state_stays_under_the_lab_directory(host_lab):
    result = host_lab.run_ansible('node1', 'ansible.builtin.ping')
    assert result.returncode == 0, result.stdout + result.stderr
    env = host_lab.ansible_env()
    for key in ('ANSIBLE_HOME', 'ANSIBLE_LOCAL_TEMP', 'ANSIBLE_SSH_CONTROL_PATH_DIR'):
        assert env[key].startswith(str(host_lab.dir) + '/')
    control_sockets = list((host_lab.dir / 'ansible' / 'cp').iterdir())
    assert control_sockets, 'ControlPersist masters live in the lab directory'


def test_nodes_hold_no_namespace_handles_that_would_pin_other_labs(host_lab, make_host_lab):
    # A copied mount table would keep every /run/netns handle of the machine alive (pitfall 8).
    with make_host_lab(1) as other_lab:
        for node in host_lab.nodes + other_lab.nodes:
            with open('/proc/%d/mountinfo' % node.pids()[0], encoding='utf-8') as handle:
                mounts = handle.read()
            assert ' - nsfs ' not in mounts
            assert ' - overlay ' in mounts and '/upper/etc' in mounts


def test_the_node_init_adopts_and_reaps_detached_helpers(host_lab):
    # A detached helper (as an uplink move run with setsid) outlives its SSH session; when it
    # ends, the node's init must reap it rather than leave a zombie.
    node = host_lab.nodes[0]
    # Its stdio closed, as a detached helper does (else exec would wait for the pipes' EOF).
    node.exec(['setsid', '-f', 'sh', '-c', 'exec sleep 1 </dev/null >/dev/null 2>&1'])
    parents = node.exec(['ps', '-C', 'sleep', '-o', 'ppid=']).stdout.split()
    assert parents == ['1']
    for _attempt in range(200):
        states = node.exec(['ps', '-e', '-o', 'stat=,comm=']).stdout
        if 'sleep' not in states:
            break
        time.sleep(0.05)
    assert 'sleep' not in states
    assert not [line for line in states.splitlines() if line.strip().startswith('Z')]
