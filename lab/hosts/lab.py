"""The multi-node host lab: nodes in namespaces on a lab switch, reached over real SSH.

Topology of one lab named NAME (all in private ranges inside namespaces; the machine's own
network is untouched):

* ``vmlab-NAME-sw``: the switch, a Linux bridge ``br0`` holding the gateway address 10.10.0.1;
* ``vmlab-NAME-ctl``: the controller side, 10.10.0.254; SSH reaches the nodes through it;
* ``vmlab-NAME-nodeI``: node I with its own network, mount and UTS namespaces, ``eth1`` on the
  switch with 10.10.0.(10+I), its own sshd and (optionally) its own Open vSwitch.
"""
import contextlib
import json
import os
import pathlib
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import lab as lab_package
from lab.hosts import image
from lab.hosts import plan
from lab.hosts import system

HOSTS_RUN_DIR = lab_package.RUN_DIR / 'hosts'
STATE_FILE = 'lab.json'
BOOT_TIMEOUT = 20.0


class LabError(RuntimeError):
    pass


class PlaybookResult:
    def __init__(self, argv, completed):
        self.argv = argv
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.recap = plan.parse_recap(completed.stdout)

    def __repr__(self):
        return '<PlaybookResult rc=%s recap=%s>' % (self.rc, self.recap)


class Node:
    """One lab node: its namespaces, its disk (overlay upper dirs) and its daemons."""

    def __init__(self, host_lab, index):
        self.lab = host_lab
        self.index = index
        self.name = plan.node_name(index)
        self.mgmt_ip = plan.node_ip(index)
        self.mgmt_cidr = plan.node_cidr(index)
        self.gateway = plan.GATEWAY
        self.uplink = plan.UPLINK
        self.mac = plan.node_mac(index)
        self.namespace = plan.node_namespace(host_lab.name, index)
        self.dir = host_lab.dir / 'nodes' / self.name
        self.mnt_file = host_lab.ns_dir / ('%s.mnt' % self.name)
        self.uts_file = host_lab.ns_dir / ('%s.uts' % self.name)
        self.pid_file = host_lab.ns_dir / ('%s.pid' % self.name)
        self.switch_port = plan.switch_port(index)
        self._daemons = []
        self.boot_errors = []

    def __repr__(self):
        return '<Node %s %s>' % (self.name, self.mgmt_ip)

    # -- running things inside the node -----------------------------------------------------
    def nsenter_argv(self, argv):
        return ['nsenter', '--net=%s' % system.netns_path(self.namespace), '--mount=%s' % self.mnt_file,
                '--uts=%s' % self.uts_file, '--pid=%s' % self.pid_file, '--wd=/', '--'] + [str(item) for item in argv]

    def exec(self, argv, check=True, input=None, timeout=120):  # pylint: disable=redefined-builtin
        """Run *argv* inside the node's namespaces (as its root) -> CompletedProcess."""
        return system.run(self.nsenter_argv(argv), check=check, input=input, env=system.NODE_ENV, timeout=timeout)

    def spawn(self, argv, log_name):
        """Start a long-running daemon inside the node, detached from the caller; returns its PID."""
        log_path = self.dir / log_name
        with open(log_path, 'ab') as log:
            process = subprocess.Popen(  # pylint: disable=consider-using-with
                self.nsenter_argv(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=system.NODE_ENV, start_new_session=True)
        # Kept so this process reaps the daemon once power_off() has stopped it.
        self._daemons.append(process)
        return process.pid

    def ssh_argv(self, argv, tty=False, connect_timeout=10):
        """Real SSH to the node as the inventory does it (controller namespace, lab key, known_hosts)."""
        options = ['-o', 'ProxyCommand=%s' % plan.proxy_command(self.lab.controller_ns),
                   '-o', 'UserKnownHostsFile=%s' % self.lab.known_hosts, '-o', 'StrictHostKeyChecking=yes',
                   '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=%d' % connect_timeout, '-o', 'ServerAliveInterval=3', '-o', 'ServerAliveCountMax=10']
        return (['ssh', '-i', str(self.lab.key_file), '-t' if tty else '-T'] + options + ['root@%s' % self.mgmt_ip]
                + (['--'] + [shlex.quote(str(item)) for item in argv] if argv else []))

    def ssh(self, argv, check=True, input=None, timeout=60, connect_timeout=10):  # pylint: disable=redefined-builtin
        """Run *argv* on the node over SSH -> CompletedProcess (rc 255 when SSH cannot connect)."""
        return system.run(self.ssh_argv(argv, connect_timeout=connect_timeout), check=check, input=input, timeout=timeout)

    def ssh_session(self, argv=('cat',)):
        """A long-lived SSH session (Popen with pipes; default: an echo through ``cat``)."""
        return subprocess.Popen(self.ssh_argv(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                stderr=subprocess.PIPE, text=True, bufsize=1)

    def namespace_inodes(self):
        return [system.ns_inode(system.netns_path(self.namespace)), system.ns_inode(self.mnt_file),
                system.ns_inode(self.uts_file), system.ns_inode(self.pid_file)]

    def pids(self):
        return system.processes_in(self.namespace_inodes())

    def has_ovs(self):
        return self.exec(['test', '-x', '/usr/sbin/ovs-vswitchd'], check=False).returncode == 0

    def is_up(self):
        return system.netns_exists(self.namespace) and str(self.mnt_file) in [row[0] for row in system.mountinfo()]

    # -- life cycle ------------------------------------------------------------------------------
    def create(self, count, authorized_key, with_ovs):
        spec = {
            'hostname': self.name, 'etc_hosts': plan.etc_hosts(self.index, count), 'interfaces': plan.network_interfaces(self.index),
            'sysctl_conf': plan.sysctl_conf(), 'authorized_key': authorized_key, 'with_ovs': with_ovs,
            'machine_id': secrets.token_hex(16),
        }
        self.dir.mkdir(parents=True, exist_ok=True)
        spec_file = self.dir / 'provision.json'
        spec_file.write_text(json.dumps(spec), encoding='utf-8')
        self.power_on(provision=spec_file)

    def power_on(self, provision=None, wait=True):
        """Plug the node into the switch, build its namespaces and boot its services."""
        system.add_netns(self.namespace)
        switch = self.lab.switch_ns
        system.ip_in(switch, 'link', 'add', self.switch_port, 'type', 'veth', 'peer', 'name', self.uplink, 'netns', self.namespace)
        system.ip_in(self.namespace, 'link', 'set', self.uplink, 'address', self.mac)
        system.ip_in(switch, 'link', 'set', self.switch_port, 'master', plan.SWITCH_BRIDGE, 'up')
        system.tx_offload_off(switch, self.switch_port)
        system.tx_offload_off(self.namespace, self.uplink)
        for handle in (self.mnt_file, self.uts_file, self.pid_file):
            handle.touch()
        init = [sys.executable, '-m', 'lab.hosts.nodeinit', self.dir]
        if self.lab.base_layer:
            init += ['--base', self.lab.base_layer]
        if provision is not None:
            init += ['--provision', provision]
        system.run(['unshare', '--mount=%s' % self.mnt_file, '--uts=%s' % self.uts_file, '--propagation', 'private', '--',
                    'nsenter', '--net=%s' % system.netns_path(self.namespace), '--'] + init,
                   env=dict(system.NODE_ENV, PYTHONPATH=str(lab_package.ROOT)), cwd=str(lab_package.ROOT))
        self.start_init()
        self.boot_services(wait=wait)

    def start_init(self):
        """PID 1 of the node's own PID namespace (the namespace file is bound from here, the root
        mount namespace, so nsenter finds it; the init then joins the node's other namespaces)."""
        argv = ['unshare', '--pid=%s' % self.pid_file, '--fork', '--kill-child', '--',
                'nsenter', '--net=%s' % system.netns_path(self.namespace), '--mount=%s' % self.mnt_file, '--uts=%s' % self.uts_file,
                '--wd=/', '--', sys.executable, '-S', str(pathlib.Path(__file__).with_name('pid1.py'))]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                   env=dict(system.NODE_ENV, PYTHONPATH=str(lab_package.ROOT)), cwd=str(lab_package.ROOT),
                                   start_new_session=True)
        self._daemons.append(process)
        ready = process.stdout.readline()
        process.stdout.close()
        if ready.strip() != b'ready':
            raise LabError('%s: its init did not start (exit status %s)' % (self.name, process.poll()))

    def own_boot_scripts(self):
        """Start links of /etc/rcS.d that the node itself installed (they are on its own disk, not
        in the host image): ``(before networking, after networking)`` lists of link names."""
        directory = self.dir / 'upper' / 'etc' / 'rcS.d'
        early, late = [], []
        if not directory.is_dir():
            return early, late
        # Overlay whiteouts (deleted links) are character devices: only links and files count.
        for name in sorted(entry.name for entry in directory.iterdir()
                           if entry.name.startswith('S') and (entry.is_symlink() or entry.is_file())):
            script = self.exec(['cat', '/etc/rcS.d/%s' % name], check=False).stdout
            (early if plan.starts_before_networking(plan.lsb_header(script)) else late).append(name)
        return early, late

    def boot_services(self, wait=True):
        """What a Debian boot runs: sysctls, networking (ifupdown), Open vSwitch, sshd.

        The host image's own rcS scripts would touch the machine (hwclock, kmod, procps), so the
        lab runs its equivalents; start scripts the node installed into rcS are run as Debian's
        rc does, those whose LSB header says ``X-Start-Before: networking`` before ifupdown.
        Like a real boot, a failing step is logged (``boot.log`` in the node's dir, and
        ``boot_errors``) and the boot goes on; with *wait*, no SSH at the end is an error.
        """
        self.boot_errors = []
        early, late = self.own_boot_scripts()
        steps = [['sysctl', '-q', '-w'] + ['%s=%s' % item for item in plan.BOOT_SYSCTLS]]
        steps += [['/etc/rcS.d/%s' % name, 'start'] for name in early]
        steps.append(['ifup', '-a'])
        steps += [['/etc/rcS.d/%s' % name, 'start'] for name in late]
        if self.has_ovs():
            steps.append(['/etc/init.d/openvswitch-switch', 'start'])
        with open(self.dir / 'boot.log', 'a', encoding='utf-8') as log:
            log.write('--- boot at %s\n' % time.strftime('%Y-%m-%dT%H:%M:%S'))
            for argv in steps:
                result = self.exec(argv, check=False)
                log.write('$ %s (rc=%d)\n%s%s' % (' '.join(argv), result.returncode, result.stdout, result.stderr))
                if result.returncode != 0:
                    self.boot_errors.append('%s: rc=%d %s' % (' '.join(argv), result.returncode, result.stderr.strip()[-300:]))
        self.spawn(['/usr/sbin/sshd', '-D', '-e'], 'sshd.log')
        if wait:
            self.wait_for_ssh()

    def wait_for_ssh(self, timeout=BOOT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            probe = system.netns_exec(self.lab.controller_ns, [
                'socat', '-T', '1', '-u', 'TCP:%s:22,connect-timeout=1' % self.mgmt_ip, '-'], check=False, timeout=5)
            if probe.stdout.startswith('SSH-'):
                return
            if time.monotonic() > deadline:
                raise LabError('%s: sshd did not answer on %s:22 within %.0f s (see %s and %s)%s' % (
                    self.name, self.mgmt_ip, timeout, self.dir / 'boot.log', self.dir / 'sshd.log',
                    ''.join('; ' + error for error in self.boot_errors)))
            time.sleep(0.05)

    def host_key(self):
        return self.exec(['cat', '/etc/ssh/ssh_host_ed25519_key.pub']).stdout.split()[:2]

    def power_off(self):
        """Stop every process of the node (by PID), unplug it and drop its namespaces."""
        # SIGTERM first while the network is still there, so SSH sessions close cleanly and no
        # stale ControlPersist master is left hanging on a dead peer (pitfall 9).
        system.stop_processes(self.pids)
        for process in self._daemons:
            process.wait(timeout=5)
        self._daemons = []
        switch = self.lab.switch_ns
        if system.netns_exists(switch) and system.link_exists(switch, self.switch_port):
            system.ip_in(switch, 'link', 'delete', self.switch_port)
            system.wait_link_gone(switch, self.switch_port)
        for handle in (self.mnt_file, self.uts_file, self.pid_file):
            system.umount(handle)
        system.delete_netns(self.namespace)
        for vm in list(self.lab.vms.values()):
            if vm.node is self:
                vm.node_gone = True

    def reboot(self, wait=True):
        self.power_off()
        self.power_on(wait=wait)

    # -- looking at the node -----------------------------------------------------------------
    def network_state(self):
        """A snapshot of addresses, routes, links (with MACs) and OVS for exact comparisons."""
        state = plan.ip_snapshot(self.exec(['ip', '-j', 'addr', 'show']).stdout,
                                 self.exec(['ip', '-j', 'route', 'show', 'table', 'all']).stdout,
                                 self.exec(['ip', '-j', '-d', 'link', 'show']).stdout)
        state['ovs'] = self.ovs_state()
        return state

    def ovs_state(self):
        """Bridges, ports and interfaces with their settings; None when OVS is not running."""
        if self.exec(['ovs-vsctl', '--timeout=5', 'show'], check=False).returncode != 0:
            return None
        tables = {}
        for table, columns in (('Bridge', '_uuid,name,ports,datapath_type,fail_mode,other_config,external_ids'),
                               ('Port', '_uuid,name,interfaces,tag,trunks,vlan_mode,external_ids,other_config'),
                               ('Interface', '_uuid,name,type,options,mac,external_ids')):
            text = self.exec(['ovs-vsctl', '--timeout=5', '-f', 'json', '--columns=' + columns, 'list', table]).stdout
            tables[table] = plan.ovs_rows(text)
        return plan.ovs_snapshot(tables['Bridge'], tables['Port'], tables['Interface'])

    def memory_kib(self):
        return system.pss_kib(self.pids())


class VM:
    """A "VM": a network namespace whose eth0 is an access port on a node's OVS bridge."""

    def __init__(self, host_lab, node, name, bridge, vlan_tag, ip_cidr):
        self.lab = host_lab
        self.node = node
        self.name = name
        self.bridge = bridge
        self.vlan_tag = vlan_tag
        self.ip_cidr = str(ip_cidr)
        self.ip = str(ip_cidr.ip)
        self.namespace = plan.vm_namespace(host_lab.name, name)
        self.port = plan.vm_port(name)
        self.node_gone = False

    def __repr__(self):
        return '<VM %s on %s %s tag=%s>' % (self.name, self.node.name, self.ip_cidr, self.vlan_tag)

    def create(self):
        system.add_netns(self.namespace)
        try:
            system.ip_in(self.namespace, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', self.port, 'netns', self.node.namespace)
            system.tx_offload_off(self.namespace, 'eth0')
            self.node.exec(['ethtool', '-K', self.port, 'tx', 'off'])
            self.node.exec(['ip', 'link', 'set', self.port, 'up'])
            port_args = ['ovs-vsctl', '--timeout=10', 'add-port', self.bridge, self.port]
            if self.vlan_tag is not None:
                port_args += ['tag=%d' % self.vlan_tag]
            self.node.exec(port_args + ['--', 'set', 'Interface', self.port, 'external_ids:vmnet-lab-vm=%s' % self.name])
            system.ip_in(self.namespace, 'addr', 'add', self.ip_cidr, 'dev', 'eth0')
            system.ip_in(self.namespace, 'link', 'set', 'eth0', 'up')
        except Exception:
            self.remove()
            raise

    def exec(self, argv, check=True, input=None, timeout=60):  # pylint: disable=redefined-builtin
        return system.netns_exec(self.namespace, argv, check=check, input=input, timeout=timeout)

    def ping(self, address, count=2, timeout=2):
        """True when *address* answers from inside this VM."""
        return self.exec(['ping', '-q', '-n', '-c', str(count), '-W', str(timeout), '-i', '0.2', address], check=False).returncode == 0

    def remove(self):
        if not self.node_gone and self.node.is_up():
            self.node.exec(['ovs-vsctl', '--timeout=10', '--if-exists', 'del-port', self.port], check=False)
        if system.netns_exists(self.namespace):
            system.stop_processes(lambda: system.processes_in([system.ns_inode(system.netns_path(self.namespace))]))
            system.ip_in(self.namespace, 'link', 'delete', 'eth0', check=False)
            system.delete_netns(self.namespace)
        self.lab.vms.pop(self.name, None)


class PingGapMonitor:
    """Pings a node's management IP every few ms from the controller side; see ``result``."""

    def __init__(self, host_lab, node, interval=0.005):
        self.lab = host_lab
        self.node = node
        self.interval = interval
        self.result = None
        self.reply_times = []
        self._process = None
        self._started = None
        self._output = []
        self._reader = None

    def __enter__(self):
        argv = ['ip', 'netns', 'exec', self.lab.controller_ns, 'ping', '-n', '-D', '-O', '-W', '1',
                '-i', '%.3f' % self.interval, self.node.mgmt_ip]
        self._process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,  # pylint: disable=consider-using-with
                                         env=system.NODE_ENV)
        self._started = time.time()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self):
        for line in self._process.stdout:
            self._output.append(line)

    def __exit__(self, *exc):
        stopped = time.time()
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)
        output = ''.join(self._output)
        self.result = plan.ping_gaps(output, self._started, stopped)
        self.reply_times = plan.reply_times(output)
        return False

    def gap_during(self, start, end):
        """Longest silence (ms) overlapping [start, end] (epoch seconds), e.g. one node's uplink move."""
        return plan.window_gap_ms(self.reply_times, start, end)

    @property
    def longest_gap_ms(self):
        return self.result['longest_gap_ms']

    @property
    def lost(self):
        return self.result['lost']


class HostLab:
    """A lab of N nodes. Use ``HostLab.create(...)`` / ``HostLab.load(name)``, then ``destroy()``."""

    def __init__(self, name, count, with_ovs=True):
        self.name = plan.check_lab_name(name)
        self.count = plan.check_node_count(count)
        self.with_ovs = with_ovs
        self.dir = HOSTS_RUN_DIR / name
        self.ns_dir = self.dir / 'ns'
        self.switch_ns = plan.switch_namespace(name)
        self.controller_ns = plan.controller_namespace(name)
        self.key_file = self.dir / 'id_ed25519'
        self.known_hosts = self.dir / 'known_hosts'
        self.inventory = self.dir / 'inventory.yml'
        self.ansible_dir = self.dir / 'ansible'
        self.nodes = [Node(self, index) for index in range(1, count + 1)]
        self.vms = {}
        self._vm_counter = 0
        self.apt_repo = None
        self.base_layer = None
        self.owner = None

    def __repr__(self):
        return '<HostLab %s nodes=%d>' % (self.name, self.count)

    # -- creation ----------------------------------------------------------------------------
    @classmethod
    def create(cls, count, with_ovs=True, name=None, owner_pid=None):
        """Start a lab. With *owner_pid*, the lab is ephemeral: once that process is gone (a test
        run killed before its teardown), ``reap_orphans()`` removes the lab."""
        name = name or 't' + secrets.token_hex(3)
        host_lab = cls(name, count, with_ovs=with_ovs)
        if owner_pid is not None:
            host_lab.owner = {'pid': owner_pid, 'start': system.process_start_time(owner_pid)}
        if host_lab.dir.exists():
            raise LabError('lab %r already exists in %s; run `python -m lab hosts down --name %s` first' % (name, host_lab.dir, name))
        try:
            host_lab.up()
        except BaseException:
            host_lab.destroy()
            raise
        return host_lab

    @classmethod
    def load(cls, name):
        state_file = HOSTS_RUN_DIR / plan.check_lab_name(name) / STATE_FILE
        if not state_file.exists():
            raise LabError('no lab named %r (no %s)' % (name, state_file))
        state = json.loads(state_file.read_text(encoding='utf-8'))
        host_lab = cls(state['name'], state['count'], with_ovs=state['with_ovs'])
        host_lab.apt_repo = state.get('apt_repo')
        host_lab.base_layer = state.get('base_layer')
        host_lab.owner = state.get('owner')
        return host_lab

    def save(self):
        state = {'name': self.name, 'count': self.count, 'with_ovs': self.with_ovs, 'apt_repo': self.apt_repo,
                 'base_layer': self.base_layer, 'owner': self.owner, 'inventory': str(self.inventory), 'namespaces': self.namespaces()}
        (self.dir / STATE_FILE).write_text(json.dumps(state, indent=2) + '\n', encoding='utf-8')

    def up(self):
        self.dir.mkdir(parents=True)
        self.ansible_dir.mkdir()
        (self.ansible_dir / 'cp').mkdir()
        (self.ansible_dir / 'tmp').mkdir()
        self.save()
        system.make_private_bind(self.ns_dir)
        system.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'vmnet-lab-%s' % self.name, '-f', self.key_file])
        authorized_key = self.key_file.with_suffix('.pub').read_text(encoding='utf-8').strip()
        if not self.with_ovs:
            layer, repo = image.ovs_free_layer(HOSTS_RUN_DIR)
            self.base_layer, self.apt_repo = str(layer), str(repo)
            self.save()
        self._build_switch()
        with ThreadPoolExecutor(max_workers=min(8, self.count)) as pool:
            list(pool.map(lambda node: node.create(self.count, authorized_key, self.with_ovs), self.nodes))
        self.write_known_hosts()
        self.inventory.write_text(plan.inventory_text(self.name, self.count, self.key_file, self.known_hosts, self.ansible_dir / 'cp'),
                                  encoding='utf-8')

    def _build_switch(self):
        system.add_netns(self.switch_ns)
        system.ip_in(self.switch_ns, 'link', 'add', plan.SWITCH_BRIDGE, 'type', 'bridge')
        system.ip_in(self.switch_ns, 'addr', 'add', '%s/%d' % (plan.GATEWAY, plan.SUBNET.prefixlen), 'dev', plan.SWITCH_BRIDGE)
        system.ip_in(self.switch_ns, 'link', 'set', plan.SWITCH_BRIDGE, 'up')
        system.add_netns(self.controller_ns)
        system.ip_in(self.switch_ns, 'link', 'add', 'ctl', 'type', 'veth', 'peer', 'name', 'ctl0', 'netns', self.controller_ns)
        system.ip_in(self.switch_ns, 'link', 'set', 'ctl', 'master', plan.SWITCH_BRIDGE, 'up')
        system.ip_in(self.controller_ns, 'addr', 'add', '%s/%d' % (plan.CONTROLLER_IP, plan.SUBNET.prefixlen), 'dev', 'ctl0')
        system.ip_in(self.controller_ns, 'link', 'set', 'ctl0', 'up')
        system.ip_in(self.controller_ns, 'route', 'add', 'default', 'via', plan.GATEWAY)
        system.tx_offload_off(self.switch_ns, 'ctl')
        system.tx_offload_off(self.controller_ns, 'ctl0')

    def write_known_hosts(self):
        lines = ['%s %s' % (node.mgmt_ip, ' '.join(node.host_key())) for node in self.nodes]
        self.known_hosts.write_text('\n'.join(lines) + '\n', encoding='utf-8')

    # -- teardown ----------------------------------------------------------------------------
    def orphaned(self):
        """True for an ephemeral lab whose owning process has gone (PID reuse is told apart by
        the process start time)."""
        if not self.owner:
            return False
        return system.process_start_time(self.owner['pid']) != self.owner['start']

    def _controller_pids(self):
        return system.processes_in([system.ns_inode(system.netns_path(self.controller_ns))])

    def namespaces(self):
        return [self.switch_ns, self.controller_ns] + [node.namespace for node in self.nodes]

    def destroy(self):
        """Stop everything by PID, drop every namespace and mount, remove the lab's directory."""
        errors = []
        for vm in list(self.vms.values()):
            _collect(errors, vm.remove)
        for vm_ns in system.netns_names(plan.namespace_prefix(self.name) + '-vm-'):
            _collect(errors, system.stop_processes, lambda ns=vm_ns: system.processes_in([system.ns_inode(system.netns_path(ns))]))
            _collect(errors, system.delete_netns, vm_ns)
        for node in self.nodes:
            _collect(errors, node.power_off)
        _collect(errors, system.stop_processes, self._controller_pids)
        if system.netns_exists(self.switch_ns):
            _collect(errors, system.ip_in, self.switch_ns, 'link', 'delete', 'ctl', check=False)
        for namespace in (self.controller_ns, self.switch_ns):
            _collect(errors, system.delete_netns, namespace)
        for mount_point in sorted(system.mounts_under(self.dir), key=len, reverse=True):
            _collect(errors, system.umount, mount_point)
        if not system.mounts_under(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise LabError('teardown of lab %s: %s' % (self.name, '; '.join(errors)))

    def leftovers(self, inodes=None):
        """What of this lab still exists: namespaces, mounts, processes (by namespace inode)."""
        found = {'namespaces': system.netns_names(plan.namespace_prefix(self.name) + '-'),
                 'mounts': system.mounts_under(self.dir),
                 'processes': system.processes_in(inodes or [])}
        return {key: value for key, value in found.items() if value}

    def namespace_inodes(self):
        inodes = [system.ns_inode(system.netns_path(namespace)) for namespace in self.namespaces()]
        for node in self.nodes:
            inodes += node.namespace_inodes()
        return [inode for inode in inodes if inode]

    # -- Ansible -----------------------------------------------------------------------------
    def ansible_env(self, base=None):
        env = dict(os.environ if base is None else base)
        env.update({
            'ANSIBLE_CONFIG': str(lab_package.ROOT / 'ansible.cfg'),
            'ANSIBLE_HOME': str(self.ansible_dir),
            'ANSIBLE_LOCAL_TEMP': str(self.ansible_dir / 'tmp'),
            'ANSIBLE_SSH_CONTROL_PATH_DIR': str(self.ansible_dir / 'cp'),
            'ANSIBLE_HOST_KEY_CHECKING': 'True',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        })
        return env

    def ansible_bin(self, tool):
        candidate = pathlib.Path(sys.executable).parent / tool
        return candidate if candidate.exists() else lab_package.ROOT / '.venv' / 'bin' / tool

    def run_playbook(self, path, extra_vars=None, check=False, diff=False, limit=None, tags=None, verbosity=0, timeout=900):
        argv = [str(self.ansible_bin('ansible-playbook')), '-i', str(self.inventory), str(path)]
        if extra_vars:
            argv += ['-e', json.dumps(extra_vars)]
        if check:
            argv.append('--check')
        if diff:
            argv.append('--diff')
        if limit:
            argv += ['--limit', limit if isinstance(limit, str) else ','.join(limit)]
        if tags:
            argv += ['--tags', tags if isinstance(tags, str) else ','.join(tags)]
        if verbosity:
            argv.append('-' + 'v' * verbosity)
        completed = subprocess.run(argv, capture_output=True, text=True, env=self.ansible_env(), cwd=str(lab_package.ROOT),
                                   timeout=timeout, check=False)
        return PlaybookResult(argv, completed)

    def run_ansible(self, pattern, module, args=None, timeout=300):
        argv = [str(self.ansible_bin('ansible')), '-i', str(self.inventory), pattern, '-m', module]
        if args:
            argv += ['-a', args if isinstance(args, str) else json.dumps(args)]
        return subprocess.run(argv, capture_output=True, text=True, env=self.ansible_env(), cwd=str(lab_package.ROOT),
                              timeout=timeout, check=False)

    # -- faults and helpers ------------------------------------------------------------------
    def node(self, index):
        if not isinstance(index, int) or not 1 <= index <= self.count:
            raise LabError('node index %r: must be 1..%d (nodes are numbered from 1)' % (index, self.count))
        return self.nodes[index - 1]

    def reboot(self, index, wait=True):
        """Power-cycle node *index*: it comes back from what it persisted on its disk.

        With *wait* (default) it returns once the node's sshd answers and raises LabError if it
        does not; ``wait=False`` returns after the boot steps (e.g. to test a node that persisted
        a broken network configuration; see ``node.boot_errors``).
        """
        self.node(index).reboot(wait=wait)

    def cut_uplink(self, index):
        """Shut the node's port on the switch (the node sees its uplink lose carrier)."""
        system.ip_in(self.switch_ns, 'link', 'set', self.node(index).switch_port, 'down')

    def restore_uplink(self, index):
        system.ip_in(self.switch_ns, 'link', 'set', self.node(index).switch_port, 'up')

    def gateway_down(self):
        """The gateway stops answering (its address leaves the switch); nodes stay connected."""
        system.ip_in(self.switch_ns, 'addr', 'del', '%s/%d' % (plan.GATEWAY, plan.SUBNET.prefixlen), 'dev', plan.SWITCH_BRIDGE,
                     check=False)

    def gateway_up(self):
        system.ip_in(self.switch_ns, 'addr', 'replace', '%s/%d' % (plan.GATEWAY, plan.SUBNET.prefixlen), 'dev', plan.SWITCH_BRIDGE)

    def add_vm(self, node_index, bridge, vlan_tag, ip_cidr, name=None):
        node = self.node(node_index)
        plan.check_vlan_tag(vlan_tag)
        interface = plan.check_cidr(ip_cidr)
        if name is None:
            self._vm_counter += 1
            name = 'v%d' % self._vm_counter
        plan.check_vm_name(name)
        if name in self.vms:
            raise LabError('VM %r already exists in lab %s' % (name, self.name))
        vm = VM(self, node, name, bridge, vlan_tag, interface)
        self.vms[name] = vm
        try:
            vm.create()
        except Exception:
            self.vms.pop(name, None)
            raise
        return vm

    def ping_gap_monitor(self, node_index, interval=0.005):
        return PingGapMonitor(self, self.node(node_index), interval=interval)

    def status(self):
        rows = []
        for node in self.nodes:
            up = node.is_up()
            row = {'name': node.name, 'ip': node.mgmt_ip, 'namespace': node.namespace, 'up': up}
            if up:
                pids = node.pids()
                row.update({'processes': len(pids), 'memory_kib': system.pss_kib(pids), 'ovs': node.has_ovs(),
                            'ovs_running': node.exec(['ovs-vsctl', '--timeout=2', 'show'], check=False).returncode == 0})
            rows.append(row)
        return {'name': self.name, 'inventory': str(self.inventory), 'switch': system.netns_exists(self.switch_ns),
                'apt_repo': self.apt_repo, 'nodes': rows}


def _collect(errors, function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except Exception as error:  # pylint: disable=broad-exception-caught
        errors.append('%s: %s' % (getattr(function, '__name__', function), error))


def existing_labs():
    if not HOSTS_RUN_DIR.is_dir():
        return []
    return sorted(entry.name for entry in HOSTS_RUN_DIR.iterdir() if (entry / STATE_FILE).exists())


def reap_orphans():
    """Destroy ephemeral labs whose owner process is gone; returns their names."""
    reaped = []
    for name in existing_labs():
        try:
            candidate = HostLab.load(name)
        except (LabError, ValueError, OSError):
            continue
        if candidate.orphaned():
            try:
                candidate.destroy()
            except LabError:
                # Another run may be reaping it at the same moment; what is left, it removes.
                continue
            reaped.append(name)
    return reaped


@contextlib.contextmanager
def host_lab(count, with_ovs=True, name=None):
    """A lab of one's own for the duration of a with-block (ephemeral: owned by this process)."""
    reap_orphans()
    created = HostLab.create(count, with_ovs=with_ovs, name=name, owner_pid=os.getpid())
    try:
        yield created
    finally:
        created.destroy()
