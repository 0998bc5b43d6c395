# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ovs_bridge flow: params -> validate -> read once (OVSDB, links, routes, files) -> preflight
-> plan -> check/diff, or apply (directly, or commit-confirmed by a detached agent) -> result.

``run`` is the contract every module family keeps: it takes the module's parameters and a
factory of the host seam (``_ovs.HostIO`` or a fake), never exits, and returns the result dict
(``failed`` and ``msg`` set when it refused or failed). Every command and every file goes
through the seam. Standard library only, Python 3.9+ (runs on the nodes).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time
import uuid

from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostCommandError
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_boot import DEFAULT_OVSDB
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_commit import (
    JOB_ROOT, commit, install_boot_hook, prune_finished, run_change, start_detached, rollback, write_state)
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_persist import (
    IFUPDOWN_MAIN, PersistError, choose_persist, persist_facts, persistence_files, restore_ifupdown_stanzas)
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import (
    PreflightError, addresses_of, gateways, move_lines, preflight, restore_lines, routes_of,
    target_state, transaction_argv, transaction_commands, unsafe_host_values)
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import OvsSpecError, normalize_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import nothing_written

NM_CONNECTIONS = '/etc/NetworkManager/system-connections'


class RunFailed(Exception):
    """Ends a run with ``result`` (failed and msg set); raised only inside this flow."""

    def __init__(self, result):
        super(RunFailed, self).__init__(result['msg'])
        self.result = result


def failure(msg, **extra):
    result = dict(extra, failed=True, msg=msg)
    result.setdefault('changed', False)
    return result


def run(params, host_io_factory, check_mode=False, diff=False):
    """One ovs_bridge run; nothing on the host is touched before validation and preflight pass."""
    try:
        spec = normalize_spec(params)
    except OvsSpecError as error:
        return nothing_written(error.errors)
    try:
        return BridgeRun(host_io_factory(), check_mode, diff).execute(spec)
    except RunFailed as failed:
        return failed.result
    except (PreflightError, PersistError) as error:
        return failure('refused before any change: %s' % error, errors=getattr(error, 'errors', [str(error)]))
    except HostCommandError as error:
        return failure(str(error), rc=error.rc, stderr=error.stderr)


def ovsdb_file(io):
    """The OVSDB file ovs-vsctl's server serves (OVS_DBDIR as Open vSwitch's own tools read it)."""
    directory = io.getenv('OVS_DBDIR')
    return os.path.join(directory, 'conf.db') if directory else DEFAULT_OVSDB


def _cidrs(addresses):
    return ['%s/%d' % (address['local'], address['prefixlen']) for address in addresses]


def _route_text(route):
    text = route.get('dst', 'default')
    if route.get('gateway'):
        text += ' via %s' % route['gateway']
    return text


def _network_view(state, addresses, routes, files):
    return {'bridge': state, 'addresses': _cidrs(addresses), 'routes': [_route_text(r) for r in routes], 'files': files}


class BridgeRun:
    """One module run: read once, plan, then apply (directly or commit-confirmed)."""

    def __init__(self, io, check_mode=False, diff=False):
        self.io, self.check_mode, self.diff = io, check_mode, diff
        self.ovs_installed = True
        self.result = {'changed': False, 'warnings': [], 'bridge': None, 'commands': [], 'ip_batch': [],
                       'rollback': {'commands': [], 'ip_batch': []},
                       'moved': {'from': [], 'to': None, 'addresses': [], 'routes': []},
                       'persist': {'method': 'none', 'files': []}, 'commit': {'status': 'not-needed'}}

    def fail(self, msg, **extra):
        result = dict(self.result, **extra)
        raise RunFailed(failure(msg, **result))

    def read_ovsdb(self):
        """The OVSDB as it is; in check mode a node without a running Open vSwitch (the ovs role
        would install or start it first) plans against an empty database instead of failing."""
        try:
            return self.io.read_ovsdb()
        except HostCommandError as error:
            if not self.check_mode:
                self.fail('reading OVSDB failed: %s (is Open vSwitch installed and running? the vmnet.kubevirt.ovs role '
                          'installs and starts it)' % error)
            self.result['warnings'].append('Open vSwitch does not answer on this node yet (%s): planned against an empty Open vSwitch '
                                           'database, as after the vmnet.kubevirt.ovs role has installed it' % error)
            self.ovs_installed = False
            return {}, {}

    def plan(self, spec):
        bridges, owners = self.read_ovsdb()
        links, routes = self.io.read_network()
        facts = preflight(spec, bridges, owners, links=links, ip_addr=links, routes=routes)
        name = spec['name']
        current = bridges.get(name)
        target = target_state(current, spec, facts['uplink_mac'] if spec['uplink'] else None)
        bridge_addresses = addresses_of(links, [name]) if current else []
        bridge_routes = routes_of(routes, [name]) if current else []
        move = {'sources': facts['sources'], 'destination': name, 'addresses': facts['addresses'],
                'routes': facts['routes']}
        if spec['state'] == 'absent' and current and bridge_addresses:
            uplink = spec['uplink']
            if not uplink or not uplink['interface']:
                raise PreflightError(['state: absent would drop the addresses %s of bridge %r; give uplink.interface to '
                                      'move them back onto the NIC, or remove them first' % (', '.join(_cidrs(bridge_addresses)), name)])
            move = {'sources': [name], 'destination': uplink['interface'], 'addresses': bridge_addresses,
                    'routes': bridge_routes}
            unsafe = unsafe_host_values('name: %r' % name, bridge_addresses, bridge_routes)
            if unsafe:
                raise PreflightError(unsafe)
        moving = bool(move['addresses'] or move['routes'])
        forward_ip = move_lines(move['addresses'], move['routes'], move['sources'], move['destination']) if moving else []
        rollback_ip = restore_lines(move['addresses'], move['routes'], move['destination']) if moving else []
        if moving and spec['state'] == 'present':
            final_addresses = [dict(a, dev=name) for a in move['addresses']] + bridge_addresses
            final_routes = [dict(r, dev=name) for r in move['routes']] + bridge_routes
        else:
            final_addresses, final_routes = bridge_addresses, bridge_routes
        commands = transaction_commands(name, current, target)
        uplink_port = spec['uplink']['port'] if spec['uplink'] and spec['state'] == 'present' else None
        files, method = self.plan_files(spec, target, uplink_port, final_addresses, final_routes)
        # Risky: addresses move, or the uplink port (the node's path) is added or changed.
        risky = moving or bool(uplink_port and (current or {}).get('ports', {}).get(uplink_port)
                               != (target or {}).get('ports', {}).get(uplink_port))
        return {
            'current': current, 'target': target, 'commands': commands, 'forward_ip': forward_ip,
            'rollback_ip': rollback_ip,
            # The rollback is the same reconcile, from the new state back to the old one.
            'rollback_commands': transaction_commands(name, current=target, target=current),
            'move': move, 'moving': moving, 'files': files, 'method': method, 'risky': risky,
            'gateways': gateways(move['routes']),
            'before': _network_view(current, bridge_addresses if not moving or spec['state'] == 'absent' else move['addresses'],
                                    bridge_routes if not moving or spec['state'] == 'absent' else move['routes'],
                                    dict((f['path'], f['old']) for f in files)),
            'after': _network_view(target, final_addresses if spec['state'] == 'present' else [],
                                   final_routes if spec['state'] == 'present' else [],
                                   dict((f['path'], f['content']) for f in files)),
        }

    def plan_files(self, spec, target, uplink_port, addresses, routes):
        name = spec['name']
        if spec['state'] == 'absent':
            owned = ['/etc/network/interfaces.d/vmnet-%s' % name, '/etc/netplan/60-vmnet-%s.yaml' % name]
            owned += [os.path.join(NM_CONNECTIONS, n) for n in self.io.list_dir(NM_CONNECTIONS)
                      if n.startswith('vmnet-%s-' % name) or n == 'vmnet-%s.nmconnection' % name]
            files = [{'path': path, 'content': None, 'old': self.io.read_text(path)} for path in owned if self.io.exists(path)]
            main_text = self.io.read_text(IFUPDOWN_MAIN)
            restored = restore_ifupdown_stanzas(main_text, name)
            if restored != main_text:
                # The NIC's own stanzas come back, so it gets its addresses at the next boot.
                files.append({'path': IFUPDOWN_MAIN, 'content': restored, 'old': main_text, 'mode': 0o644})
            return files, 'none'
        if spec['persist'] == 'none' or (spec['persist'] == 'auto' and not uplink_port and not addresses):
            return [], 'none'
        method = choose_persist(spec['persist'], persist_facts(self.io.paths_exist, self.ovs_installed))
        main_text = self.io.read_text(IFUPDOWN_MAIN) if method == 'ifupdown' else None
        files = []
        for item in persistence_files(method, name, target, uplink_port, addresses, routes, main_text):
            old = self.io.read_text(item['path'])
            if old != item['content']:
                item['old'] = old
                files.append(item)
        return files, method

    def execute(self, spec):
        check_mode = self.check_mode
        plan = self.plan(spec)
        argv = transaction_argv(plan['commands'])
        rollback_argv = transaction_argv(plan['rollback_commands'])
        self.result.update(
            bridge=plan['target'], commands=argv, ip_batch=plan['forward_ip'],
            rollback={'commands': rollback_argv, 'ip_batch': plan['rollback_ip']},
            moved={'from': plan['move']['sources'] if plan['moving'] else [],
                   'to': plan['move']['destination'] if plan['moving'] else None,
                   'addresses': _cidrs(plan['move']['addresses']) if plan['moving'] else [],
                   'routes': [_route_text(r) for r in plan['move']['routes']] if plan['moving'] else []},
            persist={'method': plan['method'], 'files': [f['path'] for f in plan['files']]},
        )
        changed = bool(argv or plan['forward_ip'] or plan['files'])
        self.result['changed'] = changed
        if self.diff:
            self.result['diff'] = {'before': plan['before'], 'after': plan['after']}
        if not changed or check_mode:
            return self.result
        files = [{'path': f['path'], 'content': f['content'], 'mode': f.get('mode', 0o644)}
                 for f in plan['files'] if f['content'] is not None]
        removed = [f['path'] for f in plan['files'] if f['content'] is None]
        change = {'forward_ovs': argv, 'forward_ip': plan['forward_ip'], 'rollback_ovs': rollback_argv,
                  'rollback_ip': plan['rollback_ip'], 'files': files, 'probes': spec['probes'],
                  'gateways': plan['gateways'], 'ip_first': spec['state'] == 'absent', 'remove': removed,
                  # What the boot-time rollback puts back: each file as it was, and the database.
                  'restore': [{'path': f['path'], 'content': f['old'], 'mode': self.io.file_mode(f['path'])} for f in plan['files']],
                  'ovsdb': ovsdb_file(self.io)}
        if not plan['risky']:
            self.apply_directly(change)
            return self.result
        self.apply_guarded(spec, change)
        return self.result

    def apply_directly(self, change):
        try:
            self.io.ovs_transaction(change['forward_ovs'])
        except HostCommandError as error:
            # ovs-vsctl can report an error and still keep a new bridge (unsupported datapath).
            rollback(self.io, change)
            self.fail('ovs-vsctl failed, previous state restored: %s' % error)
        commit(change, self.io)
        self.result['commit'] = {'status': 'committed', 'token': None, 'probes': []}

    def apply_guarded(self, spec, change):
        prune_finished(files=self.io)
        try:
            # Before anything changes: a power loss inside the window is rolled back at boot.
            install_boot_hook(self.io, self.io.python())
        except (OSError, HostCommandError) as error:
            self.fail('refused before any change: the boot-time rollback of unconfirmed changes could not be '
                      'installed: %s' % error)
        token = uuid.uuid4().hex
        directory = os.path.join(JOB_ROOT, token)
        self.io.make_dir(directory, 0o700)
        self.io.write_atomic(os.path.join(directory, 'plan.json'), json.dumps(change, sort_keys=True), 0o600)
        confirm_timeout = spec['confirm_timeout']
        write_state(directory, {'status': 'starting', 'started_at': time.time()}, self.io)
        # The confirmation must come over another SSH connection than the one that started this.
        self.io.write_atomic(os.path.join(directory, 'started_by'), self.io.getenv('SSH_CONNECTION'), 0o600)

        def work(report):
            run_change(self.io, change, directory, report, confirm_timeout, files=self.io)

        state = start_detached(work, os.path.join(directory, 'agent.log'))
        if state is None:
            self.fail('the commit-confirm agent stopped without a word; see %s/agent.log' % directory)
        self.result['commit'] = {'status': state['status'], 'token': token, 'probes': state.get('probes', []),
                                 'reason': state.get('reason'), 'confirm_timeout': confirm_timeout}
        if state['status'] != 'waiting-confirm' and state['status'] != 'committed':
            self.fail('%s: the node restored its previous state (%s)' % (spec['name'], state.get('reason')),
                      changed=False)
