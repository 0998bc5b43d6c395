"""Helpers for the cluster-networking integration tests: real ansible-playbook runs.

(A module of its own, not conftest.py: other test folders have a conftest too, and
``import conftest`` would pick whichever came first.)

``play(tasks)`` writes a playbook on localhost whose tasks each register their result (and
do not stop the play on failure), runs the real ``ansible-playbook`` from the repository
root, and returns the registered results in task order. Auth reaches our modules only through
``module_defaults: group/vmnet.kubevirt.vmnet`` (the action group), never through the
environment, so every run also proves the group carries it.
"""
import contextlib
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK_BIN = pathlib.Path(sys.executable).parent / 'ansible-playbook'
UPSTREAM = ROOT.parent / 'shared' / 'upstream'


def clean_env(**extra):
    """The environment for ansible-playbook, without any ambient Kubernetes credentials."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('K8S_AUTH_', 'KUBECONFIG', 'HELM_')))
    env.update({'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0', 'ANSIBLE_RETRY_FILES_ENABLED': '0',
                'ANSIBLE_DEPRECATION_WARNINGS': '0'})
    env.update(extra)
    return env


class PlayRunner:
    def __init__(self, tmp_path, kubeapi):
        self.tmp_path = tmp_path
        self.kubeapi = kubeapi
        self.runs = 0
        self.last = None

    def __call__(self, tasks, check=False, diff=False, auth=True, play_vars=None, env=None):
        self.runs += 1
        out = self.tmp_path / ('results-%d.json' % self.runs)
        registered = []
        body = []
        for index, task in enumerate(tasks):
            task = dict(task)
            task.setdefault('name', 'task %d' % index)
            task['register'] = 'r%d' % index
            task['ignore_errors'] = True
            registered.append('r%d' % index)
            body.append(task)
        dump = '{{ {%s} | to_json }}' % ', '.join("'%s': %s | default(None)" % (name, name) for name in registered)
        play = {'name': 'cluster networking test', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
                'vars': dict(play_vars or {}),
                'tasks': body + [{'name': 'save results', 'ansible.builtin.copy': {'content': dump, 'dest': str(out)},
                                  'check_mode': False, 'diff': False}]}
        if auth:
            play['module_defaults'] = {'group/vmnet.kubevirt.vmnet': {'kubeconfig': self.kubeapi.kubeconfig}}
        path = self.tmp_path / ('play-%d.yml' % self.runs)
        path.write_text(yaml.safe_dump([play], sort_keys=False), encoding='utf-8')
        argv = [str(PLAYBOOK_BIN), str(path)]
        if check:
            argv.append('--check')
        if diff:
            argv.append('--diff')
        proc = subprocess.run(argv, cwd=str(ROOT), env=clean_env(**(env or {})), capture_output=True, text=True, timeout=300,
                              check=False)
        self.last = proc
        if not out.exists():
            raise AssertionError('ansible-playbook did not finish (rc %s):\n%s\n%s' % (proc.returncode, proc.stdout, proc.stderr))
        results = json.loads(out.read_text(encoding='utf-8'))
        return [results[name] for name in registered]


def run_playbook(argv, env=None, timeout=300):
    """Run ansible-playbook with argv (after the binary) from the repo root; returns the process."""
    return subprocess.run([str(PLAYBOOK_BIN)] + list(argv), cwd=str(ROOT), env=clean_env(**(env or {})), capture_output=True,
                          text=True, timeout=timeout, check=False)


def upstream_or_skip():
    if not UPSTREAM.is_dir():
        pytest.skip('upstream CRDs not found at ../shared/upstream (relative to the repository root)')
    return UPSTREAM


SPIDERPOOL = 'spiderpool.spidernet.io/v2beta1'
PLURALS = {'SpiderIPPool': 'spiderippools', 'SpiderSubnet': 'spidersubnets'}


def set_status(kubeapi, kind, name, status):
    """Write a cluster-scoped Spiderpool object's status as its controller would (status subresource)."""
    path = '/apis/%s/%s/%s/status' % (SPIDERPOOL, PLURALS[kind], name)
    code, body = kubeapi.http('PATCH', path, body={'status': status}, content_type='application/merge-patch+json')
    assert code == 200, body


def crd_schema(upstream, directory, plural, group='spiderpool.spidernet.io'):
    """The openAPIV3Schema of an upstream CRD file (v2beta1 / v1)."""
    path = upstream / directory / ('%s_%s.yaml' % (group, plural))
    crd = yaml.safe_load(path.read_text(encoding='utf-8'))
    return crd['spec']['versions'][0]['schema']['openAPIV3Schema']


def assert_valid(obj, schema):
    """The object validates against the upstream CRD schema (jsonschema ignores x-kubernetes-*)."""
    import jsonschema  # pylint: disable=import-outside-toplevel
    stripped = dict(obj)
    stripped.pop('status', None)
    jsonschema.validate(stripped, _no_unknown(schema))


def _no_unknown(schema):
    """Like the API server's pruning check: objects may not carry fields the schema lacks."""
    if isinstance(schema, dict):
        result = dict((k, _no_unknown(v)) for k, v in schema.items())
        if result.get('type') == 'object' and 'properties' in result and 'additionalProperties' not in result \
                and not result.get('x-kubernetes-preserve-unknown-fields'):
            result['additionalProperties'] = False
        return result
    if isinstance(schema, list):
        return [_no_unknown(v) for v in schema]
    return schema


@contextlib.contextmanager
def _module_args(params):
    """The module arguments for an in-process run: ansible-core's own helper where it has one
    (2.19+), else the ``_ANSIBLE_ARGS`` hook older ansible-core reads (the oldest-versions pass)."""
    try:
        from ansible.module_utils.testing import patch_module_args  # pylint: disable=import-outside-toplevel
    except ImportError:
        from ansible.module_utils import basic  # pylint: disable=import-outside-toplevel
        saved = basic._ANSIBLE_ARGS  # pylint: disable=protected-access
        basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': params}).encode()  # pylint: disable=protected-access
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved  # pylint: disable=protected-access
        return
    with patch_module_args(params):
        yield


def run_module(name, params):
    """Run one of our modules' main() in this process (the module's real code path, minus
    ansible-playbook's process start-up); returns its JSON result."""
    import importlib  # pylint: disable=import-outside-toplevel
    import io  # pylint: disable=import-outside-toplevel
    module = importlib.import_module('ansible_collections.vmnet.kubevirt.plugins.modules.' + name)
    out = io.StringIO()
    with _module_args(params), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    return json.loads(out.getvalue())


# ---------------------------------------------------------------- real helm and the real Spiderpool chart
HELM = ROOT / '.cache' / 'tools' / 'bin' / 'helm'
REAL_CHART = UPSTREAM / 'charts' / 'spiderpool-1.2.2'


def helm_or_fail():
    """The helm binary scripts/setup installs (its absence is a set-up defect, not a reason to skip)."""
    if not HELM.exists():
        pytest.fail('helm is missing at %s: run scripts/setup' % HELM.relative_to(ROOT))
    return HELM


def real_chart_or_skip():
    """../shared/upstream/charts/spiderpool-1.2.2 (test data, read in place), or skip with a message."""
    if not (REAL_CHART / 'Chart.yaml').is_file():
        pytest.skip('the real Spiderpool chart is not at ../shared/upstream/charts/spiderpool-1.2.2 (relative to the '
                    'repository root): the tests with real helm and the real chart need it')
    return REAL_CHART


def helm_env(home):
    """helm's own cache, config and data folders under *home* (nothing written to the user's)."""
    home = pathlib.Path(home)
    return {'HELM_CACHE_HOME': str(home / 'cache'), 'HELM_CONFIG_HOME': str(home / 'config'),
            'HELM_DATA_HOME': str(home / 'data')}


def run_helm(args, kubeapi, home, check=True):
    """Real helm against the emulator; returns the finished process."""
    env = clean_env(KUBECONFIG=kubeapi.kubeconfig, **helm_env(home))
    proc = subprocess.run([str(helm_or_fail())] + list(args), env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError('helm %s failed (%d):\n%s%s' % (' '.join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc


def recap(proc):
    """The PLAY RECAP counts of localhost."""
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('localhost')][-1]
    return dict((k, int(v)) for k, v in (part.split('=') for part in line.split(':', 1)[1].split()))


def changed_tasks(proc):
    """Names of the tasks that reported changed."""
    return [block.split(']', 1)[0] for block in proc.stdout.split('TASK [')[1:] if '\nchanged:' in block]
