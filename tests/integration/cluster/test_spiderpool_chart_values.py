"""The spiderpool role's Helm values against the real Spiderpool 1.2.2 chart, rendered by real helm.

The values come from the role itself (its tasks/values.yml, run by ansible-playbook for each set
of variables below); ``helm show values`` gives the chart's values.yaml and ``helm template``
renders the chart with ours. A key the chart does not have fails (helm would silently ignore it).
"""
import json

import pytest
import yaml

from cluster_helpers import real_chart_or_skip, run_helm, run_playbook

VARIANTS = {
    'defaults': {},
    'ipv6 only': {'vmnet_spiderpool_ipv4': False, 'vmnet_spiderpool_ipv6': True},
    'dual stack, no static IPs, no OVS CNI': {'vmnet_spiderpool_ipv6': True, 'vmnet_spiderpool_kubevirt_static_ip': False,
                                              'vmnet_spiderpool_install_ovs_cni': False},
    'multus off': {'vmnet_spiderpool_install_multus': False},
    'multus already in the cluster': {'__vmnet_spiderpool_foreign_multus': ['kube-system/kube-multus-ds']},
    'registry and extra values': {'vmnet_spiderpool_image_registry_override': 'registry.example.net',
                                  'vmnet_spiderpool_extra_values': {'spiderpoolController': {'cleanup': {'enable': False},
                                                                                             'replicas': 2}}},
}


class FakeApi:  # pylint: disable=too-few-public-methods
    """helm template and show need no cluster; run_helm only wants a kubeconfig path."""
    kubeconfig = '/dev/null'


@pytest.fixture(scope='module')
def chart():
    return real_chart_or_skip()


@pytest.fixture(scope='module')
def role_values(tmp_path_factory):
    """{variant: the values the role composes}, from one ansible-playbook run."""
    tmp_path = tmp_path_factory.mktemp('values')
    tasks = []
    for index, (name, variables) in enumerate(VARIANTS.items()):
        include = {'name': 'vmnet.kubevirt.spiderpool', 'tasks_from': 'values'}
        tasks.append({'name': 'values: %s' % name, 'ansible.builtin.include_role': include, 'vars': variables})
        tasks.append({'name': 'save: %s' % name, 'ansible.builtin.copy': {
            'content': '{{ __vmnet_spiderpool_values | to_json }}', 'dest': str(tmp_path / ('%d.json' % index))}})
    play = [{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': tasks}]
    path = tmp_path / 'values.yml'
    path.write_text(yaml.safe_dump(play, sort_keys=False), encoding='utf-8')
    proc = run_playbook([str(path)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {name: json.loads((tmp_path / ('%d.json' % index)).read_text(encoding='utf-8'))
            for index, name in enumerate(VARIANTS)}


def unknown_keys(ours, theirs, path=''):
    """Key paths of *ours* that the chart's values.yaml (*theirs*) does not have. A mapping the
    chart leaves empty ({}) is free-form (labels, annotations, ...): anything goes under it."""
    found = []
    for key, value in ours.items():
        where = '%s.%s' % (path, key) if path else key
        if not isinstance(theirs, dict) or key not in theirs:
            found.append(where)
        elif isinstance(value, dict) and isinstance(theirs[key], dict) and theirs[key]:
            found += unknown_keys(value, theirs[key], where)
    return found


def chart_values(chart, tmp_path):
    return yaml.safe_load(run_helm(['show', 'values', str(chart)], FakeApi, tmp_path / 'helm').stdout)


def render(chart, values, tmp_path):
    path = tmp_path / 'values.json'
    path.write_text(json.dumps(values), encoding='utf-8')
    proc = run_helm(['template', 'spiderpool', str(chart), '-n', 'kube-system', '-f', str(path)], FakeApi, tmp_path / 'helm')
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def test_every_value_of_the_role_is_a_key_of_the_chart(chart, role_values, tmp_path):
    theirs = chart_values(chart, tmp_path)
    for name, values in role_values.items():
        assert unknown_keys(values, theirs) == [], name


def test_a_key_the_chart_does_not_have_is_found(chart, tmp_path):
    theirs = chart_values(chart, tmp_path)
    assert unknown_keys({'ipam': {'enableIPV6': True}, 'spiderpoolController': {'cleanup': {'enabled': False}}}, theirs) == \
        ['ipam.enableIPV6', 'spiderpoolController.cleanup.enabled']
    assert unknown_keys({'global': {'commonLabels': {'team': 'net'}}}, theirs) == []  # a free-form map


def find(docs, kind, name):
    return next(doc for doc in docs if doc['kind'] == kind and doc['metadata']['name'] == name)


def conf(docs):
    return yaml.safe_load(find(docs, 'ConfigMap', 'spiderpool-conf')['data']['conf.yml'])


def agent_parts(docs):
    spec = find(docs, 'DaemonSet', 'spiderpool-agent')['spec']['template']['spec']
    plugins = next(c for c in spec['initContainers'] if c['name'] == 'install-plugins')
    ovs = next(e['value'] for e in plugins['env'] if e['name'] == 'INSTALL_OVS_PLUGIN')
    return [c['name'] for c in spec['containers']], [c['name'] for c in spec['initContainers']], ovs


@pytest.mark.parametrize('variant, ipv4, ipv6, static_ip, ovs, multus', [
    ('defaults', True, False, True, 'true', True),
    ('ipv6 only', False, True, True, 'true', True),
    ('dual stack, no static IPs, no OVS CNI', True, True, False, 'false', True),
    ('multus off', True, False, True, 'true', False),
    ('multus already in the cluster', True, False, True, 'true', False),
])
def test_helm_template_of_our_values_switches_the_chart_as_intended(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        chart, role_values, tmp_path, variant, ipv4, ipv6, static_ip, ovs, multus):
    docs = render(chart, role_values[variant], tmp_path)
    settings = conf(docs)
    assert (settings['enableIPv4'], settings['enableIPv6'], settings['enableKubevirtStaticIP']) == (ipv4, ipv6, static_ip)
    containers, init_containers, ovs_plugin = agent_parts(docs)
    assert ovs_plugin == ovs
    assert ('multus-cni' in containers, 'install-multus-binary' in init_containers) == (multus, multus)
    assert any(doc['kind'] == 'ConfigMap' and doc['metadata']['name'] == 'spiderpool-multus-entrypoint' for doc in docs) is multus
    # defaultCniCRName stays empty: the cluster's own CNI remains every pod's primary network.
    assert find(docs, 'ConfigMap', 'spiderpool-conf')['data']['clusterNetwork'] == ''


def test_extra_values_reach_the_chart(chart, role_values, tmp_path):
    docs = render(chart, role_values['registry and extra values'], tmp_path)
    assert not any(doc['kind'] == 'Job' and doc['metadata']['name'].endswith('hook-pre-delete') for doc in docs)
    controller = find(docs, 'Deployment', 'spiderpool-controller')
    assert controller['spec']['replicas'] == 2
    assert controller['spec']['template']['spec']['containers'][0]['image'].startswith('registry.example.net/')
