"""The AWX / Automation Controller execution environment: ansible-builder accepts it offline."""
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
BUILDER = ROOT / '.venv' / 'bin' / 'ansible-builder'
EE_FILE = ROOT / 'awx' / 'execution-environment.yml'


def builder_create(definition, context):
    # `create` only writes a build context; no container runtime is needed.
    argv = [str(BUILDER), 'create', '-f', str(definition), '-c', str(context), '--output-filename', 'Containerfile']
    return subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)


def pins(path):
    """name -> version from a pip requirements/constraints file."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r'^([A-Za-z0-9_.-]+)==([^\s#]+)', line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


@pytest.fixture(scope='module')
def context(tmp_path_factory):
    if not BUILDER.exists():
        pytest.skip('ansible-builder is not installed in .venv (run scripts/setup)')
    context_dir = tmp_path_factory.mktemp('ee') / 'context'
    result = builder_create(EE_FILE, context_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    return context_dir


def test_builder_writes_a_complete_build_context(context):
    assert (context / 'Containerfile').is_file()
    for name in ('requirements.yml', 'requirements.txt', 'bindep.txt'):
        assert (context / '_build' / name).is_file(), name
    containerfile = (context / 'Containerfile').read_text()
    assert 'ARG EE_BASE_IMAGE=' in containerfile
    assert 'ansible-core==2.21.5' in containerfile
    assert 'ansible-runner==' in containerfile


def test_python_requirements_match_the_repository_pins(context):
    repo_pins = pins(ROOT / 'requirements' / 'constraints.txt')
    ee_pins = pins(context / '_build' / 'requirements.txt')
    assert {'kubernetes', 'jsonpatch', 'pyyaml'} <= set(ee_pins), ee_pins
    for name, version in ee_pins.items():
        assert repo_pins.get(name) == version, '%s==%s in the EE but %s in requirements/constraints.txt' % (
            name, version, repo_pins.get(name))
    containerfile = (context / 'Containerfile').read_text()
    runner = re.search(r'ansible-runner==([0-9.]+)', containerfile).group(1)
    assert runner == repo_pins['ansible-runner']


def test_collections_match_the_pinned_dependencies(context):
    wanted = {}
    for line in (ROOT / 'requirements' / 'collections.txt').read_text().splitlines():
        if line.strip() and not line.startswith('#'):
            name, version = line.split()[:2]
            wanted[name] = version
    collections = yaml.safe_load((context / '_build' / 'requirements.yml').read_text())['collections']
    assert {entry['name']: str(entry['version']) for entry in collections} == wanted


def test_system_packages_cover_ssh_and_helm(context):
    bindep = (context / '_build' / 'bindep.txt').read_text().splitlines()
    names = {line.split()[0] for line in bindep if line.strip()}
    assert {'openssh-clients', 'helm'} <= names


def test_builder_refuses_a_broken_definition(tmp_path):
    """The acceptance above means something: the same call rejects a definition it cannot use."""
    if not BUILDER.exists():
        pytest.skip('ansible-builder is not installed in .venv (run scripts/setup)')
    broken = yaml.safe_load(EE_FILE.read_text())
    broken['dependencies']['python_packages'] = ['kubernetes']  # not a key of schema 3
    broken_file = tmp_path / 'execution-environment.yml'
    broken_file.write_text(yaml.safe_dump(broken))
    result = builder_create(broken_file, tmp_path / 'context')
    assert result.returncode != 0
    assert 'python_packages' in result.stdout + result.stderr
    shutil.rmtree(tmp_path / 'context', ignore_errors=True)
