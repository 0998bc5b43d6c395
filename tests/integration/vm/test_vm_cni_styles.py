"""Masquerade needs nothing but KubeVirt: the same VM on Calico-, Cilium- and Flannel-style clusters.

Each style is modelled by what that CNI adds to the API (Calico and Cilium register their own
CRDs, one of them an ``IPPool`` kind that must never be mistaken for Spiderpool's; Flannel adds
none) on a cluster without Spiderpool or Multus. Runs the module's flow in-process with a real
client (the playbook path is covered in test_vm_network_cluster.py).
"""
import copy

import pytest
import yaml

from vm_playbook import ROOT, namespace

CNI_CRDS = {
    'calico': [('crd.projectcalico.org', 'v1', 'IPPool', 'ippools', False), ('crd.projectcalico.org', 'v1', 'FelixConfiguration',
                                                                             'felixconfigurations', False)],
    'cilium': [('cilium.io', 'v2', 'CiliumNode', 'ciliumnodes', False), ('cilium.io', 'v2', 'CiliumNetworkPolicy',
                                                                         'ciliumnetworkpolicies', True)],
    'flannel': [],
}


def crd(group, version, kind, plural, namespaced):
    return {'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition', 'metadata': {'name': '%s.%s' % (plural, group)},
            'spec': {'group': group, 'scope': 'Namespaced' if namespaced else 'Cluster',
                     'names': {'kind': kind, 'plural': plural, 'singular': kind.lower(), 'listKind': kind + 'List'},
                     'versions': [{'name': version, 'served': True, 'storage': True,
                                   'schema': {'openAPIV3Schema': {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True}}}]}}


@pytest.mark.parametrize('style', sorted(CNI_CRDS))
def test_masquerade_vm_on_each_cni_style(tmp_path, style):
    from lab.kubeapi.fixtures import start_kubeapi
    from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi
    from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_run import run
    with start_kubeapi(tmp_path / 'api', crds='none') as api:
        for name in ('kubevirt-virtualmachines.yaml', 'kubevirt-virtualmachineinstances.yaml'):
            api.apply(yaml.safe_load((ROOT / 'lab' / 'kubeapi' / 'crds' / 'common' / name).read_text()))
        for spec in CNI_CRDS[style]:
            api.apply(crd(*spec))
        api.apply(namespace('vms'))
        params = {'name': 'web', 'namespace': 'vms', 'network_mode': 'masquerade', 'ports': [{'port': 443}], 'live_migration': 'required'}

        def connect():
            return KubeApi.from_params({'kubeconfig': api.kubeconfig})
        first = run(copy.deepcopy(params), connect)
        assert not first.get('failed'), first.get('msg')
        assert first['vms'][0]['action'] == 'created' and first['vms'][0]['live_migratable'] is True
        assert run(copy.deepcopy(params), connect)['changed'] is False
        stored = api.get('kubevirt.io/v1', 'VirtualMachine', 'web', 'vms')
        assert stored['spec']['template']['spec']['networks'] == [{'name': 'default', 'pod': {}}]
        assert 'masquerade' in stored['spec']['template']['spec']['domain']['devices']['interfaces'][0]
        touched = set(r['group'] for r in api.requests() if r['resource'])
        assert not touched & {'spiderpool.spidernet.io', 'k8s.cni.cncf.io', 'crd.projectcalico.org', 'cilium.io'}, touched
