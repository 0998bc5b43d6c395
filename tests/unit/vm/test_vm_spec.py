"""vm_network input rules: every bad input fails before any cluster contact, naming field, value and rule."""
import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_run import run

from vm_invalid_cases import BRIDGE_NIC, INVALID, bridge, masq


def no_cluster():
    raise AssertionError('the cluster was contacted although the input is invalid')


@pytest.mark.parametrize('params, field, value, rule', INVALID, ids=['%02d-%s' % (i, c[1]) for i, c in enumerate(INVALID)])
def test_invalid_input_fails_before_contacting_the_cluster(params, field, value, rule):
    result = run(params, no_cluster)
    assert result['failed'] is True
    assert result['changed'] is False
    matching = [p for p in result['problems'] if p.startswith(field + ': ')]
    assert matching, result['problems']
    assert any(value in p and rule in p for p in matching), matching
    assert 'nothing was written' in result['msg']


def test_there_are_at_least_thirty_invalid_cases():
    assert len(INVALID) >= 30


def test_all_problems_are_reported_at_once():
    params = masq(name='Bad_Name', ports=[{'port': 49152}], nics=[{'name': 'x', 'multus_cr': 'a/b'}], cpu_cores=0)
    result = run(params, no_cluster)
    assert len(result['problems']) == 4


def test_render_time_problem_also_fails_before_any_contact():
    params = bridge(spec={'running': True})
    result = run(dict(params, render_only=True), no_cluster)
    assert result['failed'] and 'spec.running' in result['msg'] and 'runStrategy' in result['msg']


def test_render_only_without_manifests_is_refused_before_any_contact():
    result = run(bridge(render_only=True, return_manifests=False), no_cluster)
    assert result['failed'] and result['problems'] == [
        'return_manifests: false with render_only leaves nothing to return: the rule is return_manifests true (the default) '
        'when render_only is true'] and 'nothing was written' in result['msg']


def test_network_data_over_kubevirt_limit_is_refused():
    nics = [{'name': 'nic%02d' % i, 'multus_cr': 'x/y'} for i in range(30)]
    result = run(bridge(nics=nics, render_only=True), no_cluster)
    assert result['failed'] and 'cloud_init.network_data' in result['msg'] and '2048 bytes' in result['msg']


def test_user_data_over_kubevirt_limit_is_refused_inline_and_goes_to_the_secret_by_default():
    big = '#cloud-config\n' + '# padding\n' * 300
    result = run(masq(cloud_init={'user_data': big, 'user_data_in': 'inline'}, render_only=True), no_cluster)
    assert result['failed'] and 'cloud_init.user_data' in result['msg'] and '2048 bytes' in result['msg']
    in_secret = run(masq(cloud_init={'user_data': big}, render_only=True), no_cluster)  # auto: own user data goes to the Secret
    assert not in_secret.get('failed'), in_secret.get('msg')
    generated = run(masq(cloud_init={'ssh_authorized_keys': ['ssh-ed25519 %s k%d' % ('A' * 68, i) for i in range(30)]},
                         render_only=True), no_cluster)
    assert generated['failed'] and 'cloud_init.user_data' in generated['msg'], generated.get('msg')
    fits = run(masq(cloud_init={'user_data': '#cloud-config\n' + 'x' * 2000}, render_only=True), no_cluster)
    assert not fits.get('failed'), fits.get('msg')


def test_spec_merged_cloud_init_is_held_to_kubevirts_limits_too():
    volume = {'name': 'cloudinitdisk', 'cloudInitNoCloud': {'userDataBase64': 'not base64!'}}
    result = run(masq(spec={'template': {'spec': {'volumes': [volume]}}}, render_only=True), no_cluster)
    assert result['failed'] and 'userDataBase64' in result['msg'] and 'base64' in result['msg']


def test_top_level_options_are_defaults_for_vms_entries():
    params = {'namespace': 'vms', 'network_mode': 'bridge', 'nics': [dict(BRIDGE_NIC)], 'memory': '2Gi',
              'vms': [{'name': 'a'}, {'name': 'b', 'memory': '4Gi', 'namespace': 'other'}]}
    entries, problems = _vm_spec.normalize_request(params)
    assert not problems
    assert [(e['namespace'], e['memory'], e['mode']) for e in entries] == [('vms', '2Gi', 'bridge'), ('other', '4Gi', 'bridge')]


def test_bare_multus_cr_means_the_vm_namespace():
    entries, problems = _vm_spec.normalize_request(bridge(nics=[{'name': 'a', 'multus_cr': 'ovs30'}]))
    assert not problems
    assert entries[0]['nics'][0]['multus_cr'] == 'vms/ovs30'


class TestDerivedMac:
    def test_stable_and_locally_administered_unicast(self):
        mac = _vm_spec.derive_mac('vms', 'vm1', 'net1')
        assert mac == _vm_spec.derive_mac('vms', 'vm1', 'net1')
        first = int(mac[:2], 16)
        assert first & 0x02 and not first & 0x01
        assert mac != _vm_spec.MASQUERADE_RESERVED_MAC

    def test_differs_by_namespace_vm_and_nic(self):
        macs = {_vm_spec.derive_mac(ns, vm, nic) for ns in ('a', 'b') for vm in ('v1', 'v2') for nic in ('n1', 'n2')}
        assert len(macs) == 8

    def test_no_collision_in_a_large_batch(self):
        macs = {_vm_spec.derive_mac('vms', 'vm%d' % i, nic) for i in range(2000) for nic in ('front', 'back')}
        assert len(macs) == 4000

    def test_given_mac_is_normalised_and_kept(self):
        entries, problems = _vm_spec.normalize_request(bridge(nics=[dict(BRIDGE_NIC, mac_address='02-AB-cd-00-00-01')]))
        assert not problems
        assert entries[0]['nics'][0]['mac_address'] == '02:ab:cd:00:00:01'
