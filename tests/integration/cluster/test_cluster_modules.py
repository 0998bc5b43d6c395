"""spiderpool_ippool, spiderpool_subnet, multus_cr and their _info modules through real
ansible-playbook runs against the API emulator (with the Spiderpool v1.2.2 CRDs preloaded).

Everything asserted here would hold against a real cluster: what is written is read back
through the API, "nothing written" is read from the server's request log.
"""
import importlib.util
import json
import pathlib

import pytest

from cluster_helpers import SPIDERPOOL, assert_valid, crd_schema, run_module, set_status

POOL = 'vmnet.kubevirt.spiderpool_ippool'
SUBNET = 'vmnet.kubevirt.spiderpool_subnet'
MULTUS = 'vmnet.kubevirt.multus_cr'
NAD_API = 'k8s.cni.cncf.io/v1'
# A refused input: every problem listed, nothing written (the one failure form of every module family).
REFUSED = '1 problem(s), nothing was written: '


def refusal(*problems):
    return '%d problem(s), nothing was written: %s' % (len(problems), '; '.join(problems))


def load_rule_cases():
    """The unit tests' tables of invalid inputs and their exact messages."""
    path = pathlib.Path(__file__).resolve().parents[2] / 'unit' / 'cluster' / 'test_cluster_rules.py'
    spec = importlib.util.spec_from_file_location('cluster_rule_cases', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def writes(kubeapi):
    return [(w['verb'], w.get('resource'), w.get('name')) for w in kubeapi.writes()]


def test_pool_create_rerun_change_check_diff_delete(play, kubeapi, upstream_crds):
    pool = {'name': 'vlan30-v4', 'subnet': '172.30.0.0/16', 'ips': ['172.30.10.20-172.30.10.40', '172.30.10.10-172.30.10.21'],
            'exclude_ips': ['172.30.10.15'], 'gateway': '172.30.0.1', 'routes': [{'dst': '10.99.0.0/16', 'gw': '172.30.0.254'}],
            'multus_name': ['kube-system/ovs-vlan30'], 'pod_affinity': {'match_labels': {'app': 'vm'}}}
    changed = dict(pool, ips=['172.30.10.10-172.30.10.60'])
    absent = {'name': 'vlan30-v4', 'state': 'absent'}
    kubeapi.clear_requests()
    created, rerun, checked, deleted_check = play([
        {POOL: pool}, {POOL: pool},
        {POOL: changed, 'check_mode': True}, {POOL: absent, 'check_mode': True}], diff=True)
    assert created['changed'] and created['action'] == 'created', created
    assert not rerun['changed'] and rerun['action'] == 'unchanged', rerun
    assert created['diff']['before'] == {} and created['diff']['after']['spec']['gateway'] == '172.30.0.1'
    assert checked['changed'] and checked['action'] == 'updated', checked
    assert checked['diff']['before']['spec']['ips'] == ['172.30.10.10-172.30.10.40']
    assert checked['diff']['after']['spec']['ips'] == ['172.30.10.10-172.30.10.60']
    assert deleted_check['changed'] and deleted_check['action'] == 'deleted'
    # server-side apply with the collection's field manager; check mode only sent dry runs
    assert [(verb, resource) for verb, resource, _name in writes(kubeapi)] == [('patch', 'spiderippools')]
    assert [w['field_manager'] for w in kubeapi.writes()] == ['vmnet.kubevirt']
    assert any(r['dry_run'] for r in kubeapi.requests() if r['verb'] == 'patch')
    stored = kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'vlan30-v4')
    assert stored['spec']['ips'] == ['172.30.10.10-172.30.10.40']  # merged as Spiderpool's mutator stores it
    assert stored['spec']['ipVersion'] == 4 and stored['spec']['podAffinity'] == {'matchLabels': {'app': 'vm'}}
    assert_valid(stored, crd_schema(upstream_crds, 'spiderpool', 'spiderippools'))

    updated, again, deleted, gone = play([{POOL: changed}, {POOL: changed}, {POOL: absent}, {POOL: absent}])
    assert updated['changed'] and updated['action'] == 'updated' and not again['changed']
    assert updated['result']['spec']['ips'] == ['172.30.10.10-172.30.10.60']
    assert deleted['changed'] and deleted['action'] == 'deleted'
    assert not gone['changed'] and gone['action'] == 'absent'
    assert kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'vlan30-v4') is None


def run_tasks(kubeapi, tasks):
    """Tasks ({module: params}) through each module's main() in-process, in order."""
    return [run_module(name.split('.')[-1], dict(params, kubeconfig=kubeapi.kubeconfig))
            for task in tasks for name, params in task.items()]


def test_subnet_and_cross_object_rules(kubeapi, upstream_crds):
    subnet = {'name': 'vlan40', 'subnet': '172.40.0.0/16', 'ips': ['172.40.0.10-172.40.0.100'], 'gateway': '172.40.0.1'}
    results = run_tasks(kubeapi, [
        {SUBNET: subnet},
        {SUBNET: subnet},
        {POOL: {'name': 'vlan40-a', 'subnet': '172.40.0.0/16', 'ips': ['172.40.0.10-172.40.0.50']}},
        # rule 10: outside the subnet's ips
        {POOL: {'name': 'vlan40-b', 'subnet': '172.40.0.0/16', 'ips': ['172.40.0.90-172.40.0.120']}},
        # rule 6: overlaps vlan40-a
        {POOL: {'name': 'vlan40-c', 'subnet': '172.40.0.0/16', 'ips': ['172.40.0.50-172.40.0.60']}},
        # rule 4: a different, overlapping subnet
        {POOL: {'name': 'vlan40-d', 'subnet': '172.40.5.0/24', 'ips': ['172.40.5.10']}},
        # subnet rule: overlaps subnet vlan40
        {SUBNET: {'name': 'vlan40-wide', 'subnet': '172.0.0.0/8'}},
        # update rule: subnet is immutable
        {SUBNET: dict(subnet, subnet='172.41.0.0/16', ips=['172.41.0.10'], gateway='172.41.0.1')},
        # subnet update rule: shrinking below the IPs of its pool
        {SUBNET: dict(subnet, ips=['172.40.0.10-172.40.0.30'])},
    ])
    assert [r['changed'] for r in results[:3]] == [True, False, True]
    messages = [r.get('msg') for r in results[3:]]
    assert all(r.get('failed') for r in results[3:]), results[3:]
    assert messages == [refusal(message) for message in [
        'ips: ["172.40.0.90-172.40.0.120"] are not a subset of the IPs of SpiderSubnet vlan40: 172.40.0.101-172.40.0.120 '
        '(webhook rule 10: a pool\'s IPs must lie in its subnet\'s ips)',
        'ips: ["172.40.0.50-172.40.0.60"] overlap the IPs of SpiderIPPool vlan40-a (same subnet 172.40.0.0/16) at 172.40.0.50 '
        '(webhook rule 6: effective IPs must not overlap another pool)',
        'subnet: "172.40.5.0/24" overlaps subnet 172.40.0.0/16 of SpiderIPPool vlan40-a; pools of one IP version must use the '
        'identical subnet or non-overlapping ones (webhook rule 4)',
        'subnet: "172.0.0.0/8" overlaps subnet 172.40.0.0/16 of SpiderSubnet vlan40 (subnet rule: subnets of one IP version must not '
        'overlap)',
        'subnet: "172.41.0.0/16" cannot change from "172.40.0.0/16": subnet is immutable (webhook update rule)',
        'ips: ["172.40.0.10-172.40.0.30"] would remove IPs used by its controlled pools: 172.40.0.31-172.40.0.50 (subnet update rule)',
    ]]
    stored = kubeapi.get(SPIDERPOOL, 'SpiderSubnet', 'vlan40')
    assert stored['spec']['ips'] == ['172.40.0.10-172.40.0.100']
    assert_valid(stored, crd_schema(upstream_crds, 'spiderpool', 'spidersubnets'))
    assert kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'vlan40-b') is None


def invalid_cases():
    cases = load_rule_cases()
    found = []
    for index, (params, message) in enumerate(cases.POOL_CASES):
        if 'ip_version' in params and params['ip_version'] not in (4, 6):
            continue  # the argument spec's choices catch it first (below)
        found.append(('spiderpool_ippool', dict(params, name='bad-pool-%d' % index), message))
    for index, (params, message) in enumerate(cases.POOL_CASES[:12]):
        if 'ip_version' in params and params['ip_version'] not in (4, 6):
            continue
        found.append(('spiderpool_subnet', dict(params, name='bad-subnet-%d' % index), message))
    for params, message in cases.MULTUS_CASES:
        if 'veth_mtu' in str(params):
            continue  # served by v1.2.2; refused on v0.9 (test_v09_crds...)
        found.append(('multus_cr', dict(cases.SMC_BASE, **params), message))
    for index, (labels, message) in enumerate(cases.LABEL_CASES):
        found.append(('spiderpool_ippool', {'name': 'bad-labels-%d' % index, 'subnet': '10.60.0.0/16', 'labels': labels}, message))
        found.append(('spiderpool_subnet', {'name': 'bad-labels-%d' % index, 'subnet': '10.60.0.0/16', 'labels': labels}, message))
    for params, message in cases.MULTUS_ATTACK_CASES:
        found.append(('multus_cr', dict(cases.SMC_BASE, **params), message))
    found.append(('spiderpool_ippool', {'name': 'bad-version', 'subnet': '10.0.0.0/8', 'ip_version': 5},
                  'value of ip_version must be one of: 4, 6, got: 5'))
    found.append(('multus_cr', dict(cases.SMC_BASE, default_ip_pools={'ipv4': ['missing-pool']}),
                  'default_ip_pools.ipv4[0]: "missing-pool" names a SpiderIPPool that does not exist'))
    return found


def test_every_invalid_input_fails_before_any_write(kubeapi):
    """Every invalid input, through each module's main(), against the emulator: each fails with
    its exact message and the server's request log shows no write at all."""
    cases = invalid_cases()
    assert len(cases) >= 120
    kubeapi.clear_requests()
    for module, params, message in cases:
        result = run_module(module, dict(params, kubeconfig=kubeapi.kubeconfig))
        assert result.get('failed'), (module, params, result)
        assert message in result['msg'], (module, params, result['msg'], message)
    assert writes(kubeapi) == []


def test_invalid_inputs_through_ansible_playbook(play, kubeapi):
    """A sample of the same cases through real ansible-playbook, check mode off: no write."""
    sample = invalid_cases()[::16]
    kubeapi.clear_requests()
    results = play([{'vmnet.kubevirt.' + module: params} for module, params, _message in sample])
    assert writes(kubeapi) == []
    for (module, params, message), result in zip(sample, results):
        assert result.get('failed') and message in result['msg'], (module, params, result)


def test_v09_crds_serve_vlan_and_lack_veth_mtu(tmp_path, upstream_crds):
    from cluster_helpers import PlayRunner  # pylint: disable=import-outside-toplevel
    from lab.kubeapi.fixtures import start_kubeapi  # pylint: disable=import-outside-toplevel
    with start_kubeapi(tmp_path / 'api09', crds='spiderpool-v0.9') as api:
        run = PlayRunner(tmp_path, api)
        results = run([
            {POOL: {'name': 'old-vlan', 'subnet': '10.9.0.0/16', 'ips': ['10.9.0.10'], 'vlan': 9}},
            {SUBNET: {'name': 'old-vlan', 'subnet': '10.9.0.0/16', 'ips': ['10.9.0.1-10.9.0.99'], 'vlan': 9}},
            {MULTUS: {'name': 'ovs-mtu', 'ovs': {'bridge': 'br1'}, 'coordinator': {'veth_mtu': 1400}}},
            {MULTUS: {'name': 'ovs-v09', 'ovs': {'bridge': 'br1', 'vlan': 9},
                      'default_ip_pools': {'ipv4': ['old-vlan']}, 'coordinator': {'mode': 'underlay'}}},
            {MULTUS: {'name': 'ovs-v09-trunk', 'ovs': {'bridge': 'br1', 'trunk': [{'min_id': 100, 'max_id': 110}]}}},
        ])
        assert results[0]['changed'] and results[1]['changed'], results
        stored = api.get(SPIDERPOOL, 'SpiderIPPool', 'old-vlan')
        assert stored['spec']['vlan'] == 9
        assert_valid(stored, crd_schema(upstream_crds, 'spiderpool-v0.9.13', 'spiderippools'))
        assert_valid(api.get(SPIDERPOOL, 'SpiderSubnet', 'old-vlan'), crd_schema(upstream_crds, 'spiderpool-v0.9.13', 'spidersubnets'))
        assert results[2]['failed'] and results[2]['msg'] == refusal(
            'coordinator.veth_mtu: 1400 is not served by this Spiderpool version (no coordinator.vethMTU in the SpiderMultusConfig CRD)')
        assert api.get(SPIDERPOOL, 'SpiderMultusConfig', 'ovs-mtu', 'kube-system') is None
        assert results[3]['changed'], results[3]
        assert_valid(api.get(SPIDERPOOL, 'SpiderMultusConfig', 'ovs-v09', 'kube-system'),
                     crd_schema(upstream_crds, 'spiderpool-v0.9.13', 'spidermultusconfigs'))
        assert results[4]['changed'], results[4]
        assert_valid(api.get(SPIDERPOOL, 'SpiderMultusConfig', 'ovs-v09-trunk', 'kube-system'),
                     crd_schema(upstream_crds, 'spiderpool-v0.9.13', 'spidermultusconfigs'))


def test_multus_cr_smc_nad_and_info(play, kubeapi, upstream_crds):
    kubeapi.simulate('spidermultusconfig-nad')
    smc = {'name': 'ovs-vlan30', 'namespace': 'kube-system', 'ovs': {'bridge': 'br1', 'vlan': 30},
           'default_ip_pools': {'ipv4': ['vlan30-v4']}}
    results = play([
        {POOL: {'name': 'vlan30-v4', 'subnet': '172.30.0.0/16', 'ips': ['172.30.0.10-172.30.0.99']}},
        {POOL: {'name': 'vlan30-v6', 'subnet': 'fd00:30::/64', 'ips': ['fd00:30::10-fd00:30::99']}},
        {MULTUS: smc},
        {MULTUS: smc},
        {MULTUS: dict(smc, default_ip_pools={'ipv4': ['vlan30-v6']})},
        {MULTUS: dict(smc, name='ovs-plain', kind='NetworkAttachmentDefinition')},
        {MULTUS: dict(smc, name='ovs-plain', kind='NetworkAttachmentDefinition')},
        {'vmnet.kubevirt.multus_cr_info': {'name': 'ovs-vlan30', 'namespace': 'kube-system'}},
        # the generated NAD belongs to the SMC: managing it as a plain NAD is refused
        {MULTUS: dict(smc, kind='NetworkAttachmentDefinition', ovs={'bridge': 'br2'})},
    ], diff=True)
    assert [r['changed'] for r in results[:4]] == [True, True, True, False], results
    assert results[2]['kind'] == 'SpiderMultusConfig'
    assert results[4]['failed'] and results[4]['msg'] == refusal(
        'default_ip_pools.ipv4[0]: "vlan30-v6" is an IPv6 pool (subnet fd00:30::/64) listed as ipv4')
    assert results[5]['changed'] and not results[6]['changed']
    stored_smc = kubeapi.get(SPIDERPOOL, 'SpiderMultusConfig', 'ovs-vlan30', 'kube-system')
    assert_valid(stored_smc, crd_schema(upstream_crds, 'spiderpool', 'spidermultusconfigs'))
    plain = kubeapi.get(NAD_API, 'NetworkAttachmentDefinition', 'ovs-plain', 'kube-system')
    assert plain['spec']['config'] == (
        '{"cniVersion":"0.3.1","name":"ovs-plain","plugins":[{"vlan":30,"type":"ovs","bridge":"br1","ipam":{"type":"spiderpool",'
        '"default_ipv4_ippool":["vlan30-v4"]}},{"tunePodRoutes":true,"mode":"auto","type":"coordinator"}]}')
    assert_valid(plain, crd_schema(upstream_crds, 'spiderpool', 'networkattachmentdefinitions_crd', group='k8s.cni.cncf.io'))
    info = results[7]
    assert [m['metadata']['name'] for m in info['multus_configs']] == ['ovs-vlan30']
    # the plain NAD we write carries the same CNI config as the one generated from the SMC
    generated = info['networks'][0]
    assert generated['owner'] == 'ovs-vlan30'
    assert generated['config']['plugins'] == json.loads(plain['spec']['config'])['plugins']
    assert results[8]['failed'] and 'generated by SpiderMultusConfig ovs-vlan30' in results[8]['msg']

    deleted, = play([{MULTUS: {'name': 'ovs-vlan30', 'namespace': 'kube-system', 'state': 'absent'}}])
    assert deleted['changed'] and kubeapi.get(SPIDERPOOL, 'SpiderMultusConfig', 'ovs-vlan30', 'kube-system') is None


def test_pool_with_allocated_ips_is_not_deleted_without_force(kubeapi):
    run_tasks(kubeapi, [{POOL: {'name': 'busy', 'subnet': '10.8.0.0/16', 'ips': ['10.8.0.10-10.8.0.20']}}])
    set_status(kubeapi, 'SpiderIPPool', 'busy', {'allocatedIPs': json.dumps({'10.8.0.10': {'pod': 'vms/vm1', 'podUid': 'u1'}}),
                                                 'allocatedIPCount': 1, 'totalIPCount': 11})
    kubeapi.clear_requests()
    refused, shrink, info = run_tasks(kubeapi, [
        {POOL: {'name': 'busy', 'state': 'absent'}},
        {POOL: {'name': 'busy', 'subnet': '10.8.0.0/16', 'ips': ['10.8.0.11-10.8.0.20']}},
        {'vmnet.kubevirt.spiderpool_ippool_info': {'name': 'busy'}},
    ])
    assert refused['failed'] and refused['msg'] == refusal(
        'state: "absent" refused: SpiderIPPool busy still has 1 allocated IP(s); Spiderpool\'s finalizer would hold it until '
        'they are released. Release them or set force=true')
    assert refused['allocated_ips'] == ['10.8.0.10']
    assert shrink['failed'] and 'would remove allocated IPs 10.8.0.10' in shrink['msg']
    assert writes(kubeapi) == []
    summary = info['summaries'][0]
    assert (summary['total_ip_count'], summary['allocated_ip_count'], summary['free_ip_count']) == (11, 1, 10)
    forced, = run_tasks(kubeapi, [{POOL: {'name': 'busy', 'state': 'absent', 'force': True}}])
    assert forced['changed']
    assert kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'busy') is None


def pool_module(kubeapi, **params):
    """spiderpool_ippool's main() in-process (the fault tests need no ansible-playbook start-up)."""
    return run_module('spiderpool_ippool', dict(params, kubeconfig=kubeapi.kubeconfig))


@pytest.mark.parametrize('status', [500, 503, 429])
def test_transient_faults_end_in_one_correct_object(kubeapi, status):
    kubeapi.inject(status=status, verb='patch', resource='spiderippools', count=2, retry_after=0 if status != 500 else None)
    created = pool_module(kubeapi, name='flaky', subnet='10.5.0.0/16', ips=['10.5.0.10-10.5.0.20'])
    assert created['changed'] and created['api_retries'] == 2, created
    applies = [w for w in kubeapi.requests() if w['verb'] == 'patch' and w.get('resource') == 'spiderippools']
    assert len(applies) == 3  # two refused, one stored: never a duplicate
    assert kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'flaky')['spec']['ips'] == ['10.5.0.10-10.5.0.20']
    kubeapi.clear_requests()
    kubeapi.inject(status=status, verb='list', resource='spiderippools', count=1, retry_after=0 if status != 500 else None)
    again = pool_module(kubeapi, name='flaky', subnet='10.5.0.0/16', ips=['10.5.0.10-10.5.0.20'])
    assert not again['changed'] and again['api_retries'] == 1, again  # retried by the seam, not hidden in urllib3
    lists = [r for r in kubeapi.requests() if r['verb'] == 'list' and r.get('resource') == 'spiderippools']
    assert len(lists) == 2 and writes(kubeapi) == []


@pytest.mark.parametrize('verb', ['patch', 'delete'])
def test_a_write_whose_answer_was_lost_is_reported_as_changed(kubeapi, verb):
    """The server did the work, the connection dropped before its answer: the module retries and still
    says changed (the old seam read its own update back as equal and said unchanged)."""
    pool_module(kubeapi, name='lost', subnet='10.4.0.0/16', ips=['10.4.0.10'])
    kubeapi.inject(status=None, verb=verb, resource='spiderippools', name='lost', drop='after')
    params = dict(name='lost', subnet='10.4.0.0/16', ips=['10.4.0.10-10.4.0.12']) if verb == 'patch' else dict(name='lost', state='absent')
    result = pool_module(kubeapi, **params)
    assert result['changed'] is True and result['action'] == ('updated' if verb == 'patch' else 'deleted'), result
    assert result['api_retries'] == 1 and kubeapi.faults() == []
    stored = kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'lost')
    assert (stored['spec']['ips'] == ['10.4.0.10-10.4.0.12']) if verb == 'patch' else stored is None


def test_removed_labels_and_namespace_names_leave_the_pool(kubeapi):
    first = pool_module(kubeapi, name='scoped', subnet='10.9.0.0/16', ips=['10.9.0.10'], labels={'team': 'a', 'tier': 'db'},
                        namespace_name=['vms', 'tenant-a'], exclude_ips=['10.9.0.11'])
    assert first['changed']
    trimmed = pool_module(kubeapi, name='scoped', subnet='10.9.0.0/16', ips=['10.9.0.10'], labels={'team': 'a'}, _ansible_diff=True)
    assert trimmed['changed'] and trimmed['action'] == 'updated', trimmed
    assert trimmed['diff']['before']['spec']['namespaceName'] == ['vms', 'tenant-a'] and 'namespaceName' not in trimmed['diff']['after']['spec']
    stored = kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'scoped')
    assert stored['metadata']['labels'] == {'team': 'a'}
    assert 'namespaceName' not in stored['spec'] and 'excludeIPs' not in stored['spec']
    kubeapi.clear_requests()
    assert pool_module(kubeapi, name='scoped', subnet='10.9.0.0/16', ips=['10.9.0.10'], labels={'team': 'a'})['changed'] is False
    assert writes(kubeapi) == []


def test_a_field_another_manager_changed_is_a_named_conflict_unless_forced(kubeapi):
    pool_module(kubeapi, name='contended', subnet='10.4.0.0/16', ips=['10.4.0.10'])
    kubeapi.apply({'apiVersion': SPIDERPOOL, 'kind': 'SpiderIPPool', 'metadata': {'name': 'contended'},
                   'spec': {'subnet': '10.4.0.0/16', 'ips': ['10.4.0.10-10.4.0.99']}}, field_manager='kubectl-edit')
    kubeapi.clear_requests()
    refused = pool_module(kubeapi, name='contended', subnet='10.4.0.0/16', ips=['10.4.0.10'])
    assert refused['failed'] and refused['status'] == 409 and refused['changed'] is False
    assert refused['msg'] == ('apply SpiderIPPool contended (spiderpool.spidernet.io/v2beta1) failed: field(s) owned by another field '
                              'manager with other values: .spec.ips (owned by kubectl-edit). Change the inventory to match, or set '
                              'force_conflicts: true to make vmnet.kubevirt their owner')
    assert kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'contended')['spec']['ips'] == ['10.4.0.10-10.4.0.99']
    forced = pool_module(kubeapi, name='contended', subnet='10.4.0.0/16', ips=['10.4.0.10'], force_conflicts=True)
    assert forced['changed'] and kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'contended')['spec']['ips'] == ['10.4.0.10']


def test_a_stalled_server_costs_a_bounded_timeout_then_a_retry(kubeapi):
    kubeapi.inject(status=None, verb='list', resource='spiderippools', latency=3)
    result = pool_module(kubeapi, name='slow', subnet='10.3.0.0/16', request_timeout=0.5)
    assert result['changed'] and result['api_retries'] == 1, result
    assert kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'slow') is not None


def test_retry_after_beyond_the_budget_fails_cleanly(kubeapi):
    kubeapi.inject(status=503, verb='patch', resource='spiderippools', retry_after=8)
    result = pool_module(kubeapi, name='busy-api', subnet='10.3.0.0/16', retry_budget=5)
    assert result['failed'] and result['changed'] is False
    assert 'the server asked to retry after 8 s, more than the 5 s left of the retry budget (retry_budget 5 s)' in result['msg']
    assert kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'busy-api') is None
    bad = pool_module(kubeapi, name='busy-api', subnet='10.3.0.0/16', request_timeout=0)
    assert bad['failed'] and bad['msg'] == 'request_timeout: 0.0 must be a number of seconds above 0 and at most 3600'


def test_persistent_failure_is_a_clear_error_and_writes_nothing(kubeapi):
    kubeapi.inject(status=500, verb='patch', resource='spiderippools', count=100)
    failed = pool_module(kubeapi, name='doomed', subnet='10.3.0.0/16')
    kubeapi.clear_faults()
    assert failed['failed'] and failed['msg'].startswith('apply SpiderIPPool doomed (spiderpool.spidernet.io/v2beta1) failed:')
    assert 'gave up after 6 attempts' in failed['msg']
    assert kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'doomed') is None


def test_action_group_carries_auth(play, kubeapi):
    without, = play([{POOL: {'name': 'noauth', 'subnet': '10.2.0.0/16'}}], auth=False,
                    env={'HOME': str(play.tmp_path)})  # no ~/.kube/config, no KUBECONFIG: nothing else can supply auth
    assert without['failed']
    assert kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'noauth') is None
    with_group, info = play([{POOL: {'name': 'noauth', 'subnet': '10.2.0.0/16'}},
                             {'vmnet.kubevirt.spiderpool_subnet_info': {}}], env={'HOME': str(play.tmp_path)})
    assert with_group['changed'] and info['resources'] == []


def test_disabled_family_from_spiderpool_conf(kubeapi):
    kubeapi.apply({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'spiderpool-conf', 'namespace': 'kube-system'},
                   'data': {'conf.yml': 'enableIPv4: true\nenableIPv6: false\nenableSpiderSubnet: true\n'}})
    kubeapi.clear_requests()
    result = run_module('spiderpool_ippool', {'name': 'v6-pool', 'subnet': 'fd00:6::/64', 'kubeconfig': kubeapi.kubeconfig})
    assert result['failed'] and result['msg'] == refusal(
        'ip_version: 6 names an IP family that is disabled in Spiderpool (ipam.enableIPv6=false) (webhook rule 1: ipVersion)')
    assert writes(kubeapi) == []
    allowed = run_module('spiderpool_ippool', {'name': 'v4-pool', 'subnet': '10.44.0.0/16', 'kubeconfig': kubeapi.kubeconfig})
    assert allowed['changed'] and allowed['action'] == 'created'


def test_plain_nad_cluster_without_spiderpool(tmp_path, upstream_crds):
    """kind=auto on a cluster that only has Multus's NAD CRD: a plain NAD with the same config;
    Spiderpool kinds are reported as not served instead of failing obscurely."""
    import yaml  # pylint: disable=import-outside-toplevel
    from lab.kubeapi.fixtures import start_kubeapi  # pylint: disable=import-outside-toplevel
    with start_kubeapi(tmp_path / 'plain', crds='none') as api:
        crd = yaml.safe_load((upstream_crds / 'multus-cni' / 'k8s.cni.cncf.io_network-attachment-definitions.yml').read_text(encoding='utf-8'))
        api.apply(crd)
        params = {'name': 'ovs-vlan50', 'namespace': 'default', 'ovs': {'bridge': 'br1', 'vlan': 50}, 'check_pools': False,
                  'default_ip_pools': {'ipv4': ['vlan50-v4']}, 'kubeconfig': api.kubeconfig}
        first = run_module('multus_cr', params)
        second = run_module('multus_cr', params)
        assert first['changed'] and first['kind'] == 'NetworkAttachmentDefinition', first
        assert not second['changed']
        api.clear_requests()
        checked_change = run_module('multus_cr', dict(params, ovs={'bridge': 'br1', 'vlan': 51}, _ansible_check_mode=True,
                                                      _ansible_diff=True))
        assert checked_change['changed'] and [r for r in api.requests() if r['verb'] == 'patch' and not r['dry_run']] == []
        assert '"vlan":50' in checked_change['diff']['before']['spec']['config']
        assert '"vlan":51' in checked_change['diff']['after']['spec']['config']
        nad = api.get(NAD_API, 'NetworkAttachmentDefinition', 'ovs-vlan50', 'default')
        assert json.loads(nad['spec']['config'])['plugins'][0] == {
            'vlan': 50, 'type': 'ovs', 'bridge': 'br1', 'ipam': {'type': 'spiderpool', 'default_ipv4_ippool': ['vlan50-v4']}}
        checked = run_module('multus_cr', dict(params, name='ovs-vlan51', check_pools=True))
        assert checked['failed'] and checked['msg'].startswith(
            REFUSED + 'default_ip_pools: {"ipv4": ["vlan50-v4"]} name SpiderIPPools, but SpiderIPPool is not served by this cluster')
        pool = run_module('spiderpool_ippool', {'name': 'p', 'subnet': '10.0.0.0/24', 'kubeconfig': api.kubeconfig})
        assert pool['failed'] and pool['msg'].startswith(
            REFUSED + 'SpiderIPPool spiderpool.spidernet.io/v2beta1 is not served by this cluster')
        smc = run_module('multus_cr', dict(params, kind='SpiderMultusConfig'))
        assert smc['failed'] and 'SpiderMultusConfig spiderpool.spidernet.io/v2beta1 is not served' in smc['msg']


def test_smc_never_takes_over_another_smcs_nad(kubeapi):
    kubeapi.simulate('spidermultusconfig-nad')
    first = run_module('multus_cr', {'name': 'owner', 'nad_name': 'shared-nad', 'ovs': {'bridge': 'br1'}, 'check_pools': False,
                                     'kubeconfig': kubeapi.kubeconfig})
    assert first['changed'], first
    assert kubeapi.get(NAD_API, 'NetworkAttachmentDefinition', 'shared-nad', 'kube-system') is not None
    kubeapi.clear_requests()
    second = run_module('multus_cr', {'name': 'intruder', 'nad_name': 'shared-nad', 'ovs': {'bridge': 'br2'}, 'check_pools': False,
                                      'kubeconfig': kubeapi.kubeconfig})
    assert second['failed'] and second['msg'] == refusal(
        'nad_name: "shared-nad" names NetworkAttachmentDefinition kube-system/shared-nad, which is owned by SpiderMultusConfig owner '
        '(webhook rule: an SMC never takes over another SMC\'s NAD)')
    renamed = run_module('multus_cr', {'name': 'owner', 'nad_name': 'other-nad', 'ovs': {'bridge': 'br1'}, 'check_pools': False,
                                       'kubeconfig': kubeapi.kubeconfig})
    assert renamed['failed'] and renamed['msg'] == refusal(
        'nad_name: "other-nad" cannot change from "shared-nad": annotation multus.spidernet.io/cr-name is immutable once set (webhook rule)')
    assert writes(kubeapi) == []


def test_multus_crs_in_bulk_unknown_keys_named_then_written_in_order(kubeapi):
    kubeapi.simulate('spidermultusconfig-nad')
    run_tasks(kubeapi, [{POOL: {'ippools': [
        {'name': 'v30', 'subnet': '172.30.0.0/16', 'ips': ['172.30.0.10-172.30.0.99'], 'multus_name': ['kube-system/ovs-vlan30']},
        {'name': 'v40', 'subnet': '172.40.0.0/16', 'ips': ['172.40.0.10-172.40.0.99'], 'multus_name': ['kube-system/ovs-vlan40']}]}}])
    crs = [{'name': 'ovs-vlan30', 'ovs': {'bridge': 'br1', 'vlan': 30}, 'default_ip_pools': {'ipv4': ['v30']}},
           {'name': 'ovs-vlan40', 'ovs': {'bridge': 'br1', 'vlan': 40, 'vlna': 4}, 'default_ip_pools': {'ipv4': ['v40']}}]
    kubeapi.clear_requests()
    typo, = run_tasks(kubeapi, [{MULTUS: {'multus_crs': crs}}])
    assert typo['failed'] and typo['problems'] == [
        'multus_crs[1] (ovs-vlan40).ovs: unknown option vlna (did you mean vlan?); the options allowed there are: bridge, device_id, trunk, vlan']
    assert writes(kubeapi) == []
    del crs[1]['ovs']['vlna']
    crs[1]['default_ip_pools'] = {'ipv4': ['v30']}  # v30 admits only ovs-vlan30
    wrong, = run_tasks(kubeapi, [{MULTUS: {'multus_crs': crs}}])
    assert wrong['failed'] and wrong['problems'] == [
        'multus_crs[1].default_ip_pools.ipv4[0]: "v30" admits only the Multus CRs kube-system/ovs-vlan30 (its multusName), not '
        'kube-system/ovs-vlan40: the rule is that a default pool admits its Multus CR']
    assert writes(kubeapi) == []
    crs[1]['default_ip_pools'] = {'ipv4': ['v40']}
    made, again = run_tasks(kubeapi, [{MULTUS: {'multus_crs': crs}}, {MULTUS: {'multus_crs': crs}}])
    assert made['changed'] and [r['action'] for r in made['results']] == ['created', 'created']
    assert not again['changed'] and [r['action'] for r in again['results']] == ['unchanged', 'unchanged']
    # a pool admitting ovs-vlan40 must lie in its subnet (the CR's default pool v40 is 172.40.0.0/16)
    stray, = run_tasks(kubeapi, [{POOL: {'name': 'stray', 'subnet': '172.50.0.0/16', 'multus_name': ['kube-system/ovs-vlan40']}}])
    assert stray['failed'] and stray['msg'] == refusal(
        'multus_name[0]: "kube-system/ovs-vlan40" is a Multus CR whose default ipv4 pools (v40) use subnet 172.40.0.0/16, not this '
        'pool\'s 172.50.0.0/16: the rule is that a pool serves the subnet of the Multus CRs it admits')
    # an SMC update whose answer was lost still says changed
    kubeapi.inject(status=None, verb='patch', resource='spidermultusconfigs', name='ovs-vlan30', drop='after')
    lost, = run_tasks(kubeapi, [{MULTUS: dict(crs[0], coordinator={'mode': 'underlay'})}])
    assert lost['changed'] and lost['action'] == 'updated' and lost['api_retries'] == 1, lost
    assert kubeapi.get(SPIDERPOOL, 'SpiderMultusConfig', 'ovs-vlan30', 'kube-system')['spec']['coordinator']['mode'] == 'underlay'


def test_pools_in_bulk_are_judged_against_each_other_before_the_first_write(kubeapi):
    entries = [{'name': 'a', 'subnet': '10.70.0.0/16', 'ips': ['10.70.0.10-10.70.0.50']},
               {'name': 'b', 'subnet': '10.70.0.0/16', 'ips': ['10.70.0.40-10.70.0.60']},
               {'name': 'a', 'subnet': '10.71.0.0/16'}]
    kubeapi.clear_requests()
    result, = run_tasks(kubeapi, [{POOL: {'ippools': entries}}])
    assert result['failed'] and result['problems'] == [
        'ippools[2].name: "a" repeats ippools[0].name: the rule is one entry per SpiderIPPool']
    result, = run_tasks(kubeapi, [{POOL: {'ippools': entries[:2]}}])
    assert result['failed'] and result['problems'] == [
        'ippools[1].ips: ["10.70.0.40-10.70.0.60"] overlap the IPs of SpiderIPPool a (same subnet 10.70.0.0/16) at 10.70.0.40-10.70.0.50 '
        '(webhook rule 6: effective IPs must not overlap another pool)']
    assert writes(kubeapi) == []
    rendered, = run_tasks(kubeapi, [{POOL: {'ippools': entries[:1], 'render_only': True, 'kubeconfig': '/nonexistent'}}])
    assert rendered['results'][0]['action'] == 'rendered' and rendered['results'][0]['result']['spec']['ipVersion'] == 4
    assert writes(kubeapi) == []
