"""One semantics for "free IPs of a pool": vm_network's preflight and the _info modules agree.

The counts follow Spiderpool's allocator: ips minus excludeIPs, minus SpiderReservedIPs of the
pool's version, minus the records of status.allocatedIPs (or the count when only a count is there).
"""
import json

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool as sp
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_preflight as pf


def pool(ips, exclude=(), status=None, subnet='10.6.0.0/24', version=None):
    spec = {'subnet': subnet, 'ips': list(ips), 'excludeIPs': list(exclude)}
    if version:
        spec['ipVersion'] = version
    return {'metadata': {'name': 'p'}, 'spec': spec, 'status': status or {}}


def records(*addresses):
    return {'allocatedIPs': json.dumps(dict((a, {'pod': 'vms/vm%d' % i, 'podUid': 'u%d' % i}) for i, a in enumerate(addresses))),
            'allocatedIPCount': len(addresses)}


def reserved(*ips, **meta):
    return {'metadata': dict({'name': 'r'}, **meta), 'spec': {'ips': list(ips)}}


RESERVED = [reserved('10.6.0.12-10.6.0.13', '10.6.0.200', 'fd00::5'), reserved('10.6.0.14', deletionTimestamp='2024-01-01T00:00:00Z')]
CASES = [
    # (pool, reserved objects, expected usage)
    (pool(['10.6.0.10-10.6.0.19'], ['10.6.0.19']), (), (9, 0, 0, 9)),
    (pool(['10.6.0.10-10.6.0.19'], ['10.6.0.19'], records('10.6.0.10', '10.6.0.11')), (), (9, 2, 0, 7)),
    # a reserved IP is not handed out; one outside ips, of the other family or terminating holds nothing here
    (pool(['10.6.0.10-10.6.0.19'], ['10.6.0.19'], records('10.6.0.10')), RESERVED, (9, 1, 2, 6)),
    # a reserved IP that is allocated anyway (reserved after the fact) is counted once, as allocated
    (pool(['10.6.0.10-10.6.0.19'], (), records('10.6.0.12')), RESERVED, (10, 1, 1, 8)),
    # a status with only a count (no records): the count is taken
    (pool(['10.6.0.10-10.6.0.19'], (), {'allocatedIPCount': 3}), (), (10, 3, 0, 7)),
    (pool(['fd00::1-fd00::8'], subnet='fd00::/64', version=6), RESERVED, (8, 0, 1, 7)),
    (pool(['banana']), (), (None, None, None, None)),
]


@pytest.mark.parametrize('obj, reserved_objects, expected', CASES)
def test_pool_usage(obj, reserved_objects, expected):
    usage = _spiderpool_model.pool_usage(obj, reserved_objects)
    assert (usage['total_ip_count'], usage['allocated_ip_count'], usage['reserved_ip_count'], usage['free_ip_count']) == expected


@pytest.mark.parametrize('obj, reserved_objects, expected', CASES)
def test_preflight_and_info_summaries_agree(obj, reserved_objects, expected):
    """The two former call sites (vm_network preflight, spiderpool_ippool_info) give the same free count."""
    summary = sp.summarize(obj, reserved_objects)
    assert pf.pool_free_ips(obj, reserved_objects) == (summary['free_ip_count'] or 0) == (expected[3] or 0)
    assert summary['allocated_ip_count'] == expected[1] and summary['total_ip_count'] == expected[0]


def test_preflight_counts_reserved_ips_as_taken():
    """Three VMs on a pool of four addresses, two of them reserved: preflight reports the shortage."""
    params = {'namespace': 'vms', 'network_mode': 'bridge', 'vms': [{'name': 'v%d' % i} for i in range(3)],
              'nics': [{'name': 'a', 'multus_cr': 'kube-system/ovs30', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['p30']}}]}
    from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_spec import normalize_request
    entries, found = normalize_request(params)
    assert not found
    smc = {'metadata': {'name': 'ovs30', 'namespace': 'kube-system'}, 'spec': {'cniType': 'ovs', 'ovs': {'bridge': 'br1'}}}
    p30 = {'metadata': {'name': 'p30'}, 'spec': {'subnet': '10.30.0.0/24', 'ipVersion': 4, 'ips': ['10.30.0.10-10.30.0.13']}}
    facts = pf.ClusterFacts(smcs=[smc], pools=[p30], namespaces={'vms': {}}, reserved_ips=[reserved('10.30.0.10-10.30.0.11')])
    problems = pf.check(entries, facts)['problems']
    assert len(problems) == 1 and "['p30'] have no free IP left for 1 NIC(s)" in problems[0] and 'vms/v2 a' in problems[0]
