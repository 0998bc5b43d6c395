"""Structural-schema handling the way kube-apiserver applies it to custom resources.

Order on every write, as in apiextensions-apiserver: drop nulls on non-nullable fields,
prune unknown fields (or report them for fieldValidation=Strict), apply defaults, then
validate. Errors are returned as Kubernetes "causes" (reason, message, field).
"""
import re

INT_FORMATS = {'int32': (-2 ** 31, 2 ** 31 - 1), 'int64': (-2 ** 63, 2 ** 63 - 1)}
# Fields every object keeps whatever its schema says; the server handles them itself.
ROOT_FIELDS = ('apiVersion', 'kind', 'metadata')


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def type_name(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if _is_int(value):
        return 'integer'
    if isinstance(value, float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'array'
    return 'object'


def _child_path(path, key):
    return '%s.%s' % (path, key) if path else key


def _item_path(path, index):
    return '%s[%d]' % (path, index)


def _quote(value):
    if isinstance(value, str):
        return '"%s"' % value
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if value is None:
        return 'null'
    if isinstance(value, (dict, list)):
        return _short(value)
    return str(value)


def _short(value):
    text = repr(value)
    return text if len(text) < 80 else text[:77] + '...'


def _preserves(schema):
    return bool(schema.get('x-kubernetes-preserve-unknown-fields'))


def _is_int_or_string(schema):
    return bool(schema.get('x-kubernetes-int-or-string'))


# ---------------------------------------------------------------- nulls and pruning

def drop_nulls(value, schema):
    """Remove null values of fields whose schema is not nullable (kubevirt.core sends some)."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get('properties') or {}
        extra = schema.get('additionalProperties')
        for key in list(value):
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if value[key] is None:
                if sub is not None and not sub.get('nullable'):
                    if 'default' in sub:
                        value[key] = _copy(sub['default'])
                    else:
                        del value[key]
            elif sub is not None:
                drop_nulls(value[key], sub)
    elif isinstance(value, list) and isinstance(schema.get('items'), dict):
        items = schema['items']
        if not items.get('nullable'):
            value[:] = [item for item in value if item is not None]
        for item in value:
            drop_nulls(item, items)
    return value


def prune(value, schema, path='', unknown=None, root=False):
    """Drop fields the schema does not know; record their paths in ``unknown``."""
    unknown = [] if unknown is None else unknown
    if not isinstance(schema, dict):
        return unknown
    if isinstance(value, dict):
        props = schema.get('properties')
        extra = schema.get('additionalProperties')
        keep_unknown = _preserves(schema)
        if props is None and extra is None and (keep_unknown or schema.get('type') != 'object'):
            return unknown
        for key in list(value):
            if root and key in ROOT_FIELDS:
                if key == 'metadata' and isinstance(value[key], dict):
                    _prune_metadata(value[key], unknown)
                continue
            sub = (props or {}).get(key)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is None and extra is True:
                continue
            if sub is None:
                if not keep_unknown:
                    unknown.append(_child_path(path, key))
                    del value[key]
                continue
            prune(value[key], sub, _child_path(path, key), unknown)
    elif isinstance(value, list) and isinstance(schema.get('items'), dict):
        for index, item in enumerate(value):
            prune(item, schema['items'], _item_path(path, index), unknown)
    return unknown


OBJECT_META_FIELDS = {
    'name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
    'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences',
    'finalizers', 'managedFields', 'selfLink',
}


def _prune_metadata(meta, unknown):
    for key in list(meta):
        if key not in OBJECT_META_FIELDS:
            unknown.append('metadata.' + key)
            del meta[key]


# ---------------------------------------------------------------- defaulting

def apply_defaults(value, schema):
    """Fill ``default`` values of absent properties, recursing into present objects and lists."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get('properties') or {}
        for key, sub in props.items():
            if key not in value and isinstance(sub, dict) and 'default' in sub:
                value[key] = _copy(sub['default'])
        for key, item in value.items():
            sub = props.get(key)
            if sub is None and isinstance(schema.get('additionalProperties'), dict):
                sub = schema['additionalProperties']
            if sub is not None:
                apply_defaults(item, sub)
    elif isinstance(value, list) and isinstance(schema.get('items'), dict):
        for item in value:
            apply_defaults(item, schema['items'])
    return value


def _copy(value):
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# ---------------------------------------------------------------- validation

def cause(reason, field, message):
    return {'reason': reason, 'field': field, 'message': message}


def invalid(field, value, detail):
    return cause('FieldValueInvalid', field, 'Invalid value: %s: %s' % (_quote(value), detail))


def validate(value, schema, path=''):
    """Return the list of causes for ``value`` against a structural schema."""
    errors = []
    _validate(value, schema, path, errors)
    return errors


def _validate(value, schema, path, errors):  # noqa: C901 - one rule per keyword, kept flat
    if not isinstance(schema, dict):
        return
    shown = path or '<root>'
    if value is None:
        if not schema.get('nullable') and schema.get('type'):
            errors.append(invalid(shown, value, '%s in body must be of type %s: "null"' % (shown, schema['type'])))
        return
    if not _check_type(value, schema, shown, errors):
        return
    _check_scalar(value, schema, shown, errors)
    if isinstance(value, dict):
        _check_object(value, schema, path, shown, errors)
    elif isinstance(value, list):
        _check_array(value, schema, path, shown, errors)
    for sub in schema.get('allOf') or []:
        _validate(value, sub, path, errors)
    if schema.get('anyOf'):
        if not any(not validate(value, sub, path) for sub in schema['anyOf']):
            errors.append(invalid(shown, value, '%s in body must match at least one schema in anyOf' % shown))
    if schema.get('oneOf'):
        matches = sum(1 for sub in schema['oneOf'] if not validate(value, sub, path))
        if matches != 1:
            errors.append(invalid(shown, value, '%s in body must match exactly one schema in oneOf' % shown))
    if isinstance(schema.get('not'), dict) and not validate(value, schema['not'], path):
        errors.append(invalid(shown, value, '%s in body should not match the schema in not' % shown))


def _check_type(value, schema, shown, errors):
    wanted = schema.get('type')
    if _is_int_or_string(schema):
        if not (_is_int(value) or isinstance(value, str)):
            errors.append(cause('FieldValueTypeInvalid', shown,
                                'Invalid value: %s: %s in body must be of type integer,string: "%s"'
                                % (_quote(value), shown, type_name(value))))
            return False
        return True
    if not wanted:
        return True
    actual = type_name(value)
    ok = actual == wanted or (wanted == 'number' and actual == 'integer') or \
        (wanted == 'integer' and isinstance(value, float) and value.is_integer())
    if not ok:
        errors.append(cause('FieldValueTypeInvalid', shown, 'Invalid value: "%s": %s in body must be of type %s: "%s"'
                            % (actual, shown, wanted, actual)))
    return ok


def _check_scalar(value, schema, shown, errors):  # noqa: C901
    if 'enum' in schema and value not in schema['enum']:
        supported = ', '.join(_quote(item) for item in schema['enum'])
        errors.append(cause('FieldValueNotSupported', shown,
                            'Unsupported value: %s: supported values: %s' % (_quote(value), supported)))
    if _is_number(value):
        if 'maximum' in schema:
            if schema.get('exclusiveMaximum') and value >= schema['maximum']:
                errors.append(invalid(shown, value, '%s in body should be less than %s' % (shown, schema['maximum'])))
            elif value > schema['maximum']:
                errors.append(invalid(shown, value, '%s in body should be less than or equal to %s' % (shown, schema['maximum'])))
        if 'minimum' in schema:
            if schema.get('exclusiveMinimum') and value <= schema['minimum']:
                errors.append(invalid(shown, value, '%s in body should be greater than %s' % (shown, schema['minimum'])))
            elif value < schema['minimum']:
                errors.append(invalid(shown, value, '%s in body should be greater than or equal to %s' % (shown, schema['minimum'])))
        if schema.get('multipleOf') and value % schema['multipleOf']:
            errors.append(invalid(shown, value, '%s in body should be a multiple of %s' % (shown, schema['multipleOf'])))
        bounds = INT_FORMATS.get(schema.get('format'))
        if bounds and _is_int(value) and not bounds[0] <= value <= bounds[1]:
            errors.append(invalid(shown, value, '%s in body must be of type %s' % (shown, schema['format'])))
    if isinstance(value, str):
        if 'maxLength' in schema and len(value) > schema['maxLength']:
            errors.append(cause('FieldValueTooLong', shown, 'Too long: may not be more than %d bytes' % schema['maxLength']))
        if 'minLength' in schema and len(value) < schema['minLength']:
            errors.append(invalid(shown, value, '%s in body should be at least %d chars long' % (shown, schema['minLength'])))
        if 'pattern' in schema and not re.search(schema['pattern'], value):
            errors.append(invalid(shown, value, "%s in body should match '%s'" % (shown, schema['pattern'])))


def _check_object(value, schema, path, shown, errors):
    for key in schema.get('required') or []:
        if key not in value:
            errors.append(cause('FieldValueRequired', _child_path(path, key), 'Required value'))
    if 'maxProperties' in schema and len(value) > schema['maxProperties']:
        errors.append(cause('FieldValueTooMany', shown, 'Too many: %d: must have at most %d items' % (len(value), schema['maxProperties'])))
    if 'minProperties' in schema and len(value) < schema['minProperties']:
        errors.append(invalid(shown, len(value), '%s in body should have at least %d properties' % (shown, schema['minProperties'])))
    props = schema.get('properties') or {}
    extra = schema.get('additionalProperties')
    for key, item in value.items():
        sub = props.get(key)
        if sub is None and isinstance(extra, dict):
            sub = extra
        if sub is not None:
            _validate(item, sub, _child_path(path, key), errors)


def _check_array(value, schema, path, shown, errors):
    if 'maxItems' in schema and len(value) > schema['maxItems']:
        errors.append(cause('FieldValueTooMany', shown, 'Too many: %d: must have at most %d items' % (len(value), schema['maxItems'])))
    if 'minItems' in schema and len(value) < schema['minItems']:
        errors.append(invalid(shown, len(value), '%s in body should have at least %d items' % (shown, schema['minItems'])))
    list_type = schema.get('x-kubernetes-list-type')
    if schema.get('uniqueItems') or list_type == 'set':
        seen = []
        for index, item in enumerate(value):
            if item in seen:
                errors.append(cause('FieldValueDuplicate', _item_path(path, index), 'Duplicate value: %s' % _quote(item)))
            else:
                seen.append(item)
    if list_type == 'map':
        keys = schema.get('x-kubernetes-list-map-keys') or []
        seen = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            ident = {key: item.get(key) for key in keys}
            if ident in seen:
                errors.append(cause('FieldValueDuplicate', _item_path(path, index), 'Duplicate value: %s' % _map_key_text(ident)))
            else:
                seen.append(ident)
    if isinstance(schema.get('items'), dict):
        for index, item in enumerate(value):
            _validate(item, schema['items'], _item_path(path, index), errors)


def _map_key_text(ident):
    return 'map[string]interface {}{%s}' % ', '.join('"%s":%s' % (key, _quote(val)) for key, val in ident.items())


# ---------------------------------------------------------------- schema checks on CRD registration

def structural_problems(schema, path='spec.validation.openAPIV3Schema'):
    """A short list of reasons a CRD schema is not structural (every node needs a type)."""
    problems = []
    if not isinstance(schema, dict):
        return ['%s: Required value: must be an object' % path]
    if not schema.get('type') and not _preserves(schema) and not _is_int_or_string(schema) and path.count('.') > 2:
        problems.append('%s.type: Required value: must not be empty for specified object fields' % path)
    for key, sub in (schema.get('properties') or {}).items():
        problems += structural_problems(sub, '%s.properties[%s]' % (path, key))
    if isinstance(schema.get('items'), dict):
        problems += structural_problems(schema['items'], path + '.items')
    if isinstance(schema.get('additionalProperties'), dict):
        problems += structural_problems(schema['additionalProperties'], path + '.additionalProperties')
    if schema.get('properties') and isinstance(schema.get('additionalProperties'), dict):
        problems.append('%s.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive' % path)
    return problems
