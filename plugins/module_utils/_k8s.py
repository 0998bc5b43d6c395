# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place in vmnet.kubevirt that talks to the Kubernetes API.

Built on kubernetes.core's module_utils (``get_api_client`` and its shared, cached dynamic
client and discovery); nothing is monkey-patched. Modules use it like this::

    api = KubeApi.from_params(module.params, check_mode=module.check_mode)
    if not api.is_served('kubevirt.io/v1', 'VirtualMachine'): ...
    pools = api.list('spiderpool.spidernet.io/v2beta1', 'SpiderIPPool')
    outcome = api.ensure(definition)          # server-side apply, or leave alone
    outcome = api.delete('kubevirt.io/v1', 'VirtualMachine', 'vm1', namespace='ns')

Behaviour every caller can rely on:

* One client and one discovery per ``KubeApi``; resources are looked up once and cached.
* ``check_mode=True`` sends every write with ``dryRun=All`` (server-side dry run), so the
  answer includes the server's defaults and admission verdicts but nothing is stored.
* Writes are server-side apply with the field manager ``vmnet.kubevirt``: what the caller
  declares is what the object holds for the fields the collection owns. A field the collection
  applied before and no longer declares is removed; fields other managers own are kept.
  Objects written by earlier versions of the collection (merge patches, whose fields the server
  recorded under the kubernetes client's name ``OpenAPI-Generator``) have those fields handed
  over to ``vmnet.kubevirt`` first, so a removal works on them too.
* A field another manager owns with a different value is a conflict: the apply fails, naming
  each field and its manager, unless ``force_conflicts`` takes the fields over.
* ``ensure`` sends nothing when the object already holds every declared value and no field the
  collection owns has been left out; ``changed`` compares the object before this run with the
  server's answer (server-owned metadata and status ignored), so it says what this run did,
  also when an answer was lost and the write was retried.
* Every request is bounded by ``request_timeout`` seconds. Transient answers (429, 500, 502,
  503, 504, timeouts and dropped connections) are retried a bounded number of times within a
  budget of ``retry_budget`` seconds of waiting, with exponential back-off or the server's
  ``Retry-After``, never earlier than the server asked; a wait that does not fit in what is
  left of the budget fails at once with a message saying so. urllib3's own hidden retries are
  switched off, so the budget is the only one.
* Every failure is raised as ``KubeApiError`` with a message naming the verb, the object and
  the server's reason (including the field causes of a 422).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import email.utils
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
FIELD_MANAGER = 'vmnet.kubevirt'
# Earlier versions wrote merge patches without a field manager; the server recorded those fields under the
# kubernetes Python client's User-Agent. Their fields are handed over to FIELD_MANAGER (see ensure).
LEGACY_FIELD_MANAGERS = ('OpenAPI-Generator',)
# Where a legacy manager's fields can be ours: what the collection renders. Labels and annotations in these
# domains belong to controllers and webhooks (Spiderpool's pool labels, KubeVirt's annotations) and stay theirs.
DECLARED_ROOTS = (('f:spec',), ('f:data',), ('f:metadata', 'f:labels'), ('f:metadata', 'f:annotations'))
SYSTEM_KEY_DOMAINS = ('kubernetes.io', 'k8s.io', 'kubevirt.io', 'spidernet.io', 'cni.cncf.io')
DEFAULT_REQUEST_TIMEOUT = 20.0
DEFAULT_RETRY_BUDGET = 30.0
APPLY_CONTENT_TYPE = 'application/apply-patch+yaml'


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


def api_argument_spec():
    """The auth options plus how this seam talks to the API (doc fragment vmnet.kubevirt.cluster_api)."""
    spec = auth_argument_spec()
    spec.update(
        request_timeout=dict(type='float', default=DEFAULT_REQUEST_TIMEOUT),
        retry_budget=dict(type='float', default=DEFAULT_RETRY_BUDGET),
        force_conflicts=dict(type='bool', default=False),
    )
    return spec


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


def _content(obj):
    """What "changed" compares: the object without server-owned metadata and without status."""
    if not obj:
        return None
    clean = strip_server_fields(obj)
    clean.pop('status', None)
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


# ---------------------------------------------------------------- managedFields (fieldsV1)
# A field path is a tuple of fieldsV1 elements: 'f:<key>' (map key), 'k:<json>' (item of a list keyed
# by those values), 'v:<json>' (item of a set). The server records the leaves (and '.' for an item
# owned as a whole) of what each manager wrote.

def fields_paths(tree, prefix=()):
    """The set of paths a fieldsV1 tree names."""
    paths = set()
    for element, sub in (tree or {}).items():
        if element == '.':
            paths.add(prefix)
        elif sub:
            paths |= fields_paths(sub, prefix + (element,))
        else:
            paths.add(prefix + (element,))
    return paths


def fields_tree(paths):
    """The fieldsV1 tree of a set of paths (the inverse of ``fields_paths``)."""
    tree = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:
        node = tree
        for element in path:
            node = node[element]
        if node and path:
            node['.'] = {}
    return tree


_MISSING = object()


def _child(container, element):
    kind, _sep, raw = element.partition(':')
    if kind == 'f':
        return container.get(raw, _MISSING) if isinstance(container, dict) else _MISSING
    if not isinstance(container, list):
        return _MISSING
    try:
        wanted = json.loads(raw)
    except ValueError:
        return _MISSING
    if kind == 'k':
        for item in container:
            if isinstance(item, dict) and all(item.get(key) == value for key, value in wanted.items()):
                return item
        return _MISSING
    if kind == 'v':
        return wanted if wanted in container else _MISSING
    return _MISSING


def path_present(obj, path):
    """True when ``obj`` has a (non-null) value at ``path``."""
    current = obj
    for element in path:
        current = _child(current, element)
        if current is _MISSING or current is None:
            return False
    return True


def remove_path(obj, path):
    """Remove the value at ``path`` from ``obj`` in place, dropping maps this leaves empty."""
    parents = [obj]
    for element in path[:-1]:
        child = _child(parents[-1], element)
        if child is _MISSING or not isinstance(child, (dict, list)):
            return
        parents.append(child)
    container, element = parents[-1], path[-1]
    target = _child(container, element)
    if target is _MISSING:
        return
    if isinstance(container, dict):
        container.pop(element.partition(':')[2], None)
    else:
        container.remove(target)
    for depth in range(len(parents) - 1, 0, -1):
        if parents[depth] not in ({}, []):
            break
        parent, element = parents[depth - 1], path[depth - 1]
        if isinstance(parent, dict):
            parent.pop(element.partition(':')[2], None)


def _system_key(path):
    """A label or annotation path whose key lies in a controller's domain (SYSTEM_KEY_DOMAINS)."""
    if len(path) < 3 or path[:2] not in (('f:metadata', 'f:labels'), ('f:metadata', 'f:annotations')):
        return False
    prefix = path[2][2:].rpartition('/')[0]
    return any(prefix == domain or prefix.endswith('.' + domain) for domain in SYSTEM_KEY_DOMAINS)


def _declarable(path):
    return any(len(path) > len(root) and path[:len(root)] == root for root in DECLARED_ROOTS) and not _system_key(path)


class Ownership:
    """Who owns what on a live object, as far as ``ensure`` needs it."""

    def __init__(self, obj):
        self.entries = [e for e in ((obj or {}).get('metadata') or {}).get('managedFields') or [] if isinstance(e, dict)]
        self.ours = set()
        self.legacy = set()  # legacy managers' fields that the collection declares (handed over on apply)
        self.others = set()
        for entry in self.entries:
            paths = fields_paths(entry.get('fieldsV1'))
            if self.is_ours(entry):
                self.ours |= paths
            elif self.is_legacy(entry):
                self.legacy |= set(p for p in paths if _declarable(p))
                self.others |= set(p for p in paths if not _declarable(p))
            elif not entry.get('subresource'):
                self.others |= paths

    @staticmethod
    def is_ours(entry):
        return entry.get('manager') == FIELD_MANAGER and entry.get('operation') == 'Apply' and not entry.get('subresource')

    @staticmethod
    def is_legacy(entry):
        return entry.get('manager') in LEGACY_FIELD_MANAGERS and entry.get('operation') == 'Update' and not entry.get('subresource')

    def left_out(self, wanted):
        """Fields the collection owns (or takes over) that ``wanted`` no longer declares."""
        return set(p for p in self.ours | self.legacy if not path_present(wanted, p))

    def owned_by_others(self, path):
        return any(other[:len(path)] == path or path[:len(other)] == other for other in self.others)

    def handed_over(self, api_version, now):
        """managedFields with the legacy managers' declarable fields moved into our Apply entry."""
        result = []
        for entry in self.entries:
            if self.is_ours(entry):
                continue
            if self.is_legacy(entry):
                kept = set(p for p in fields_paths(entry.get('fieldsV1')) if not _declarable(p))
                if not kept:
                    continue
                entry = dict(entry, fieldsV1=fields_tree(kept))
            result.append(entry)
        result.append({'manager': FIELD_MANAGER, 'operation': 'Apply', 'apiVersion': api_version, 'time': now,
                       'fieldsType': 'FieldsV1', 'fieldsV1': fields_tree(self.ours | self.legacy)})
        return result


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


def retry_after_seconds(err):
    """The server's Retry-After (header in seconds or as an HTTP date, else ``details.retryAfterSeconds``), or None."""
    headers = getattr(err, 'headers', None) or {}
    value = None
    if hasattr(headers, 'items'):
        for key, item in headers.items():
            if str(key).lower() == 'retry-after':
                value = item
                break
    if value is not None:
        text = str(value).strip()
        try:
            return max(0.0, float(text))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=datetime.timezone.utc)
                return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
    body = getattr(err, 'body', None)
    if body:
        try:
            doc = json.loads(body.decode('utf-8') if isinstance(body, bytes) else body)
            seconds = ((doc.get('details') or {}).get('retryAfterSeconds'))
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
                return max(0.0, float(seconds))
        except (ValueError, AttributeError):
            pass
    return None


def _check_settings(request_timeout, retry_budget):
    errors = []
    if isinstance(request_timeout, bool) or not isinstance(request_timeout, (int, float)) or not 0 < request_timeout <= 3600:
        errors.append('request_timeout: %r must be a number of seconds above 0 and at most 3600' % (request_timeout,))
    if isinstance(retry_budget, bool) or not isinstance(retry_budget, (int, float)) or not 0 <= retry_budget <= 3600:
        errors.append('retry_budget: %r must be a number of seconds from 0 to 3600' % (retry_budget,))
    if errors:
        raise KubeApiError('; '.join(errors), reason='BadSettings')


def _without_transport_retries(client):
    """Switch off urllib3's own retries (it retries GETs, and 429/503 answers with Retry-After, out of
    sight of ``retries`` and ``retry_budget``); every failure then comes to ``KubeApi._call``."""
    try:
        manager = client.client.client.rest_client.pool_manager
    except AttributeError:
        return
    if manager.connection_pool_kw.get('retries') is not False:
        manager.connection_pool_kw['retries'] = False
        manager.clear()


class KubeApi:
    """A Kubernetes API seam with bounded requests and retries, server-side dry run and server-side apply."""

    def __init__(self, client, check_mode=False, retries=5, backoff=0.2, max_backoff=5.0, request_timeout=DEFAULT_REQUEST_TIMEOUT,
                 retry_budget=DEFAULT_RETRY_BUDGET, force_conflicts=False, sleep=time.sleep):
        """``client`` is kubernetes.core's ``K8SClient`` (from ``get_api_client``)."""
        _check_settings(request_timeout, retry_budget)
        self.client = client
        self.check_mode = check_mode
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.request_timeout = float(request_timeout)
        self.retry_budget = float(retry_budget)
        self.force_conflicts = bool(force_conflicts)
        self._sleep = sleep
        self._resources = {}
        self.retried = 0  # how many transient failures were retried (reported by modules)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_params(cls, params, check_mode=False, **kwargs):
        """Build from a module's params (kubernetes.core's auth options and ``api_argument_spec``) once."""
        if not HAS_K8S_CORE or not HAS_KUBERNETES:
            raise KubeApiError('the kubernetes Python library and kubernetes.core are required: %s' % (KUBERNETES_IMPORT_ERROR,))
        for key in ('request_timeout', 'retry_budget', 'force_conflicts'):
            if params.get(key) is not None:
                kwargs.setdefault(key, params[key])
        _check_settings(kwargs.get('request_timeout', DEFAULT_REQUEST_TIMEOUT), kwargs.get('retry_budget', DEFAULT_RETRY_BUDGET))
        auth = dict((key, params.get(key)) for key in AUTH_ARG_SPEC if params.get(key) is not None)
        try:
            client = get_api_client(**auth)
        except Exception as err:  # config errors come in many types (file, YAML, ConfigException)
            raise KubeApiError('could not create the Kubernetes API client: %s' % (err,))
        _without_transport_retries(client)
        return cls(client, check_mode=check_mode, **kwargs)

    # ---------------------------------------------------------------- plumbing
    def _dry_run(self, params):
        params = self._timeout(**params)
        if self.check_mode:
            params['dry_run'] = 'All'
        return params

    def _call(self, what, func, *args, **kwargs):
        """Run ``func`` with bounded retries on transient failures within the retry budget; raise KubeApiError."""
        attempt = 0
        waited = 0.0
        while True:
            try:
                return func(*args, **kwargs)
            except Exception as err:  # pylint: disable=broad-except
                if not _is_api_error(err) and not _is_connection_error(err):
                    raise
                status = getattr(err, 'status', None)
                transient = status in RETRYABLE_STATUSES or (status is None and _is_connection_error(err))
                if not transient:
                    raise _api_error(what, err)
                if attempt >= self.retries:
                    raise _api_error(what, err, 'gave up after %d attempts' % (attempt + 1))
                asked = retry_after_seconds(err)
                delay = asked if asked is not None else min(self.max_backoff, self.backoff * (2 ** attempt))
                left = self.retry_budget - waited
                if asked is not None and asked > left:
                    raise _api_error(what, err, 'the server asked to retry after %s s, more than the %s s left of the retry budget '
                                                '(retry_budget %s s); gave up after %d attempt%s'
                                     % (_seconds(asked), _seconds(max(0.0, left)), _seconds(self.retry_budget), attempt + 1,
                                        '' if attempt == 0 else 's'))
                if left <= 0:
                    raise _api_error(what, err, 'the retry budget of %s s is used up; gave up after %d attempts'
                                     % (_seconds(self.retry_budget), attempt + 1))
                delay = min(delay, left)
                self._sleep(delay)
                waited += delay
                attempt += 1
                self.retried += 1

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
        params['_request_timeout'] = self.request_timeout
        return params

    # ---------------------------------------------------------------- writes
    def ensure(self, definition, existing=None, prefetched=False):
        """Server-side apply ``definition`` (creating the object when it does not exist).

        Returns ``{'changed', 'action' (created|updated|unchanged), 'before', 'after', 'diff', 'uid'}``
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
        wanted = _wanted_part(definition)
        ownership = Ownership(existing)
        left_out = ownership.left_out(wanted) if existing is not None else set()
        if existing is not None and not left_out and is_subset(wanted, existing):
            before = strip_server_fields(existing)
            return _outcome(False, 'unchanged', before, before, _uid(existing))
        if existing is not None and ownership.legacy and not self.check_mode:
            existing = self._hand_over(resource, existing, api_version, kind, name, namespace)
        what = 'apply %s' % describe(api_version, kind, name, namespace)
        params = self._dry_run({'name': name, 'namespace': namespace, 'content_type': APPLY_CONTENT_TYPE,
                                'field_manager': FIELD_MANAGER})
        if self.force_conflicts:
            params['force_conflicts'] = 'true'
        try:
            applied = self._call(what, resource.patch, body=wanted, **params)
        except KubeApiError as err:
            if err.status != 409:
                raise
            if not (self.check_mode and ownership.legacy and _conflicts_only_with_legacy(err)):
                raise _conflict(what, err)
            # Check mode skips the hand-over, so the dry run meets the legacy owner the real run takes over from.
            applied = self._call(what, resource.patch, body=wanted, **dict(params, force_conflicts='true'))
        after = strip_server_fields(applied)
        if self.check_mode and ownership.legacy:
            # The hand-over is not sent in check mode: predict what the apply will remove once it is.
            after = copy.deepcopy(after)
            for path in sorted(left_out & ownership.legacy, key=len):
                if not ownership.owned_by_others(path):
                    remove_path(after, path)
        before = strip_server_fields(existing) if existing is not None else None
        changed = _content(before) != _content(after)
        action = 'created' if existing is None else 'updated' if changed else 'unchanged'
        return _outcome(changed, action, before, after, _uid(applied))

    def _hand_over(self, resource, existing, api_version, kind, name, namespace):
        """Move the legacy managers' declarable fields into our Apply entry (one JSON patch guarded by
        resourceVersion); returns the object as it is afterwards."""
        what = 'take over the fields of %s from %s' % (describe(api_version, kind, name, namespace), ', '.join(LEGACY_FIELD_MANAGERS))
        current = existing
        for _attempt in range(self.retries + 1):
            ownership = Ownership(current)
            if not ownership.legacy:
                return current
            now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
            patch = [{'op': 'test', 'path': '/metadata/resourceVersion', 'value': (current.get('metadata') or {}).get('resourceVersion')},
                     {'op': 'replace', 'path': '/metadata/managedFields', 'value': ownership.handed_over(api_version, now)}]
            try:
                params = self._timeout(name=name, namespace=namespace, content_type='application/json-patch+json')
                return self._call(what, resource.patch, body=patch, **params)
            except KubeApiError as err:
                if err.status not in (409, 422):  # 422: the resourceVersion test failed (changed since we read it)
                    raise
            current = self.get(api_version, kind, name, namespace)
            if current is None:
                return None
        raise KubeApiError('%s failed: the object kept changing; gave up after %d attempts' % (what, self.retries + 1),
                           status=409, reason='Conflict')

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
    """What ``ensure`` applies and compares: the definition without status."""
    wanted = dict(definition)
    wanted.pop('status', None)
    return wanted


def _uid(obj):
    return ((obj or {}).get('metadata') or {}).get('uid')


def _outcome(changed, action, before, after, uid=None):
    return {'changed': changed, 'action': action, 'before': before, 'after': after,
            'diff': {'before': before or {}, 'after': after or {}}, 'uid': uid}


def _seconds(value):
    return ('%.1f' % value).rstrip('0').rstrip('.')


def _api_error(what, err, note=None):
    message, status, reason, causes = error_message(err)
    if note:
        message = '%s (%s)' % (message, note)
    return KubeApiError(_format(what, message, causes), status=status, reason=reason, causes=causes)


def _conflict(what, err):
    """An apply conflict: name each field and its manager, and the way out."""
    fields = ['%s (owned by %s)' % (c.get('field', '?'), _conflict_manager(c) or c.get('message', '?'))
              for c in err.causes if isinstance(c, dict)]
    detail = '; '.join(fields) if fields else err.message
    return KubeApiError('%s failed: field(s) owned by another field manager with other values: %s. Change the inventory to match, '
                        'or set force_conflicts: true to make %s their owner' % (what, detail, FIELD_MANAGER),
                        status=409, reason='Conflict', causes=err.causes)


def _conflicts_only_with_legacy(err):
    managers = set(_conflict_manager(c) for c in err.causes if isinstance(c, dict))
    return bool(managers) and managers <= set(LEGACY_FIELD_MANAGERS)


def _conflict_manager(cause):
    """The manager a FieldManagerConflict cause names (``conflict with "NAME" using ...``)."""
    text = cause.get('message') or ''
    return text.split('"')[1] if text.count('"') >= 2 else None


def _format(what, message, causes):
    text = '%s failed: %s' % (what, message)
    details = ['%s: %s' % (c.get('field', '?'), c.get('message', '')) for c in causes if isinstance(c, dict)]
    if details and not all(d.split(': ', 1)[-1] in message for d in details):
        text += ' [' + '; '.join(details) + ']'
    return text


def _is_api_error(err):
    return DynamicApiError is not None and isinstance(err, DynamicApiError)


def _is_connection_error(err):
    # urllib3 raises these (with its own retries off) when the server cannot be reached, times out or drops the connection.
    return type(err).__name__ in ('MaxRetryError', 'ProtocolError', 'NewConnectionError', 'ReadTimeoutError', 'ConnectTimeoutError',
                                  'ConnectionError', 'TimeoutError', 'RemoteDisconnected', 'ConnectionResetError')
