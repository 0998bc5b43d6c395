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


# What ansible-lint inside the importer may still say: Galaxy installs no dependency before it
# lints, so playbooks using kubernetes.core modules fail their syntax check there. Any other rule
# (names, YAML, FQCN, ...) showing up is a finding.
IMPORTER_LINT_ALLOWED = ('internal-error', 'syntax-check[unknown-module]')


@pytest.fixture(scope='module')
def imported(tarball, tmp_path_factory):
    if not (IMPORTER_BIN / 'python').exists():
        pytest.fail('.venv-importer is missing: run scripts/setup')
    workdir = tmp_path_factory.mktemp('importer')
    env = clean_env(workdir / 'home', PATH='%s:%s' % (IMPORTER_BIN, os.environ['PATH']),
                    GALAXY_IMPORTER_CONFIG=str(IMPORTER_CONFIG), GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=str(workdir / 'tmp'))
    result = run([str(IMPORTER_BIN / 'python'), '-m', 'galaxy_importer.main', str(tarball)], cwd=workdir, env=env,
                 timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    return log, json.loads((workdir / 'importer_result.json').read_text())


def test_importer_accepts_the_tarball_without_errors(imported):
    log, _result = imported
    assert 'Importer processing completed successfully' in log, log
    errors = [line for line in log.splitlines() if line.startswith('ERROR')]
    assert errors == [], log


def test_importer_renders_every_modules_docs(imported):
    _log, result = imported
    docs = dict((item['content_name'], item['doc_strings']) for item in result['docs_blob']['contents']
                if item['content_type'] == 'module')
    rendered = sorted(name for name, doc_strings in docs.items() if doc_strings and doc_strings.get('doc'))
    assert rendered == MODULES, 'module docs rendered: %d/%d' % (len(rendered), len(MODULES))
    for name in MODULES:
        doc = docs[name]['doc']
        assert doc['options'] and doc['attributes']['check_mode']['support'], name
        assert docs[name].get('return') is not None and docs[name].get('examples'), name


def test_importer_shows_the_readme_and_every_role(imported):
    _log, result = imported
    assert result['docs_blob']['collection_readme']['name'] == 'README.md'
    roles = dict((item['content_name'], item) for item in result['docs_blob']['contents'] if item['content_type'] == 'role')
    assert sorted(roles) == sorted(path.name for path in (ROOT / 'roles').iterdir() if path.is_dir())
    for name, role in roles.items():
        assert role['readme_html'], name
    described = dict((item['name'], item['description']) for item in result['contents'] if item['content_type'] == 'role')
    assert all(described.values()), described


def test_importers_lint_finds_nothing_but_the_missing_dependency(imported):
    log, _result = imported
    lint = log.split('Linting collection via ansible-lint', 1)[1].split('...ansible-lint run complete', 1)[0]
    # WARNING: <path>:<line>[:<column>]: <rule>: <message>
    rules = [line.split(': ')[2] for line in lint.splitlines() if line.startswith('WARNING: ') and line.count(': ') >= 3]
    assert [rule for rule in rules if rule not in IMPORTER_LINT_ALLOWED] == [], lint
