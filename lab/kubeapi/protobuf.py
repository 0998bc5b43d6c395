"""Kubernetes' protobuf encoding, as far as real clients use it against this emulator.

- Request bodies of type ``application/vnd.kubernetes.protobuf``: the 4-byte magic ``k8s\\0``
  and a ``runtime.Unknown`` envelope (type meta plus the object's own message in ``raw``).
  client-go's typed clients send built-in kinds this way: ``kubectl create namespace``,
  ``kubectl create configmap|secret|serviceaccount``, helm's Secret release storage (create,
  update, delete options). :func:`decode_object` turns such a body into the JSON object the
  API server would have decoded; kinds without a message table here raise
  :class:`Unsupported` (answered 415).
- ``/openapi/v2`` in the form client-go asks for (``Accept:
  application/com.github.proto-openapi.spec.v2@v1.0+protobuf``): a gnostic
  ``openapi.v2.Document``. :func:`encode_openapi_v2` encodes the emulator's JSON document.

Field numbers are those of Kubernetes' generated.proto files (k8s.io/api core/v1,
k8s.io/apimachinery meta/v1 and runtime) and of gnostic's OpenAPIv2.proto.
"""
import base64
import datetime
import json
import struct

import yaml

MAGIC = b'k8s\x00'
MEDIA_TYPE = 'application/vnd.kubernetes.protobuf'
# What the API server answers with (kube-openapi's handler), whichever of the two spellings
# the client asked for; client-go asks with the deprecated '@' one.
OPENAPI_V2_MEDIA_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'
OPENAPI_V2_MEDIA_TYPES = (OPENAPI_V2_MEDIA_TYPE, 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf')

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class DecodeError(ValueError):
    """The bytes are not a well-formed protobuf message of the expected shape."""


class Unsupported(ValueError):
    """A well-formed envelope around a kind this emulator has no message table for."""


# ---------------------------------------------------------------- wire format

def _varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data):
            raise DecodeError('truncated varint')
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError('varint too long')


def fields(data):
    """(field number, wire type, value) of each field of one message, in order."""
    pos = 0
    data = bytes(data)
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise DecodeError('field number 0')
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == LENGTH:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise DecodeError('truncated field %d' % number)
            value, pos = data[pos:pos + size], pos + size
        elif wire == FIXED64:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == FIXED32:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise DecodeError('unsupported wire type %d in field %d' % (wire, number))
        if pos > len(data):
            raise DecodeError('truncated field %d' % number)
        yield number, wire, value


def _key(number, wire):
    return _encode_varint(number << 3 | wire)


def _encode_varint(value):
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def put_bytes(number, data):
    return _key(number, LENGTH) + _encode_varint(len(data)) + data


def put_string(number, text):
    return put_bytes(number, text.encode('utf-8'))


def put_varint(number, value):
    return _key(number, VARINT) + _encode_varint(int(value))


def put_double(number, value):
    return _key(number, FIXED64) + struct.pack('<d', float(value))


# ---------------------------------------------------------------- Kubernetes messages (decoding)
# Each table: field number -> (JSON name, type, flags). Types: 'string', 'bytes' (base64 in
# JSON), 'int', 'bool', 'time', 'fieldsv1', 'map' (string to string), 'map-bytes' (string to
# base64), or the name of another table. Flags: 'repeated', 'pointer' (a Go pointer field:
# present means set, even at its zero value; other fields at their zero value are omitted,
# as Go's JSON encoding with omitempty does).

MESSAGES = {
    'TypeMeta': {1: ('apiVersion', 'string', ''), 2: ('kind', 'string', '')},
    'Unknown': {1: ('typeMeta', 'TypeMeta', ''), 2: ('raw', 'raw', ''), 3: ('contentEncoding', 'string', ''),
                4: ('contentType', 'string', '')},
    'ObjectMeta': {
        1: ('name', 'string', ''), 2: ('generateName', 'string', ''), 3: ('namespace', 'string', ''),
        4: ('selfLink', 'string', ''), 5: ('uid', 'string', ''), 6: ('resourceVersion', 'string', ''),
        7: ('generation', 'int', ''), 8: ('creationTimestamp', 'time', ''), 9: ('deletionTimestamp', 'time', 'pointer'),
        10: ('deletionGracePeriodSeconds', 'int', 'pointer'), 11: ('labels', 'map', ''), 12: ('annotations', 'map', ''),
        13: ('ownerReferences', 'OwnerReference', 'repeated'), 14: ('finalizers', 'string', 'repeated'),
        17: ('managedFields', 'ManagedFieldsEntry', 'repeated'),
    },
    'OwnerReference': {5: ('apiVersion', 'string', ''), 1: ('kind', 'string', ''), 3: ('name', 'string', ''),
                       4: ('uid', 'string', ''), 6: ('controller', 'bool', 'pointer'),
                       7: ('blockOwnerDeletion', 'bool', 'pointer')},
    'ManagedFieldsEntry': {1: ('manager', 'string', ''), 2: ('operation', 'string', ''), 3: ('apiVersion', 'string', ''),
                           4: ('time', 'time', 'pointer'), 6: ('fieldsType', 'string', ''),
                           7: ('fieldsV1', 'fieldsv1', 'pointer'), 8: ('subresource', 'string', '')},
    'Namespace': {1: ('metadata', 'ObjectMeta', ''), 2: ('spec', 'NamespaceSpec', ''), 3: ('status', 'NamespaceStatus', '')},
    'NamespaceSpec': {1: ('finalizers', 'string', 'repeated')},
    'NamespaceStatus': {1: ('phase', 'string', ''), 2: ('conditions', 'NamespaceCondition', 'repeated')},
    'NamespaceCondition': {1: ('type', 'string', ''), 2: ('status', 'string', ''), 4: ('lastTransitionTime', 'time', ''),
                           5: ('reason', 'string', ''), 6: ('message', 'string', '')},
    'ConfigMap': {1: ('metadata', 'ObjectMeta', ''), 4: ('immutable', 'bool', 'pointer'), 2: ('data', 'map', ''),
                  3: ('binaryData', 'map-bytes', '')},
    'Secret': {1: ('metadata', 'ObjectMeta', ''), 5: ('immutable', 'bool', 'pointer'), 2: ('data', 'map-bytes', ''),
               4: ('stringData', 'map', ''), 3: ('type', 'string', '')},
    'ServiceAccount': {1: ('metadata', 'ObjectMeta', ''), 2: ('secrets', 'ObjectReference', 'repeated'),
                       3: ('imagePullSecrets', 'LocalObjectReference', 'repeated'),
                       4: ('automountServiceAccountToken', 'bool', 'pointer')},
    'ObjectReference': {1: ('kind', 'string', ''), 2: ('namespace', 'string', ''), 3: ('name', 'string', ''),
                        4: ('uid', 'string', ''), 5: ('apiVersion', 'string', ''), 6: ('resourceVersion', 'string', ''),
                        7: ('fieldPath', 'string', '')},
    'LocalObjectReference': {1: ('name', 'string', '')},
    'DeleteOptions': {1: ('gracePeriodSeconds', 'int', 'pointer'), 2: ('preconditions', 'Preconditions', 'pointer'),
                      3: ('orphanDependents', 'bool', 'pointer'), 4: ('propagationPolicy', 'string', 'pointer'),
                      5: ('dryRun', 'string', 'repeated'),
                      6: ('ignoreStoreReadErrorWithClusterBreakingPotential', 'bool', 'pointer')},
    'Preconditions': {1: ('uid', 'string', 'pointer'), 2: ('resourceVersion', 'string', 'pointer')},
}
# (apiVersion, kind) -> message table of the object; DeleteOptions is accepted under any group.
OBJECT_KINDS = {('v1', 'Namespace'): 'Namespace', ('v1', 'ConfigMap'): 'ConfigMap', ('v1', 'Secret'): 'Secret',
                ('v1', 'ServiceAccount'): 'ServiceAccount'}
OPTION_KINDS = {'DeleteOptions': 'DeleteOptions'}


def _scalar(kind, wire, value, number):
    if kind in ('string', 'bytes', 'raw', 'fieldsv1', 'time', 'map', 'map-bytes') or kind in MESSAGES:
        if wire != LENGTH:
            raise DecodeError('field %d: expected a length-delimited value' % number)
    elif wire != VARINT:
        raise DecodeError('field %d: expected a varint' % number)
    if kind == 'string':
        try:
            return value.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise DecodeError('field %d: invalid UTF-8' % number) from exc
    if kind == 'int':
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == 'bool':
        return bool(value)
    return value


def _time(data):
    seconds = nanos = 0
    for number, wire, value in fields(data):
        if number == 1 and wire == VARINT:
            seconds = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 2 and wire == VARINT:
            nanos = value
    if seconds == 0 and nanos == 0:
        return None  # the zero time: Go encodes it as null
    moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def _map_entry(data, value_kind):
    key, value = '', b'' if value_kind == 'map-bytes' else ''
    for number, _wire, item in fields(data):
        if number == 1:
            key = item.decode('utf-8')
        elif number == 2:
            value = item if value_kind == 'map-bytes' else item.decode('utf-8')
    if value_kind == 'map-bytes':
        value = base64.b64encode(value).decode()
    return key, value


def decode_message(data, name):
    """One message of table ``name`` as a JSON-style dict."""
    table = MESSAGES[name]
    result = {}
    for number, wire, value in fields(data):
        if number not in table:
            continue  # unknown field: the Go decoder skips it too
        json_name, kind, flags = table[number]
        if kind in ('map', 'map-bytes'):
            if wire != LENGTH:
                raise DecodeError('field %d: expected a map entry' % number)
            key, item = _map_entry(value, kind)
            result.setdefault(json_name, {})[key] = item
            continue
        item = _scalar(kind, wire, value, number)
        if kind in MESSAGES:
            item = decode_message(item, kind)
        elif kind == 'time':
            item = _time(item)
        elif kind == 'fieldsv1':
            item = _fields_v1(item)
        elif kind == 'bytes':
            item = base64.b64encode(item).decode()
        if 'repeated' in flags:
            result.setdefault(json_name, []).append(item)
        else:
            result[json_name] = item
    for json_name, kind, flags in table.values():
        if json_name in result and 'pointer' not in flags and 'repeated' not in flags and \
                result[json_name] in ('', 0, False, None, {}) and kind not in MESSAGES:
            del result[json_name]
    return result


def _fields_v1(data):
    for number, _wire, value in fields(data):
        if number == 1:
            try:
                return json.loads(value)
            except ValueError as exc:
                raise DecodeError('fieldsV1: not JSON') from exc
    return {}


def decode_object(body):
    """The JSON object of a protobuf request body (magic + runtime.Unknown)."""
    if not body.startswith(MAGIC):
        raise DecodeError('missing the protobuf magic prefix')
    envelope = decode_message(body[len(MAGIC):], 'Unknown')
    if envelope.get('contentEncoding'):
        raise DecodeError('content encoding %r is not supported' % envelope['contentEncoding'])
    type_meta = envelope.get('typeMeta') or {}
    api_version, kind = type_meta.get('apiVersion', ''), type_meta.get('kind', '')
    table = OBJECT_KINDS.get((api_version, kind)) or OPTION_KINDS.get(kind)
    if table is None:
        raise Unsupported('%s %s' % (api_version or '<no apiVersion>', kind or '<no kind>'))
    obj = decode_message(envelope.get('raw') or b'', table)
    if api_version:
        obj['apiVersion'] = api_version
    if kind:
        obj['kind'] = kind
    if 'metadata' in obj and not obj['metadata']:
        obj['metadata'] = {}
    return obj


# ---------------------------------------------------------------- OpenAPI v2 (gnostic openapi.v2.Document), encoding

def _any(value):
    """gnostic Any: the value as YAML text (field 2), as the API server writes it."""
    return put_string(2, yaml.safe_dump(value, default_flow_style=True, width=1 << 20).strip())


def _named_any(number, name, value):
    return put_bytes(number, put_string(1, name) + put_bytes(2, _any(value)))


SCHEMA_STRINGS = {'$ref': 1, 'format': 2, 'title': 3, 'description': 4, 'pattern': 13, 'discriminator': 26}
SCHEMA_DOUBLES = {'multipleOf': 6, 'maximum': 7, 'minimum': 9}
SCHEMA_BOOLS = {'exclusiveMaximum': 8, 'exclusiveMinimum': 10, 'uniqueItems': 16, 'readOnly': 27}
SCHEMA_INTS = {'maxLength': 11, 'minLength': 12, 'maxItems': 14, 'minItems': 15, 'maxProperties': 17, 'minProperties': 18}


def encode_schema(schema):
    """A JSON schema as gnostic Schema. Keywords OpenAPI v2 lacks (anyOf, oneOf, not, nullable)
    are left out, as the API server does when it publishes CRD schemas in v2; x-* keys become
    vendor extensions."""
    out = bytearray()
    for key in sorted(schema):
        value = schema[key]
        if key in SCHEMA_STRINGS and isinstance(value, str):
            out += put_string(SCHEMA_STRINGS[key], value)
        elif key in SCHEMA_DOUBLES and isinstance(value, (int, float)) and not isinstance(value, bool):
            out += put_double(SCHEMA_DOUBLES[key], value)
        elif key in SCHEMA_BOOLS and isinstance(value, bool):
            if value:
                out += put_varint(SCHEMA_BOOLS[key], 1)
        elif key in SCHEMA_INTS and isinstance(value, int):
            out += put_varint(SCHEMA_INTS[key], value)
        elif key == 'default':
            out += put_bytes(5, _any(value))
        elif key == 'example':
            out += put_bytes(30, _any(value))
        elif key == 'required':
            for name in value:
                out += put_string(19, name)
        elif key == 'enum':
            for item in value:
                out += put_bytes(20, _any(item))
        elif key == 'additionalProperties':
            item = put_bytes(1, encode_schema(value)) if isinstance(value, dict) else put_varint(2, bool(value))
            out += put_bytes(21, item)
        elif key == 'type':
            names = value if isinstance(value, list) else [value]
            out += put_bytes(22, b''.join(put_string(1, name) for name in names))
        elif key == 'items' and isinstance(value, dict):
            out += put_bytes(23, put_bytes(1, encode_schema(value)))
        elif key == 'allOf':
            for sub in value:
                out += put_bytes(24, encode_schema(sub))
        elif key == 'properties':
            named = b''.join(put_bytes(1, put_string(1, name) + put_bytes(2, encode_schema(sub)))
                             for name, sub in sorted(value.items()))
            out += put_bytes(25, named)
        elif key.startswith('x-'):
            out += _named_any(31, key, value)
    return bytes(out)


def _parameter(param):
    """gnostic ParametersItem for a query or path parameter (non-body)."""
    if param.get('in') == 'path':
        sub = put_varint(1, 1) + put_string(2, 'path') + put_string(4, param['name']) + put_string(5, param.get('type', 'string'))
        if param.get('uniqueItems'):
            sub += put_varint(19, 1)
        non_body = put_bytes(4, sub)
    else:
        sub = put_string(2, param.get('in', 'query')) + put_string(4, param['name']) + put_string(6, param.get('type', 'string'))
        if param.get('description'):
            sub += put_string(3, param['description'])
        if param.get('uniqueItems'):
            sub += put_varint(20, 1)
        non_body = put_bytes(3, sub)
    return put_bytes(1, put_bytes(2, non_body))


def _responses(responses):
    out = bytearray()
    for code, response in sorted(responses.items()):
        body = put_string(1, response.get('description', ''))
        if isinstance(response.get('schema'), dict):
            body += put_bytes(2, put_bytes(1, encode_schema(response['schema'])))
        out += put_bytes(1, put_string(1, code) + put_bytes(2, put_bytes(1, body)))
    return bytes(out)


OPERATIONS = {'get': 2, 'put': 3, 'post': 4, 'delete': 5, 'options': 6, 'head': 7, 'patch': 8}


def _operation(op):
    out = bytearray()
    for tag in op.get('tags') or []:
        out += put_string(1, tag)
    if op.get('description'):
        out += put_string(3, op['description'])
    if op.get('operationId'):
        out += put_string(5, op['operationId'])
    for media in op.get('produces') or []:
        out += put_string(6, media)
    for media in op.get('consumes') or []:
        out += put_string(7, media)
    for param in op.get('parameters') or []:
        out += put_bytes(8, _parameter(param))
    if op.get('responses'):
        out += put_bytes(9, _responses(op['responses']))
    for key in sorted(op):
        if key.startswith('x-'):
            out += _named_any(13, key, op[key])
    return bytes(out)


def _path_item(item):
    out = bytearray()
    for verb, number in sorted(OPERATIONS.items(), key=lambda pair: pair[1]):
        if verb in item:
            out += put_bytes(number, _operation(item[verb]))
    for param in item.get('parameters') or []:
        out += put_bytes(9, _parameter(param))
    return bytes(out)


def encode_openapi_v2(document):
    """The emulator's /openapi/v2 JSON document as a serialized gnostic openapi.v2.Document."""
    out = bytearray(put_string(1, document.get('swagger', '2.0')))
    info = document.get('info') or {}
    out += put_bytes(2, put_string(1, info.get('title', '')) + put_string(2, info.get('version', '')))
    paths = b''.join(put_bytes(2, put_string(1, path) + put_bytes(2, _path_item(item)))
                     for path, item in sorted((document.get('paths') or {}).items()))
    out += put_bytes(8, paths)
    definitions = b''.join(put_bytes(1, put_string(1, name) + put_bytes(2, encode_schema(schema)))
                           for name, schema in sorted((document.get('definitions') or {}).items()))
    out += put_bytes(9, definitions)
    return bytes(out)
