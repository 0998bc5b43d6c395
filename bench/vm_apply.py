"""Bulk Bridge-mode VM apply on the API emulator: vm_network with ``vms:`` against the tools
users would otherwise pick, side by side, first run and idempotent re-run; plus render_only at
scale, the bulk preflight, and the module process's peak memory."""
import json
import sys

from bench.common import (ROOT, ansible_playbook, fmt_ratio, fmt_seconds, fmt_verdict_ratio, median, playbook_env, ratio,
                          recap_changed, timed, write_playbook)

NICS = [
    {'name': 'front', 'multus_cr': 'kube-system/ovs-vlan100', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['vlan100-v4']}},
    {'name': 'back', 'multus_cr': 'kube-system/ovs-vlan200', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['vlan200-v4']}},
]
DISK = {'image': 'quay.io/containerdisks/fedora:41'}

# The tools of section 1, as their rows are labelled.
VM_NETWORK = 'vm_network (one task, vms:)'
VM_NETWORK_LEAN = 'vm_network, return_manifests: false'
LOOP = 'kubevirt.core.kubevirt_vm loop'
K8S = 'kubernetes.core.k8s (one task)'
FLOOR = 'floor: kubernetes Python client'


def vlan_objects(vlan, octet):
    pool = 'vlan%d-v4' % vlan
    return [
        {'apiVersion': 'spiderpool.spidernet.io/v2beta1', 'kind': 'SpiderIPPool', 'metadata': {'name': pool},
         'spec': {'subnet': '10.%d.0.0/16' % octet, 'ips': ['10.%d.1.0-10.%d.200.255' % (octet, octet)],
                  'gateway': '10.%d.0.1' % octet}},
        {'apiVersion': 'spiderpool.spidernet.io/v2beta1', 'kind': 'SpiderMultusConfig',
         'metadata': {'name': 'ovs-vlan%d' % vlan, 'namespace': 'kube-system'},
         'spec': {'cniType': 'ovs', 'ovs': {'bridge': 'br1', 'vlan': vlan, 'ippools': {'ipv4': [pool]}}}},
    ]


def seed_nic_pools(server):
    """The two pools and Multus CRs that NICS name."""
    for obj in vlan_objects(100, 100) + vlan_objects(200, 200):
        server.apply(obj)


def namespace(name):
    return {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': name}}


def auth_vars(server):
    return {'kubeconfig': server.kubeconfig}


def vm_network_play(server, ns, count, render_only=False, check=False, names_prefix='vm', register=False, return_manifests=True):
    """One vm_network task for ``count`` VMs. Timed plays register nothing, like the baselines' tasks:
    registering makes Ansible template the whole result once more (about 0.1 s for 200 VMs)."""
    task = {
        'name': 'vm_network with %d VMs' % count,
        'vmnet.kubevirt.vm_network': dict(auth_vars(server), namespace=ns, network_mode='bridge', nics=NICS,
                                          live_migration='ignore', run_strategy='Halted', disk=DISK,
                                          render_only=render_only, return_manifests=return_manifests,
                                          vms=[{'name': '%s-%04d' % (names_prefix, index)} for index in range(count)]),
    }
    if register:
        task['register'] = 'result'
    if check:
        task['check_mode'] = True
    return [{'name': 'bench', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}]


def render_manifests(server, workdir, count):
    """The manifests vm_network renders, used as the input of every baseline (not timed)."""
    play = vm_network_play(server, 'bench-source', count, render_only=True, register=True)
    out = workdir / 'manifests.json'
    play[0]['tasks'].append({'ansible.builtin.copy': {'content': "{{ result.vms | map(attribute='manifest') | list | to_json }}",
                                                      'dest': str(out), 'mode': '0600'}})
    timed(ansible_playbook(write_playbook(workdir / 'render.yml', play)), env=playbook_env(workdir))
    return json.loads(out.read_text())


def for_namespace(manifests, ns):
    moved = json.loads(json.dumps(manifests))
    for manifest in moved:
        manifest['metadata']['namespace'] = ns
    return moved


def kubevirt_vm_play(server, manifests_file):
    item = {
        'name': '{{ item.metadata.name }}',
        'namespace': '{{ item.metadata.namespace }}',
        'run_strategy': '{{ item.spec.runStrategy }}',
        'annotations': '{{ item.spec.template.metadata.annotations }}',
        'spec': '{{ item.spec.template.spec }}',
    }
    return [{'name': 'bench', 'hosts': 'localhost', 'gather_facts': False, 'vars_files': [str(manifests_file)],
             'tasks': [{'name': 'kubevirt_vm loop', 'kubevirt.core.kubevirt_vm': dict(auth_vars(server), **item),
                        'loop': '{{ manifests }}', 'loop_control': {'label': '{{ item.metadata.name }}'}}]}]


def k8s_play(server, manifests_file):
    return [{'name': 'bench', 'hosts': 'localhost', 'gather_facts': False, 'vars_files': [str(manifests_file)],
             'tasks': [{'name': 'k8s with every document', 'kubernetes.core.k8s': dict(auth_vars(server), definition='{{ manifests }}')}]}]


def write_manifests(workdir, name, manifests):
    path = workdir / name
    path.write_text(json.dumps({'manifests': manifests}), encoding='utf-8')
    return path


def apply_cases(server, workdir, count, reruns, with_loop=True, loop_reruns=None):
    """First run and re-runs of each tool, each in a namespace of its own on one emulator
    (the kubevirt_vm loop, one task per VM, left out with ``with_loop=False``)."""
    manifests = render_manifests(server, workdir, count)
    env = playbook_env(workdir)
    cases = {}
    playbooks = {
        VM_NETWORK: ('bench-vmnet', lambda ns: write_playbook(
            workdir / 'vmnet.yml', vm_network_play(server, ns, count))),
        VM_NETWORK_LEAN: ('bench-vmnet-lean', lambda ns: write_playbook(
            workdir / 'vmnet-lean.yml', vm_network_play(server, ns, count, return_manifests=False))),
        LOOP: ('bench-kubevirt', lambda ns: write_playbook(
            workdir / 'kubevirt.yml', kubevirt_vm_play(server, write_manifests(workdir, 'kv.json', for_namespace(manifests, ns))))),
        K8S: ('bench-k8s', lambda ns: write_playbook(
            workdir / 'k8s.yml', k8s_play(server, write_manifests(workdir, 'k8s.json', for_namespace(manifests, ns))))),
    }
    if not with_loop:
        del playbooks[LOOP]
    for label, (ns, build) in playbooks.items():
        server.apply(namespace(ns))
        playbook = build(ns)
        first = timed(ansible_playbook(playbook), env=env)
        rounds = (loop_reruns or reruns) if label == LOOP else reruns
        again = [timed(ansible_playbook(playbook), env=env) for _rerun in range(rounds)]
        cases[label] = {'first': first.seconds, 'rerun': median([run.seconds for run in again]),
                        'first_changed': recap_changed(first.output), 'rerun_changed': max(recap_changed(run.output) for run in again)}
    server.apply(namespace('bench-floor'))
    floor_file = workdir / 'floor.json'
    floor_file.write_text(json.dumps(for_namespace(manifests, 'bench-floor')), encoding='utf-8')
    floor_argv = [sys.executable, str(ROOT / 'bench' / 'floor_client.py')]
    first = timed(floor_argv + ['create', server.kubeconfig, str(floor_file)])
    again = [timed(floor_argv + ['get', server.kubeconfig, str(floor_file)]) for _rerun in range(reruns)]
    cases[FLOOR] = {'first': first.seconds, 'rerun': median([run.seconds for run in again]),
                    'first_changed': '-', 'rerun_changed': '-', 'peak_mib': first.peak_mib}
    return cases


def apply_section(report, cases, count):
    ours = cases[VM_NETWORK]
    floor = cases[FLOOR]
    loop = cases[LOOP]
    rows = [('tool', 'first run', 'changed', 're-run (median)', 'changed', 'first vs vm_network', 're-run vs vm_network')]
    for label, case in cases.items():
        rows.append((label, fmt_seconds(case['first']), case['first_changed'], fmt_seconds(case['rerun']), case['rerun_changed'],
                     fmt_ratio(ratio(case['first'], ours['first'])), fmt_ratio(ratio(case['rerun'], ours['rerun']))))
    speedup_first = ratio(loop['first'], ours['first'])
    speedup_rerun = ratio(loop['rerun'], ours['rerun'])
    floor_first = ratio(ours['first'], floor['first'])
    floor_rerun = ratio(ours['rerun'], floor['rerun'])
    notes = [
        'vm_network is %s faster than the kubevirt_vm loop on the first run, %s on the re-run (target >= 15x): %s'
        % (fmt_verdict_ratio(speedup_first), fmt_verdict_ratio(speedup_rerun), verdict(min(speedup_first, speedup_rerun) >= 15)),
        'vm_network takes %s the floor on the first run, %s on the re-run (target <= 3x): %s'
        % (fmt_verdict_ratio(floor_first), fmt_verdict_ratio(floor_rerun), verdict(max(floor_first, floor_rerun) <= 3)),
        'Each figure is a whole process (ansible-playbook, or python for the floor): start-up is included for every tool. '
        'No task registers its result (registering makes Ansible template the whole result once more).',
    ]
    report.section('1. %d Bridge-mode VMs with 2 NICs each (emulator)' % count, rows, notes)
    return {'speedup_first': speedup_first, 'speedup_rerun': speedup_rerun, 'floor_first': floor_first, 'floor_rerun': floor_rerun,
            'changed': {label: [case['first_changed'], case['rerun_changed']] for label, case in cases.items()}}


def verdict(ok):
    return 'met' if ok else 'MISSED'


def seed_pools(server, pools):
    """``pools`` pools of one /16 each with a Multus CR per pool; returns their names."""
    names = []
    for index in range(pools):
        vlan = 1000 + index
        for obj in vlan_objects(vlan, 100 + index % 100):
            if obj['kind'] == 'SpiderIPPool':
                obj['spec']['subnet'] = '10.%d.%d.0/24' % (index // 250, index % 250)
                obj['spec']['ips'] = ['10.%d.%d.10-10.%d.%d.250' % (index // 250, index % 250, index // 250, index % 250)]
                obj['spec']['gateway'] = '10.%d.%d.1' % (index // 250, index % 250)
            server.apply(obj)
        names.append(vlan)
    return names


def pool_nic_sets(vlans, count):
    """Two NICs a VM, spread over the seeded pools (each VM on a neighbouring pair)."""
    nic_sets = []
    for index in range(count):
        vlan_a, vlan_b = vlans[index % len(vlans)], vlans[(index + 1) % len(vlans)]
        nic_sets.append([
            {'name': 'front', 'multus_cr': 'kube-system/ovs-vlan%d' % vlan_a, 'use_default_ip_pool': False,
             'ip_pools': {'ipv4': ['vlan%d-v4' % vlan_a]}},
            {'name': 'back', 'multus_cr': 'kube-system/ovs-vlan%d' % vlan_b, 'use_default_ip_pool': False,
             'ip_pools': {'ipv4': ['vlan%d-v4' % vlan_b]}},
        ])
    return nic_sets


def render_vms(nic_sets):
    """The VM entries of the render_only cases: each with NICs of its own, spread over the pools."""
    return [{'name': 'r-%05d' % index, 'nics': nics} for index, nics in enumerate(nic_sets)]


def render_args(server, vms, render_only=True):
    return dict(auth_vars(server), namespace='bench-render', network_mode='bridge', live_migration='ignore', disk=DISK,
                render_only=render_only, vms=vms)


def render_play(server, nic_sets, render_only, check):
    task = {'vmnet.kubevirt.vm_network': render_args(server, render_vms(nic_sets), render_only)}
    if check:
        task['check_mode'] = True
    return [{'name': 'bench', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}]


def carry_play(nic_sets):
    """The baseline: Ansible carrying the same task arguments through templating, no module work."""
    vms = [{'name': 'r-%05d' % index, 'nics': nics} for index, nics in enumerate(nic_sets)]
    return [{'name': 'bench', 'hosts': 'localhost', 'gather_facts': False, 'vars': {'vms': vms},
             'tasks': [{'ansible.builtin.debug': {'msg': '{{ vms | length }}'}}]}]


def render_over_carry(server, workdir, nic_sets):
    """(render_only seconds, data-carrying baseline seconds) for the same VMs, side by side."""
    env = playbook_env(workdir)
    server.apply(namespace('bench-render'))
    render = timed(ansible_playbook(write_playbook(workdir / 'render-big.yml', render_play(server, nic_sets, True, False))), env=env)
    carry = timed(ansible_playbook(write_playbook(workdir / 'carry.yml', carry_play(nic_sets))), env=env)
    return render.seconds, carry.seconds


def render_and_preflight(report, server, workdir, render_count, preflight_count, pools):
    env = playbook_env(workdir)
    nic_sets = pool_nic_sets(seed_pools(server, pools), render_count)
    render, carry = render_over_carry(server, workdir, nic_sets)
    small_sets, same_sets = nic_sets[:render_count // 10], nic_sets[:preflight_count]
    render_small = timed(ansible_playbook(write_playbook(workdir / 'render-small.yml', render_play(server, small_sets, True, False))), env=env)
    preflight = timed(ansible_playbook(write_playbook(workdir / 'preflight.yml', render_play(server, same_sets, False, True))), env=env)
    render_same = timed(ansible_playbook(write_playbook(workdir / 'render-same.yml', render_play(server, same_sets, True, False))), env=env)
    rows = [('case', 'wall time', 'ratio', 'against')]
    rows.append(('render_only, %d VMs over %d pools' % (render_count, pools), fmt_seconds(render),
                 fmt_ratio(ratio(render, carry)), 'Ansible carrying the same data (debug task)'))
    rows.append(('render_only, %d VMs' % (render_count // 10), fmt_seconds(render_small.seconds),
                 fmt_ratio(ratio(render, render_small.seconds)), '%d VMs vs %d VMs (10x the VMs)' % (render_count, render_count // 10)))
    rows.append(('check mode (preflight + server dry-run), %d VMs, %d pools' % (preflight_count, pools), fmt_seconds(preflight.seconds),
                 fmt_ratio(ratio(preflight.seconds, render_same.seconds)), 'render_only of the same %d VMs' % preflight_count))
    report.section('2. render_only at scale and the bulk preflight', rows,
                   ['Per VM: render_only costs %.2f ms over the data-carrying baseline.'
                    % (1000 * (render - carry) / render_count)])


def module_alone(server, workdir, count, profile_to=None, expect_changed=True, return_manifests=True, nic_sets=None):
    """The vm_network module process alone, run directly with its arguments (no ansible-playbook);
    under cProfile, writing its stats to ``profile_to``, where given. With ``nic_sets``: render_only
    of those VMs (as the render_only case passes them) instead of applying ``count`` VMs."""
    if nic_sets is None:
        ns = 'bench-memory' if return_manifests else 'bench-memory-lean'  # each row creates its own VMs
        server.apply(namespace(ns))
        task_args = dict(auth_vars(server), namespace=ns, network_mode='bridge', nics=NICS, live_migration='ignore',
                         run_strategy='Halted', disk=DISK, return_manifests=return_manifests,
                         vms=[{'name': 'm-%04d' % index} for index in range(count)])
        expected = ('changed', expect_changed)
    else:
        task_args = render_args(server, render_vms(nic_sets))
        expected = ('action', 'rendered')
    args_file = workdir / 'module-args.json'
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': task_args}), encoding='utf-8')
    env = playbook_env(workdir, {'PYTHONPATH': str(ROOT / '.deps')})
    module = ROOT / '.deps' / 'ansible_collections' / 'vmnet' / 'kubevirt' / 'plugins' / 'modules' / 'vm_network.py'
    profiler = ['-m', 'cProfile', '-o', str(profile_to)] if profile_to else []
    measured = timed([sys.executable] + profiler + [str(module), str(args_file)], env=env)
    result = json.loads(measured.output[measured.output.index('{'):])
    if result.get('failed') or not all(vm[expected[0]] == expected[1] for vm in result['vms']):
        raise RuntimeError('vm_network did not do what the case expects of every VM: %s' % result.get('msg'))
    return measured


def fixed_costs(server, workdir, reruns):
    """Seconds of ansible-playbook with one debug task (start-up), one ping task (any module task)
    and one kubernetes.core.k8s_info read of ONE VM (the cheapest Kubernetes task), medians."""
    def play(name, task):
        plays = [{'name': 'bench', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [task]}]
        return ansible_playbook(write_playbook(workdir / name, plays))

    def median_of(argv):
        timed(argv, env=env)  # warm the page cache like every other figure
        return median([timed(argv, env=env).seconds for _rerun in range(max(reruns, 1))])

    env = playbook_env(workdir)
    startup = median_of(play('trivial.yml', {'ansible.builtin.debug': {'msg': 'start-up'}}))
    any_module = median_of(play('ping.yml', {'ansible.builtin.ping': {}}))
    one_object = median_of(play('k8s-info.yml', {'kubernetes.core.k8s_info': dict(
        auth_vars(server), api_version='kubevirt.io/v1', kind='VirtualMachine', namespace='bench-vmnet', name='vm-0000')}))
    return startup, any_module, one_object


def time_breakdown(report, server, workdir, cases, module, count, reruns):
    """Where the time goes, measured side by side: Ansible's start-up, its cost for any module task
    and for the cheapest Kubernetes task, the module process alone, the floors."""
    startup, any_module, one_object = fixed_costs(server, workdir, reruns)
    ours = cases[VM_NETWORK]
    floor = cases[FLOOR]
    rows = [('part', 'wall time', 'vs re-run floor'),
            ('ansible-playbook, one debug task (start-up, no module)', fmt_seconds(startup), fmt_ratio(ratio(startup, floor['rerun']))),
            ('ansible-playbook, one ansible.builtin.ping task (any module task)', fmt_seconds(any_module),
             fmt_ratio(ratio(any_module, floor['rerun']))),
            ('ansible-playbook, one kubernetes.core.k8s_info of ONE VM', fmt_seconds(one_object), fmt_ratio(ratio(one_object, floor['rerun']))),
            ('vm_network re-run, %d VMs (section 1)' % count, fmt_seconds(ours['rerun']), fmt_ratio(ratio(ours['rerun'], floor['rerun']))),
            ('floor re-run: kubernetes Python client, %d GETs' % count, fmt_seconds(floor['rerun']), '1.0x'),
            ('vm_network module process alone, %d VMs created' % count, fmt_seconds(module.seconds),
             fmt_ratio(ratio(module.seconds, floor['first'])) + ' of the first-run floor'),
            ('floor first run: kubernetes Python client, %d creates' % count, fmt_seconds(floor['first']), '-')]
    report.section('1b. Where the vm_network time goes', rows, [
        'Within 3x of the re-run floor is %s. A task of any module through ansible-playbook takes %s, and the cheapest Kubernetes '
        'task, kubernetes.core.k8s_info reading one object, %s (%s the floor): the 3x target leaves %s VMs less time than Ansible '
        'needs for one object.' % (fmt_seconds(3 * floor['rerun']), fmt_seconds(any_module), fmt_seconds(one_object),
                                   fmt_ratio(ratio(one_object, floor['rerun'])), count),
        'vm_network\'s re-run over the k8s_info task: %s for %d VMs (their arguments in, %d manifests and verdicts back, one LIST '
        'of VMs and pools). The module process alone creates the %d VMs in %s the floor\'s time.'
        % (fmt_seconds(ours['rerun'] - one_object), count, count, count, fmt_ratio(ratio(module.seconds, floor['first'])))])
    return {'module_alone_vs_floor': ratio(module.seconds, floor['first']), 'ansible_startup_s': startup,
            'any_module_task_s': any_module, 'k8s_info_one_object_s': one_object}


def memory_section(report, module, floor_peak, count):
    rows = [('process', 'peak RSS', 'ratio'),
            ('vm_network module, %d VMs' % count, '%.1f MiB' % module.peak_mib, fmt_ratio(ratio(module.peak_mib, floor_peak))),
            ('floor: kubernetes Python client, %d VMs' % count, '%.1f MiB' % floor_peak, '1.0x')]
    report.section('4. Peak memory of the module process for (1)', rows)
    return module.peak_mib


def run(report, workdir, sizes):
    from lab.kubeapi.fixtures import start_kubeapi  # pylint: disable=import-outside-toplevel
    with start_kubeapi(workdir / 'kubeapi') as server:
        seed_nic_pools(server)
        cases = apply_cases(server, workdir, sizes['vms'], sizes['reruns'])
        figures = apply_section(report, cases, sizes['vms'])
        module = module_alone(server, workdir, sizes['vms'])
        figures.update(time_breakdown(report, server, workdir, cases, module, sizes['vms'], sizes['reruns']))
        render_and_preflight(report, server, workdir, sizes['render_vms'], sizes['vms'], sizes['pools'])
        figures['module_peak_mib'] = memory_section(report, module, cases[FLOOR]['peak_mib'], sizes['vms'])
    return figures
