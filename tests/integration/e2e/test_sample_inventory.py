"""inventory/sample and playbooks/site.yml: they load, and the topology holds together."""
import ipaddress
import json
import pathlib
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
SAMPLE = ROOT / 'inventory' / 'sample'
BIN = ROOT / '.venv' / 'bin'


def run(argv):
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)


def sample_vars():
    merged = {}
    for path in sorted((SAMPLE / 'group_vars').glob('*/*.yml')):
        merged.update(yaml.safe_load(path.read_text(encoding='utf-8')) or {})
    return merged


def addresses(entries):
    found = set()
    for entry in entries:
        first, _sep, last = entry.partition('-')
        low, high = int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last or first))
        found.update(range(low, high + 1))
    return found


def test_inventory_loads_with_three_workers_and_their_variables():
    result = run([str(BIN / 'ansible-inventory'), '-i', str(SAMPLE), '--list'])
    assert result.returncode == 0, result.stderr
    inventory = json.loads(result.stdout)
    assert inventory['workers']['hosts'] == ['worker1', 'worker2', 'worker3']
    worker = inventory['_meta']['hostvars']['worker2']
    assert worker['ansible_host'] == '10.10.0.12'
    assert worker['vmnet_ovs_bridge_bridges'][0]['uplink']['interface'] == 'eth1'
    assert [vm['name'] for vm in worker['vmnet_vms']] == ['vm-masq', 'vm-bridge-default', 'vm-bridge-pools']


def test_site_yml_passes_syntax_check_with_the_sample():
    result = run([str(BIN / 'ansible-playbook'), '-i', str(SAMPLE), '--syntax-check', 'playbooks/site.yml'])
    assert result.returncode == 0, result.stdout + result.stderr


def test_site_yml_runs_the_four_steps_in_order():
    result = run([str(BIN / 'ansible-playbook'), '-i', str(SAMPLE), '--list-tasks', 'playbooks/site.yml'])
    assert result.returncode == 0, result.stdout + result.stderr
    plays = [line.split('play #', 1)[1].split(':', 1)[1].split('\t')[0].strip() for line in result.stdout.splitlines() if 'play #' in line]
    order = [next(index for index, play in enumerate(plays) if play.startswith(step)) for step in ('Open vSwitch', 'Cluster', 'Networks', 'VMs')]
    assert order == sorted(order), plays


def test_bridge_trunks_keep_management_and_carry_every_vlan_of_the_multus_crs():
    variables = sample_vars()
    bridge = variables['vmnet_ovs_bridge_bridges'][0]
    trunks = bridge['uplink']['trunks']
    assert 0 in trunks or bridge['uplink'].get('vlan_mode') == 'native-untagged'
    vlans = {cr['ovs']['vlan'] for cr in variables['vmnet_multus_crs']}
    assert vlans == {100, 200}
    assert vlans <= set(trunks)
    assert variables['vmnet_ovs_bridge_fabric_vlan'] in trunks
    assert all(cr['ovs']['bridge'] == bridge['name'] for cr in variables['vmnet_multus_crs'])


def test_pools_fit_their_subnets_and_do_not_overlap():
    variables = sample_vars()
    subnets = {entry['subnet']: entry for entry in variables['vmnet_subnets']}
    taken = {}
    for pool in variables['vmnet_ippools']:
        subnet = subnets[pool['subnet']]
        ips = addresses(pool['ips'])
        assert ips <= addresses(subnet['ips']), pool['name']
        assert int(ipaddress.ip_address(pool['gateway'])) not in ips
        assert not ips & taken.get(pool['subnet'], set()), '%s overlaps another pool' % pool['name']
        taken.setdefault(pool['subnet'], set()).update(ips)


def test_multus_crs_pools_and_vm_nics_refer_to_each_other():
    variables = sample_vars()
    pools = {pool['name']: pool for pool in variables['vmnet_ippools']}
    crs = {'%s/%s' % (cr['namespace'], cr['name']): cr for cr in variables['vmnet_multus_crs']}
    for name, cr in crs.items():
        for pool in cr['default_ip_pools']['ipv4']:
            assert name in pools[pool]['multus_name'], '%s: default pool %s does not serve it' % (name, pool)
    modes = {}
    for vm in variables['vmnet_vms']:
        modes[vm['name']] = vm['network_mode']
        for nic in vm.get('nics', []):
            assert nic['multus_cr'] in crs
            for pool in (nic.get('ip_pools') or {}).get('ipv4', []):
                assert nic['multus_cr'] in pools[pool]['multus_name'], '%s/%s: pool %s' % (vm['name'], nic['name'], pool)
            assert nic.get('use_default_ip_pool', True) == (not nic.get('ip_pools'))
    assert modes == {'vm-masq': 'masquerade', 'vm-bridge-default': 'bridge', 'vm-bridge-pools': 'bridge'}
    by_hand = next(vm for vm in variables['vmnet_vms'] if vm['name'] == 'vm-bridge-pools')
    assert len(by_hand['nics']) == 2
