"""Fixed IPs shown, not claimed: vm_network_info reads what Spiderpool keeps (the emulator's spiderpool-ipam simulation)."""
from vm_playbook import bridge_world, run_tasks

MOD = 'vmnet.kubevirt.vm_network'
INFO = ('vmnet.kubevirt.vm_network_info', {'namespace': 'vms'})
APP = {'name': 'app', 'network_mode': 'bridge', 'nics': [
    {'name': 'front', 'multus_cr': 'kube-system/ovs-vlan30', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['v30']}},
    {'name': 'back', 'multus_cr': 'kube-system/ovs-vlan40', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['v40']}}]}
DB = {'name': 'db', 'network_mode': 'bridge', 'nics': [{'name': 'lan', 'multus_cr': 'kube-system/ovs-vlan30'}]}


def by_name(info):
    return dict((vm['name'], dict((nic['name'], nic) for nic in vm['nics'])) for vm in info['vms'])


def usage(info):
    return dict((p['name'], (p['allocated_ip_count'], p['free_ip_count'], p['vms'])) for p in info['pools'])


def test_vm_network_info_shows_kept_ips_pool_usage_and_a_restart_with_the_same_ips(kubeapi, tmp_path):
    bridge_world(kubeapi, size=5)
    kubeapi.simulate('vm-vmi')
    kubeapi.simulate('spiderpool-ipam')
    batch = {'namespace': 'vms', 'wait': True, 'wait_timeout': 30, 'live_migration': 'ignore', 'vms': [DB, APP, {'name': 'web'}]}
    (created, info), _out = run_tasks(tmp_path, [(MOD, batch), INFO], env=kubeapi.env())
    assert created['changed'] is True and not created.get('failed'), created
    nics = by_name(info)
    # the default-pool NIC takes its address from the CR's default pool, hand-picked pools follow NIC order
    assert nics['db']['lan']['ip_addresses'] == ['10.30.1.1'] and nics['db']['lan']['allocated_from'] == {'ipv4': 'v30'}
    assert [nics['app'][n]['ip_addresses'] for n in ('front', 'back')] == [['10.30.1.2'], ['10.40.1.1']]
    assert all(nic['fixed_ip'] is True and nic['fixed_ip_addresses'] == nic['ip_addresses']
               for vm in ('db', 'app') for nic in nics[vm].values())
    assert nics['web']['default']['fixed_ip'] is False and nics['web']['default']['ip_addresses']  # masquerade: the pod's IP
    assert usage(info) == {'v30': (2, 3, ['vms/app', 'vms/db']), 'v40': (1, 4, ['vms/app'])}

    status, _body = kubeapi.http('PUT', '/apis/subresources.kubevirt.io/v1/namespaces/vms/virtualmachines/db/restart')
    assert status == 202
    halted = dict(APP, namespace='vms', run_strategy='Halted')
    (restarted, stop, stopped, delete, after), _out = run_tasks(
        tmp_path, [INFO, (MOD, halted), INFO, (MOD, {'name': 'app', 'namespace': 'vms', 'state': 'absent'}), INFO],
        env=kubeapi.env(), name='later')
    assert by_name(restarted)['db']['lan']['ip_addresses'] == ['10.30.1.1']
    assert stop['changed'] is True and delete['changed'] is True
    kept = by_name(stopped)['app']
    # stopped: no IP in the VMI status, but Spiderpool keeps them for the VM and the pools still count them
    assert [(kept[n]['ip_addresses'], kept[n]['fixed_ip'], kept[n]['fixed_ip_addresses']) for n in ('front', 'back')] == [
        ([], True, ['10.30.1.2']), ([], True, ['10.40.1.1'])]
    assert usage(stopped) == usage(info)
    assert usage(after) == {'v30': (1, 4, ['vms/db'])}  # deleting the VM released its IPs
