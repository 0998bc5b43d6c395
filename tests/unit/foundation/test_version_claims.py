"""What the collection claims to support is what the test passes run on."""
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]


def lower_bound(spec):
    match = re.match(r'^>=\s*([0-9.]+)', spec.strip())
    assert match, 'no lower bound in %r' % spec
    return match.group(1)


def pinned(path, name):
    for line in path.read_text().splitlines():
        if line.split('#', 1)[0].strip().startswith(name):
            return line.split()
    raise AssertionError('%s not pinned in %s' % (name, path))


def major_minor(version):
    return tuple(int(part) for part in version.split('.')[:2])


def test_every_role_claims_the_ansible_core_of_meta_runtime():
    oldest = lower_bound(yaml.safe_load((ROOT / 'meta' / 'runtime.yml').read_text())['requires_ansible'])
    for meta in sorted(ROOT.glob('roles/*/meta/main.yml')):
        claimed = str(yaml.safe_load(meta.read_text())['galaxy_info']['min_ansible_version'])
        assert major_minor(claimed) == major_minor(oldest), '%s claims %s, meta/runtime.yml %s' % (meta, claimed, oldest)


def test_the_oldest_pass_runs_the_oldest_claimed_ansible_core():
    oldest = lower_bound(yaml.safe_load((ROOT / 'meta' / 'runtime.yml').read_text())['requires_ansible'])
    line = pinned(ROOT / 'requirements' / 'oldest.txt', 'ansible-core==')
    assert major_minor(line[0].split('==')[1]) == major_minor(oldest)


def test_the_oldest_pass_runs_the_oldest_claimed_kubernetes_core():
    claimed = yaml.safe_load((ROOT / 'galaxy.yml').read_text())['dependencies']['kubernetes.core']
    name, version, _wheel = pinned(ROOT / 'requirements' / 'collections-oldest.txt', 'kubernetes.core ')
    assert (name, version) == ('kubernetes.core', lower_bound(claimed))
    name, newest, _wheel = pinned(ROOT / 'requirements' / 'collections.txt', 'kubernetes.core ')
    upper = re.search(r'<\s*([0-9]+)\.', claimed).group(1)
    assert int(newest.split('.')[0]) == int(upper) - 1, 'the main pass should run the newest major claimed'
