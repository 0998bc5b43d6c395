"""HTTP layer: routing, auth, discovery and OpenAPI, the control endpoint, faults, request log."""
import json
import random
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from lab.kubeapi import protobuf, tables
from lab.kubeapi.api import Api, ApiError, Request

CONTROL_PREFIX = '/_lab/'
VERSION_INFO = {'major': '1', 'minor': '32', 'gitVersion': 'v1.32.0-vmnet-lab', 'gitCommit': '0' * 40,
                'gitTreeState': 'clean', 'buildDate': '2026-01-01T00:00:00Z', 'goVersion': 'go1.23.0',
                'compiler': 'gc', 'platform': 'linux/amd64'}
AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'
AGGREGATED_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList'


class Fault:  # pylint: disable=too-few-public-methods
    """One injected fault: which requests it matches and what it answers."""

    def __init__(self, spec):
        self.status = spec.get('status')
        self.verb = spec.get('verb')
        self.resource = spec.get('resource')
        self.name = spec.get('name')
        self.namespace = spec.get('namespace')
        self.count = spec.get('count', 1)
        self.probability = spec.get('probability')
        self.retry_after = spec.get('retry_after')
        self.latency = spec.get('latency')
        self.message = spec.get('message')
        # 'after': the server does the work, then drops the connection before answering (the answer is lost);
        # 'before': the connection drops before the server does anything.
        self.drop = spec.get('drop')

    def matches(self, request):
        verbs = self.verb if isinstance(self.verb, list) else [self.verb] if self.verb else None
        return (verbs is None or request.verb in verbs) and \
            (self.resource is None or self.resource in (request.resource, '%s/%s' % (request.resource, request.subresource))) and \
            (self.name is None or self.name == request.name) and \
            (self.namespace is None or self.namespace == request.namespace)

    def describe(self):
        return dict(vars(self))


class Lab:
    """Shared state of one emulator process: the API, faults, request log, auth settings."""

    def __init__(self, api, token=None, seed=0):
        self.api = api
        self.token = token
        self.lock = threading.Lock()
        self.faults = []
        self.log = []
        self.random = random.Random(seed)

    def pick_fault(self, request):
        """The first matching fault that fires now, consuming one of its counts."""
        with self.lock:
            for fault in self.faults:
                if not fault.matches(request):
                    continue
                if fault.probability is not None and self.random.random() >= fault.probability:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def record(self, entry):
        with self.lock:
            self.log.append(entry)


def classify(method, path, query, registry):
    """Fill group/version/resource/namespace/name/subresource/verb of an API path."""
    parts = [p for p in path.split('/') if p]
    info = {'group': None, 'version': None, 'resource': None, 'namespace': None, 'name': None, 'subresource': None,
            'verb': None}
    if len(parts) >= 2 and parts[0] == 'api':
        info['group'], info['version'], rest = '', parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == 'apis':
        info['group'], info['version'], rest = parts[1], parts[2], parts[3:]
    else:
        return info
    if not rest:
        return info
    if rest[0] == 'namespaces' and len(rest) >= 3 and rest[2] not in ('status', 'finalize'):
        info['namespace'], rest = rest[1], rest[2:]
    info['resource'] = rest[0]
    if len(rest) > 1:
        info['name'] = rest[1]
    if len(rest) > 2:
        info['subresource'] = '/'.join(rest[2:])
    collection = info['name'] is None
    watching = query.get('watch', [''])[-1] in ('1', 'true')
    info['verb'] = {
        'GET': 'watch' if watching else 'list' if collection else 'get',
        'POST': 'create', 'PUT': 'update', 'PATCH': 'patch',
        'DELETE': 'deletecollection' if collection else 'delete',
    }.get(method)
    res = registry.lookup(info['group'], info['version'], info['resource'])
    info['res'] = res
    return info


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, Nagle off (else 40 ms stalls per request)."""

    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    server_version = 'vmnet-kubeapi/1'
    lab = None  # set on the subclass built by make_server

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the request log is kept in memory."""

    def do_GET(self):  # pylint: disable=invalid-name
        self.dispatch('GET')

    def do_POST(self):  # pylint: disable=invalid-name
        self.dispatch('POST')

    def do_PUT(self):  # pylint: disable=invalid-name
        self.dispatch('PUT')

    def do_PATCH(self):  # pylint: disable=invalid-name
        self.dispatch('PATCH')

    def do_DELETE(self):  # pylint: disable=invalid-name
        self.dispatch('DELETE')

    # ------------------------------------------------------------ plumbing

    def read_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b''.join(chunks)
        return b''

    def _log_before_answer(self, code):
        """Record the request before the client can see the answer (tests read the log right after)."""
        entry, self._pending = getattr(self, '_pending', None), None
        if entry is not None:
            entry['status'] = code
            self.lab.record(entry)

    def send_json(self, code, body, headers=None, content_type='application/json'):
        self._log_before_answer(code)
        if isinstance(body, RawBody):
            data = body.data
        else:
            data = b'' if body is None else json.dumps(body, separators=(',', ':')).encode()
        self.send_response(code)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Audit-Id', 'lab')
        for name, value in (headers or {}).items():
            if isinstance(value, list):
                for item in value:
                    self.send_header(name, item)
            else:
                self.send_header(name, str(value))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    def send_stream(self, response):
        self._log_before_answer(200)
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        self.wfile.flush()
        try:
            for event in response.stream:
                data = json.dumps(event, separators=(',', ':')).encode() + b'\n'
                self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b'0\r\n\r\n')
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ------------------------------------------------------------ dispatch

    def dispatch(self, method):
        lab = self.lab
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query, keep_blank_values=True)
        body = self.read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        if lab.token is not None and headers.get('authorization') != 'Bearer ' + lab.token:
            self.send_json(401, ApiError(401, 'Unauthorized').status())
            return
        if path.startswith(CONTROL_PREFIX):
            self.control(method, path[len(CONTROL_PREFIX):], query, body)
            return
        info = classify(method, path, query, lab.api.registry)
        request = Request(method, path, query, headers, body)
        for key, value in info.items():
            setattr(request, key, value)
        entry = {'method': method, 'verb': request.verb, 'path': path, 'group': request.group,
                 'version': request.version, 'resource': request.resource, 'namespace': request.namespace,
                 'name': request.name, 'subresource': request.subresource, 'dry_run': request.dry_run, 'status': None,
                 'query': {k: v[-1] for k, v in query.items()},
                 'content_type': headers.get('content-type'), 'field_manager': query.get('fieldManager', [None])[-1]}
        self._pending = entry
        try:
            self.serve(method, path, query, headers, request, entry)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        self._log_before_answer(499)

    def serve(self, method, path, query, headers, request, entry):  # pylint: disable=too-many-arguments,too-many-positional-arguments
        lab = self.lab
        fault = lab.pick_fault(request) if request.verb else None
        entry['fault'] = None
        if fault is not None:
            entry['fault'] = {'status': fault.status, 'latency': fault.latency}
            if fault.latency:
                time.sleep(fault.latency)
            if fault.drop in ('before', 'after'):
                entry['fault']['drop'] = fault.drop
                return self.drop_connection(request, fault.drop == 'after')
            if fault.status:
                error = ApiError(fault.status, fault.message or 'injected fault (lab)')
                extra = {'Retry-After': str(fault.retry_after)} if fault.retry_after is not None else {}
                if fault.status == 429 and fault.retry_after is None:
                    extra['Retry-After'] = '1'
                body = error.status()
                if 'Retry-After' in extra:
                    body['details'] = {'retryAfterSeconds': int(float(extra['Retry-After']))}
                self.send_json(fault.status, body, extra)
                return fault.status
        if method == 'GET' and request.verb is None:
            document = self.discovery(path, query, headers)
            if document is not None:
                body, content_type = document
                self.send_json(200, body, content_type=content_type)
                return 200
        try:
            response = lab.api.handle(request)
        except ApiError as error:
            self.send_json(error.code, error.status(), error.headers)
            return error.code
        if response.stream is not None:
            table_version = _table_version(headers.get('accept', ''))
            if table_version:
                response.stream = _table_events(response.stream, request, table_version)
            self.send_stream(response)
            return 200
        extra = dict(response.headers)
        table_version = _table_version(headers.get('accept', ''))
        if table_version and request.verb in ('get', 'list') and request.res is not None and response.code == 200:
            body = response.body
            objects = body['items'] if request.verb == 'list' else [body]
            meta = body['metadata'] if request.verb == 'list' else {'resourceVersion': body['metadata'].get('resourceVersion')}
            response.body = tables.table(request.res, objects, request.param('includeObject', 'Metadata'), meta,
                                         api_version=table_version)
        if request.warnings:
            extra['Warning'] = ['299 - "%s"' % text.replace('"', '\\"') for text in request.warnings]
        self.send_json(response.code, response.body, extra)
        return response.code

    def drop_connection(self, request, apply_first):
        """Close the connection without an answer; with ``apply_first`` after the API did the request's work."""
        if apply_first:
            try:
                self.lab.api.handle(request)
            except ApiError:
                pass
        self._log_before_answer(0)
        self.close_connection = True
        return 0

    def discovery(self, path, query, headers):  # pylint: disable=unused-argument
        registry = self.lab.api.registry
        accept = headers.get('accept', '')
        if path in ('/version', '/version/'):
            return VERSION_INFO, 'application/json'
        if path in ('/healthz', '/readyz', '/livez'):
            return 'ok', 'application/json'
        if path in ('/api', '/apis'):
            if 'as=APIGroupDiscoveryList' in accept:
                v2 = 'v=v2;' in accept.replace(' ', '') or 'v=v2,' in accept
                api_version = 'apidiscovery.k8s.io/v2' if v2 else 'apidiscovery.k8s.io/v2beta1'
                return registry.aggregated(path == '/api', api_version), AGGREGATED_V2 if v2 else AGGREGATED_V2BETA1
            if path == '/api':
                host = self.server.server_address
                return {'kind': 'APIVersions', 'versions': ['v1'], 'serverAddressByClientCIDRs': [
                    {'clientCIDR': '0.0.0.0/0', 'serverAddress': '%s:%s' % host[:2]}]}, 'application/json'
            return registry.api_group_list(), 'application/json'
        parts = [p for p in path.split('/') if p]
        if len(parts) == 2 and parts[0] == 'api':
            doc = registry.resource_list('', parts[1])
            return (doc, 'application/json') if doc else None
        if len(parts) == 2 and parts[0] == 'apis':
            doc = registry.api_group(parts[1])
            return (doc, 'application/json') if doc else None
        if len(parts) == 3 and parts[0] == 'apis':
            doc = registry.resource_list(parts[1], parts[2])
            return (doc, 'application/json') if doc else None
        if path == '/openapi/v2':
            if _accepts_protobuf_openapi(accept):
                return RawBody(protobuf.encode_openapi_v2(registry.openapi_v2())), protobuf.OPENAPI_V2_MEDIA_TYPE
            return registry.openapi_v2(), 'application/json'
        if path == '/openapi/v3':
            return registry.openapi_v3_index(), 'application/json'
        if path.startswith('/openapi/v3/'):
            rest = path[len('/openapi/v3/'):].split('/')
            if rest[0] == 'api' and len(rest) == 2:
                doc = registry.openapi_v3('', rest[1])
            elif rest[0] == 'apis' and len(rest) == 3:
                doc = registry.openapi_v3(rest[1], rest[2])
            else:
                doc = None
            return (doc, 'application/json') if doc else None
        return None

    # ------------------------------------------------------------ control endpoint

    def control(self, method, action, query, body):  # pylint: disable=too-many-branches
        lab = self.lab
        data = json.loads(body) if body else {}
        if action == 'health':
            self.send_json(200, {'ok': True})
        elif action == 'reset' and method == 'POST':
            with lab.lock:
                lab.faults.clear()
                lab.log.clear()
            lab.api.reset()
            if lab.api.simulations is not None:
                lab.api.simulations.active.clear()
            with lab.lock:
                lab.log.clear()
            self.send_json(200, {'ok': True})
        elif action == 'requests':
            if method == 'DELETE':
                with lab.lock:
                    lab.log.clear()
                self.send_json(200, {'ok': True})
            else:
                with lab.lock:
                    self.send_json(200, {'requests': list(lab.log)})
        elif action == 'faults':
            if method == 'POST':
                with lab.lock:
                    lab.faults.append(Fault(data))
                self.send_json(201, {'ok': True})
            elif method == 'DELETE':
                with lab.lock:
                    lab.faults.clear()
                self.send_json(200, {'ok': True})
            else:
                with lab.lock:
                    self.send_json(200, {'faults': [fault.describe() for fault in lab.faults]})
        elif action == 'simulations':
            sims = lab.api.simulations
            if method == 'POST':
                try:
                    sims.switch(data['name'], data.get('on', True), lab.api)
                except KeyError as exc:
                    self.send_json(400, {'error': 'unknown simulation %s; known: %s' % (exc, ', '.join(sims.known()))})
                    return
            self.send_json(200, {'active': sorted(sims.active), 'known': sims.known()})
        else:
            self.send_json(404, {'error': 'unknown control action %s' % action})


class RawBody:  # pylint: disable=too-few-public-methods
    """An answer body sent as these bytes (not JSON)."""

    def __init__(self, data):
        self.data = data


def _accepts_protobuf_openapi(accept):
    """Whether the client asks for the gnostic protobuf OpenAPI v2 document (client-go does)."""
    wanted = [part.split(';')[0].strip() for part in accept.split(',')]
    return any(media in protobuf.OPENAPI_V2_MEDIA_TYPES for media in wanted)


def _table_version(accept):
    """meta.k8s.io version of the Table the client accepts first, or None."""
    for choice in accept.split(','):
        params = dict(part.strip().partition('=')[::2] for part in choice.split(';')[1:])
        if params.get('as') == 'Table' and params.get('g') == 'meta.k8s.io':
            return 'meta.k8s.io/' + params.get('v', 'v1')
    return None


def _table_events(events, request, api_version):
    """Watch events as one-row Tables (column definitions in the first one only), as kubectl get -w wants."""
    first = True
    for event in events:
        obj = event['object']
        if event['type'] in ('ADDED', 'MODIFIED', 'DELETED'):
            meta = {'resourceVersion': obj['metadata'].get('resourceVersion')}
            obj = tables.table(request.res, [obj], request.param('includeObject', 'Metadata'), meta, api_version=api_version)
            if not first:
                obj['columnDefinitions'] = []
            first = False
        yield {'type': event['type'], 'object': obj}


def make_server(api, port=0, host='127.0.0.1', token=None, tls=None, seed=0):
    """A ThreadingHTTPServer bound to host:port; ``tls`` is (certfile, keyfile) or None."""
    lab = Lab(api, token=token, seed=seed)
    handler = type('LabHandler', (Handler,), {'lab': lab})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[0], tls[1])
        # Handshake in the connection's own thread, not in the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.lab = lab
    return server


__all__ = ['Api', 'make_server']
