"""Controller simulations: off by default, switched on by name, output as upstream-facts.md describes."""
import json

import pytest

from lab.kubeapi.fixtures import KubeApiError

SP = 'spiderpool.spidernet.io/v2beta1'
NAD = 'k8s.cni.cncf.io/v1'
KV = 'kubevirt.io/v1'


def smc(name, namespace='kube-system', annotations=None, **ovs):
    return {'apiVersion': SP, 'kind': 'SpiderMultusConfig',
            'metadata': {'name': name, 'namespace': namespace, 'annotations': annotations or {}},
            'spec': {'cniType': 'ovs', 'ovs': dict(bridge='br1', **ovs)}}


def test_simulations_are_off_by_default(kubeapi):
    state = kubeapi.simulate('ippool-status', on=False)
    assert state['active'] == [] and state['known'] == ['ippool-status', 'spidermultusconfig-nad', 'vm-vmi']
    kubeapi.apply(smc('ovs-vlan30', vlan=30))
    assert kubeapi.get(NAD, 'NetworkAttachmentDefinition', 'ovs-vlan30', 'kube-system') is None
    with pytest.raises(KubeApiError):
        kubeapi.simulate('no-such-simulation')


def test_spidermultusconfig_generates_the_nad(kubeapi):
    kubeapi.simulate('spidermultusconfig-nad')
    created = kubeapi.apply(smc('ovs-vlan30', vlan=30, ippools={'ipv4': ['vlan30-v4']}))
    nad = kubeapi.get(NAD, 'NetworkAttachmentDefinition', 'ovs-vlan30', 'kube-system')
    assert nad['spec']['config'] == (
        '{"cniVersion":"0.3.1","name":"ovs-vlan30","plugins":[{"vlan":30,"type":"ovs","bridge":"br1",'
        '"ipam":{"type":"spiderpool","default_ipv4_ippool":["vlan30-v4"]}},'
        '{"tunePodRoutes":true,"mode":"auto","type":"coordinator"}]}')
    owner, = nad['metadata']['ownerReferences']
    assert owner == {'apiVersion': SP, 'kind': 'SpiderMultusConfig', 'name': 'ovs-vlan30',
                     'uid': created['metadata']['uid'], 'controller': True, 'blockOwnerDeletion': True}
    kubeapi.delete(SP, 'SpiderMultusConfig', 'ovs-vlan30', 'kube-system')
    assert kubeapi.get(NAD, 'NetworkAttachmentDefinition', 'ovs-vlan30', 'kube-system') is None


def test_nad_name_annotations_vlan_default_and_device_id(kubeapi):
    kubeapi.simulate('spidermultusconfig-nad')
    annotations = {'multus.spidernet.io/cr-name': 'custom-nad', 'multus.spidernet.io/cni-version': '1.0.0',
                   'example.com/note': 'copied'}
    kubeapi.apply(smc('smc1', namespace='default', annotations=annotations, deviceID='0000:01:00.1'))
    nad = kubeapi.get(NAD, 'NetworkAttachmentDefinition', 'custom-nad', 'default')
    config = json.loads(nad['spec']['config'])
    assert config['cniVersion'] == '1.0.0' and config['name'] == 'custom-nad'
    assert config['plugins'][0] == {'vlan': 0, 'type': 'ovs', 'bridge': 'br1', 'deviceID': '0000:01:00.1',
                                    'ipam': {'type': 'spiderpool'}}
    assert nad['metadata']['annotations']['example.com/note'] == 'copied'
    assert nad['metadata']['annotations']['k8s.v1.cni.cncf.io/resourceName'] == 'ovs-cni.network.kubevirt.io/br1'


def test_existing_nad_owned_by_another_smc_is_not_taken_over(kubeapi):
    kubeapi.simulate('spidermultusconfig-nad')
    first = kubeapi.apply(smc('first', namespace='default', annotations={'multus.spidernet.io/cr-name': 'shared'}))
    kubeapi.apply(smc('second', namespace='default', annotations={'multus.spidernet.io/cr-name': 'shared'}, vlan=5))
    nad = kubeapi.get(NAD, 'NetworkAttachmentDefinition', 'shared', 'default')
    assert nad['metadata']['ownerReferences'][0]['uid'] == first['metadata']['uid']
    assert json.loads(nad['spec']['config'])['plugins'][0]['vlan'] == 0


def test_ippool_status_counters(kubeapi):
    kubeapi.simulate('ippool-status')
    kubeapi.apply({'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': 'p'},
                   'spec': {'subnet': '10.40.0.0/24', 'ips': ['10.40.0.10-10.40.0.20', '10.40.0.30'],
                            'excludeIPs': ['10.40.0.15', '10.40.0.99']}})
    status = kubeapi.get(SP, 'SpiderIPPool', 'p')['status']
    assert status == {'totalIPCount': 11, 'allocatedIPCount': 0}
    kubeapi.http('PATCH', '/apis/%s/spiderippools/p' % SP, {'spec': {'excludeIPs': []}},
                 content_type='application/merge-patch+json')
    assert kubeapi.get(SP, 'SpiderIPPool', 'p')['status']['totalIPCount'] == 12


def vm(name, run_strategy, annotations=None):
    return {'apiVersion': KV, 'kind': 'VirtualMachine', 'metadata': {'name': name, 'namespace': 'default'},
            'spec': {'runStrategy': run_strategy, 'template': {
                'metadata': {'annotations': annotations or {}},
                'spec': {'domain': {'devices': {'interfaces': [{'name': 'default', 'masquerade': {}},
                                                               {'name': 'ovs1', 'bridge': {}, 'macAddress': '02:aa:bb:cc:dd:ee'}]}},
                         'networks': [{'name': 'default', 'pod': {}},
                                      {'name': 'ovs1', 'multus': {'networkName': 'kube-system/ovs-vlan30'}}]}}}}


def test_running_vm_gets_a_vmi_with_interfaces_and_halting_removes_it(kubeapi):
    kubeapi.apply({'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': 'vlan30-v4'},
                   'spec': {'subnet': '10.50.0.0/24', 'ips': ['10.50.0.10-10.50.0.20'], 'excludeIPs': ['10.50.0.10']}})
    kubeapi.simulate('vm-vmi')
    kubeapi.apply(vm('vm1', 'Always', {'ipam.spidernet.io/ippools': json.dumps([{'ipv4': ['vlan30-v4']}])}))
    vmi = kubeapi.get(KV, 'VirtualMachineInstance', 'vm1', 'default')
    assert vmi['status']['phase'] == 'Running'
    interfaces = vmi['status']['interfaces']
    assert [i['name'] for i in interfaces] == ['default', 'ovs1']
    assert interfaces[0]['ipAddress'].startswith('10.244.')
    assert interfaces[1]['ipAddress'] == '10.50.0.11' and interfaces[1]['mac'] == '02:aa:bb:cc:dd:ee'
    assert kubeapi.get(KV, 'VirtualMachine', 'vm1', 'default')['status']['ready'] is True
    kubeapi.apply(vm('vm1', 'Halted'))
    assert kubeapi.get(KV, 'VirtualMachineInstance', 'vm1', 'default') is None
    assert kubeapi.get(KV, 'VirtualMachine', 'vm1', 'default')['status']['printableStatus'] == 'Stopped'


def test_reset_switches_simulations_off(kubeapi):
    kubeapi.simulate('vm-vmi')
    kubeapi.reset()
    assert kubeapi.simulate('vm-vmi', on=False)['active'] == []
    kubeapi.apply(vm('vm2', 'Always'))
    assert kubeapi.get(KV, 'VirtualMachineInstance', 'vm2', 'default') is None
