"""A rebooted node comes back from what it persisted on its disk, and only from that."""
import pytest

pytestmark = pytest.mark.lab_hosts

OVS_INTERFACES = '''\
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

allow-ovs br-ex
iface br-ex inet static
    address {cidr}
    gateway {gateway}
    ovs_type OVSBridge
    ovs_ports eth1
    ovs_extra set bridge br-ex datapath_type=netdev other-config:hwaddr={mac}

allow-br-ex eth1
iface eth1 inet manual
    ovs_bridge br-ex
    ovs_type OVSPort
    ovs_options trunks=0,100,200
'''


def test_reboot_keeps_disk_and_drops_runtime_state(make_host_lab):
    with make_host_lab(1) as own_lab:
        node = own_lab.nodes[0]
        node.exec(['sh', '-c', 'echo kept > /etc/vmnet-marker && echo kept > /root/vmnet-marker && '
                               'echo gone > /run/vmnet-marker && echo gone > /tmp/vmnet-marker'])
        node.exec(['ip', 'addr', 'add', '192.0.2.99/32', 'dev', 'lo'])
        node.exec(['ovs-vsctl', 'add-br', 'br-kept', '--', 'set', 'Bridge', 'br-kept', 'datapath_type=netdev'])
        # A kept SSH master (ControlPersist) must not hang the next run after the reboot.
        assert own_lab.run_ansible('all', 'ansible.builtin.ping').returncode == 0
        pids_before = set(node.pids())
        host_key_before = node.host_key()

        own_lab.reboot(1)

        assert not pids_before & set(node.pids())
        assert node.exec(['cat', '/etc/vmnet-marker', '/root/vmnet-marker']).stdout == 'kept\nkept\n'
        assert node.exec(['test', '-e', '/run/vmnet-marker'], check=False).returncode == 1
        assert node.exec(['test', '-e', '/tmp/vmnet-marker'], check=False).returncode == 1
        state = node.network_state()
        assert state['addresses']['lo'] == ['127.0.0.1/8', '::1/128']
        assert state['addresses']['eth1'] == [node.mgmt_cidr]
        assert state['links']['eth1']['mac'] == node.mac
        assert set(state['ovs']) == {'br-kept'}, 'the OVS database lives on the node disk'
        assert node.exec(['hostname']).stdout.strip() == node.name
        assert node.host_key() == host_key_before
        # Strict host key checking: the node kept its identity, so SSH still trusts it.
        result = own_lab.run_ansible('all', 'ansible.builtin.ping')
        assert result.returncode == 0, result.stdout + result.stderr


def test_reboot_brings_back_a_bridge_persisted_in_ifupdown_ovs_stanzas(make_host_lab):
    with make_host_lab(2) as own_lab:
        node = own_lab.nodes[0]
        node.exec(['tee', '/etc/network/interfaces'],
                  input=OVS_INTERFACES.format(cidr=node.mgmt_cidr, gateway=node.gateway, mac=node.mac))
        assert 'br-ex' not in (node.network_state()['ovs'] or {})

        own_lab.reboot(1)

        state = node.network_state()
        assert state['addresses']['br-ex'] == [node.mgmt_cidr]
        assert state['addresses'].get('eth1') == []
        assert state['links']['br-ex']['mac'] == node.mac
        assert {'dst': 'default', 'gateway': node.gateway, 'dev': 'br-ex'}.items() <= next(
            route for route in state['routes'] if route['dst'] == 'default').items()
        bridge = state['ovs']['br-ex']
        assert bridge['datapath_type'] == 'netdev'
        assert bridge['ports']['eth1']['trunks'] == [0, 100, 200]
        result = own_lab.run_ansible('all', 'ansible.builtin.ping')
        assert result.returncode == 0, result.stdout + result.stderr
        peer = own_lab.nodes[1]
        assert peer.exec(['ping', '-c', '1', '-W', '2', node.mgmt_ip], check=False).returncode == 0


def test_a_node_that_persisted_a_broken_network_boots_unreachable(make_host_lab):
    with make_host_lab(1) as own_lab:
        node = own_lab.nodes[0]
        good = node.exec(['cat', '/etc/network/interfaces']).stdout
        node.exec(['tee', '/etc/network/interfaces'], input='auto lo\niface lo inet loopback\n\nauto eth1\niface eth1 inet static\n')

        own_lab.reboot(1, wait=False)

        assert any(error.startswith('ifup -a') for error in node.boot_errors), node.boot_errors
        assert node.network_state()['addresses']['eth1'] == []
        assert node.ssh(['true'], check=False, timeout=30, connect_timeout=2).returncode == 255
        assert 'ifup -a (rc=1)' in (node.dir / 'boot.log').read_text(encoding='utf-8')

        # The lab's console (exec) repairs it, as an operator would; the next boot is clean.
        node.exec(['tee', '/etc/network/interfaces'], input=good)
        own_lab.reboot(1)
        assert node.boot_errors == []
        assert node.ssh(['hostname']).stdout == 'node1\n'


EARLY_SCRIPT = '''\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          vmnet-lab-early
# Required-Start:    $local_fs
# X-Start-Before:    networking
# Default-Start:     S
### END INIT INFO
[ "$1" = start ] && ip -brief addr show dev eth1 > /var/lib/vmnet-lab-early-saw
'''


def test_a_boot_script_the_node_installed_in_rcs_runs_before_networking(make_host_lab):
    with make_host_lab(1, with_ovs=False) as own_lab:
        node = own_lab.nodes[0]
        node.exec(['tee', '/etc/init.d/vmnet-lab-early'], input=EARLY_SCRIPT)
        node.exec(['chmod', '755', '/etc/init.d/vmnet-lab-early'])
        node.exec(['update-rc.d', 'vmnet-lab-early', 'defaults'])
        own_lab.reboot(1)
        saw = node.exec(['cat', '/var/lib/vmnet-lab-early-saw']).stdout
        assert saw.split()[0].startswith('eth1') and node.mgmt_ip not in saw, 'it ran before ifupdown gave eth1 its address'
        assert node.network_state()['addresses']['eth1'] == [node.mgmt_cidr]
        assert '/etc/rcS.d/S01vmnet-lab-early start (rc=0)' in (node.dir / 'boot.log').read_text(encoding='utf-8')
