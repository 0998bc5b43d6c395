"""Run ``ansible-test sanity`` on a copy of this checkout laid out as ansible-test wants it.

ansible-test needs the collection at ``.../ansible_collections/vmnet/kubevirt`` inside git,
with its dependencies beside it. The copy under .sanity/ is refreshed from the files git
tracks (or would track), so edits need no commit to be tested.

``--deps DIR`` and ``--tree DIR`` pick another set of dependencies and another copy (the pass on
the oldest supported versions uses .deps-oldest and .sanity-oldest); other arguments go to
ansible-test.
"""
import argparse
import fcntl
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Tools' caches inside the checkout, never part of the collection: ansible-lint installs a copy
# of the collection under .ansible/, whose modules would fail the shebang test.
NOT_PROJECT = ('.ansible/',)


def project_files(root=ROOT):
    listing = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                             cwd=root, check=True, capture_output=True).stdout
    return {name for name in listing.decode().split('\0')
            if name and not name.startswith(NOT_PROJECT) and (pathlib.Path(root) / name).is_file()}


def sync_copy(files, copy):
    for name in files:
        source, target = ROOT / name, copy / name
        if target.exists() and target.stat().st_mtime_ns == source.stat().st_mtime_ns \
                and target.stat().st_size == source.stat().st_size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for path in sorted(copy.rglob('*'), reverse=True):
        relative = path.relative_to(copy).as_posix()
        if relative == '.git' or relative.startswith('.git/') or relative.startswith('tests/output'):
            continue
        if path.is_file() and relative not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def link_dependencies(tree, deps):
    for namespace in deps.iterdir():
        if namespace.name == 'vmnet':
            continue
        link = tree / namespace.name
        if not link.exists():
            link.symlink_to(namespace)


def prepare_copy(tree_root, deps_root):
    """Refresh ``tree_root/ansible_collections/vmnet/kubevirt`` (a git copy of the checkout) with
    the collections of ``deps_root`` linked beside it; returns the copy and a lock to hold while
    ansible-test uses it (parallel runs would share the copy and ansible-test's output folder)."""
    tree = pathlib.Path(tree_root).resolve() / 'ansible_collections'
    copy = tree / 'vmnet' / 'kubevirt'
    copy.mkdir(parents=True, exist_ok=True)
    lock = open(tree.parent / '.lock', 'w', encoding='utf-8')  # pylint: disable=consider-using-with
    fcntl.flock(lock, fcntl.LOCK_EX)
    sync_copy(project_files(), copy)
    link_dependencies(tree, pathlib.Path(deps_root).resolve() / 'ansible_collections')
    if not (copy / '.git').exists():
        subprocess.run(['git', 'init', '-q'], cwd=copy, check=True)
    # ansible-test lists untracked files too, but only through git: stage them all.
    subprocess.run(['git', 'add', '-A'], cwd=copy, check=True)
    return copy, lock


def parse_layout_options():
    """``--deps`` and ``--tree`` for this script; the rest of the arguments are ansible-test's."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--deps', type=pathlib.Path, default=ROOT / '.deps')
    parser.add_argument('--tree', type=pathlib.Path, default=ROOT / '.sanity')
    return parser.parse_known_args()


def main():
    options, ansible_test_args = parse_layout_options()
    copy, _lock = prepare_copy(options.tree, options.deps)
    python = '%d.%d' % sys.version_info[:2]
    ansible_test = pathlib.Path(sys.executable).parent / 'ansible-test'
    command = [str(ansible_test), 'sanity', '--local', '--python', python, '--color', 'no'] + ansible_test_args
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(copy.parents[2]))
    sys.exit(subprocess.run(command, cwd=copy, env=env, check=False).returncode)


if __name__ == '__main__':
    main()
