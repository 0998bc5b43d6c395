"""``python -m lab hosts up N | down | reboot I | exec I CMD... | status | faults`` (run as root)."""
import argparse
import json
import os
import sys
import time

from lab.hosts import lab as host_lab_module
from lab.hosts import plan

DEFAULT_NAME = 'main'


def build_parser():
    parser = argparse.ArgumentParser(prog='python -m lab hosts', description='Multi-node host lab: nodes in namespaces reached over real SSH, '
                                     'each with its own Open vSwitch.')
    parser.add_argument('--name', default=DEFAULT_NAME, help='lab name (default %(default)s); several labs can run at once')
    # --name is accepted before or after the command.
    named = argparse.ArgumentParser(add_help=False)
    named.add_argument('--name', default=argparse.SUPPRESS, help='lab name')
    commands = parser.add_subparsers(dest='command', required=True)
    add_parser = commands.add_parser

    def add_command(*args, **kwargs):
        return add_parser(*args, parents=[named], **kwargs)

    commands.add_parser = add_command
    up = commands.add_parser('up', help='start N nodes and print the inventory path')
    up.add_argument('count', type=int)
    up.add_argument('--without-ovs', action='store_true',
                    help='nodes without Open vSwitch; a local apt repository serves its packages to them')
    down = commands.add_parser('down', help='stop the lab and remove every namespace, mount and process it made')
    down.add_argument('--all', action='store_true', help='every lab under the run directory')
    down.add_argument('--orphans', action='store_true', help='ephemeral labs whose test run is gone')
    reboot = commands.add_parser('reboot', help='power-cycle node I; it comes back from what it persisted')
    reboot.add_argument('index', type=int)
    run = commands.add_parser('exec', help='run a command inside node I')
    run.add_argument('index', type=int)
    run.add_argument('argv', nargs=argparse.REMAINDER)
    ssh = commands.add_parser('ssh', help='log in to node I over real SSH (or run CMD there)')
    ssh.add_argument('index', type=int)
    ssh.add_argument('argv', nargs=argparse.REMAINDER)
    status = commands.add_parser('status', help='nodes, daemons and memory per node')
    status.add_argument('--json', action='store_true')
    commands.add_parser('list', help='labs that exist')
    for name, text in (('cut-uplink', "shut node I's port on the switch"), ('restore-uplink', "bring node I's switch port back")):
        fault = commands.add_parser(name, help=text)
        fault.add_argument('index', type=int)
    commands.add_parser('gateway-down', help='the gateway stops answering')
    commands.add_parser('gateway-up', help='the gateway answers again')
    commands.add_parser('inventory', help='print the inventory path')
    return parser


def print_status(status, out):
    print('lab %s  switch %s  inventory %s' % (status['name'], 'up' if status['switch'] else 'DOWN', status['inventory']), file=out)
    if status.get('apt_repo'):
        print('apt repository %s' % status['apt_repo'], file=out)
    print('%-8s %-12s %-5s %-6s %-12s %6s %12s' % ('node', 'ip', 'up', 'ovs', 'ovs running', 'procs', 'memory (PSS)'), file=out)
    total = 0
    for row in status['nodes']:
        if row['up']:
            total += row['memory_kib']
            print('%-8s %-12s %-5s %-6s %-12s %6d %9.1f MiB' % (
                row['name'], row['ip'], 'yes', 'yes' if row['ovs'] else 'no', 'yes' if row['ovs_running'] else 'no',
                row['processes'], row['memory_kib'] / 1024.0), file=out)
        else:
            print('%-8s %-12s %-5s' % (row['name'], row['ip'], 'NO'), file=out)
    print('total memory %.1f MiB' % (total / 1024.0), file=out)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if os.geteuid() != 0:
        print('python -m lab hosts: must run as root (namespaces, mounts, daemons)', file=sys.stderr)
        return 1
    try:
        return dispatch(args)
    except (host_lab_module.LabError, ValueError) as error:
        print('python -m lab hosts: %s' % error, file=sys.stderr)
        return 1


def dispatch(args):
    if args.command == 'list':
        for name in host_lab_module.existing_labs():
            print(name)
        return 0
    if args.command == 'up':
        plan.check_node_count(args.count)
        started = time.monotonic()
        created = host_lab_module.HostLab.create(args.count, with_ovs=not args.without_ovs, name=args.name)
        print('lab %s: %d node(s) up in %.1f s; ansible-playbook -i %s ...' % (
            created.name, created.count, time.monotonic() - started, created.inventory), file=sys.stderr)
        print(created.inventory)
        return 0
    if args.command == 'down' and args.orphans:
        for name in host_lab_module.reap_orphans():
            print('lab %s: down (its owner is gone)' % name, file=sys.stderr)
        return 0
    if args.command == 'down':
        names = host_lab_module.existing_labs() if args.all else [args.name]
        for name in names:
            host_lab_module.HostLab.load(name).destroy()
            print('lab %s: down' % name, file=sys.stderr)
        return 0
    current = host_lab_module.HostLab.load(args.name)
    if args.command == 'status':
        status = current.status()
        if args.json:
            print(json.dumps(status, indent=2))
        else:
            print_status(status, sys.stdout)
        return 0
    if args.command == 'inventory':
        print(current.inventory)
        return 0
    if args.command == 'exec':
        if not args.argv:
            raise ValueError('exec: give a command to run, e.g. `exec 1 ovs-vsctl show`')
        result = current.node(args.index).exec(args.argv, check=False)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        return result.returncode
    if args.command == 'ssh':
        argv = current.node(args.index).ssh_argv(args.argv, tty=not args.argv and sys.stdin.isatty())
        os.execvp(argv[0], argv)
    actions = {
        'reboot': lambda: current.reboot(args.index),
        'cut-uplink': lambda: current.cut_uplink(args.index),
        'restore-uplink': lambda: current.restore_uplink(args.index),
        'gateway-down': current.gateway_down,
        'gateway-up': current.gateway_up,
    }
    actions[args.command]()
    return 0
