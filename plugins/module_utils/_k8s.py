# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place in vmnet.kubevirt that talks to the Kubernetes API.

Built on kubernetes.core's module_utils (``get_api_client`` and its shared, cached dynamic
client and discovery); nothing is monkey-patched. Modules use it like this::

    api = KubeApi.from_params(module.params, check_mode=module.check_mode)
    if not api.is_served('kubevirt.io/v1', 'VirtualMachine'): ...
    pools = api.list('spiderpool.spidernet.io/v2beta1', 'SpiderIPPool')
    outcome = api.ensure(definition)          # create, merge-patch or leave alone
    outcome = api.delete('kubevirt.io/v1', 'VirtualMachine', 'vm1', namespace='ns')

Behaviour every caller can rely on:

* One client and one discovery per ``KubeApi``; resources are looked up once and cached.
* ``check_mode=True`` sends every write with ``dryRun=All`` (server-side dry run), so the
  answer includes the server's defaults and admission verdicts but nothing is stored.
* ``ensure`` reports ``changed=False`` when every field the caller asked for already has that
  value on the server, even though the server has added defaults, status or metadata.
* Transient answers (429, 500, 502, 503, 504 and connection failures) are retried a bounded
  number of times with exponential back-off, honouring ``Retry-After``. A create that fails
  with 409 AlreadyExists (for instance a retried create that had in fact been stored) turns
  into an update, and a 409 Conflict on an update re-reads and tries again, so retries never
  produce duplicates.
* Every failure is raised as ``KubeApiError`` with a message naming the verb, the object and
  the server's reason (including the field causes of a 422).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import time

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    HAS_K8S_CORE = True
except ImportError:  # pragma: no cover - reported by the module that needs it
    AUTH_ARG_SPEC = {}
    get_api_client = None
    HAS_K8S_CORE = False

try:
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError, ResourceNotUniqueError
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module that needs it
    DynamicApiError = ResourceNotFoundError = ResourceNotUniqueError = None
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc

RETRYABLE_STATUSES = frozenset((429, 500, 502, 503, 504))
# Metadata the server owns: never part of "did the caller's wish change anything".
SERVER_OWNED_METADATA = ('resourceVersion', 'generation', 'managedFields', 'uid', 'creationTimestamp', 'selfLink')


class KubeApiError(Exception):
    """An API call failed for good; ``str()`` is a message fit for the user."""

    def __init__(self, message, status=None, reason=None, causes=None):
        super(KubeApiError, self).__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.causes = causes or []


def auth_argument_spec():
    """kubernetes.core's auth options, for a module's argument spec (a deep copy)."""
    return copy.deepcopy(AUTH_ARG_SPEC)


def describe(api_version, kind, name=None, namespace=None):
    """``kind ns/name (apiVersion)``: how objects are named in messages."""
    where = name or '*'
    if namespace:
        where = '%s/%s' % (namespace, where)
    return '%s %s (%s)' % (kind, where, api_version)


def strip_server_fields(obj):
    """``obj`` without the metadata the server owns (for diffs and comparisons).

    Only the top level and ``metadata`` are copied: the rest is shared with ``obj``, which
    callers treat as read-only (a deep copy of every VM dominated a 200-VM re-run).
    """
    if not obj:
        return obj
    clean = dict(obj)
    if isinstance(clean.get('metadata'), dict):
        clean['metadata'] = dict((key, value) for key, value in clean['metadata'].items() if key not in SERVER_OWNED_METADATA)
    return clean


def _plain(_client, data):
    """The dynamic client's response serializer that keeps the decoded JSON as plain dicts.

    The default wraps every answer in ResourceInstance objects that ``to_dict`` unwraps again,
    which for a LIST of hundreds of VMs cost more than the request itself.
    """
    return data


def is_subset(wanted, actual):
    """True when every value in ``wanted`` is present with that value in ``actual``.

    Dicts may have extra keys in ``actual`` (server defaults); lists must have the same
    length and match item by item; ``None`` in ``wanted`` means "absent or null".
    """
    if wanted is None:
        return actual is None
    if isinstance(wanted, dict):
        if not isinstance(actual, dict):
            return False
        for key, value in wanted.items():
            if value is None:
                if actual.get(key) is not None:
                    return False
            elif key not in actual or not is_subset(value, actual[key]):
                return False
        return True
    if isinstance(wanted, list):
        if not isinstance(actual, list) or len(wanted) != len(actual):
            return False
        return all(is_subset(w, a) for w, a in zip(wanted, actual))
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return wanted is actual
    return wanted == actual


def error_message(err):
    """(message, status, reason, causes) of a kubernetes client exception."""
    status = getattr(err, 'status', None)
    reason = getattr(err, 'reason', None)
    body = getattr(err, 'body', None)
    message = None
    causes = []
    if body:
        try:
            doc = json.loads(body.decode('utf-8') if isinstance(body, bytes) else body)
            message = doc.get('message')
            reason = doc.get('reason') or reason
            causes = (doc.get('details') or {}).get('causes') or []
        except (ValueError, AttributeError):
            message = body if isinstance(body, str) else None
    if not message:
        message = str(reason or err)
    return message, status, reason, causes


class KubeApi:
    """A Kubernetes API seam with retries, server-side dry run and idempotent ``ensure``."""

    def __init__(self, client, check_mode=False, retries=5, backoff=0.2, max_backoff=5.0, request_timeout=None, sleep=time.sleep):
        """``client`` is kubernetes.core's ``K8SClient`` (from ``get_api_client``)."""
        self.client = client
        self.check_mode = check_mode
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.request_timeout = request_timeout
        self._sleep = sleep
        self._resources = {}
        self.retried = 0  # how many transient failures were retried (reported by modules)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_params(cls, params, check_mode=False, **kwargs):
        """Build from a module's params (the kubernetes.core auth options) once."""
        if not HAS_K8S_CORE or not HAS_KUBERNETES:
            raise KubeApiError('the kubernetes Python library and kubernetes.core are required: %s' % (KUBERNETES_IMPORT_ERROR,))
        auth = dict((key, params.get(key)) for key in AUTH_ARG_SPEC if params.get(key) is not None)
        try:
            client = get_api_client(**auth)
        except Exception as err:  # config errors come in many types (file, YAML, ConfigException)
            raise KubeApiError('could not create the Kubernetes API client: %s' % (err,))
        return cls(client, check_mode=check_mode, **kwargs)

    # ---------------------------------------------------------------- plumbing
    def _dry_run(self, params):
        params = self._timeout(**params)
        if self.check_mode:
            params['dry_run'] = 'All'
        return params

    def _call(self, what, func, *args, **kwargs):
        """Run ``func`` with bounded retries on transient failures; raise KubeApiError."""
        attempt = 0
        while True:
            try:
                return func(*args, **kwargs)
            except Exception as err:  # pylint: disable=broad-except
                if not _is_api_error(err) and not _is_connection_error(err):
                    raise
                status = getattr(err, 'status', None)
                transient = status in RETRYABLE_STATUSES or (status is None and _is_connection_error(err))
                if not transient or attempt >= self.retries:
                    message, status, reason, causes = error_message(err)
                    if transient:
                        message = '%s (gave up after %d attempts)' % (message, attempt + 1)
                    raise KubeApiError(_format(what, message, causes), status=status, reason=reason, causes=causes)
                self._sleep(self._delay(attempt, err))
                attempt += 1
                self.retried += 1

    def _delay(self, attempt, err):
        delay = min(self.max_backoff, self.backoff * (2 ** attempt))
        headers = getattr(err, 'headers', None) or {}
        retry_after = headers.get('Retry-After') if hasattr(headers, 'get') else None
        if retry_after:
            try:
                delay = min(self.max_backoff, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return delay

    def resource(self, api_version, kind):
        """The discovered resource for (apiVersion, kind); KubeApiError(404) if not served."""
        key = (api_version, kind)
        if key not in self._resources:
            try:
                self._resources[key] = self._call('discover %s %s' % (api_version, kind), self.client.resource, kind, api_version)
            except (ResourceNotFoundError, ResourceNotUniqueError):
                raise KubeApiError('%s %s is not served by this cluster (is its CRD installed?)' % (kind, api_version),
                                   status=404, reason='NotServed')
        return self._resources[key]

    # ---------------------------------------------------------------- reads
    def is_served(self, api_version, kind):
        """True when the API server serves ``kind`` in ``api_version`` (CRD installed)."""
        try:
            self.resource(api_version, kind)
            return True
        except KubeApiError as err:
            if err.reason == 'NotServed':
                return False
            raise

    def get(self, api_version, kind, name, namespace=None):
        """The object as a dict, or None when it does not exist."""
        resource = self.resource(api_version, kind)
        what = 'get %s' % describe(api_version, kind, name, namespace)
        try:
            return self._call(what, resource.get, **self._timeout(name=name, namespace=namespace))
        except KubeApiError as err:
            if err.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        """All objects of ``kind`` (in ``namespace``, or cluster-wide) as a list of dicts."""
        resource = self.resource(api_version, kind)
        params = {'namespace': namespace}
        if label_selector:
            params['label_selector'] = label_selector
        if field_selector:
            params['field_selector'] = field_selector
        what = 'list %s' % describe(api_version, kind, None, namespace)
        result = self._call(what, resource.get, **self._timeout(**params))
        return result.get('items') or []

    def _timeout(self, **params):
        """Parameters every request takes: plain-dict answers and the request timeout."""
        params['serializer'] = _plain
        if self.request_timeout:
            params['_request_timeout'] = self.request_timeout
        return params

    # ---------------------------------------------------------------- writes
    def ensure(self, definition, existing=None, prefetched=False):
        """Create ``definition`` or merge-patch it onto the existing object.

        Returns ``{'changed', 'action' (created|updated|unchanged), 'before', 'after', 'diff'}``
        where ``before``/``after`` omit server-owned metadata. Pass ``prefetched=True`` with
        ``existing`` (possibly None) when the caller already read the object (bulk LIST).
        """
        api_version = definition['apiVersion']
        kind = definition['kind']
        meta = definition.get('metadata') or {}
        name = meta.get('name')
        namespace = meta.get('namespace')
        if not name:
            raise KubeApiError('%s: metadata.name is required' % describe(api_version, kind))
        resource = self.resource(api_version, kind)
        if not prefetched:
            existing = self.get(api_version, kind, name, namespace)
        ours = False  # a retried create may have been stored although its answer was lost
        for _attempt in range(self.retries + 1):
            if existing is None:
                retried_before = self.retried
                try:
                    created = self._call('create %s' % describe(api_version, kind, name, namespace),
                                         resource.create, body=definition, **self._dry_run({'namespace': namespace}))
                except KubeApiError as err:
                    if err.status == 409:  # stored by an earlier, retried attempt or by someone else
                        ours = ours or self.retried > retried_before
                        existing = self.get(api_version, kind, name, namespace)
                        continue
                    raise
                after = strip_server_fields(created)
                return _outcome(True, 'created', None, after)
            if is_subset(_wanted_part(definition), existing):
                before = strip_server_fields(existing)
                if ours:  # our own retried create is what the server holds: this run created it
                    return _outcome(True, 'created', None, before)
                return _outcome(False, 'unchanged', before, before)
            patch = copy.deepcopy(definition)
            patch.setdefault('metadata', {})['resourceVersion'] = existing['metadata'].get('resourceVersion')
            try:
                patched = self._call('update %s' % describe(api_version, kind, name, namespace), resource.patch, body=patch,
                                     **self._dry_run({'name': name, 'namespace': namespace, 'content_type': 'application/merge-patch+json'}))
            except KubeApiError as err:
                if err.status == 409:  # someone changed it since we read it: read again
                    existing = self.get(api_version, kind, name, namespace)
                    continue
                if err.status == 404:  # deleted since we read it: create
                    existing = None
                    continue
                raise
            before = strip_server_fields(existing)
            after = strip_server_fields(patched)
            changed = before != after
            return _outcome(changed, 'updated' if changed else 'unchanged', before, after)
        raise KubeApiError('%s kept conflicting with concurrent changes; gave up after %d attempts'
                           % (describe(api_version, kind, name, namespace), self.retries + 1), status=409, reason='Conflict')

    def patch(self, api_version, kind, name, patch, namespace=None, content_type='application/merge-patch+json'):
        """Patch one object (merge patch by default); returns the new object as a dict."""
        resource = self.resource(api_version, kind)
        result = self._call('patch %s' % describe(api_version, kind, name, namespace), resource.patch, body=patch,
                            **self._dry_run({'name': name, 'namespace': namespace, 'content_type': content_type}))
        return result

    def delete(self, api_version, kind, name, namespace=None, propagation_policy=None, existing=None, prefetched=False):
        """Delete one object. Returns ``{'changed', 'action', 'before', 'after', 'diff'}``.

        Pass ``prefetched=True`` with ``existing`` (possibly None) when the caller already read it.
        """
        if not prefetched:
            existing = self.get(api_version, kind, name, namespace)
        if existing is None:
            return _outcome(False, 'absent', None, None)
        resource = self.resource(api_version, kind)
        params = {'name': name, 'namespace': namespace}
        if propagation_policy:
            params['body'] = {'kind': 'DeleteOptions', 'apiVersion': 'v1', 'propagationPolicy': propagation_policy}
        try:
            self._call('delete %s' % describe(api_version, kind, name, namespace), resource.delete, **self._dry_run(params))
        except KubeApiError as err:
            if err.status != 404:  # gone already (a retried delete that had succeeded)
                raise
        return _outcome(True, 'deleted', strip_server_fields(existing), None)

    def wait(self, api_version, kind, name, namespace, predicate, timeout=120, interval=1.0):
        """Poll until ``predicate(obj)`` is true; returns (satisfied, last object or None)."""
        deadline = time.monotonic() + timeout
        while True:
            obj = self.get(api_version, kind, name, namespace)
            if predicate(obj):
                return True, obj
            if time.monotonic() >= deadline:
                return False, obj
            self._sleep(interval)


def _wanted_part(definition):
    """What ``ensure`` compares against the server: the definition without status."""
    wanted = dict(definition)
    wanted.pop('status', None)
    return wanted


def _outcome(changed, action, before, after):
    return {'changed': changed, 'action': action, 'before': before, 'after': after,
            'diff': {'before': before or {}, 'after': after or {}}}


def _format(what, message, causes):
    text = '%s failed: %s' % (what, message)
    details = ['%s: %s' % (c.get('field', '?'), c.get('message', '')) for c in causes if isinstance(c, dict)]
    if details and not all(d.split(': ', 1)[-1] in message for d in details):
        text += ' [' + '; '.join(details) + ']'
    return text


def _is_api_error(err):
    return DynamicApiError is not None and isinstance(err, DynamicApiError)


def _is_connection_error(err):
    # urllib3 raises these when the server cannot be reached or drops the connection.
    return type(err).__name__ in ('MaxRetryError', 'ProtocolError', 'NewConnectionError', 'ReadTimeoutError', 'ConnectionError')
