"""A smoke run of the benchmarks with tiny sizes, so that they cannot rot.

It asserts what the benchmarks must show whatever the machine's speed: every tool converges
(first run changes, re-run does not), every section and ratio is printed, and the results file
is written. It never asserts a time.
"""
import json
import math
import pathlib
import subprocess
import sys

import pytest

from lab.hosts.fixtures import lab_unavailable_reason

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_benchmarks_run_end_to_end_at_smoke_sizes(tmp_path):
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    output, figures_file = tmp_path / 'results.md', tmp_path / 'figures.json'
    completed = subprocess.run([sys.executable, '-m', 'bench', '--smoke', '--output', str(output), '--json', str(figures_file)],
                               cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    figures = json.loads(figures_file.read_text())
    for label, (first_changed, rerun_changed) in figures['changed'].items():
        if first_changed != '-':
            assert (first_changed, rerun_changed) == (1, 0), label
    for label, (first_changed, rerun_changed) in figures['host_changed'].items():
        assert first_changed > 0 and rerun_changed == 0, label
    for key in ('speedup_first', 'speedup_rerun', 'floor_first', 'floor_rerun', 'host_rerun_speedup', 'uplink_gap_max_ms',
                'module_peak_mib', 'module_alone_vs_floor', 'ansible_startup_s', 'bridges_only_rerun_speedup', 'any_module_task_s',
                'k8s_info_one_object_s', 'uplink_gap_loaded_max_ms'):
        assert isinstance(figures[key], float) and math.isfinite(figures[key]) and figures[key] > 0, key
    text = output.read_text()
    for heading in ('## Machine', '## 1. ', '## 1b. ', '## 2. ', '## 3. ', '## 4. '):
        assert heading in text
    assert 'kubernetes.core 6.6.0' in text
    assert 'ratio' in completed.stdout
