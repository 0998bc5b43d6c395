"""VM namespaces on OVS access ports: VLANs isolate across nodes, the switch carries the tags."""
import subprocess
import time

import pytest

from lab.hosts import system

pytestmark = pytest.mark.lab_hosts

BRIDGE = 'brvm'


@pytest.fixture
def vm_bridges(host_lab):
    """A netdev bridge with eth1 trunking VLANs 100 and 200 on nodes 1 and 2, removed afterwards."""
    nodes = host_lab.nodes[:2]
    before = [node.network_state() for node in nodes]
    for node in nodes:
        node.exec(['ovs-vsctl', 'add-br', BRIDGE, '--', 'set', 'Bridge', BRIDGE, 'datapath_type=netdev',
                   '--', 'add-port', BRIDGE, 'eth1', 'trunks=100,200'])
        node.exec(['ip', 'link', 'set', BRIDGE, 'up'])
    vms = []
    yield vms
    for vm in vms:
        vm.remove()
    for node in nodes:
        node.exec(['ovs-vsctl', '--if-exists', 'del-br', BRIDGE])
    assert [node.network_state() for node in nodes] == before, 'the shared lab was not restored'


def test_same_vlan_passes_and_different_vlan_fails_across_nodes(host_lab, vm_bridges):
    on_node1_vlan100 = host_lab.add_vm(1, BRIDGE, 100, '192.168.100.1/24')
    on_node2_vlan100 = host_lab.add_vm(2, BRIDGE, 100, '192.168.100.2/24')
    on_node2_vlan200 = host_lab.add_vm(2, BRIDGE, 200, '192.168.100.3/24')
    vm_bridges.extend([on_node1_vlan100, on_node2_vlan100, on_node2_vlan200])

    assert on_node1_vlan100.ping(on_node2_vlan100.ip)
    assert not on_node1_vlan100.ping(on_node2_vlan200.ip)
    assert not on_node2_vlan100.ping(on_node2_vlan200.ip)
    ports = host_lab.nodes[1].network_state()['ovs'][BRIDGE]['ports']
    assert ports[on_node2_vlan100.port]['tag'] == 100
    assert ports[on_node2_vlan200.port]['tag'] == 200


def test_tcp_crosses_the_userspace_bridges(host_lab, vm_bridges):
    # Checksum offload left on would let ping pass and TCP fail (pitfall 1).
    server = host_lab.add_vm(2, BRIDGE, 100, '192.168.100.12/24', name='srv')
    client = host_lab.add_vm(1, BRIDGE, 100, '192.168.100.11/24', name='cli')
    vm_bridges.extend([server, client])
    listener = subprocess.Popen(['ip', 'netns', 'exec', server.namespace, 'socat', '-u', 'TCP-LISTEN:5001,reuseaddr', 'STDOUT'],
                                stdout=subprocess.PIPE, text=True)
    try:
        payload = 'hello over vlan 100\n' * 2000
        for _attempt in range(50):
            sent = client.exec(['socat', '-u', 'STDIN', 'TCP:%s:5001,connect-timeout=2' % server.ip], input=payload, check=False)
            if sent.returncode == 0:
                break
            time.sleep(0.05)
        received = listener.communicate(timeout=10)[0]
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    assert received == payload


def test_switch_port_carries_the_vlan_tag(host_lab, vm_bridges):
    sender = host_lab.add_vm(1, BRIDGE, 200, '192.168.200.1/24')
    receiver = host_lab.add_vm(2, BRIDGE, 200, '192.168.200.2/24')
    vm_bridges.extend([sender, receiver])
    port = host_lab.nodes[0].switch_port
    capture = subprocess.Popen(['ip', 'netns', 'exec', host_lab.switch_ns, 'tcpdump', '-l', '-n', '-e', '-c', '1', '-i', port,
                                'vlan 200 and icmp'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while capture.poll() is None and time.monotonic() < deadline:
            sender.ping(receiver.ip, count=1, timeout=1)
        output = capture.communicate(timeout=5)[0]
    finally:
        if capture.poll() is None:
            capture.kill()
            capture.wait()
    assert 'vlan 200' in output
    assert system.netns_exists(host_lab.switch_ns)
