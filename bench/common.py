"""Shared helpers: timed commands, playbooks from data, machine facts, the results file."""
import json
import os
import pathlib
import platform
import re
import resource
import statistics
import subprocess
import sys
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV_BIN = pathlib.Path(sys.executable).parent


class Measurement:
    """Wall time (s) and the peak RSS (MiB) of the largest process in one timed command."""

    def __init__(self, seconds, peak_mib, output):
        self.seconds = seconds
        self.peak_mib = peak_mib
        self.output = output


def timed(argv, env=None, cwd=ROOT, check=True):
    """Run argv and measure it with wait4, so the figures are this command's alone."""
    started = time.perf_counter()
    with subprocess.Popen(argv, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
        output = process.stdout.read().decode(errors='replace')
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if check and process.returncode != 0:
        messages = re.findall(r'"msg": ("(?:[^"\\]|\\.)*")', output) + re.findall(r'^ERROR.*$', output, re.M)
        raise RuntimeError('%s failed (%s):\n%s' % (' '.join(argv[:3]), process.returncode, '\n'.join(messages)[:3000] or output[-3000:]))
    return Measurement(seconds, usage.ru_maxrss / 1024.0, output)


def children_peak_mib():
    """Largest RSS of any waited-for descendant so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def write_playbook(path, plays):
    path.write_text(yaml.safe_dump(plays, sort_keys=False), encoding='utf-8')
    return path


def ansible_playbook(playbook, env=None, extra_args=()):
    """argv for the venv's ansible-playbook, run from the repository root (ansible.cfg there)."""
    return [str(VENV_BIN / 'ansible-playbook'), str(playbook)] + list(extra_args)


def playbook_env(workdir, extra=None):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_HOME': str(workdir / 'ansible-home'),
        'ANSIBLE_LOCAL_TEMP': str(workdir / 'ansible-tmp'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
    })
    env.update(extra or {})
    return env


def recap_changed(output):
    """Sum of changed= over the PLAY RECAP lines of an ansible-playbook run."""
    total = 0
    for line in output.splitlines():
        if ' changed=' in line and ' ok=' in line:
            total += int(line.split(' changed=')[1].split()[0])
    return total


def median(values):
    return statistics.median(values) if values else float('nan')


def ratio(numerator, denominator):
    return numerator / denominator if denominator else float('nan')


def machine_facts():
    def version_of(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return 'n/a'

    collections = {}
    deps = ROOT / '.deps' / 'ansible_collections'
    for manifest in sorted(deps.glob('*/*/MANIFEST.json')):
        info = json.loads(manifest.read_text())['collection_info']
        collections['%s.%s' % (info['namespace'], info['name'])] = info['version']
    with open('/proc/meminfo', encoding='utf-8') as meminfo:
        mem_kib = int(meminfo.readline().split()[1])
    return {
        'cpus': os.cpu_count(),
        'memory_gib': round(mem_kib / 1024 / 1024, 1),
        'kernel': platform.release(),
        'python': platform.python_version(),
        'ansible-core': version_of([str(VENV_BIN / 'ansible'), '--version']),
        'openvswitch': version_of(['ovs-vsctl', '--version']),
        'collections': collections,
    }


class Report:
    """Collects sections of figures and ratios; prints them and writes the results file."""

    def __init__(self, title):
        self.title = title
        self.sections = []

    def section(self, heading, rows, notes=()):
        self.sections.append((heading, rows, list(notes)))
        print('\n## %s' % heading)
        for row in rows:
            print('  ' + ' | '.join(str(cell) for cell in row))
        for note in notes:
            print('  - ' + note)
        sys.stdout.flush()

    def markdown(self, facts):
        lines = ['# %s' % self.title, '', '## Machine', '']
        for key, value in facts.items():
            lines.append('- %s: %s' % (key, value if not isinstance(value, dict) else
                                       ', '.join('%s %s' % item for item in value.items())))
        for heading, rows, notes in self.sections:
            lines += ['', '## %s' % heading, '']
            header, body = rows[0], rows[1:]
            lines.append('| ' + ' | '.join(header) + ' |')
            lines.append('|' + '---|' * len(header))
            lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in body]
            if notes:
                lines.append('')
                lines += ['- ' + note for note in notes]
        return '\n'.join(lines) + '\n'


def fmt_seconds(value):
    return '%.2f s' % value


def fmt_ratio(value):
    return '%.1fx' % value


def fmt_verdict_ratio(value):
    """Two decimals where a ratio is judged against a target (1.998 must not read as 2.0x)."""
    return '%.2fx' % value
