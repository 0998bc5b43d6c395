"""Run ``ansible-test sanity`` on a copy of this checkout laid out as ansible-test wants it.

ansible-test needs the collection at ``.../ansible_collections/vmnet/kubevirt`` inside git,
with its dependencies beside it. The copy under .sanity/ is refreshed from the files git
tracks (or would track), so edits need no commit to be tested.
"""
import fcntl
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TREE = ROOT / '.sanity' / 'ansible_collections'
COPY = TREE / 'vmnet' / 'kubevirt'
DEPS = ROOT / '.deps' / 'ansible_collections'
# Tools' caches inside the checkout, never part of the collection: ansible-lint installs a copy
# of the collection under .ansible/, whose modules would fail the shebang test.
NOT_PROJECT = ('.ansible/',)


def project_files(root=ROOT):
    listing = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                             cwd=root, check=True, capture_output=True).stdout
    return {name for name in listing.decode().split('\0')
            if name and not name.startswith(NOT_PROJECT) and (pathlib.Path(root) / name).is_file()}


def sync_copy(files):
    for name in files:
        source, target = ROOT / name, COPY / name
        if target.exists() and target.stat().st_mtime_ns == source.stat().st_mtime_ns \
                and target.stat().st_size == source.stat().st_size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for path in sorted(COPY.rglob('*'), reverse=True):
        relative = path.relative_to(COPY).as_posix()
        if relative == '.git' or relative.startswith('.git/') or relative.startswith('tests/output'):
            continue
        if path.is_file() and relative not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def link_dependencies():
    for namespace in DEPS.iterdir():
        if namespace.name == 'vmnet':
            continue
        link = TREE / namespace.name
        if not link.exists():
            link.symlink_to(namespace)


def main():
    COPY.mkdir(parents=True, exist_ok=True)
    # One run at a time: parallel runs would share the copy and ansible-test's output folder.
    lock = open(TREE.parent / '.lock', 'w', encoding='utf-8')  # pylint: disable=consider-using-with
    fcntl.flock(lock, fcntl.LOCK_EX)
    sync_copy(project_files())
    link_dependencies()
    if not (COPY / '.git').exists():
        subprocess.run(['git', 'init', '-q'], cwd=COPY, check=True)
    # ansible-test lists untracked files too, but only through git: stage them all.
    subprocess.run(['git', 'add', '-A'], cwd=COPY, check=True)
    python = '%d.%d' % sys.version_info[:2]
    ansible_test = pathlib.Path(sys.executable).parent / 'ansible-test'
    command = [str(ansible_test), 'sanity', '--local', '--python', python, '--color', 'no'] + sys.argv[1:]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(TREE.parent))
    sys.exit(subprocess.run(command, cwd=COPY, env=env, check=False).returncode)


if __name__ == '__main__':
    main()
