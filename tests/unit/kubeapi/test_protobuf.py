"""The emulator's protobuf parts: request bodies real kubectl sent, and the OpenAPI v2 document."""
import pytest

from lab.kubeapi import protobuf

# Bodies kubectl 1.32 sent (captured on the wire): create namespace x, create configmap c2
# --from-literal=mode=fast, create secret generic s2 --from-literal=token=abc.
KUBECTL_NAMESPACE = bytes.fromhex('6b3873000a0f0a02763112094e616d65737061636512190a110a017812001a0022002a0032003800420012001a02'
                                  '0a001a002200')
KUBECTL_CONFIGMAP = bytes.fromhex('6b3873000a0f0a0276311209436f6e6669674d617012220a120a02633212001a0022002a00320038004200'
                                  '120c0a046d6f64651204666173741a002200')
KUBECTL_SECRET = bytes.fromhex('6b3873000a0c0a027631120653656372657412240a120a02733212001a0022002a00320038004200'
                               '120c0a05746f6b656e12036162631a001a002200')


def test_kubectl_bodies_decode_to_the_objects_they_carry():
    assert protobuf.decode_object(KUBECTL_NAMESPACE) == {
        'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'x'}, 'spec': {}, 'status': {}}
    assert protobuf.decode_object(KUBECTL_CONFIGMAP) == {
        'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'c2'}, 'data': {'mode': 'fast'}}
    # Secret data is bytes in protobuf and base64 in JSON.
    assert protobuf.decode_object(KUBECTL_SECRET) == {
        'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 's2'}, 'data': {'token': 'YWJj'}}


def envelope(api_version, kind, raw):
    type_meta = protobuf.put_string(1, api_version) + protobuf.put_string(2, kind)
    return protobuf.MAGIC + protobuf.put_bytes(1, type_meta) + protobuf.put_bytes(2, raw)


def test_pointer_fields_keep_their_zero_values_and_metadata_is_complete():
    meta = (protobuf.put_string(1, 'r') + protobuf.put_string(3, 'kube-system')
            + protobuf.put_bytes(11, protobuf.put_string(1, 'owner') + protobuf.put_string(2, 'helm'))
            + protobuf.put_bytes(13, protobuf.put_string(1, 'Deployment') + protobuf.put_string(3, 'd')
                                 + protobuf.put_string(4, 'u-1') + protobuf.put_string(5, 'apps/v1') + protobuf.put_varint(6, 1))
            + protobuf.put_bytes(8, protobuf.put_varint(1, 1796299392)))
    body = envelope('v1', 'Secret', protobuf.put_bytes(1, meta) + protobuf.put_varint(5, 0) + protobuf.put_string(3, 'helm.sh/release.v1'))
    assert protobuf.decode_object(body) == {
        'apiVersion': 'v1', 'kind': 'Secret', 'type': 'helm.sh/release.v1', 'immutable': False,
        'metadata': {'name': 'r', 'namespace': 'kube-system', 'labels': {'owner': 'helm'}, 'creationTimestamp': '2026-12-03T12:03:12Z',
                     'ownerReferences': [{'kind': 'Deployment', 'name': 'd', 'uid': 'u-1', 'apiVersion': 'apps/v1', 'controller': True}]}}


def test_delete_options_of_any_group():
    raw = protobuf.put_string(4, 'Background') + protobuf.put_bytes(2, protobuf.put_string(1, 'u-1')) + protobuf.put_string(5, 'All')
    assert protobuf.decode_object(envelope('meta.k8s.io/v1', 'DeleteOptions', raw)) == {
        'apiVersion': 'meta.k8s.io/v1', 'kind': 'DeleteOptions', 'propagationPolicy': 'Background',
        'preconditions': {'uid': 'u-1'}, 'dryRun': ['All']}


@pytest.mark.parametrize('body, error', [
    (b'{"kind": "Namespace"}', protobuf.DecodeError),
    (protobuf.MAGIC + b'\x0a\xff', protobuf.DecodeError),
    (envelope('apps/v1', 'Deployment', b''), protobuf.Unsupported),
])
def test_what_cannot_be_decoded_says_so(body, error):
    with pytest.raises(error):
        protobuf.decode_object(body)


def parse(data, path=()):
    """Every (field path, value) of a message, reading nested messages where they parse."""
    found = []
    for number, wire, value in protobuf.fields(data):
        where = path + (number,)
        found.append((where, value))
        if wire == protobuf.LENGTH:
            try:
                found += parse(value, where)
            except protobuf.DecodeError:
                pass
    return found


def test_openapi_v2_document_carries_definitions_types_and_extensions():
    document = {'swagger': '2.0', 'info': {'title': 'Kubernetes', 'version': 'v1.32.0'}, 'paths': {}, 'definitions': {
        'io.k8s.api.core.v1.ConfigMap': {'type': 'object', 'required': ['data'], 'properties': {
            'data': {'type': 'object', 'additionalProperties': {'type': 'string'}},
            'list': {'type': 'array', 'items': {'type': 'integer', 'format': 'int32'}},
            'either': {'anyOf': [{'type': 'string'}], 'nullable': True}},
            'x-kubernetes-group-version-kind': [{'group': '', 'version': 'v1', 'kind': 'ConfigMap'}]}}}
    fields = parse(protobuf.encode_openapi_v2(document))
    values = dict(fields)
    assert values[(1,)] == b'2.0'
    # Document.definitions(9).additional_properties(1).name(1) / .value(2) = Schema
    assert values[(9, 1, 1)] == b'io.k8s.api.core.v1.ConfigMap'
    schema = {path[3:]: value for path, value in fields if path[:3] == (9, 1, 2)}
    assert schema[(22, 1)] == b'object' and schema[(19,)] == b'data'  # type, required
    assert schema[(31, 1)] == b'x-kubernetes-group-version-kind'  # vendor extension, its value as YAML
    assert b'kind: ConfigMap' in schema[(31, 2, 2)]
    names = [value for path, value in fields if path[:5] == (9, 1, 2, 25, 1) and path[5:] == (1,)]
    assert sorted(names) == [b'data', b'either', b'list']
    assert not any(b'anyOf' in value or b'nullable' in value for _path, value in fields if isinstance(value, bytes))
