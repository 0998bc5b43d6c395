"""Pure parts of the emulator: structural schemas, selectors, patches, field ownership."""
import pytest

from lab.kubeapi import managed, patching, schema, selectors
from lab.kubeapi.registry import Resource

SCHEMA = {
    'type': 'object',
    'properties': {
        'spec': {'type': 'object', 'properties': {
            'mode': {'type': 'string', 'enum': ['a', 'b'], 'default': 'a'},
            'count': {'type': 'integer', 'format': 'int32', 'minimum': 0, 'maximum': 10},
            'port': {'x-kubernetes-int-or-string': True},
            'note': {'type': 'string', 'nullable': True},
            'name': {'type': 'string', 'pattern': '^[a-z]+$', 'maxLength': 5},
            'tags': {'type': 'array', 'x-kubernetes-list-type': 'set', 'items': {'type': 'string'}},
            'extra': {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True},
            'labels': {'type': 'object', 'additionalProperties': {'type': 'string'}},
            'nested': {'type': 'object', 'default': {}, 'properties': {'flag': {'type': 'boolean', 'default': True}}},
        }, 'required': ['count']},
    },
}


def test_prune_reports_and_removes_unknown_fields_but_keeps_preserved_ones():
    obj = {'apiVersion': 'x/v1', 'kind': 'X', 'metadata': {'name': 'n', 'bogus': 1},
           'spec': {'count': 1, 'what': 2, 'extra': {'free': {'form': True}}, 'labels': {'a': 'b'}}}
    unknown = schema.prune(obj, SCHEMA, root=True)
    assert sorted(unknown) == ['metadata.bogus', 'spec.what']
    assert obj['spec'] == {'count': 1, 'extra': {'free': {'form': True}}, 'labels': {'a': 'b'}}


def test_defaults_fill_absent_fields_recursively():
    obj = {'spec': {'count': 1}}
    schema.apply_defaults(obj, SCHEMA)
    assert obj['spec'] == {'count': 1, 'mode': 'a', 'nested': {'flag': True}}


def test_nulls_dropped_unless_nullable_and_replaced_by_defaults():
    obj = {'spec': {'count': None, 'note': None, 'mode': None}}
    schema.drop_nulls(obj, SCHEMA)
    assert obj['spec'] == {'note': None, 'mode': 'a'}


@pytest.mark.parametrize('spec,expected', [
    ({}, [('spec.count', 'FieldValueRequired')]),
    ({'count': 11}, [('spec.count', 'FieldValueInvalid')]),
    ({'count': 2 ** 40}, [('spec.count', 'FieldValueInvalid'), ('spec.count', 'FieldValueInvalid')]),
    ({'count': '1'}, [('spec.count', 'FieldValueTypeInvalid')]),
    ({'count': True}, [('spec.count', 'FieldValueTypeInvalid')]),
    ({'count': 1, 'mode': 'c'}, [('spec.mode', 'FieldValueNotSupported')]),
    ({'count': 1, 'port': 1.5}, [('spec.port', 'FieldValueTypeInvalid')]),
    ({'count': 1, 'port': 'http'}, []),
    ({'count': 1, 'name': 'ABC'}, [('spec.name', 'FieldValueInvalid')]),
    ({'count': 1, 'name': 'abcdef'}, [('spec.name', 'FieldValueTooLong')]),
    ({'count': 1, 'tags': ['x', 'x']}, [('spec.tags[1]', 'FieldValueDuplicate')]),
    ({'count': 1, 'labels': {'a': 1}}, [('spec.labels.a', 'FieldValueTypeInvalid')]),
])
def test_validation_causes(spec, expected):
    causes = schema.validate({'spec': spec}, SCHEMA)
    assert [(c['field'], c['reason']) for c in causes] == expected


def test_list_map_keys_must_be_unique():
    list_schema = {'type': 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name', 'proto'],
                   'items': {'type': 'object'}}
    assert schema.validate([{'name': 'a', 'proto': 'tcp'}, {'name': 'a', 'proto': 'udp'}], list_schema) == []
    causes = schema.validate([{'name': 'a', 'proto': 'tcp'}, {'name': 'a', 'proto': 'tcp'}], list_schema)
    assert [c['reason'] for c in causes] == ['FieldValueDuplicate']


def test_structural_problems_need_types():
    assert schema.structural_problems({'type': 'object', 'properties': {'spec': {'type': 'object', 'properties': {
        'x': {}}}}})
    assert schema.structural_problems(SCHEMA) == []


@pytest.mark.parametrize('text,labels,expected', [
    ('app=web', {'app': 'web'}, True),
    ('app==web', {'app': 'db'}, False),
    ('app!=web', {}, True),
    ('app in (web, db),tier', {'app': 'db', 'tier': '1'}, True),
    ('app notin (web)', {'app': 'web'}, False),
    ('!app', {'app': 'web'}, False),
    ('example.com/role', {'example.com/role': ''}, True),
])
def test_label_selectors(text, labels, expected):
    assert selectors.label_matches(selectors.parse_label_selector(text), labels) is expected


def test_bad_selectors_raise():
    with pytest.raises(selectors.SelectorError):
        selectors.parse_label_selector('app in web')
    with pytest.raises(selectors.SelectorError):
        selectors.parse_field_selector('spec.foo=1', [])
    requirements = selectors.parse_field_selector('metadata.name=a,status.phase!=Running', ['status.phase'])
    assert selectors.field_matches(requirements, {'metadata': {'name': 'a'}, 'status': {'phase': 'Pending'}})


def test_merge_patch_rfc7386():
    assert patching.merge_patch({'a': {'b': 1, 'c': 2}, 'l': [1]}, {'a': {'b': None, 'd': 3}, 'l': [2]}) == \
        {'a': {'c': 2, 'd': 3}, 'l': [2]}


def test_strategic_merge_directives():
    keys = {'containers': 'name', 'env': 'name'}
    original = {'containers': [{'name': 'a', 'image': '1', 'env': [{'name': 'X', 'value': '1'}]}, {'name': 'b'}],
                'finalizers': ['x', 'y'], 'selector': {'k': 'v', 'j': 'w'}}
    patch = {'containers': [{'name': 'a', 'env': [{'name': 'Y', 'value': '2'}]}, {'name': 'b', '$patch': 'delete'}],
             '$deleteFromPrimitiveList/finalizers': ['x'], 'selector': {'$patch': 'replace', 'only': 'this'}}
    assert patching.strategic_merge(original, patch, keys) == {
        'containers': [{'name': 'a', 'image': '1', 'env': [{'name': 'X', 'value': '1'}, {'name': 'Y', 'value': '2'}]}],
        'finalizers': ['y'], 'selector': {'only': 'this'}}
    with pytest.raises(patching.PatchError):
        patching.strategic_merge({}, {'$patch': 'explode'}, keys)


CR = Resource('example.com', 'v1', 'widgets', 'Widget', True, custom=True, schema={
    'type': 'object', 'properties': {'spec': {'type': 'object', 'properties': {
        'ports': {'type': 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
                  'items': {'type': 'object', 'properties': {'name': {'type': 'string'}, 'port': {'type': 'integer'}}}},
        'size': {'type': 'integer'}, 'color': {'type': 'string'}}}}})


def widget(**spec):
    return {'apiVersion': 'example.com/v1', 'kind': 'Widget', 'metadata': {'name': 'w'}, 'spec': spec}


def test_field_paths_and_fields_v1_round_trip():
    shape = managed.Shape(CR)
    paths = managed.field_paths(widget(size=1, ports=[{'name': 'a', 'port': 1}]), shape, CR.schema)
    assert paths == {('f:spec', 'f:size'), ('f:spec', 'f:ports', 'k:{"name":"a"}'),
                     ('f:spec', 'f:ports', 'k:{"name":"a"}', 'f:name'), ('f:spec', 'f:ports', 'k:{"name":"a"}', 'f:port')}
    tree = managed.to_fields_v1(paths)
    assert tree['f:spec']['f:ports']['k:{"name":"a"}']['.'] == {}
    assert managed.from_fields_v1(tree) == paths


def test_apply_conflict_force_and_removal_of_dropped_fields():
    shape = managed.Shape(CR)
    args = ('example.com/v1', 'now', shape, CR.schema)
    live, owners = managed.server_side_apply({}, widget(size=1, color='red', ports=[{'name': 'a', 'port': 1}]), [],
                                             'alice', False, *args)
    with pytest.raises(managed.Conflict) as info:
        managed.server_side_apply(live, widget(size=2), owners, 'bob', False, *args)
    assert [(head['manager'], managed.path_text(path)) for head, path in info.value.conflicts] == [('alice', '.spec.size')]
    live, owners = managed.server_side_apply(live, widget(size=2, ports=[{'name': 'b', 'port': 2}]), owners, 'bob', True,
                                             *args)
    assert live['spec']['size'] == 2 and [p['name'] for p in live['spec']['ports']] == ['a', 'b']
    # alice drops color and port a: both go, since nobody else owns them; size now belongs to bob.
    live, owners = managed.server_side_apply(live, widget(size=2), owners, 'alice', False, *args)
    assert live['spec'] == {'size': 2, 'ports': [{'name': 'b', 'port': 2}]}
    assert {head['manager'] for head, _paths in owners} == {'alice', 'bob'}


def test_update_takes_ownership_of_changed_fields():
    shape = managed.Shape(CR)
    old = widget(size=1)
    owners = managed.record_update({}, old, [], 'creator', 'example.com/v1', 't', shape, CR.schema)
    owners = managed.record_update(old, widget(size=1, color='blue'), owners, 'editor', 'example.com/v1', 't', shape, CR.schema)
    owned = {head['manager']: paths for head, paths in owners}
    assert owned == {'creator': {('f:spec', 'f:size')}, 'editor': {('f:spec', 'f:color')}}


def test_printer_column_paths():
    from lab.kubeapi import tables  # pylint: disable=import-outside-toplevel
    obj = {'status': {'conditions': [{'type': 'Ready', 'status': 'True'}, {'type': 'Other', 'status': 'False'}]},
           'spec': {'podAffinity': {'matchLabels': {'ipam.spidernet.io/app-namespace': 'ns1'}}, 'ips': ['a', 'b']}}
    assert tables.evaluate(obj, ".status.conditions[?(@.type=='Ready')].status") == ['True']
    assert tables.evaluate(obj, r".spec.podAffinity.matchLabels['ipam\.spidernet\.io/app\-namespace']") == ['ns1']
    assert tables.evaluate(obj, '.spec.ips[1]') == ['b'] and tables.evaluate(obj, '.spec.ips[*]') == ['a', 'b']
    assert tables.evaluate(obj, '.spec.missing.deeper') == []
    with pytest.raises(tables.JsonPathError):
        tables.parse_path('.spec..ips')


@pytest.mark.parametrize('body, expected', [
    (b'{"metadata": {"name": "a"}, "data": {"n": "1"}}', {'metadata': {'name': 'a'}, 'data': {'n': '1'}}),  # JSON, as clients send
    (b'{metadata: {name: a}}', {'metadata': {'name': 'a'}}),  # flow-style YAML that is not JSON
    (b'metadata:\n  name: a\ndata: {n: "1"}\n', {'metadata': {'name': 'a'}, 'data': {'n': '1'}}),  # block YAML
])
def test_an_apply_body_is_read_as_yaml_whether_or_not_it_is_json(body, expected):
    from lab.kubeapi.api import _yaml_or_json  # pylint: disable=import-outside-toplevel
    assert _yaml_or_json(body) == expected
