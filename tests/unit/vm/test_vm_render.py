"""Rendering: the seed's table rows, KubeVirt's OpenAPI, NIC add/remove, idempotent re-render."""
import base64
import copy
import hashlib
import json

import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_render, _vm_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_render import POOLS_ANNOTATION, RenderError, render_vm
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_run import run
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_spec import normalize_request
from vm_openapi_check import load_swagger, validate


def render(params, existing=None, default_pools=None):
    entries, problems = normalize_request(params)
    assert not problems, problems.items
    return render_vm(entries[0], existing=existing, default_pools=default_pools)


def tspec(manifest):
    return manifest['spec']['template']['spec']


MASQ = {'name': 'web1', 'namespace': 'vms', 'network_mode': 'masquerade', 'ports': [{'port': 22}, {'port': 80, 'name': 'http'}],
        'disk': {'image': 'quay.io/containerdisks/fedora:41'}, 'cloud_init': {'user': 'fedora', 'ssh_authorized_keys': ['ssh-ed25519 AAAA k']}}
BRIDGE_ONE = {'name': 'db1', 'namespace': 'vms', 'network_mode': 'bridge', 'nics': [{'name': 'ovs30', 'multus_cr': 'kube-system/ovs-vlan30'}],
              'disk': {'claim_name': 'db1-root'}}
BRIDGE_MANY = {'name': 'app1', 'namespace': 'vms', 'network_mode': 'bridge', 'run_strategy': 'Halted', 'cpu_cores': 2, 'memory': '4Gi',
               'nics': [{'name': 'front', 'multus_cr': 'kube-system/ovs-vlan30', 'use_default_ip_pool': False,
                         'ip_pools': {'ipv4': ['vlan30-v4'], 'ipv6': ['vlan30-v6']}},
                        {'name': 'back', 'multus_cr': 'kube-system/ovs-vlan40', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['vlan40-v4']}},
                        {'name': 'store', 'multus_cr': 'storage/ovs-store', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['a', 'b']},
                         'model': 'e1000'}],
               'disk': {'source_url': 'docker://quay.io/containerdisks/fedora:41', 'size': '20Gi', 'access_modes': ['ReadWriteMany'],
                        'storage_class': 'ceph'}}


@pytest.mark.upstream
@pytest.mark.parametrize('params', [MASQ, BRIDGE_ONE, BRIDGE_MANY, dict(MASQ, cloud_init={'enabled': False}, disk=None),
                                    dict(BRIDGE_ONE, spec={'template': {'spec': {'nodeSelector': {'zone': 'a'}}}})],
                         ids=['masquerade', 'bridge-default-pool', 'bridge-manual-pools', 'masquerade-bare', 'bridge-spec-merge'])
def test_rendered_vm_validates_against_kubevirt_openapi(params):
    definitions = load_swagger()
    manifest = render(params)[0]
    assert validate(manifest, definitions) == []


@pytest.mark.upstream
def test_openapi_check_can_fail():
    definitions = load_swagger()
    manifest = copy.deepcopy(render(MASQ)[0])
    tspec(manifest)['domain']['devices']['interfaces'][0]['masquerad'] = {}
    manifest['spec']['running'] = 'yes'
    errors = validate(manifest, definitions)
    assert any('masquerad: unknown field' in e for e in errors)
    assert any('running' in e and 'type' in e for e in errors)


def test_masquerade_row_writes_binding_explicitly_on_the_pod_network():
    manifest, _body, nics, _w = render(MASQ)
    spec = tspec(manifest)
    iface = spec['domain']['devices']['interfaces']
    assert len(iface) == 1 and iface[0]['name'] == 'default' and iface[0]['masquerade'] == {}
    assert 'bridge' not in iface[0]
    assert iface[0]['ports'] == [{'port': 22, 'protocol': 'TCP'}, {'port': 80, 'protocol': 'TCP', 'name': 'http'}]
    assert spec['networks'] == [{'name': 'default', 'pod': {}}]
    assert manifest['spec']['runStrategy'] == 'Always' and 'running' not in manifest['spec']
    assert POOLS_ANNOTATION not in manifest['spec']['template']['metadata'].get('annotations', {})
    assert nics[0]['fixed_ip'] is False and nics[0]['multus_cr'] is None


def test_bridge_one_nic_default_pool_row():
    manifest, _body, nics, _w = render(BRIDGE_ONE)
    spec = tspec(manifest)
    assert spec['networks'] == [{'name': 'ovs30', 'multus': {'networkName': 'kube-system/ovs-vlan30', 'default': True}}]
    assert not any('pod' in n for n in spec['networks'])
    assert spec['domain']['devices']['interfaces'][0]['bridge'] == {}
    assert 'annotations' not in manifest['spec']['template']['metadata']  # the CR's default pools apply
    assert spec['volumes'][0] == {'name': 'rootdisk', 'persistentVolumeClaim': {'claimName': 'db1-root'}}
    assert nics[0]['fixed_ip'] is True


def test_bridge_many_nics_manual_pools_row():
    manifest, _body, nics, _w = render(BRIDGE_MANY)
    spec = tspec(manifest)
    assert [n['multus'].get('default', False) for n in spec['networks']] == [True, False, False]
    assert [n['multus']['networkName'] for n in spec['networks']] == ['kube-system/ovs-vlan30', 'kube-system/ovs-vlan40', 'storage/ovs-store']
    items = json.loads(manifest['spec']['template']['metadata']['annotations'][POOLS_ANNOTATION])
    # every item names its pod interface: eth0 for the default network, KubeVirt's hashed name for the others (v1.0+)
    assert items == [{'interface': 'eth0', 'ipv4': ['vlan30-v4'], 'ipv6': ['vlan30-v6']},
                     {'interface': 'pod' + hashlib.sha256(b'back').hexdigest()[:11], 'ipv4': ['vlan40-v4']},
                     {'interface': 'pod' + hashlib.sha256(b'store').hexdigest()[:11], 'ipv4': ['a', 'b']}]
    assert manifest['spec']['runStrategy'] == 'Halted'
    assert spec['domain']['cpu'] == {'cores': 2} and spec['domain']['memory'] == {'guest': '4Gi'}
    assert spec['domain']['devices']['interfaces'][2]['model'] == 'e1000'
    dvt = manifest['spec']['dataVolumeTemplates'][0]
    assert dvt['spec']['source'] == {'registry': {'url': 'docker://quay.io/containerdisks/fedora:41'}}
    assert dvt['spec']['storage']['accessModes'] == ['ReadWriteMany'] and dvt['spec']['storage']['storageClassName'] == 'ceph'
    assert [n['ip_pools'] for n in nics] == [dict((k, v) for k, v in item.items() if k != 'interface') for item in items]


def test_pools_annotation_uses_ordinal_pod_interface_names_before_kubevirt_1_0():
    entries, problems = normalize_request(BRIDGE_MANY)
    assert not problems
    manifest = render_vm(entries[0], naming='ordinal')[0]
    items = json.loads(manifest['spec']['template']['metadata']['annotations'][POOLS_ANNOTATION])
    assert [item['interface'] for item in items] == ['eth0', 'net1', 'net2']
    assert _vm_render.naming_for_version('v0.59.2') == 'ordinal' and _vm_render.naming_for_version('v1.9.0') == 'hashed'
    assert _vm_render.naming_for_version(None) == 'hashed'  # unknown: the KubeVirt 1.0+ this collection supports


def test_cloud_init_configures_every_nic_by_mac_with_dhcp():
    manifest, _body, nics, _w = render(BRIDGE_MANY)
    volume = [v for v in tspec(manifest)['volumes'] if 'cloudInitNoCloud' in v][0]['cloudInitNoCloud']
    data = volume['networkData']
    for nic in nics:
        assert 'macaddress: "%s"' % nic['mac_address'] in data
    assert data.count('dhcp4: true') == 3
    assert data.count('use-routes: false') == 2  # only the default NIC takes routes


def test_mixed_default_and_manual_pools_need_the_crs_default_pools():
    params = copy.deepcopy(BRIDGE_MANY)
    params['nics'][1] = {'name': 'back', 'multus_cr': 'kube-system/ovs-vlan40'}
    with pytest.raises(RenderError, match=r'nics\[1\]\.ip_pools.*default pools of kube-system/ovs-vlan40.*every pod interface'):
        render(params)
    manifest = render(params, default_pools={'kube-system/ovs-vlan40': {'ipv4': ['v40-default']}})[0]
    items = json.loads(manifest['spec']['template']['metadata']['annotations'][POOLS_ANNOTATION])
    assert items[1] == {'interface': 'pod' + hashlib.sha256(b'back').hexdigest()[:11], 'ipv4': ['v40-default']}


def test_render_is_deterministic():
    assert render(BRIDGE_MANY)[0] == render(copy.deepcopy(BRIDGE_MANY))[0]


def test_spec_is_merged_last():
    params = dict(BRIDGE_ONE, spec={'runStrategy': 'Manual', 'template': {'spec': {'domain': {'cpu': {'sockets': 2}}}}})
    manifest = render(params)[0]
    assert manifest['spec']['runStrategy'] == 'Manual'
    assert tspec(manifest)['domain']['cpu'] == {'cores': 1, 'sockets': 2}


class TestNicAddRemove:
    def existing(self):
        return copy.deepcopy(render(BRIDGE_MANY)[0])

    def test_adding_a_nic_appends_interface_and_network(self):
        params = copy.deepcopy(BRIDGE_MANY)
        params['nics'].append({'name': 'extra', 'multus_cr': 'kube-system/ovs-vlan50', 'use_default_ip_pool': False,
                               'ip_pools': {'ipv4': ['v50']}})
        manifest, _body, nics, warnings = render(params, existing=self.existing())
        names = [i['name'] for i in tspec(manifest)['domain']['devices']['interfaces']]
        assert names == ['front', 'back', 'store', 'extra']
        assert tspec(manifest)['networks'][3] == {'name': 'extra', 'multus': {'networkName': 'kube-system/ovs-vlan50'}}
        items = json.loads(manifest['spec']['template']['metadata']['annotations'][POOLS_ANNOTATION])
        assert items[3] == {'interface': 'pod' + hashlib.sha256(b'extra').hexdigest()[:11], 'ipv4': ['v50']}
        assert not [w for w in warnings if 'restart' in w or 'extra' in w]  # only the IPv6 and DNS notes of every run
        assert [n['state'] for n in nics] == ['up'] * 4

    def test_removing_a_nic_sets_state_absent_instead_of_deleting(self):
        params = copy.deepcopy(BRIDGE_MANY)
        del params['nics'][1]
        manifest, _body, nics, _warnings = render(params, existing=self.existing())
        ifaces = tspec(manifest)['domain']['devices']['interfaces']
        assert [(i['name'], i.get('state')) for i in ifaces] == [('front', None), ('store', None), ('back', 'absent')]
        assert 'back' in [n['name'] for n in tspec(manifest)['networks']]
        # the annotation covers the active NICs only, each by its pod interface
        items = json.loads(manifest['spec']['template']['metadata']['annotations'][POOLS_ANNOTATION])
        assert items == [{'interface': 'eth0', 'ipv4': ['vlan30-v4'], 'ipv6': ['vlan30-v6']},
                         {'interface': 'pod' + hashlib.sha256(b'store').hexdigest()[:11], 'ipv4': ['a', 'b']}]
        assert [n['state'] for n in nics] == ['up', 'up', 'absent']

    @pytest.mark.upstream
    def test_vm_with_added_and_removed_nics_validates_against_openapi(self):
        definitions = load_swagger()
        params = copy.deepcopy(BRIDGE_MANY)
        del params['nics'][1]
        params['nics'].append({'name': 'extra', 'multus_cr': 'kube-system/ovs-vlan50'})
        manifest = render(params, existing=self.existing(), default_pools={'kube-system/ovs-vlan50': {'ipv4': ['v50']}})[0]
        assert validate(manifest, definitions) == []

    def test_removal_is_idempotent(self):
        params = copy.deepcopy(BRIDGE_MANY)
        del params['nics'][1]
        once = render(params, existing=self.existing())[0]
        twice = render(params, existing=copy.deepcopy(once))[0]
        assert once == twice

    def test_removing_the_default_nic_warns_about_restart(self):
        params = copy.deepcopy(BRIDGE_MANY)
        del params['nics'][0]
        manifest, _body, _nics, warnings = render(params, existing=self.existing())
        assert 'front' not in [i['name'] for i in tspec(manifest)['domain']['devices']['interfaces']]
        assert any('front' in w and 'restart' in w for w in warnings)
        assert tspec(manifest)['networks'][0]['multus']['default'] is True

    def test_existing_mac_is_kept_when_none_is_given(self):
        existing = self.existing()
        tspec(existing)['domain']['devices']['interfaces'][0]['macAddress'] = '02:AA:BB:CC:DD:EE'
        manifest = render(BRIDGE_MANY, existing=existing)[0]
        assert tspec(manifest)['domain']['devices']['interfaces'][0]['macAddress'] == '02:aa:bb:cc:dd:ee'

    def test_dropping_manual_pools_leaves_the_annotation_out(self):
        """Server-side apply removes it (the collection applied it before); no merge-patch null in the body."""
        params = copy.deepcopy(BRIDGE_MANY)
        for nic in params['nics']:
            nic.pop('ip_pools')
            nic['use_default_ip_pool'] = True
        manifest, body, _nics, _w = render(params, existing=self.existing())
        assert POOLS_ANNOTATION not in manifest['spec']['template']['metadata'].get('annotations', {})
        assert body is manifest


def test_render_only_returns_manifests_for_a_batch_without_a_cluster():
    params = {'namespace': 'vms', 'network_mode': 'bridge', 'render_only': True, 'nics': BRIDGE_MANY['nics'],
              'vms': [{'name': 'vm%d' % i} for i in range(5)] + [{'name': 'gone', 'state': 'absent'}]}

    def no_cluster():
        raise AssertionError('render_only contacted the cluster')
    result = run(params, no_cluster)
    assert not result.get('failed') and result['changed'] is False
    assert [r['action'] for r in result['vms']] == ['rendered'] * 5 + ['absent']
    macs = [n['mac_address'] for r in result['vms'][:5] for n in r['nics']]
    assert len(set(macs)) == 15


def test_network_data_is_yaml_with_string_keys_whatever_the_nic_names():
    import yaml
    params = copy.deepcopy(BRIDGE_MANY)
    names = ['on', '1', 'no']
    for nic, name in zip(params['nics'], names):
        nic['name'] = name
    manifest, _body, nics, _w = render(params)
    volume = [v for v in tspec(manifest)['volumes'] if 'cloudInitNoCloud' in v][0]['cloudInitNoCloud']
    data = yaml.safe_load(volume['networkData'])  # PyYAML is YAML 1.1, like cloud-init
    assert list(data['ethernets']) == names
    assert [data['ethernets'][n]['match']['macaddress'] for n in names] == [n['mac_address'] for n in nics]
    assert data['version'] == 2 and all(e['dhcp4'] is True for e in data['ethernets'].values())


DISKS = [None, {'image': 'quay.io/containerdisks/fedora:41', 'bus': 'sata'}, {'claim_name': 'root'},
         {'source_url': 'https://example.com/disk.qcow2', 'size': '20Gi', 'storage_class': 'fast', 'access_modes': ['ReadWriteMany']}]
CLOUD_INITS = [None, {'enabled': False}, {'user_data': '#cloud-config\n{}\n', 'network_data': 'version: 2\n'},
               {'user': 'u', 'password': 'p', 'ssh_authorized_keys': ['ssh-ed25519 AAAA k']}]


@pytest.mark.upstream
@pytest.mark.parametrize('disk', DISKS, ids=['no-disk', 'container', 'pvc', 'datavolume'])
@pytest.mark.parametrize('cloud_init', CLOUD_INITS, ids=['ci-default', 'ci-off', 'ci-own', 'ci-user'])
def test_every_combination_validates_against_openapi(disk, cloud_init):
    definitions = load_swagger()
    variants = [
        {'network_mode': 'masquerade', 'ports': [{'port': 8443, 'protocol': 'UDP', 'name': 'q'}], 'run_strategy': 'RerunOnFailure',
         'nics': [{'name': 'pod', 'model': 'e1000e', 'mac_address': '02:00:00:00:00:07'}]},
        {'network_mode': 'bridge', 'labels': {'app': 'x'}, 'annotations': {'example.com/note': 'free text'},
         'nics': [{'name': 'n%d' % i, 'multus_cr': 'kube-system/ovs%d' % i, 'use_default_ip_pool': i % 2 == 0,
                   'ip_pools': None if i % 2 == 0 else {'ipv4': ['p%d' % i], 'ipv6': ['p%d-v6' % i]}} for i in range(4)]},
    ]
    defaults = dict(('kube-system/ovs%d' % i, {'ipv4': ['d%d' % i]}) for i in range(4))
    for variant in variants:
        params = dict(variant, name='combo', namespace='vms', disk=disk, cloud_init=cloud_init)
        manifest = render(params, default_pools=defaults)[0]
        assert validate(manifest, definitions) == [], params


class TestDeepMerge:
    def test_nested_dicts_merge_and_the_inputs_stay_as_they_were(self):
        base = {'a': {'b': 1, 'c': [1]}, 'd': 1}
        extra = {'a': {'b': 2, 'e': {'f': [3]}}}
        merged = _vm_render.deep_merge(base, extra)
        assert merged == {'a': {'b': 2, 'c': [1], 'e': {'f': [3]}}, 'd': 1}
        assert base == {'a': {'b': 1, 'c': [1]}, 'd': 1} and extra == {'a': {'b': 2, 'e': {'f': [3]}}}

    def test_values_from_extra_are_copies(self):
        extra = {'template': {'spec': {'nodeSelector': {'zone': 'a'}}}}
        first = _vm_render.deep_merge({'template': {}}, extra)
        first['template']['spec']['nodeSelector']['zone'] = 'changed'
        assert extra['template']['spec']['nodeSelector'] == {'zone': 'a'}

    def test_nothing_to_merge_is_the_base_itself(self):
        base = {'a': 1}
        assert _vm_render.deep_merge(base, {}) is base and _vm_render.deep_merge(base, None) is base


def test_vms_of_one_batch_share_nothing_of_the_user_spec():
    shared_spec = {'template': {'spec': {'nodeSelector': {'zone': 'a'}}}}
    entries, found = normalize_request({'namespace': 'vms', 'network_mode': 'masquerade', 'spec': shared_spec,
                                        'vms': [{'name': 'one'}, {'name': 'two'}]})
    assert not found, found.items
    one, two = (_vm_render.render_vm(entry)[0] for entry in entries)
    one['spec']['template']['spec']['nodeSelector']['zone'] = 'b'
    assert two['spec']['template']['spec']['nodeSelector'] == {'zone': 'a'}
    assert shared_spec['template']['spec']['nodeSelector'] == {'zone': 'a'}


def test_bridge_nic_reports_what_the_guest_gets_ipv4_only():
    dual = copy.deepcopy(BRIDGE_MANY)  # front: ipv4 + ipv6 pools
    v6_only = {'name': 'v6', 'multus_cr': 'kube-system/ovs-vlan60', 'use_default_ip_pool': False, 'ip_pools': {'ipv6': ['vlan60-v6']}}
    dual['nics'].append(v6_only)
    _manifest, _body, nics, warnings = render(dual)
    by_name = dict((n['name'], n) for n in nics)
    assert by_name['front']['guest_ip_families'] == ['ipv4'] and by_name['front']['fixed_ip'] is True
    assert by_name['v6']['guest_ip_families'] == [] and by_name['v6']['fixed_ip'] is False
    assert any('NIC front' in w and 'IPv6' in w and 'DHCPv4' in w for w in warnings)
    assert any('NIC v6' in w and 'no address from Spiderpool' in w for w in warnings)
    masq = render(MASQ)[2][0]
    assert masq['guest_ip_families'] is None and masq['fixed_ip'] is False


def test_dns_servers_go_to_the_pod_dns_config_that_kubevirts_dhcp_hands_the_guest():
    manifest, _body, _nics, warnings = render(dict(BRIDGE_ONE, dns={'servers': ['10.10.0.53', '10.10.0.54'], 'search': ['lab.example']}))
    spec = tspec(manifest)
    assert spec['dnsPolicy'] == 'None'
    assert spec['dnsConfig'] == {'nameservers': ['10.10.0.53', '10.10.0.54'], 'searches': ['lab.example']}
    assert not any('DNS' in w for w in warnings)
    _manifest, _body, _nics, warnings = render(BRIDGE_ONE)
    assert any('cluster DNS Service' in w and 'dns.servers' in w for w in warnings)
    assert not any('DNS' in w for w in render(MASQ)[3])  # the pod network reaches the cluster DNS


@pytest.mark.upstream
def test_dns_config_validates_against_kubevirt_openapi():
    manifest = render(dict(BRIDGE_ONE, dns={'servers': ['10.10.0.53'], 'search': ['lab.example']}))[0]
    assert validate(manifest, load_swagger()) == []


@pytest.mark.parametrize('params', [MASQ, BRIDGE_ONE, BRIDGE_MANY, dict(BRIDGE_ONE, dns={'servers': ['10.10.0.53'], 'search': ['lab.example']})],
                         ids=['masquerade', 'bridge-default-pool', 'bridge-manual-pools', 'bridge-dns'])
def test_rendered_vm_passes_kubevirts_admission_rules(params):
    from lab.kubeapi import kubevirt, webhooks  # the emulator's port of virt-api's rules

    class VirtualMachines:  # pylint: disable=too-few-public-methods
        group, kind = 'kubevirt.io', 'VirtualMachine'
    manifest = render(params)[0]
    assert webhooks.kubevirt_causes(VirtualMachines, manifest, None, kubevirt.Config()) == []
    bad = copy.deepcopy(manifest)
    tspec(bad)['domain']['devices']['interfaces'][0]['ports'] = [{'port': 9999, 'protocol': 'SCTP'}]
    if params is MASQ:
        assert webhooks.kubevirt_causes(VirtualMachines, bad, None, kubevirt.Config())  # the check can fail


class TestUserDataSecrets:
    def cloud_volume(self, manifest):
        return [v for v in tspec(manifest)['volumes'] if 'cloudInitNoCloud' in v][0]['cloudInitNoCloud']

    def entry(self, **cloud_init):
        entries, problems = _vm_spec.normalize_request(dict(MASQ, cloud_init=cloud_init))
        assert not problems, problems.items
        return entries[0]

    def test_a_password_goes_into_a_secret_owned_by_the_vm(self):
        entry = self.entry(user='fedora', password='Sup3r-S3cret!')
        manifest = _vm_render.render_vm(entry)[0]
        source = self.cloud_volume(manifest)
        assert source == {'secretRef': {'name': 'web1-cloudinit'}, 'networkData': source['networkData']}
        assert 'Sup3r-S3cret!' not in json.dumps(manifest)
        secret = _vm_render.user_data_secret(entry, owner_uid='uid-1')
        assert secret['metadata']['ownerReferences'] == [{'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine', 'name': 'web1',
                                                          'uid': 'uid-1'}]
        assert 'password: "Sup3r-S3cret!"' in base64.b64decode(secret['data']['userdata']).decode()
        assert _vm_render.hide_secret_data(secret)['data'] == {'userdata': _vm_render.HIDDEN}

    def test_own_user_data_goes_into_a_secret_too_and_inline_keeps_it_in_the_spec_but_hidden_in_output(self):
        assert 'secretRef' in self.cloud_volume(_vm_render.render_vm(self.entry(user_data='#cloud-config\n{}\n'))[0])
        inline = self.entry(password='Sup3r-S3cret!', user_data_in='inline')
        manifest = _vm_render.render_vm(inline)[0]
        assert 'Sup3r-S3cret!' in self.cloud_volume(manifest)['userData'] and _vm_render.user_data_secret(inline) is None
        shown = _vm_render.hide_inline_secrets(manifest, holds_secret=True)
        assert self.cloud_volume(shown)['userData'] == _vm_render.HIDDEN and 'Sup3r-S3cret!' not in json.dumps(shown)
        assert 'Sup3r-S3cret!' in json.dumps(manifest)  # the manifest to apply is left alone

    def test_user_data_without_secrets_stays_inline_and_visible(self):
        entry = self.entry(user='fedora', ssh_authorized_keys=['ssh-ed25519 AAAA k'])
        manifest = _vm_render.render_vm(entry)[0]
        assert 'ssh-ed25519 AAAA k' in self.cloud_volume(manifest)['userData']
        assert _vm_render.hide_inline_secrets(manifest) == manifest
        always = self.entry(user='fedora', user_data_in='secret')
        assert 'secretRef' in self.cloud_volume(_vm_render.render_vm(always)[0])

    def test_an_old_inline_password_is_hidden_in_a_diff_too(self):
        old = {'spec': {'template': {'spec': {'volumes': [{'name': 'c', 'cloudInitNoCloud': {'userData': '#cloud-config\nchpasswd:\n  list: x'}}]}}}}
        assert _vm_render.hide_inline_secrets(old)['spec']['template']['spec']['volumes'][0]['cloudInitNoCloud']['userData'] == \
            _vm_render.HIDDEN


def test_user_data_secret_reference_counts_as_a_user_data_source_as_kubevirt_names_it():
    """KubeVirt's user-data Secret field is plain ``secretRef``: with inline user data beside it, both are refused."""
    from lab.kubeapi import kubevirt, webhooks  # the emulator's port of virt-api's rules

    class VirtualMachines:  # pylint: disable=too-few-public-methods
        group, kind = 'kubevirt.io', 'VirtualMachine'
    entries, problems = _vm_spec.normalize_request(dict(MASQ, cloud_init={'user': 'fedora', 'password': 'pw-1-secret'}))
    assert not problems, problems.items
    manifest = _vm_render.render_vm(entries[0])[0]
    assert webhooks.kubevirt_causes(VirtualMachines, manifest, None, kubevirt.Config()) == []
    volume = [v for v in tspec(manifest)['volumes'] if 'cloudInitNoCloud' in v][0]['cloudInitNoCloud']
    volume['userData'] = '#cloud-config\n{}\n'
    assert _vm_render.cloud_init_problems(tspec(manifest), '')  # two user-data sources
    assert webhooks.kubevirt_causes(VirtualMachines, manifest, None, kubevirt.Config())
