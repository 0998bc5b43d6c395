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
    assert state['active'] == []
    assert state['known'] == ['ippool-status', 'kubevirt-webhook', 'spidermultusconfig-nad', 'spiderpool-hooks', 'spiderpool-ipam',
                              'spiderpool-webhook', 'vm-vmi', 'workload-readiness']
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
    kubeapi.simulate('vm-vmi')
    kubeapi.apply(vm('vm1', 'Always', {'ipam.spidernet.io/ippools': json.dumps([{'ipv4': ['vlan30-v4']}])}))
    vmi = kubeapi.get(KV, 'VirtualMachineInstance', 'vm1', 'default')
    assert vmi['status']['phase'] == 'Running'
    interfaces = vmi['status']['interfaces']
    assert [i['name'] for i in interfaces] == ['default', 'ovs1']
    assert interfaces[0]['ipAddress'].startswith('10.244.')
    # without the spiderpool-ipam simulation nothing allocates from the pools: the Multus NIC has no IP
    assert 'ipAddress' not in interfaces[1] and interfaces[1]['mac'] == '02:aa:bb:cc:dd:ee'
    pods = kubeapi.client().resources.get(api_version='v1', kind='Pod').get(namespace='default').to_dict()['items']
    assert [p['metadata']['ownerReferences'][0]['uid'] for p in pods] == [vmi['metadata']['uid']]  # KubeVirt's launcher pod
    networks = json.loads(pods[0]['metadata']['annotations']['k8s.v1.cni.cncf.io/networks'])
    assert networks == [{'interface': interfaces[1]['podInterfaceName'], 'mac': '02:aa:bb:cc:dd:ee', 'name': 'ovs-vlan30',
                         'namespace': 'kube-system'}]
    assert kubeapi.get(KV, 'VirtualMachine', 'vm1', 'default')['status']['ready'] is True
    kubeapi.apply(vm('vm1', 'Halted'))
    assert kubeapi.get(KV, 'VirtualMachineInstance', 'vm1', 'default') is None
    assert kubeapi.get(KV, 'VirtualMachine', 'vm1', 'default')['status']['printableStatus'] == 'Stopped'
    assert kubeapi.client().resources.get(api_version='v1', kind='Pod').get(namespace='default').items == []


def _conditions(kubeapi, name):
    return {c['type']: c for c in kubeapi.get(KV, 'VirtualMachine', name, 'default')['status'].get('conditions') or []}


def _restart(kubeapi, name):
    status, _body = kubeapi.http('PUT', '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/%s/restart' % name)
    assert status == 202


def test_running_vmi_keeps_its_template_until_restart_and_restart_required_says_so(kubeapi):
    kubeapi.simulate('vm-vmi')
    kubeapi.apply(vm('life', 'Always', {'ipam.spidernet.io/ippools': '[{"ipv4":["a"]}]'}))
    started = kubeapi.get(KV, 'VirtualMachineInstance', 'life', 'default')
    # template metadata never reaches a running VMI, and is no reason to restart
    kubeapi.apply(vm('life', 'Always', {'ipam.spidernet.io/ippools': '[{"ipv4":["b"]}]'}))
    vmi = kubeapi.get(KV, 'VirtualMachineInstance', 'life', 'default')
    assert vmi['metadata']['annotations']['ipam.spidernet.io/ippools'] == '[{"ipv4":["a"]}]'
    assert vmi['spec'] == started['spec'] and 'RestartRequired' not in _conditions(kubeapi, 'life')
    # a non-live-updatable template change: RestartRequired, the VMI unchanged
    grown = vm('life', 'Always', {'ipam.spidernet.io/ippools': '[{"ipv4":["b"]}]'})
    grown['spec']['template']['spec']['domain']['devices']['interfaces'][1]['model'] = 'e1000'
    kubeapi.apply(grown)
    assert kubeapi.get(KV, 'VirtualMachineInstance', 'life', 'default')['spec'] == started['spec']
    condition = _conditions(kubeapi, 'life')['RestartRequired']
    assert condition['status'] == 'True' and 'non-live-updatable' in condition['message']
    # the restart makes a new VMI from the template: annotation and model in force, the condition gone
    _restart(kubeapi, 'life')
    vmi = kubeapi.get(KV, 'VirtualMachineInstance', 'life', 'default')
    assert vmi['metadata']['uid'] != started['metadata']['uid']
    assert vmi['metadata']['annotations']['ipam.spidernet.io/ippools'] == '[{"ipv4":["b"]}]'
    assert vmi['spec']['domain']['devices']['interfaces'][1]['model'] == 'e1000'
    assert 'RestartRequired' not in _conditions(kubeapi, 'life')


def test_nic_hotplug_reaches_the_vmi_by_migration_only_where_kubevirt_migrates(kubeapi):
    kubeapi.simulate('vm-vmi')
    kubeapi.apply(vm('hot', 'Always'))

    def pod_names():
        return sorted(p['metadata']['name'] for p in kubeapi.client().resources.get(
            api_version='v1', kind='Pod').get(namespace='default').to_dict()['items'])
    first_pod = pod_names()
    added = vm('hot', 'Always')
    added['spec']['template']['spec']['domain']['devices']['interfaces'].append({'name': 'ovs2', 'bridge': {}})
    added['spec']['template']['spec']['networks'].append({'name': 'ovs2', 'multus': {'networkName': 'kube-system/ovs-vlan40'}})
    kubeapi.apply(added)
    vmi = kubeapi.get(KV, 'VirtualMachineInstance', 'hot', 'default')
    assert [i['name'] for i in vmi['spec']['domain']['devices']['interfaces']] == ['default', 'ovs1', 'ovs2']
    assert [i['name'] for i in vmi['status']['interfaces']] == ['default', 'ovs1', 'ovs2']
    assert pod_names() != first_pod and 'RestartRequired' not in _conditions(kubeapi, 'hot')  # a new pod: the migration
    # unplug: absent in the template, then gone from the VMI and (KubeVirt's VM controller) from the template
    added['spec']['template']['spec']['domain']['devices']['interfaces'][2]['state'] = 'absent'
    kubeapi.apply(added)
    assert [i['name'] for i in kubeapi.get(KV, 'VirtualMachineInstance', 'hot', 'default')['status']['interfaces']] == ['default', 'ovs1']
    template = kubeapi.get(KV, 'VirtualMachine', 'hot', 'default')['spec']['template']['spec']
    assert [i['name'] for i in template['domain']['devices']['interfaces']] == ['default', 'ovs1']
    assert [n['name'] for n in template['networks']] == ['default', 'ovs1']
    # without LiveMigrate among the workload update methods nothing migrates: the NIC waits in the VMI spec
    kubeapi.apply({'apiVersion': KV, 'kind': 'KubeVirt', 'metadata': {'name': 'kubevirt', 'namespace': 'default'},
                   'spec': {'workloadUpdateStrategy': {'workloadUpdateMethods': []}}})
    pods_before = pod_names()
    added['spec']['template']['spec']['domain']['devices']['interfaces'][2].pop('state')
    kubeapi.apply(added)
    vmi = kubeapi.get(KV, 'VirtualMachineInstance', 'hot', 'default')
    assert [i['name'] for i in vmi['spec']['domain']['devices']['interfaces']] == ['default', 'ovs1', 'ovs2']
    assert [i['name'] for i in vmi['status']['interfaces']] == ['default', 'ovs1'] and pod_names() == pods_before
    # removing an interface outright (not absent) cannot be done live
    removed = vm('hot', 'Always')
    del removed['spec']['template']['spec']['domain']['devices']['interfaces'][1]
    del removed['spec']['template']['spec']['networks'][1]
    kubeapi.apply(removed)
    assert _conditions(kubeapi, 'hot')['RestartRequired']['status'] == 'True'


def test_reset_switches_simulations_off(kubeapi):
    kubeapi.simulate('vm-vmi')
    kubeapi.reset()
    assert kubeapi.simulate('vm-vmi', on=False)['active'] == []
    kubeapi.apply(vm('vm2', 'Always'))
    assert kubeapi.get(KV, 'VirtualMachineInstance', 'vm2', 'default') is None


def test_spiderpool_webhook_mutates_and_validates_pools(kubeapi):
    kubeapi.simulate('spiderpool-webhook')
    created = kubeapi.apply({'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': 'a'},
                             'spec': {'subnet': '10.70.0.0/24', 'ips': ['10.70.0.10-10.70.0.20'], 'gateway': '10.70.0.1'}})
    assert created['spec']['ipVersion'] == 4 and created['metadata']['finalizers'] == ['spiderpool.spidernet.io']
    path = '/apis/%s/spiderippools' % SP
    bad = {'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': 'b'},
           'spec': {'subnet': '10.70.0.0/24', 'ips': ['10.70.0.15-10.70.0.25', '10.71.0.1', '10.70.0.0/28'],
                    'gateway': '10.70.0.16', 'routes': [{'dst': '0.0.0.0/0', 'gw': '10.70.0.1'}]}}
    status, body = kubeapi.http('POST', path, bad)
    assert status == 422 and body['message'].startswith('admission webhook "spiderippool.spiderpool.spidernet.io" denied')
    fields = [(c['field'], c['message'].split(': ', 2)[-1]) for c in body['details']['causes']]
    assert fields == [('spec.ips[1]', 'not inside spec.subnet 10.70.0.0/24'),
                      ('spec.ips[2]', 'CIDR notation is not allowed; use "a.b.c.d" or "start-end"'),
                      ('spec.gateway', 'inside spec.ips but not listed in spec.excludeIPs'),
                      ('spec.routes[0].dst', 'the default route is set with spec.gateway, not in routes'),
                      ('spec.ips', 'overlaps with the IPs of SpiderIPPool a')]
    wide = {'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': 'c'}, 'spec': {'subnet': '10.70.0.0/16'}}
    status, body = kubeapi.http('POST', path, wide)
    assert status == 422 and 'overlaps with SpiderIPPool a (10.70.0.0/24)' in body['message']
    status, body = kubeapi.http('PATCH', path + '/a', {'spec': {'subnet': '10.72.0.0/24'}},
                                content_type='application/merge-patch+json')
    assert status == 422 and 'field is immutable' in body['message']
    kubeapi.delete(SP, 'SpiderIPPool', 'a')
    assert kubeapi.get(SP, 'SpiderIPPool', 'a') is None  # no allocated IPs: the finalizer is released


def test_spiderpool_webhook_keeps_a_pool_with_allocated_ips(kubeapi):
    kubeapi.simulate('spiderpool-webhook')
    kubeapi.apply({'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': 'busy'},
                   'spec': {'subnet': '10.73.0.0/24', 'ips': ['10.73.0.10']}})
    allocated = json.dumps({'10.73.0.10': {'pod': 'default/vm1', 'podUid': 'x'}})
    kubeapi.http('PATCH', '/apis/%s/spiderippools/busy/status' % SP, {'status': {'allocatedIPs': allocated}},
                 content_type='application/merge-patch+json')
    kubeapi.delete(SP, 'SpiderIPPool', 'busy')
    held = kubeapi.get(SP, 'SpiderIPPool', 'busy')
    assert held['metadata']['deletionTimestamp'] and held['metadata']['finalizers'] == ['spiderpool.spidernet.io']
    kubeapi.http('PATCH', '/apis/%s/spiderippools/busy/status' % SP, {'status': {'allocatedIPs': None}},
                 content_type='application/merge-patch+json')
    assert kubeapi.get(SP, 'SpiderIPPool', 'busy') is None


def test_spiderpool_webhook_on_multus_configs(kubeapi):
    kubeapi.simulate('spiderpool-webhook')
    created = kubeapi.apply(smc('ovs1', namespace='default'))
    assert created['spec']['ovs'] == {'bridge': 'br1', 'vlan': 0, 'ippools': {'ipv4': [], 'ipv6': []}}
    assert created['spec']['coordinator']['mode'] == 'auto'
    bad = smc('ovs2', namespace='default', annotations={'multus.spidernet.io/cr-name': 'Bad_Name'},
              trunk=[{'minID': 20, 'maxID': 10}])
    bad['spec']['macvlan'] = {'master': ['eth0']}
    status, body = kubeapi.http('POST', '/apis/%s/namespaces/default/spidermultusconfigs' % SP, bad)
    assert status == 422
    assert [c['field'] for c in body['details']['causes']] == [
        'spec.ovs.trunk[0].maxID', 'spec', 'metadata.annotations[multus.spidernet.io/cr-name]']
    named = kubeapi.apply(smc('ovs3', namespace='default', annotations={'multus.spidernet.io/cr-name': 'nad-a'}))
    assert named['metadata']['annotations']['multus.spidernet.io/cr-name'] == 'nad-a'
    status, body = kubeapi.http('PATCH', '/apis/%s/namespaces/default/spidermultusconfigs/ovs3' % SP,
                                {'metadata': {'annotations': {'multus.spidernet.io/cr-name': 'nad-b'}}},
                                content_type='application/merge-patch+json')
    assert status == 422 and 'is immutable once set' in body['message']


def test_kubevirt_webhook_network_rules(kubeapi):
    kubeapi.simulate('kubevirt-webhook')
    assert kubeapi.apply(vm('good', 'Always'))['spec']['runStrategy'] == 'Always'
    bad = vm('bad', 'Always')
    bad['spec']['running'] = True
    template = bad['spec']['template']['spec']
    template['domain']['devices']['interfaces'] = [
        {'name': 'default', 'masquerade': {}, 'macAddress': '02:00:00:00:00:00'},
        {'name': 'ovs1', 'masquerade': {}},
        {'name': 'lonely', 'bridge': {}, 'sriov': {}},
        {'name': 'gone', 'masquerade': {}, 'state': 'absent'}]
    template['networks'] = [{'name': 'default', 'pod': {}},
                            {'name': 'ovs1', 'multus': {'networkName': 'kube-system/ovs-vlan30', 'default': True}},
                            {'name': 'gone', 'pod': {}}]
    status, body = kubeapi.http('POST', '/apis/%s/namespaces/default/virtualmachines' % KV, bad)
    assert status == 422 and body['message'].startswith('admission webhook "virtualmachine-validator.kubevirt.io" denied')
    fields = [c['field'] for c in body['details']['causes']]
    devices = 'spec.template.spec.domain.devices.interfaces'
    # KubeVirt's own cause order and field paths (pkg/network/admitter), the pod-network count included
    assert fields == ['spec.template.spec.interfaces', 'spec.template.spec.networks', devices + '[3].state',
                      devices + '[0].macAddress', devices + '[1].name', devices + '[2]', devices + '[2].name', 'spec.running']
    assert kubeapi.get(KV, 'VirtualMachine', 'bad', 'default') is None


def test_kubevirt_webhook_ports_cloud_init_dns_and_discontinued_bindings(kubeapi):
    kubeapi.simulate('kubevirt-webhook')
    body = vm('ports', 'Always')
    template = body['spec']['template']['spec']
    template['domain']['devices']['interfaces'][0]['ports'] = [
        {'port': 9999, 'protocol': 'SCTP'}, {'port': 8080, 'name': '8080'}, {'port': 22, 'name': 'ssh'}, {'port': 2222, 'name': 'ssh'}]
    template['volumes'] = [{'name': 'cloudinitdisk', 'cloudInitNoCloud': {'userData': '#cloud-config\n' + 'x' * 2100}}]
    template['dnsPolicy'] = 'None'
    status, answer = kubeapi.http('POST', '/apis/%s/namespaces/default/virtualmachines' % KV, body)
    assert status == 422, answer
    ports = 'spec.template.spec.domain.devices.interfaces[0].ports'
    assert [c['field'] for c in answer['details']['causes']] == [
        ports + '[1].name', ports + '[3].name', ports + '[0].protocol', 'spec.template.spec.volumes[0].cloudInitNoCloud',
        'spec.template.spec.dnsConfig']
    assert 'userData exceeds the 2048 byte limit' in answer['message']
    # discontinued bindings are refused on creation first, at KubeVirt's "spec.domain..." path
    old = vm('old', 'Always')
    old['spec']['template']['spec']['domain']['devices']['interfaces'][0] = {'name': 'default', 'slirp': {}}
    status, answer = kubeapi.http('POST', '/apis/%s/namespaces/default/virtualmachines' % KV, old)
    assert status == 422 and [c['field'] for c in answer['details']['causes']] == ['spec.domain.devices.interfaces[0].slirp']
    # a bridge NIC on the pod network is refused only where the KubeVirt CR says so
    bridged = vm('bridged', 'Always')
    bridged['spec']['template']['spec']['domain']['devices']['interfaces'][0] = {'name': 'default', 'bridge': {}}
    assert kubeapi.apply(bridged)['metadata']['name'] == 'bridged'
    kubeapi.apply({'apiVersion': KV, 'kind': 'KubeVirt', 'metadata': {'name': 'kubevirt', 'namespace': 'default'},
                   'spec': {'configuration': {'network': {'permitBridgeInterfaceOnPodNetwork': False}}}})
    bridged['metadata']['name'] = 'bridged2'
    status, answer = kubeapi.http('POST', '/apis/%s/namespaces/default/virtualmachines' % KV, bridged)
    assert status == 422 and [c['field'] for c in answer['details']['causes']] == ['spec.template.spec.domain.devices.interfaces[0].name']


def test_kubevirt_webhook_requires_a_run_strategy_and_matching_names(kubeapi):
    kubeapi.simulate('kubevirt-webhook')
    body = vm('vm3', 'Always')
    del body['spec']['runStrategy']
    body['spec']['template']['spec']['networks'].append({'name': 'extra', 'multus': {'networkName': 'x'}})
    status, answer = kubeapi.http('POST', '/apis/%s/namespaces/default/virtualmachines' % KV, body)
    assert status == 422
    assert [c['field'] for c in answer['details']['causes']] == ['spec.template.spec.networks[2].name', 'spec.running']


def test_kubevirt_webhook_warns_about_running(kubeapi):
    import urllib3  # pylint: disable=import-outside-toplevel
    kubeapi.simulate('kubevirt-webhook')
    body = vm('vm4', 'Always')
    del body['spec']['runStrategy']
    body['spec']['running'] = True
    response = urllib3.PoolManager().request('POST', kubeapi.url + '/apis/%s/namespaces/default/virtualmachines' % KV,
                                             body=json.dumps(body), headers={'Content-Type': 'application/json'})
    assert response.status == 201
    assert response.headers['Warning'] == '299 - "spec.running is deprecated, please use spec.runStrategy instead."'
