"""scripts/sanity.py: which files of the checkout reach the copy that ansible-test checks."""
import importlib.util
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location('sanity_script', ROOT / 'scripts' / 'sanity.py')
sanity = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(sanity)


def test_caches_of_tools_stay_out_of_the_copy(tmp_path):
    """ansible-lint installs a copy of the collection under .ansible/; its modules' shebangs
    failed the shebang test when that copy was synced along (no .gitignore in this repo)."""
    subprocess.run(['git', 'init', '-q', str(tmp_path)], check=True)
    for name in ('plugins/modules/a.py', '.ansible/collections/ansible_collections/vmnet/kubevirt/plugins/modules/a.py',
                 '.ansible/roles/x/tasks/main.yml'):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('#!/usr/bin/python\n')
    assert sanity.project_files(tmp_path) == {'plugins/modules/a.py'}


def test_checkout_ignores_the_lint_cache():
    result = subprocess.run(['git', 'check-ignore', '-q', '.ansible/collections/x.py'], cwd=ROOT, check=False)
    assert result.returncode == 0, '.ansible/ is not in .gitignore'
