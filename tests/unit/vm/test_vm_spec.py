"""vm_network input rules: every bad input fails before any cluster contact, naming field, value and rule."""
import pytest

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_run import run

BRIDGE_NIC = {'name': 'net1', 'multus_cr': 'kube-system/ovs-vlan30'}


def bridge(**extra):
    params = {'name': 'vm1', 'namespace': 'vms', 'network_mode': 'bridge', 'nics': [dict(BRIDGE_NIC)]}
    params.update(extra)
    return params


def masq(**extra):
    params = {'name': 'vm1', 'namespace': 'vms', 'network_mode': 'masquerade'}
    params.update(extra)
    return params


def no_cluster():
    raise AssertionError('the cluster was contacted although the input is invalid')


# (params, field named in the message, value shown, words of the rule)
INVALID = [
    ({'namespace': 'vms'}, 'name', 'None', 'name (with namespace) or a vms list'),
    (masq(name='Bad_Name'), 'name', "'Bad_Name'", 'DNS-1123 subdomain'),
    (masq(name='a' * 64), 'name', "'aaaa", 'at most 63'),
    (masq(namespace=None), 'namespace', 'None', 'is required'),
    (masq(namespace='Vms'), 'namespace', "'Vms'", 'DNS-1123 label'),
    (masq(vms=[{'name': 'a'}]), 'name', "'vm1'", 'either name + namespace or a vms list'),
    ({'namespace': 'vms', 'vms': []}, 'vms', '[]', 'non-empty list'),
    ({'namespace': 'vms', 'vms': [{'name': 'a'}, {'name': 'a'}]}, 'vms[1].name', "'a'", 'one entry per VM'),
    (masq(network_mode='nat'), 'network_mode', "'nat'", 'one of masquerade, bridge'),
    (masq(state='running'), 'state', "'running'", 'one of present, absent'),
    (masq(run_strategy='Running'), 'run_strategy', "'Running'", 'one of Always'),
    (masq(live_migration='maybe'), 'live_migration', "'maybe'", 'one of required'),
    (masq(nics=[{'name': 'a'}, {'name': 'b'}]), 'nics', "['a', 'b']", 'exactly one NIC'),
    (masq(nics=[{'name': 'a', 'multus_cr': 'kube-system/x'}]), 'nics[0].multus_cr', "'kube-system/x'", 'pod network only'),
    (masq(nics=[{'name': 'a', 'ip_pools': {'ipv4': ['p']}}]), 'nics[0].ip_pools', "{'ipv4': ['p']}", 'need bridge mode'),
    (masq(nics=[{'name': 'a', 'use_default_ip_pool': False}]), 'nics[0].use_default_ip_pool', 'False', 'need bridge mode'),
    (masq(nics=[{'name': 'a', 'mac_address': '02:00:00:00:00:00'}]), 'nics[0].mac_address', "'02:00:00:00:00:00'", 'reserved'),
    (masq(ports=[{'port': 49152}]), 'ports[0].port', '49152', 'never 49152 or 49153'),
    (masq(ports=[{'port': 49153}]), 'ports[0].port', '49153', 'never 49152 or 49153'),
    (masq(ports=[{'port': 0}]), 'ports[0].port', '0', '1 to 65535'),
    (masq(ports=[{'port': 70000}]), 'ports[0].port', '70000', '1 to 65535'),
    (masq(ports=[{'port': 22, 'protocol': 'ICMP'}]), 'ports[0].protocol', "'ICMP'", 'one of TCP, UDP, SCTP'),
    (masq(ports=[{'port': 22}, {'port': 22}]), 'ports[1]', "{'port': 22}", 'each port/protocol once'),
    (masq(ports=[{'port': 22, 'name': 'Way-Too-Long-Name'}]), 'ports[0].name', "'Way-Too-Long-Name'", 'IANA service name'),
    (bridge(ports=[{'port': 22}]), 'ports', "[{'port': 22}]", 'only apply to masquerade'),
    (bridge(nics=[]), 'nics', '[]', 'at least one NIC'),
    (bridge(nics=[{'name': 'a'}]), 'nics[0].multus_cr', 'None', 'every bridge NIC names a Multus CR'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'a/b/c'}]), 'nics[0].multus_cr', "'a/b/c'", 'namespace/name or name'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'kube-system/OVS'}]), 'nics[0].multus_cr', "'OVS'", 'DNS-1123 subdomain'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False}]), 'nics[0].ip_pools', 'None',
     'required when use_default_ip_pool is false'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'ip_pools': {'ipv4': ['p']}}]), 'nics[0].ip_pools', "{'ipv4': ['p']}",
     'use_default_ip_pool: false'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['Pool_1']}}]),
     'nics[0].ip_pools.ipv4[0]', "'Pool_1'", 'DNS-1123 subdomain'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['p', 'p']}}]),
     'nics[0].ip_pools.ipv4[1]', "'p'", 'each pool once'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': []}}]),
     'nics[0].ip_pools', "{'ipv4': []}", 'at least one pool'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False, 'ip_pools': {'ip4': ['p']}}]),
     'nics[0].ip_pools', "'ip4'", 'ipv4 and/or ipv6'),
    (bridge(nics=[{'name': 'eth 0', 'multus_cr': 'x/y'}]), 'nics[0].name', "'eth 0'", '^[A-Za-z0-9_-]+$'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y'}, {'name': 'a', 'multus_cr': 'x/z'}]), 'nics[1].name', "'a'", 'unique NIC names'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'mac_address': 'zz:00:00:00:00:01'}]), 'nics[0].mac_address', "'zz:00", 'six hex octets'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'mac_address': '01:00:5e:00:00:01'}]), 'nics[0].mac_address', "'01:00:5e", 'unicast'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'mac_address': 'ff:ff:ff:ff:ff:ff'}]), 'nics[0].mac_address', "'ff:ff", 'unicast'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'mac_address': '00:00:00:00:00:00'}]), 'nics[0].mac_address', "'00:00", 'unicast'),
    ({'namespace': 'vms', 'network_mode': 'bridge', 'vms': [
        {'name': 'a', 'nics': [{'name': 'n', 'multus_cr': 'x/y', 'mac_address': '02:11:22:33:44:55'}]},
        {'name': 'b', 'nics': [{'name': 'n', 'multus_cr': 'x/y', 'mac_address': '02-11-22-33-44-55'}]}]},
     'vms[1].nics[0].mac_address', "'02:11:22:33:44:55'", 'one MAC per NIC across the batch'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'model': 'rtl9000'}]), 'nics[0].model', "'rtl9000'", 'one of e1000'),
    (masq(cpu_cores=0), 'cpu_cores', '0', 'cpu_cores >= 1'),
    (masq(memory='lots'), 'memory', "'lots'", 'Kubernetes quantity'),
    (masq(memory='0Gi'), 'memory', "'0Gi'", 'positive Kubernetes quantity'),
    (masq(disk={'type': 'floppy'}), 'disk.type', "'floppy'", 'one of container_disk'),
    (masq(disk={'type': 'container_disk'}), 'disk.image', 'None', 'container image reference'),
    (masq(disk={'type': 'pvc', 'claim_name': 'Bad Claim'}), 'disk.claim_name', "'Bad Claim'", 'DNS-1123 subdomain'),
    (masq(disk={'source_url': 'ftp://x/y.img', 'size': '10Gi'}), 'disk.source_url', "'ftp://x/y.img'", 'docker://image, http://'),
    (masq(disk={'source_url': 'docker://x/y', 'size': 'big'}), 'disk.size', "'big'", 'Kubernetes quantity'),
    (masq(disk={'source_url': 'docker://x/y', 'size': '1Gi', 'access_modes': ['RWX']}), 'disk.access_modes[0]', "'RWX'", 'one of ReadWriteOnce'),
    (masq(cloud_init={'user_data': '#cloud-config', 'user': 'x'}), 'cloud_init.user_data', "'<user_data>'", 'either your own user_data'),
    (masq(labels={'a': {'b': 1}}), 'labels.a', "{'b': 1}", 'scalar'),
    (masq(spec=['x']), 'spec', "['x']", 'VirtualMachine spec fragment'),
]


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


def test_network_data_over_kubevirt_limit_is_refused():
    nics = [{'name': 'nic%02d' % i, 'multus_cr': 'x/y'} for i in range(30)]
    result = run(bridge(nics=nics, render_only=True), no_cluster)
    assert result['failed'] and 'cloud_init.network_data' in result['msg'] and '2048 bytes' in result['msg']


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
        first = int(mac.split(':')[0], 16)
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
