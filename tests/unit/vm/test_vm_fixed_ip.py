"""Reading a VM's SpiderEndpoint back onto its NICs: KubeVirt's pod interface names, kept IPs only."""
import hashlib

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_ipam as ipam

SPEC = {'networks': [{'name': 'lan', 'multus': {'networkName': 'kube-system/ovs30', 'default': True}},
                     {'name': 'back', 'multus': {'networkName': 'kube-system/ovs40'}},
                     {'name': 'old', 'multus': {'networkName': 'kube-system/ovs50'}}]}
HASHED = 'pod' + hashlib.sha256(b'back').hexdigest()[:11]


def endpoint(entries, owner='VirtualMachineInstance', **meta):
    status = {'ownerControllerType': owner, 'ownerControllerName': 'db', 'current': {'uid': 'u', 'node': 'n', 'ips': entries}}
    return {'metadata': dict({'name': 'db'}, **meta), 'status': status}


def test_pod_interface_names_follow_kubevirt():
    names = ipam.pod_interface_names(SPEC)
    assert names == {'lan': ['eth0'], 'back': [HASHED, 'net1'], 'old': ['pod' + hashlib.sha256(b'old').hexdigest()[:11], 'net2']}
    vmi = {'status': {'interfaces': [{'name': 'back', 'podInterfaceName': 'custom1'}]}}
    assert ipam.pod_interface_names(SPEC, vmi)['back'] == ['custom1', HASHED, 'net1']


def test_kept_ips_map_to_nics_and_only_a_vms_own_endpoint_counts():
    kept = endpoint([{'interface': 'eth0', 'ipv4': '10.30.0.10/24', 'ipv4Pool': 'v30', 'ipv6': 'fd00::10/64', 'ipv6Pool': 'v6'},
                     {'interface': 'net2', 'ipv4': '10.50.0.3/24', 'ipv4Pool': 'v50'}])
    assert ipam.nic_fixed_ips(SPEC, kept) == {
        'lan': {'ip_addresses': ['10.30.0.10', 'fd00::10'], 'pools': {'ipv4': 'v30', 'ipv6': 'v6'}},
        'old': {'ip_addresses': ['10.50.0.3'], 'pools': {'ipv4': 'v50'}}}  # recorded under the older ordinal name
    owned_by_pod = endpoint(kept['status']['current']['ips'], ownerReferences=[{'kind': 'Pod', 'name': 'virt-launcher-db-x'}])
    assert ipam.nic_fixed_ips(SPEC, owned_by_pod) == {} and ipam.nic_fixed_ips(SPEC, None) == {}
    assert ipam.nic_fixed_ips(SPEC, endpoint(kept['status']['current']['ips'], owner='Pod')) == {}


def test_a_kept_ipv6_address_is_no_fixed_ip_of_a_bridge_guest():
    from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_status import describe_vm
    vm = {'metadata': {'name': 'db', 'namespace': 'vms'}, 'spec': {'template': {'spec': {
        'domain': {'devices': {'interfaces': [{'name': 'lan', 'bridge': {}}, {'name': 'back', 'bridge': {}}]}},
        'networks': SPEC['networks'][:2]}}}}
    kept = endpoint([{'interface': 'eth0', 'ipv4': '10.30.0.10/24', 'ipv4Pool': 'v30', 'ipv6': 'fd00::10/64', 'ipv6Pool': 'v6'},
                     {'interface': HASHED, 'ipv6': 'fd00:40::3/64', 'ipv6Pool': 'v40-6'}])
    lan, back = describe_vm(vm, endpoint=kept)['nics']
    assert (lan['fixed_ip'], lan['guest_ip_families']) == (True, ['ipv4'])
    assert (back['fixed_ip'], back['guest_ip_families'], back['fixed_ip_addresses']) == (False, [], ['fd00:40::3'])
