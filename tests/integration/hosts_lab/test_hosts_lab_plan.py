"""Pure parts of the host lab (no root needed): names, addresses, inventory, output parsing."""
import hashlib
import json
import re
import shlex

import pytest

from lab.hosts import aptrepo
from lab.hosts import plan

RECAP = '''\
PLAY [all] *********************************************************************

TASK [ping] ********************************************************************
ok: [node1]

PLAY RECAP *********************************************************************
node1                      : ok=3    changed=1    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0
node2                      : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0

'''


def test_parse_recap_counts_per_host():
    recap = plan.parse_recap(RECAP)
    assert recap['node1'] == {'ok': 3, 'changed': 1, 'unreachable': 0, 'failed': 0, 'skipped': 2, 'rescued': 0, 'ignored': 0}
    assert recap['node2']['unreachable'] == 1
    assert plan.parse_recap('no recap here') == {}


def test_node_addresses_and_universal_macs():
    assert plan.node_ip(1) == '10.10.0.11' and plan.node_cidr(3) == '10.10.0.13/24'
    assert plan.node_mac(1) == '00:16:3e:10:00:01'
    assert plan.node_mac(258) == '00:16:3e:10:01:02'
    first_octet = int(plan.node_mac(7).split(':')[0], 16)
    assert first_octet & 0b10 == 0, 'locally administered MACs are ignored by OVS for the bridge MAC'


@pytest.mark.parametrize('name', ['', 'Upper', 'a' * 17, 'bad_name', '-lead'])
def test_bad_lab_names_are_refused_with_the_rule(name):
    with pytest.raises(ValueError, match='lab name'):
        plan.check_lab_name(name)


@pytest.mark.parametrize('count', [0, 201, True, '3'])
def test_bad_node_counts_are_refused(count):
    with pytest.raises(ValueError, match='node count'):
        plan.check_node_count(count)


def test_vm_names_fit_an_interface_name():
    assert len(plan.vm_port(plan.check_vm_name('a' * 10))) <= 15
    with pytest.raises(ValueError, match='VM name'):
        plan.check_vm_name('a' * 11)
    with pytest.raises(ValueError, match='ip_cidr'):
        plan.check_cidr('192.168.1.300/24')


def test_inventory_reaches_nodes_through_the_controller_namespace(monkeypatch):
    monkeypatch.delenv(plan.NS_TAG_ENV, raising=False)
    inventory = plan.inventory('x1', 2, '/lab/id_ed25519', '/lab/known_hosts', '/lab/cp')
    group = inventory['all']['children']['lab_nodes']
    assert group['hosts']['node2']['ansible_host'] == '10.10.0.12'
    args = shlex.split(group['vars']['ansible_ssh_common_args'])
    assert 'ProxyCommand=ip netns exec vmlab-x1-ctl socat - TCP:%h:%p' in args
    assert 'StrictHostKeyChecking=yes' in args and 'UserKnownHostsFile=/lab/known_hosts' in args
    assert group['vars']['ansible_control_path_dir'] == '/lab/cp'
    text = plan.inventory_text('x1', 2, '/lab/id_ed25519', '/lab/known_hosts', '/lab/cp')
    assert json.loads(text.split('\n', 1)[1]) == inventory


def test_network_interfaces_configures_the_uplink_statically():
    text = plan.network_interfaces(2)
    assert 'auto eth1\niface eth1 inet static\n    address 10.10.0.12/24\n    gateway 10.10.0.1\n' in text
    assert '127.0.1.1\tnode2' in plan.etc_hosts(2, 3) and '10.10.0.11\tnode1' in plan.etc_hosts(2, 3)


def test_ping_gaps_longest_gap_and_losses():
    output = '\n'.join([
        '[100.000] 64 bytes from 10.10.0.11: icmp_seq=1 ttl=64 time=0.1 ms',
        '[100.005] 64 bytes from 10.10.0.11: icmp_seq=2 ttl=64 time=0.1 ms',
        '[100.200] no answer yet for icmp_seq=3',
        '[100.300] 64 bytes from 10.10.0.11: icmp_seq=40 ttl=64 time=0.1 ms',
        '', '--- 10.10.0.11 ping statistics ---', '40 packets transmitted, 3 received, 92.5% packet loss, time 300ms',
    ])
    result = plan.ping_gaps(output, 99.99, 100.31)
    assert result == {'longest_gap_ms': 295.0, 'lost': 37, 'sent': 40, 'received': 3}
    assert plan.ping_gaps('0 packets transmitted, 0 received', 1.0, 1.5)['longest_gap_ms'] == 500.0


def test_window_gap_counts_only_silences_that_overlap_the_window():
    times = [10.0, 10.005, 10.010, 11.0, 11.005, 12.5, 12.505]  # a 1 s silence before, a 1.5 s silence after
    assert plan.window_gap_ms(times, 10.5, 10.6) == 990.0       # inside the 1 s silence
    assert plan.window_gap_ms(times, 10.006, 10.007) == 5.0
    assert plan.window_gap_ms(times, 11.001, 11.004) == 5.0
    assert plan.window_gap_ms(times, 11.2, 11.3) == 1495.0
    assert plan.window_gap_ms(times, 9.0, 9.5) == 1000.0        # nothing before the window: from its start
    assert plan.window_gap_ms(times, 13.0, 13.4) == 895.0       # replies never resume: up to its end
    assert plan.window_gap_ms(plan.reply_times('[5.000] 64 bytes from x: icmp_seq=1\n[5.010] 64 bytes from x: icmp_seq=2'),
                              5.001, 5.002) == 10.0


def test_ovs_snapshot_resolves_uuids_to_names():
    bridges = plan.ovs_rows(json.dumps({'headings': ['_uuid', 'name', 'ports', 'datapath_type', 'fail_mode', 'other_config', 'external_ids'],
                                        'data': [[['uuid', 'b1'], 'br1', ['set', [['uuid', 'p1'], ['uuid', 'p2']]], 'netdev', ['set', []],
                                                  ['map', [['hwaddr', '00:16:3e:10:00:01']]], ['map', []]]]}))
    ports = plan.ovs_rows(json.dumps({'headings': ['_uuid', 'name', 'interfaces', 'tag', 'trunks', 'vlan_mode', 'external_ids', 'other_config'],
                                      'data': [[['uuid', 'p1'], 'eth1', ['uuid', 'i1'], ['set', []], ['set', [0, 100]], 'trunk', ['map', []], ['map', []]],
                                               [['uuid', 'p2'], 'br1', ['uuid', 'i2'], ['set', []], ['set', []], ['set', []], ['map', []], ['map', []]]]}))
    interfaces = plan.ovs_rows(json.dumps({'headings': ['_uuid', 'name', 'type', 'options', 'mac', 'external_ids'],
                                           'data': [[['uuid', 'i1'], 'eth1', '', ['map', []], ['set', []], ['map', []]],
                                                    [['uuid', 'i2'], 'br1', 'internal', ['map', []], ['set', []], ['map', []]]]}))
    snapshot = plan.ovs_snapshot(bridges, ports, interfaces)
    assert snapshot['br1']['other_config'] == {'hwaddr': '00:16:3e:10:00:01'}
    assert snapshot['br1']['fail_mode'] is None
    assert snapshot['br1']['ports']['eth1']['trunks'] == [0, 100]
    assert snapshot['br1']['ports']['eth1']['vlan_mode'] == 'trunk'
    assert snapshot['br1']['ports']['br1']['interfaces']['br1']['type'] == 'internal'


def test_missing_packages_from_print_uris():
    output = ("'http://deb.example/pool/main/o/openvswitch/openvswitch-switch_3.1.0-2%2bdeb12u1_amd64.deb' "
              "openvswitch-switch_3.1.0-2+deb12u1_amd64.deb 1913756 MD5Sum:582bdb2c\n"
              "Reading package lists...\n")
    assert aptrepo.missing_packages(output) == [('openvswitch-switch', '3.1.0-2+deb12u1', 'openvswitch-switch_3.1.0-2+deb12u1_amd64.deb')]


def test_release_file_lists_checksums(tmp_path):
    # A Release without Date makes apt warn on every update.
    (tmp_path / 'Packages').write_text('Package: x\n')
    text = aptrepo.release_text(tmp_path, ['Packages'])
    digest = hashlib.sha256(b'Package: x\n').hexdigest()
    assert 'SHA256:\n %s 11 Packages\n' % digest in text
    assert re.search(r'^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$', text, re.MULTILINE)
    assert aptrepo.sources_list(tmp_path).strip().endswith('deb [trusted=yes] file:%s ./' % tmp_path)


def test_readable_by_others_follows_every_parent(tmp_path):
    repo = tmp_path / 'outer' / 'repo'
    repo.mkdir(parents=True)
    for directory in (tmp_path, tmp_path / 'outer', repo):
        directory.chmod(0o755)
    assert aptrepo.readable_by_others('/')
    (tmp_path / 'outer').chmod(0o700)
    try:
        assert not aptrepo.readable_by_others(repo)
    finally:
        (tmp_path / 'outer').chmod(0o755)
    assert 'APT::Sandbox::User "root";' in aptrepo.SANDBOX_AS_ROOT


def test_namespace_tag_keeps_labs_of_two_checkouts_apart(monkeypatch):
    monkeypatch.delenv(plan.NS_TAG_ENV, raising=False)
    assert plan.node_namespace('demo', 1) == 'vmlab-demo-node1'
    monkeypatch.setenv(plan.NS_TAG_ENV, 'wt2')
    assert plan.node_namespace('demo', 1) == 'vmlab-wt2-demo-node1'
    assert plan.controller_namespace('demo') == 'vmlab-wt2-demo-ctl'
    monkeypatch.setenv(plan.NS_TAG_ENV, 'Bad tag')
    with pytest.raises(ValueError, match=plan.NS_TAG_ENV):
        plan.namespace_prefix('demo')


def test_lsb_headers_place_a_script_before_or_after_networking():
    header = plan.lsb_header('#!/bin/sh\n### BEGIN INIT INFO\n# Provides:          early\n# Required-Start:    $local_fs\n'
                             '# X-Start-Before:    networking openvswitch-switch\n# Default-Start:     S\n### END INIT INFO\n'
                             '# X-Start-Before: not-in-the-header\n')
    assert header == {'Provides': 'early', 'Required-Start': '$local_fs', 'X-Start-Before': 'networking openvswitch-switch',
                      'Default-Start': 'S'}
    assert plan.starts_before_networking(header)
    assert plan.starts_before_networking({'X-Start-Before': '$network'})
    assert not plan.starts_before_networking({'Required-Start': '$network'})
    assert not plan.starts_before_networking(plan.lsb_header('#!/bin/sh\necho no header\n'))
