"""Scale curves: how the cost grows with the VMs and the nodes, side by side at every size.

``.venv/bin/python -m bench --curve [--vm-sizes 200,1000,5000] [--node-sizes 10,30]``

Every VM size runs on a fresh emulator: vm_network (one task, ``vms:``), one kubernetes.core.k8s
task and the kubernetes client floor, first run and re-run; the module process's peak memory
against the floor's; render_only against Ansible carrying the same data. The kubevirt_vm loop
(one task per VM, about half a second each) runs at the smallest size only and is extrapolated
per VM to the others. Every node size runs on a fresh host lab: hosts.yml against the
openvswitch.openvswitch baseline with the same forks, then each node's uplink move.

The cost per VM that must stay flat is what N VMs add to the same run with ONE VM, measured on
the same emulator: (t(N) - t(1)) / (N - 1); the whole run per VM, start-up included, is shown too.
Not part of CI: the smoke run (``--smoke``) is what the suite runs.
"""
import collections
import pstats

from bench import host_converge, vm_apply
from bench.common import ROOT, fmt_seconds, fmt_verdict_ratio, median, ratio

VM_SIZES = (200, 1000, 5000)
NODE_SIZES = (10, 30)
BASE_VMS = 1        # the run every per-VM cost is taken over
RENDER_POOLS = 50   # pools the render_only VMs are spread over, as in the full run
PROFILE_ROWS = 14

# Targets of the curve (issue 18), each checked by verdicts().
FLAT_WITHIN = 1.2         # per-VM cost at the biggest size over the smallest
FLOOR_WITHIN = 2.0        # vm_network over the floor, from 1,000 VMs
K8S_AT_LEAST = 3.0        # one-task k8s over vm_network, every size
RENDER_MS_UNDER = 0.5     # render_only per VM over the data-carrying baseline
MEMORY_WITHIN = 2.0       # module peak RSS over the floor's, at the biggest size
HOST_AT_LEAST = 3.0       # baseline re-run over the host roles' re-run, every size
UPLINK_GAP_MS_UNDER = 100.0

Target = collections.namedtuple('Target', 'name figure met')
# Our rows, each judged against every speed target: the default, and the result without manifests.
OURS = ((vm_apply.VM_NETWORK, 'vm_network'), (vm_apply.VM_NETWORK_LEAN, 'vm_network with return_manifests: false'))


def per_object_ms(seconds, count, base_seconds=0.0, base_count=0):
    """Milliseconds each object adds: (seconds - base_seconds) / (count - base_count)."""
    return 1000.0 * (seconds - base_seconds) / (count - base_count) if count != base_count else float('nan')


def added_per_vm_ms(points, size, tool, run):
    """What each VM adds at ``size`` over the same tool's run with BASE_VMS VMs, in ms."""
    return per_object_ms(points[size][tool][run], size, points[BASE_VMS][tool][run], BASE_VMS)


def extrapolated(seconds, measured_count, count):
    """Seconds at ``count`` objects from a run of ``measured_count``, at the same cost per object."""
    return seconds / measured_count * count


def verdicts(points, host_points):
    """Every target of the curve as (name, figure text, met), from the measured points.

    ``points``: {VMs: {tool label: {'first', 'rerun'}, 'module_peak_mib', 'floor_peak_mib',
    'render_s', 'carry_s'}} with BASE_VMS among the keys; ``host_points``: {nodes: {'ours':
    (first, rerun), 'baseline': (first, rerun), 'gaps_ms': [...]}}.
    """
    sizes = sorted(size for size in points if size != BASE_VMS)
    targets = []
    for tool, who in OURS:
        measured = [size for size in sizes if tool in points[size]]
        targets.extend(_vm_targets(points, measured, tool, who))
    for size in sizes:
        render_ms = per_object_ms(points[size]['render_s'], size, points[size]['carry_s'])
        targets.append(Target('render_only under %.1f ms per VM over the data-carrying baseline at %d VMs' % (RENDER_MS_UNDER, size),
                              '%.2f ms' % render_ms, render_ms < RENDER_MS_UNDER))
    if sizes:
        big = sizes[-1]
        for key, who in (('module_peak_mib', 'module'), ('module_peak_lean_mib', 'module with return_manifests: false')):
            if key in points[big]:
                memory = ratio(points[big][key], points[big]['floor_peak_mib'])
                targets.append(Target('%s peak memory within %.0fx of the floor\'s at %d VMs' % (who, MEMORY_WITHIN, big),
                                      fmt_verdict_ratio(memory), memory < MEMORY_WITHIN))
    for nodes in sorted(host_points):
        point = host_points[nodes]
        speedup = ratio(point['baseline'][1], point['ours'][1])
        targets.append(Target('host re-run at least %.0fx faster than the baseline on %d nodes' % (HOST_AT_LEAST, nodes),
                              fmt_verdict_ratio(speedup), speedup >= HOST_AT_LEAST))
        gap = max(point['gaps_ms'])
        targets.append(Target('uplink gap under %.0f ms on every one of %d nodes' % (UPLINK_GAP_MS_UNDER, nodes),
                              '%.1f ms at most' % gap, gap < UPLINK_GAP_MS_UNDER))
    return targets


def _vm_targets(points, sizes, tool, who):
    """The speed targets of one of our rows (``tool``), named after ``who``."""
    targets = []
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        for run, words in (('first', 'first run'), ('rerun', 're-run')):
            flat = ratio(added_per_vm_ms(points, big, tool, run), added_per_vm_ms(points, small, tool, run))
            # A negative added cost is noise larger than the VMs' own cost: not shown flat.
            targets.append(Target('%s cost per VM flat, %s: %d VMs within %.1fx of %d VMs' % (who, words, big, FLAT_WITHIN, small),
                                  fmt_verdict_ratio(flat), 0 < flat <= FLAT_WITHIN))
    for size in sizes:
        ours, floor, k8s = (points[size][name] for name in (tool, vm_apply.FLOOR, vm_apply.K8S))
        if size >= 1000:
            worst = max(ratio(ours[run], floor[run]) for run in ('first', 'rerun'))
            targets.append(Target('%s within %.0fx of the floor at %d VMs (worse of first run and re-run)' % (who, FLOOR_WITHIN, size),
                                  fmt_verdict_ratio(worst), worst <= FLOOR_WITHIN))
        least = min(ratio(k8s[run], ours[run]) for run in ('first', 'rerun'))
        targets.append(Target('%s at least %.0fx faster than one k8s task at %d VMs (worse of first run and re-run)'
                              % (who, K8S_AT_LEAST, size), fmt_verdict_ratio(least), least >= K8S_AT_LEAST))
    return targets


def measure_vm_point(workdir, size, reruns, with_loop):
    """One emulator, one size: every tool's first run and re-run, the module alone, render_only."""
    from lab.kubeapi.fixtures import start_kubeapi  # pylint: disable=import-outside-toplevel
    point_dir = workdir / ('vms-%d' % size)
    point_dir.mkdir()
    with start_kubeapi(point_dir / 'kubeapi') as server:
        vm_apply.seed_nic_pools(server)
        point = vm_apply.apply_cases(server, point_dir, size, reruns, with_loop=with_loop, loop_reruns=1)
        point['module_peak_mib'] = vm_apply.module_alone(server, point_dir, size).peak_mib
        point['module_peak_lean_mib'] = vm_apply.module_alone(server, point_dir, size, return_manifests=False).peak_mib
        point['floor_peak_mib'] = point[vm_apply.FLOOR]['peak_mib']
        if size != BASE_VMS:
            nic_sets = vm_apply.pool_nic_sets(vm_apply.seed_pools(server, RENDER_POOLS), size)
            point['render_s'], point['carry_s'] = vm_apply.render_over_carry(server, point_dir, nic_sets)
            point['render_module_s'] = vm_apply.module_alone(server, point_dir, size, nic_sets=nic_sets).seconds
    return point


def profile_module(workdir, size):
    """cProfile of the module process alone at ``size`` VMs: its first run (creates), then its re-run."""
    from lab.kubeapi.fixtures import start_kubeapi  # pylint: disable=import-outside-toplevel
    profile_dir = workdir / 'profile'
    profile_dir.mkdir()
    stats = {}
    with start_kubeapi(profile_dir / 'kubeapi') as server:
        vm_apply.seed_nic_pools(server)
        for run, changed in (('first', True), ('rerun', False)):
            path = profile_dir / ('%s.prof' % run)
            measured = vm_apply.module_alone(server, profile_dir, size, profile_to=path, expect_changed=changed)
            stats[run] = (measured.seconds, pstats.Stats(str(path)))
        nic_sets = vm_apply.pool_nic_sets(vm_apply.seed_pools(server, RENDER_POOLS), size)
        path = profile_dir / 'render.prof'
        measured = vm_apply.module_alone(server, profile_dir, size, profile_to=path, nic_sets=nic_sets)
        stats['render'] = (measured.seconds, pstats.Stats(str(path)))
    return stats


def profile_rows(stats, key):
    """The PROFILE_ROWS functions highest by ``key`` ('tottime' or 'cumtime'), as table rows."""
    index = {'tottime': 2, 'cumtime': 3}[key]
    entries = sorted(stats.stats.items(), key=lambda item: item[1][index], reverse=True)
    rows = []
    for (filename, line, function), (_cc, calls, tottime, cumtime, _callers) in entries:
        if key == 'cumtime' and '/plugins/module' not in filename:
            continue  # by cumulative time, collections' module code only: where the module's share goes
        if function in ('<module>', '<built-in method builtins.exec>', 'exec', 'run_module', '_run_code', '_run_module_as_main'):
            continue
        where = filename.split('ansible_collections/')[-1].split('site-packages/')[-1].split('lib/python3')[-1]
        rows.append(('%s:%d %s' % (where, line, function), calls, '%.3f' % tottime, '%.3f' % cumtime))
        if len(rows) == PROFILE_ROWS:
            break
    return rows


def measure_host_point(workdir, nodes, reruns, profile):
    """One fresh lab of ``nodes`` nodes: both sides' first run and re-run, then each node's uplink
    move on its own; with ``profile``, one more re-run of each side timed task by task."""
    from lab.hosts.lab import HostLab  # pylint: disable=import-outside-toplevel
    point_dir = workdir / ('nodes-%d' % nodes)
    point_dir.mkdir()
    host_lab = HostLab.create(nodes, with_ovs=True)
    try:
        cases, figures = host_converge.converge_cases(host_lab, point_dir, reruns)
        ours, baseline = (figures[label] for label in cases)
        point = {'ours': (ours[0], ours[2]), 'baseline': (baseline[0], baseline[2]), 'labels': list(cases),
                 'changed': {label: (figure[1], figure[3]) for label, figure in figures.items()}}
        if profile:
            point['profile'] = host_converge.rerun_profile(cases, host_lab.ansible_env(), point_dir, nodes)
        point['gaps_ms'], point['lost'] = host_converge.uplink_gaps_one_by_one(host_lab, ROOT / 'playbooks' / 'hosts.yml')
    finally:
        host_lab.destroy()
    return point


def vm_sections(report, points, loop_size, loop):
    sizes = sorted(size for size in points if size != BASE_VMS)
    tools = [tool for tool in (vm_apply.VM_NETWORK, vm_apply.VM_NETWORK_LEAN, vm_apply.K8S, vm_apply.FLOOR) if tool in points[BASE_VMS]]
    rows = [('VMs', 'tool', 'first run', 're-run', 'first, ms per VM', 're-run, ms per VM', 'first, ms added per VM',
             're-run, ms added per VM', 'first vs vm_network', 're-run vs vm_network', 'changed (first, re-run)')]
    for size in [BASE_VMS] + sizes:
        ours = points[size][vm_apply.VM_NETWORK]
        for tool in tools:
            case = points[size][tool]
            added = (('%.3f' % added_per_vm_ms(points, size, tool, 'first'), '%.3f' % added_per_vm_ms(points, size, tool, 'rerun'))
                     if size != BASE_VMS else ('-', '-'))
            rows.append((size, tool, fmt_seconds(case['first']), fmt_seconds(case['rerun']),
                         '%.2f' % per_object_ms(case['first'], size), '%.2f' % per_object_ms(case['rerun'], size)) + added +
                        (fmt_verdict_ratio(ratio(case['first'], ours['first'])), fmt_verdict_ratio(ratio(case['rerun'], ours['rerun'])),
                         '%s, %s' % (case['first_changed'], case['rerun_changed'])))
    for size in sizes:
        ours = points[size][vm_apply.VM_NETWORK]
        first, rerun = (extrapolated(loop[run], loop_size, size) for run in ('first', 'rerun'))
        label = vm_apply.LOOP + (' (measured)' if size == loop_size else ' (EXTRAPOLATED from %d VMs)' % loop_size)
        rows.append((size, label, fmt_seconds(first), fmt_seconds(rerun), '%.2f' % per_object_ms(first, size),
                     '%.2f' % per_object_ms(rerun, size), '-', '-', fmt_verdict_ratio(ratio(first, ours['first'])),
                     fmt_verdict_ratio(ratio(rerun, ours['rerun'])),
                     '%s, %s' % (loop['first_changed'], loop['rerun_changed']) if size == loop_size else '-'))
    report.section('C1. Bridge-mode VMs with 2 NICs each, %s VMs (one emulator a size)' % ', '.join(str(size) for size in sizes), rows, [
        '"ms per VM" is the whole run (a whole process, start-up included) over the VMs; "ms added per VM" is what each VM adds over '
        'the same tool\'s run with %d VM on the same emulator, (t(N) - t(%d)) / (N - %d): the cost that must stay flat.'
        % (BASE_VMS, BASE_VMS, BASE_VMS),
        'The kubevirt_vm loop (one task per VM) runs at %d VMs only, with one re-run; its rows at other sizes are its per-VM cost '
        'there times the VMs, EXTRAPOLATED, not measured.' % loop_size,
        'Ratios are each tool over vm_network (above 1.0x: vm_network is faster).',
        '"%s" is the same task with the manifests left out of its result (every VM, NIC and IP still reported); the '
        'floor returns nothing, one k8s task returns every object. Every speed target is judged for both rows.' % vm_apply.VM_NETWORK_LEAN])
    rows = [('VMs', 'vm_network module process alone', 'the same, return_manifests: false', 'floor: kubernetes Python client',
             'ratio', 'ratio, return_manifests: false')]
    for size in [BASE_VMS] + sizes:
        point = points[size]
        rows.append((size, '%.1f MiB' % point['module_peak_mib'], '%.1f MiB' % point['module_peak_lean_mib'],
                     '%.1f MiB' % point['floor_peak_mib'], fmt_verdict_ratio(ratio(point['module_peak_mib'], point['floor_peak_mib'])),
                     fmt_verdict_ratio(ratio(point['module_peak_lean_mib'], point['floor_peak_mib']))))
    report.section('C2. Peak memory (RSS) creating the VMs', rows)
    rows = [('VMs', 'render_only (ansible-playbook)', 'of it, the module process alone', 'Ansible carrying the same data', 'ratio',
             'ms per VM over the baseline')]
    for size in sizes:
        render, carry = points[size]['render_s'], points[size]['carry_s']
        rows.append((size, fmt_seconds(render), fmt_seconds(points[size]['render_module_s']), fmt_seconds(carry),
                     fmt_verdict_ratio(ratio(render, carry)), '%.2f' % per_object_ms(render, size, carry)))
    report.section('C3. render_only over %d pools' % RENDER_POOLS, rows, [
        'The module process alone is the same module run directly with the same arguments (no ansible-playbook): what is '
        'left of the render_only run is Ansible\'s own work on the controller (arguments, the result\'s decoding, the callback).'])


def host_section(report, host_points):
    rows = [('nodes', 'side', 'first run', 're-run', 'first, s per node', 're-run, s per node', 'baseline over this side, re-run',
             'changed (first, re-run)', 'uplink gap, max / median ms', 'pings lost')]
    for nodes in sorted(host_points):
        point = host_points[nodes]
        for side, label in zip(('ours', 'baseline'), point['labels']):
            first, rerun = point[side]
            gaps = point['gaps_ms']
            rows.append((nodes, label, fmt_seconds(first), fmt_seconds(rerun), '%.3f' % (first / nodes), '%.3f' % (rerun / nodes),
                         fmt_verdict_ratio(ratio(point['baseline'][1], rerun)), '%s, %s' % point['changed'][label],
                         '%.1f / %.1f' % (max(gaps), median(gaps)) if side == 'ours' else '-', point['lost'] if side == 'ours' else '-'))
    notes = ['Forks equal the node count on both sides. The uplink gap is each node\'s own move (eth1 -> br1, commit-confirmed) with '
             'hosts.yml --limit nodeN, node after node on the same lab, the moving node pinged every 5 ms.']
    for nodes in sorted(host_points):
        notes.append('Uplink gap per node on %d nodes, ms: %s.' % (nodes, ', '.join('%.1f' % gap for gap in host_points[nodes]['gaps_ms'])))
    report.section('C4. Host convergence, %s lab nodes' % ', '.join(str(nodes) for nodes in sorted(host_points)), rows, notes)


def targets_section(report, targets):
    rows = [('target', 'figure', 'verdict')] + [(target.name, target.figure, 'met' if target.met else 'MISSED') for target in targets]
    report.section('C5. Targets', rows)


def profile_sections(report, module_stats, size, host_points):
    for run, (seconds, stats) in module_stats.items():
        words = {'first': 'first run (creates)', 'rerun': 're-run (nothing to change)', 'render': 'render_only over %d pools' % RENDER_POOLS}[run]
        for key, label in (('cumtime', 'cumulative'), ('tottime', 'own time')):
            report.section('C6. cProfile of the vm_network module alone, %d VMs, %s, %s under the profiler: top by %s%s'
                           % (size, words, fmt_seconds(seconds), label, ' (collections\' module code)' if key == 'cumtime' else ''),
                           [('function', 'calls', 'own s', 'cumulative s')] + profile_rows(stats, key))
    for nodes, point in sorted(host_points.items()):
        if 'profile' in point:
            rows, notes = point['profile']
            report.section('C7. Where a host re-run on %d nodes goes (one more re-run of each side, timed per task)' % nodes, rows, notes)


def run(report, workdir, vm_sizes, node_sizes, reruns, write, loop_size=None):
    """Every point of the curve; ``write()`` is called after each part, so a cut-short run keeps
    what it measured. The kubevirt_vm loop runs at ``loop_size`` VMs (default the smallest size)."""
    points, host_points = {}, {}
    loop_size = loop_size or (min(vm_sizes) if vm_sizes else None)
    loop = None
    if vm_sizes and loop_size not in vm_sizes:
        print('curve: the kubevirt_vm loop at %d VMs' % loop_size, flush=True)
        loop = measure_vm_point(workdir, loop_size, reruns, with_loop=True)[vm_apply.LOOP]
    for size in ((BASE_VMS,) + tuple(sorted(vm_sizes))) if vm_sizes else ():  # --only hosts: no VM point at all
        print('curve: %d VMs' % size, flush=True)
        points[size] = measure_vm_point(workdir, size, reruns, with_loop=size == loop_size)
    if vm_sizes:
        vm_sections(report, points, loop_size, loop or points[loop_size][vm_apply.LOOP])
        write()
    module_stats = profile_module(workdir, max(vm_sizes)) if vm_sizes else {}
    for nodes in sorted(node_sizes):
        print('curve: %d nodes' % nodes, flush=True)
        host_points[nodes] = measure_host_point(workdir, nodes, reruns, profile=nodes == max(node_sizes))
    if node_sizes:
        host_section(report, host_points)
    targets = verdicts(points, host_points)
    targets_section(report, targets)
    profile_sections(report, module_stats, max(vm_sizes) if vm_sizes else 0, host_points)
    write()
    return {'targets': [list(target) for target in targets],
            'vm_points': {size: {tool: point[tool] for tool in (vm_apply.VM_NETWORK, vm_apply.VM_NETWORK_LEAN, vm_apply.K8S, vm_apply.FLOOR)
                                 if tool in point}
                          for size, point in points.items()}}
