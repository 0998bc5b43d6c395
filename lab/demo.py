"""``python -m lab demo``: the README's main job, the whole mission on the embedded lab.

1. the lab up: N nodes in namespaces reached over real SSH, and the Kubernetes API emulator
   preloaded as a cluster where KubeVirt and Spiderpool are installed;
2. ``playbooks/site.yml`` with the sample inventory (``inventory/sample``) against it, with the
   lab's connection details and kubeconfig laid over it, progress printed task by task;
3. a summary read at a glance: nodes, fabric reachability, pools with their usage, VMs with their
   IPs and whether Spiderpool keeps them, and one Bridge VM restarted to show it keeps its IPs;
4. ``site.yml`` a second time, which must report changed=0;
5. teardown (``--keep`` keeps the lab up; ``--down`` removes a kept lab).

A step whose parts are not in the checkout is skipped with the reason, and the demo then exits
with status 3: it never reports a result it did not obtain.
"""
import argparse
import ipaddress
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml

import lab as lab_package

ROOT = lab_package.ROOT
DEMO_RUN_DIR = lab_package.RUN_DIR / 'demo'
SAMPLE_INVENTORY = ROOT / 'inventory' / 'sample'
SITE = ROOT / 'playbooks' / 'site.yml'
STEP_PLAYBOOKS = ('hosts', 'cluster', 'networks', 'vms')
LAB_NAME = 'demo'
NAME_RE = re.compile(r'^[a-z0-9][a-z0-9-]{0,15}$')
SAMPLE_GROUP = 'workers'

EXIT_OK, EXIT_FAILED, EXIT_INCOMPLETE = 0, 1, 3

HOST_RESULT = re.compile(r'^(ok|changed|skipping|fatal|failed|unreachable|ignored): \[([^\]]+)\]')
TASK_LINE = re.compile(r'^TASK \[(?P<name>.*)\] \**$')
PLAY_LINE = re.compile(r'^PLAY \[(?P<name>.*)\] \**$')
RECAP_LINE = re.compile(r'^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$')
# Worst first: a host that failed in one loop item failed the task.
SEVERITY = ('unreachable', 'fatal', 'failed', 'changed', 'ok', 'ignored', 'skipping')


# -- pure parts (unit tested) -------------------------------------------------------------------
def build_parser():
    parser = argparse.ArgumentParser(prog='python -m lab demo', description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--keep', action='store_true', help='leave the lab and the API emulator running at the end')
    parser.add_argument('--down', action='store_true', help='tear down a lab kept by an earlier --keep, then exit')
    parser.add_argument('--nodes', type=int, default=3, help='number of nodes (default %(default)s; the sample names 3 workers)')
    parser.add_argument('--verbose', action='store_true', help='print the whole ansible-playbook output, not one line per task')
    parser.add_argument('--name', default=LAB_NAME, help='lab name (default %(default)s); its files are in lab/.run/demo/NAME')
    parser.add_argument('--up', action='store_true',
                        help='only bring the lab and the preloaded emulator up and write the inventory (Molecule create); '
                             'remove them with --down')
    parser.add_argument('--install-ovs', action='store_true',
                        help='nodes start without Open vSwitch and the ovs role installs it from a local apt repository '
                             '(about 30 s more); by default they start with it installed')
    parser.add_argument('--rolling', action='store_true',
                        help='move the uplinks one node at a time, as hosts.yml does by default on real clusters; by default the '
                             'demo moves all lab nodes at once (-e vmnet_hosts_serial=N) to stay quick')
    return parser


def sample_hosts(sample_dir=SAMPLE_INVENTORY, group=SAMPLE_GROUP):
    """Host names of *group* in the sample inventory, in order."""
    data = yaml.safe_load((sample_dir / 'hosts.yml').read_text(encoding='utf-8'))
    return list(data['all']['children'][group]['hosts'])


def sample_vars(sample_dir=SAMPLE_INVENTORY):
    """The sample's group_vars as one dict (plain data: the demo reads what site.yml will do)."""
    merged = {}
    for path in sorted((sample_dir / 'group_vars').glob('*/*.yml')):
        merged.update(yaml.safe_load(path.read_text(encoding='utf-8')) or {})
    return merged


def overlay_inventory(lab_inventory, names, kubeconfig, spiderpool_vars=None):
    """The lab laid over the sample: sample host *names* get the lab nodes' connection details.

    Returns ``(hosts_yml, group_vars)``: an inventory naming the sample's hosts with the lab
    nodes' addresses and per-node facts, and group_vars files ({group: vars}) that must win
    over the sample's (SSH through the lab's controller namespace, the lab's kubeconfig, the
    helm binary and the chart the Spiderpool role installs: *spiderpool_vars*).
    """
    lab_groups = lab_inventory['all']['children']
    lab_group = next(iter(lab_groups.values()))
    lab_hosts = list(lab_group['hosts'].values())
    if len(lab_hosts) < len(names):
        raise ValueError('the lab has %d nodes but the sample inventory names %d (%s)' % (len(lab_hosts), len(names), ', '.join(names)))
    hosts = {name: dict(lab_hosts[index]) for index, name in enumerate(names)}
    hosts_yml = {'all': {'children': {SAMPLE_GROUP: {'hosts': hosts}}}}
    # The lab's nodes have no kernel datapath: userspace bridges only. Set on the group that
    # the sample sets it on, since a group's own vars win over those of "all".
    workers = dict(lab_group.get('vars', {}), vmnet_datapath_type='netdev')
    group_vars = {
        SAMPLE_GROUP: workers,
        'all': dict({'vmnet_kubeconfig': str(kubeconfig)}, **(spiderpool_vars or {})),
    }
    return hosts_yml, group_vars


class TaskTracker:
    """Follows ansible-playbook output line by line; yields each task once it has finished.

    A task is finished when the next task, play or the recap starts. Its outcome is
    ``(play, task, {host: status})`` with the worst status seen for each host (loops print
    one line per item).
    """

    def __init__(self):
        self.play = None
        self.current = None

    def feed(self, line):
        """The tasks that *line* finished (zero or one)."""
        play_match = PLAY_LINE.match(line)
        task_match = TASK_LINE.match(line)
        if play_match or task_match or line.startswith('PLAY RECAP'):
            finished = self.finish()
            if play_match:
                self.play = play_match.group('name')
            elif task_match:
                self.current = (self.play, task_match.group('name'), {})
            return finished
        result = HOST_RESULT.match(line)
        if result and self.current:
            status, host = result.group(1), result.group(2).split(' ')[0]
            seen = self.current[2]
            if host not in seen or SEVERITY.index(status) < SEVERITY.index(seen[host]):
                seen[host] = status
        return []

    def finish(self):
        finished, self.current = ([self.current] if self.current else []), None
        return finished


def task_outcomes(lines):
    """ansible-playbook output -> [(play, task, {host: status})]."""
    tracker = TaskTracker()
    outcomes = []
    for line in lines:
        outcomes += tracker.feed(line)
    return outcomes + tracker.finish()


def task_line(task, statuses):
    """One progress line for a finished task: its name and which hosts did what."""
    groups = {}
    for host, status in statuses.items():
        groups.setdefault(status, []).append(host)
    parts = ['%s: %s' % (status, ' '.join(sorted(groups[status]))) for status in SEVERITY if status in groups]
    task = task.replace('vmnet.kubevirt.', '')
    return '%-66s %s' % (task[:66], '; '.join(parts) if parts else '(no hosts)')


def parse_recap(text):
    """PLAY RECAP -> {host: {ok, changed, unreachable, failed, skipped, rescued, ignored}}."""
    recap = {}
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith('PLAY RECAP')]
    if not starts:
        return recap
    for line in lines[starts[-1] + 1:]:
        match = RECAP_LINE.match(line.strip())
        if match:
            recap[match.group('host')] = {key: int(value) for key, value in (item.split('=') for item in match.group('counts').split())}
    return recap


def recap_totals(recap):
    totals = {}
    for counts in recap.values():
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def vlan_networks(variables):
    """VLAN -> (Multus CR, subnet) from the sample: each ovs Multus CR's VLAN and its pools' subnet."""
    pools = {pool['name']: pool for pool in variables.get('vmnet_ippools', [])}
    networks = {}
    for cr in variables.get('vmnet_multus_crs', []):
        vlan = (cr.get('ovs') or {}).get('vlan')
        if not vlan:
            continue
        default_pools = (cr.get('default_ip_pools') or {}).get('ipv4') or []
        subnet = pools[default_pools[0]]['subnet'] if default_pools and default_pools[0] in pools else None
        networks[int(vlan)] = ('%s/%s' % (cr.get('namespace', 'default'), cr['name']), subnet)
    return dict(sorted(networks.items()))


def probe_address(subnet, index):
    """An address for fabric probe *index* (1-based) at the top of *subnet*, outside the sample's pools."""
    network = ipaddress.ip_network(subnet)
    return '%s/%d' % (network.broadcast_address - 1 - index, network.prefixlen)


def format_table(headers, rows):
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(str(cell))) for width, cell in zip(widths, row)]
    lines = ['  '.join(str(cell).ljust(width) for cell, width in zip(headers, widths)).rstrip()]
    lines.append('  '.join('-' * width for width in widths))
    lines += ['  '.join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return '\n'.join(lines)


def node_row(name, state):
    """Summary row from a node's bridge state (see collect_node)."""
    if not state.get('bridges'):
        return [name, '-', '-', '-', 'no OVS bridge', '-']
    bridge = state['bridges'][0]
    trunks = bridge.get('trunks') or []
    vlans = ', '.join('0 (untagged)' if vlan == 0 else str(vlan) for vlan in trunks) or 'all (no trunk list)'
    if bridge.get('vlan_mode'):
        vlans += ' [%s]' % bridge['vlan_mode']
    return [name, bridge['name'], bridge.get('uplink') or '-', ', '.join(bridge.get('addresses') or []) or '(none)', vlans,
            ', '.join(bridge.get('persisted_in') or []) or 'not persisted']


def fabric_table(names, results):
    """results: {network: {(src, dst): bool}} -> one block per network, rows from, columns to."""
    blocks = []
    for network, pairs in results.items():
        rows = []
        for src in names:
            row = [src]
            for dst in names:
                row.append('-' if src == dst else ('ok' if pairs.get((src, dst)) else 'FAIL'))
            rows.append(row)
        blocks.append('%s\n%s' % (network, format_table(['from \\ to'] + list(names), rows)))
    return '\n\n'.join(blocks)


def smc_default_pools(smcs):
    """{namespace/name: [pools]} of each SpiderMultusConfig's default pools (what "Use Default IP Pool" takes)."""
    found = {}
    for smc in smcs:
        spec = smc.get('spec') or {}
        block = spec.get(spec.get('cniType') or 'ovs') or {}
        pools = block.get('ippools') or {}
        found['%s/%s' % (smc['metadata']['namespace'], smc['metadata']['name'])] = (pools.get('ipv4') or []) + (pools.get('ipv6') or [])
    return found


def nic_pools(nic, defaults):
    """(pools, how): the NIC's own pools, else its Multus CR's default pools."""
    pools = nic.get('ip_pools') or {}
    chosen = (pools.get('ipv4') or []) + (pools.get('ipv6') or [])
    # vm_network_info fills ip_pools with the CR's default pools too; use_default_ip_pool says which.
    if nic.get('use_default_ip_pool'):
        return chosen or defaults.get(nic.get('multus_cr')) or [], 'CR default'
    if chosen:
        return chosen, 'by hand'
    if nic.get('multus_cr') and defaults.get(nic['multus_cr']):
        return defaults[nic['multus_cr']], 'CR default'
    return [], None


def pool_rows(pools, defaults=None, usage=None, free_counts=None):
    """Pools with their usage (the pool's status, as Spiderpool keeps it), the IPs left (``free_counts``, from
    spiderpool_ippool_info), the VMs holding an IP of it (vm_network_info's ``pools``), the Multus CR it serves and
    the CR it is the default pool of."""
    usage = dict((entry['name'], entry) for entry in usage or [])
    rows = []
    for pool in sorted(pools, key=lambda item: item['metadata']['name']):
        name, spec, status = pool['metadata']['name'], pool.get('spec', {}), pool.get('status') or {}
        used, total = status.get('allocatedIPCount'), status.get('totalIPCount')
        if used is None or total is None:
            counted = '(no status)'
        else:
            counted = '%d/%d (%d%%)' % (used, total, round(100.0 * used / total) if total else 0)
        seen = usage.get(name) or {}
        free = '-' if (free_counts or {}).get(name) is None else str(free_counts[name])
        default_of = [cr for cr, names in sorted((defaults or {}).items()) if name in names]
        rows.append([name, spec.get('subnet', '-'), counted, free, ', '.join(seen.get('vms') or []) or '-',
                     ', '.join(spec.get('multusName') or []) or '-', ', '.join(default_of) or '-'])
    return rows


def fixed_text(nic):
    """vm_network_info's fixed_ip for the table: kept in a SpiderEndpoint or not."""
    if nic.get('fixed_ip') is None:
        return '?'
    return 'yes (SpiderEndpoint)' if nic['fixed_ip'] else 'no'


def vm_rows(vms, defaults=None):
    """vm_network_info's ``vms`` -> rows, one per NIC, and the verdict lines of each VM."""
    rows, verdicts = [], []
    for vm in vms:
        label = '%s/%s' % (vm['namespace'], vm['name'])
        for index, nic in enumerate(vm.get('nics') or []):
            pools, how = nic_pools(nic, defaults or {})
            pool_text = '%s (%s)' % (', '.join(pools), how) if pools else '-'
            ips = ', '.join(nic.get('ip_addresses') or [])
            if not ips and nic.get('fixed_ip_addresses'):
                ips = '%s (kept while stopped)' % ', '.join(nic['fixed_ip_addresses'])
            rows.append([label if index == 0 else '', nic.get('name', '-'), nic.get('mode', '-'), nic.get('multus_cr') or '(pod network)',
                         pool_text, nic.get('mac_address') or '(assigned at start)', ips or '-', fixed_text(nic)])
        blockers = vm.get('live_migration_blockers') or []
        verdict = vm.get('live_migration_verdict') or ('yes' if vm.get('live_migratable') else 'no')
        verdicts.append('%s: live migration %s%s' % (label, verdict, (' - ' + '; '.join(blockers)) if blockers else ''))
        verdicts += ['    note: %s' % note for note in vm.get('live_migration_notes') or []]
    return rows, verdicts


def nics_without_ip(vms):
    """'ns/vm nic' of every NIC of a running VM that has no IP."""
    return ['%s/%s %s' % (vm['namespace'], vm['name'], nic['name']) for vm in vms if vm.get('printable_status') == 'Running'
            for nic in vm.get('nics') or [] if nic.get('state', 'up') != 'absent' and not nic.get('ip_addresses')]


def restart_candidate(vms):
    """The running VM with the most NICs whose IPs Spiderpool keeps (the one the demo restarts), or None."""
    kept = [vm for vm in vms if vm.get('printable_status') == 'Running' and any(nic.get('fixed_ip') for nic in vm.get('nics') or [])]
    return max(kept, key=lambda vm: (len(vm['nics']), vm['name'])) if kept else None


def restart_line(before, after, uids):
    """(ok, text): the NIC IPs of a VM before and after a restart, and whether they are the same."""
    ips = [(nic['name'], nic.get('ip_addresses') or []) for nic in before['nics']]
    again = [(nic['name'], nic.get('ip_addresses') or []) for nic in (after or {}).get('nics') or []]
    shown = ', '.join('%s %s' % (name, '/'.join(addresses) or '-') for name, addresses in ips)
    ok = bool(ips) and all(addresses for _name, addresses in ips) and again == ips and uids[0] != uids[1]
    verdict = 'the same IPs, kept in SpiderEndpoint %s/%s' % (before['namespace'], before['name']) if ok else \
        'NOT the same: after the restart %s' % (', '.join('%s %s' % (n, '/'.join(a) or '-') for n, a in again) or 'no VM')
    return ok, '%s/%s restarted (new VMI %s, was %s): %s before and after: %s' % (
        before['namespace'], before['name'], (uids[1] or '-')[:8], (uids[0] or '-')[:8], shown, verdict)


# -- output ---------------------------------------------------------------------------------------
class Report:
    """Numbered steps printed as they run; remembers what was skipped or failed."""

    def __init__(self, out=sys.stdout):
        self.out = out
        self.started = time.monotonic()
        self.skipped = []
        self.failed = []

    def say(self, text=''):
        print(text, file=self.out, flush=True)

    def step(self, title):
        self.say('\n==> [%6.1fs] %s' % (time.monotonic() - self.started, title))

    def skip(self, title, reason):
        self.skipped.append((title, reason))
        self.say('    SKIPPED %s: %s' % (title, reason))

    def fail(self, title, reason):
        self.failed.append((title, reason))
        self.say('    FAILED %s: %s' % (title, reason))

    def exit_code(self):
        if self.failed:
            return EXIT_FAILED
        return EXIT_INCOMPLETE if self.skipped else EXIT_OK


# -- the lab --------------------------------------------------------------------------------------
def missing_playbooks(root=ROOT):
    return [name for name in STEP_PLAYBOOKS if not (root / 'playbooks' / ('%s.yml' % name)).exists()]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def stop_pid(pid, timeout=10.0):
    """Stop a process the demo started, by its PID: TERM, then KILL after *timeout*."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = pid if not _alive(pid) else 0
        if finished:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Workdir:
    """Where one named demo lab keeps its files: lab/.run/demo/NAME/."""

    def __init__(self, name):
        if not NAME_RE.match(name):
            raise ValueError('--name %r: must match %s' % (name, NAME_RE.pattern))
        self.name = name
        self.dir = DEMO_RUN_DIR / name
        self.state_file = self.dir / 'state.json'
        self.inventory_dir = self.dir / 'inventory'

    def path(self, name):
        self.dir.mkdir(parents=True, exist_ok=True)
        return self.dir / name

    def save_state(self, state):
        self.path('state.json').write_text(json.dumps(state, indent=2) + '\n', encoding='utf-8')

    def load_state(self):
        if not self.state_file.exists():
            return None
        return json.loads(self.state_file.read_text(encoding='utf-8'))


def is_emulator(pid):
    """True when *pid* still runs ``python -m lab kubeapi`` (a recorded PID may have been reused)."""
    try:
        argv = pathlib.Path('/proc/%d/cmdline' % pid).read_bytes().split(b'\0')
    except OSError:
        return False
    return b'lab' in argv and b'kubeapi' in argv


def teardown(report, work, state):
    """Stop what the state file records: the emulator by PID, the host lab by name."""
    pid = state.get('emulator_pid')
    if pid and is_emulator(pid):
        stop_pid(pid)
        report.say('    API emulator (pid %d) stopped' % pid)
    elif pid:
        report.say('    API emulator (pid %d) was no longer running' % pid)
    if state.get('lab_name'):
        from lab.hosts.lab import HostLab, LabError  # pylint: disable=import-outside-toplevel
        try:
            HostLab.load(state['lab_name']).destroy()
            report.say('    host lab %s removed (namespaces, mounts, daemons)' % state['lab_name'])
        except LabError as error:
            report.say('    host lab %s: %s' % (state['lab_name'], error))
    if work.state_file.exists():
        work.state_file.unlink()


# -- reading the results back --------------------------------------------------------------------
def ovs_set(value):
    """ovs-vsctl --format=json cell -> Python list (sets print as ["set", [...]] or a bare atom)."""
    if isinstance(value, list) and len(value) == 2 and value[0] == 'set':
        return list(value[1])
    return [value]


def collect_node(node):
    """Bridges of one node, read from its own OVS and kernel: uplink, addresses, trunks."""
    listed = node.exec(['ovs-vsctl', '--timeout=5', 'list-br'], check=False)
    bridges = []
    for name in listed.stdout.split() if listed.returncode == 0 else []:
        ports = node.exec(['ovs-vsctl', '--timeout=5', 'list-ports', name]).stdout.split()
        uplink = node.uplink if node.uplink in ports else None
        trunks, vlan_mode = [], None
        if uplink:
            cells = json.loads(node.exec(['ovs-vsctl', '--timeout=5', '--format=json', '--columns=trunks,vlan_mode', 'list', 'Port', uplink]).stdout)
            row = cells['data'][0]
            trunks = sorted(int(vlan) for vlan in ovs_set(row[0]))
            modes = ovs_set(row[1])
            vlan_mode = modes[0] if modes else None
        bridges.append({'name': name, 'uplink': uplink, 'trunks': trunks, 'vlan_mode': vlan_mode, 'addresses': addresses(node, name),
                        'left_on_uplink': addresses(node, uplink) if uplink else [], 'persisted_in': persisted_in(node, name)})
    return {'bridges': bridges}


PERSISTENCE_DIRS = ('/etc/network', '/etc/netplan', '/etc/NetworkManager/system-connections')


def persisted_in(node, bridge):
    """Network configuration files on the node's own disk that name *bridge* (what a reboot brings back)."""
    found = node.exec(['grep', '-rlw', '--', bridge] + list(PERSISTENCE_DIRS), check=False)
    return sorted(found.stdout.split())


def addresses(node, device):
    shown = node.exec(['ip', '-j', 'addr', 'show', 'dev', device], check=False)
    if shown.returncode != 0 or not shown.stdout.strip():
        return []
    found = []
    for link in json.loads(shown.stdout):
        for info in link.get('addr_info', []):
            if info.get('scope') == 'global':
                found.append('%s/%s' % (info['local'], info['prefixlen']))
    return found


def probe_fabric(host_lab, names, bridge, vlans):
    """Reachability between nodes: the management network (node to node), then each VLAN.

    For a VLAN, each node gets a probe "VM" (a namespace on an access port of *bridge* with
    that tag); every probe pings every other. The probes are removed afterwards.
    """
    nodes = host_lab.nodes[:len(names)]
    results = {'management (untagged)': {}}
    for src_name, src in zip(names, nodes):
        for dst_name, dst in zip(names, nodes):
            if src is not dst:
                pinged = src.exec(['ping', '-q', '-n', '-c', '2', '-i', '0.2', '-W', '1', dst.mgmt_ip], check=False)
                results['management (untagged)'][(src_name, dst_name)] = pinged.returncode == 0
    for vlan, (multus_cr, subnet) in vlans.items():
        label = 'VLAN %d (%s, %s)' % (vlan, multus_cr, subnet)
        results[label] = {}
        probes = []
        try:
            for index, name in enumerate(names, start=1):
                probes.append((name, host_lab.add_vm(index, bridge, vlan, probe_address(subnet, index), name='f%d-%d' % (vlan, index))))
            for src_name, src in probes:
                for dst_name, dst in probes:
                    if src is not dst:
                        results[label][(src_name, dst_name)] = src.ping(dst.ip, count=2, timeout=1)
        finally:
            for _name, probe in probes:
                probe.remove()
    return results


def api_client(kubeconfig):
    from kubernetes import config, dynamic  # pylint: disable=import-outside-toplevel
    return dynamic.DynamicClient(config.new_client_from_config(config_file=str(kubeconfig)))


def list_objects(client, api_version, kind, namespace=None):
    resource = client.resources.get(api_version=api_version, kind=kind)
    listed = resource.get(namespace=namespace) if namespace else resource.get()
    return [item.to_dict() for item in listed.items]


def adhoc_module(env, inventory_args, module, args):
    """Run one module on localhost with ``ansible`` and return its JSON result."""
    argv = [str(ROOT / '.venv' / 'bin' / 'ansible'), 'localhost'] + inventory_args + ['-m', module, '-a', json.dumps(args)]
    completed = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(ROOT), check=False, timeout=300)
    text = completed.stdout
    if '=> ' not in text:
        raise RuntimeError('%s gave no result: %s' % (module, (completed.stderr or text).strip()[-400:]))
    result = json.loads(text.split('=> ', 1)[1])
    if completed.returncode != 0 or result.get('failed'):
        raise RuntimeError('%s failed: %s' % (module, result.get('msg', text[-400:])))
    return result


# -- the API emulator -----------------------------------------------------------------------------
class Emulator:
    """``python -m lab kubeapi`` started by the demo in its own session, stopped by PID."""

    def __init__(self, pid, port, kubeconfig):
        self.pid = pid
        self.port = port
        self.kubeconfig = kubeconfig

    @classmethod
    def start(cls, work, extra_args=(), timeout=30.0):
        port = free_port()
        kubeconfig = work.path('kubeconfig')
        if kubeconfig.exists():
            kubeconfig.unlink()
        log_path = work.path('kubeapi.log')
        log = log_path.open('w', encoding='utf-8')
        argv = [sys.executable, '-m', 'lab', 'kubeapi', '--port', str(port), '--kubeconfig', str(kubeconfig)] + list(extra_args)
        # Its own session: with --keep it outlives the demo; it is always stopped by its PID.
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT), start_new_session=True)  # pylint: disable=consider-using-with
        log.close()
        emulator = cls(process.pid, port, kubeconfig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError('the API emulator exited with %s; see %s' % (process.returncode, log_path))
            if kubeconfig.exists() and emulator.answers():
                return emulator
            time.sleep(0.1)
        stop_pid(process.pid)
        raise RuntimeError('the API emulator did not answer within %.0f s; see %s' % (timeout, log_path))

    def answers(self):
        try:
            with socket.create_connection(('127.0.0.1', self.port), timeout=0.5):
                return True
        except OSError:
            return False


SIMULATIONS = ('spidermultusconfig-nad', 'ippool-status', 'vm-vmi', 'spiderpool-ipam', 'workload-readiness',
               'spiderpool-hooks')
# Real helm (scripts/setup installs it) and the real Spiderpool chart where ../shared has it.
HELM = ROOT / '.cache' / 'tools' / 'bin' / 'helm'
REAL_CHART = ROOT.parent / 'shared' / 'upstream' / 'charts' / 'spiderpool-1.2.2'
READY_DEPLOYMENT = {'replicas': 1, 'readyReplicas': 1, 'availableReplicas': 1, 'updatedReplicas': 1, 'observedGeneration': 1}


def daemonset_status(nodes):
    return {'desiredNumberScheduled': nodes, 'currentNumberScheduled': nodes, 'numberReady': nodes, 'numberAvailable': nodes,
            'updatedNumberScheduled': nodes, 'numberMisscheduled': 0, 'observedGeneration': 1}


def workload(kind, namespace, name, release=None):
    """A Deployment or DaemonSet as a chart or operator would leave it (one container, no real pods)."""
    labels = {'app.kubernetes.io/name': name}
    meta = {'name': name, 'namespace': namespace, 'labels': dict(labels)}
    if release:
        meta['annotations'] = {'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': namespace}
        meta['labels']['app.kubernetes.io/managed-by'] = 'Helm'
    spec = {'selector': {'matchLabels': labels},
            'template': {'metadata': {'labels': labels}, 'spec': {'containers': [{'name': name, 'image': '%s:demo' % name}]}}}
    if kind == 'Deployment':
        spec['replicas'] = 1
    return {'apiVersion': 'apps/v1', 'kind': kind, 'metadata': meta, 'spec': spec}


def preload_objects(node_names, spiderpool_namespace='kube-system', vm_namespaces=('vms',)):
    """(object, status) pairs: a cluster where KubeVirt is installed and ready (Spiderpool's CRDs are served)."""
    count = len(node_names)
    objects = [({'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': name}}, None)
               for name in sorted({'kubevirt', spiderpool_namespace} | set(vm_namespaces))]
    for name in node_names:
        node = {'apiVersion': 'v1', 'kind': 'Node',
                'metadata': {'name': name, 'labels': {'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux'}}}
        objects.append((node, {'conditions': [{'type': 'Ready', 'status': 'True', 'reason': 'KubeletReady'}]}))
    for name in ('virt-operator', 'virt-api', 'virt-controller'):
        objects.append((workload('Deployment', 'kubevirt', name), READY_DEPLOYMENT))
    objects.append((workload('DaemonSet', 'kubevirt', 'virt-handler'), daemonset_status(count)))
    # Spiderpool is not preloaded: the spiderpool role installs it with real helm (site.yml's cluster step).
    return objects


class ApiHttp:
    """Plain HTTP to the emulator (the demo's own preload; Ansible uses kubernetes.core)."""

    def __init__(self, kubeconfig):
        document = yaml.safe_load(pathlib.Path(kubeconfig).read_text(encoding='utf-8'))
        self.server = document['clusters'][0]['cluster']['server']

    def call(self, method, path, body=None, content_type='application/json'):
        data = None if body is None else json.dumps(body).encode('utf-8')
        request = urllib.request.Request(self.server + path, data=data, method=method, headers={'Content-Type': content_type})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.loads(answer.read() or b'null')
        except urllib.error.HTTPError as error:
            raise RuntimeError('%s %s: HTTP %s %s' % (method, path, error.code, error.read()[:300].decode('utf-8', 'replace'))) from None

    @staticmethod
    def path_of(obj):
        group_version = obj['apiVersion']
        plural = {'Namespace': 'namespaces', 'Node': 'nodes', 'Deployment': 'deployments', 'DaemonSet': 'daemonsets',
                  'SpiderCoordinator': 'spidercoordinators'}[obj['kind']]
        base = '/api/%s' % group_version if '/' not in group_version else '/apis/%s' % group_version
        namespace = obj['metadata'].get('namespace')
        return '%s%s/%s/%s' % (base, '/namespaces/%s' % namespace if namespace else '', plural, obj['metadata']['name'])

    def apply(self, obj, status=None):
        path = self.path_of(obj)
        self.call('PATCH', path + '?fieldManager=vmnet-lab-demo&force=true', obj, 'application/apply-patch+yaml')
        if status is not None:
            self.call('PATCH', path + '/status', {'status': status}, 'application/merge-patch+json')

    def simulate(self, name):
        self.call('POST', '/_lab/simulations', {'name': name, 'on': True})


def preload_cluster(report, emulator, node_names, variables):
    """Make the emulator look like a cluster where KubeVirt and Spiderpool are installed."""
    http = ApiHttp(emulator.kubeconfig)
    namespaces = tuple(sorted({vm.get('namespace', 'default') for vm in variables.get('vmnet_vms', [])}))
    objects = preload_objects(node_names, variables.get('vmnet_spiderpool_namespace', 'kube-system'), namespaces)
    for obj, status in objects:
        http.apply(obj, status)
    report.say('    CRDs served: Spiderpool v1.2 (SpiderIPPool, SpiderSubnet, SpiderMultusConfig, ...), '
               'NetworkAttachmentDefinition, KubeVirt VirtualMachine/VirtualMachineInstance')
    report.say('    preloaded: %d objects (nodes %s; KubeVirt workloads ready; namespaces %s); Spiderpool itself is installed '
               'by site.yml with real helm' % (len(objects), ', '.join(node_names), ', '.join(namespaces)))
    report.say('    simulations on: %s (what the Spiderpool, KubeVirt and workload controllers would write; no controller runs '
               'here)' % ', '.join(SIMULATIONS))


def ansible_extra_env(work):
    """helm keeps its cache, config and data in the demo's folder, not in the user's home."""
    return {'HELM_CACHE_HOME': str(work.path('helm') / 'cache'), 'HELM_CONFIG_HOME': str(work.path('helm') / 'config'),
            'HELM_DATA_HOME': str(work.path('helm') / 'data')}


def spiderpool_chart(work, real_chart=None):
    """(chart directory, what it is, the role variables that install it): the real Spiderpool chart
    where ../shared has it, else the lab's stand-in chart written into the demo's folder."""
    from lab import standin_chart  # pylint: disable=import-outside-toplevel
    real_chart = REAL_CHART if real_chart is None else real_chart
    variables = {'vmnet_spiderpool_helm_binary': str(HELM)}
    if (real_chart / 'Chart.yaml').is_file():
        variables['vmnet_spiderpool_chart_path'] = str(real_chart)
        return real_chart, 'the real Spiderpool chart 1.2.2 (../shared/upstream/charts/spiderpool-1.2.2)', variables
    chart = standin_chart.write_chart(work.path('chart'))
    variables.update({'vmnet_spiderpool_chart_path': str(chart), 'vmnet_spiderpool_chart_version': standin_chart.VERSION})
    return chart, ("the lab's stand-in for the Spiderpool chart (%s %s, written by the lab at run time; ../shared with the "
                   'real chart is absent)' % (standin_chart.NAME, standin_chart.VERSION)), variables


def helm_list(work, kubeconfig):
    """`helm list -A` against the emulator, as text."""
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), **ansible_extra_env(work))
    proc = subprocess.run([str(HELM), 'list', '--all-namespaces'], env=env, capture_output=True, text=True, timeout=60, check=False)
    return (proc.stdout + proc.stderr).rstrip()


# -- ansible-playbook with progress -------------------------------------------------------------
def run_playbook(report, argv, env, log_path, verbose=False):
    """Run *argv*, print one line per finished task (or everything with *verbose*); return (rc, output)."""
    tracker = TaskTracker()
    lines = []
    started = time.monotonic()
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=str(ROOT), bufsize=1) as process, \
            log_path.open('w', encoding='utf-8') as log:
        for raw in process.stdout:
            log.write(raw)
            line = raw.rstrip('\n')
            lines.append(line)
            if verbose:
                report.say(line)
                continue
            play = PLAY_LINE.match(line)
            for _play, task, statuses in tracker.feed(line):
                if statuses:  # includes and blocks print a TASK line but no host result
                    report.say('    %6.1fs  %s' % (time.monotonic() - started, task_line(task, statuses)))
            if play:
                report.say('  play: %s' % play.group('name'))
            elif line.startswith(('fatal:', 'failed:')) or line.startswith('ERROR!') or line.startswith('[ERROR]'):
                report.say('      ' + line[:600])
        for _play, task, statuses in tracker.finish():
            if statuses:
                report.say('    %6.1fs  %s' % (time.monotonic() - started, task_line(task, statuses)))
        rc = process.wait()
    return rc, '\n'.join(lines)


def changed_tasks(output):
    """(play, task, hosts) of every task that reported changed."""
    return [(play, task, sorted(host for host, status in statuses.items() if status == 'changed'))
            for play, task, statuses in task_outcomes(output.splitlines()) if 'changed' in statuses.values()]


# -- the demo ---------------------------------------------------------------------------------------
def write_inventory(work, host_lab, kubeconfig, spiderpool_vars=None):
    """The lab overlay (WORKDIR/inventory) that goes after inventory/sample on the command line."""
    lab_inventory = yaml.safe_load(host_lab.inventory.read_text(encoding='utf-8'))
    hosts_yml, group_vars = overlay_inventory(lab_inventory, sample_hosts(), kubeconfig, spiderpool_vars)
    inventory_dir = work.inventory_dir
    if inventory_dir.exists():
        shutil.rmtree(inventory_dir)
    for group, variables in group_vars.items():
        (inventory_dir / 'group_vars' / group).mkdir(parents=True)
        (inventory_dir / 'group_vars' / group / 'lab.yml').write_text(
            '---\n# Generated by `python -m lab demo`: the lab laid over inventory/sample.\n' + yaml.safe_dump(variables, sort_keys=True),
            encoding='utf-8')
    (inventory_dir / 'hosts.yml').write_text(
        '---\n# Generated by `python -m lab demo`: the sample hosts on the lab nodes.\n' + yaml.safe_dump(hosts_yml, sort_keys=True),
        encoding='utf-8')
    return ['-i', str(SAMPLE_INVENTORY), '-i', str(inventory_dir)]


def print_summary(report, work, host_lab, emulator, env, inventory_args, names, variables):
    bridge_names = [entry.get('name') for entry in variables.get('vmnet_ovs_bridge_bridges', [])] or ['br1']
    report.say('\nNodes (read from each node\'s own Open vSwitch and kernel)')
    states = {name: collect_node(node) for name, node in zip(names, host_lab.nodes)}
    report.say(format_table(['node', 'bridge', 'uplink', 'moved IP (on the bridge)', 'VLANs on the uplink', 'persisted in'],
                            [node_row(name, states[name]) for name in names]))
    for name in names:
        for bridge in states[name]['bridges']:
            if bridge['left_on_uplink']:
                report.fail('node %s' % name, 'addresses still on %s: %s' % (bridge['uplink'], ', '.join(bridge['left_on_uplink'])))
    if all(states[name]['bridges'] for name in names):
        report.say('\nFabric reachability (ping from row to column; VLANs through probe ports on %s)' % bridge_names[0])
        fabric = probe_fabric(host_lab, names, bridge_names[0], vlan_networks(variables))
        report.say(fabric_table(names, fabric))
        broken = ['%s: %s -> %s' % (network, src, dst) for network, pairs in fabric.items() for (src, dst), ok in pairs.items() if not ok]
        if broken:
            report.fail('fabric', '; '.join(broken))
    else:
        report.skip('fabric matrix', 'not every node has an OVS bridge')
    _chart, chart_text, _variables = spiderpool_chart(work)
    report.say('\nSpiderpool: real helm installed %s' % chart_text)
    report.say('  $ helm list --all-namespaces')
    for line in helm_list(work, emulator.kubeconfig).splitlines():
        report.say('  ' + line)
    client = api_client(emulator.kubeconfig)
    namespaces = sorted({vm.get('namespace', 'default') for vm in variables.get('vmnet_vms', [])})
    vms, usage = read_vms(env, inventory_args, emulator, namespaces)
    defaults = smc_default_pools(list_objects(client, 'spiderpool.spidernet.io/v2beta1', 'SpiderMultusConfig'))
    summaries = adhoc_module(env, inventory_args, 'vmnet.kubevirt.spiderpool_ippool_info',
                             {'kubeconfig': str(emulator.kubeconfig)}).get('summaries', [])
    free = dict((entry['name'], entry['free_ip_count']) for entry in summaries)
    report.say('\nIP pools (used/total: SpiderIPPool status; free: spiderpool_ippool_info; holders: vm_network_info)')
    report.say(format_table(['pool', 'subnet', 'used/total', 'free', 'VMs holding an IP', 'serves Multus CR', 'default pool of'],
                            pool_rows(list_objects(client, 'spiderpool.spidernet.io/v2beta1', 'SpiderIPPool'), defaults, usage, free)))
    report.say('\nVMs (vmnet.kubevirt.vm_network_info)')
    rows, verdicts = vm_rows(vms, defaults)
    report.say(format_table(['VM', 'NIC', 'mode', 'Multus CR', 'IP pools', 'MAC', 'IPs', 'fixed'], rows))
    for verdict in verdicts:
        report.say('  ' + verdict)
    missing = nics_without_ip(vms)
    if missing:
        report.fail('VM IPs', 'running VM NICs without an IP: %s' % ', '.join(missing))
    show_restart(report, emulator, env, inventory_args, vms)
    report.say('  (No VM boots here: there is no KubeVirt controller and no Spiderpool agent. The emulator\'s vm-vmi and '
               'spiderpool-ipam simulations write what they would: the VMI status, the SpiderEndpoint per VM, the pools\' '
               'allocatedIPs.)')


def read_vms(env, inventory_args, emulator, namespaces):
    """vm_network_info of every namespace: (vms, pool usage)."""
    vms, usage = [], {}
    for namespace in namespaces:
        result = adhoc_module(env, inventory_args, 'vmnet.kubevirt.vm_network_info',
                              {'namespace': namespace, 'kubeconfig': str(emulator.kubeconfig)})
        vms += result.get('vms', [])
        usage.update((entry['name'], entry) for entry in result.get('pools', []))
    return vms, list(usage.values())


def show_restart(report, emulator, env, inventory_args, vms):
    """Restart one Bridge VM as ``virtctl restart`` does (KubeVirt's restart subresource) and show its IPs stay."""
    vm = restart_candidate(vms)
    if vm is None:
        report.fail('restart', 'no running VM with IPs kept by Spiderpool to restart')
        return
    http = ApiHttp(emulator.kubeconfig)
    vmi_path = '/apis/kubevirt.io/v1/namespaces/%s/virtualmachineinstances/%s' % (vm['namespace'], vm['name'])
    before = http.call('GET', vmi_path)['metadata']['uid']
    http.call('PUT', '/apis/subresources.kubevirt.io/v1/namespaces/%s/virtualmachines/%s/restart' % (vm['namespace'], vm['name']))
    after_uid = http.call('GET', vmi_path)['metadata']['uid']
    again, _usage = read_vms(env, inventory_args, emulator, [vm['namespace']])
    ok, text = restart_line(vm, next((v for v in again if v['name'] == vm['name']), None), (before, after_uid))
    report.say('\nRestart (KubeVirt\'s restart API, as virtctl restart calls it)')
    report.say('  ' + text)
    if not ok:
        report.fail('restart', text)


def run_site(report, work, step_title, argv_base, env, log_name, verbose):
    """site.yml when every step playbook exists; else the ones that exist, the others skipped."""
    missing = missing_playbooks()
    if not missing:
        argv = argv_base + [str(SITE)]
        report.say('  $ %s' % ' '.join(argv[1:]))
        return [run_playbook(report, argv, env, work.path(log_name), verbose)]
    report.skip(step_title + ': site.yml', 'playbooks/%s.yml not in this checkout yet, so site.yml cannot load'
                % '.yml, playbooks/'.join(missing))
    results = []
    for name in STEP_PLAYBOOKS:
        if name in missing:
            report.skip('%s: playbooks/%s.yml' % (step_title, name), 'not in this checkout yet')
            continue
        argv = argv_base + [str(ROOT / 'playbooks' / ('%s.yml' % name))]
        report.say('  $ %s' % ' '.join(argv[1:]))
        results.append(run_playbook(report, argv, env, work.path('%s-%s' % (name, log_name)), verbose))
    return results


def bring_up(args, report, work, state):
    """Lab nodes, the preloaded emulator and the overlay inventory; returns (host_lab, emulator, env, inventory_args)."""
    from lab.hosts.lab import HostLab  # pylint: disable=import-outside-toplevel
    names = sample_hosts()
    variables = sample_vars()
    if not HELM.exists():
        raise RuntimeError('helm is missing at %s: scripts/setup installs it (the Spiderpool role needs it)' % HELM.relative_to(ROOT))
    if args.nodes < len(names):
        raise ValueError('--nodes %d: the sample inventory names %d workers (%s)' % (args.nodes, len(names), ', '.join(names)))
    with_ovs = not args.install_ovs or not (ROOT / 'roles' / 'ovs').is_dir()
    report.step('Lab up: %d nodes over real SSH, %s' % (
        args.nodes, 'Open vSwitch preinstalled' if with_ovs else 'Open vSwitch to be installed by the ovs role from a local apt repository'))
    if not (ROOT / 'roles' / 'ovs').is_dir():
        report.say('    roles/ovs is not in this checkout yet: the nodes start with Open vSwitch already installed')
    host_lab = HostLab.create(args.nodes, with_ovs=with_ovs, name=work.name)
    state['lab_name'] = host_lab.name
    work.save_state(state)
    report.say('    %s' % ', '.join('%s=%s' % (name, node.mgmt_ip) for name, node in zip(names, host_lab.nodes)))

    report.step("API emulator: a cluster where KubeVirt is installed and Spiderpool's CRDs are served")
    emulator = Emulator.start(work, ['--crds', 'spiderpool-v1.2'] + ['--simulate=%s' % name for name in SIMULATIONS])
    state.update({'emulator_pid': emulator.pid, 'kubeconfig': str(emulator.kubeconfig)})
    work.save_state(state)
    preload_cluster(report, emulator, names, variables)

    report.step('Inventory: inventory/sample with the lab laid over it')
    _chart, chart_text, spiderpool_vars = spiderpool_chart(work)
    inventory_args = write_inventory(work, host_lab, emulator.kubeconfig, spiderpool_vars)
    state['inventory'] = inventory_args
    work.save_state(state)
    env = host_lab.ansible_env()
    env.update(ansible_extra_env(work))
    report.say('    ansible-playbook %s playbooks/site.yml' % ' '.join(inventory_args))
    report.say('    the lab overrides: SSH through the lab\'s controller namespace, vmnet_datapath_type=netdev (no kernel datapath), '
               'vmnet_kubeconfig (the emulator), vmnet_spiderpool_helm_binary (real helm) and vmnet_spiderpool_chart_path (%s)%s'
               % (chart_text, ', no apt cache refresh (no route to mirrors; Open vSwitch preinstalled)' if host_lab.with_ovs else ''))
    return host_lab, emulator, env, inventory_args


def run_demo(args, report, work, state):
    host_lab, emulator, env, inventory_args = bring_up(args, report, work, state)
    names = sample_hosts()
    variables = sample_vars()
    argv_base = [str(ROOT / '.venv' / 'bin' / 'ansible-playbook')] + inventory_args
    if not args.rolling:
        argv_base += ['-e', 'vmnet_hosts_serial=%d' % args.nodes]

    report.step('site.yml, first pass')
    first = run_site(report, work, 'first pass', argv_base, env, 'site-pass1.log', args.verbose)
    for rc, output in first:
        if rc != 0:
            report.fail('first pass', 'ansible-playbook exited %d; log in %s' % (rc, work.dir))
            return
        report.say('    recap: %s' % recap_totals(parse_recap(output)))

    report.step('Summary')
    print_summary(report, work, host_lab, emulator, env, inventory_args, names, variables)

    report.step('site.yml, second pass (must change nothing)')
    second = run_site(report, work, 'second pass', argv_base, env, 'site-pass2.log', args.verbose)
    for rc, output in second:
        totals = recap_totals(parse_recap(output))
        if rc != 0:
            report.fail('second pass', 'ansible-playbook exited %d; log in %s' % (rc, work.dir))
        elif totals.get('changed', 0):
            report.fail('second pass', 'changed=%d: %s' % (totals['changed'], '; '.join(
                '%s [%s]' % (task, ' '.join(hosts)) for _play, task, hosts in changed_tasks(output))))
        else:
            report.say('    second pass: changed=0 (ok=%d on %d hosts)' % (totals.get('ok', 0), len(parse_recap(output))))


def print_kept(report, state):
    report.say('    ansible-playbook %s playbooks/site.yml' % ' '.join(state.get('inventory', [])))
    report.say('    KUBECONFIG=%s' % state.get('kubeconfig'))
    report.say('    scripts/demo --down%s   # removes them' % ('' if state.get('name') == LAB_NAME else ' --name %s' % state.get('name')))


def main(argv=None):
    args = build_parser().parse_args(argv)
    report = Report()
    if os.geteuid() != 0:
        print('python -m lab demo: must run as root (the lab builds nodes in network namespaces)', file=sys.stderr)
        return EXIT_FAILED
    try:
        work = Workdir(args.name)
    except ValueError as error:
        print('python -m lab demo: %s' % error, file=sys.stderr)
        return EXIT_FAILED
    previous = work.load_state()
    if args.down:
        if previous:
            report.step('Teardown of the kept lab %s' % work.name)
            teardown(report, work, previous)
        else:
            report.say('no kept demo lab named %s' % work.name)
        return EXIT_OK
    if previous:
        report.step('Removing the lab %s kept by an earlier run' % work.name)
        teardown(report, work, previous)
    # A fresh run starts from nothing: no helm cache, chart or logs of an earlier run.
    shutil.rmtree(work.dir, ignore_errors=True)
    state = {'name': work.name}
    keep = args.keep or args.up
    try:
        if args.up:
            bring_up(args, report, work, state)
        else:
            run_demo(args, report, work, state)
    except Exception as error:  # pylint: disable=broad-exception-caught
        report.fail('demo', '%s: %s' % (type(error).__name__, error))
    finally:
        if keep and len(state) > 1 and not (args.up and report.failed):
            work.save_state(state)
            report.step('Kept: the lab and the API emulator stay up')
            print_kept(report, state)
        else:
            report.step('Teardown')
            teardown(report, work, state)
    code = report.exit_code()
    report.step('Result: %s' % {EXIT_OK: 'done, every step ran', EXIT_FAILED: 'FAILED', EXIT_INCOMPLETE: 'INCOMPLETE'}[code])
    for title, reason in report.skipped:
        report.say('    skipped  %s: %s' % (title, reason))
    for title, reason in report.failed:
        report.say('    failed   %s: %s' % (title, reason))
    return code
