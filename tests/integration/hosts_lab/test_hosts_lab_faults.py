"""Faults the host roles are tested against: a cut uplink, a silent gateway; the ping gap monitor."""
import time

import pytest

pytestmark = pytest.mark.lab_hosts


def answers(node, address, attempts=1):
    """True as soon as one ping is answered; several attempts where an answer is expected (a
    loaded machine may need a fresh ARP resolution after a fault is lifted)."""
    for _attempt in range(attempts):
        if node.exec(['ping', '-n', '-c', '1', '-W', '1', address], check=False).returncode == 0:
            return True
    return False


def test_ping_gap_monitor_sees_no_loss_on_a_quiet_link(host_lab):
    with host_lab.ping_gap_monitor(1) as monitor:
        time.sleep(0.3)
    assert monitor.result['received'] > 10
    assert monitor.lost == 0


def test_cut_uplink_isolates_the_node_until_restored(host_lab):
    node = host_lab.nodes[0]
    other = host_lab.nodes[1]
    try:
        with host_lab.ping_gap_monitor(1) as monitor:
            time.sleep(0.2)
            host_lab.cut_uplink(1)
            shut_at = time.time()
            assert not answers(node, node.gateway)
            assert not answers(other, node.mgmt_ip)
            time.sleep(0.3)
            reopened_at = time.time()
            host_lab.restore_uplink(1)
            answers(node, node.gateway, attempts=20)
    finally:
        host_lab.restore_uplink(1)
    assert answers(node, node.gateway, attempts=10)
    assert answers(other, node.mgmt_ip, attempts=10)
    assert monitor.lost > 0
    # The monitor must see the whole window in which no reply could come back (same clock as
    # ping's timestamps; 1 ms for rounding). This checks the monitor, not the machine's speed.
    assert monitor.longest_gap_ms >= (reopened_at - shut_at) * 1000 - 1


def test_gateway_down_silences_only_the_gateway(host_lab):
    node = host_lab.nodes[2]
    try:
        host_lab.gateway_down()
        assert not answers(node, node.gateway)
        assert answers(node, host_lab.nodes[0].mgmt_ip, attempts=10)
        assert answers(node, '10.10.0.254', attempts=10)
    finally:
        host_lab.gateway_up()
    assert answers(node, node.gateway, attempts=10)


def test_node_indexes_are_checked(host_lab):
    with pytest.raises(Exception, match='node index 0: must be 1..3'):
        host_lab.cut_uplink(0)
    with pytest.raises(ValueError, match='vlan_tag 5000'):
        host_lab.add_vm(1, 'brvm', 5000, '192.168.1.1/24')


def test_an_ssh_session_rides_out_a_short_uplink_cut(host_lab):
    node = host_lab.nodes[1]
    assert node.ssh(['hostname']).stdout == '%s\n' % node.name
    session = node.ssh_session()
    try:
        session.stdin.write('before\n')
        assert session.stdout.readline() == 'before\n'
        host_lab.cut_uplink(2)
        try:
            session.stdin.write('during\n')
            time.sleep(0.5)
        finally:
            host_lab.restore_uplink(2)
        # TCP retransmits once the port is back: the line written during the cut arrives.
        assert session.stdout.readline() == 'during\n'
        session.stdin.write('after\n')
        assert session.stdout.readline() == 'after\n'
    finally:
        session.stdin.close()
        session.wait(timeout=30)
    assert session.returncode == 0, session.stderr.read()
