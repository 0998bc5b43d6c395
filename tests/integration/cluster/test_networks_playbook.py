"""playbooks/networks.yml with the sample inventory against the emulator: created in dependency
order, a second run changes nothing, objects validate against the upstream CRDs, and
state: absent entries are removed in reverse order."""
import json
import sys

import yaml

from cluster_helpers import ROOT, SPIDERPOOL, assert_valid, crd_schema, run_playbook

INVENTORY = ROOT / 'inventory' / 'sample'


def recap(proc):
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('localhost')][-1]
    return dict((k, int(v)) for k, v in (part.split('=') for part in line.split(':', 1)[1].split()))


def test_networks_from_the_sample_inventory(tmp_path, kubeapi, upstream_crds):
    kubeapi.simulate('spidermultusconfig-nad')
    argv = ['-i', str(INVENTORY), 'playbooks/networks.yml', '-e', 'vmnet_kubeconfig=' + kubeapi.kubeconfig]
    first = run_playbook(argv)
    assert first.returncode == 0, first.stdout + first.stderr
    sample = yaml.safe_load((INVENTORY / 'group_vars' / 'all' / 'networks.yml').read_text(encoding='utf-8'))
    assert recap(first)['changed'] == 3  # one changed loop task per kind
    for entry in sample['vmnet_subnets']:
        assert_valid(kubeapi.get(SPIDERPOOL, 'SpiderSubnet', entry['name']), crd_schema(upstream_crds, 'spiderpool', 'spidersubnets'))
    for entry in sample['vmnet_ippools']:
        stored = kubeapi.get(SPIDERPOOL, 'SpiderIPPool', entry['name'])
        assert stored['spec']['ips'] == entry['ips']
        assert_valid(stored, crd_schema(upstream_crds, 'spiderpool', 'spiderippools'))
    for entry in sample['vmnet_multus_crs']:
        smc = kubeapi.get(SPIDERPOOL, 'SpiderMultusConfig', entry['name'], entry['namespace'])
        assert smc['spec']['ovs']['vlan'] == entry['ovs']['vlan']
        assert_valid(smc, crd_schema(upstream_crds, 'spiderpool', 'spidermultusconfigs'))
        nad = kubeapi.get('k8s.cni.cncf.io/v1', 'NetworkAttachmentDefinition', entry['name'], entry['namespace'])
        assert json.loads(nad['spec']['config'])['plugins'][0]['ipam']['default_ipv4_ippool'] == entry['default_ip_pools']['ipv4']

    kubeapi.clear_requests()
    second = run_playbook(argv + ['--check', '--diff'])
    assert second.returncode == 0 and recap(second)['changed'] == 0, second.stdout
    assert kubeapi.writes() == []

    # remove one VLAN: its CR, pools and subnet in reverse dependency order
    overrides = {
        'vmnet_subnets': [dict(sample['vmnet_subnets'][1], state='absent')],
        'vmnet_ippools': [dict(p, state='absent') for p in sample['vmnet_ippools'] if p['name'].startswith('vlan200')],
        'vmnet_multus_crs': [dict(sample['vmnet_multus_crs'][1], state='absent')],
    }
    extra = tmp_path / 'absent.json'
    extra.write_text(json.dumps(overrides), encoding='utf-8')
    kubeapi.clear_requests()
    third = run_playbook(argv + ['-e', '@' + str(extra)])
    assert third.returncode == 0, third.stdout + third.stderr
    deletes = [(w['resource'], w['name']) for w in kubeapi.writes() if w['verb'] == 'delete']
    assert deletes == [('spidermultusconfigs', 'ovs-vlan200'), ('spiderippools', 'vlan200-v4-a'), ('spiderippools', 'vlan200-v4-b'),
                       ('spidersubnets', 'vlan200-v4')], deletes
    assert kubeapi.get(SPIDERPOOL, 'SpiderSubnet', 'vlan100-v4') is not None


def write_extra(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding='utf-8')
    return '@' + str(path)


def test_misspelt_keys_fail_naming_the_entry_before_anything_is_written(tmp_path, kubeapi):
    """exclude_ip and namespace_names (for exclude_ips and namespace_name) used to vanish in the playbook's
    hand-written option list: the pool was created open to every namespace with nothing excluded."""
    sample = yaml.safe_load((INVENTORY / 'group_vars' / 'all' / 'networks.yml').read_text(encoding='utf-8'))
    pools = [dict(p) for p in sample['vmnet_ippools']]
    pools[1].pop('multus_name')
    pools[1].update(exclude_ip=['172.16.100.60'], namespace_names=['vms'])
    argv = ['-i', str(INVENTORY), 'playbooks/networks.yml', '-e', 'vmnet_kubeconfig=' + kubeapi.kubeconfig,
            '-e', write_extra(tmp_path, 'typo.json', {'vmnet_ippools': pools})]
    kubeapi.clear_requests()
    proc = run_playbook(argv)
    assert proc.returncode != 0
    out = proc.stdout
    assert 'ippools[1] (vlan100-v4-b): unknown option exclude_ip (did you mean exclude_ips?)' in out, out[-3000:]
    assert 'ippools[1] (vlan100-v4-b): unknown option namespace_names (did you mean namespace_name?)' in out
    assert 'the options allowed there are: default, disable, exclude_ips, force, gateway, ip_version, ips, labels, multus_name, name, ' \
        'namespace_affinity, namespace_name, node_affinity, node_name, pod_affinity, routes, state, subnet, vlan' in out
    assert kubeapi.writes() == []  # not even the subnets, which come first

    not_a_list = run_playbook(argv[:5] + ['-e', write_extra(tmp_path, 'dict.json', {'vmnet_multus_crs': {'name': 'ovs-vlan100'}})])
    assert not_a_list.returncode != 0 and 'vmnet_multus_crs must be a list of entries, got {"name": "ovs-vlan100"}' in not_a_list.stdout
    gone = {'vmnet_subnets': [dict(sample['vmnet_subnets'][0], state='gone')]}
    bad_state = run_playbook(argv[:5] + ['-e', write_extra(tmp_path, 'state.json', gone)])
    assert bad_state.returncode != 0 and 'value of state must be one of: present, absent, got: gone' in bad_state.stdout
    assert kubeapi.writes() == []


def test_an_entry_trimmed_in_the_inventory_is_trimmed_in_the_cluster(tmp_path, kubeapi):
    pools = [{'name': 'trim-v4', 'subnet': '172.18.0.0/24', 'ips': ['172.18.0.10-172.18.0.20'], 'exclude_ips': ['172.18.0.15'],
              'namespace_name': ['vms'], 'labels': {'team': 'a', 'tier': 'db'}}]
    base = ['playbooks/networks.yml', '-i', 'localhost,', '-e', 'vmnet_kubeconfig=' + kubeapi.kubeconfig,
            '-e', 'ansible_python_interpreter=' + sys.executable]
    first = run_playbook(base + ['-e', write_extra(tmp_path, 'full.json', {'vmnet_ippools': pools})])
    assert first.returncode == 0, first.stdout[-3000:]
    trimmed = [dict([(k, v) for k, v in pools[0].items() if k not in ('exclude_ips', 'namespace_name')], labels={'team': 'a'})]
    second = run_playbook(base + ['-e', write_extra(tmp_path, 'trim.json', {'vmnet_ippools': trimmed})])
    assert second.returncode == 0 and recap(second)['changed'] == 1, second.stdout[-3000:]
    stored = kubeapi.get(SPIDERPOOL, 'SpiderIPPool', 'trim-v4')
    assert stored['metadata']['labels'] == {'team': 'a'}
    assert 'namespaceName' not in stored['spec'] and 'excludeIPs' not in stored['spec']
