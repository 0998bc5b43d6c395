"""playbooks/networks.yml with the sample inventory against the emulator: created in dependency
order, a second run changes nothing, objects validate against the upstream CRDs, and
state: absent entries are removed in reverse order."""
import json

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
