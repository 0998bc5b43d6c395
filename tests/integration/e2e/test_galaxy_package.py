"""The built collection as Galaxy, Automation Hub and users' execution environment builds see it.

- ansible-builder's introspection over a collections folder holding the installed tarball and its
  dependency (what every EE build that lists vmnet.kubevirt runs);
- galaxy-importer (the importer of Galaxy and Automation Hub) on the tarball, in its own venv
  (.venv-importer, its pins clash with .venv's), configured as tests/galaxy-importer.cfg says.
"""
import json
import os
import pathlib
import re
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
VENV_BIN = ROOT / '.venv' / 'bin'
IMPORTER_BIN = ROOT / '.venv-importer' / 'bin'
IMPORTER_CONFIG = ROOT / 'tests' / 'galaxy-importer.cfg'
MODULES = sorted(path.stem for path in (ROOT / 'plugins' / 'modules').glob('*.py') if path.stem != '__init__')


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)


def clean_env(home, **extra):
    env = dict((key, value) for key, value in os.environ.items() if not key.startswith(('ANSIBLE_', 'GALAXY_IMPORTER_')))
    env['ANSIBLE_HOME'] = str(home)
    env.update(extra)
    return env


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp('build')
    result = run([str(VENV_BIN / 'ansible-galaxy'), 'collection', 'build', '--output-path', str(out)], cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    galaxy = yaml.safe_load((ROOT / 'galaxy.yml').read_text())
    return out / ('vmnet-kubevirt-%s.tar.gz' % galaxy['version'])


@pytest.fixture(scope='module')
def installed(tarball, tmp_path_factory):
    """A collections folder as an EE build has it: the tarball and its dependencies installed."""
    base = tmp_path_factory.mktemp('ee-collections')
    galaxy = yaml.safe_load((ROOT / 'galaxy.yml').read_text())
    dependencies = [str(ROOT / '.deps' / 'ansible_collections' / name.replace('.', '/')) for name in galaxy['dependencies']]
    env = clean_env(base / 'home', ANSIBLE_COLLECTIONS_PATH=str(base / 'collections'))
    result = run([str(VENV_BIN / 'ansible-galaxy'), 'collection', 'install', '--offline', '-p', str(base / 'collections'),
                  str(tarball)] + dependencies, cwd=base, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return base / 'collections'


def requirement_lines(path):
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith('#')]


def test_collection_metadata_points_at_its_dependency_files():
    """meta/execution-environment.yml is the short form ansible-builder and Galaxy read, and the
    Python requirements are ranges an EE can resolve with other collections', not pins."""
    meta = yaml.safe_load((ROOT / 'meta' / 'execution-environment.yml').read_text())
    assert meta['dependencies'] == {'python': 'requirements.txt', 'system': 'bindep.txt'}
    for line in requirement_lines(ROOT / 'requirements.txt'):
        assert '==' not in line and re.match(r'^[A-Za-z0-9_.-]+>=[0-9.]+$', line), line


def test_introspection_of_an_installed_tarball_lists_the_collections_requirements(installed):
    result = run([str(VENV_BIN / 'ansible-builder'), 'introspect', '--sanitize', str(installed)])
    assert result.returncode == 0, result.stdout + result.stderr
    data = yaml.safe_load(result.stdout)
    python = [line for line in data['python'] if line.endswith('# from collection vmnet.kubevirt')]
    system = [line for line in data['system'] if line.endswith('# from collection vmnet.kubevirt')]
    # ansible-builder drops what every EE has already (PyYAML comes with ansible-core).
    wanted_python = [line for line in requirement_lines(ROOT / 'requirements.txt') if not line.lower().startswith('pyyaml')]
    assert [line.split('  #')[0] for line in python] == wanted_python
    assert [line.split('  #')[0] for line in system] == requirement_lines(ROOT / 'bindep.txt')
    assert any(line.endswith('# from collection kubernetes.core') for line in data['python'])
