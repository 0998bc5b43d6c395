"""Live-migration verdict and the bulk preflight, as pure functions over plain data."""
import copy
import json

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_preflight as pf
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_model import CR_NAME_ANNOTATION
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_render import render_vm
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_spec import normalize_request
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_status import describe_vm
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_verdict import verdict


def entries_of(params):
    entries, problems = normalize_request(params)
    assert not problems, problems.items
    return entries


DEFAULTS = {'kube-system/ovs30': {'ipv4': ['p30']}}


def manifest_of(params, **kw):
    kw.setdefault('default_pools', DEFAULTS)
    return render_vm(entries_of(params)[0], **kw)[0]


MASQ = {'name': 'web', 'namespace': 'vms', 'disk': {'image': 'img:1'}}
BRIDGE = {'name': 'db', 'namespace': 'vms', 'network_mode': 'bridge',
          'nics': [{'name': 'a', 'multus_cr': 'kube-system/ovs30'}, {'name': 'b', 'multus_cr': 'kube-system/ovs40',
                                                                     'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['p40']}}]}


class TestVerdict:
    def test_masquerade_with_container_disk_migrates(self):
        assert verdict(manifest_of(MASQ)) == ('yes', [], [])

    def test_bridge_on_multus_is_not_blocked_but_the_verdict_value_carries_the_upstream_doubt(self):
        judged, blockers, notes = verdict(manifest_of(BRIDGE), bridges=['br1'])
        assert judged == 'disputed' and blockers == []
        assert any('Spiderpool' in n and 'not available' in n for n in notes)
        assert any('target node needs the same OVS bridge (br1)' in n for n in notes)

    def test_a_yes_no_reader_never_sees_an_unqualified_yes_for_bridge_over_ovs(self):
        from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_run import run
        one_nic = dict(BRIDGE, nics=BRIDGE['nics'][:1])
        result = run(dict(one_nic, render_only=True), None)
        vm = result['vms'][0]
        assert vm['live_migration_verdict'] == 'disputed' and vm['live_migratable'] is False
        assert vm['live_migration_blockers'] == []
        masq = run(dict(MASQ, render_only=True), None)['vms'][0]
        assert masq['live_migration_verdict'] == 'yes' and masq['live_migratable'] is True

    def test_a_shared_host_disk_is_no_blocker_an_unshared_one_is(self):
        def with_host_disk(shared):
            disk = {'path': '/mnt/shared/root.img', 'type': 'DiskOrCreate', 'capacity': '1Gi'}
            if shared is not None:
                disk['shared'] = shared
            return manifest_of(dict(MASQ, disk=None, spec={'template': {'spec': {'volumes': [{'name': 'root', 'hostDisk': disk}]}}}))
        judged, blockers, notes = verdict(with_host_disk(True))
        assert judged == 'yes' and blockers == [] and any('shared' in n for n in notes)
        for unshared in (False, None):
            judged, blockers, _notes = verdict(with_host_disk(unshared))
            assert judged == 'no' and 'not marked shared' in blockers[0]

    def test_bridge_on_pod_network_is_blocked_without_the_annotation(self):
        vm = manifest_of(dict(MASQ, spec={'template': {'spec': {'domain': {'devices': {'interfaces': [{'name': 'default', 'bridge': {}}]}}}}}))
        judged, blockers, _notes = verdict(vm)
        assert judged == 'no' and 'allow-pod-bridge-network-live-migration' in blockers[0]
        vm['spec']['template']['metadata']['annotations'] = {'kubevirt.io/allow-pod-bridge-network-live-migration': ''}
        assert verdict(vm)[0] == 'yes'

    def test_rwo_data_volume_blocks_and_rwx_does_not(self):
        rwo = dict(MASQ, disk={'source_url': 'docker://x/y', 'size': '1Gi', 'access_modes': ['ReadWriteOnce']})
        judged, blockers, _n = verdict(manifest_of(rwo))
        assert judged == 'no' and 'ReadWriteMany' in blockers[0]
        rwx = dict(MASQ, disk={'source_url': 'docker://x/y', 'size': '1Gi', 'access_modes': ['ReadWriteMany']})
        assert verdict(manifest_of(rwx))[0] == 'yes'

    def test_pvc_access_mode_known_or_noted(self):
        vm = manifest_of(dict(MASQ, disk={'claim_name': 'root'}))
        judged, blockers, notes = verdict(vm)
        assert judged == 'unchecked' and any('unknown' in n for n in notes)
        judged, blockers, notes = verdict(vm, {'root': ['ReadWriteOnce']})
        assert judged == 'no' and 'root is ReadWriteOnce' in blockers[0]

    def test_host_devices_and_vmi_condition_block(self):
        vm = manifest_of(dict(MASQ, spec={'template': {'spec': {'domain': {'devices': {'gpus': [{'name': 'g', 'deviceName': 'x'}]}}}}}))
        assert verdict(vm)[0] == 'no'
        vmi = {'status': {'conditions': [{'type': 'LiveMigratable', 'status': 'False', 'reason': 'DisksNotLiveMigratable'}]}}
        judged, blockers, _n = verdict(manifest_of(MASQ), vmi=vmi)
        assert judged == 'no' and 'DisksNotLiveMigratable' in blockers[0]

    def test_required_live_migration_fails_before_writing(self):
        from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_run import run
        params = dict(MASQ, render_only=True, live_migration='required',
                      disk={'source_url': 'docker://x/y', 'size': '1Gi', 'access_modes': ['ReadWriteOnce']})
        result = run(params, None)
        assert result['failed'] and 'live_migration' in result['msg'] and 'ReadWriteMany' in result['msg']
        assert run(dict(params, live_migration='preferred'), None).get('failed') is None


def pool(name, subnet, ips, **spec):
    body = {'subnet': subnet, 'ips': ips}
    body.update(spec)
    status = body.pop('status', None)
    obj = {'metadata': {'name': name}, 'spec': body}
    if status:
        obj['status'] = status
    return obj


def smc(namespace, name, pools=None, cni='ovs', annotations=None):
    obj = {'metadata': {'name': name, 'namespace': namespace, 'annotations': annotations or {}},
           'spec': {'cniType': cni, 'ovs': {'bridge': 'br1', 'ippools': pools or {}}}}
    return obj


def nad(namespace, name, plugin_type='ovs', default_v4=None):
    ipam = {'type': 'spiderpool'}
    if default_v4:
        ipam['default_ipv4_ippool'] = default_v4
    config = {'cniVersion': '0.3.1', 'name': name, 'plugins': [{'type': plugin_type, 'bridge': 'br1', 'ipam': ipam}]}
    return {'metadata': {'name': name, 'namespace': namespace}, 'spec': {'config': json.dumps(config)}}


def facts(**kw):
    base = dict(smcs=[smc('kube-system', 'ovs30', {'ipv4': ['p30']})], nads=[nad('kube-system', 'ovs40')],
                pools=[pool('p30', '10.30.0.0/24', ['10.30.0.10-10.30.0.19']), pool('p40', '10.40.0.0/24', ['10.40.0.10-10.40.0.12'])],
                namespaces={'vms': {'team': 'a'}})
    base.update(kw)
    return pf.ClusterFacts(**base)


class TestPreflight:
    def test_happy_bridge_batch(self):
        judged = pf.check(entries_of(BRIDGE), facts())
        assert judged['problems'] == []
        assert judged['nad_refs'] == {'kube-system/ovs30': 'kube-system/ovs30', 'kube-system/ovs40': 'kube-system/ovs40'}
        assert judged['default_pools']['kube-system/ovs30'] == {'ipv4': ['p30']}

    def test_plan_reads_is_bulk(self):
        params = {'namespace': 'vms', 'network_mode': 'bridge', 'nics': BRIDGE['nics'], 'vms': [{'name': 'v%d' % i} for i in range(50)]}
        assert pf.plan_reads(entries_of(params)) == {'bridge': True, 'cr_namespaces': ['kube-system'], 'vm_namespaces': ['vms'],
                                                     'pvc_namespaces': []}

    def test_every_problem_at_once(self):
        params = copy.deepcopy(BRIDGE)
        params['nics'] = [{'name': 'a', 'multus_cr': 'kube-system/missing'},
                          {'name': 'b', 'multus_cr': 'kube-system/mv', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['p40']}},
                          {'name': 'c', 'multus_cr': 'kube-system/ovs40', 'use_default_ip_pool': False,
                           'ip_pools': {'ipv4': ['nope', 'off', 'v6', 'other-cr', 'other-ns', 'ns-aff', 'pod-aff']}}]
        f = facts(smcs=[smc('kube-system', 'mv', cni='macvlan')], pools=[
            pool('off', '10.1.0.0/24', ['10.1.0.1'], disable=True),
            pool('v6', 'fd00::/64', ['fd00::1']),
            pool('other-cr', '10.2.0.0/24', ['10.2.0.1'], multusName=['kube-system/ovs99']),
            pool('other-ns', '10.3.0.0/24', ['10.3.0.1'], namespaceName=['prod']),
            pool('ns-aff', '10.4.0.0/24', ['10.4.0.1'], namespaceAffinity={'matchLabels': {'team': 'b'}}),
            pool('pod-aff', '10.5.0.0/24', ['10.5.0.1'], podAffinity={'matchExpressions': [{'key': 'tier', 'operator': 'Exists'}]})])
        problems = pf.check(entries_of(params), f)['problems']
        text = '\n'.join(problems)
        assert "nics[0].multus_cr: 'kube-system/missing' does not exist" in text
        assert "nics[1].multus_cr: 'kube-system/mv' is a SpiderMultusConfig of type macvlan" in text
        assert "ip_pools.ipv4[0]: 'nope' does not exist" in text
        assert "ip_pools.ipv4[1]: 'off' is disabled" in text
        assert "ip_pools.ipv4[2]: 'v6' is an IPv6 pool" in text
        assert "ip_pools.ipv4[3]: 'other-cr' admits only Multus CRs" in text
        assert "ip_pools.ipv4[4]: 'other-ns' admits only namespaces" in text
        assert "ip_pools.ipv4[5]: 'ns-aff' namespaceAffinity does not select namespace vms" in text
        assert "ip_pools.ipv4[6]: 'pod-aff' podAffinity does not select" in text
        assert len(problems) == 9

    def test_free_ips_are_counted_across_the_whole_batch(self):
        params = {'namespace': 'vms', 'network_mode': 'bridge', 'nics': BRIDGE['nics'], 'vms': [{'name': 'v%d' % i} for i in range(4)]}
        problems = pf.check(entries_of(params), facts())['problems']
        # p40 has 3 addresses; the 4th VM's NIC b has none left; p30 (10 addresses) is fine
        assert len(problems) == 1 and "['p40'] have no free IP left for 1 NIC(s)" in problems[0] and 'vms/v3 b' in problems[0]

    def test_allocated_ips_and_existing_vms_are_accounted(self):
        allocated = {'10.40.0.10': {'pod': 'vms/x'}, '10.40.0.11': {'pod': 'vms/y'}}
        f = facts(pools=[pool('p30', '10.30.0.0/24', ['10.30.0.10-10.30.0.19']),
                         pool('p40', '10.40.0.0/24', ['10.40.0.10-10.40.0.12'], status={'allocatedIPs': json.dumps(allocated)})])
        params = {'namespace': 'vms', 'network_mode': 'bridge', 'nics': BRIDGE['nics'], 'vms': [{'name': 'v0'}, {'name': 'v1'}]}
        assert len(pf.check(entries_of(params), f)['problems']) == 1
        # v0 exists already with NIC b: it holds its IP, only v1 needs one
        f.existing_vms[('vms', 'v0')] = manifest_of(dict(BRIDGE, name='v0'))
        assert pf.check(entries_of(params), f)['problems'] == []

    def test_pools_are_tried_in_order(self):
        params = copy.deepcopy(BRIDGE)
        params['nics'][1]['ip_pools'] = {'ipv4': ['p40', 'p30']}
        batch = {'namespace': 'vms', 'network_mode': 'bridge', 'nics': params['nics'], 'vms': [{'name': 'v%d' % i} for i in range(6)]}
        assert pf.check(entries_of(batch), facts())['problems'] == []

    def test_default_pool_nic_needs_default_pools_somewhere(self):
        f = facts(smcs=[smc('kube-system', 'ovs30')])
        problems = pf.check(entries_of(BRIDGE), f)['problems']
        assert len(problems) == 1 and 'nics[0].use_default_ip_pool' in problems[0] and 'no default IP pools' in problems[0]
        pools = [pool('p40', '10.40.0.0/24', ['10.40.0.10']), pool('cluster-def', '10.9.0.0/24', ['10.9.0.1'], default=True)]
        f = facts(smcs=[smc('kube-system', 'ovs30')], pools=pools)
        judged = pf.check(entries_of(BRIDGE), f)
        assert judged['problems'] == []
        # and the ippools annotation (NIC b picks by hand) names the cluster default pool for NIC a, never an empty item
        vm = render_vm(entries_of(BRIDGE)[0], default_pools=judged['default_pools'])[0]
        assert json.loads(vm['spec']['template']['metadata']['annotations']['ipam.spidernet.io/ippools'])[0] == {'interface': 'eth0', 'ipv4': ['cluster-def']}

    def test_nad_default_pools_and_cr_name_annotation(self):
        f = facts(smcs=[smc('kube-system', 'ovs30', {'ipv4': ['p30']}, annotations={CR_NAME_ANNOTATION: 'ovs30-nad'})],
                  nads=[nad('kube-system', 'ovs40', default_v4=['p40'])])
        judged = pf.check(entries_of(BRIDGE), f)
        assert judged['nad_refs']['kube-system/ovs30'] == 'kube-system/ovs30-nad'
        assert judged['default_pools']['kube-system/ovs40'] == {'ipv4': ['p40']}
        vm = render_vm(entries_of(BRIDGE)[0], nad_refs=judged['nad_refs'], default_pools=judged['default_pools'])[0]
        assert vm['spec']['template']['spec']['networks'][0]['multus']['networkName'] == 'kube-system/ovs30-nad'

    def test_crds_not_served(self):
        problems = pf.check(entries_of(BRIDGE), facts(vm_served=False, spiderpool_served=False))['problems']
        assert any('VirtualMachine kubevirt.io/v1 is not served' in p for p in problems)
        assert any("network_mode: 'bridge' needs Spiderpool" in p for p in problems)
        # masquerade needs no Spiderpool
        assert pf.check(entries_of(MASQ), facts(spiderpool_served=False))['problems'] == []

    def test_missing_namespace(self):
        problems = pf.check(entries_of(MASQ), facts(namespaces={'vms': None}))['problems']
        assert problems == ["namespace: 'vms' does not exist: the rule is an existing namespace"]


def test_describe_vm_reads_back_nics_pools_and_vmi_ips():
    vm = manifest_of(BRIDGE)
    vm['metadata']['name'] = 'db'
    vmi = {'status': {'interfaces': [{'name': 'a', 'ipAddresses': ['10.30.0.10'], 'mac': 'x'}, {'name': 'b', 'ipAddress': '10.40.0.10'}]}}
    view = describe_vm(vm, vmi)
    assert view['network_mode'] == 'bridge'
    assert [(n['name'], n['multus_cr'], n['ip_pools'], n['ip_addresses']) for n in view['nics']] == [
        ('a', 'kube-system/ovs30', {'ipv4': ['p30']}, ['10.30.0.10']), ('b', 'kube-system/ovs40', {'ipv4': ['p40']}, ['10.40.0.10'])]
    assert view['live_migration_verdict'] == 'disputed' and view['live_migratable'] is False and view['live_migration_notes']


def test_missing_namespace_is_only_a_warning_in_check_mode():
    judged = pf.check(entries_of(MASQ), facts(namespaces={'vms': None}), check_mode=True)
    assert judged['problems'] == [] and "namespace: 'vms' does not exist yet" in judged['warnings'][0]


def test_wait_predicates():
    from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_run import _ready
    assert _ready('Always')({'status': {'ready': True}})
    assert not _ready('Always')({'status': {'printableStatus': 'Starting'}})
    assert not _ready('Always')(None)
    assert _ready('Halted')({'status': {'printableStatus': 'Stopped'}})
    assert not _ready('Halted')({'status': {'printableStatus': 'Running', 'ready': True}})


class TestHandPickedPoolsAndSecrets:
    """A pool picked by hand must be on the NIC's Multus CR's subnet; user data Secrets are never taken over."""

    def bridge(self, pools, cr='kube-system/ovs30'):
        return entries_of({'name': 'vm1', 'namespace': 'vms', 'network_mode': 'bridge',
                           'nics': [{'name': 'a', 'multus_cr': cr, 'use_default_ip_pool': False, 'ip_pools': {'ipv4': pools}}]})

    def test_a_pool_from_another_vlans_subnet_is_refused_for_an_smc_and_a_nad(self):
        f = facts(nads=[nad('kube-system', 'ovs40', default_v4=['p40'])],
                  pools=[pool('p30', '10.30.0.0/24', ['10.30.0.10-10.30.0.19']), pool('p40', '10.40.0.0/24', ['10.40.0.10-10.40.0.12']),
                         pool('p30b', '10.30.0.0/24', ['10.30.0.20-10.30.0.29'])])
        assert pf.check(self.bridge(['p30b']), f)['problems'] == []
        assert pf.check(self.bridge(['p40']), f)['problems'] == [
            "nics[0].ip_pools.ipv4[0]: 'p40' has subnet 10.40.0.0/24, but Multus CR kube-system/ovs30 puts its NICs on 10.30.0.0/24 "
            "(its default ipv4 pools p30): the rule is that a pool picked by hand lies in the subnet of the NIC's Multus CR"]
        assert pf.check(self.bridge(['p30'], cr='kube-system/ovs40'), f)['problems'] == [
            "nics[0].ip_pools.ipv4[0]: 'p30' has subnet 10.30.0.0/24, but Multus CR kube-system/ovs40 puts its NICs on 10.40.0.0/24 "
            "(its default ipv4 pools p40): the rule is that a pool picked by hand lies in the subnet of the NIC's Multus CR"]
        # a CR without default pools names no subnet: nothing to compare with
        assert pf.check(self.bridge(['p30'], cr='kube-system/ovs40'), facts())['problems'] == []

    def test_a_foreign_secret_of_the_same_name_is_not_taken_over(self):
        entries = entries_of({'name': 'vm1', 'namespace': 'vms', 'cloud_init': {'password': 'x'}})
        assert pf.check(entries, facts(foreign_secrets={('vms', 'vm1-cloudinit')}))['problems'] == [
            "cloud_init: the user data goes into Secret vms/vm1-cloudinit, which exists and is not managed by vmnet.kubevirt: the rule is "
            "that the collection never takes over a Secret it did not make (remove or rename it, or set user_data_in: inline)"]
        inline = entries_of({'name': 'vm1', 'namespace': 'vms', 'cloud_init': {'password': 'x', 'user_data_in': 'inline'}})
        assert pf.check(inline, facts(foreign_secrets={('vms', 'vm1-cloudinit')}))['problems'] == []
        denied = pf.check(entries, facts(unreadable_secrets={'vms': 'forbidden'}))['problems']
        assert len(denied) == 1 and 'Secrets there cannot be read (forbidden)' in denied[0]
