"""The Molecule the scenarios run with is pinned, new enough, and the one docs/molecule.md names."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[3]


def pin(name):
    text = (ROOT / 'requirements' / 'python.txt').read_text()
    return re.search(r'^%s==([0-9.]+)' % re.escape(name), text, re.M).group(1)


def test_molecule_is_pinned_at_25_or_newer_and_documented():
    version = pin('molecule')
    assert int(version.split('.')[0]) >= 25, 'molecule %s: the scenarios need 25 or newer' % version
    docs = (ROOT / 'docs' / 'molecule.md').read_text()
    assert 'molecule %s' % version in docs
    assert 'ansible-compat %s' % pin('ansible-compat') in docs
