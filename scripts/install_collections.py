"""Install the pinned collections without a Galaxy server.

The PyPI "ansible" community wheels bundle collections. We download the wheels named in
requirements/collections.txt, unpack only the collections we pin, and install those
directories with ``ansible-galaxy collection install --offline --no-deps``. With
VMNET_COLLECTIONS_SOURCE=galaxy, requirements.yml is installed from Galaxy instead.
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def read_pins(path):
    pins = []
    for line in path.read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            name, version, wheel = line.split()
            pins.append((name, version, wheel))
    return pins


def installed_version(dest, name):
    namespace, collection = name.split('.')
    manifest = dest / 'ansible_collections' / namespace / collection / 'MANIFEST.json'
    if not manifest.exists():
        return None
    return json.loads(manifest.read_text())['collection_info']['version']


def download_wheel(requirement, cache):
    cache.mkdir(parents=True, exist_ok=True)
    name, version = requirement.split('==')
    existing = sorted(cache.glob('%s-%s-*.whl' % (name, version)))
    if existing:
        return existing[0]
    subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--disable-pip-version-check',
                    '--no-deps', '-d', str(cache), requirement], check=True)
    return sorted(cache.glob('%s-%s-*.whl' % (name, version)))[0]


def unpack_collection(wheel, name, version, workdir):
    namespace, collection = name.split('.')
    prefix = 'ansible_collections/%s/%s/' % (namespace, collection)
    with zipfile.ZipFile(wheel) as archive:
        members = [member for member in archive.namelist() if member.startswith(prefix)]
        if not members:
            raise SystemExit('%s does not contain %s' % (wheel.name, name))
        archive.extractall(workdir, members)
    source = pathlib.Path(workdir) / prefix
    found = json.loads((source / 'MANIFEST.json').read_text())['collection_info']['version']
    if found != version:
        raise SystemExit('%s holds %s %s, pinned %s' % (wheel.name, name, found, version))
    return source


def install_from_wheels(pins, dest, cache):
    galaxy = pathlib.Path(sys.executable).parent / 'ansible-galaxy'
    with tempfile.TemporaryDirectory() as workdir:
        sources = []
        for name, version, requirement in pins:
            if installed_version(dest, name) == version:
                continue
            wheel = download_wheel(requirement, cache)
            sources.append(str(unpack_collection(wheel, name, version, workdir)))
        if sources:
            subprocess.run([str(galaxy), 'collection', 'install', '--offline', '--no-deps',
                            '--force', '-p', str(dest)] + sources, check=True, stdout=subprocess.DEVNULL)


def install_from_galaxy(dest):
    galaxy = pathlib.Path(sys.executable).parent / 'ansible-galaxy'
    subprocess.run([str(galaxy), 'collection', 'install', '-r', str(ROOT / 'requirements.yml'),
                    '-p', str(dest)], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--dest', required=True, type=pathlib.Path)
    parser.add_argument('--cache', required=True, type=pathlib.Path)
    parser.add_argument('--pins', type=pathlib.Path, default=ROOT / 'requirements' / 'collections.txt',
                        help='the pins file (default: requirements/collections.txt)')
    args = parser.parse_args()
    pins = read_pins(args.pins)
    if os.environ.get('VMNET_COLLECTIONS_SOURCE') == 'galaxy' and args.pins == ROOT / 'requirements' / 'collections.txt':
        install_from_galaxy(args.dest)
    else:
        install_from_wheels(pins, args.dest, args.cache)
    # Drop the stray copies that ansible-galaxy leaves when a pin changes.
    shutil.rmtree(args.dest / '.cache', ignore_errors=True)


if __name__ == '__main__':
    main()
