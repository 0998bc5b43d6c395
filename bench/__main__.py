"""Run the benchmarks: ``.venv/bin/python -m bench [--smoke] [--only vm|hosts] [--output FILE]``.

Prints every figure with its ratio against a baseline measured side by side in the same run,
and writes them with the machine's facts to bench/results/<date>.md (or --output).
"""
import argparse
import datetime
import json
import pathlib
import sys
import tempfile

from bench import common, host_converge, vm_apply

FULL = {'vms': 200, 'reruns': 3, 'render_vms': 2000, 'pools': 50, 'nodes': 10}
SMOKE = {'vms': 3, 'reruns': 1, 'render_vms': 20, 'pools': 3, 'nodes': 2}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bench', description=__doc__)
    parser.add_argument('--smoke', action='store_true', help='tiny sizes, to check that the benchmarks still run')
    parser.add_argument('--only', choices=('vm', 'hosts'), help='run one part only')
    parser.add_argument('--output', type=pathlib.Path, help='results file (default bench/results/<date>.md)')
    parser.add_argument('--json', type=pathlib.Path, help='also write the headline figures as JSON here')
    args = parser.parse_args(argv)
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


if __name__ == '__main__':
    sys.exit(main())
