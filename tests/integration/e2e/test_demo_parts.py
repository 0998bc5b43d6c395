"""The demo's parts that need no lab: inventory overlay, progress, recap, summary tables, preload."""
import io
import ipaddress
import pathlib
import shutil
import subprocess

import pytest
import yaml

from lab import demo

ROOT = pathlib.Path(__file__).resolve().parents[3]

LAB_INVENTORY = {'all': {'children': {'lab_nodes': {
    'hosts': {'node%d' % index: {'ansible_host': '10.10.0.%d' % (10 + index), 'vmnet_lab_uplink': 'eth1'} for index in (1, 2, 3)},
    'vars': {'ansible_user': 'root', 'ansible_ssh_private_key_file': '/lab/key', 'ansible_ssh_common_args': '-o ProxyCommand=x'},
}}}}

PLAYBOOK_OUTPUT = '''
PLAY [Open vSwitch and bridges, rolling] ***************************************

TASK [vmnet.kubevirt.ovs : Install Open vSwitch (apt)] *************************
ok: [worker1]
changed: [worker2]

TASK [Loop over things] ********************************************************
ok: [worker1] => (item=a)
failed: [worker1] (item=b) => {"msg": "boom"}
skipping: [worker2] => (item=a)
ok: [worker3 -> localhost] => (item=a)

PLAY RECAP *********************************************************************
worker1                    : ok=2    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
worker2                    : ok=0    changed=1    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0
'''


def test_overlay_puts_the_lab_under_the_sample_host_names():
    hosts_yml, group_vars = demo.overlay_inventory(LAB_INVENTORY, ['worker1', 'worker2', 'worker3'], '/run/kubeconfig',
                                                   {'vmnet_spiderpool_helm_binary': str(demo.HELM)})
    hosts = hosts_yml['all']['children']['workers']['hosts']
    assert list(hosts) == ['worker1', 'worker2', 'worker3']
    assert hosts['worker2']['ansible_host'] == '10.10.0.12'
    assert group_vars['workers']['ansible_ssh_common_args'] == '-o ProxyCommand=x'
    # The sample sets the datapath on "workers": the overlay must set it there too to win.
    assert group_vars['workers']['vmnet_datapath_type'] == 'netdev'
    assert group_vars['all']['vmnet_kubeconfig'] == '/run/kubeconfig'
    assert group_vars['all']['vmnet_spiderpool_helm_binary'].endswith('.cache/tools/bin/helm')


def test_the_demo_installs_the_real_chart_where_shared_has_it_else_the_lab_stand_in(tmp_path, monkeypatch):
    work = demo.Workdir('e2e-chart')
    monkeypatch.setattr(work, 'dir', tmp_path)
    real = tmp_path / 'shared-chart'
    real.mkdir()
    (real / 'Chart.yaml').write_text('name: spiderpool\nversion: 1.2.2\n', encoding='utf-8')
    chart, text, variables = demo.spiderpool_chart(work, real_chart=real)
    assert chart == real and 'the real Spiderpool chart 1.2.2' in text
    assert variables == {'vmnet_spiderpool_helm_binary': str(demo.HELM), 'vmnet_spiderpool_chart_path': str(real)}
    chart, text, variables = demo.spiderpool_chart(work, real_chart=tmp_path / 'absent')
    assert "the lab's stand-in for the Spiderpool chart (spiderpool 1.2.2-lab" in text
    assert variables['vmnet_spiderpool_chart_version'] == '1.2.2-lab' and (chart / 'Chart.yaml').is_file()
    # The stand-in renders with the role's values under real helm, and names its workloads as the real chart does.
    proc = subprocess.run([str(demo.HELM), 'template', 'spiderpool', str(chart), '--set', 'multus.multusCNI.install=false'],
                          capture_output=True, text=True, check=True, env=dict(demo.ansible_extra_env(work), PATH='/usr/bin:/bin'))
    kinds = {(doc['kind'], doc['metadata']['name']) for doc in yaml.safe_load_all(proc.stdout) if doc}
    assert {('Deployment', 'spiderpool-controller'), ('DaemonSet', 'spiderpool-agent'), ('Job', 'spiderpool-init'),
            ('ConfigMap', 'spiderpool-conf')} <= kinds
    assert 'multus-cni' not in proc.stdout


def test_overlay_refuses_a_lab_smaller_than_the_sample():
    with pytest.raises(ValueError, match='the lab has 3 nodes but the sample inventory names 4'):
        demo.overlay_inventory(LAB_INVENTORY, ['w1', 'w2', 'w3', 'w4'], '/k')


def test_sample_hosts_and_the_overlay_use_the_same_group():
    assert demo.sample_hosts() == ['worker1', 'worker2', 'worker3']


def test_task_outcomes_keep_the_worst_status_per_host():
    outcomes = demo.task_outcomes(PLAYBOOK_OUTPUT.splitlines())
    assert [task for _play, task, _statuses in outcomes] == ['vmnet.kubevirt.ovs : Install Open vSwitch (apt)', 'Loop over things']
    assert outcomes[0][2] == {'worker1': 'ok', 'worker2': 'changed'}
    assert outcomes[1][2] == {'worker1': 'failed', 'worker2': 'skipping', 'worker3': 'ok'}
    assert outcomes[1][0] == 'Open vSwitch and bridges, rolling'


def test_tracker_reports_a_task_when_the_next_one_starts():
    tracker = demo.TaskTracker()
    assert tracker.feed('TASK [first] ****') == []
    assert tracker.feed('changed: [worker1]') == []
    finished = tracker.feed('TASK [second] ****')
    assert finished == [(None, 'first', {'worker1': 'changed'})]
    line = demo.task_line(finished[0][1], finished[0][2])
    assert line.startswith('first') and line.endswith('changed: worker1')


def test_recap_and_changed_tasks():
    recap = demo.parse_recap(PLAYBOOK_OUTPUT)
    assert recap['worker2'] == {'ok': 0, 'changed': 1, 'unreachable': 0, 'failed': 0, 'skipped': 1, 'rescued': 0, 'ignored': 0}
    assert demo.recap_totals(recap)['changed'] == 1
    assert demo.recap_totals(recap)['failed'] == 1
    assert demo.changed_tasks(PLAYBOOK_OUTPUT) == [('Open vSwitch and bridges, rolling', 'vmnet.kubevirt.ovs : Install Open vSwitch (apt)',
                                                    ['worker2'])]


def test_vlans_come_from_the_sample_multus_crs_and_pools():
    assert demo.vlan_networks(demo.sample_vars()) == {100: ('kube-system/ovs-vlan100', '172.16.100.0/24'),
                                                      200: ('kube-system/ovs-vlan200', '172.16.200.0/24')}


def test_fabric_probe_addresses_stay_out_of_the_sample_subnets_ips():
    variables = demo.sample_vars()
    for _vlan, (_cr, subnet) in demo.vlan_networks(variables).items():
        taken = []
        for entry in variables['vmnet_subnets'] + variables['vmnet_ippools']:
            if entry['subnet'] == subnet:
                taken += entry['ips'] + [entry['gateway']]
        for index in (1, 2, 3):
            probe = ipaddress.ip_interface(demo.probe_address(subnet, index))
            assert probe.network == ipaddress.ip_network(subnet)
            for item in taken:
                first, _sep, last = item.partition('-')
                low, high = ipaddress.ip_address(first), ipaddress.ip_address(last or first)
                assert not low <= probe.ip <= high, '%s collides with %s' % (probe, item)


def test_summary_rows():
    state = {'bridges': [{'name': 'br1', 'uplink': 'eth1', 'trunks': [0, 100, 200], 'vlan_mode': None, 'addresses': ['10.10.0.11/24'],
                          'persisted_in': ['/etc/network/interfaces']}]}
    assert demo.node_row('worker1', state) == ['worker1', 'br1', 'eth1', '10.10.0.11/24', '0 (untagged), 100, 200', '/etc/network/interfaces']
    assert demo.node_row('worker2', {'bridges': []})[-2:] == ['no OVS bridge', '-']
    table = demo.fabric_table(['a', 'b'], {'VLAN 100': {('a', 'b'): True, ('b', 'a'): False}})
    assert table.splitlines()[-1].split() == ['b', 'FAIL', '-']
    pools = [{'metadata': {'name': 'p'}, 'spec': {'subnet': '10.0.0.0/24', 'multusName': ['kube-system/x']},
              'status': {'allocatedIPCount': 1, 'totalIPCount': 4}},
             {'metadata': {'name': 'q'}, 'spec': {'subnet': '10.0.0.0/24'}}]
    smcs = [{'metadata': {'namespace': 'kube-system', 'name': 'x'}, 'spec': {'cniType': 'ovs', 'ovs': {'bridge': 'br1', 'ippools': {'ipv4': ['p']}}}}]
    defaults = demo.smc_default_pools(smcs)
    assert defaults == {'kube-system/x': ['p']}
    vms = [{'name': 'v', 'namespace': 'vms', 'live_migratable': False, 'live_migration_blockers': ['RWO disk'],
            'live_migration_notes': ['disputed upstream'], 'printable_status': 'Running',
            'nics': [{'name': 'n1', 'mode': 'bridge', 'multus_cr': 'kube-system/x', 'ip_pools': {'ipv4': ['q']},
                      'mac_address': '00:16:3e:00:00:01', 'ip_addresses': ['10.0.0.5'], 'fixed_ip': True},
                     {'name': 'n2', 'mode': 'bridge', 'multus_cr': 'kube-system/x', 'ip_pools': {}, 'mac_address': None,
                      'fixed_ip': False}]},
           {'name': 'off', 'namespace': 'vms', 'printable_status': 'Stopped',
            'nics': [{'name': 'n1', 'mode': 'bridge', 'multus_cr': 'kube-system/x', 'ip_pools': {'ipv4': ['p']}, 'ip_addresses': [],
                      'fixed_ip': True, 'fixed_ip_addresses': ['10.0.0.9']}]}]
    usage = [{'name': 'p', 'free_ip_count': 2, 'vms': ['vms/off']}]
    assert demo.pool_rows(pools, defaults, usage, {'p': 2}) == [
        ['p', '10.0.0.0/24', '1/4 (25%)', '2', 'vms/off', 'kube-system/x', 'kube-system/x'],
        ['q', '10.0.0.0/24', '(no status)', '-', '-', '-', '-']]
    rows, verdicts = demo.vm_rows(vms, defaults)
    assert rows == [['vms/v', 'n1', 'bridge', 'kube-system/x', 'q (by hand)', '00:16:3e:00:00:01', '10.0.0.5', 'yes (SpiderEndpoint)'],
                    ['', 'n2', 'bridge', 'kube-system/x', 'p (CR default)', '(assigned at start)', '-', 'no'],
                    ['vms/off', 'n1', 'bridge', 'kube-system/x', 'p (by hand)', '(assigned at start)', '10.0.0.9 (kept while stopped)',
                     'yes (SpiderEndpoint)']]
    assert verdicts[:2] == ['vms/v: live migration no - RWO disk', '    note: disputed upstream']
    assert demo.nics_without_ip(vms) == ['vms/v n2']  # a stopped VM's NICs have none to show


def test_restart_line_says_whether_the_ips_stayed():
    before = {'name': 'b', 'namespace': 'vms', 'nics': [{'name': 'n1', 'ip_addresses': ['10.0.0.5']}, {'name': 'n2', 'ip_addresses': ['10.1.0.5']}]}
    assert demo.restart_candidate([dict(before, printable_status='Running', nics=[dict(n, fixed_ip=True) for n in before['nics']])])['name'] == 'b'
    assert demo.restart_candidate([dict(before, printable_status='Running')]) is None
    ok, text = demo.restart_line(before, before, ('aaaaaaaa-1', 'bbbbbbbb-2'))
    assert ok and text == ('vms/b restarted (new VMI bbbbbbbb, was aaaaaaaa): n1 10.0.0.5, n2 10.1.0.5 before and after: '
                           'the same IPs, kept in SpiderEndpoint vms/b')
    moved = {'nics': [{'name': 'n1', 'ip_addresses': ['10.0.0.6']}, {'name': 'n2', 'ip_addresses': ['10.1.0.5']}]}
    ok, text = demo.restart_line(before, moved, ('a', 'b'))
    assert not ok and text.endswith('NOT the same: after the restart n1 10.0.0.6, n2 10.1.0.5')
    assert not demo.restart_line(before, before, ('a', 'a'))[0]  # no new VMI: nothing was restarted


def kubernetes_core_ready(obj, status):
    """kubernetes.core's readiness rules for Deployments and DaemonSets (waiter.py)."""
    generation = 1
    if obj['kind'] == 'Deployment':
        return (obj['spec']['replicas'] == status['replicas'] and status['availableReplicas'] == status['replicas']
                and status['observedGeneration'] == generation and not status.get('unavailableReplicas'))
    return (status['updatedNumberScheduled'] == status['desiredNumberScheduled'] == status['numberReady']
            and status['observedGeneration'] == generation and not status.get('unavailableReplicas'))


def test_preloaded_workloads_count_as_rolled_out():
    objects = demo.preload_objects(['worker1', 'worker2', 'worker3'])
    workloads = [(obj, status) for obj, status in objects if obj['kind'] in ('Deployment', 'DaemonSet')]
    names = {obj['metadata']['name'] for obj, _status in workloads}
    assert {'virt-handler', 'virt-controller'} <= names
    for obj, status in workloads:
        assert kubernetes_core_ready(obj, status), obj['metadata']['name']
    # Spiderpool is installed by site.yml with real helm, not preloaded.
    assert not [obj for obj, _status in objects if 'spiderpool' in obj['metadata']['name'] or obj['kind'] == 'SpiderCoordinator']


def test_preload_is_accepted_by_the_emulator_with_the_real_crds():
    """The preload goes through the API (schema validation of the Spiderpool CRDs), then is read back."""
    work = demo.Workdir('e2e-preload')
    emulator = demo.Emulator.start(work, ['--crds', 'spiderpool-v1.2'])
    try:
        assert demo.is_emulator(emulator.pid)
        demo.preload_cluster(demo.Report(out=io.StringIO()), emulator, ['worker1', 'worker2'], demo.sample_vars())
        http = demo.ApiHttp(emulator.kubeconfig)
        deployment = http.call('GET', '/apis/apps/v1/namespaces/kubevirt/deployments/virt-controller')
        assert deployment['status']['readyReplicas'] == 1
        assert deployment['metadata']['generation'] == deployment['status']['observedGeneration']
        names = [item['metadata']['name'] for item in http.call('GET', '/api/v1/namespaces')['items']]
        assert 'vms' in names and 'kubevirt' in names
    finally:
        demo.stop_pid(emulator.pid)
        demo.teardown(demo.Report(out=io.StringIO()), work, {})
        shutil.rmtree(work.dir, ignore_errors=True)
    assert not demo._alive(emulator.pid)  # pylint: disable=protected-access
    assert not demo.is_emulator(emulator.pid)


def test_ovs_cells_become_lists():
    assert demo.ovs_set(['set', [0, 100, 200]]) == [0, 100, 200]
    assert demo.ovs_set(['set', []]) == []
    assert demo.ovs_set(100) == [100]
    assert demo.ovs_set('native-untagged') == ['native-untagged']


def test_workdir_rejects_a_bad_name():
    with pytest.raises(ValueError, match='--name'):
        demo.Workdir('Bad Name')


def test_a_new_run_starts_without_the_files_of_an_earlier_one(monkeypatch):
    """Regression: a second demo run found the first run's helm state and skipped the install."""
    work = demo.Workdir('e2e-fresh')
    (work.path('helm') / 'cache').mkdir(parents=True, exist_ok=True)
    seen = {}

    def fake_run(_args, _report, run_work, _state):
        seen['leftover'] = (run_work.dir / 'helm').exists()

    monkeypatch.setattr(demo, 'run_demo', fake_run)
    assert demo.main(['--name', 'e2e-fresh']) == demo.EXIT_OK
    assert seen == {'leftover': False}


def test_a_missing_step_is_skipped_by_name_and_the_run_is_incomplete(monkeypatch, tmp_path):
    """Degrading honestly: without playbooks/vms.yml the other steps run alone and the demo says which was skipped."""
    monkeypatch.setattr(demo, 'missing_playbooks', lambda: ['vms'])
    ran = []
    monkeypatch.setattr(demo, 'run_playbook', lambda _report, argv, _env, _log, _verbose: ran.append(pathlib.Path(argv[-1]).name) or (0, ''))
    out = io.StringIO()
    report = demo.Report(out=out)
    work = demo.Workdir('e2e-degrade')
    work.dir = tmp_path
    results = demo.run_site(report, work, 'first pass', ['ansible-playbook'], {}, 'site.log', False)
    assert ran == ['hosts.yml', 'cluster.yml', 'networks.yml']
    assert len(results) == 3
    assert ('first pass: playbooks/vms.yml', 'not in this checkout yet') in report.skipped
    assert report.exit_code() == demo.EXIT_INCOMPLETE
    assert 'SKIPPED first pass: site.yml: playbooks/vms.yml not in this checkout yet' in out.getvalue()


def test_nic_pools_tell_default_pools_from_pools_chosen_by_hand():
    defaults = {'kube-system/ovs-vlan100': ['vlan100-v4-a']}
    # vm_network_info reports the CR's default pools in ip_pools, with use_default_ip_pool true.
    on_default = {'multus_cr': 'kube-system/ovs-vlan100', 'ip_pools': {'ipv4': ['vlan100-v4-a']}, 'use_default_ip_pool': True}
    by_hand = {'multus_cr': 'kube-system/ovs-vlan100', 'ip_pools': {'ipv4': ['vlan100-v4-b']}, 'use_default_ip_pool': False}
    assert demo.nic_pools(on_default, defaults) == (['vlan100-v4-a'], 'CR default')
    assert demo.nic_pools(by_hand, defaults) == (['vlan100-v4-b'], 'by hand')
    assert demo.nic_pools({'multus_cr': 'kube-system/ovs-vlan100'}, defaults) == (['vlan100-v4-a'], 'CR default')
