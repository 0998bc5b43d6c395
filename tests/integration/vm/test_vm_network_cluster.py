"""vm_network and vm_network_info through ansible-playbook against the kubeapi emulator."""
import hashlib
import json

from vm_playbook import ROOT, bridge_world, kubevirt_cr, namespace, run_tasks

KV = ('kubevirt.io/v1', 'VirtualMachine')
MOD = 'vmnet.kubevirt.vm_network'
INFO = 'vmnet.kubevirt.vm_network_info'
BACK_IF = 'pod' + hashlib.sha256(b'back').hexdigest()[:11]  # KubeVirt's pod interface name for the network "back"
TWO_NICS = [{'name': 'front', 'multus_cr': 'kube-system/ovs-vlan30', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['v30']}},
            {'name': 'back', 'multus_cr': 'kube-system/ovs-vlan40', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['v40']}}]


def vm_writes(kubeapi):
    return [w for w in kubeapi.writes() if w['resource'] == 'virtualmachines']


def module_writes(kubeapi):
    """Non-dry-run writes, leaving out the test's own set-up (its field manager is lab-fixture)."""
    return [w for w in kubeapi.writes() if w.get('field_manager') != 'lab-fixture']


def test_masquerade_on_a_cluster_without_spiderpool(tmp_path):
    """Masquerade needs only KubeVirt: whatever CNI (Calico, Cilium, Flannel) serves the pod network."""
    from lab.kubeapi.fixtures import start_kubeapi
    import yaml
    with start_kubeapi(tmp_path / 'api', crds='none') as api:
        for crd in ('kubevirt-virtualmachines.yaml', 'kubevirt-virtualmachineinstances.yaml'):  # KubeVirt only: no Multus, no Spiderpool
            api.apply(yaml.safe_load((ROOT / 'lab' / 'kubeapi' / 'crds' / 'common' / crd).read_text()))
        api.apply(namespace('vms'))
        args = {'name': 'web1', 'namespace': 'vms', 'ports': [{'port': 22}], 'disk': {'image': 'quay.io/containerdisks/fedora:41'}}
        (first, second), _out = run_tasks(tmp_path, [(MOD, args), (MOD, args)], env=api.env())
        assert first['changed'] is True and first['vms'][0]['action'] == 'created', first
        assert second['changed'] is False and second['vms'][0]['action'] == 'unchanged', second
        stored = api.get(*KV, name='web1', namespace='vms')
        iface = stored['spec']['template']['spec']['domain']['devices']['interfaces'][0]
        assert iface['masquerade'] == {} and stored['spec']['template']['spec']['networks'] == [{'name': 'default', 'pod': {}}]
        assert stored['spec']['runStrategy'] == 'Always' and 'running' not in stored['spec']
        assert first['vms'][0]['live_migratable'] is True
        # bridge mode on that cluster fails in preflight, writing nothing
        api.clear_requests()
        bad = {'name': 'db1', 'namespace': 'vms', 'network_mode': 'bridge', 'nics': [{'name': 'a', 'multus_cr': 'kube-system/ovs'}]}
        (result,), _out = run_tasks(tmp_path, [(MOD, bad)], env=api.env(), name='bad')
        assert result['failed'] and 'needs Spiderpool' in result['msg']
        assert api.writes() == []


def test_bridge_one_nic_default_pool_then_idempotent_with_server_defaults(kubeapi, tmp_path):
    bridge_world(kubeapi)
    kubeapi.simulate('vm-vmi')  # the emulated KubeVirt adds status and a VMI: the re-run must still be unchanged
    args = {'name': 'db1', 'namespace': 'vms', 'network_mode': 'bridge', 'nics': [{'name': 'ovs30', 'multus_cr': 'kube-system/ovs-vlan30'}],
            'wait': True, 'wait_timeout': 30}
    halted = {'name': 'off1', 'namespace': 'vms', 'run_strategy': 'Halted', 'wait': True, 'wait_timeout': 30}
    (first, second, info, stopped), _out = run_tasks(
        tmp_path, [(MOD, args), (MOD, args), (INFO, {'name': 'db1', 'namespace': 'vms'}), (MOD, halted)], env=kubeapi.env())
    assert first['vms'][0]['action'] == 'created' and first['changed'] is True
    assert second['changed'] is False, second
    stored = kubeapi.get(*KV, name='db1', namespace='vms')
    expected = [{'name': 'ovs30', 'multus': {'networkName': 'kube-system/ovs-vlan30', 'default': True}}]
    assert stored['spec']['template']['spec']['networks'] == expected
    assert 'ipam.spidernet.io/ippools' not in (stored['spec']['template']['metadata'].get('annotations') or {})
    assert first['vms'][0]['nics'][0]['ip_pools'] == {'ipv4': ['v30']}  # the CR's default pool, read by preflight
    assert [w['verb'] for w in vm_writes(kubeapi)] == ['patch', 'patch']  # db1 once (the re-run wrote nothing), then off1
    assert set(w['content_type'] for w in vm_writes(kubeapi)) == {'application/apply-patch+yaml'}
    view = info['vms'][0]
    assert view['network_mode'] == 'bridge' and view['nics'][0]['mac_address'] == first['vms'][0]['nics'][0]['mac_address']
    assert view['nics'][0]['use_default_ip_pool'] is True and view['nics'][0]['ip_pools'] == {'ipv4': ['v30']}  # the CR's default
    assert view['printable_status'] == 'Running' and view['ready'] is True
    assert not stopped.get('failed') and stopped['vms'][0]['action'] == 'created'  # wait for a Halted VM means Stopped


def test_bridge_batch_with_manual_pools_check_mode_diff_and_rerun(kubeapi, tmp_path):
    bridge_world(kubeapi)
    args = {'namespace': 'vms', 'network_mode': 'bridge', 'live_migration': 'ignore', 'nics': TWO_NICS,
            'vms': [{'name': 'app%d' % i} for i in range(6)]}
    (checked,), out = run_tasks(tmp_path, [(MOD, args)], env=kubeapi.env(), check=True, diff=True, name='check')
    assert checked['changed'] is True and [v['action'] for v in checked['vms']] == ['created'] * 6
    assert module_writes(kubeapi) == []
    assert any(r['dry_run'] for r in kubeapi.requests() if r['verb'] == 'patch')
    assert 'app3' in out  # diff shown per VM
    kubeapi.clear_requests()
    (first,), _out = run_tasks(tmp_path, [(MOD, args)], env=kubeapi.env(), name='first')
    assert first['changed'] is True and len(vm_writes(kubeapi)) == 6
    stored = kubeapi.get(*KV, name='app5', namespace='vms')
    annotation = stored['spec']['template']['metadata']['annotations']['ipam.spidernet.io/ippools']
    assert json.loads(annotation) == [{'interface': 'eth0', 'ipv4': ['v30']}, {'interface': BACK_IF, 'ipv4': ['v40']}]
    kubeapi.clear_requests()
    (again,), _out = run_tasks(tmp_path, [(MOD, args)], env=kubeapi.env(), name='again')
    assert again['changed'] is False and module_writes(kubeapi) == []
    reads = [r for r in kubeapi.requests() if r['resource'] == 'virtualmachines']
    assert [r['verb'] for r in reads] == ['list']  # one LIST for the whole batch, no GET per VM
    pool_reads = [r for r in kubeapi.requests() if r['resource'] == 'spiderippools']
    assert [r['verb'] for r in pool_reads] == ['list']


def test_nic_add_then_remove_on_a_live_vm(kubeapi, tmp_path):
    bridge_world(kubeapi)
    kubeapi.apply(namespace('kubevirt'))
    kubevirt_cr(kubeapi)
    kubeapi.simulate('vm-vmi')
    kubeapi.simulate('spiderpool-ipam')
    base = {'name': 'app', 'namespace': 'vms', 'network_mode': 'bridge', 'nics': TWO_NICS[:1], 'cloud_init': {'enabled': False}}
    grown = dict(base, nics=TWO_NICS)
    info = (INFO, {'namespace': 'vms'})
    (created, added, seen), _out = run_tasks(tmp_path, [(MOD, base), (MOD, grown), info], env=kubeapi.env())
    assert created['vms'][0]['action'] == 'created' and [n['takes_effect'] for n in created['vms'][0]['nics']] == ['at_start']
    annotations = kubeapi.get(*KV, name='app', namespace='vms')['spec']['template']['metadata']['annotations']
    expected = [{'interface': 'eth0', 'ipv4': ['v30']}, {'interface': BACK_IF, 'ipv4': ['v40']}]
    assert json.loads(annotations['ipam.spidernet.io/ippools']) == expected
    # The running VMI keeps the pools annotation it started with (KubeVirt never copies template annotations onto it), which
    # does not name the new NIC's pod interface: Spiderpool refuses the migration target, so the NIC waits for the next start,
    # and vm_network says so instead of reporting the new pools as in force.
    result = added['vms'][0]
    assert result['action'] == 'updated' and [n['takes_effect'] for n in result['nics']] == ['in_force', 'next_start']
    assert any('does not give pod interface %s' % BACK_IF in w for w in result['warnings'])
    assert any('ipam.spidernet.io/ippools annotation reaches the pod at the next start' in p for p in result['pending_changes'])
    view = seen['vms'][0]
    assert [(n['name'], n['ip_addresses']) for n in view['nics']] == [('front', ['10.30.1.1']), ('back', [])]
    events = kubeapi.http('GET', '/api/v1/namespaces/vms/events')[1]['items']
    assert any('interface %s must be specified' % BACK_IF in e['message'] for e in events)
    # the next start makes a new VMI from the template: both NICs, each from its own pools, the first one's IP kept
    status, _body = kubeapi.http('PUT', '/apis/subresources.kubevirt.io/v1/namespaces/vms/virtualmachines/app/restart')
    assert status == 202
    (restarted, same, removed, removed_again), _out = run_tasks(tmp_path, [info, (MOD, grown), (MOD, base), (MOD, base)],
                                                                env=kubeapi.env(), name='restarted')
    assert [(n['name'], n['ip_addresses']) for n in restarted['vms'][0]['nics']] == [('front', ['10.30.1.1']), ('back', ['10.40.1.1'])]
    assert same['changed'] is False and [n['takes_effect'] for n in same['vms'][0]['nics']] == ['in_force', 'in_force']
    assert [(n['name'], n['ip_pools']) for n in restarted['vms'][0]['nics']] == [('front', {'ipv4': ['v30']}), ('back', {'ipv4': ['v40']})]
    # unplug: state absent, hot-unplugged by a migration, then KubeVirt drops the NIC from the template itself
    assert removed['vms'][0]['action'] == 'updated' and [n['state'] for n in removed['vms'][0]['nics']] == ['up', 'absent']
    assert [n['takes_effect'] for n in removed['vms'][0]['nics']] == ['in_force', 'hotplug']
    assert removed_again['changed'] is False
    stored = kubeapi.get(*KV, name='app', namespace='vms')
    ifaces = stored['spec']['template']['spec']['domain']['devices']['interfaces']
    assert [(i['name'], i.get('state')) for i in ifaces] == [('front', None)]
    assert ifaces[0]['macAddress'] == created['vms'][0]['nics'][0]['mac_address']  # the MAC of the kept NIC never changed
    vmi = kubeapi.get('kubevirt.io/v1', 'VirtualMachineInstance', 'app', 'vms')
    assert [i['name'] for i in vmi['status']['interfaces']] == ['front']
    # back to the CR's default pool: the pools annotation is removed (merge patch with null); the kept IP is from v30,
    # the CR's default pool, so Spiderpool's binding allows it
    on_default = dict(base, nics=[{'name': 'front', 'multus_cr': 'kube-system/ovs-vlan30'}])
    (switched,), _out = run_tasks(tmp_path, [(MOD, on_default)], env=kubeapi.env(), name='default')
    assert switched['vms'][0]['action'] == 'updated', switched.get('msg')
    template = kubeapi.get(*KV, name='app', namespace='vms')['spec']['template']
    assert 'ipam.spidernet.io/ippools' not in (template['metadata'].get('annotations') or {})


def test_a_nic_moved_to_another_pool_is_refused_while_spiderpool_keeps_its_address(kubeapi, tmp_path):
    bridge_world(kubeapi)
    kubeapi.simulate('vm-vmi')
    kubeapi.simulate('spiderpool-ipam')
    base = {'name': 'app', 'namespace': 'vms', 'network_mode': 'bridge', 'nics': TWO_NICS, 'cloud_init': {'enabled': False}}
    moved = dict(base, nics=[TWO_NICS[0], dict(TWO_NICS[1], multus_cr='kube-system/ovs-vlan30', ip_pools={'ipv4': ['v30']})])
    dropped_first = dict(base, nics=TWO_NICS[1:])
    (created, refused, refused_too), _out = run_tasks(tmp_path, [(MOD, base), (MOD, moved), (MOD, dropped_first)], env=kubeapi.env())
    assert created['vms'][0]['action'] == 'created'
    kubeapi.clear_requests()
    assert refused['failed'] and 'nothing was written' in refused['msg']
    assert "nics[1].name: 'back' would get 10.40.1.1 again" in refused['msg'] and 'SpiderEndpoint vms/app' in refused['msg']
    assert "'back' would get 10.30.1.1: it becomes pod interface eth0" in refused_too['msg']
    assert module_writes(kubeapi) == []
    stored = kubeapi.get(*KV, name='app', namespace='vms')
    assert [n['multus']['networkName'] for n in stored['spec']['template']['spec']['networks']] == ['kube-system/ovs-vlan30',
                                                                                                    'kube-system/ovs-vlan40']
    # one of the ways the message names: delete and recreate the VM, so Spiderpool releases what it kept
    (deleted, recreated, seen), _out = run_tasks(tmp_path, [(MOD, dict(base, state='absent')), (MOD, moved), (INFO, {'namespace': 'vms'})],
                                                 env=kubeapi.env(), name='redo')
    assert deleted['vms'][0]['action'] == 'deleted' and recreated['vms'][0]['action'] == 'created', recreated.get('msg')
    assert [(n['name'], n['allocated_from']) for n in seen['vms'][0]['nics']] == [('front', {'ipv4': 'v30'}), ('back', {'ipv4': 'v30'})]


def test_preflight_reports_every_problem_and_writes_nothing(kubeapi, tmp_path):
    bridge_world(kubeapi, size=3)
    kubeapi.apply({'apiVersion': 'spiderpool.spidernet.io/v2beta1', 'kind': 'SpiderIPPool', 'metadata': {'name': 'off'},
                   'spec': {'subnet': '10.50.0.0/24', 'ips': ['10.50.0.10'], 'disable': True}})
    kubeapi.clear_requests()
    args = {'namespace': 'vms', 'network_mode': 'bridge', 'nics': TWO_NICS, 'vms': [{'name': 'v%d' % i} for i in range(4)] + [
        {'name': 'odd', 'nics': [{'name': 'x', 'multus_cr': 'kube-system/nope'},
                                 {'name': 'y', 'multus_cr': 'kube-system/ovs-vlan40', 'use_default_ip_pool': False,
                                  'ip_pools': {'ipv4': ['off', 'missing']}}]}]}
    (result,), _out = run_tasks(tmp_path, [(MOD, args)], env=kubeapi.env())
    assert result['failed'] is True
    text = '\n'.join(result['problems'])
    assert "vms[4].nics[0].multus_cr: 'kube-system/nope' does not exist" in text
    assert "vms[4].nics[1].ip_pools.ipv4[0]: 'off' is disabled" in text
    assert "vms[4].nics[1].ip_pools.ipv4[1]: 'missing' does not exist" in text
    assert "['v30'] have no free IP left for 1 NIC(s)" in text and "['v40'] have no free IP left for 1 NIC(s)" in text
    assert module_writes(kubeapi) == []


def pvc(name, modes):
    return {'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim', 'metadata': {'name': name, 'namespace': 'vms'},
            'spec': {'accessModes': modes, 'resources': {'requests': {'storage': '10Gi'}}}}


def test_required_live_migration_blocked_fails_before_writing(kubeapi, tmp_path):
    kubeapi.apply(namespace('vms'))
    kubeapi.apply(pvc('root-rwo', ['ReadWriteOnce']))
    kubeapi.apply(pvc('root-rwx', ['ReadWriteMany']))
    kubeapi.clear_requests()
    args = {'name': 'web', 'namespace': 'vms', 'live_migration': 'required',
            'disk': {'source_url': 'docker://quay.io/containerdisks/fedora:41', 'size': '10Gi', 'access_modes': ['ReadWriteOnce']}}
    on_rwo = dict(args, disk={'claim_name': 'root-rwo'})
    on_rwx = dict(args, disk={'claim_name': 'root-rwx'}, render_only=False)
    (dv_rwo, pvc_rwo), _out = run_tasks(tmp_path, [(MOD, args), (MOD, on_rwo)], env=kubeapi.env())
    assert dv_rwo['failed'] and 'live_migration' in dv_rwo['msg'] and 'ReadWriteMany' in dv_rwo['msg']
    assert pvc_rwo['failed'] and 'root-rwo is ReadWriteOnce' in pvc_rwo['msg']  # read from the cluster by preflight
    assert module_writes(kubeapi) == []
    (ok,), _out = run_tasks(tmp_path, [(MOD, on_rwx)], env=kubeapi.env(), name='rwx')
    assert not ok.get('failed') and ok['vms'][0]['live_migratable'] is True and ok['vms'][0]['live_migration_notes'] == []


def test_state_absent_deletes_once(kubeapi, tmp_path):
    kubeapi.apply(namespace('vms'))
    args = {'name': 'web', 'namespace': 'vms'}
    (made, gone, gone_again), _out = run_tasks(tmp_path, [(MOD, args), (MOD, dict(args, state='absent')), (MOD, dict(args, state='absent'))],
                                               env=kubeapi.env())
    assert made['changed'] and gone['changed'] and gone['vms'][0]['action'] == 'deleted'
    assert gone_again['changed'] is False and gone_again['vms'][0]['action'] == 'absent'
    assert kubeapi.get(*KV, name='web', namespace='vms') is None


def test_render_only_needs_no_cluster_and_no_kubeconfig(tmp_path):
    import os
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('K8S_AUTH', 'KUBECONFIG')))
    env['HOME'] = str(tmp_path)  # no ~/.kube/config either
    args = {'name': 'db1', 'namespace': 'vms', 'network_mode': 'bridge', 'render_only': True, 'nics': TWO_NICS}
    (result,), _out = run_tasks(tmp_path, [(MOD, args)], env=env)
    assert not result.get('failed'), result
    assert result['vms'][0]['manifest']['kind'] == 'VirtualMachine' and result['vms'][0]['action'] == 'rendered'


def test_injected_faults_during_bulk_apply_converge_without_duplicates(kubeapi, tmp_path):
    bridge_world(kubeapi)
    names = ['f%d' % i for i in range(5)]
    # one after the other on the VM applies: 500, 503 (Retry-After 1), 429 (Retry-After 0), a lost answer, 502
    for status, retry_after, drop in ((500, None, None), (503, 1, None), (429, 0, None), (None, None, 'after'), (502, None, None)):
        kubeapi.inject(status=status, verb='patch', resource='virtualmachines', retry_after=retry_after, drop=drop)
    kubeapi.inject(status=500, verb='list', resource='spiderippools', count=1)
    args = {'namespace': 'vms', 'network_mode': 'bridge', 'live_migration': 'ignore', 'nics': TWO_NICS, 'vms': [{'name': n} for n in names]}
    (result,), _out = run_tasks(tmp_path, [(MOD, args)], env=kubeapi.env())
    assert not result.get('failed'), result.get('msg')
    assert result['api_retries'] == 6  # 500, 503, 429, the lost answer and 502 on applies, 500 on the pool LIST
    assert [f for f in kubeapi.faults() if f.get('verb') == 'patch'] == []  # every injected fault was hit
    assert [v['changed'] for v in result['vms']] == [True] * 5  # the VM whose answer was lost too
    stored = kubeapi.client().resources.get(api_version='kubevirt.io/v1', kind='VirtualMachine').get(namespace='vms').to_dict()['items']
    assert sorted(vm['metadata']['name'] for vm in stored) == names
    applied = [w for w in kubeapi.writes() if w['resource'] == 'virtualmachines' and w['verb'] == 'patch' and 200 <= w['status'] < 300]
    assert len(applied) == 5  # one answer per VM (the lost one's retry found it applied)


def test_persistent_fault_on_one_vm_is_reported_per_vm_and_a_rerun_converges(kubeapi, tmp_path):
    bridge_world(kubeapi)
    kubeapi.apply(namespace('vms2'))
    kubeapi.inject(status=503, verb='patch', resource='virtualmachines', namespace='vms2', count=100)
    args = {'namespace': 'vms', 'network_mode': 'bridge', 'live_migration': 'ignore', 'nics': TWO_NICS,
            'vms': [{'name': 'f0'}, {'name': 'f1'}, {'name': 'f2', 'namespace': 'vms2'}, {'name': 'f3'}]}
    (result,), _out = run_tasks(tmp_path, [(MOD, args)], env=kubeapi.env(), name='faulty')
    assert result['failed'] is True and '1 of 4 VM(s) failed' in result['msg']
    by_name = dict((v['name'], v) for v in result['vms'])
    assert by_name['f2']['failed'] and 'gave up after' in by_name['f2']['msg'] and 'vms2/f2' in by_name['f2']['msg']
    assert [by_name[n]['action'] for n in ('f0', 'f1', 'f3')] == ['created'] * 3
    kubeapi.clear_faults()
    (rerun,), _out = run_tasks(tmp_path, [(MOD, args)], env=kubeapi.env(), name='rerun')
    assert [v['action'] for v in rerun['vms']] == ['unchanged', 'unchanged', 'created', 'unchanged']


def _invalid_cases():
    import importlib.util
    spec = importlib.util.spec_from_file_location('vm_cases', ROOT / 'tests' / 'unit' / 'vm' / 'vm_invalid_cases.py')
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)
    return cases.INVALID


def test_invalid_inputs_fail_before_any_write_in_the_request_log(kubeapi):
    """All invalid cases through the module's flow with a real client on the emulator (in-process: fast)."""
    from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi
    from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_run import run
    kubeapi.apply(namespace('vms'))
    kubeapi.clear_requests()
    invalid = _invalid_cases()
    assert len(invalid) >= 30
    for params, field, value, rule in invalid:
        result = run(dict(params), lambda: KubeApi.from_params({'kubeconfig': kubeapi.kubeconfig}))
        assert result['failed'] is True
        assert any(p.startswith(field + ': ') and value in p and rule in p for p in result['problems']), (field, result['problems'])
    assert module_writes(kubeapi) == []


def test_invalid_inputs_through_ansible_playbook(kubeapi, tmp_path):
    """A sample through real ansible-playbook, including ones Ansible's own argument spec rejects."""
    kubeapi.apply(namespace('vms'))
    kubeapi.clear_requests()
    fields = ('name', 'network_mode', 'ports[0].port', 'nics[0].multus_cr', 'vms[1].nics[0].mac_address', 'spec')
    picked = [case for case in _invalid_cases() if case[1] in fields]
    results, _out = run_tasks(tmp_path, [(MOD, params) for params, _f, _v, _r in picked], env=kubeapi.env())
    assert len(results) >= 8
    for (params, field, _value, _rule), result in zip(picked, results):
        assert result.get('failed') is True, (params, result)
        assert field.split('.')[-1].split('[')[0] in result['msg'], (field, result['msg'])
    assert module_writes(kubeapi) == []


def test_a_warning_that_holds_for_every_vm_of_a_task_is_shown_once_naming_them(kubeapi, tmp_path):
    """Bridge VMs without dns servers each get the cluster-DNS warning in their own result; the task shows it
    once, not once a VM (1,000 VMs used to print 1,000 lines, and Ansible spent 0.8 ms decoding each)."""
    bridge_world(kubeapi)
    args = {'namespace': 'vms', 'network_mode': 'bridge', 'nics': TWO_NICS[:1],
            'vms': [{'name': name} for name in ('a', 'b', 'c', 'd')]}
    (result,), out = run_tasks(tmp_path, [(MOD, args)], env=kubeapi.env(), with_stderr=True)
    assert result['changed'] is True and [vm['action'] for vm in result['vms']] == ['created'] * 4, result
    assert all(any('cluster DNS Service IP' in w for w in vm['warnings']) for vm in result['vms'])
    shown = ' '.join(out.split())
    assert shown.count('cluster DNS Service IP') == 1, out
    assert 'vms/a, vms/b, vms/c and 1 more: the guest' in shown, out


def test_return_manifests_false_writes_the_same_vms_and_leaves_only_the_manifests_out(kubeapi, tmp_path):
    bridge_world(kubeapi)
    lean = {'namespace': 'vms', 'network_mode': 'bridge', 'nics': TWO_NICS, 'return_manifests': False,
            'dns': {'servers': ['10.0.0.53']}, 'vms': [{'name': 'lean1'}, {'name': 'lean2'}]}
    full = dict(lean, return_manifests=True, vms=[{'name': 'full1'}])
    (made, again, shown), _out = run_tasks(tmp_path, [(MOD, lean), (MOD, lean), (MOD, full)], env=kubeapi.env())
    assert made['changed'] is True and [vm['action'] for vm in made['vms']] == ['created', 'created'], made
    assert again['changed'] is False and [vm['action'] for vm in again['vms']] == ['unchanged', 'unchanged'], again
    assert all('manifest' not in vm for vm in made['vms'] + again['vms'])
    assert set(shown['vms'][0]) - set(made['vms'][0]) == {'manifest'}  # everything else stays, NICs included
    assert [nic['name'] for nic in made['vms'][0]['nics']] == ['front', 'back'] and made['vms'][0]['nics'][0]['mac_address']
    stored = kubeapi.get(*KV, name='lean1', namespace='vms')['spec']
    rendered = shown['vms'][0]['manifest']['spec']
    assert stored['template']['spec']['networks'] == rendered['template']['spec']['networks']
