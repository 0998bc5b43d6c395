"""The spiderpool-ipam simulation through the emulator's HTTP API: what Spiderpool's IPAM does for KubeVirt VM pods.

Each test reads back only what a real cluster with Spiderpool shows (VMI status, SpiderEndpoints,
SpiderIPPool status, Events), so it would pass there too.
"""
import hashlib
import ipaddress
import json
import threading

import pytest

SP = 'spiderpool.spidernet.io/v2beta1'
KV = 'kubevirt.io/v1'
POOLS = 'ipam.spidernet.io/ippools'
SIMULATIONS = ('spidermultusconfig-nad', 'spiderpool-webhook', 'ippool-status', 'vm-vmi', 'spiderpool-ipam')


@pytest.fixture
def cluster(kubeapi):
    for name in SIMULATIONS:
        kubeapi.simulate(name)
    kubeapi.apply({'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'vms', 'labels': {'team': 'a'}}})
    kubeapi.apply(smc('ovs30', v4=['v30'], v6=['v30-6']))
    kubeapi.apply(smc('ovs40'))
    kubeapi.apply(pool('v30', '10.30.0.0/24', ['10.30.0.10-10.30.0.19'], gateway='10.30.0.1', multusName=['kube-system/ovs30']))
    kubeapi.apply(pool('v30-6', 'fd00:30::/64', ['fd00:30::10-fd00:30::1f']))
    kubeapi.apply(pool('v40', '10.40.0.0/24', ['10.40.0.10-10.40.0.19']))
    kubeapi.apply(pool('v40-6', 'fd00:40::/64', ['fd00:40::10-fd00:40::1f']))
    return kubeapi


def smc(name, v4=(), v6=()):
    ovs = {'bridge': 'br1', 'ippools': {'ipv4': list(v4), 'ipv6': list(v6)}}
    return {'apiVersion': SP, 'kind': 'SpiderMultusConfig', 'metadata': {'name': name, 'namespace': 'kube-system'},
            'spec': {'cniType': 'ovs', 'ovs': ovs}}


def pool(name, subnet, ips, **spec):
    return {'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': name}, 'spec': dict(subnet=subnet, ips=ips, **spec)}


def vm(name, nads=('ovs30',), pools=None, run_strategy='Always', labels=None):
    """A Bridge VM: the first NIC is the Multus default network, one more NIC per further NAD."""
    interfaces = [{'name': 'nic%d' % i, 'bridge': {}} for i in range(len(nads))]
    networks = [{'name': 'nic%d' % i, 'multus': dict({'networkName': 'kube-system/' + nad}, **({'default': True} if i == 0 else {}))}
                for i, nad in enumerate(nads)]
    template = {'metadata': {'labels': dict(labels or {}, **{'kubevirt.io/vm': name})},
                'spec': {'domain': {'devices': {'interfaces': interfaces}}, 'networks': networks}}
    if pools is not None:
        template['metadata']['annotations'] = {POOLS: json.dumps(pools)}
    return {'apiVersion': KV, 'kind': 'VirtualMachine', 'metadata': {'name': name, 'namespace': 'vms'},
            'spec': {'runStrategy': run_strategy, 'template': template}}


def ips_of(api, name):
    """NIC name -> IPs in the VMI status."""
    vmi = api.get(KV, 'VirtualMachineInstance', name, 'vms')
    return {i['name']: i.get('ipAddresses', []) for i in (vmi or {}).get('status', {}).get('interfaces', [])}


def records(api, name):
    raw = (api.get(SP, 'SpiderIPPool', name).get('status') or {})
    held = json.loads(raw['allocatedIPs']) if raw.get('allocatedIPs') else {}
    assert raw.get('allocatedIPCount', 0) == len(held)  # the count Spiderpool keeps matches its records
    return held


def listed(api, path):
    status, body = api.http('GET', path)
    assert status == 200, body
    return body['items']


def test_default_pool_nic_gets_ips_from_its_crs_default_pools_dual_stack(cluster):
    cluster.apply(vm('db'))
    assert ips_of(cluster, 'db') == {'nic0': ['10.30.0.10', 'fd00:30::10']}
    endpoint = cluster.get(SP, 'SpiderEndpoint', 'db', 'vms')
    pod = listed(cluster, '/api/v1/namespaces/vms/pods')[0]
    assert endpoint['status']['current']['uid'] == pod['metadata']['uid']
    assert endpoint['status']['ownerControllerType'] == 'VirtualMachineInstance' and 'ownerReferences' not in endpoint['metadata']
    assert endpoint['status']['current']['ips'] == [{'interface': 'eth0', 'vlan': 0, 'ipv4': '10.30.0.10/24', 'ipv4Pool': 'v30',
                                                     'ipv4Gateway': '10.30.0.1', 'cleanGateway': False, 'ipv6': 'fd00:30::10/64',
                                                     'ipv6Pool': 'v30-6'}]
    assert records(cluster, 'v30') == {'10.30.0.10': {'pod': 'vms/db', 'podUid': pod['metadata']['uid']}}
    assert cluster.get(SP, 'SpiderIPPool', 'v30')['status']['totalIPCount'] == 10


def test_hand_picked_pools_follow_nic_order(cluster):
    cluster.apply(vm('app', nads=('ovs30', 'ovs40'), pools=[{'ipv4': ['v30']}, {'ipv4': ['v40'], 'ipv6': ['v40-6']}]))
    assert ips_of(cluster, 'app') == {'nic0': ['10.30.0.10'], 'nic1': ['10.40.0.10', 'fd00:40::10']}
    vmi = cluster.get(KV, 'VirtualMachineInstance', 'app', 'vms')
    second = vmi['status']['interfaces'][1]['podInterfaceName']
    entries = cluster.get(SP, 'SpiderEndpoint', 'app', 'vms')['status']['current']['ips']
    assert [(e['interface'], e.get('ipv4Pool'), e.get('ipv6Pool')) for e in entries] == [('eth0', 'v30', None), (second, 'v40', 'v40-6')]
    # named items map by interface; a pool the NIC's Multus CR is not allowed to use is filtered out with Spiderpool's words
    hashed = 'pod' + hashlib.sha256(b'nic1').hexdigest()[:11]  # KubeVirt's name for the pod interface of network nic1
    assert second == hashed
    cluster.apply(vm('named', nads=('ovs40', 'ovs30'), pools=[{'interface': hashed, 'ipv4': ['v40']}, {'interface': 'eth0', 'ipv4': ['v30']}]))
    events = [e for e in listed(cluster, '/api/v1/namespaces/vms/events') if e['involvedObject']['name'].startswith('virt-launcher-named-')]
    assert cluster.get(KV, 'VirtualMachineInstance', 'named', 'vms')['status']['phase'] == 'Scheduling'
    assert len(events) == 1 and events[0]['reason'] == 'FailedCreatePodSandBox' and events[0]['type'] == 'Warning'
    assert 'all IPv4 IPPools [v30] of eth0 filtered out: the spec.multusName [kube-system/ovs30] in the IPPool v30 used by the Pod ' \
           'interface eth0 is not matched with the multusCR kube-system/ovs40' in events[0]['message']


def test_restart_keeps_ips_and_deleting_the_vm_releases_them(cluster):
    cluster.apply(vm('keep', nads=('ovs30', 'ovs40'), pools=[{'ipv4': ['v30']}, {'ipv4': ['v40']}]))
    before = ips_of(cluster, 'keep')
    uid = cluster.get(KV, 'VirtualMachineInstance', 'keep', 'vms')['metadata']['uid']
    status, _body = cluster.http('PUT', '/apis/subresources.kubevirt.io/v1/namespaces/vms/virtualmachines/keep/restart')
    assert status == 202
    vmi = cluster.get(KV, 'VirtualMachineInstance', 'keep', 'vms')
    assert vmi['metadata']['uid'] != uid and ips_of(cluster, 'keep') == before
    pod = listed(cluster, '/api/v1/namespaces/vms/pods')
    assert len(pod) == 1 and records(cluster, 'v30')[before['nic0'][0]]['podUid'] == pod[0]['metadata']['uid']
    # stopped, the VM still holds its IPs: another VM gets the next ones; started again, it gets its own back
    cluster.apply(vm('keep', nads=('ovs30', 'ovs40'), pools=[{'ipv4': ['v30']}, {'ipv4': ['v40']}], run_strategy='Halted'))
    assert cluster.get(KV, 'VirtualMachineInstance', 'keep', 'vms') is None and len(records(cluster, 'v30')) == 1
    cluster.apply(vm('other', pools=[{'ipv4': ['v30']}]))
    assert ips_of(cluster, 'other') == {'nic0': ['10.30.0.11']}
    cluster.apply(vm('keep', nads=('ovs30', 'ovs40'), pools=[{'ipv4': ['v30']}, {'ipv4': ['v40']}]))
    assert ips_of(cluster, 'keep') == before
    cluster.delete(KV, 'VirtualMachine', 'keep', 'vms')
    assert list(records(cluster, 'v30')) == ['10.30.0.11'] and records(cluster, 'v40') == {}
    assert cluster.get(SP, 'SpiderEndpoint', 'keep', 'vms') is None


def test_without_kubevirt_static_ip_a_restart_does_not_keep_ips(cluster):
    cluster.apply({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'spiderpool-conf', 'namespace': 'kube-system'},
                   'data': {'conf.yml': 'ipamUnixSocketPath: /var/run/spidernet/spiderpool.sock\nenableIPv4: true\nenableIPv6: false\n'
                                        'enableKubevirtStaticIP: false\n'}})
    cluster.apply(vm('a'))
    assert ips_of(cluster, 'a') == {'nic0': ['10.30.0.10']}  # enableIPv6 false: the CR's IPv6 pool is left out
    pod = listed(cluster, '/api/v1/namespaces/vms/pods')[0]
    endpoint = cluster.get(SP, 'SpiderEndpoint', pod['metadata']['name'], 'vms')
    assert endpoint['metadata']['ownerReferences'][0]['uid'] == pod['metadata']['uid'] and cluster.get(SP, 'SpiderEndpoint', 'a', 'vms') is None
    cluster.apply(vm('a', run_strategy='Halted'))
    assert records(cluster, 'v30') == {} and listed(cluster, '/apis/%s/namespaces/vms/spiderendpoints' % SP) == []
    cluster.apply(vm('b'))
    cluster.apply(vm('a'))
    assert ips_of(cluster, 'b') == {'nic0': ['10.30.0.10']} and ips_of(cluster, 'a') == {'nic0': ['10.30.0.11']}


def test_pool_rules_excluded_reserved_disabled_and_affinity(cluster):
    cluster.apply(pool('v50', '10.50.0.0/24', ['10.50.0.10-10.50.0.15'], excludeIPs=['10.50.0.10'],
                       podAffinity={'matchLabels': {'tier': 'db'}}, namespaceAffinity={'matchLabels': {'team': 'a'}}))
    cluster.apply(pool('off', '10.50.0.0/24', ['10.50.0.100'], disable=True))
    cluster.apply({'apiVersion': SP, 'kind': 'SpiderReservedIP', 'metadata': {'name': 'r'}, 'spec': {'ips': ['10.50.0.11-10.50.0.12']}})
    cluster.apply(vm('db', nads=('ovs40',), pools=[{'ipv4': ['off', 'v50']}], labels={'tier': 'db'}))
    assert ips_of(cluster, 'db') == {'nic0': ['10.50.0.13']}  # .10 excluded, .11-.12 reserved; the disabled pool is skipped
    cluster.apply(vm('web', nads=('ovs40',), pools=[{'ipv4': ['v50']}], labels={'tier': 'web'}))
    events = [e['message'] for e in listed(cluster, '/api/v1/namespaces/vms/events')]
    assert len(events) == 1 and 'unmatched Pod affinity of IPPool v50' in events[0]
    # the reserved IPs are released: a VM now gets .11
    cluster.delete(SP, 'SpiderReservedIP', 'r')
    cluster.apply(vm('db2', nads=('ovs40',), pools=[{'ipv4': ['v50']}], labels={'tier': 'db'}))
    assert ips_of(cluster, 'db2') == {'nic0': ['10.50.0.11']}


def test_exhaustion_is_reported_and_racing_vms_never_share_an_ip(cluster):
    """Twelve VMs created at once on parallel connections race for the ten IPs of v30."""
    client = cluster.client()
    api = client.resources.get(api_version=KV, kind='VirtualMachine')
    errors = []

    def create(index):
        try:
            api.create(body=vm('race%02d' % index, pools=[{'ipv4': ['v30']}]), namespace='vms')
        except Exception as err:  # pylint: disable=broad-exception-caught
            errors.append(err)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    vmis = listed(cluster, '/apis/%s/namespaces/vms/virtualmachineinstances' % KV)
    running = [v for v in vmis if v['status']['phase'] == 'Running']
    given = [i['ipAddress'] for v in running for i in v['status']['interfaces']]
    assert len(running) == 10 and len(set(given)) == 10 and all(ipaddress.ip_address(ip) in ipaddress.ip_network('10.30.0.0/24') for ip in given)
    assert sorted(records(cluster, 'v30')) == sorted(given)
    waiting = sorted(v['metadata']['name'] for v in vmis if v['status']['phase'] != 'Running')
    assert len(waiting) == 2
    vm_status = cluster.get(KV, 'VirtualMachine', waiting[0], 'vms')['status']
    assert vm_status['printableStatus'] == 'Starting' and vm_status['ready'] is False
    events = listed(cluster, '/api/v1/namespaces/vms/events')
    assert sorted(e['involvedObject']['name'].rsplit('-', 1)[0] for e in events) == ['virt-launcher-' + n for n in waiting]
    assert all('failed to allocate any IPv4 IP address to NIC 0 from IPPools [v30]: all IP addresses used out' in e['message']
               for e in events)
    # one VM goes: its IP is released and one waiting VM starts with it (kubelet retries the sandbox)
    gone = running[0]['metadata']['name']
    cluster.delete(KV, 'VirtualMachine', gone, 'vms')
    started = [n for n in waiting if ips_of(cluster, n)]
    assert len(started) == 1 and ips_of(cluster, started[0])['nic0'] == [i['ipAddress'] for i in running[0]['status']['interfaces']]
    assert len(records(cluster, 'v30')) == 10
