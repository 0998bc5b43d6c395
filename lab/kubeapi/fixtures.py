"""Pytest fixtures for the Kubernetes API emulator, and ``start_kubeapi`` for tests and the demo.

- ``kubeapi_server`` (session): one emulator process, stopped by PID at session end.
- ``kubeapi`` (function): that server reset to its start state (built-in namespaces and the
  preloaded CRDs; no faults, no simulations, empty request log).
- ``start_kubeapi(directory, tls=..., token=..., crds=..., simulate=...)``: a context manager
  for a special server of one's own.
"""
import contextlib
import json
import os
import pathlib
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from lab import ROOT

WRITE_VERBS = ('create', 'update', 'patch', 'delete', 'deletecollection')
START_TIMEOUT = 30
# Every emulator process started from this interpreter and not yet stopped (stopped at session end).
RUNNING = {}


class KubeApiError(RuntimeError):
    """The emulator answered a fixture convenience call with an error status."""

    def __init__(self, code, body):
        super().__init__('HTTP %s: %s' % (code, body.get('message') if isinstance(body, dict) else body))
        self.code = code
        self.body = body


class KubeApi:
    """A handle on one running emulator process."""

    def __init__(self, process, kubeconfig, token=None, ca_cert=None):
        self.process = process
        self.pid = process.pid
        self.kubeconfig = str(kubeconfig)
        config = yaml.safe_load(pathlib.Path(kubeconfig).read_text(encoding='utf-8'))
        self.url = config['clusters'][0]['cluster']['server']
        self.token = token
        self.ca_cert = str(ca_cert) if ca_cert else None
        self.port = urllib.parse.urlsplit(self.url).port
        self._context = ssl.create_default_context(cafile=self.ca_cert) if self.ca_cert else None
        self._plurals = {}

    # ------------------------------------------------------------ raw HTTP

    def http(self, method, path, body=None, content_type='application/json', query=None):
        """One request; returns (status, decoded JSON body). Appears in the request log."""
        url = self.url + path + ('?' + urllib.parse.urlencode(query) if query else '')
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header('Content-Type', content_type)
        request.add_header('User-Agent', 'lab-fixture/1')
        if self.token:
            request.add_header('Authorization', 'Bearer ' + self.token)
        try:
            with urllib.request.urlopen(request, timeout=30, context=self._context) as response:
                return response.status, json.loads(response.read() or b'null')
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, raw.decode(errors='replace')

    def _control(self, method, action, data=None):
        status, body = self.http(method, '/_lab/' + action, body=data)
        if status >= 300:
            raise KubeApiError(status, body)
        return body

    # ------------------------------------------------------------ control

    def reset(self):
        self._control('POST', 'reset')
        self._plurals.clear()

    def requests(self):
        return self._control('GET', 'requests')['requests']

    def writes(self):
        return [r for r in self.requests() if r['verb'] in WRITE_VERBS and not r['dry_run']]

    def clear_requests(self):
        self._control('DELETE', 'requests')

    def inject(self, status=500, verb=None, resource=None, name=None, count=1, probability=None, retry_after=None,
               latency=None, namespace=None, message=None, drop=None):
        """Answer matching requests with ``status`` (None: only add ``latency`` seconds); ``drop='after'``
        lets the server do the work and then closes the connection unanswered, ``drop='before'`` closes it first."""
        self._control('POST', 'faults', {'status': status, 'verb': verb, 'resource': resource, 'name': name,
                                         'count': count, 'probability': probability, 'retry_after': retry_after,
                                         'latency': latency, 'namespace': namespace, 'message': message,
                                         'drop': drop})

    def faults(self):
        return self._control('GET', 'faults')['faults']

    def clear_faults(self):
        self._control('DELETE', 'faults')

    def simulate(self, name, on=True):
        return self._control('POST', 'simulations', {'name': name, 'on': on})

    # ------------------------------------------------------------ conveniences over the HTTP API

    def client(self):
        """A kubernetes.dynamic.DynamicClient configured from this server's kubeconfig."""
        from kubernetes import config, dynamic  # pylint: disable=import-outside-toplevel
        return dynamic.DynamicClient(config.new_client_from_config(config_file=self.kubeconfig))

    def _resource_path(self, api_version, kind, namespace):
        if (api_version, kind) not in self._plurals:
            base = '/apis/' + api_version if '/' in api_version else '/api/' + api_version
            status, listing = self.http('GET', base)
            if status != 200:
                raise KubeApiError(status, listing)
            for entry in listing['resources']:
                if '/' not in entry['name']:
                    self._plurals[(api_version, entry['kind'])] = (base, entry['name'], entry['namespaced'])
        if (api_version, kind) not in self._plurals:
            raise KubeApiError(404, 'no resource for %s %s' % (api_version, kind))
        base, plural, namespaced = self._plurals[(api_version, kind)]
        if namespaced:
            return '%s/namespaces/%s/%s' % (base, namespace or 'default', plural)
        return '%s/%s' % (base, plural)

    def apply(self, obj, field_manager='lab-fixture', force=True):
        """Server-side apply of one object (created when absent); returns the stored object."""
        meta = obj.get('metadata') or {}
        path = '%s/%s' % (self._resource_path(obj['apiVersion'], obj['kind'], meta.get('namespace')), meta['name'])
        query = {'fieldManager': field_manager}
        if force:
            query['force'] = 'true'
        status, body = self.http('PATCH', path, body=obj, content_type='application/apply-patch+yaml', query=query)
        if status >= 300:
            raise KubeApiError(status, body)
        return body

    def get(self, api_version, kind, name, namespace=None):
        """The object, or None when it does not exist."""
        status, body = self.http('GET', '%s/%s' % (self._resource_path(api_version, kind, namespace), name))
        if status == 404:
            return None
        if status >= 300:
            raise KubeApiError(status, body)
        return body

    def delete(self, api_version, kind, name, namespace=None):
        status, body = self.http('DELETE', '%s/%s' % (self._resource_path(api_version, kind, namespace), name))
        if status >= 300 and status != 404:
            raise KubeApiError(status, body)
        return body

    def env(self):
        """Environment for a child process (ansible-playbook, kubectl) that should use this server."""
        env = dict(os.environ)
        env['KUBECONFIG'] = self.kubeconfig
        env['K8S_AUTH_KUBECONFIG'] = self.kubeconfig
        return env

    # ------------------------------------------------------------ life cycle

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        RUNNING.pop(self.pid, None)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _wait_for(kubeconfig, process, log_path):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError('kubeapi exited with %s: %s' % (process.returncode, log_path.read_text(errors='replace')))
        if kubeconfig.exists():
            return
        time.sleep(0.02)
    process.kill()
    process.wait()
    raise RuntimeError('kubeapi did not start within %ss' % START_TIMEOUT)


def launch(directory, tls=False, token=None, crds='spiderpool-v1.2', simulate=(), port=0):
    """Start an emulator process writing its kubeconfig into ``directory``; returns a KubeApi."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    kubeconfig = directory / 'kubeconfig'
    if kubeconfig.exists():
        kubeconfig.unlink()
    argv = [sys.executable, '-m', 'lab', 'kubeapi', '--port', str(port), '--kubeconfig', str(kubeconfig),
            '--crds', crds]
    if tls:
        argv.append('--tls')
    for name in simulate:
        argv += ['--simulate', name]
    env = dict(os.environ)
    env.pop('KUBEAPI_LAB_TOKEN', None)
    if token:
        env['KUBEAPI_LAB_TOKEN'] = token  # through the environment: keeps it out of the process list
    log_path = directory / 'kubeapi.log'
    with open(log_path, 'wb') as log:
        process = subprocess.Popen(argv, cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    try:
        _wait_for(kubeconfig, process, log_path)
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait()
        raise
    ca_cert = directory / 'kubeconfig.tls' / 'ca.crt' if tls else None
    server = KubeApi(process, kubeconfig, token=token, ca_cert=ca_cert)
    RUNNING[server.pid] = server
    return server


@contextlib.contextmanager
def start_kubeapi(directory, tls=False, token=None, crds='spiderpool-v1.2', simulate=(), port=0):
    """Context manager: a running emulator for the block, stopped by PID afterwards."""
    server = launch(directory, tls=tls, token=token, crds=crds, simulate=simulate, port=port)
    try:
        yield server
    finally:
        server.stop()


def port_is_open(port, host='127.0.0.1'):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def pytest_sessionfinish(session, exitstatus):  # pylint: disable=unused-argument
    """Stop, by PID, any emulator a test started and forgot (e.g. launch() without stop())."""
    for server in list(RUNNING.values()):
        server.stop()


@pytest.fixture(scope='session')
def kubeapi_server(tmp_path_factory):
    """One emulator process for the test session (per xdist worker)."""
    with start_kubeapi(tmp_path_factory.mktemp('kubeapi')) as server:
        yield server


@pytest.fixture
def kubeapi(kubeapi_server):  # pylint: disable=redefined-outer-name
    """The session's emulator, reset to its start state for this test."""
    if not kubeapi_server.alive():
        pytest.fail('the kubeapi emulator process (pid %d) has died' % kubeapi_server.pid)
    kubeapi_server.reset()
    return kubeapi_server
