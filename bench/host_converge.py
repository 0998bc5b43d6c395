"""Host convergence on lab nodes: the host roles against a baseline of openvswitch.openvswitch
bridge and port tasks doing the same bridge and ports, first run and re-run, side by side; then
the uplink move's longest ping gap on every node."""
import contextlib
import json

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_commit import JOB_ROOT  # pylint: disable=wrong-import-order
from bench.common import ROOT, fmt_ratio, fmt_seconds, fmt_verdict_ratio, median, ratio, recap_changed, timed, write_playbook

# Port names are global in OVSDB: each side gets its own prefix.
PORTS = [('1', 100), ('2', 100), ('3', 200), ('4', 200)]


def ours_vars(bridge):
    return {
        'vmnet_hosts_serial': '100%',
        'vmnet_ovs_bridge_fabric_check': False,
        'vmnet_ovs_bridge_bridges': [{
            'name': bridge, 'datapath_type': 'netdev', 'persist': 'none',
            'ports': [{'name': 'o' + suffix, 'type': 'internal', 'tag': tag} for suffix, tag in PORTS],
        }],
    }


def baseline_play(bridge):
    tasks = [{'name': 'bridge', 'openvswitch.openvswitch.openvswitch_bridge': {
        'bridge': bridge, 'state': 'present', 'set': 'Bridge %s datapath_type=netdev' % bridge}}]
    for suffix, tag in PORTS:
        name = 'b' + suffix
        tasks.append({'name': 'port %s' % name, 'openvswitch.openvswitch.openvswitch_port': {
            'bridge': bridge, 'port': name, 'tag': tag, 'state': 'present', 'set': 'Interface %s type=internal' % name}})
    return [{'name': 'baseline', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}]


def uplink_vars():
    # As users run it: hosts.yml's default rolling order, one node at a time.
    return {
        'vmnet_ovs_bridge_fabric_check': False,
        'vmnet_ovs_bridge_bridges': [{
            'name': 'br1', 'datapath_type': 'netdev', 'persist': 'none',
            'uplink': {'interface': 'eth1', 'allow_default_route': True, 'trunks': [0, 100, 200]},
        }],
    }


def move_window(node):
    """(started, probed) epoch seconds of the node's latest commit-confirmed change, from its job state."""
    listing = node.exec(['ls', JOB_ROOT], check=False).stdout.split()
    states = [json.loads(node.exec(['cat', '%s/%s/state.json' % (JOB_ROOT, token)]).stdout) for token in listing]
    moves = [state for state in states if state.get('started_at') and state.get('probed_at')]
    if not moves:
        raise RuntimeError('%s recorded no commit-confirmed change under %s' % (node.name, JOB_ROOT))
    latest = max(moves, key=lambda state: state['started_at'])
    return latest['started_at'], latest['probed_at']


def playbook_argv(host_lab, playbook, extra_vars=None):
    argv = [str(host_lab.ansible_bin('ansible-playbook')), '-i', str(host_lab.inventory), '--forks', str(host_lab.count), str(playbook)]
    if extra_vars:
        argv += ['-e', json.dumps(extra_vars)]
    return argv


def longest_silence_ms(times, start, end):
    """Longest silence (ms) between two replies that both fall inside [start, end]; 0 without two."""
    inside = [t for t in times if start <= t <= end]
    return max([later - earlier for earlier, later in zip(inside, inside[1:])] or [0]) * 1000


# Actions that run in the controller's worker, not as a module on the node.
CONTROLLER_ACTIONS = ('include_tasks', 'include_role', 'import_tasks', 'import_role', 'set_fact', 'debug', 'assert',
                      'validate_argument_spec', 'meta', 'fail')


def task_seconds(argv, env, workdir, label):
    """One more run of ``argv`` with the bench's task_seconds callback: (wall, [(task, action, seconds)])."""
    path = workdir / ('task-seconds-%s.json' % label)
    env = dict(env, ANSIBLE_CALLBACK_PLUGINS=str(ROOT / 'bench' / 'callback_plugins'), ANSIBLE_CALLBACKS_ENABLED='task_seconds',
               VMNET_BENCH_TASK_SECONDS=str(path))
    measured = timed(argv, env=env)
    return measured.seconds, [tuple(row) for row in json.loads(path.read_text(encoding='utf-8'))]


def on_controller(action):
    return (action or '').rsplit('.', 1)[-1] in CONTROLLER_ACTIONS


def rerun_profile(cases, env, workdir, count):
    """Where one re-run of each side goes, task by task: modules run on the nodes, steps the
    controller does alone, and what is left (start-up, plays)."""
    rows = [('re-run, %d nodes' % count, 'task', 'on', 'seconds')]
    totals = {}
    for side, argv in cases.items():
        wall, tasks = task_seconds(argv, env, workdir, 'ours' if side.startswith('host roles') else 'baseline')
        remote = sum(seconds for name, action, seconds in tasks if action and not on_controller(action))
        controller = sum(seconds for name, action, seconds in tasks if action and on_controller(action))
        for name, action, seconds in tasks:
            if action:
                rows.append((side, name, 'controller' if on_controller(action) else 'nodes (module)', '%.2f' % seconds))
        rows.append((side, 'start-up, plays and the rest', '-', '%.2f' % (wall - remote - controller)))
        rows.append((side, 'whole run', '-', '%.2f' % wall))
        totals[side] = (wall, remote, controller, sum(1 for _n, action, _s in tasks if action and not on_controller(action)))
    notes = ['%s: %.2f s, of which %d module steps on the nodes %.2f s and controller-only steps %.2f s.'
             % (side, wall, steps, remote, controller) for side, (wall, remote, controller, steps) in totals.items()]
    return rows, notes


def uplink_gaps_one_by_one(host_lab, hosts_yml):
    """([longest silence ms of each node's own uplink move], pings lost): hosts.yml --limit nodeN,
    node after node (what a rolling run does), with one 5 ms ping monitor on the moving node."""
    from lab.hosts.lab import PingGapMonitor  # pylint: disable=import-outside-toplevel
    env = host_lab.ansible_env()
    gaps, lost = [], 0
    for node in host_lab.nodes:
        with PingGapMonitor(host_lab, node) as monitor:
            timed(playbook_argv(host_lab, hosts_yml, uplink_vars()) + ['--limit', node.name], env=env)
        gaps.append(monitor.gap_during(*move_window(node)))
        lost += monitor.lost
    return gaps, lost


def uplink_moves_one_by_one(count, hosts_yml, figures):
    """Each node's uplink move on its own, on a fresh lab of ``count`` nodes."""
    from lab.hosts.lab import HostLab  # pylint: disable=import-outside-toplevel
    host_lab = HostLab.create(count, with_ovs=True)
    try:
        gaps, lost = uplink_gaps_one_by_one(host_lab, hosts_yml)
    finally:
        host_lab.destroy()
    figures.update({'uplink_gap_max_ms': max(gaps), 'uplink_gap_median_ms': median(gaps)})
    return [
        'Uplink move (eth1 -> br1, IP and routes moved, commit-confirmed), each node on its own as a rolling run does it '
        '(hosts.yml --limit nodeN, node after node, on a fresh lab of %d nodes; the moving node pinged every 5 ms): longest '
        'silence overlapping the node\'s own change (from its start to the end of its probes, as the node recorded them) '
        'median %.1f ms, maximum %.1f ms, %d pings lost (target: maximum under 100 ms): %s'
        % (len(gaps), median(gaps), max(gaps), lost, 'met' if max(gaps) < 100 else 'MISSED'),
        'Per node, ms: %s.' % ', '.join('%.1f' % gap for gap in gaps),
    ]


def uplink_moves_loaded(host_lab, hosts_yml, env, figures):
    """One hosts.yml run moving every node's uplink in its rolling order while every node is pinged
    every 5 ms for the whole run: the same figure under load, and the silences outside the moves.

    Silences outside a node's own change are split by whether it had moved yet: after its move
    the node's traffic is forwarded by its own userspace datapath, which shares the 2 cores with
    everything else in the run (a real node forwards in the kernel).
    """
    from lab.hosts.lab import PingGapMonitor  # pylint: disable=import-outside-toplevel
    with contextlib.ExitStack() as stack:
        monitors = [stack.enter_context(PingGapMonitor(host_lab, node)) for node in host_lab.nodes]
        timed(playbook_argv(host_lab, hosts_yml, uplink_vars()), env=env)
    windows = [move_window(node) for node in host_lab.nodes]
    gaps = [monitor.gap_during(*window) for monitor, window in zip(monitors, windows)]
    lost = sum(monitor.lost for monitor in monitors)
    before = [longest_silence_ms(monitor.reply_times, 0, window[0]) for monitor, window in zip(monitors, windows)]
    after = [longest_silence_ms(monitor.reply_times, window[1], float('inf')) for monitor, window in zip(monitors, windows)]
    figures.update({'uplink_gap_loaded_max_ms': max(gaps), 'silence_before_move_max_ms': max(before),
                    'silence_after_move_max_ms': max(after)})
    return [
        'The same moves under load, in one rolling hosts.yml run with all %d nodes pinged every 5 ms throughout: longest silence '
        'overlapping a node\'s own change median %.1f ms, maximum %.1f ms (per node: %s); %d pings lost in all. Outside the moves: '
        'longest silence on a node before its own move %.0f ms, after it %.0f ms. After its move a node\'s traffic goes through its '
        'own userspace datapath (the lab has no kernel datapath), which competes for the 2 cores with Ansible and the other nodes\' '
        'datapaths; a silence before any move shows the machine itself stalling. A real node forwards in the kernel.'
        % (len(gaps), median(gaps), max(gaps), ', '.join('%.1f' % gap for gap in gaps), lost, max(before), max(after)),
    ]


def converge_cases(host_lab, workdir, reruns):
    """Both sides (the host roles, then the baseline) on ``host_lab``, same forks: their argv, and
    {label: (first s, first changed, re-run s median, re-run changed max)}."""
    env = host_lab.ansible_env()
    baseline = write_playbook(workdir / 'baseline-ovs.yml', baseline_play('br-base'))
    cases = {
        'host roles (playbooks/hosts.yml: ovs + ovs_bridge)': playbook_argv(host_lab, ROOT / 'playbooks' / 'hosts.yml', ours_vars('br-ours')),
        'openvswitch.openvswitch bridge + port tasks': playbook_argv(host_lab, baseline),
    }
    figures = {}
    for label, argv in cases.items():
        first = timed(argv, env=env)
        again = [timed(argv, env=env) for _rerun in range(reruns)]
        figures[label] = (first.seconds, recap_changed(first.output), median([run_.seconds for run_ in again]),
                          max(recap_changed(run_.output) for run_ in again))
    return cases, figures


def run(report, workdir, sizes):
    from lab.hosts.lab import HostLab  # pylint: disable=import-outside-toplevel
    count, reruns = sizes['nodes'], sizes['reruns']
    host_lab = HostLab.create(count, with_ovs=True)
    try:
        env = host_lab.ansible_env()
        hosts_yml = ROOT / 'playbooks' / 'hosts.yml'
        cases, figures = converge_cases(host_lab, workdir, reruns)
        ours_label, base_label = list(cases)
        # Profile of the re-run: the bridge reconcile alone (the ovs role's package and service checks left out).
        bridges_only = [timed(cases[ours_label] + ['--tags', 'bridges'], env=env) for _rerun in range(reruns)]
        bridges_rerun = median([run_.seconds for run_ in bridges_only])
        rows = [('playbook, %d nodes' % count, 'first run', 'changed', 're-run (median)', 'changed', 're-run vs baseline')]
        for label, (first, first_changed, rerun, rerun_changed) in figures.items():
            rows.append((label, fmt_seconds(first), first_changed, fmt_seconds(rerun), rerun_changed,
                         fmt_ratio(ratio(figures[base_label][2], rerun))))
        rows.append(('hosts.yml --tags bridges (the ovs_bridge role alone)', '-', '-', fmt_seconds(bridges_rerun),
                     max(recap_changed(run_.output) for run_ in bridges_only), fmt_ratio(ratio(figures[base_label][2], bridges_rerun))))
        speedup = ratio(figures[base_label][2], figures[ours_label][2])
        notes = ['Same bridge shape on both sides: a netdev bridge with 4 internal access ports (VLANs 100, 100, 200, 200).',
                 'On every run the host roles also check that the packages are installed, that the service starts at boot and that '
                 'ovsdb-server and ovs-vswitchd answer (one ovs_host_info read per node); the baseline does not.',
                 'Host re-run is %s faster than the baseline (target >= 2x): %s' % (fmt_verdict_ratio(speedup), 'met' if speedup >= 2 else 'MISSED'),
                 'The bridge reconcile alone (one ovs_bridge call per node: one OVSDB read, three ip reads, no write) re-runs %s faster '
                 'than the baseline\'s five openvswitch.openvswitch calls; the rest of the host roles\' re-run is the ovs role\'s one '
                 'read per node and the plays around it.' % fmt_ratio(ratio(figures[base_label][2], bridges_rerun))]

        profile_rows, profile_notes = rerun_profile(cases, env, workdir, count)
        uplink = {}
        loaded_notes = uplink_moves_loaded(host_lab, hosts_yml, env, uplink)
    finally:
        host_lab.destroy()
    notes += uplink_moves_one_by_one(count, hosts_yml, uplink) + loaded_notes
    report.section('3. Host convergence on %d lab nodes' % count, rows, notes)
    report.section('3b. Where a host re-run goes (one more re-run of each side, timed per task)', profile_rows, profile_notes)
    return {'host_rerun_speedup': speedup, 'bridges_only_rerun_speedup': ratio(figures[base_label][2], bridges_rerun), **uplink,
            'host_changed': {label: [changed_first, changed_rerun] for label, (_f, changed_first, _r, changed_rerun) in figures.items()}}
