"""Run the benchmarks: ``.venv/bin/python -m bench [--smoke | --curve] [--only vm|hosts] [--output FILE]``.

Prints every figure with its ratio against a baseline measured side by side in the same run,
and writes them with the machine's facts to bench/results/<date>.md (or --output).
"""
import argparse
import datetime
import json
import os
import pathlib
import sys
import tempfile

from bench import common, curve, host_converge, vm_apply

FULL = {'vms': 200, 'reruns': 3, 'render_vms': 2000, 'pools': 50, 'nodes': 10}
SMOKE = {'vms': 3, 'reruns': 1, 'render_vms': 20, 'pools': 3, 'nodes': 2}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bench', description=__doc__)
    parser.add_argument('--smoke', action='store_true', help='tiny sizes, to check that the benchmarks still run')
    parser.add_argument('--only', choices=('vm', 'hosts'), help='run one part only')
    parser.add_argument('--output', type=pathlib.Path, help='results file (default bench/results/<date>.md)')
    parser.add_argument('--json', type=pathlib.Path, help='also write the headline figures as JSON here')
    parser.add_argument('--curve', action='store_true', help='scale curves (long; not part of CI): see bench/curve.py')
    parser.add_argument('--vm-sizes', type=sizes_list, default=curve.VM_SIZES, help='with --curve: VM counts (default %(default)s)')
    parser.add_argument('--node-sizes', type=sizes_list, default=curve.NODE_SIZES, help='with --curve: lab node counts (default %(default)s)')
    parser.add_argument('--loop-vms', type=int, help='with --curve: VMs of the kubevirt_vm loop, extrapolated to the others (default the smallest size)')
    parser.add_argument('--reruns', type=int, default=1, help='with --curve: re-runs of each tool per size, median taken (default 1)')
    args = parser.parse_args(argv)
    if args.curve:
        return main_curve(args)
    sizes = SMOKE if args.smoke else FULL
    started = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    report = common.Report('vmnet.kubevirt benchmarks%s, %s' % (' (smoke sizes)' if args.smoke else '', started))
    print('sizes: %s' % sizes)
    figures = {}
    with tempfile.TemporaryDirectory(prefix='vmnet-bench-') as workdir:
        workdir = pathlib.Path(workdir)
        if args.only in (None, 'vm'):
            figures.update(vm_apply.run(report, workdir, sizes))
        if args.only in (None, 'hosts'):
            figures.update(host_converge.run(report, workdir, sizes))
    output = args.output or common.ROOT / 'bench' / 'results' / (datetime.date.today().isoformat() + '.md')
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report.markdown(common.machine_facts()), encoding='utf-8')
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding='utf-8')
    print('\nresults written to %s' % output)
    return 0


def sizes_list(text):
    """'200,1000' -> (200, 1000); '' -> () (that part left out)."""
    try:
        sizes = tuple(int(part) for part in text.split(',') if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError('sizes: whole numbers separated by commas, not %r' % text) from None
    if any(size < 2 for size in sizes):
        raise argparse.ArgumentTypeError('sizes: each at least 2, not %r' % text)
    return sizes


def main_curve(args):
    if args.only == 'vm':
        args.node_sizes = ()
    elif args.only == 'hosts':
        args.vm_sizes = ()
    started = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    report = common.Report('vmnet.kubevirt scale curves, %s' % started)
    output = args.output or common.ROOT / 'bench' / 'results' / (datetime.date.today().isoformat() + '-curve.md')
    output.parent.mkdir(parents=True, exist_ok=True)
    facts = common.machine_facts()
    facts.update({'VM sizes': ', '.join(map(str, args.vm_sizes)) or '-', 'node sizes': ', '.join(map(str, args.node_sizes)) or '-',
                  're-runs per size': args.reruns, 'kubevirt_vm loop at': args.loop_vms or min(args.vm_sizes or [0])})

    facts['load average (1 min) at the start'] = '%.2f' % os.getloadavg()[0]

    def write():
        # Other work on the machine shows in every wall time (less in the ratios): the load says how much there was.
        facts['load average (1 min) when last written'] = '%.2f' % os.getloadavg()[0]
        output.write_text(report.markdown(facts), encoding='utf-8')

    with tempfile.TemporaryDirectory(prefix='vmnet-curve-') as workdir:
        figures = curve.run(report, pathlib.Path(workdir), args.vm_sizes, args.node_sizes, args.reruns, write, args.loop_vms)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding='utf-8')
    print('\nresults written to %s' % output)
    return 0


if __name__ == '__main__':
    sys.exit(main())
