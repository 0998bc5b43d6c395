"""vm_network under hostile input: secrets kept out of logs, results, diffs and the VM spec; removals applied;
hand-picked pools checked against the NIC's Multus CR; misspelt keys named with their entry."""
import base64
import contextlib
import importlib
import io
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from vm_playbook import bridge_world, ippool, namespace

KV = ('kubevirt.io/v1', 'VirtualMachine')
PASSWORD = 'Sup3r-S3cret!pw'
OWN_USER_DATA = '#cloud-config\nchpasswd:\n  list: |\n    root:Own-S3cret-Data\n'


def run_module(params, monkeypatch, check=False, diff=False):
    """vm_network's main() in this process, its invocation log line captured (what would reach syslog/journal)."""
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append((msg, log_args)))
    module = importlib.import_module('ansible_collections.vmnet.kubevirt.plugins.modules.vm_network')
    args = dict(params, _ansible_check_mode=check, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(out.getvalue()), json.dumps(logged)


def secret_of(kubeapi, name, ns='vms'):
    return kubeapi.get('v1', 'Secret', name, ns)


def test_a_password_in_a_vms_entry_reaches_no_log_result_diff_or_spec(kubeapi, monkeypatch):
    kubeapi.apply(namespace('vms'))
    params = {'kubeconfig': kubeapi.kubeconfig, 'namespace': 'vms', 'vms': [
        {'name': 'web1', 'cloud_init': {'user': 'fedora', 'password': PASSWORD}},
        {'name': 'web2', 'cloud_init': {'user_data': OWN_USER_DATA}}]}
    checked, log = run_module(params, monkeypatch, check=True, diff=True)
    assert checked['changed'] and PASSWORD not in json.dumps(checked) and 'Own-S3cret-Data' not in json.dumps(checked)
    assert PASSWORD not in log and 'Own-S3cret-Data' not in log
    assert secret_of(kubeapi, 'web1-cloudinit') is None and kubeapi.get(*KV, name='web1', namespace='vms') is None

    result, log = run_module(params, monkeypatch, diff=True)
    assert not result.get('failed'), result
    assert log and PASSWORD not in log and 'Own-S3cret-Data' not in log  # the invocation line was written, masked
    text = json.dumps(result)
    assert PASSWORD not in text and 'Own-S3cret-Data' not in text
    assert base64.b64encode(PASSWORD.encode()).decode()[:12] not in text  # nor base64 of it in the Secret's diff
    assert any(d['before_header'] == 'vms/web1-cloudinit (Secret)' for d in result['diff'])
    for name, secret_text in (('web1', PASSWORD), ('web2', 'Own-S3cret-Data')):
        vm = kubeapi.get(*KV, name=name, namespace='vms')
        assert secret_text not in json.dumps(vm)  # no plain spec field holds it
        volume = [v for v in vm['spec']['template']['spec']['volumes'] if 'cloudInitNoCloud' in v][0]['cloudInitNoCloud']
        assert volume['secretRef'] == {'name': name + '-cloudinit'} and 'networkData' in volume
        secret = secret_of(kubeapi, name + '-cloudinit')
        assert secret_text in base64.b64decode(secret['data']['userdata']).decode()
        assert secret['metadata']['ownerReferences'] == [{'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine', 'name': name,
                                                          'uid': vm['metadata']['uid']}]
    kubeapi.clear_requests()
    again, _log = run_module(params, monkeypatch)
    assert again['changed'] is False and [v['action'] for v in again['vms']] == ['unchanged', 'unchanged']
    assert kubeapi.writes() == []

    # inline on request: in the spec (the user's choice), still hidden in the result and the log; our Secret goes
    inline = dict(params, vms=[dict(params['vms'][0], cloud_init=dict(params['vms'][0]['cloud_init'], user_data_in='inline'))])
    moved, log = run_module(inline, monkeypatch, diff=True)
    assert moved['changed'] and PASSWORD not in json.dumps(moved) and PASSWORD not in log
    assert secret_of(kubeapi, 'web1-cloudinit') is None
    assert PASSWORD in json.dumps(kubeapi.get(*KV, name='web1', namespace='vms'))

    gone, _log = run_module(dict(params, vms=[{'name': 'web2', 'state': 'absent'}]), monkeypatch)
    assert gone['changed'] and kubeapi.get(*KV, name='web2', namespace='vms') is None
    assert secret_of(kubeapi, 'web2-cloudinit') is None  # garbage-collected with its owner


def test_a_foreign_secret_of_the_same_name_is_never_taken_over(kubeapi, monkeypatch):
    kubeapi.apply(namespace('vms'))
    kubeapi.apply({'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 'db1-cloudinit', 'namespace': 'vms'},
                   'data': {'token': base64.b64encode(b'not ours').decode()}})
    kubeapi.clear_requests()
    result, _log = run_module({'kubeconfig': kubeapi.kubeconfig, 'name': 'db1', 'namespace': 'vms',
                               'cloud_init': {'password': PASSWORD}}, monkeypatch)
    assert result['failed'] and 'Secret vms/db1-cloudinit, which exists and is not managed by vmnet.kubevirt' in result['msg']
    assert [w for w in kubeapi.writes() if w.get('field_manager') != 'lab-fixture'] == []


def test_removed_labels_and_annotations_leave_the_vm(kubeapi, monkeypatch):
    kubeapi.apply(namespace('vms'))
    base = {'kubeconfig': kubeapi.kubeconfig, 'name': 'web', 'namespace': 'vms'}
    run_module(dict(base, labels={'team': 'a', 'tier': 'web'}, annotations={'example.com/owner': 'ops'}), monkeypatch)
    trimmed, _log = run_module(dict(base, labels={'team': 'a'}), monkeypatch)
    assert trimmed['changed'] and trimmed['vms'][0]['action'] == 'updated'
    vm = kubeapi.get(*KV, name='web', namespace='vms')
    assert vm['metadata']['labels'] == {'team': 'a', 'app.kubernetes.io/managed-by': 'vmnet.kubevirt'}
    assert 'example.com/owner' not in (vm['metadata'].get('annotations') or {})
    assert 'tier' not in vm['spec']['template']['metadata']['labels']


def test_a_vm_update_whose_answer_was_lost_still_reports_changed(kubeapi, monkeypatch):
    kubeapi.apply(namespace('vms'))
    base = {'kubeconfig': kubeapi.kubeconfig, 'name': 'web', 'namespace': 'vms'}
    run_module(base, monkeypatch)
    kubeapi.inject(status=None, verb='patch', resource='virtualmachines', name='web', drop='after')
    result, _log = run_module(dict(base, memory='2Gi'), monkeypatch)
    assert result['changed'] and result['vms'][0]['action'] == 'updated' and result['api_retries'] == 1, result
    assert kubeapi.get(*KV, name='web', namespace='vms')['spec']['template']['spec']['domain']['memory'] == {'guest': '2Gi'}


def test_a_hand_picked_pool_from_another_vlan_fails_before_writing(kubeapi, monkeypatch):
    bridge_world(kubeapi)  # ovs-vlan30 has the default pool v30 (10.30.0.0/16)
    kubeapi.apply(ippool('v30-b', '10.30.0.0/16', ['10.30.2.1-10.30.2.9']))
    kubeapi.clear_requests()
    nic = {'name': 'front', 'multus_cr': 'kube-system/ovs-vlan30', 'use_default_ip_pool': False}
    base = {'kubeconfig': kubeapi.kubeconfig, 'name': 'app', 'namespace': 'vms', 'network_mode': 'bridge'}
    wrong, _log = run_module(dict(base, nics=[dict(nic, ip_pools={'ipv4': ['v40']})]), monkeypatch)
    assert wrong['failed'] and wrong['problems'] == [
        "nics[0].ip_pools.ipv4[0]: 'v40' has subnet 10.40.0.0/16, but Multus CR kube-system/ovs-vlan30 puts its NICs on 10.30.0.0/16 "
        "(its default ipv4 pools v30): the rule is that a pool picked by hand lies in the subnet of the NIC's Multus CR"]
    assert [w for w in kubeapi.writes() if w.get('field_manager') != 'lab-fixture'] == []
    right, _log = run_module(dict(base, nics=[dict(nic, ip_pools={'ipv4': ['v30-b']})]), monkeypatch)
    assert right['changed'], right


def test_misspelt_keys_in_entries_and_defaults_are_named(kubeapi, monkeypatch):
    kubeapi.apply(namespace('vms'))
    kubeapi.clear_requests()
    result, _log = run_module({'kubeconfig': kubeapi.kubeconfig, 'namespace': 'vms', 'defaults': {'memroy': '2Gi'},
                               'vms': [{'name': 'a'}, {'name': 'b', 'nics': [{'name': 'n', 'mac': '02:00:00:00:00:09'}],
                                                       'cloud_init': {'pasword': PASSWORD}}]}, monkeypatch)
    assert result['failed'] and result['problems'] == [
        'vms[1] (b).nics[0] (n): unknown option mac; the options allowed there are: ip_pools, mac_address, model, multus_cr, name, '
        'use_default_ip_pool',
        'vms[1] (b).cloud_init: unknown option pasword (did you mean password?); the options allowed there are: enabled, network_data, '
        'password, ssh_authorized_keys, user, user_data, user_data_in',
        'defaults: unknown option memroy (did you mean memory?); the options allowed there are: annotations, cloud_init, cpu_cores, '
        'disk, dns, labels, live_migration, memory, namespace, network_mode, nics, ports, run_strategy, spec, state'], result
    assert PASSWORD not in json.dumps(result)
    assert [w for w in kubeapi.writes() if w.get('field_manager') != 'lab-fixture'] == []
