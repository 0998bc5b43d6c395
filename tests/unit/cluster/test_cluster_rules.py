"""Client-side Spiderpool webhook rules: every invalid input and its exact message.

Each case names the field, the offending value and the rule; the integration tests run a
sample of these through the real modules and assert no write reached the API.
"""
import json

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _multus as mc
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool as sp

POOL, SUBNET = sp.POOL_KIND, sp.SUBNET_KIND


def spec_errors(params, kind=POOL, **kwargs):
    return sp.validate_spec(sp.normalize_spec(sp.build_spec(params, kind)), kind, **kwargs)


S = '10.6.0.0/16'
POOL_CASES = [
    # rule 1
    (dict(subnet=S, ip_version=5), 'ip_version: 5 must be 4 or 6 (webhook rule 1: ipVersion)'),
    # rule 2
    (dict(subnet=S, ip_version=6),
     'subnet: "10.6.0.0/16" must be a valid canonical IPv6 CIDR: \'10.6.0.0/16\' is an IPv4 CIDR, IPv6 expected (webhook rule 2: subnet)'),
    (dict(subnet='10.6.0.1/16'),
     'subnet: "10.6.0.1/16" must be a valid canonical IPv4 CIDR: \'10.6.0.1/16\' is not a canonical CIDR (expected \'10.6.0.0/16\') '
     '(webhook rule 2: subnet)'),
    (dict(subnet='banana'), 'subnet: "banana" must be a valid canonical IPv4 or IPv6 CIDR (webhook rule 2: subnet)'),
    (dict(subnet='10.6.0.0'), 'subnet: "10.6.0.0" must be a valid canonical IPv4 or IPv6 CIDR (webhook rule 2: subnet)'),
    (dict(subnet='fd00:0::/64'),
     'subnet: "fd00:0::/64" must be a valid canonical IPv6 CIDR: \'fd00:0::/64\' is not a canonical CIDR (expected \'fd00::/64\') '
     '(webhook rule 2: subnet)'),
    (dict(subnet='10.6.0.0/40'), 'subnet: "10.6.0.0/40" must be a valid canonical IPv4 or IPv6 CIDR (webhook rule 2: subnet)'),
    # rule 5
    (dict(subnet=S, ips=['10.7.0.1']),
     'ips[0]: "10.7.0.1" lies outside subnet 10.6.0.0/16 (webhook rule 5: every ips/excludeIPs entry must be inside subnet)'),
    (dict(subnet=S, ips=['10.6.255.250-10.7.0.5']),
     'ips[0]: "10.6.255.250-10.7.0.5" lies outside subnet 10.6.0.0/16 (webhook rule 5: every ips/excludeIPs entry must be inside subnet)'),
    (dict(subnet=S, exclude_ips=['10.5.0.1']),
     'exclude_ips[0]: "10.5.0.1" lies outside subnet 10.6.0.0/16 (webhook rule 5: every ips/excludeIPs entry must be inside subnet)'),
    (dict(subnet=S, ips=['10.6.0.0/24']),
     'ips[0]: "10.6.0.0/24" must be an IP address or a "start-end" range: \'10.6.0.0/24\' is a CIDR; entries must be an address or a '
     '"start-end" range (webhook rule 5: ips/excludeIPs)'),
    (dict(subnet=S, exclude_ips=['10.6.0.9-10.6.0.1']),
     'exclude_ips[0]: "10.6.0.9-10.6.0.1" must be an IP address or a "start-end" range: \'10.6.0.9-10.6.0.1\' is not a valid IP range '
     '(start is after end) (webhook rule 5: ips/excludeIPs)'),
    (dict(subnet=S, ips=['10.6.0.1-fd00::1']),
     'ips[0]: "10.6.0.1-fd00::1" must be an IP address or a "start-end" range: \'10.6.0.1-fd00::1\' mixes IPv4 and IPv6 addresses '
     '(webhook rule 5: ips/excludeIPs)'),
    (dict(subnet=S, ips=['10.6.0.300']),
     'ips[0]: "10.6.0.300" must be an IP address or a "start-end" range: \'10.6.0.300\' is not a valid IP address '
     '(webhook rule 5: ips/excludeIPs)'),
    (dict(subnet=S, ips=['fd00::1']), 'ips[0]: "fd00::1" must be an IPv4 address or range like ipVersion (webhook rule 5: ips/excludeIPs)'),
    (dict(subnet='fd00::/64', ips=['fd01::1-fd01::9']),
     'ips[0]: "fd01::1-fd01::9" lies outside subnet fd00::/64 (webhook rule 5: every ips/excludeIPs entry must be inside subnet)'),
    # rule 7
    (dict(subnet=S, gateway='10.7.0.1'), 'gateway: "10.7.0.1" lies outside subnet 10.6.0.0/16 (webhook rule 7: gateway must be inside subnet)'),
    (dict(subnet=S, ips=['10.6.0.1-10.6.0.10'], gateway='10.6.0.1'),
     'gateway: "10.6.0.1" lies inside ips but is not listed in exclude_ips (webhook rule 7: gateway must not be allocatable)'),
    (dict(subnet=S, gateway='fd00::1'),
     'gateway: "fd00::1" must be an IPv4 address: \'fd00::1\' is an IPv6 address, IPv4 expected (webhook rule 7: gateway)'),
    (dict(subnet=S, gateway='gw'), 'gateway: "gw" must be an IPv4 address: \'gw\' is not a valid IP address (webhook rule 7: gateway)'),
    # rule 8
    (dict(subnet=S, routes=[dict(dst='0.0.0.0/0', gw='10.6.0.1')]),
     'routes[0].dst: "0.0.0.0/0" is the default route 0.0.0.0/0; set gateway instead (webhook rule 8: routes)'),
    (dict(subnet='fd00::/64', routes=[dict(dst='::/0', gw='fd00::1')]),
     'routes[0].dst: "::/0" is the default route ::/0; set gateway instead (webhook rule 8: routes)'),
    (dict(subnet=S, routes=[dict(dst='10.9.0.0/16', gw='10.6.0.1'), dict(dst='10.9.0.0/16', gw='10.6.0.2')]),
     'routes[1].dst: "10.9.0.0/16" is a duplicate route destination (webhook rule 8: routes)'),
    (dict(subnet=S, routes=[dict(dst='10.9.0.0/33', gw='10.6.0.1')]),
     'routes[0].dst: "10.9.0.0/33" must be a valid IPv4 CIDR: \'10.9.0.0/33\' is not a valid CIDR (webhook rule 8: routes)'),
    (dict(subnet=S, routes=[dict(dst='10.9.0.0/16', gw='10.8.0.1')]),
     'routes[0].gw: "10.8.0.1" lies outside subnet 10.6.0.0/16 (webhook rule 8: route gw must be inside subnet)'),
    # rule 9
    (dict(subnet=S, pod_affinity={}),
     'pod_affinity: {} is set but empty; give match_labels or match_expressions or leave it unset (webhook rule 9: podAffinity)'),
    (dict(subnet=S, pod_affinity={'match_expressions': [{'key': 'app', 'operator': 'Maybe'}]}),
     'pod_affinity.match_expressions[0].operator: "Maybe" must be one of In, NotIn, Exists, DoesNotExist (webhook rule 9: podAffinity)'),
    (dict(subnet=S, pod_affinity={'match_expressions': [{'key': 'app', 'operator': 'In', 'values': []}]}),
     'pod_affinity.match_expressions[0].values: [] must be non-empty for operator In (webhook rule 9: podAffinity)'),
    (dict(subnet=S, pod_affinity={'match_labels': {'bad key!': 'x'}}),
     'pod_affinity.match_labels: "bad key!" must be a valid label key ([prefix/]name, name at most 63 characters) (webhook rule 9: podAffinity)'),
    (dict(subnet=S, node_affinity={'match_expressions': [{'key': 'zone', 'operator': 'Exists', 'values': ['a']}]}),
     'node_affinity.match_expressions[0].values: ["a"] must be empty for operator Exists (label selector rules)'),
    # other fields
    (dict(subnet=S, vlan=5),
     'vlan: 5 is not served by this Spiderpool version: SpiderIPPool.spec.vlan exists only in v0.9.x CRDs (removed in v1.0)'),
    (dict(subnet=S, multus_name=['a/b/c']),
     'multus_name[0]: "a/b/c" must be "namespace/name" or a bare name (the Spiderpool namespace): the namespace a DNS-1123 label, '
     'the name a DNS-1123 subdomain'),
    (dict(subnet=S, namespace_name=['Tenant_A']), 'namespace_name[0]: "Tenant_A" must be a namespace name (a DNS-1123 label: '
     'lower-case alphanumerics and "-", at most 63 characters)'),
    # hostile or sloppy values in every field that reaches the API
    (dict(subnet=S, pod_affinity={'match_expressions': [{'key': 'app', 'operator': 'In', 'values': ['has spaces']}]}),
     'pod_affinity.match_expressions[0].values[0]: "has spaces" must be a valid label value (at most 63 letters, digits, "-", "_" and '
     '".", starting and ending alphanumeric) (webhook rule 9: podAffinity)'),
    (dict(subnet=S, namespace_affinity={'match_labels': {'team': 'x' * 64}}),
     'namespace_affinity.match_labels.team: "%s" must be a valid label value (label selector rules)' % ('x' * 64)),
    (dict(subnet=S, node_name=['node_1']),
     'node_name[0]: "node_1" must be a node name (a DNS-1123 subdomain: lower-case alphanumerics, "-" and ".", at most 253 characters)'),
    (dict(subnet=S, namespace_name=['a' * 64]),
     'namespace_name[0]: "%s" must be a namespace name (a DNS-1123 label: lower-case alphanumerics and "-", at most 63 characters)'
     % ('a' * 64)),
    (dict(subnet=S, multus_name=['Kube-System/ovs']),
     'multus_name[0]: "Kube-System/ovs" must be "namespace/name" or a bare name (the Spiderpool namespace): the namespace a DNS-1123 '
     'label, the name a DNS-1123 subdomain'),
    (dict(subnet=S, multus_name=['kube-system/']),
     'multus_name[0]: "kube-system/" must be "namespace/name" or a bare name (the Spiderpool namespace): the namespace a DNS-1123 '
     'label, the name a DNS-1123 subdomain'),
    (dict(subnet=S, exclude_ips=['10.6.0.1; rm -rf /']),
     'exclude_ips[0]: "10.6.0.1; rm -rf /" must be an IP address or a "start-end" range: \'10.6.0.1; rm -rf /\' is a CIDR; entries '
     'must be an address or a "start-end" range (webhook rule 5: ips/excludeIPs)'),
    (dict(subnet=S, ips=['$(reboot)']),
     'ips[0]: "$(reboot)" must be an IP address or a "start-end" range: \'$(reboot)\' is not a valid IP address (webhook rule 5: '
     'ips/excludeIPs)'),
    (dict(subnet='10.6.0.0/16\n'), 'subnet: "10.6.0.0/16\\n" must be a valid canonical IPv4 or IPv6 CIDR (webhook rule 2: subnet)'),
    (dict(subnet=S, gateway='10.6.0.1 '),
     'gateway: "10.6.0.1 " must be an IPv4 address: \'10.6.0.1 \' is not a valid IP address (empty or surrounded by whitespace) '
     '(webhook rule 7: gateway)'),
    (dict(subnet=S, routes=[dict(dst='10.9.0.0/16', gw='10.6.0.1`id`')]),
     'routes[0].gw: "10.6.0.1`id`" must be an IPv4 address: \'10.6.0.1`id`\' is not a valid IP address (webhook rule 8: routes)'),
]


@pytest.mark.parametrize('params,message', POOL_CASES, ids=[m.split(':')[0] + '-%d' % i for i, (_p, m) in enumerate(POOL_CASES)])
def test_pool_rule_message(params, message):
    assert spec_errors(params) == [message]


KEY_RULE = ('is not a valid key: the rule is a qualified name, an optional DNS-1123 subdomain prefix (at most 253 characters) and "/", '
            'then a name of at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit')
VALUE_RULE = ('is not a valid label value: the rule is at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter '
              'or digit (or empty)')
SCALAR_RULE = 'is not a string value: the rule is a string (numbers and booleans are written as text)'
# labels of pools and subnets: (labels, message)
LABEL_CASES = [
    ({'bad key': 'x'}, 'labels: "bad key" ' + KEY_RULE),
    ({'ok': 'has spaces'}, 'labels.ok: "has spaces" ' + VALUE_RULE),
    ({'a/b/c': 'x'}, 'labels: "a/b/c" ' + KEY_RULE),
    ({'-lead': 'x'}, 'labels: "-lead" ' + KEY_RULE),
    ({'k' * 64: 'y'}, 'labels: "%s" %s' % ('k' * 64, KEY_RULE)),
    ({'UPPER.example.com/x': 'y'}, 'labels: "UPPER.example.com/x" ' + KEY_RULE),
    ({'example.com/': 'y'}, 'labels: "example.com/" ' + KEY_RULE),
    ({'ok': 'v' * 64}, 'labels.ok: "%s" %s' % ('v' * 64, VALUE_RULE)),
    ({'ok': {'nested': 1}}, 'labels.ok: {"nested": 1} ' + SCALAR_RULE),
    ({'ok': '$(reboot)'}, 'labels.ok: "$(reboot)" ' + VALUE_RULE),
]


@pytest.mark.parametrize('labels,message', LABEL_CASES, ids=['label-%d' % i for i in range(len(LABEL_CASES))])
def test_label_rule_message(labels, message):
    errors, clean = sp.validate_metadata({'labels': labels})
    assert errors == [message] and clean == {}


def test_labels_as_kubernetes_stores_them():
    assert sp.validate_metadata({'labels': {'app.kubernetes.io/name': 'pool', 'tier': 1, 'on': True, 'empty': ''}}) == (
        [], {'app.kubernetes.io/name': 'pool', 'tier': '1', 'on': 'true', 'empty': ''})


def test_vlan_allowed_where_served_and_range_checked():
    assert spec_errors(dict(subnet=S, vlan=5), supports_vlan=True) == []
    assert spec_errors(dict(subnet=S, vlan=5000), supports_vlan=True) == ['vlan: 5000 must be between 0 and 4094']


def test_disabled_family_is_rule_1():
    assert spec_errors(dict(subnet='fd00::/64'), enabled_families=(4,)) == [
        'ip_version: 6 names an IP family that is disabled in Spiderpool (ipam.enableIPv6=false) (webhook rule 1: ipVersion)']


def test_subnet_kind_uses_the_same_rules():
    assert spec_errors(dict(subnet=S, ips=['10.7.0.1']), SUBNET) == [
        'ips[0]: "10.7.0.1" lies outside subnet 10.6.0.0/16 (webhook rule 5: every ips/excludeIPs entry must be inside subnet)']
    assert spec_errors(dict(subnet=S, vlan=3), SUBNET)[0].startswith('vlan: 3 is not served by this Spiderpool version: SpiderSubnet.spec.vlan')


def test_valid_pool_has_no_errors_and_is_normalized():
    params = dict(subnet=S, ips=['10.6.0.20-10.6.0.30', '10.6.0.10-10.6.0.21'], exclude_ips=['10.6.0.15'], gateway='10.6.0.1',
                  routes=[dict(dst='10.9.0.0/16', gw='10.6.0.254')], pod_affinity={'match_labels': {'app': 'vm'}})
    spec = sp.normalize_spec(sp.build_spec(params, POOL))
    assert sp.validate_spec(spec, POOL) == []
    assert spec['ipVersion'] == 4
    assert spec['ips'] == ['10.6.0.10-10.6.0.30']
    assert spec['podAffinity'] == {'matchLabels': {'app': 'vm'}}


def test_name_rule():
    assert sp.validate_name('Pool_1') == [
        'name: "Pool_1" must be a DNS-1123 subdomain (lower-case alphanumerics, "-" and ".", at most 253 characters, '
        'starting and ending alphanumeric)']


def pool(name, subnet, ips, exclude=(), owner=None, allocated=None):
    obj = {'metadata': {'name': name}, 'spec': {'subnet': subnet, 'ipVersion': 6 if ':' in subnet else 4, 'ips': list(ips),
                                                'excludeIPs': list(exclude)}}
    if owner:
        obj['metadata']['labels'] = {sp.OWNER_SUBNET_LABEL: owner}
    if allocated:
        obj['status'] = {'allocatedIPs': json.dumps(dict((ip, {'pod': 'ns/p'}) for ip in allocated)), 'allocatedIPCount': len(allocated)}
    return obj


def subnet(name, cidr, ips):
    return {'metadata': {'name': name}, 'spec': {'subnet': cidr, 'ipVersion': 4, 'ips': list(ips)}}


def test_rule_4_overlapping_different_subnet():
    spec = {'subnet': '10.6.0.0/16', 'ipVersion': 4, 'ips': ['10.6.0.1']}
    assert sp.validate_pool_against_cluster('new', spec, [pool('other', '10.6.5.0/24', ['10.6.5.1'])], []) == [
        'subnet: "10.6.0.0/16" overlaps subnet 10.6.5.0/24 of SpiderIPPool other; pools of one IP version must use the identical '
        'subnet or non-overlapping ones (webhook rule 4)']
    # identical subnet, disjoint IPs: allowed; other family: ignored; itself: ignored
    assert sp.validate_pool_against_cluster('new', spec, [pool('same', S, ['10.6.0.2']), pool('v6', 'fd00::/64', ['fd00::1']),
                                                          pool('new', '10.6.0.0/24', ['10.6.0.1'])], []) == []


def test_rule_6_overlapping_effective_ips():
    spec = {'subnet': S, 'ipVersion': 4, 'ips': ['10.6.0.1-10.6.0.20'], 'excludeIPs': ['10.6.0.5']}
    errors = sp.validate_pool_against_cluster('new', spec, [pool('other', S, ['10.6.0.5-10.6.0.6', '10.6.0.20'])], [])
    assert errors == ['ips: ["10.6.0.1-10.6.0.20"] overlap the IPs of SpiderIPPool other (same subnet 10.6.0.0/16) at 10.6.0.6, 10.6.0.20 '
                      '(webhook rule 6: effective IPs must not overlap another pool)']
    # the other pool excluding the shared address makes it legal
    assert sp.validate_pool_against_cluster('new', spec, [pool('other', S, ['10.6.0.20-10.6.0.30'], ['10.6.0.20'])], []) == []


def test_rule_10_pool_inside_subnet_ips():
    spec = {'subnet': S, 'ipVersion': 4, 'ips': ['10.6.0.1-10.6.0.20']}
    assert sp.validate_pool_against_cluster('new', spec, [], [subnet('sn', S, ['10.6.0.1-10.6.0.10'])]) == [
        'ips: ["10.6.0.1-10.6.0.20"] are not a subset of the IPs of SpiderSubnet sn: 10.6.0.11-10.6.0.20 '
        '(webhook rule 10: a pool\'s IPs must lie in its subnet\'s ips)']
    assert sp.validate_pool_against_cluster('new', spec, [], [subnet('sn', S, ['10.6.0.0-10.6.0.255'])]) == []


def test_subnet_cross_rules():
    spec = {'subnet': S, 'ipVersion': 4, 'ips': ['10.6.0.1-10.6.0.10']}
    assert sp.validate_subnet_against_cluster('sn', spec, [subnet('other', '10.0.0.0/8', [])], []) == [
        'subnet: "10.6.0.0/16" overlaps subnet 10.0.0.0/8 of SpiderSubnet other (subnet rule: subnets of one IP version must not overlap)']
    assert sp.validate_subnet_against_cluster('sn', spec, [], [pool('orphan', '10.6.1.0/24', ['10.6.1.1'])]) == [
        'subnet: "10.6.0.0/16" overlaps subnet 10.6.1.0/24 of orphan SpiderIPPool orphan (subnet rule: no overlap with a pool of a '
        'different subnet)']
    assert sp.validate_subnet_against_cluster('sn', spec, [], [pool('orphan', S, ['10.6.0.5-10.6.0.12'])]) == [
        'ips: ["10.6.0.1-10.6.0.10"] do not cover the IPs of SpiderIPPool orphan with the same subnet: missing 10.6.0.11-10.6.0.12 '
        '(subnet rule: a pool\'s IPs must lie in the subnet\'s ips)']
    # a pool owned by another subnet is that subnet's business
    assert sp.validate_subnet_against_cluster('sn', spec, [], [pool('owned', '10.6.1.0/24', ['10.6.1.1'], owner='x')]) == []


def test_update_rules():
    existing = pool('p', S, ['10.6.0.1-10.6.0.10'], allocated=['10.6.0.9'])
    assert sp.validate_update(POOL, existing, {'subnet': '10.7.0.0/16', 'ipVersion': 4}) == [
        'subnet: "10.7.0.0/16" cannot change from "10.6.0.0/16": subnet is immutable (webhook update rule)']
    assert sp.validate_update(POOL, existing, {'subnet': S, 'ipVersion': 4, 'ips': ['10.6.0.1-10.6.0.5']}) == [
        'ips: ["10.6.0.1-10.6.0.5"] would remove allocated IPs 10.6.0.9 (webhook update rule: an allocated IP cannot be removed)']
    assert sp.validate_update(POOL, existing, {'subnet': S, 'ipVersion': 4, 'ips': ['10.6.0.1-10.6.0.20']}) == []
    existing['metadata']['deletionTimestamp'] = '2026-01-01T00:00:00Z'
    assert sp.validate_update(POOL, existing, {'subnet': S}) == [
        'name: "p" is terminating and cannot be updated (webhook update rule)']
    sub = subnet('sn', S, ['10.6.0.1-10.6.0.50'])
    assert sp.validate_update(SUBNET, sub, {'subnet': S, 'ipVersion': 4, 'ips': ['10.6.0.1-10.6.0.9']},
                              [pool('child', S, ['10.6.0.5-10.6.0.12'])]) == [
        'ips: ["10.6.0.1-10.6.0.9"] would remove IPs used by its controlled pools: 10.6.0.10-10.6.0.12 (subnet update rule)']


def test_delete_refusal():
    busy = pool('p', S, ['10.6.0.1-10.6.0.10'], allocated=['10.6.0.2', '10.6.0.3'])
    assert sp.delete_refusal(POOL, busy, force=False) == (
        'state: "absent" refused: SpiderIPPool p still has 2 allocated IP(s); Spiderpool\'s finalizer would hold it until they '
        'are released. Release them or set force=true')
    assert sp.delete_refusal(POOL, busy, force=True) is None
    assert sp.delete_refusal(POOL, pool('idle', S, ['10.6.0.1']), force=False) is None


def test_summary_counts_are_computed():
    summary = sp.summarize(pool('p', S, ['10.6.0.1-10.6.0.10'], ['10.6.0.10'], allocated=['10.6.0.2', '10.6.0.3']))
    assert (summary['total_ip_count'], summary['allocated_ip_count'], summary['free_ip_count']) == (9, 2, 7)


# ---------------------------------------------------------------- Multus CRs
SMC_BASE = dict(name='ovs-vlan30', namespace='kube-system', cni_type='ovs', ovs=dict(bridge='br1'))
SERVED_V1 = {'cni_types': {'ovs', 'macvlan', 'ipvlan', 'custom', 'vlan'}, 'coordinator': {'mode', 'podCIDRType', 'tunePodRoutes', 'vethMTU'}}
SERVED_V09 = {'cni_types': {'ovs', 'macvlan', 'ipvlan', 'custom'}, 'coordinator': {'mode', 'podCIDRType', 'tunePodRoutes'}}
MULTUS_CASES = [
    (dict(ovs=None), 'ovs: null is required for cni_type ovs (webhook rule: the ovs block is required)'),
    (dict(ovs=dict(bridge='')), 'ovs.bridge: "" is required (webhook rule: ovs.bridge)'),
    (dict(ovs=dict(bridge='a-very-long-bridge-name')),
     'ovs.bridge: "a-very-long-bridge-name" must be a Linux interface name (1-15 ASCII letters, digits, "_", "." and "-", starting '
     'with a letter or digit), as OVS bridges are'),
    (dict(ovs=dict(bridge='br1', vlan=4095)), 'ovs.vlan: 4095 must be between 0 and 4094 (webhook rule: ovs.vlan)'),
    (dict(ovs=dict(bridge='br1', vlan=-1)), 'ovs.vlan: -1 must be between 0 and 4094 (webhook rule: ovs.vlan)'),
    (dict(ovs=dict(bridge='br1', trunk=[dict(min_id=200, max_id=100)])),
     'ovs.trunk[0].max_id: 100 must be greater than or equal to min_id 200 (webhook rule: trunk maxID >= minID)'),
    (dict(ovs=dict(bridge='br1', trunk=[dict(id=5000)])), 'ovs.trunk[0].id: 5000 must be between 0 and 4094 (webhook rule: trunk IDs)'),
    (dict(ovs=dict(bridge='br1', trunk=[dict(min_id=10)])),
     'ovs.trunk[0]: {"min_id": 10} must set id, or both min_id and max_id (a trunk entry names VLANs)'),
    (dict(ovs=dict(bridge='br1', vlan=30, trunk=[dict(id=40)])),
     'ovs.vlan: 30 cannot be combined with ovs.trunk (ovs-cni makes a trunk port when trunk is set and ignores the VLAN): '
     'use vlan for an access port or trunk for a trunk port'),
    (dict(ovs=dict(bridge='br1', device_id='zz')), 'ovs.device_id: "zz" must be a PCI address like 0000:af:00.1 (the VF\'s deviceID)'),
    (dict(macvlan=dict(master=['eth0'])),
     'macvlan: {"master": ["eth0"]} must not be set with cni_type ovs (webhook rule: no other CNI block may be present)'),
    (dict(nad_name='Bad_Name'), 'nad_name: "Bad_Name" must be a DNS-1123 subdomain (webhook rule: annotation multus.spidernet.io/cr-name)'),
    (dict(cni_version='0.2.0'),
     'cni_version: "0.2.0" must be one of 0.3.0, 0.3.1, 0.4.0, 1.0.0 (webhook rule: annotation multus.spidernet.io/cni-version)'),
    (dict(annotations={'cni.spidernet.io/rdma-resource-inject': 'x'}),
     'annotations.cni.spidernet.io/rdma-resource-inject: "x" is forbidden for cni_type ovs (webhook rule)'),
    (dict(annotations={'cni.spidernet.io/network-resource-inject': 'x'}),
     'annotations.cni.spidernet.io/network-resource-inject: "x" is forbidden for cni_type ovs (webhook rule)'),
    (dict(default_ip_pools=dict(ipv4=['Bad Pool'])), 'default_ip_pools.ipv4[0]: "Bad Pool" must be a SpiderIPPool name (DNS-1123 subdomain)'),
    (dict(coordinator=dict(veth_mtu=1400)),
     'coordinator.veth_mtu: 1400 is not served by this Spiderpool version (no coordinator.vethMTU in the SpiderMultusConfig CRD)'),
    (dict(name='UPPER'), 'name: "UPPER" must be a DNS-1123 subdomain (lower-case alphanumerics, "-" and ".")'),
    (dict(namespace='a.b'), 'namespace: "a.b" must be a DNS-1123 label'),
    (dict(cni_type='macvlan', ovs=None, macvlan=dict(master=[])), 'macvlan.master: [] is required for cni_type macvlan (webhook rule)'),
    (dict(cni_type='ipvlan', ovs=None, ipvlan=dict(master=['eth0'], vlan_id=5000)),
     'ipvlan.vlan_id: 5000 must be between 0 and 4094 (webhook rule: vlanID)'),
    (dict(cni_type='custom', ovs=None, custom_cni='{}', coordinator=dict(enabled=True)),
     'coordinator.enabled: true cannot be true for cni_type custom (the webhook forces enableCoordinator=false)'),
]

IFNAME_RULE = 'must be a Linux interface name (1-15 ASCII letters, digits, "_", "." and "-", starting with a letter or digit)'
MAC_PREFIX_RULE = ('must be a two-byte unicast MAC prefix like 0a:1b: two hex octets, the first starting with 0 and its lowest bit 0 '
                   '(webhook rule: podMACPrefix), or empty')
LINK_LOCAL_RULE = 'must be an IPv4 link-local address in 169.254.0.0/16 like 169.254.100.1 (Spiderpool: vethLinkAddress), or empty'
TABLE_RULE = 'must be a routing table number from 1 to 4294967295, not the kernel\'s 253 (default), 254 (main) or 255 (local)'
# coordinator fields, annotations and names as a hostile or careless inventory writes them (checked with every field served)
MULTUS_ATTACK_CASES = [
    (dict(coordinator=dict(hijack_cidr=['not-a-cidr'])),
     'coordinator.hijack_cidr[0]: "not-a-cidr" must be an IP address or a CIDR network with its host bits zero, like 169.254.0.0/16: '
     '\'not-a-cidr\' does not appear to be an IPv4 or IPv6 address (webhook rule: hijackCIDR)'),
    (dict(coordinator=dict(hijack_cidr=['10.0.0.1/8'])),
     'coordinator.hijack_cidr[0]: "10.0.0.1/8" must be an IP address or a CIDR network with its host bits zero, like 169.254.0.0/16: '
     '10.0.0.1/8 has host bits set (webhook rule: hijackCIDR)'),
    (dict(coordinator=dict(hijack_cidr=['169.254.0.0/33'])),
     'coordinator.hijack_cidr[0]: "169.254.0.0/33" must be an IP address or a CIDR network with its host bits zero, like '
     '169.254.0.0/16: \'169.254.0.0/33\' does not appear to be an IPv4 or IPv6 network (webhook rule: hijackCIDR)'),
    (dict(coordinator=dict(hijack_cidr=[' 10.0.0.0/8'])),
     'coordinator.hijack_cidr[0]: " 10.0.0.0/8" must be an IP address or a CIDR like 169.254.0.0/16 (webhook rule: hijackCIDR)'),
    (dict(coordinator=dict(pod_mac_prefix='1a:2b')), 'coordinator.pod_mac_prefix: "1a:2b" ' + MAC_PREFIX_RULE),
    (dict(coordinator=dict(pod_mac_prefix='0b:00')), 'coordinator.pod_mac_prefix: "0b:00" ' + MAC_PREFIX_RULE),
    (dict(coordinator=dict(pod_mac_prefix='0a:1b:2c')), 'coordinator.pod_mac_prefix: "0a:1b:2c" ' + MAC_PREFIX_RULE),
    (dict(coordinator=dict(pod_mac_prefix='$(reboot)')), 'coordinator.pod_mac_prefix: "$(reboot)" ' + MAC_PREFIX_RULE),
    (dict(coordinator=dict(veth_link_address='10.0.0.1')), 'coordinator.veth_link_address: "10.0.0.1" ' + LINK_LOCAL_RULE),
    (dict(coordinator=dict(veth_link_address='fe80::1')), 'coordinator.veth_link_address: "fe80::1" ' + LINK_LOCAL_RULE),
    (dict(coordinator=dict(veth_link_address='169.254.1.1; id')), 'coordinator.veth_link_address: "169.254.1.1; id" ' + LINK_LOCAL_RULE),
    (dict(coordinator=dict(pod_default_route_nic='eth0; reboot')),
     'coordinator.pod_default_route_nic: "eth0; reboot" ' + IFNAME_RULE + ' (the pod NIC that takes the default route), or empty'),
    (dict(coordinator=dict(pod_default_route_nic='a' * 16)),
     'coordinator.pod_default_route_nic: "%s" %s (the pod NIC that takes the default route), or empty' % ('a' * 16, IFNAME_RULE)),
    (dict(coordinator=dict(pod_rp_filter=3)),
     'coordinator.pod_rp_filter: 3 must be 0, 1 or 2, or negative to leave rp_filter as it is (webhook rule: podRPFilter)'),
    (dict(coordinator=dict(host_rule_table=254)), 'coordinator.host_rule_table: 254 ' + TABLE_RULE),
    (dict(coordinator=dict(host_rule_table=0)), 'coordinator.host_rule_table: 0 ' + TABLE_RULE),
    (dict(coordinator=dict(host_rule_table=2 ** 32)), 'coordinator.host_rule_table: 4294967296 ' + TABLE_RULE),
    (dict(coordinator=dict(tx_queue_len=-1)), 'coordinator.tx_queue_len: -1 must be an integer from 0 (leave it) to 2147483647'),
    (dict(coordinator=dict(veth_mtu=67)), 'coordinator.veth_mtu: 67 must be an MTU from 68 (the IPv4 minimum) to 65535'),
    (dict(coordinator=dict(veth_mtu=70000)), 'coordinator.veth_mtu: 70000 must be an MTU from 68 (the IPv4 minimum) to 65535'),
    (dict(annotations={'bad key': 'x'}), 'annotations: "bad key" ' + KEY_RULE),
    (dict(annotations={'ok': ['list']}), 'annotations.ok: ["list"] ' + SCALAR_RULE),
    (dict(annotations={'big': 'x' * 300000}),
     'annotations: "<300003 bytes>" is too long: the rule is at most 262144 bytes of annotation keys and values in total'),
    (dict(cni_type='custom', ovs=None, custom_cni='[1,2]'), 'custom_cni: "[1,2]" must be a JSON object (a CNI network configuration)'),
    (dict(ovs=dict(bridge='br1 ')), 'ovs.bridge: "br1 " ' + IFNAME_RULE + ', as OVS bridges are'),
    (dict(ovs=dict(bridge='$(id)')), 'ovs.bridge: "$(id)" ' + IFNAME_RULE + ', as OVS bridges are'),
    (dict(cni_type='macvlan', ovs=None, macvlan=dict(master=['eth0;reboot'])), 'macvlan.master[0]: "eth0;reboot" ' + IFNAME_RULE),
]


@pytest.mark.parametrize('params,message', MULTUS_ATTACK_CASES, ids=['attack-%d' % i for i in range(len(MULTUS_ATTACK_CASES))])
def test_multus_attack_message(params, message):
    assert mc.validate(dict(SMC_BASE, **params), mc.SMC_KIND) == [message]


def test_coordinator_values_that_are_fine():
    good = dict(hijack_cidr=['169.254.0.0/16', '10.96.0.10', 'fd00::/64'], pod_mac_prefix='0a:1b', veth_link_address='169.254.100.1',
                pod_default_route_nic='net1', pod_rp_filter=-1, host_rule_table=500, tx_queue_len=0, veth_mtu=1500, mode='underlay',
                pod_cidr_type='none')
    assert mc.validate(dict(SMC_BASE, coordinator=good, annotations={'example.com/team': 5}), mc.SMC_KIND) == []
    assert mc.smc_manifest(dict(SMC_BASE, annotations={'example.com/team': 5}))['metadata']['annotations'] == {'example.com/team': '5'}


@pytest.mark.parametrize('params,message', MULTUS_CASES, ids=[m.split(':')[0] + '-%d' % i for i, (_p, m) in enumerate(MULTUS_CASES)])
def test_multus_rule_message(params, message):
    assert mc.validate(dict(SMC_BASE, **params), mc.SMC_KIND, SERVED_V09) == [message]


def test_invalid_custom_json_and_nad_kind_limits():
    errors = mc.validate(dict(SMC_BASE, cni_type='custom', ovs=None, custom_cni='{bad'), mc.SMC_KIND)
    assert len(errors) == 1 and errors[0].startswith('custom_cni: "{bad" must be valid JSON (webhook rule: customCNI): ')
    assert mc.validate(dict(SMC_BASE, cni_type='macvlan', ovs=None, macvlan=dict(master=['eth0'])), mc.NAD_KIND) == [
        'cni_type: "macvlan" cannot be written as a plain NetworkAttachmentDefinition by this module; only ovs can (use kind SpiderMultusConfig)']
    assert mc.validate(dict(SMC_BASE, coordinator=dict(veth_mtu=1400)), mc.SMC_KIND, SERVED_V1) == []


def test_default_pools_must_exist_and_match_family():
    pools = {'v4': {'spec': {'ipVersion': 4, 'subnet': S}}, 'v6': {'spec': {'ipVersion': 6, 'subnet': 'fd00::/64'}}}
    params = dict(SMC_BASE, default_ip_pools=dict(ipv4=['v4', 'v6', 'nope'], ipv6=['v6']))
    assert mc.validate_against_pools(params, pools) == [
        'default_ip_pools.ipv4[1]: "v6" is an IPv6 pool (subnet fd00::/64) listed as ipv4',
        'default_ip_pools.ipv4[2]: "nope" names a SpiderIPPool that does not exist']


def test_cr_name_is_immutable():
    existing = {'metadata': {'annotations': {mc.CR_NAME_ANNOTATION: 'old-nad'}}}
    assert mc.validate_update(dict(SMC_BASE, nad_name='new-nad'), existing) == [
        'nad_name: "new-nad" cannot change from "old-nad": annotation multus.spidernet.io/cr-name is immutable once set (webhook rule)']
    assert mc.validate_update(dict(SMC_BASE, nad_name='old-nad'), existing) == []


def test_nad_config_matches_the_generated_one_byte_for_byte():
    params = dict(SMC_BASE, name='ovs-vlan30', ovs=dict(bridge='br1', vlan=30), default_ip_pools=dict(ipv4=['vlan30-v4']))
    nad = mc.nad_manifest(params)
    assert nad['spec']['config'] == (
        '{"cniVersion":"0.3.1","name":"ovs-vlan30","plugins":[{"vlan":30,"type":"ovs","bridge":"br1","ipam":{"type":"spiderpool",'
        '"default_ipv4_ippool":["vlan30-v4"]}},{"tunePodRoutes":true,"mode":"auto","type":"coordinator"}]}')
    assert nad['metadata'] == {'name': 'ovs-vlan30', 'namespace': 'kube-system'}


def test_nad_config_optional_keys():
    params = dict(SMC_BASE, nad_name='custom-nad', cni_version='1.0.0', disable_ipam=False,
                  ovs=dict(bridge='br1', trunk=[dict(min_id=10, max_id=20), dict(id=30)], device_id='0000:af:00.1'),
                  default_ip_pools=dict(ipv6=['v6']), coordinator=dict(enabled=False))
    nad = mc.nad_manifest(params)
    config = json.loads(nad['spec']['config'])
    assert config == {'cniVersion': '1.0.0', 'name': 'custom-nad', 'plugins': [
        {'vlan': 0, 'type': 'ovs', 'bridge': 'br1', 'trunk': [{'minID': 10, 'maxID': 20}, {'id': 30}], 'deviceID': '0000:af:00.1',
         'ipam': {'type': 'spiderpool', 'default_ipv6_ippool': ['v6']}}]}
    assert nad['metadata']['annotations'] == {'k8s.v1.cni.cncf.io/resourceName': 'ovs-cni.network.kubevirt.io/br1'}
    no_ipam = json.loads(mc.nad_manifest(dict(SMC_BASE, disable_ipam=True))['spec']['config'])
    assert 'ipam' not in no_ipam['plugins'][0]


def test_smc_spec():
    params = dict(SMC_BASE, ovs=dict(bridge='br1', vlan=30), default_ip_pools=dict(ipv4=['p4']), nad_name='n1',
                  coordinator=dict(mode='underlay', pod_default_route_nic='net1'))
    smc = mc.smc_manifest(params)
    assert smc['metadata'] == {'name': 'ovs-vlan30', 'namespace': 'kube-system', 'annotations': {mc.CR_NAME_ANNOTATION: 'n1'}}
    assert smc['spec'] == {'cniType': 'ovs', 'ovs': {'bridge': 'br1', 'vlan': 30, 'ippools': {'ipv4': ['p4'], 'ipv6': []}},
                           'enableCoordinator': True, 'coordinator': {'mode': 'underlay', 'podDefaultRouteNIC': 'net1'}}
    custom = mc.smc_manifest(dict(SMC_BASE, cni_type='custom', ovs=None, custom_cni='{"type":"x"}'))
    assert custom['spec'] == {'cniType': 'custom', 'customCNI': '{"type":"x"}'}


def test_pool_with_the_cidr_of_another_subnet_is_not_an_orphan():
    # The mutating webhook would have made subnet "narrow" its owner: only the subnet-vs-subnet rule applies.
    spec = {'subnet': '10.0.0.0/8', 'ipVersion': 4, 'ips': []}
    narrow = subnet('narrow', S, ['10.6.0.1-10.6.0.9'])
    assert sp.validate_subnet_against_cluster('wide', spec, [narrow], [pool('child', S, ['10.6.0.1'])]) == [
        'subnet: "10.0.0.0/8" overlaps subnet 10.6.0.0/16 of SpiderSubnet narrow (subnet rule: subnets of one IP version must not overlap)']


def test_spiderpool_conf_switches():
    conf = {'data': {'conf.yml': 'ipamUnixSocketPath: /x\nenableIPv4: true\nenableIPv6: false\nenableSpiderSubnet: false\n'}}
    assert sp.parse_spiderpool_conf(conf) == {'families': (4,), 'subnet_feature': False}
    assert sp.parse_spiderpool_conf(None) == {'families': (4, 6), 'subnet_feature': True}
    assert sp.disabled_family_problem(SUBNET, 6) == (
        'ip_version: 6 names an IP family that is disabled in Spiderpool (ipam.enableIPv6=false) (webhook rule 1: ipVersion)')


def _upstream_crd(directory, plural):
    import pathlib  # pylint: disable=import-outside-toplevel
    import yaml  # pylint: disable=import-outside-toplevel
    root = pathlib.Path(__file__).resolve().parents[3]
    path = root.parent / 'shared' / 'upstream' / directory / ('spiderpool.spidernet.io_%s.yaml' % plural)
    if not path.exists():
        pytest.skip('upstream CRDs not found at ../shared/upstream (relative to the repository root)')
    return yaml.safe_load(path.read_text(encoding='utf-8'))


def test_served_fields_decide_version_specific_options():
    v1 = mc.served_smc_fields(_upstream_crd('spiderpool', 'spidermultusconfigs'))
    v09 = mc.served_smc_fields(_upstream_crd('spiderpool-v0.9.13', 'spidermultusconfigs'))
    assert 'vethMTU' in v1['coordinator'] and 'vethMTU' not in v09['coordinator']
    assert 'vlan' in v1['cni_types'] and 'vlan' not in v09['cni_types']
    pool_v1 = _upstream_crd('spiderpool', 'spiderippools')['spec']['versions'][0]['schema']['openAPIV3Schema']
    pool_v09 = _upstream_crd('spiderpool-v0.9.13', 'spiderippools')['spec']['versions'][0]['schema']['openAPIV3Schema']
    assert 'vlan' not in pool_v1['properties']['spec']['properties'] and 'vlan' in pool_v09['properties']['spec']['properties']


def test_a_default_pool_must_admit_its_multus_cr():
    pools = {'mine': {'spec': {'ipVersion': 4, 'subnet': S, 'multusName': ['kube-system/ovs-vlan30']}},
             'bare': {'spec': {'ipVersion': 4, 'subnet': S, 'multusName': ['ovs-vlan30']}},
             'other': {'spec': {'ipVersion': 4, 'subnet': S, 'multusName': ['kube-system/ovs-vlan40', 'ovs-vlan50']}}}
    params = dict(SMC_BASE, default_ip_pools=dict(ipv4=['mine', 'bare', 'other']))
    assert mc.validate_against_pools(params, pools) == [
        'default_ip_pools.ipv4[2]: "other" admits only the Multus CRs kube-system/ovs-vlan40, kube-system/ovs-vlan50 (its multusName), '
        'not kube-system/ovs-vlan30: the rule is that a default pool admits its Multus CR']
    # the NAD name is what multusName lists (cr-name annotation)
    assert mc.validate_against_pools(dict(params, nad_name='ovs-vlan40', default_ip_pools=dict(ipv4=['other'])), pools) == []


@pytest.mark.parametrize('value', ['pool\n', 'vm1\n'])
def test_a_trailing_newline_is_not_a_valid_name(value):
    """``$`` in a pattern also matches before a final newline; every whole-value rule anchors at the very end."""
    assert sp.validate_name(value) and mc.validate(dict(SMC_BASE, name=value), mc.SMC_KIND)
    assert mc.validate(dict(SMC_BASE, ovs=dict(bridge='br1\n')), mc.SMC_KIND)
    assert mc.validate(dict(SMC_BASE, namespace='kube-system\n'), mc.SMC_KIND)
    assert sp.validate_metadata({'labels': {'app': 'x\n'}})[0]
