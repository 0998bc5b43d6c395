"""The collection as users receive it: built tarball, offline install, ansible-doc, set-up."""
import json
import os
import pathlib
import subprocess
import tarfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
VENV_BIN = ROOT / '.venv' / 'bin'
MODULES = sorted(path.stem for path in (ROOT / 'plugins' / 'modules').glob('*.py') if path.stem != '__init__')


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)


def clean_env(tmp_path):
    """An environment where only what the test installs is visible to ansible-galaxy."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('ANSIBLE_')}
    env['ANSIBLE_HOME'] = str(tmp_path / 'ansible-home')
    env['ANSIBLE_COLLECTIONS_PATH'] = str(tmp_path / 'collections')
    return env


def test_built_tarball_leaves_out_the_test_world(tmp_path):
    result = run([str(VENV_BIN / 'ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path)], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    tarball = tmp_path / 'vmnet-kubevirt-0.1.0.tar.gz'
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    top_level = {name.split('/', 1)[0] for name in names}
    assert {'plugins', 'meta', 'roles', 'playbooks', 'changelogs', 'README.md', 'MANIFEST.json', 'LICENSE'} <= top_level
    with tarfile.open(tarball) as archive:
        licence = archive.extractfile('LICENSE').read().decode()
    assert 'GNU GENERAL PUBLIC LICENSE' in licence and 'Version 3, 29 June 2007' in licence
    for left_out in ('lab', 'tests', 'bench', '.ci', '.venv', '.deps', '.sanity', '.cache', 'scripts'):
        assert left_out not in top_level, '%s must not ship in the collection' % left_out
    assert not [name for name in names if '__pycache__' in name or name.endswith('.pyc')]


def test_tarball_installs_with_its_dependencies_without_galaxy(tmp_path):
    result = run([str(VENV_BIN / 'ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path)], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    galaxy = yaml.safe_load((ROOT / 'galaxy.yml').read_text())
    dependencies = [str(ROOT / '.deps' / 'ansible_collections' / name.replace('.', '/')) for name in galaxy['dependencies']]
    env = clean_env(tmp_path)
    install = run([str(VENV_BIN / 'ansible-galaxy'), 'collection', 'install', '--offline', '-p', env['ANSIBLE_COLLECTIONS_PATH'],
                   str(tmp_path / 'vmnet-kubevirt-0.1.0.tar.gz')] + dependencies, cwd=tmp_path, env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    listing = run([str(VENV_BIN / 'ansible-galaxy'), 'collection', 'list', '--format', 'json'], cwd=tmp_path, env=env)
    assert listing.returncode == 0, listing.stderr
    installed = {}
    for collections in json.loads(listing.stdout).values():
        installed.update({name: info['version'] for name, info in collections.items()})
    assert installed['vmnet.kubevirt'] == '0.1.0'
    for name in galaxy['dependencies']:
        assert name in installed, '%s was not installed beside vmnet.kubevirt' % name


def test_ansible_doc_lists_every_module_from_the_repository_root():
    result = run([str(VENV_BIN / 'ansible-doc'), '-l', 'vmnet.kubevirt', '--json'], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert sorted(name.rsplit('.', 1)[1] for name in listed) == MODULES
    assert MODULES, 'the collection ships no module'


def module_docs(tmp_path):
    """ansible-doc's JSON for every module, with vmnet.kubevirt the only collection installed."""
    tree = tmp_path / 'collections' / 'ansible_collections' / 'vmnet'
    tree.mkdir(parents=True)
    (tree / 'kubevirt').symlink_to(ROOT)
    env = clean_env(tmp_path)
    result = run([str(VENV_BIN / 'ansible-doc'), '--json', '-t', 'module'] + ['vmnet.kubevirt.' + name for name in MODULES],
                 cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    return dict((name.rsplit('.', 1)[1], entry['doc']) for name, entry in json.loads(result.stdout).items())


def test_every_module_documents_its_attributes_without_kubernetes_core(tmp_path):
    """Galaxy renders docs with no dependency installed: each module's docs must stand alone."""
    docs = module_docs(tmp_path)
    assert sorted(docs) == MODULES
    for name, doc in docs.items():
        for attribute in ('check_mode', 'diff_mode'):
            entry = doc.get('attributes', {}).get(attribute)
            assert entry and entry.get('description') and entry.get('support') in ('full', 'partial', 'none', 'N/A'), \
                '%s: attribute %s is %r' % (name, attribute, entry)


def test_action_group_lists_exactly_the_cluster_facing_modules(tmp_path):
    runtime = yaml.safe_load((ROOT / 'meta' / 'runtime.yml').read_text())
    group = sorted(runtime['action_groups']['vmnet'])
    docs = module_docs(tmp_path)
    cluster_facing = sorted(name for name, doc in docs.items() if 'kubeconfig' in doc['options'])
    members = sorted(name for name, doc in docs.items()
                     if 'vmnet.kubevirt.vmnet' in doc.get('attributes', {}).get('action_group', {}).get('membership', []))
    assert group == cluster_facing == members


def test_setup_skips_its_work_when_nothing_changed():
    first = run([str(ROOT / 'scripts' / 'setup')], cwd=ROOT)
    assert first.returncode == 0, first.stderr
    second = run([str(ROOT / 'scripts' / 'setup')], cwd=ROOT)
    assert second.returncode == 0, second.stderr
    # Every stage announces itself on stderr when it does work; a warm set-up says nothing.
    assert second.stderr == '', second.stderr
