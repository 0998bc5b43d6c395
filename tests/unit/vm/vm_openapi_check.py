"""Strict check of a manifest against KubeVirt's OpenAPI (swagger 2.0) document.

Stricter than the API server's pruning: an unknown field anywhere is an error, so a typo in a
rendered field name cannot slip through as silently dropped.
"""
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SWAGGER = ROOT.parent / 'shared' / 'upstream' / 'kubevirt' / 'swagger.json'
TYPES = {'object': dict, 'array': list, 'string': str, 'boolean': bool, 'integer': int, 'number': (int, float)}


def load_swagger():
    if not SWAGGER.exists():
        pytest.skip('KubeVirt swagger.json not found at ../shared/upstream/kubevirt/swagger.json (upstream data absent)')
    return json.loads(SWAGGER.read_text())['definitions']


def _type_ok(value, types):
    types = types if isinstance(types, list) else [types]
    for name in types:
        expected = TYPES.get(name)
        if expected is None:
            return True
        if name in ('integer', 'number') and isinstance(value, bool):
            continue
        if isinstance(value, expected):
            return True
    return False


def validate(obj, definitions, ref='v1.VirtualMachine'):
    """A list of ``path: problem`` strings (empty when valid)."""
    errors = []
    _walk(obj, {'$ref': '#/definitions/' + ref}, definitions, '', errors)
    return errors


def _walk(value, schema, definitions, path, errors):
    while '$ref' in schema:
        schema = definitions[schema['$ref'].rsplit('/', 1)[-1]]
    if value is None:
        if not schema.get('nullable'):
            errors.append('%s: null is not allowed' % (path or '.'))
        return
    if 'type' in schema and not _type_ok(value, schema['type']):
        errors.append('%s: %r is not of type %s' % (path or '.', value, schema['type']))
        return
    if 'enum' in schema and value not in schema['enum']:
        errors.append('%s: %r not in %s' % (path, value, schema['enum']))
    if isinstance(value, dict):
        props = schema.get('properties')
        for req in schema.get('required') or []:
            if req not in value:
                errors.append('%s.%s: required' % (path, req))
        for key, item in value.items():
            if props is not None and key in props:
                _walk(item, props[key], definitions, '%s.%s' % (path, key), errors)
            elif isinstance(schema.get('additionalProperties'), dict):
                _walk(item, schema['additionalProperties'], definitions, '%s.%s' % (path, key), errors)
            elif props is not None or schema.get('additionalProperties') is False:
                errors.append('%s.%s: unknown field' % (path, key))
    elif isinstance(value, list) and 'items' in schema:
        for index, item in enumerate(value):
            _walk(item, schema['items'], definitions, '%s[%d]' % (path, index), errors)
