"""Molecule: the default scenario (create, converge, idempotence, verify, destroy) on the lab."""
import os
import pathlib
import re
import subprocess

import pytest

from lab.hosts.fixtures import lab_unavailable_reason

ROOT = pathlib.Path(__file__).resolve().parents[3]
MOLECULE = ROOT / '.venv' / 'bin' / 'molecule'
ANSI = re.compile(r'\x1b\[[0-9;]*m')
STEP_PLAYBOOKS = ('hosts', 'cluster', 'networks', 'vms')


def molecule_env():
    env = {key: value for key, value in os.environ.items() if not key.startswith(('ANSIBLE_', 'MOLECULE_'))}
    env['PATH'] = '%s:%s' % (ROOT / '.venv' / 'bin', env.get('PATH', ''))
    env['NO_COLOR'] = '1'
    return env


@pytest.mark.lab_hosts
@pytest.mark.slow
def test_default_scenario_passes_on_the_lab():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    missing = [name for name in STEP_PLAYBOOKS if not (ROOT / 'playbooks' / ('%s.yml' % name)).exists()]
    if missing:
        pytest.fail('site.yml imports playbooks that are not in this checkout: %s' % ', '.join(missing))
    completed = subprocess.run([str(MOLECULE), 'test', '-s', 'default'], cwd=ROOT, env=molecule_env(), capture_output=True, text=True,
                               timeout=1200, check=False)
    output = ANSI.sub('', completed.stdout + completed.stderr)
    tail = output[-6000:]
    assert completed.returncode == 0, tail
    # Every action of the sequence ran and succeeded; idempotence means a second converge changed nothing.
    for action in ('create', 'converge', 'idempotence', 'verify', 'destroy'):
        assert re.search(r'default\s*(?:>|\u279c)\s*%s\]?:?\s+Executed: Successful' % action, output), '%s did not succeed:\n%s' % (action, tail)
    # destroy left nothing behind.
    assert not (ROOT / 'lab' / '.run' / 'demo' / 'molecule' / 'state.json').exists()


@pytest.mark.parametrize('scenario', ['default', 'kind'])
def test_scenario_files_pass_molecule_schema_and_ansible_syntax_check(scenario):
    """Both scenarios load; kind cannot run here (no Docker), so this is all CI can show of it."""
    from molecule.model import schema_v3  # pylint: disable=import-outside-toplevel
    import yaml  # pylint: disable=import-outside-toplevel
    directory = ROOT / 'extensions' / 'molecule' / scenario
    config = yaml.safe_load((directory / 'molecule.yml').read_text(encoding='utf-8'))
    assert schema_v3.validate(config) == []
    assert config['scenario']['test_sequence'][-1] == 'destroy'
    assert {'create', 'converge', 'idempotence', 'verify', 'destroy'} <= set(config['scenario']['test_sequence'])
    inventories = ['-i', str(ROOT / 'inventory' / 'sample')]
    if (directory / 'inventory').is_dir():
        inventories += ['-i', str(directory / 'inventory')]
    playbooks = [str(directory / name) for name in ('create.yml', 'converge.yml', 'verify.yml', 'destroy.yml')]
    completed = subprocess.run([str(ROOT / '.venv' / 'bin' / 'ansible-playbook'), '--syntax-check'] + inventories + playbooks,
                               cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, '%s: %s' % (scenario, completed.stdout + completed.stderr)
    assert completed.stdout.count('playbook: ') == 4, completed.stdout
