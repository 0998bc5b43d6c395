"""The README is written for the collection's users and still starts contributors off."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[3]
README = (ROOT / 'README.md').read_text()
QUICK_START = '''```sh
scripts/demo   # the main job on the embedded lab
scripts/test   # all the tests: ansible-test sanity, unit and integration tests
```'''


def section(title):
    match = re.search(r'^## %s\n(.*?)(?=^## )' % re.escape(title), README, re.M | re.S)
    assert match, 'no section %r' % title
    return match.group(1)


def test_users_sections_come_first_and_the_quick_start_leads_the_section_for_working_on_it():
    titles = re.findall(r'^## (.+)$', README, re.M)
    for title in ('Contents', 'Requirements', 'Installation', 'Quick example', 'Support', 'Release notes', 'Licence'):
        assert title in titles, title
    assert titles.index('Working on this collection') > titles.index('Quick example')
    working = section('Working on this collection')
    assert working.count('```') >= 2 and working.index(QUICK_START) == working.index('```')


def test_every_module_and_role_is_in_the_tables():
    contents = section('Contents')
    for module in sorted(path.stem for path in (ROOT / 'plugins' / 'modules').glob('*.py')):
        assert '| `vmnet.kubevirt.%s` |' % module in contents, module
    for role in sorted(path.name for path in (ROOT / 'roles').iterdir() if path.is_dir()):
        assert '| `vmnet.kubevirt.%s` |' % role in contents, role
