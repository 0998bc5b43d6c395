"""A DOUBLE of the helm CLI (helm cannot be installed here): records argv, answers like helm 3.

Not helm. It keeps releases in a JSON state file and answers exactly the commands that
kubernetes.core.helm runs: ``version``, ``plugin list``, ``list``, ``get values``,
``show chart``, ``repo add``/``repo update``, ``upgrade -i`` and ``uninstall``. Every call is
appended to a JSON-lines log with its argv, the HELM_* environment kubernetes.core sets and
the content of any ``-f=``/``--values=`` file, so tests can assert the exact command lines.

Environment: HELM_DOUBLE_STATE (state file), HELM_DOUBLE_LOG (call log),
HELM_DOUBLE_CHARTS (JSON: {repo_url: {chart: [versions]}}; default: the Spiderpool repo).
Standard library only, so the system python can run it.
"""
import json
import os
import sys

DEFAULT_CHARTS = {'https://spidernet-io.github.io/spiderpool': {'spiderpool': ['0.9.13', '1.2.1', '1.2.2']}}


def load(path, default):
    if path and os.path.exists(path):
        with open(path, encoding='utf-8') as handle:
            return json.load(handle)
    return default


def save(path, data):
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(data, handle, indent=1, sort_keys=True)


def values_files(argv):
    found = {}
    for arg in argv:
        for prefix in ('-f=', '--values='):
            if arg.startswith(prefix):
                with open(arg[len(prefix):], encoding='utf-8') as handle:
                    found[arg[len(prefix):]] = handle.read()
    return found


def split_globals(argv):
    """helm's global-ish flags that kubernetes.core puts before the verb: --version, --repo."""
    flags, rest = {}, []
    for arg in argv:
        if not rest and arg.startswith('--') and '=' in arg:
            key, value = arg[2:].split('=', 1)
            flags[key] = value
        else:
            rest.append(arg)
    return flags, rest


def fail(message):
    sys.stderr.write('Error: %s\n' % message)
    return 1


def main(argv):
    state_path = os.environ['HELM_DOUBLE_STATE']
    state = load(state_path, {'releases': {}})
    charts = json.loads(os.environ.get('HELM_DOUBLE_CHARTS') or 'null') or DEFAULT_CHARTS
    namespace = os.environ.get('HELM_NAMESPACE', 'default')
    log_path = os.environ.get('HELM_DOUBLE_LOG')
    if log_path:
        entry = {'argv': argv, 'namespace': namespace, 'kubeconfig_set': bool(os.environ.get('KUBECONFIG')),
                 'kubecontext': os.environ.get('HELM_KUBECONTEXT'), 'values': values_files(argv)}
        with open(log_path, 'a', encoding='utf-8') as handle:
            handle.write(json.dumps(entry, sort_keys=True) + '\n')
    flags, rest = split_globals(argv)
    releases = state['releases']

    def key(name):
        return '%s/%s' % (namespace, name)
    if rest[:1] == ['version']:
        print('version.BuildInfo{Version:"v3.16.2", GitCommit:"helm-double", GitTreeState:"clean", GoVersion:"go1.22.7"}')
        return 0
    if rest[:2] == ['plugin', 'list']:
        print('NAME\tVERSION\tDESCRIPTION')
        return 0
    if rest[:1] == ['repo']:
        return 0
    if rest[:1] == ['list']:
        name = rest[rest.index('--filter') + 1] if '--filter' in rest else None
        found = [r for r in releases.values() if r['namespace'] == namespace and (name is None or r['name'] == name)]
        if '--deployed' in rest:
            found = [r for r in found if r['status'] == 'deployed']
        print(json.dumps([dict((k, v) for k, v in r.items() if k != 'values') for r in found]))
        return 0
    if rest[:2] == ['get', 'values']:
        release = releases.get(key(rest[-1]))
        if release is None:
            return fail('release: not found')
        print(release['values'] or 'null')
        return 0
    if rest[:2] == ['show', 'chart']:
        chart = rest[2]
        versions = charts.get(flags.get('repo'), {}).get(chart)
        if not versions or flags.get('version', versions[-1]) not in versions:
            return fail('chart "%s" version "%s" not found in %s repository' % (chart, flags.get('version'), flags.get('repo')))
        version = flags.get('version', versions[-1])
        print(json.dumps({'apiVersion': 'v2', 'name': chart, 'version': version, 'appVersion': version}))
        return 0
    if rest[:2] == ['upgrade', '-i']:
        name, chart = rest[-2], rest[-1]
        versions = charts.get(flags.get('repo'), {}).get(chart)
        if not versions:
            return fail('chart "%s" not found' % chart)
        version = flags.get('version', versions[-1])
        previous = releases.get(key(name))
        texts = list(values_files(argv).values())
        releases[key(name)] = {'name': name, 'namespace': namespace, 'revision': str(int(previous['revision']) + 1 if previous else 1),
                               'updated': 'recorded by helm-double', 'status': 'deployed', 'chart': '%s-%s' % (chart, version),
                               'app_version': version, 'values': texts[-1] if texts else ''}
        save(state_path, state)
        print('Release "%s" has been %s. Happy Helming!' % (name, 'upgraded' if previous else 'installed'))
        return 0
    if rest[:1] == ['uninstall']:
        name = rest[-1]
        if releases.pop(key(name), None) is None:
            return fail('uninstall: Release not loaded: %s: release: not found' % name)
        save(state_path, state)
        print('release "%s" uninstalled' % name)
        return 0
    return fail('helm-double does not know the command %r' % (argv,))


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
