"""Every module is docs, an argument spec and a thin main(): the flows and all host I/O live in module_utils."""
import ast
import pathlib
import re

import pytest

MODULES = sorted((pathlib.Path(__file__).resolve().parents[3] / 'plugins' / 'modules').glob('*.py'))
HOST_IO = re.compile(r'\bos\.|open\(')
MAIN_MAX_LINES = 25


def test_modules_are_found():
    assert len(MODULES) >= 13 and any(path.name == 'ovs_bridge.py' for path in MODULES)


@pytest.mark.parametrize('path', MODULES, ids=lambda path: path.name)
def test_no_module_touches_files_or_the_environment_itself(path):
    hits = ['%s:%d: %s' % (path.name, number, line.strip())
            for number, line in enumerate(path.read_text().splitlines(), 1) if HOST_IO.search(line)]
    assert hits == []


@pytest.mark.parametrize('path', MODULES, ids=lambda path: path.name)
def test_main_only_calls_the_flow_and_exits(path):
    mains = [node for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef) and node.name == 'main']
    assert len(mains) == 1
    assert mains[0].end_lineno - mains[0].lineno + 1 <= MAIN_MAX_LINES


def test_the_rules_catch_what_they_are_for():
    # The checks above must be able to fail: the former ovs_bridge code would not pass them.
    assert HOST_IO.search("    directory = os.environ.get('OVS_DBDIR')")
    assert HOST_IO.search("    with open(path, 'w') as handle:")
    assert not HOST_IO.search("    result = run(module.params, HostIO, check_mode=module.check_mode)")


@pytest.mark.parametrize('path', MODULES, ids=lambda path: path.name)
def test_main_runs_the_one_contract_through_run_module(path):
    main = next(node for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef) and node.name == 'main')
    called = [node.func.id for node in ast.walk(main) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    assert 'run_module' in called and 'finish' not in called
    assert main.end_lineno - main.lineno <= 3


@pytest.mark.parametrize('path', MODULES, ids=lambda path: path.name)
def test_a_module_file_holds_no_flow_only_its_spec_and_main(path):
    functions = sorted(node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef))
    assert set(functions) <= {'main', 'argument_spec', 'module_kwargs', 'vm_options'}, functions  # main and spec builders
