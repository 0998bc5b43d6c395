# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smaller host flows, each ``run(params, host_io_factory, check_mode, diff) -> result dict``:
``host_info`` (ovs_host_info), ``fabric_port`` (ovs_fabric_port), ``bridge_info``
(ovs_bridge_info) and ``confirm`` (ovs_bridge_confirm).

They touch the host only through the seam ``_ovs.HostIO`` (commands and files), never exit,
and report a refusal as ``failed`` with ``msg``; refused input as ``_problems.nothing_written``
(every problem under ``problems``), before the host is read. Standard library only, Python 3.9+.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ovs_host
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs import HostCommandError
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_commit import job_dir, pending_tokens, read_state
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_plan import addresses_of, routes_of, transaction_argv
from ansible_collections.vmnet.kubevirt.plugins.module_utils._ovs_validate import fabric_port_problems, valid_ifname
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import Problems, nothing_written, problem

PACKAGE_NAME_RULE = 'a package name (letters, digits and + . _ @ : -, starting with a letter or digit)'
NETWORKMANAGER_CHOICES = {'auto': 'auto', 'true': 'true', 'yes': 'true', 'false': 'false', 'no': 'false'}
OS_RELEASE_FILES = ('/etc/os-release', '/usr/lib/os-release')


def _failed(msg, **extra):
    return dict(extra, failed=True, changed=extra.get('changed', False), msg=msg)


# ovs_host_info ---------------------------------------------------------------------------

def input_problems(params):
    """Messages naming the field, the value and the rule; nothing is read when there is one."""
    problems = Problems()
    names = [('rhel_package', params['rhel_package'])]
    names += [('extra_packages[%d]' % index, name) for index, name in enumerate(params['extra_packages'])]
    for field, name in names:
        if not _ovs_host.valid_package_name(name):
            problems.add(field, name, 'is not %s' % PACKAGE_NAME_RULE)
    if str(params['networkmanager']).lower() not in NETWORKMANAGER_CHOICES:
        problems.add('networkmanager', params['networkmanager'], 'must be auto, true or false')
    return problems.items


def read_host(io, params):
    """Everything ovs_host_info returns, from the host seam ``io``."""
    os_release = next((text for text in (io.read_text(path) for path in OS_RELEASE_FILES) if text), '')
    facts = _ovs_host.distribution_facts(_ovs_host.parse_os_release(os_release))
    nm_running = io.networkmanager_running()
    plan, problem = _ovs_host.choose_packages(facts, nm_running, NETWORKMANAGER_CHOICES[str(params['networkmanager']).lower()],
                                              params['extra_packages'], params['rhel_package'])
    database = _ovs_host.PACKAGE_DB.get(facts['os_family'])
    packages = plan['packages'] if plan else []
    installed = io.installed_packages(database, packages)
    manager = io.service_manager()
    service = {'name': plan['service'], 'enabled': io.service_enabled(manager, plan['service'])} if plan else {'name': None, 'enabled': None}
    ovsdb, vswitchd, version = io.ovs_running(params['db_socket'])
    running = ovsdb and vswitchd
    if plan:
        todo = _ovs_host.work_left(plan, installed, service['enabled'], running, params['install'], params['service_enabled'])
    else:
        todo = {'missing': [], 'start': False, 'needed': True}
    return {
        'facts': facts, 'networkmanager_running': nm_running, 'plan': plan, 'problem': problem,
        'package_database': database, 'packages': dict((name, installed.get(name)) for name in packages),
        'service_manager': manager, 'service': service,
        'ovs': {'ovsdb': ovsdb, 'vswitchd': vswitchd, 'running': running, 'version': version, 'db_socket': params['db_socket']},
        'todo': todo,
    }


def host_info(params, host_io_factory, check_mode=False, diff=False):
    problems = input_problems(params)
    if problems:
        return nothing_written(problems)
    return dict(read_host(host_io_factory(), params), changed=False)


# ovs_fabric_port -------------------------------------------------------------------------

def test_address(cidr, index):
    """Host number ``index + 1`` of ``cidr`` with its prefix length, e.g. ``198.18.250.2/24``."""
    network = ipaddress.ip_network(cidr, strict=True)
    if index < 0 or index + 2 > network.num_addresses:
        raise ValueError('host_index: %r does not fit in cidr %s' % (index, cidr))
    return '%s/%d' % (network.network_address + index + 1, network.prefixlen)


def fabric_port(params, host_io_factory, check_mode=False, diff=False):
    """The fabric test port on ``bridge``: present with its address (then ping the peers), or absent."""
    problems = fabric_port_problems(params)
    if problems:
        return nothing_written(problems)
    address = test_address(params['cidr'], params['host_index'])
    peers = dict((name, test_address(params['cidr'], index).split('/')[0]) for name, index in params['peers'].items())
    io = host_io_factory()
    bridges, owners = io.read_ovsdb()
    if params['bridge'] not in bridges:
        return _failed('bridge: %r does not exist on this node' % params['bridge'], address=address, reachability={})
    exists = owners.get(params['name']) == params['bridge']
    if owners.get(params['name']) not in (None, params['bridge']):
        return _failed('name: %r is a port of bridge %r' % (params['name'], owners[params['name']]))
    result = {'changed': False, 'address': address, 'reachability': {}}
    if params['state'] == 'absent':
        result['changed'] = exists
        if exists and not check_mode:
            io.ovs_transaction(transaction_argv([['--if-exists', 'del-port', params['bridge'], params['name']]]))
        return result
    links, _routes = io.read_network()
    has_address = any(info.get('local') == address.split('/')[0] for link in links if link.get('ifname') == params['name']
                      for info in link.get('addr_info', []))
    if not exists or not has_address:
        result['changed'] = True
        if not check_mode:
            try:
                io.ovs_transaction(transaction_argv([
                    ['--may-exist', 'add-port', params['bridge'], params['name'], 'tag=%d' % params['vlan']],
                    ['set', 'Interface', params['name'], 'type=internal']]))
                rc, _out, err = io.ip_batch(['address replace %s dev %s' % (address, params['name']),
                                             'link set dev %s up' % params['name']])
                if rc != 0:
                    return _failed('could not address the test port: %s' % err.strip(), **result)
            except HostCommandError as error:
                return _failed(str(error), **result)
    if peers and not check_mode:
        def probe(item):
            return item[0], io.ping_from(params['name'], item[1], params['count'], params['wait'])
        with ThreadPoolExecutor(max_workers=min(16, len(peers))) as pool:
            result['reachability'] = dict(pool.map(probe, sorted(peers.items())))
    return result


# ovs_bridge_info -------------------------------------------------------------------------

def bridge_info(params, host_io_factory, check_mode=False, diff=False):
    name = params['name']
    if name is not None and not valid_ifname(name):
        return nothing_written([problem('name', name, 'is not a valid interface name')])
    io = host_io_factory()
    try:
        bridges, _owners = io.read_ovsdb()
        links, routes = io.read_network()
    except HostCommandError as error:
        return _failed(str(error))
    result = {}
    for bridge, state in sorted(bridges.items()):
        if name is not None and bridge != name:
            continue
        state = dict(state)
        state['addresses'] = ['%s/%d' % (a['local'], a['prefixlen']) for a in addresses_of(links, [bridge])]
        state['routes'] = ['%s%s' % (r.get('dst', 'default'), ' via %s' % r['gateway'] if r.get('gateway') else '')
                           for r in routes_of(routes, [bridge])]
        result[bridge] = state
    return {'changed': False, 'bridges': result, 'pending': pending_tokens(files=io)}


# ovs_bridge_confirm ----------------------------------------------------------------------

def confirm(params, host_io_factory, check_mode=False, diff=False, clock=time.monotonic, sleep=time.sleep):
    """Write the confirmation of a waiting change and wait until the node has committed it."""
    try:
        directory = job_dir(params['token'])
    except ValueError as error:
        return nothing_written([str(error)])
    io = host_io_factory()
    state = read_state(directory, io)
    if state is None:
        return _failed('token: %r names no change on this node (it may have rebooted since)' % params['token'])
    if state['status'] == 'committed':
        return {'changed': False, 'status': 'committed'}
    if state['status'] != 'waiting-confirm':
        return _failed('the change was not committed: the node %s (%s)' % (state['status'], state.get('reason')),
                       status=state['status'], reason=state.get('reason'))
    started_by = (io.read_text(os.path.join(directory, 'started_by')) or '').strip()
    current = io.getenv('SSH_CONNECTION').strip()
    if params['require_new_connection'] and started_by and current == started_by:
        return _failed('require_new_connection: this is the SSH connection that started the change (%s); '
                       'run meta: reset_connection before confirming' % current, status=state['status'])
    if check_mode:
        return {'changed': True, 'status': state['status']}
    io.write_atomic(os.path.join(directory, 'confirm'), current, 0o600)
    deadline = clock() + params['wait']
    while clock() < deadline:
        state = read_state(directory, io) or state
        if state['status'] == 'committed':
            return {'changed': True, 'status': 'committed'}
        if state['status'] in ('rolled-back', 'failed'):
            break
        sleep(0.05)
    return _failed('the node did not commit the change: %s (%s)' % (state['status'], state.get('reason')),
                   status=state['status'], reason=state.get('reason'))
