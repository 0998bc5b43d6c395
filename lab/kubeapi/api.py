"""The API semantics: storage, verbs, admission of objects, watch events. No HTTP here.

``Api.handle(request)`` takes a parsed request and returns a ``Response`` (or raises
``ApiError``); the HTTP layer in ``server.py`` only moves bytes.
"""
import base64
import binascii
import copy
import json
import re
import threading
import time
import uuid
from collections import deque

import jsonpatch
import yaml

from lab.kubeapi import builtin_defaults, builtin_rules, managed, patching, protobuf, schema as structural, selectors
from lab.kubeapi.registry import Registry

BUILTIN_NAMESPACES = ('default', 'kube-system', 'kube-public', 'kube-node-lease')
EVENT_HISTORY = 20000
KUBEVIRT_SUBRESOURCES = 'subresources.kubevirt.io'
DNS1123_SUBDOMAIN = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
LABEL_VALUE = re.compile(r'^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$')
PATCH_TYPES = ('application/json-patch+json', 'application/merge-patch+json',
               'application/strategic-merge-patch+json', 'application/apply-patch+yaml')
REASONS = {400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
           406: 'NotAcceptable', 409: 'Conflict', 410: 'Expired', 415: 'UnsupportedMediaType', 422: 'Invalid',
           429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout'}


def now_text():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


class ApiError(Exception):
    """An error answered as a ``Status`` object."""

    def __init__(self, code, message, reason=None, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, 'Unknown')
        self.details = details
        self.headers = headers or {}

    def status(self):
        body = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': self.message,
                'reason': self.reason, 'code': self.code}
        if self.details:
            body['details'] = self.details
        return body


class Response:
    """Status code, JSON body (or a generator of chunks for watch) and extra headers."""

    def __init__(self, code, body=None, headers=None, stream=None, content_type='application/json'):
        self.code = code
        self.body = body
        self.headers = headers or {}
        self.stream = stream
        self.content_type = content_type


class Request:  # pylint: disable=too-many-instance-attributes
    """A classified API request."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query  # {name: [values]}
        self.headers = headers  # lower-case names
        self.body = body
        self.group = self.version = self.resource = self.namespace = self.name = self.subresource = None
        self.verb = None
        self.res = None
        self.warnings = []

    def param(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    @property
    def dry_run(self):
        return bool(self.query.get('dryRun'))


def _not_found(res, name):
    return ApiError(404, '%s "%s" not found' % (_qualified(res), name),
                    details={'name': name, 'group': res.group, 'kind': res.plural})


def _qualified(res):
    return '%s.%s' % (res.plural, res.group) if res.group else res.plural


def _kind_qualified(res):
    return '%s.%s' % (res.kind, res.group) if res.group else res.kind


def _invalid(res, name, causes):
    text = ', '.join('%s: %s' % (c['field'], c['message']) if c.get('field') else c['message'] for c in causes)
    if len(causes) > 1:
        text = '[%s]' % text
    return ApiError(422, '%s "%s" is invalid: %s' % (_kind_qualified(res), name or '', text),
                    details={'name': name or '', 'group': res.group, 'kind': res.kind, 'causes': causes})


class Store:
    """Objects by storage key, one global resourceVersion counter, recent events for watch."""

    def __init__(self):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.objects = {}  # (group, plural) -> {(namespace, name): object}
        self.revision = 1
        self.events = deque(maxlen=EVENT_HISTORY)  # (rv, key, type, object, previous)
        self.closed = False

    def bucket(self, key):
        return self.objects.setdefault(key, {})

    def next_revision(self):
        self.revision += 1
        return self.revision

    def emit(self, key, kind, obj, previous=None):
        self.events.append((int(obj['metadata']['resourceVersion']), key, kind, copy.deepcopy(obj), previous))
        self.changed.notify_all()


class Api:  # pylint: disable=too-many-public-methods
    """The emulated kube-apiserver."""

    def __init__(self, crd_documents=(), simulations=None):
        self.registry = Registry()
        self.store = Store()
        self.preloaded = [copy.deepcopy(doc) for doc in crd_documents]
        self.simulations = simulations
        self.reset()

    # ------------------------------------------------------------ state

    def reset(self):
        """Back to the start state: built-in namespaces and the preloaded CRDs, nothing else."""
        with self.store.lock:
            for key in list(self.registry.resources):
                if key not in self.registry.builtin_keys:
                    del self.registry.resources[key]
            for (group, version), served in list(self.registry.resources.items()):
                for plural, res in list(served.items()):
                    if res.custom:
                        del self.registry.resources[(group, version)][plural]
            self.store.objects.clear()
            self.store.events.clear()
            self.store.next_revision()
            for name in BUILTIN_NAMESPACES:
                self.internal_create('v1', 'Namespace', {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': name}})
            for doc in self.preloaded:
                self.internal_create('apiextensions.k8s.io/v1', 'CustomResourceDefinition', copy.deepcopy(doc))

    def internal_create(self, api_version, kind, obj):
        res = self.registry.by_kind(api_version, kind)
        request = Request('POST', '', {}, {'user-agent': 'kube-apiserver'}, None)
        request.res = res
        return self._create(request, res, obj.get('metadata', {}).get('namespace'), obj)

    def internal_write(self, obj, manager, subresource=None):
        """Create or replace an object as a controller would (not a client request: not logged)."""
        res = self.registry.by_kind(obj['apiVersion'], obj['kind'])
        meta = obj['metadata']
        request = Request('PUT', '', {'fieldManager': [manager]}, {'user-agent': manager}, None)
        request.res, request.subresource = res, subresource
        request.namespace, request.name = (meta.get('namespace') if res.namespaced else None), meta['name']
        with self.store.lock:
            old = self.store.bucket(res.storage_key).get((request.namespace, request.name))
            if old is None:
                return self._create(request, res, request.namespace, obj)
            new = copy.deepcopy(obj)
            new['metadata'].pop('resourceVersion', None)
            return self._update_common(request, res, old, new)

    def internal_delete(self, api_version, kind, namespace, name):
        res = self.registry.by_kind(api_version, kind)
        with self.store.lock:
            old = self.store.bucket(res.storage_key).get((namespace if res.namespaced else None, name))
            if old is not None:
                self._delete(Request('DELETE', '', {}, {}, None), res, old, 'Background')

    def find(self, api_version, kind, namespace, name):
        res = self.registry.by_kind(api_version, kind)
        if res is None:
            return None
        with self.store.lock:
            obj = self.store.bucket(res.storage_key).get((namespace if res.namespaced else None, name))
            return copy.deepcopy(obj) if obj else None

    def objects_of(self, api_version, kind):
        res = self.registry.by_kind(api_version, kind)
        if res is None:
            return []
        with self.store.lock:
            return [copy.deepcopy(obj) for obj in self.store.bucket(res.storage_key).values()]

    # ------------------------------------------------------------ dispatch

    def handle(self, request):
        if request.group == KUBEVIRT_SUBRESOURCES and request.method == 'PUT' and request.subresource:
            return self.kubevirt_action(request)
        res = request.res
        if res is None:
            raise ApiError(404, 'the server could not find the requested resource')
        self._check_dry_run(request)
        if res.namespaced and request.namespace is None and request.verb not in ('list', 'watch'):
            raise ApiError(404, 'the server could not find the requested resource')
        if request.subresource and (request.subresource != 'status' or not res.has_status):
            raise ApiError(404, 'the server could not find the requested resource')
        handler = {
            'get': self.do_get, 'list': self.do_list, 'watch': self.do_watch, 'create': self.do_create,
            'update': self.do_update, 'patch': self.do_patch, 'delete': self.do_delete,
            'deletecollection': self.do_deletecollection,
        }[request.verb]
        return handler(request)

    @staticmethod
    def _check_dry_run(request):
        for value in request.query.get('dryRun', []):
            if value != 'All':
                raise ApiError(400, 'Invalid dry run value: %s (only "All" is supported)' % value)

    # ------------------------------------------------------------ reads

    def do_get(self, request):
        res = request.res
        with self.store.lock:
            obj = self.store.bucket(res.storage_key).get((request.namespace, request.name))
            if obj is None:
                raise _not_found(res, request.name)
            return Response(200, self._present(res, obj))

    @staticmethod
    def _present(res, obj):
        # Shallow on purpose: stored objects are never changed in place (writes store new dicts).
        return dict(obj, apiVersion=res.api_version)

    def _selected(self, request):
        res = request.res
        try:
            labels = selectors.parse_label_selector(request.param('labelSelector', ''))
            fields = selectors.parse_field_selector(request.param('fieldSelector', ''), res.field_labels)
        except selectors.SelectorError as exc:
            raise ApiError(400, str(exc)) from exc
        return labels, fields

    def _matches(self, request, obj, labels, fields):
        if request.namespace is not None and obj['metadata'].get('namespace') != request.namespace:
            return False
        return selectors.label_matches(labels, obj['metadata'].get('labels')) and selectors.field_matches(fields, obj)

    def do_list(self, request):
        res = request.res
        labels, fields = self._selected(request)
        limit = int(request.param('limit', '0') or 0)
        start = None
        token = request.param('continue')
        if token:
            try:
                start = tuple(json.loads(base64.urlsafe_b64decode(token.encode()).decode())['start'])
            except (ValueError, KeyError, TypeError) as exc:
                raise ApiError(400, 'continue key is not valid: %s' % exc) from exc
        with self.store.lock:
            revision = self.store.revision
            keys = sorted(self.store.bucket(res.storage_key), key=lambda k: (k[0] or '', k[1]))
            matched = []
            for key in keys:
                if start is not None and (key[0] or '', key[1]) <= (start[0] or '', start[1]):
                    continue
                obj = self.store.bucket(res.storage_key)[key]
                if self._matches(request, obj, labels, fields):
                    matched.append((key, obj))
            meta = {'resourceVersion': str(revision)}
            if limit and len(matched) > limit:
                last = matched[limit - 1][0]
                meta['continue'] = base64.urlsafe_b64encode(json.dumps({'start': list(last), 'rv': revision}).encode()).decode()
                meta['remainingItemCount'] = len(matched) - limit
                matched = matched[:limit]
            items = [self._present(res, obj) for _key, obj in matched]
        return Response(200, {'kind': res.list_kind, 'apiVersion': res.api_version, 'metadata': meta, 'items': items})

    def do_watch(self, request):
        res = request.res
        labels, fields = self._selected(request)
        since = request.param('resourceVersion', '')
        timeout = float(request.param('timeoutSeconds', '1800') or 1800)
        bookmarks = request.param('allowWatchBookmarks') == 'true'
        with self.store.lock:
            initial = []
            if since in ('', '0') or request.param('sendInitialEvents') == 'true':
                for obj in self.store.bucket(res.storage_key).values():
                    if self._matches(request, obj, labels, fields):
                        initial.append(('ADDED', self._present(res, obj)))
                position = self.store.revision
            else:
                try:
                    position = int(since)
                except ValueError as exc:
                    raise ApiError(400, 'invalid resource version: %s' % since) from exc
                oldest = self.store.events[0][0] if self.store.events else self.store.revision
                if position < oldest - 1 and position < self.store.revision:
                    raise ApiError(410, 'too old resource version: %d (%d)' % (position, oldest), reason='Expired')
        deadline = time.monotonic() + timeout

        def events():
            nonlocal position
            for kind, obj in initial:
                yield {'type': kind, 'object': obj}
            if bookmarks and request.param('sendInitialEvents') == 'true':
                yield {'type': 'BOOKMARK', 'object': {
                    'kind': res.kind, 'apiVersion': res.api_version,
                    'metadata': {'resourceVersion': str(position), 'annotations': {'k8s.io/initial-events-end': 'true'}}}}
            while True:
                batch = []
                with self.store.lock:
                    while not self.store.closed:
                        batch = [e for e in self.store.events if e[0] > position]
                        if batch or time.monotonic() >= deadline:
                            break
                        self.store.changed.wait(min(1.0, max(0.01, deadline - time.monotonic())))
                    if self.store.closed:
                        return
                for revision, key, kind, obj, previous in batch:
                    position = max(position, revision)
                    if key != res.storage_key:
                        continue
                    now_match = self._matches(request, obj, labels, fields)
                    was_match = previous is not None and self._matches(request, previous, labels, fields)
                    if now_match:
                        if kind == 'MODIFIED' and previous is not None and not was_match:
                            kind = 'ADDED'
                        yield {'type': kind, 'object': self._present(res, obj)}
                    elif kind == 'MODIFIED' and was_match:
                        yield {'type': 'DELETED', 'object': self._present(res, obj)}
                if time.monotonic() >= deadline:
                    return
        return Response(200, stream=events())

    # ------------------------------------------------------------ writes

    def _body(self, request):
        if request.body is None or request.body == b'':
            raise ApiError(400, 'the body of the request was in an unknown format - accepted media types include: '
                                'application/json, application/yaml')
        content_type = request.headers.get('content-type', 'application/json').split(';')[0].strip()
        if content_type == protobuf.MEDIA_TYPE:
            return self._protobuf_body(request)
        try:
            if content_type in ('application/yaml', 'application/apply-patch+yaml'):
                data = _yaml_or_json(request.body)
            else:
                data = json.loads(request.body)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, 'the body of the request could not be decoded: %s' % exc) from exc
        return data

    @staticmethod
    def _protobuf_body(request):
        """A protobuf body (client-go's typed clients send built-in kinds so); only writes take it."""
        if request.verb not in ('create', 'update', 'delete', 'deletecollection'):
            raise ApiError(415, 'the body of the request was in an unknown format - accepted media types include: '
                           + ', '.join(PATCH_TYPES))
        if request.res is not None and request.res.custom:
            raise ApiError(415, 'the body of the request was in an unknown format - accepted media types include: '
                           'application/json, application/yaml')
        try:
            return protobuf.decode_object(request.body)
        except protobuf.Unsupported as exc:
            raise ApiError(415, 'the body of the request was in an unknown format: protobuf bodies of %s are not decoded '
                           'by this emulator - accepted media types include: application/json, application/yaml' % exc) from exc
        except (protobuf.DecodeError, UnicodeDecodeError, ValueError) as exc:
            raise ApiError(400, 'the body of the request could not be decoded: %s' % exc) from exc

    def _field_manager(self, request):
        manager = request.param('fieldManager')
        if manager is None:
            agent = request.headers.get('user-agent', 'unknown')
            manager = agent.split('/')[0] or 'unknown'
        if len(manager) > 128:
            raise ApiError(400, 'fieldManager: Too long: may not be more than 128 bytes')
        return manager

    def do_create(self, request):
        res = request.res
        if request.subresource:
            raise ApiError(405, 'the server does not allow this method on the requested resource')
        obj = self._body(request)
        if not isinstance(obj, dict):
            raise ApiError(400, 'the body of the request must be an object')
        created = self._create(request, res, request.namespace, obj)
        return Response(201, self._present(res, created))

    def _create(self, request, res, namespace, obj, managers=None):
        obj = copy.deepcopy(obj)
        self._check_type_meta(res, obj)
        meta = obj.setdefault('metadata', {})
        if not isinstance(meta, dict):
            raise ApiError(400, 'metadata must be an object')
        if namespace and meta.get('namespace') not in (None, '', namespace):
            raise ApiError(400, 'the namespace of the provided object does not match the namespace sent on the request')
        if res.namespaced:
            meta['namespace'] = namespace
        else:
            meta.pop('namespace', None)
        if meta.get('resourceVersion'):
            raise ApiError(400, 'resourceVersion should not be set on objects to be created')
        with self.store.lock:
            if not meta.get('name') and meta.get('generateName'):
                meta['name'] = meta['generateName'] + uuid.uuid4().hex[:5]
            name = meta.get('name')
            if not name:
                raise _invalid(res, '', [structural.cause('FieldValueRequired', 'metadata.name',
                                                          'Required value: name or generateName is required')])
            if res.has_status:
                obj.pop('status', None)
            meta['uid'] = str(uuid.uuid4())  # before admission: a Job's generated selector names it
            self._admit(request, res, obj, None)
            if res.namespaced:
                self._check_namespace(res, namespace)
            bucket = self.store.bucket(res.storage_key)
            if (namespace if res.namespaced else None, name) in bucket:
                raise ApiError(409, '%s "%s" already exists' % (_qualified(res), name), reason='AlreadyExists',
                               details={'name': name, 'group': res.group, 'kind': res.plural})
            meta['creationTimestamp'] = now_text()
            meta.pop('deletionTimestamp', None)
            if res.has_generation:
                meta['generation'] = 1
            else:
                meta.pop('generation', None)
            self._kind_hooks_create(res, obj)
            shape = managed.Shape(res)
            if managers is None:
                managers = managed.record_update({}, obj, [], self._field_manager(request), res.api_version,
                                                 now_text(), shape, res.schema)
            managed.store_managers(obj, managers)
            if request.dry_run:
                return obj
            meta['resourceVersion'] = str(self.store.next_revision())
            self._store_version(res, obj)
            bucket[(namespace if res.namespaced else None, name)] = obj
            self.store.emit(res.storage_key, 'ADDED', obj)
            self._after_write(res, 'ADDED', obj)
            return obj

    @staticmethod
    def _store_version(res, obj):
        obj['apiVersion'] = '%s/%s' % (res.group, res.storage_version) if res.group else res.storage_version

    def _check_type_meta(self, res, obj):
        api_version, kind = obj.get('apiVersion'), obj.get('kind')
        if not api_version or not kind:
            raise ApiError(400, 'Object \'Kind\' is missing in \'%s\'' % json.dumps(obj)[:200]
                           if not kind else 'Object \'apiVersion\' is missing')
        if kind != res.kind:
            raise ApiError(400, 'the kind of the object (%s) does not match the expected kind (%s)' % (kind, res.kind))
        if api_version != res.api_version:
            raise ApiError(400, 'the API version in the data (%s) does not match the expected API version (%s)'
                           % (api_version, res.api_version))

    def _check_namespace(self, res, namespace):
        ns = self.store.bucket(('', 'namespaces')).get((None, namespace))
        if ns is None:
            raise ApiError(404, 'namespaces "%s" not found' % namespace, details={'name': namespace, 'kind': 'namespaces'})
        if ns['metadata'].get('deletionTimestamp'):
            raise ApiError(403, 'unable to create new content in namespace %s because it is being terminated' % namespace,
                           details={'name': namespace, 'kind': res.plural,
                                    'causes': [{'reason': 'NamespaceTerminating', 'field': 'metadata.namespace',
                                                'message': 'namespace %s is being terminated' % namespace}]})

    def _admit(self, request, res, obj, old):
        """Schema pipeline and metadata checks; raises 400/422 before anything is stored."""
        name = obj['metadata'].get('name')
        _omit_empty(res, obj)
        if not res.custom:
            taken = [(o.get('spec') or {}).get('clusterIP') for o in self.store.bucket(res.storage_key).values()] \
                if res.plural == 'services' and not res.group else ()
            builtin_defaults.apply(res, obj, old, taken)
        if res.schema:
            structural.drop_nulls(obj, res.schema)
            unknown = structural.prune(obj, res.schema, root=True)
            mode = request.param('fieldValidation', 'Warn')
            if mode not in ('Ignore', 'Warn', 'Strict'):
                raise ApiError(400, 'fieldValidation parameter unsupported: %s' % mode)
            if unknown and mode == 'Strict':
                raise ApiError(400, '%s in version "%s" cannot be handled as a %s: strict decoding error: %s'
                               % (res.kind, res.version, res.kind,
                                  ', '.join('unknown field "%s"' % path for path in unknown)))
            if unknown and mode == 'Warn':
                request.warnings += ['unknown field "%s"' % path for path in unknown]
            structural.apply_defaults(obj, res.schema)
            if self.simulations is not None:
                self.simulations.mutate(res, obj, old)
            body = {k: v for k, v in obj.items() if k != 'metadata'}
            sub_schema = dict(res.schema)
            sub_schema['properties'] = {k: v for k, v in (res.schema.get('properties') or {}).items() if k != 'metadata'}
            causes = structural.validate(body, sub_schema)
        else:
            causes = []
        causes += self._meta_causes(res, obj['metadata'], old)
        causes += self._kind_causes(res, obj, old)
        if causes:
            raise _invalid(res, name, causes)
        denied = self.simulations.validate(self, res, obj, old) if self.simulations is not None else None
        if denied:
            message, causes = denied
            raise ApiError(422, message(res, name, causes),
                           details={'name': name, 'group': res.group, 'kind': res.kind, 'causes': causes})
        if self.simulations is not None:
            request.warnings += self.simulations.warnings(res, obj)

    @staticmethod
    def _meta_causes(res, meta, old):
        causes = []
        name = meta.get('name', '')
        pattern = DNS1123_LABEL if res.plural in ('namespaces', 'services') else DNS1123_SUBDOMAIN
        if res.group == builtin_rules.RBAC:
            # RBAC objects take any path segment name ("system:controller:foo").
            if old is None and (not name or name in ('.', '..') or '/' in name or '%' in name):
                causes.append(structural.invalid('metadata.name', name, 'may not contain \'/\' or \'%\', or be \'.\' or \'..\''))
        elif old is None and (not pattern.match(name) or len(name) > (63 if pattern is DNS1123_LABEL else 253)):
            rule = 'RFC 1123 label' if pattern is DNS1123_LABEL else 'RFC 1123 subdomain'
            causes.append(structural.invalid('metadata.name', name, 'a lowercase %s must consist of lower case '
                                             "alphanumeric characters, '-' or '.', and must start and end with an "
                                             'alphanumeric character' % rule))
        for key, value in (meta.get('labels') or {}).items():
            if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
                causes.append(structural.invalid('metadata.labels', value, 'a valid label must be an empty string or '
                                                 "consist of alphanumeric characters, '-', '_' or '.', and must start "
                                                 'and end with an alphanumeric character'))
            if not selectors._LABEL_KEY.match(key):  # pylint: disable=protected-access
                causes.append(structural.invalid('metadata.labels', key, 'name part must consist of alphanumeric '
                                                 "characters, '-', '_' or '.'"))
        for key, value in (meta.get('annotations') or {}).items():
            if not isinstance(value, str):
                causes.append(structural.invalid('metadata.annotations', key, 'annotation values must be strings'))
        finalizers = meta.get('finalizers') or []
        if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
            causes.append(structural.invalid('metadata.finalizers', finalizers, 'must be a list of strings'))
        if old is not None and old['metadata'].get('deletionTimestamp'):
            added = set(finalizers) - set(old['metadata'].get('finalizers') or [])
            if added:
                causes.append(structural.cause('FieldValueForbidden', 'metadata.finalizers',
                                               'Forbidden: no new finalizers can be added if the object is being deleted, '
                                               'found new finalizers %s' % json.dumps(sorted(added))))
        return causes

    def _kind_causes(self, res, obj, old):
        if res.plural == 'secrets' and not res.group:
            causes = []
            for key, value in (obj.get('data') or {}).items():
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    causes.append(structural.invalid('data[%s]' % key, '<value omitted>', 'illegal base64 data'))
            return causes + builtin_rules.causes_for(res, obj)
        if res.plural == 'customresourcedefinitions':
            return _crd_causes(obj, old)
        return builtin_rules.causes_for(res, obj) + (builtin_rules.chart_kind_causes(res, obj, old) if not res.custom else [])

    def _kind_hooks_create(self, res, obj):
        if res.plural == 'namespaces' and not res.group:
            obj.setdefault('spec', {}).setdefault('finalizers', ['kubernetes'])
            obj['status'] = {'phase': 'Active'}
            obj['metadata'].setdefault('labels', {})['kubernetes.io/metadata.name'] = obj['metadata']['name']
        self._kind_hooks(res, obj)

    @staticmethod
    def _kind_hooks(res, obj):
        if res.plural == 'secrets' and not res.group:
            string_data = obj.pop('stringData', None) or {}
            data = obj.setdefault('data', {}) if string_data else obj.get('data')
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj.setdefault('type', 'Opaque')
        if res.plural == 'customresourcedefinitions':
            spec = obj['spec']
            names = dict(spec['names'])
            names.setdefault('singular', names['kind'].lower())
            names.setdefault('listKind', names['kind'] + 'List')
            spec['names'] = names
            stored = next((v['name'] for v in spec['versions'] if v.get('storage')), spec['versions'][0]['name'])
            previous = (obj.get('status') or {}).get('storedVersions') or []
            obj['status'] = {
                'acceptedNames': names,
                'conditions': [
                    {'type': 'NamesAccepted', 'status': 'True', 'reason': 'NoConflicts', 'message': 'no conflicts found',
                     'lastTransitionTime': now_text()},
                    {'type': 'Established', 'status': 'True', 'reason': 'InitialNamesAccepted',
                     'message': 'the initial names have been accepted', 'lastTransitionTime': now_text()}],
                'storedVersions': sorted(set(previous) | {stored}),
            }

    def _update_common(self, request, res, old, new, managers_override=None):
        """Checks and bookkeeping shared by PUT and PATCH; returns the stored object."""
        subresource = request.subresource
        meta = new.setdefault('metadata', {}) if isinstance(new, dict) else None
        if meta is None or not isinstance(meta, dict):
            raise ApiError(400, 'the body of the request must be an object with metadata')
        self._check_type_meta(res, new)
        old_meta = old['metadata']
        if meta.get('name') not in (None, old_meta['name']):
            raise ApiError(400, 'the name of the object (%s) does not match the name on the URL (%s)'
                           % (meta.get('name'), old_meta['name']))
        if meta.get('resourceVersion') and meta['resourceVersion'] != old_meta['resourceVersion']:
            raise ApiError(409, 'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply '
                           'your changes to the latest version and try again' % (_qualified(res), old_meta['name']),
                           details={'name': old_meta['name'], 'group': res.group, 'kind': res.plural})
        if meta.get('uid') and meta['uid'] != old_meta['uid']:
            raise ApiError(409, 'Precondition failed: UID in precondition: %s, UID in object meta: %s'
                           % (old_meta['uid'], meta['uid']))
        for field in ('name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'generation'):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        if res.has_status:
            if subresource == 'status':
                kept = copy.deepcopy({k: v for k, v in old.items() if k not in ('status', 'metadata')})
                new = dict(kept, metadata=_status_meta(old_meta, meta), status=new.get('status'),
                           apiVersion=new['apiVersion'], kind=new['kind'])
                if new['status'] is None:
                    del new['status']
            elif 'status' in old:
                new['status'] = copy.deepcopy(old['status'])
            else:
                new.pop('status', None)
        if res.plural == 'namespaces' and not res.group:
            new['status'] = copy.deepcopy(old.get('status'))
            new['metadata'].setdefault('labels', {})['kubernetes.io/metadata.name'] = old_meta['name']
        self._admit(request, res, new, old)
        self._kind_hooks(res, new)
        if res.has_generation and _spec_changed(res, old, new):
            new['metadata']['generation'] = old_meta.get('generation', 1) + 1
        shape = managed.Shape(res)
        if managers_override is not None:
            managers = managers_override
        else:
            incoming = managed.load_managers(new)
            base = incoming if new['metadata'].get('managedFields') not in (None, old_meta.get('managedFields')) \
                else managed.load_managers(old)
            managers = managed.record_update(old, new, base, self._field_manager(request), res.api_version, now_text(),
                                             shape, res.schema, subresource=subresource)
        managed.store_managers(new, managers)
        new['metadata']['resourceVersion'] = old_meta['resourceVersion']
        self._store_version(res, new)
        if _same_ignoring_times(new, old):
            return old
        if request.dry_run:
            return new
        key = (old_meta.get('namespace'), old_meta['name'])
        if new['metadata'].get('deletionTimestamp') and not new['metadata'].get('finalizers'):
            return self._remove(res, key, new)
        new['metadata']['resourceVersion'] = str(self.store.next_revision())
        self.store.bucket(res.storage_key)[key] = new
        self.store.emit(res.storage_key, 'MODIFIED', new, previous=old)
        self._after_write(res, 'MODIFIED', new)
        return new

    def _current(self, res, request):
        obj = self.store.bucket(res.storage_key).get((request.namespace, request.name))
        if obj is None:
            raise _not_found(res, request.name)
        return obj

    def do_update(self, request):
        res = request.res
        new = self._body(request)
        if not isinstance(new, dict):
            raise ApiError(400, 'the body of the request must be an object')
        with self.store.lock:
            old = self._current(res, request)
            result = self._update_common(request, res, old, copy.deepcopy(new))
        return Response(200, self._present(res, result))

    def do_patch(self, request):
        res = request.res
        content_type = request.headers.get('content-type', '').split(';')[0].strip()
        if content_type not in PATCH_TYPES:
            raise ApiError(415, 'the body of the request was in an unknown format - accepted media types include: '
                           + ', '.join(PATCH_TYPES))
        if content_type == 'application/strategic-merge-patch+json' and res.custom:
            raise ApiError(415, 'the body of the request was in an unknown format - accepted media types include: '
                           'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml')
        patch = self._body(request)
        with self.store.lock:
            if content_type == 'application/apply-patch+yaml':
                return self._apply(request, res, patch)
            old = self._current(res, request)
            current = copy.deepcopy(old)
            try:
                if content_type == 'application/json-patch+json':
                    if not isinstance(patch, list):
                        raise ApiError(400, 'json patch must be a list of operations')
                    new = jsonpatch.apply_patch(current, patch)
                elif content_type == 'application/merge-patch+json':
                    new = patching.merge_patch(current, patch)
                else:
                    new = patching.strategic_merge(current, patch, res.merge_keys)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, patching.PatchError) as exc:
                raise ApiError(422, 'the server rejected our request due to an error in our request: %s' % exc) from exc
            if not isinstance(new, dict):
                raise ApiError(422, 'the patch result is not an object')
            if isinstance(patch, dict) and 'resourceVersion' not in (patch.get('metadata') or {}):
                new.setdefault('metadata', {})['resourceVersion'] = old['metadata']['resourceVersion']
            result = self._update_common(request, res, old, new)
        return Response(200, self._present(res, result))

    def _apply(self, request, res, applied):
        if not isinstance(applied, dict):
            raise ApiError(400, 'the body of an apply request must be an object')
        if request.param('fieldManager') is None:
            raise ApiError(400, 'PATCH /%s: fieldManager is required for apply requests' % request.path.lstrip('/'))
        force = request.param('force') == 'true'
        self._check_type_meta(res, applied)
        meta = applied.get('metadata') or {}
        if meta.get('name') not in (None, request.name):
            raise ApiError(400, 'the name of the object (%s) does not match the name on the URL (%s)'
                           % (meta.get('name'), request.name))
        manager = request.param('fieldManager')
        shape = managed.Shape(res)
        applied = copy.deepcopy(applied)
        if res.schema:
            structural.drop_nulls(applied, res.schema)
        old = self.store.bucket(res.storage_key).get((request.namespace, request.name))
        if old is None:
            if request.subresource:
                raise _not_found(res, request.name)
            body = copy.deepcopy(applied)
            body.setdefault('metadata', {})['name'] = request.name
            new, managers = managed.server_side_apply({}, body, [], manager, force, res.api_version, now_text(), shape,
                                                      res.schema)
            new['apiVersion'], new['kind'] = res.api_version, res.kind
            created = self._create(request, res, request.namespace, new, managers=managers)
            return Response(201, self._present(res, created))
        if meta.get('resourceVersion') and meta['resourceVersion'] != old['metadata']['resourceVersion']:
            raise ApiError(409, 'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply '
                           'your changes to the latest version and try again' % (_qualified(res), request.name))
        live = copy.deepcopy(old)
        live['metadata'].pop('managedFields', None)
        try:
            new, managers = managed.server_side_apply(live, applied, managed.load_managers(old), manager, force,
                                                      res.api_version, now_text(), shape, res.schema,
                                                      subresource=request.subresource)
        except managed.Conflict as conflict:
            raise _conflict_error(res, request.name, conflict) from conflict
        new['metadata']['resourceVersion'] = old['metadata']['resourceVersion']
        result = self._update_common(request, res, old, new, managers_override=managers)
        return Response(200, self._present(res, result))

    # ------------------------------------------------------------ deletes

    def do_delete(self, request):
        res = request.res
        options = {}
        if request.body:
            options = self._delete_options(request)
        if options.get('dryRun'):
            request.query.setdefault('dryRun', options['dryRun'])
            self._check_dry_run(request)
        policy = options.get('propagationPolicy') or request.param('propagationPolicy')
        with self.store.lock:
            old = self._current(res, request)
            pre = options.get('preconditions') or {}
            if pre.get('uid') and pre['uid'] != old['metadata']['uid']:
                raise ApiError(409, 'Precondition failed: UID in precondition: %s, UID in object meta: %s'
                               % (pre['uid'], old['metadata']['uid']))
            if pre.get('resourceVersion') and pre['resourceVersion'] != old['metadata']['resourceVersion']:
                raise ApiError(409, 'Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in '
                               'object meta: %s' % (pre['resourceVersion'], old['metadata']['resourceVersion']))
            code, result = self._delete(request, res, old, policy)
        return Response(code, self._present(res, result))

    def _delete_options(self, request):
        content_type = request.headers.get('content-type', 'application/json').split(';')[0].strip()
        if content_type == protobuf.MEDIA_TYPE:
            options = self._protobuf_body(request)
        else:
            try:
                options = json.loads(request.body) or {}
            except ValueError as exc:
                raise ApiError(400, 'invalid delete options: %s' % exc) from exc
        if not isinstance(options, dict) or options.get('kind', 'DeleteOptions') != 'DeleteOptions':
            raise ApiError(400, 'the body of a delete request must be DeleteOptions')
        return options

    def _delete(self, request, res, old, policy=None):
        key = (old['metadata'].get('namespace'), old['metadata']['name'])
        pending = list(old['metadata'].get('finalizers') or [])
        if policy == 'Foreground':
            pending.append('foregroundDeletion')
        is_namespace = res.plural == 'namespaces' and not res.group
        if pending and not is_namespace or old['metadata'].get('deletionTimestamp'):
            if old['metadata'].get('deletionTimestamp'):
                return 202, old
            new = copy.deepcopy(old)
            new['metadata']['deletionTimestamp'] = now_text()
            new['metadata']['deletionGracePeriodSeconds'] = 0
            if policy == 'Foreground':
                new['metadata']['finalizers'] = pending
            if request.dry_run:
                return 202, new
            if res.has_generation:
                new['metadata']['generation'] = old['metadata'].get('generation', 1) + 1
            new['metadata']['resourceVersion'] = str(self.store.next_revision())
            self.store.bucket(res.storage_key)[key] = new
            self.store.emit(res.storage_key, 'MODIFIED', new, previous=old)
            self._after_write(res, 'MODIFIED', new)
            if policy == 'Foreground':
                self._collect_dependents(old['metadata']['uid'])
                finished = copy.deepcopy(new)
                finished['metadata']['finalizers'] = [f for f in pending if f != 'foregroundDeletion']
                if not finished['metadata']['finalizers']:
                    return 200, self._remove(res, key, finished)
            return 202, new
        if request.dry_run:
            return 200, old
        if is_namespace:
            terminating = copy.deepcopy(old)
            terminating['metadata']['deletionTimestamp'] = now_text()
            terminating['status'] = {'phase': 'Terminating'}
            self._empty_namespace(old['metadata']['name'])
            self._remove(res, key, terminating)
            return 200, terminating
        removed = self._remove(res, key, old, orphan=policy == 'Orphan')
        return 200, removed

    def _remove(self, res, key, obj, orphan=False):
        self.store.bucket(res.storage_key).pop(key, None)
        gone = copy.deepcopy(obj)
        gone['metadata']['resourceVersion'] = str(self.store.next_revision())
        self.store.emit(res.storage_key, 'DELETED', gone)
        if res.plural == 'customresourcedefinitions':
            self._drop_crd(obj)
        if not orphan:
            self._collect_dependents(obj['metadata']['uid'])
        self._after_write(res, 'DELETED', gone)
        return gone

    def _collect_dependents(self, owner_uid):
        """Garbage collector, done at once: delete objects whose every owner is gone."""
        for res in self.registry.all():
            if res.version != res.storage_version:
                continue
            bucket = self.store.bucket(res.storage_key)
            for key, obj in list(bucket.items()):
                refs = obj['metadata'].get('ownerReferences') or []
                if not any(ref.get('uid') == owner_uid for ref in refs):
                    continue
                remaining = [ref for ref in refs if ref.get('uid') != owner_uid and self._uid_exists(ref.get('uid'))]
                if remaining or key not in bucket:
                    continue
                request = Request('DELETE', '', {}, {}, None)
                self._delete(request, res, obj, 'Background')

    def _uid_exists(self, uid):
        for bucket in self.store.objects.values():
            for obj in bucket.values():
                if obj['metadata'].get('uid') == uid:
                    return True
        return False

    def _empty_namespace(self, namespace):
        for res in self.registry.all():
            if not res.namespaced or res.version != res.storage_version:
                continue
            bucket = self.store.bucket(res.storage_key)
            for key in [k for k in bucket if k[0] == namespace]:
                if key in bucket:
                    self._remove(res, key, bucket[key])

    def _drop_crd(self, crd):
        spec = crd['spec']
        key = (spec['group'], spec['names']['plural'])
        for obj_key, obj in list(self.store.bucket(key).items()):
            self.store.bucket(key).pop(obj_key)
            gone = copy.deepcopy(obj)
            gone['metadata']['resourceVersion'] = str(self.store.next_revision())
            self.store.emit(key, 'DELETED', gone)
        self.store.objects.pop(key, None)
        self.registry.remove_crd(spec['group'], spec['names']['plural'])

    def do_deletecollection(self, request):
        res = request.res
        labels, fields = self._selected(request)
        deleted = []
        with self.store.lock:
            for obj in list(self.store.bucket(res.storage_key).values()):
                if self._matches(request, obj, labels, fields):
                    _code, result = self._delete(request, res, obj, request.param('propagationPolicy'))
                    deleted.append(self._present(res, result))
            revision = self.store.revision
        return Response(200, {'kind': res.list_kind, 'apiVersion': res.api_version,
                              'metadata': {'resourceVersion': str(revision)}, 'items': deleted})

    # ------------------------------------------------------------ KubeVirt's subresource API (virt-api)

    def kubevirt_action(self, request):
        """PUT .../virtualmachines/NAME/{start,stop,restart}: what virt-api does to the VM object."""
        res = self.registry.by_kind('kubevirt.io/v1', 'VirtualMachine')
        if res is None or request.resource != 'virtualmachines' or request.namespace is None:
            raise ApiError(404, 'the server could not find the requested resource')
        action = request.subresource
        if action not in ('start', 'stop', 'restart'):
            raise ApiError(404, 'the server could not find the requested resource')
        with self.store.lock:
            vm = self.store.bucket(res.storage_key).get((request.namespace, request.name))
            if vm is None:
                raise ApiError(404, 'virtualmachine.kubevirt.io "%s" not found' % request.name,
                               details={'name': request.name, 'group': 'kubevirt.io', 'kind': 'virtualmachine'})
            spec = vm.get('spec') or {}
            strategy = spec.get('runStrategy') or ('Always' if spec.get('running') else 'Halted')
            vmi = self.find('kubevirt.io/v1', 'VirtualMachineInstance', request.namespace, request.name)
            running = strategy in ('Always', 'RerunOnFailure') or vmi is not None
            if action == 'start':
                if running:
                    raise ApiError(409, '%s does not support manual start requests' % strategy
                                   if strategy == 'Always' else 'VM is already running')
                target = 'Always' if strategy == 'Halted' else strategy
            elif action == 'stop':
                if strategy == 'Halted' and vmi is None:
                    raise ApiError(409, 'VM is not running: Halted does not support manual stop requests')
                target = 'Halted'
            else:
                if not running:
                    raise ApiError(409, 'VM is not running')
                if vmi is not None and not request.dry_run:
                    self.internal_delete('kubevirt.io/v1', 'VirtualMachineInstance', request.namespace, request.name)
                target = strategy
            if target != strategy and not request.dry_run:
                updated = copy.deepcopy(vm)
                updated['spec'].pop('running', None)
                updated['spec']['runStrategy'] = target
                updated['metadata'].pop('resourceVersion', None)
                self.internal_write(updated, 'virt-api')
            elif action == 'restart' and self.simulations is not None and not request.dry_run:
                self.simulations.observe(self, res, 'MODIFIED', self.find('kubevirt.io/v1', 'VirtualMachine',
                                                                          request.namespace, request.name))
        return Response(202, None)  # virt-api answers 202 with an empty body

    # ------------------------------------------------------------ hooks

    def _after_write(self, res, kind, obj):
        if res.plural == 'customresourcedefinitions' and kind != 'DELETED':
            self.registry.register_crd(obj)
        if self.simulations is not None:
            self.simulations.observe(self, res, kind, obj)


OMITTED_WHEN_EMPTY = ('labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields')
OMITTED_MAPS = ('data', 'binaryData', 'stringData')


def _yaml_or_json(body):
    """A YAML body; JSON ones (what kubectl and the clients send as apply patches) take the JSON
    parser: JSON is YAML, and PyYAML's pure-Python parser costs milliseconds per object."""
    if body.lstrip()[:1] == b'{':
        try:
            return json.loads(body)
        except ValueError:
            pass  # YAML flow style that is not JSON: the YAML parser decides
    return yaml.load(body, Loader=_YAML_LOADER)  # nosec B506: a safe loader, C or Python


_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def _omit_empty(res, obj):
    """Empty metadata maps and lists vanish as in Go's omitempty (built-ins: also empty top-level maps)."""
    meta = obj['metadata']
    for field in OMITTED_WHEN_EMPTY:
        if field in meta and meta[field] in ({}, [], None):
            del meta[field]
    if not res.custom:
        # Go drops nulls when decoding and omits these empty maps (structs such as spec stay).
        for key in [k for k, v in obj.items() if v is None or k in OMITTED_MAPS and v == {}]:
            del obj[key]


def _status_meta(old_meta, new_meta):
    """A status write keeps the stored metadata apart from managedFields and resourceVersion."""
    meta = copy.deepcopy(old_meta)
    for field in ('resourceVersion', 'managedFields'):
        if field in new_meta:
            meta[field] = new_meta[field]
    return meta


def _spec_changed(res, old, new):
    ignored = {'metadata', 'status'} if res.has_status else {'metadata'}
    return {k: v for k, v in old.items() if k not in ignored | {'apiVersion'}} != \
        {k: v for k, v in new.items() if k not in ignored | {'apiVersion'}}


def _same_ignoring_times(new, old):
    def strip(obj):
        result = copy.deepcopy(obj)
        for entry in result['metadata'].get('managedFields') or []:
            entry.pop('time', None)
        return result
    return strip(new) == strip(old)


def _conflict_error(res, name, conflict):
    causes = []
    for head, path in conflict.conflicts:
        text = managed.path_text(path)
        using = ' using ' + head['apiVersion'] if head.get('apiVersion') else ''
        causes.append({'reason': 'FieldManagerConflict', 'field': text,
                       'message': 'conflict with "%s"%s: %s' % (head.get('manager'), using, text)})
    message = 'Apply failed with %d conflict%s: %s' % (len(causes), '' if len(causes) == 1 else 's',
                                                       '; '.join(c['message'] for c in causes))
    return ApiError(409, message, details={'name': name, 'group': res.group, 'kind': res.plural, 'causes': causes})


def _crd_causes(crd, old):
    causes = []
    spec = crd.get('spec') or {}
    names = spec.get('names') or {}
    group = spec.get('group') or ''
    plural = names.get('plural') or ''
    if not group or '.' not in group:
        causes.append(structural.invalid('spec.group', group, 'should be a domain with at least one dot'))
    if not plural:
        causes.append(structural.cause('FieldValueRequired', 'spec.names.plural', 'Required value'))
    if not names.get('kind'):
        causes.append(structural.cause('FieldValueRequired', 'spec.names.kind', 'Required value'))
    if crd['metadata'].get('name') != '%s.%s' % (plural, group):
        causes.append(structural.invalid('metadata.name', crd['metadata'].get('name'),
                                         'must be spec.names.plural+"."+spec.group'))
    if spec.get('scope') not in ('Namespaced', 'Cluster'):
        causes.append(structural.cause('FieldValueNotSupported', 'spec.scope',
                                       'Unsupported value: %s: supported values: "Cluster", "Namespaced"'
                                       % json.dumps(spec.get('scope'))))
    versions = spec.get('versions') or []
    if not versions:
        causes.append(structural.cause('FieldValueRequired', 'spec.versions', 'Required value: must have exactly one version marked as storage version'))
    elif sum(1 for v in versions if v.get('storage')) != 1:
        causes.append(structural.invalid('spec.versions', 'storage', 'must have exactly one version marked as storage version'))
    for index, version in enumerate(versions):
        schema = (version.get('schema') or {}).get('openAPIV3Schema')
        if schema is None:
            causes.append(structural.cause('FieldValueRequired', 'spec.versions[%d].schema.openAPIV3Schema' % index,
                                           'Required value: schemas are required'))
            continue
        for problem in structural.structural_problems(schema, 'spec.versions[%d].schema.openAPIV3Schema' % index):
            field, _sep, message = problem.partition(': ')
            causes.append(structural.cause('FieldValueInvalid', field, message))
    if old is not None:
        old_spec = old.get('spec') or {}
        for field in ('group', 'scope'):
            if old_spec.get(field) != spec.get(field) and field != 'scope':
                causes.append(structural.invalid('spec.' + field, spec.get(field), 'field is immutable'))
        if (old_spec.get('names') or {}).get('plural') != plural:
            causes.append(structural.invalid('spec.names.plural', plural, 'field is immutable'))
    return causes
