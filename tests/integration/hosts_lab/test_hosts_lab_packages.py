"""Nodes without Open vSwitch really lack it, and install it for real from the lab's apt repository."""
import subprocess

import pytest

pytestmark = [pytest.mark.lab_hosts, pytest.mark.slow]

INSTALL = '''\
- hosts: all
  gather_facts: false
  tasks:
    - name: Install Open vSwitch from the node's configured sources
      ansible.builtin.apt:
        name: openvswitch-switch
        state: present
        update_cache: true
    - name: Start it through its init script
      ansible.builtin.service:
        name: openvswitch-switch
        state: started
'''


def test_nodes_without_ovs_install_it_from_the_local_repository(make_host_lab, tmp_path):
    with make_host_lab(2, with_ovs=False) as own_lab:
        for node in own_lab.nodes:
            status = node.exec(['dpkg-query', '-W', '-f=${Status}', 'openvswitch-switch'], check=False)
            assert 'install ok installed' not in status.stdout
            assert node.exec(['test', '-e', '/usr/sbin/ovs-vswitchd'], check=False).returncode == 1
            assert node.network_state()['ovs'] is None
            sources = node.exec(['apt-get', 'indextargets', '--format', '$(SITE)']).stdout.split()
            assert sources and set(sources) == {'file:%s' % own_lab.apt_repo}
        refresh = own_lab.nodes[0].exec(['apt-get', 'update'])
        assert 'W:' not in refresh.stderr and 'Err:' not in refresh.stdout, refresh.stdout + refresh.stderr
        # The purge happened in the nodes' overlays only: the host keeps its Open vSwitch.
        assert 'install ok installed' in subprocess.run(['dpkg-query', '-W', '-f=${Status}', 'openvswitch-switch'],
                                                        capture_output=True, text=True, check=False).stdout
        playbook = tmp_path / 'install.yml'
        playbook.write_text(INSTALL)

        first = own_lab.run_playbook(playbook)
        assert first.rc == 0, first.stdout + first.stderr
        assert all(counts['changed'] == 2 and counts['failed'] == 0 for counts in first.recap.values()), first.recap
        for node in own_lab.nodes:
            assert 'install ok installed' in node.exec(['dpkg-query', '-W', '-f=${Status}', 'openvswitch-switch']).stdout
            assert node.network_state()['ovs'] == {}

        again = own_lab.run_playbook(playbook)
        assert again.rc == 0, again.stdout + again.stderr
        assert all(counts['changed'] == 0 for counts in again.recap.values()), again.recap

        # The installed package is on the node's disk: after a reboot its init script starts it.
        own_lab.reboot(2)
        assert own_lab.nodes[1].network_state()['ovs'] == {}
