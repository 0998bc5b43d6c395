"""What a change to an existing VM does: KubeVirt's restart and hot-plug rules, Spiderpool's kept IPs (pure)."""
import copy
import hashlib

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_lifecycle as lc
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_render import render_vm
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_spec import normalize_request

V30 = {'name': 'front', 'multus_cr': 'kube-system/ovs30', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['v30']}}
V40 = {'name': 'back', 'multus_cr': 'kube-system/ovs40', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['v40']}}
BACK_IF = 'pod' + hashlib.sha256(b'back').hexdigest()[:11]
SAMPLE = {'spec': {'workloadUpdateStrategy': {'workloadUpdateMethods': ['LiveMigrate']}}, 'status': {'observedKubeVirtVersion': 'v1.9.0'}}


def kubevirt(version='v1.9.0', methods=('LiveMigrate',), gates=(), rollout=None):
    configuration = {'developerConfiguration': {'featureGates': list(gates)}}
    if rollout:
        configuration['vmRolloutStrategy'] = rollout
    return lc.KubeVirtInfo({'spec': {'configuration': configuration, 'workloadUpdateStrategy': {'workloadUpdateMethods': list(methods)}},
                            'status': {'observedKubeVirtVersion': version}})


def rendered(nics, existing=None, **params):
    base = dict({'name': 'app', 'namespace': 'vms', 'network_mode': 'bridge', 'nics': copy.deepcopy(nics)}, **params)
    entries, problems = normalize_request(base)
    assert not problems, problems.items
    manifest, _body, results, _warnings = render_vm(entries[0], existing=existing, default_pools={'kube-system/ovs50': {'ipv4': ['v50']}})
    return entries[0], manifest, results


def started(manifest, annotations=True):
    """The VMI KubeVirt made from this VM when it started (template spec and annotations), all NICs plugged."""
    template = manifest['spec']['template']
    meta = {'name': 'app', 'namespace': 'vms'}
    if annotations and template['metadata'].get('annotations'):
        meta['annotations'] = dict(template['metadata']['annotations'])
    ifaces = template['spec']['domain']['devices']['interfaces']
    return {'metadata': meta, 'spec': copy.deepcopy(template['spec']), 'status': {'interfaces': [{'name': i['name']} for i in ifaces]}}


def endpoint(*entries):
    return {'metadata': {'name': 'app', 'namespace': 'vms'},
            'status': {'ownerControllerType': 'VirtualMachineInstance', 'current': {'ips': list(entries)}}}


def assess(nics, existing_manifest, vmi=None, ep=None, kv=None, verdict='disputed'):
    entry, manifest, results = rendered(nics, existing=existing_manifest)
    return lc.assess(entry, manifest, results, existing_manifest, vmi, ep, kv or kubevirt(), verdict), results


class TestSpiderpoolKeepsIPsPerPodInterface:
    def test_moving_a_nic_to_other_pools_is_refused_with_the_endpoint_to_release(self):
        _e, before, _r = rendered([V30, V40])
        kept = endpoint({'interface': 'eth0', 'ipv4': '10.30.0.5/24', 'ipv4Pool': 'v30'},
                        {'interface': BACK_IF, 'ipv4': '10.40.0.7/24', 'ipv4Pool': 'v40'})
        moved = [V30, dict(V40, multus_cr='kube-system/ovs50', ip_pools={'ipv4': ['v50']})]
        for vmi, first_step in ((None, 'delete the SpiderEndpoint vms/app'), (started(before), 'stop the VM (run_strategy: Halted)')):
            judged, _results = assess(moved, before, vmi=vmi, ep=kept)
            problem, = judged['problems']
            assert problem.startswith("nics[1].name: 'back' would get 10.40.0.7 again")
            assert 'SpiderEndpoint vms/app keeps them for pod interface %s (ipv4 from pool v40)' % BACK_IF in problem
            assert first_step in problem and 'give the NIC a new name' in problem

    def test_removing_the_first_nic_lets_the_next_take_over_eth0_and_is_refused(self):
        _e, before, _r = rendered([V30, V40])
        kept = endpoint({'interface': 'eth0', 'ipv4': '10.30.0.5/24', 'ipv4Pool': 'v30'},
                        {'interface': BACK_IF, 'ipv4': '10.40.0.7/24', 'ipv4Pool': 'v40'})
        judged, _results = assess([V40], before, ep=kept)
        problem, = judged['problems']
        assert "'back' would get 10.30.0.5: it becomes pod interface eth0" in problem and 'keeps for NIC front' in problem

    def test_an_added_family_is_never_allocated_for_a_kept_interface(self):
        _e, before, _r = rendered([V30])
        kept = endpoint({'interface': 'eth0', 'ipv4': '10.30.0.5/24', 'ipv4Pool': 'v30'})
        judged, _r = assess([dict(V30, ip_pools={'ipv4': ['v30'], 'ipv6': ['v30-6']})], before, ep=kept)
        assert len(judged['problems']) == 1 and 'ipv4 from pool v30' in judged['problems'][0]

    def test_same_pools_or_no_kept_endpoint_pass(self):
        _e, before, _r = rendered([V30, V40])
        kept = endpoint({'interface': 'eth0', 'ipv4': '10.30.0.5/24', 'ipv4Pool': 'v30'})
        assert assess([V30, V40], before, ep=kept)[0]['problems'] == []
        moved = [V30, dict(V40, ip_pools={'ipv4': ['v50']})]
        assert assess(moved, before, ep=None)[0]['problems'] == []
        owned_by_pod = dict(kept, metadata=dict(kept['metadata'], ownerReferences=[{'kind': 'Pod'}]))
        assert assess([V40], before, ep=owned_by_pod)[0]['problems'] == []


class TestWhatReachesTheRunningVm:
    def test_stopped_or_new_vm_takes_everything_at_start(self):
        judged, _r = assess([V30], None)
        assert judged['takes_effect'] == {'front': 'at_start'} and judged['restart_required'] is False

    def test_unchanged_nics_are_in_force_and_a_changed_one_waits_for_a_restart(self):
        _e, before, _r = rendered([V30, V40])
        vmi = started(before)
        judged, _r = assess([V30, V40], before, vmi=vmi)
        assert judged['takes_effect'] == {'front': 'in_force', 'back': 'in_force'} and judged['restart_required'] is False
        judged, _r = assess([V30, dict(V40, model='e1000')], before, vmi=vmi)
        assert judged['takes_effect']['back'] == 'next_start' and judged['restart_required'] is True
        assert any('NIC back changes (model)' in p for p in judged['pending_changes'])

    def test_a_pools_annotation_change_applies_at_the_next_start_only(self):
        _e, before, _r = rendered([V30])
        judged, _r = assess([dict(V30, ip_pools={'ipv4': ['v30', 'v30b']})], before, vmi=started(before))
        assert judged['restart_required'] is False
        assert any('ipam.spidernet.io/ippools annotation reaches the pod at the next start only' in p for p in judged['pending_changes'])

    def test_other_template_changes_need_a_restart_but_server_defaults_do_not(self):
        _e, before, _r = rendered([V30])
        stored = copy.deepcopy(before)
        stored['spec']['template']['spec']['domain']['firmware'] = {'uuid': 'written-by-kubevirt'}
        entry, manifest, results = rendered([V30], existing=stored, cpu_cores=4)
        judged = lc.assess(entry, manifest, results, stored, started(before), None, kubevirt(), 'disputed')
        assert judged['restart_required'] is True and judged['pending_changes'] == ['template spec domain.cpu changes']
        entry, manifest, results = rendered([V30], existing=stored)
        assert lc.assess(entry, manifest, results, stored, started(before), None, kubevirt(), 'disputed')['restart_required'] is False


class TestHotPlugPrerequisites:
    @pytest.mark.parametrize('kv, verdict, expected, words', [
        (kubevirt(), 'disputed', 'hotplug', None),
        (kubevirt('v1.0.3'), 'disputed', 'next_start', 'addinterface API only'),
        (kubevirt('v1.3.1'), 'disputed', 'next_start', 'needs the HotplugNICs feature gate'),
        (kubevirt('v1.3.1', gates=['HotplugNICs']), 'disputed', 'after_migration', 'does not migrate for a hot-plug by itself'),
        (kubevirt('v1.5.2', gates=['VMLiveUpdateFeatures'], rollout='LiveUpdate'), 'disputed', 'after_migration', 'v1.5.2 does not migrate'),
        (kubevirt(rollout='Stage'), 'disputed', 'after_migration', 'vmRolloutStrategy is Stage'),
        (kubevirt(methods=()), 'disputed', 'after_migration', 'workloadUpdateMethods has no LiveMigrate'),
        (kubevirt(methods=('Evict',)), 'disputed', 'next_start', 'KubeVirt restarts the VM'),
        (kubevirt(), 'no', 'next_start', 'cannot live-migrate'),
        (lc.KubeVirtInfo(found=False), 'disputed', 'after_migration', 'KubeVirt CR could not be read'),
    ], ids=['v1.9', 'v1.0', 'v1.3-no-gate', 'v1.3-gate', 'v1.5', 'stage', 'no-methods', 'evict', 'not-migratable', 'unknown'])
    def test_an_added_nic_takes_effect_as_the_cluster_allows(self, kv, verdict, expected, words):
        default_pool_nic = {'name': 'extra', 'multus_cr': 'kube-system/ovs50'}
        _e, before, _r = rendered([{'name': 'front', 'multus_cr': 'kube-system/ovs50'}])
        judged, _r = assess([{'name': 'front', 'multus_cr': 'kube-system/ovs50'}, default_pool_nic], before, vmi=started(before),
                            kv=kv, verdict=verdict)
        assert judged['problems'] == [] and judged['takes_effect']['extra'] == expected
        if words:
            assert any(words in w for w in judged['warnings']), judged['warnings']

    def test_a_hot_plugged_nic_with_its_own_pools_and_no_pools_annotation_on_the_vmi_is_refused(self):
        on_default = {'name': 'front', 'multus_cr': 'kube-system/ovs50'}
        _e, before, _r = rendered([on_default])
        judged, _r = assess([on_default, V40], before, vmi=started(before))
        problem, = judged['problems']
        assert problem.startswith("nics[1].name: 'back' is added to the running VM") and 'default pools of kube-system/ovs40' in problem

    def test_a_named_annotation_without_the_new_interface_defers_it_to_the_next_start(self):
        _e, before, _r = rendered([V30])
        judged, _r = assess([V30, V40], before, vmi=started(before))
        assert judged['problems'] == [] and judged['takes_effect']['back'] == 'next_start'
        assert any('does not give pod interface %s' % BACK_IF in w and 'Spiderpool refuses the migration target' in w for w in judged['warnings'])

    def test_an_order_only_annotation_on_the_vmi_is_refused(self):
        _e, before, _r = rendered([V30])
        vmi = started(before)
        vmi['metadata']['annotations'] = {'ipam.spidernet.io/ippools': '[{"ipv4":["v30"]}]'}
        judged, _r = assess([V30, V40], before, vmi=vmi)
        assert len(judged['problems']) == 1 and 'maps pools by NIC order' in judged['problems'][0]

    def test_unplug_follows_the_migration_rules_and_nad_changes_are_live_on_v1_9_only(self):
        no_cloud_init = {'enabled': False}
        _e, before, _r = rendered([V30, V40], cloud_init=no_cloud_init)
        vmi = started(before)

        def judge(nics, kv=None):
            entry, manifest, results = rendered(nics, existing=before, cloud_init=no_cloud_init)
            return lc.assess(entry, manifest, results, before, vmi, None, kv or kubevirt(), 'disputed')
        judged = judge([V30])
        assert judged['takes_effect'] == {'front': 'in_force', 'back': 'hotplug'} and judged['restart_required'] is False
        moved = [V30, dict(V40, multus_cr='kube-system/ovs41')]
        assert judge(moved)['takes_effect']['back'] == 'hotplug'
        judged = judge(moved, kubevirt('v1.7.0'))
        assert judged['takes_effect']['back'] == 'next_start' and judged['restart_required'] is True

    def test_the_generated_cloud_init_data_of_a_hot_plug_is_a_restart_required_change(self):
        _e, before, _r = rendered([V30, V40])
        judged, _r = assess([V30], before, vmi=started(before))
        assert judged['takes_effect']['back'] == 'hotplug'  # KubeVirt still unplugs the NIC, and flags the volume change
        assert judged['restart_required'] is True and 'template spec volumes (cloud-init data) changes' in judged['pending_changes']


def test_vm_network_info_shows_kubevirts_restart_required_condition():
    from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_status import describe_vm
    _e, vm, _r = rendered([V30])
    vm = copy.deepcopy(vm)
    assert describe_vm(vm)['restart_required'] is False
    vm['status'] = {'conditions': [{'type': 'Ready', 'status': 'True'}, {'type': 'RestartRequired', 'status': 'True', 'message': 'x'}]}
    assert describe_vm(vm)['restart_required'] is True
