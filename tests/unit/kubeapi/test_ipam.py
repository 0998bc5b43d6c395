"""The spiderpool-ipam simulation's pure parts (pool choice, filters, next address) and its agreement with the
collection's one free-IP count."""
import json

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model
from lab.kubeapi import crdgen, ipam
from lab.kubeapi.api import Api
from lab.kubeapi.simulations import Simulations

SP = 'spiderpool.spidernet.io/v2beta1'


def pool(name='p', subnet='10.6.0.0/24', ips=('10.6.0.10-10.6.0.19',), status=None, **spec):
    return {'metadata': {'name': name}, 'spec': dict(subnet=subnet, ips=list(ips), **spec), 'status': status or {}}


def pod(labels=None, node='n1', namespace='vms'):
    return {'metadata': {'name': 'virt-launcher-x-abcde', 'namespace': namespace, 'labels': labels or {}, 'uid': 'u1'},
            'spec': {'nodeName': node}}


def test_next_address_follows_ips_order_skipping_excluded_reserved_and_allocated():
    held = {'allocatedIPs': json.dumps({'10.6.0.20': {'pod': 'vms/a', 'podUid': 'x'}})}
    p = pool(ips=['10.6.0.20-10.6.0.22', '10.6.0.5'], excludeIPs=['10.6.0.21'], status=held)
    assert ipam.pick_address(p, []) == '10.6.0.22'
    assert ipam.pick_address(p, ipam.merge(ipam.parse_ranges(['10.6.0.22'], 4))) == '10.6.0.5'
    assert ipam.pick_address(p, ipam.merge(ipam.parse_ranges(['10.6.0.1-10.6.0.30'], 4))) is None
    v6 = pool(subnet='fd00::/64', ips=['fd00::ffff:fffe-fd00::1:0:1'], excludeIPs=['fd00::ffff:fffe-fd00::ffff:ffff'])
    assert ipam.pick_address(v6, []) == 'fd00::1:0:0'


PRECEDENCE = [
    ({ipam.POOLS_ANNOTATION: '[{"ipv4":["a"]},{"ipv4":["b"],"ipv6":["b6"]}]', ipam.POOL_ANNOTATION: '{"ipv4":["x"]}'}, {}, 1,
     ('1', {4: ['b'], 6: ['b6']})),
    ({ipam.POOLS_ANNOTATION: '[{"interface":"eth0","ipv4":["a"]},{"interface":"podabc","ipv4":["b"]}]'}, {}, 0, ('eth0', {4: ['a'], 6: []})),
    ({ipam.POOL_ANNOTATION: '{"ipv4":["x"]}'}, {'ipam.spidernet.io/default-ipv4-ippool': '["ns"]'}, 1, ('podabc', {4: ['x'], 6: []})),
    ({}, {'ipam.spidernet.io/default-ipv4-ippool': '["ns"]'}, 0, ('eth0', {4: ['ns'], 6: []})),
    ({}, {}, 0, ('eth0', {4: ['nad4'], 6: []})),
]


@pytest.mark.parametrize('annotations, ns_annotations, position, expected', PRECEDENCE)
def test_pool_choice_precedence(annotations, ns_annotations, position, expected):
    ifname = 'eth0' if position == 0 else 'podabc'
    assert ipam.pool_choice(annotations, ifname, position, ns_annotations, {4: ['nad4']}, {4: ['cluster-default']}) == expected


def test_pool_choice_falls_back_to_cluster_defaults_and_refuses_bad_annotations():
    assert ipam.pool_choice({}, 'eth0', 0, {}, {}, {4: ['d4'], 6: ['d6']}) == ('eth0', {4: ['d4'], 6: ['d6']})
    with pytest.raises(ipam.IpamError, match='no IPPool available, no pool selection rules of any type are specified'):
        ipam.pool_choice({}, 'eth0', 0, {}, {}, {4: [], 6: []})
    for value, rule in (('[]', 'value requires at least one item'),
                        ('[{"interface":"eth0"},{"ipv4":["a"]}]', 'NIC should be either all specified or all unspecified'),
                        ('[{"interface":"eth0"},{"interface":"eth0"}]', 'duplicate interface eth0'),
                        ('[{"interface":"net1"}]', 'interface eth0 must be specified'), ('{', 'invalid format')):
        with pytest.raises(ipam.IpamError, match=rule):
            ipam.pool_choice({ipam.POOLS_ANNOTATION: value}, 'eth0', 0, {}, {}, {})


REFUSALS = [
    (dict(disable=True), 'disabled IPPool p'),
    (dict(subnet='fd00::/64', ips=['fd00::1']), 'expect an IPv4 IPPool, but the version of the IPPool p is IPv6'),
    (dict(nodeName=['n2']), 'unmatched Node name of IPPool p'),
    (dict(nodeAffinity={'matchLabels': {'zone': 'b'}}), 'unmatched Node affinity of IPPool p'),
    (dict(nodeName=['n1'], nodeAffinity={'matchLabels': {'zone': 'b'}}), None),  # nodeName wins over nodeAffinity
    (dict(namespaceName=['other']), 'unmatched Namespace name of IPPool p'),
    (dict(namespaceAffinity={'matchExpressions': [{'key': 'team', 'operator': 'NotIn', 'values': ['a']}]}),
     'unmatched Namespace affinity of IPPool p'),
    (dict(podAffinity={'matchExpressions': [{'key': 'tier', 'operator': 'Exists'}]}), 'unmatched Pod affinity of IPPool p'),
    (dict(podAffinity={}), None),  # an empty selector selects every pod
    (dict(multusName=['ovs30']), 'the spec.multusName [ovs30] in the IPPool p used by the Pod interface 0 is not matched with '
                                 'the multusCR kube-system/ovs40 specified by the Pod'),
    (dict(multusName=['ovs40']), None),  # a bare name is in Spiderpool's namespace
]


@pytest.mark.parametrize('spec, expected', REFUSALS)
def test_pool_filters(spec, expected):
    base = dict(subnet='10.6.0.0/24', ips=['10.6.0.10'])
    base.update(spec)
    p = {'metadata': {'name': 'p'}, 'spec': base}
    assert ipam.refusal(p, 4, pod(), {'team': 'a'}, {'zone': 'a'}, '0', 'kube-system/ovs40', 'kube-system') == expected


def test_pools_with_affinities_are_tried_first_and_errors_aggregate_as_go_does():
    plain, bound, pinned = pool('plain'), pool('bound', multusName=['x']), pool('pinned', podAffinity={'matchLabels': {'a': 'b'}})
    assert [p['metadata']['name'] for p in sorted([plain, bound, pinned], key=ipam.priority)] == ['pinned', 'bound', 'plain']
    assert ipam.aggregate(['one']) == 'one' and ipam.aggregate(['one', 'two']) == '[one, two]'


@pytest.fixture
def api():
    simulations = Simulations()
    emulator = Api(crdgen.load_set('spiderpool-v1.2'), simulations=simulations)
    for name in ('spidermultusconfig-nad', 'vm-vmi', ipam.NAME):
        simulations.switch(name, True, emulator)
    emulator.internal_create('v1', 'Namespace', {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'vms'}})
    smc = {'apiVersion': SP, 'kind': 'SpiderMultusConfig', 'metadata': {'name': 'ovs30', 'namespace': 'kube-system'},
           'spec': {'cniType': 'ovs', 'ovs': {'bridge': 'br1', 'ippools': {'ipv4': ['v30']}}}}
    emulator.internal_create(SP, 'SpiderMultusConfig', smc)
    return emulator


def start_vm(api, name):
    vm = {'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine', 'metadata': {'name': name, 'namespace': 'vms'},
          'spec': {'runStrategy': 'Always', 'template': {'spec': {
              'domain': {'devices': {'interfaces': [{'name': 'n', 'bridge': {}}]}},
              'networks': [{'name': 'n', 'multus': {'networkName': 'kube-system/ovs30', 'default': True}}]}}}}
    api.internal_write(vm, 'test')
    return api.find('kubevirt.io/v1', 'VirtualMachineInstance', 'vms', name)['status']['phase'] == 'Running'


def test_the_collections_free_count_is_what_the_simulation_hands_out(api):
    """free_ip_count (preflight, _info modules) says N: exactly N more VMs start, the next one fails."""
    spec = {'subnet': '10.30.0.0/24', 'ips': ['10.30.0.10-10.30.0.25'], 'excludeIPs': ['10.30.0.12', '10.30.0.20-10.30.0.21']}
    api.internal_create(SP, 'SpiderIPPool', {'apiVersion': SP, 'kind': 'SpiderIPPool', 'metadata': {'name': 'v30'}, 'spec': spec})
    for name, ips in (('r4', ['10.30.0.14-10.30.0.15', '10.30.0.99']), ('r6', ['fd00::1'])):
        api.internal_create(SP, 'SpiderReservedIP', {'apiVersion': SP, 'kind': 'SpiderReservedIP', 'metadata': {'name': name},
                                                     'spec': {'ips': ips}})
    assert start_vm(api, 'first') and start_vm(api, 'second')
    reserved = api.objects_of(SP, 'SpiderReservedIP')
    free = _spiderpool_model.free_ip_count(api.find(SP, 'SpiderIPPool', None, 'v30'), reserved)
    assert free == 16 - 3 - 2 - 2
    assert all(start_vm(api, 'more%d' % i) for i in range(free))
    usage = _spiderpool_model.pool_usage(api.find(SP, 'SpiderIPPool', None, 'v30'), reserved)
    assert usage == {'total_ip_count': 13, 'allocated_ip_count': 11, 'reserved_ip_count': 2, 'free_ip_count': 0}
    assert not start_vm(api, 'one-too-many')
