"""The offline collection installer's pure parts."""
import importlib.util
import pathlib
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location('install_collections', ROOT / 'scripts' / 'install_collections.py')
install_collections = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(install_collections)


def test_pins_are_read_without_comments(tmp_path):
    pins = tmp_path / 'collections.txt'
    pins.write_text('# header\nkubernetes.core 6.6.0 ansible==14.5.0  # why\n\nopenvswitch.openvswitch 2.1.1 ansible==10.7.0\n')
    assert install_collections.read_pins(pins) == [
        ('kubernetes.core', '6.6.0', 'ansible==14.5.0'),
        ('openvswitch.openvswitch', '2.1.1', 'ansible==10.7.0'),
    ]


def test_project_pins_match_requirements_yml():
    import yaml  # pylint: disable=import-outside-toplevel
    pins = {(name, version) for name, version, _wheel in install_collections.read_pins(ROOT / 'requirements' / 'collections.txt')}
    galaxy = {(entry['name'], entry['version']) for entry in yaml.safe_load((ROOT / 'requirements.yml').read_text())['collections']}
    assert pins == galaxy


def make_wheel(path, version):
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('ansible_collections/demo/thing/MANIFEST.json',
                         '{"collection_info": {"version": "%s"}}' % version)
        archive.writestr('ansible_collections/demo/thing/plugins/modules/x.py', '')
        archive.writestr('ansible_collections/other/skip/MANIFEST.json', '{}')


def test_unpack_takes_only_the_pinned_collection(tmp_path):
    wheel = tmp_path / 'ansible-1.0-py3-none-any.whl'
    make_wheel(wheel, '1.2.3')
    source = install_collections.unpack_collection(wheel, 'demo.thing', '1.2.3', tmp_path / 'work')
    assert (source / 'plugins' / 'modules' / 'x.py').exists()
    assert not (tmp_path / 'work' / 'ansible_collections' / 'other').exists()


def test_unpack_refuses_a_wheel_with_another_version(tmp_path):
    wheel = tmp_path / 'ansible-1.0-py3-none-any.whl'
    make_wheel(wheel, '9.9.9')
    with pytest.raises(SystemExit, match='holds demo.thing 9.9.9, pinned 1.2.3'):
        install_collections.unpack_collection(wheel, 'demo.thing', '1.2.3', tmp_path / 'work')
