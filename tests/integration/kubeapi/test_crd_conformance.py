"""The preloaded CRD files against the upstream API definitions in ../shared/upstream."""
import json
import pathlib

import pytest
import yaml

from lab.kubeapi import crdgen

ROOT = pathlib.Path(__file__).resolve().parents[3]
UPSTREAM = ROOT.parent / 'shared' / 'upstream'
SKIP_WITHOUT_UPSTREAM = pytest.mark.skipif(not UPSTREAM.is_dir(), reason='../shared/upstream (upstream API definitions) is absent')


def needs_upstream(test):
    return pytest.mark.upstream(SKIP_WITHOUT_UPSTREAM(test))


SCHEMA_KEYS = ('type', 'format', 'enum', 'default', 'minimum', 'maximum', 'required', 'nullable', 'pattern',
               'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-list-type')


def committed(relative):
    return yaml.safe_load((crdgen.CRD_DIR / relative).read_text(encoding='utf-8'))


def schema_rules(node, path='', found=None):
    """{path: {rule: value}} for every schema node (descriptions ignored)."""
    found = {} if found is None else found
    found[path] = {k: node[k] for k in SCHEMA_KEYS if k in node}
    for key, sub in (node.get('properties') or {}).items():
        schema_rules(sub, '%s.%s' % (path, key), found)
    if isinstance(node.get('items'), dict):
        schema_rules(node['items'], path + '[]', found)
    if isinstance(node.get('additionalProperties'), dict):
        schema_rules(node['additionalProperties'], path + '{}', found)
    return found


def version_schema(crd):
    return crd['spec']['versions'][0]['schema']['openAPIV3Schema']


@needs_upstream
def test_committed_files_are_what_the_generator_makes_from_upstream():
    generated = crdgen.generate(UPSTREAM)
    on_disk = sorted(p.relative_to(crdgen.CRD_DIR).as_posix() for p in crdgen.CRD_DIR.rglob('*.yaml'))
    assert sorted(generated) == on_disk
    for relative, crd in generated.items():
        assert committed(relative) == crd, relative


@needs_upstream
@pytest.mark.parametrize('set_name,folder', sorted(crdgen.SETS.items()))
@pytest.mark.parametrize('name', crdgen.SPIDERPOOL_FILES)
def test_spiderpool_schemas_keep_every_upstream_rule(set_name, folder, name):
    upstream = yaml.safe_load((UPSTREAM / folder / ('spiderpool.spidernet.io_%s.yaml' % name)).read_text(encoding='utf-8'))
    ours = committed('%s/%s.yaml' % (set_name, name))
    assert ours['spec']['names'] == upstream['spec']['names'] and ours['spec']['scope'] == upstream['spec']['scope']
    assert schema_rules(version_schema(ours)) == schema_rules(version_schema(upstream))
    assert ours['spec']['versions'][0].get('subresources') == upstream['spec']['versions'][0].get('subresources')


@needs_upstream
def test_vlan_exists_only_in_the_v09_ippool():
    v12 = schema_rules(version_schema(committed('spiderpool-v1.2/spiderippools.yaml')))
    v09 = schema_rules(version_schema(committed('spiderpool-v0.9/spiderippools.yaml')))
    assert '.spec.vlan' in v09 and '.spec.vlan' not in v12
    smc12 = schema_rules(version_schema(committed('spiderpool-v1.2/spidermultusconfigs.yaml')))
    assert 'ovs' in smc12['.spec.cniType']['enum'] and smc12['.spec.ovs.vlan']['type'] == 'integer'


@needs_upstream
def test_nad_schema_matches_upstream():
    upstream = yaml.safe_load((UPSTREAM / crdgen.NAD_SOURCE).read_text(encoding='utf-8'))
    ours = committed('common/network-attachment-definitions.yaml')
    assert schema_rules(version_schema(ours)) == schema_rules(version_schema(upstream))
    assert ours['spec']['names'] == upstream['spec']['names']


def _swagger_fields(definitions, name, prefix, found, seen=()):
    node = definitions[name]
    for key, sub in (node.get('properties') or {}).items():
        path = '%s.%s' % (prefix, key)
        found[path] = sub.get('type', 'object' if '$ref' in sub else None)
        ref = (sub.get('items') or sub).get('$ref')
        if ref:
            child = ref.rsplit('/', 1)[-1]
            if child not in seen and definitions[child].get('properties'):
                _swagger_fields(definitions, child, path + ('[]' if sub.get('type') == 'array' else ''), found, seen + (child,))
    return found


@needs_upstream
@pytest.mark.parametrize('definition,where', [('v1.Interface', '.spec.template.spec.domain.devices.interfaces[]'),
                                              ('v1.Network', '.spec.template.spec.networks[]')])
def test_kubevirt_networking_fields_are_strict_and_complete(definition, where):
    swagger = json.loads((UPSTREAM / 'kubevirt' / 'swagger.json').read_text(encoding='utf-8'))
    rules = schema_rules(version_schema(committed('common/kubevirt-virtualmachines.yaml')))
    expected = _swagger_fields(swagger['definitions'], definition, where, {})
    assert expected
    for path, kind in expected.items():
        assert path in rules, path
        assert rules[path].get('type') == kind, (path, rules[path], kind)
    assert not rules[where].get('x-kubernetes-preserve-unknown-fields')
    assert rules[where]['required'] == ['name']


def test_run_strategy_and_template_annotations_are_strict():
    rules = schema_rules(version_schema(committed('common/kubevirt-virtualmachines.yaml')))
    assert rules['.spec.runStrategy']['enum'] == ['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once', 'WaitAsReceiver']
    assert rules['.spec.template.metadata.annotations{}'] == {'type': 'string'}
    vmi = schema_rules(version_schema(committed('common/kubevirt-virtualmachineinstances.yaml')))
    assert vmi['.spec.networks[].multus']['required'] == ['networkName']


def test_preloaded_sets_hold_the_expected_kinds():
    kinds = {doc['spec']['names']['kind'] for doc in crdgen.load_set('spiderpool-v0.9')}
    assert kinds == {'SpiderIPPool', 'SpiderSubnet', 'SpiderMultusConfig', 'SpiderEndpoint', 'SpiderCoordinator',
                     'SpiderReservedIP', 'NetworkAttachmentDefinition', 'VirtualMachine', 'VirtualMachineInstance', 'KubeVirt'}
    assert crdgen.load_set('none') == []
    with pytest.raises(ValueError):
        crdgen.load_set('spiderpool-v9')
