"""The collection's own doc fragments say what the modules really take."""
import pathlib

import pytest
import yaml

from ansible_collections.vmnet.kubevirt.plugins.doc_fragments import attributes, k8s_auth

ROOT = pathlib.Path(__file__).resolve().parents[3]
DEFAULT_TYPE = 'str'


def documented(options):
    """name -> (type, sorted aliases, elements, suboptions) of a documentation options block."""
    return dict((name, (spec.get('type', DEFAULT_TYPE), sorted(spec.get('aliases', [])), spec.get('elements'),
                        documented(spec.get('suboptions', {}))))
                for name, spec in options.items())


def specified(spec):
    """The same view of an argument spec."""
    return dict((name, (entry.get('type', DEFAULT_TYPE), sorted(entry.get('aliases', [])), entry.get('elements'),
                        specified(entry.get('options') or {})))
                for name, entry in spec.items())


def test_auth_fragment_matches_the_kubernetes_core_argument_spec():
    """The modules take kubernetes.core's AUTH_ARG_SPEC; its names, types and aliases are what
    users' module_defaults rely on, so the fragment may not drift from the installed version."""
    args_common = pytest.importorskip('ansible_collections.kubernetes.core.plugins.module_utils.args_common')
    options = yaml.safe_load(k8s_auth.ModuleDocFragment.DOCUMENTATION)['options']
    assert documented(options) == specified(args_common.AUTH_ARG_SPEC)


def test_auth_fragment_names_each_environment_fallback_kubernetes_core_reads():
    options = yaml.safe_load(k8s_auth.ModuleDocFragment.DOCUMENTATION)['options']
    client_names = {'validate_certs': 'VERIFY_SSL', 'ca_cert': 'SSL_CA_CERT', 'client_cert': 'CERT_FILE', 'client_key': 'KEY_FILE'}
    for name, spec in options.items():
        text = ' '.join(spec['description'] if isinstance(spec['description'], list) else [spec['description']])
        if name == 'proxy_headers':
            for sub, subspec in spec['suboptions'].items():
                assert 'E(K8S_AUTH_PROXY_HEADERS_%s)' % sub.upper() in ' '.join(subspec['description'])
            continue
        assert 'E(K8S_AUTH_%s)' % client_names.get(name, name.upper()) in text, name


@pytest.mark.parametrize('variable', ['DOCUMENTATION', 'INFO_MODULE', 'CLUSTER', 'HOST'])
def test_attribute_fragments_follow_the_attributes_convention(variable):
    block = yaml.safe_load(getattr(attributes.ModuleDocFragment, variable))
    assert list(block) == ['attributes']
    for name, entry in block['attributes'].items():
        assert set(entry) <= {'description', 'support', 'details', 'membership', 'platforms'}, name
        if 'support' in entry:
            assert entry['support'] in ('full', 'partial', 'none', 'N/A'), name
        if entry.get('support') in ('partial', 'N/A') and name == 'check_mode':
            assert entry.get('details'), 'check_mode %s needs details' % entry['support']


def test_action_group_fragment_names_the_runtime_group():
    runtime = yaml.safe_load((ROOT / 'meta' / 'runtime.yml').read_text())
    membership = yaml.safe_load(attributes.ModuleDocFragment.CLUSTER)['attributes']['action_group']['membership']
    assert membership == ['vmnet.kubevirt.%s' % name for name in runtime['action_groups']]
