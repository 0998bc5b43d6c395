"""The resource types the emulator serves: built-in kinds plus registered CRDs, and discovery."""
import copy
import hashlib
import json
import threading

from lab.kubeapi import builtin_schemas

VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
SUBRESOURCE_VERBS = ['get', 'patch', 'update']
PRESERVE = {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True}
STRING_MAP = {'type': 'object', 'additionalProperties': {'type': 'string'}}


class Resource:  # pylint: disable=too-many-instance-attributes
    """One served group/version/resource."""

    def __init__(self, group, version, plural, kind, namespaced, **extra):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.singular = extra.get('singular') or kind.lower()
        self.short_names = extra.get('short_names') or []
        self.categories = extra.get('categories') or []
        self.schema = extra.get('schema')
        self.has_status = extra.get('status', False)
        self.has_generation = extra.get('generation', False)
        self.list_kind = extra.get('list_kind') or kind + 'List'
        self.printer_columns = extra.get('printer_columns') or []
        self.custom = extra.get('custom', False)
        self.storage_version = extra.get('storage_version') or version
        # Built-in lists merged by key in strategic merge patch and server-side apply.
        self.merge_keys = extra.get('merge_keys') or {}
        self.field_labels = extra.get('field_labels') or []

    @property
    def api_version(self):
        return '%s/%s' % (self.group, self.version) if self.group else self.version

    @property
    def storage_key(self):
        return (self.group, self.plural)

    @property
    def scope(self):
        return 'Namespaced' if self.namespaced else 'Cluster'


# Merge keys of built-in lists (strategic merge patch, server-side apply list-map keys).
POD_MERGE_KEYS = {
    'containers': 'name', 'initContainers': 'name', 'ephemeralContainers': 'name', 'volumes': 'name',
    'env': 'name', 'ports': 'containerPort', 'volumeMounts': 'mountPath', 'volumeDevices': 'devicePath',
    'imagePullSecrets': 'name', 'tolerations': None, 'hostAliases': 'ip', 'conditions': 'type',
    'topologySpreadConstraints': 'topologyKey', 'resourceClaims': 'name', 'ownerReferences': 'uid',
}
SERVICE_MERGE_KEYS = {'ports': 'port', 'ownerReferences': 'uid', 'conditions': 'type'}
META_MERGE_KEYS = {'ownerReferences': 'uid', 'conditions': 'type'}

SECRET_SCHEMA = {
    'type': 'object',
    'properties': {
        'apiVersion': {'type': 'string'}, 'kind': {'type': 'string'}, 'metadata': {'type': 'object'},
        'data': STRING_MAP, 'stringData': STRING_MAP, 'type': {'type': 'string'}, 'immutable': {'type': 'boolean'},
    },
}
CONFIGMAP_SCHEMA = {
    'type': 'object',
    'properties': {
        'apiVersion': {'type': 'string'}, 'kind': {'type': 'string'}, 'metadata': {'type': 'object'},
        'data': STRING_MAP, 'binaryData': STRING_MAP, 'immutable': {'type': 'boolean'},
    },
}
NAMESPACE_SCHEMA = {
    'type': 'object',
    'properties': {
        'apiVersion': {'type': 'string'}, 'kind': {'type': 'string'}, 'metadata': {'type': 'object'},
        'spec': {'type': 'object', 'properties': {'finalizers': {'type': 'array', 'items': {'type': 'string'}}}},
        'status': PRESERVE,
    },
}


def builtin_resources():
    core = [
        Resource('', 'v1', 'namespaces', 'Namespace', False, short_names=['ns'], status=True, schema=NAMESPACE_SCHEMA,
                 field_labels=['status.phase']),
        Resource('', 'v1', 'nodes', 'Node', False, short_names=['no'], status=True, field_labels=['spec.unschedulable']),
        Resource('', 'v1', 'configmaps', 'ConfigMap', True, short_names=['cm'], schema=CONFIGMAP_SCHEMA),
        Resource('', 'v1', 'secrets', 'Secret', True, schema=SECRET_SCHEMA, field_labels=['type']),
        Resource('', 'v1', 'pods', 'Pod', True, short_names=['po'], categories=['all'], status=True,
                 merge_keys=POD_MERGE_KEYS, field_labels=['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName',
                                                          'spec.serviceAccountName', 'status.phase', 'status.podIP']),
        Resource('', 'v1', 'services', 'Service', True, short_names=['svc'], categories=['all'], status=True,
                 merge_keys=SERVICE_MERGE_KEYS),
        Resource('', 'v1', 'serviceaccounts', 'ServiceAccount', True, short_names=['sa']),
        Resource('', 'v1', 'events', 'Event', True, short_names=['ev'],
                 field_labels=['involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'reason', 'type']),
        Resource('', 'v1', 'endpoints', 'Endpoints', True, short_names=['ep']),
        Resource('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', True, short_names=['pvc'], status=True),
    ]
    apps = [
        Resource('apps', 'v1', plural, kind, True, short_names=short, categories=['all'], status=True, generation=True,
                 merge_keys=POD_MERGE_KEYS)
        for plural, kind, short in (('deployments', 'Deployment', ['deploy']), ('daemonsets', 'DaemonSet', ['ds']),
                                    ('statefulsets', 'StatefulSet', ['sts']), ('replicasets', 'ReplicaSet', ['rs']))
    ]
    crd = [Resource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', False,
                    short_names=['crd', 'crds'], categories=['api-extensions'], status=True, generation=True)]
    return core + apps + crd + chart_kinds()


WEBHOOK_MERGE_KEYS = {'webhooks': 'name', 'ownerReferences': 'uid'}


def chart_kinds():
    """The other built-in groups charts create: RBAC, admission webhooks, Jobs, PodDisruptionBudgets."""
    rbac = 'rbac.authorization.k8s.io'
    admission = 'admissionregistration.k8s.io'
    return [
        Resource(rbac, 'v1', 'roles', 'Role', True, schema=builtin_schemas.ROLE, merge_keys=META_MERGE_KEYS),
        Resource(rbac, 'v1', 'rolebindings', 'RoleBinding', True, schema=builtin_schemas.ROLE_BINDING,
                 merge_keys=META_MERGE_KEYS),
        Resource(rbac, 'v1', 'clusterroles', 'ClusterRole', False, schema=builtin_schemas.CLUSTER_ROLE,
                 merge_keys=META_MERGE_KEYS),
        Resource(rbac, 'v1', 'clusterrolebindings', 'ClusterRoleBinding', False, schema=builtin_schemas.ROLE_BINDING,
                 merge_keys=META_MERGE_KEYS),
        Resource(admission, 'v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', False,
                 categories=['api-extensions'], generation=True, schema=builtin_schemas.MUTATING_WEBHOOK_CONFIGURATION,
                 merge_keys=WEBHOOK_MERGE_KEYS),
        Resource(admission, 'v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', False,
                 categories=['api-extensions'], generation=True, schema=builtin_schemas.VALIDATING_WEBHOOK_CONFIGURATION,
                 merge_keys=WEBHOOK_MERGE_KEYS),
        Resource('batch', 'v1', 'jobs', 'Job', True, categories=['all'], status=True, generation=True,
                 schema=builtin_schemas.JOB, merge_keys=POD_MERGE_KEYS),
        Resource('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', True, short_names=['pdb'], status=True,
                 generation=True, schema=builtin_schemas.POD_DISRUPTION_BUDGET, merge_keys=META_MERGE_KEYS),
    ]


def crd_resources(crd):
    """Resources served for a CustomResourceDefinition object (one per served version)."""
    spec = crd['spec']
    names = spec['names']
    storage = next((v['name'] for v in spec['versions'] if v.get('storage')), spec['versions'][0]['name'])
    result = []
    for version in spec['versions']:
        if not version.get('served', True):
            continue
        schema = (version.get('schema') or {}).get('openAPIV3Schema') or PRESERVE
        result.append(Resource(
            spec['group'], version['name'], names['plural'], names['kind'], spec.get('scope') == 'Namespaced',
            singular=names.get('singular'), short_names=names.get('shortNames'), categories=names.get('categories'),
            list_kind=names.get('listKind'), schema=schema, status='status' in (version.get('subresources') or {}),
            generation=True, printer_columns=version.get('additionalPrinterColumns'), custom=True,
            storage_version=storage))
    return result


class Registry:
    """Served resources by group/version, with lookups by plural, kind and short name."""

    def __init__(self):
        self.lock = threading.RLock()
        self.resources = {}  # (group, version) -> {plural: Resource}
        for res in builtin_resources():
            self.add(res)
        self.builtin_keys = set(self.resources)

    def add(self, res):
        with self.lock:
            self.resources.setdefault((res.group, res.version), {})[res.plural] = res

    def remove_crd(self, group, plural):
        with self.lock:
            for key in list(self.resources):
                if key[0] == group:
                    self.resources[key].pop(plural, None)
                    if not self.resources[key] and key not in self.builtin_keys:
                        del self.resources[key]

    def register_crd(self, crd):
        spec = crd['spec']
        self.remove_crd(spec['group'], spec['names']['plural'])
        for res in crd_resources(crd):
            self.add(res)

    def lookup(self, group, version, plural):
        with self.lock:
            return self.resources.get((group, version), {}).get(plural)

    def by_kind(self, api_version, kind):
        group, _sep, version = api_version.rpartition('/')
        with self.lock:
            for res in self.resources.get((group, version), {}).values():
                if res.kind == kind:
                    return res
        return None

    def all(self):
        with self.lock:
            return [res for group in self.resources.values() for res in group.values()]

    def group_versions(self):
        """{group: [versions]} for the named groups, in a stable order."""
        with self.lock:
            groups = {}
            for group, version in sorted(self.resources):
                if group:
                    groups.setdefault(group, []).append(version)
            return groups

    # ------------------------------------------------------------ legacy discovery documents

    def resource_list(self, group, version):
        with self.lock:
            served = self.resources.get((group, version))
            if served is None:
                return None
            items = []
            for res in sorted(served.values(), key=lambda r: r.plural):
                items.append(_api_resource(res))
                if res.has_status:
                    items.append({'name': res.plural + '/status', 'singularName': '', 'namespaced': res.namespaced,
                                  'kind': res.kind, 'verbs': SUBRESOURCE_VERBS})
            return {'kind': 'APIResourceList', 'apiVersion': 'v1', 'groupVersion': res.api_version, 'resources': items}

    def api_group(self, group):
        versions = self.group_versions().get(group)
        if not versions:
            return None
        entries = [{'groupVersion': '%s/%s' % (group, v), 'version': v} for v in _by_priority(versions)]
        return {'kind': 'APIGroup', 'apiVersion': 'v1', 'name': group, 'versions': entries, 'preferredVersion': entries[0]}

    def api_group_list(self):
        groups = [self.api_group(group) for group in self.group_versions()]
        for group in groups:
            del group['kind'], group['apiVersion']
        return {'kind': 'APIGroupList', 'apiVersion': 'v1', 'groups': groups}

    # ------------------------------------------------------------ aggregated discovery (apidiscovery.k8s.io/v2)

    def aggregated(self, legacy, api_version='apidiscovery.k8s.io/v2'):
        items = []
        with self.lock:
            group_names = [''] if legacy else list(self.group_versions())
            for group in group_names:
                versions = [v for (g, v) in self.resources if g == group]
                entries = []
                for version in _by_priority(versions):
                    served = sorted(self.resources[(group, version)].values(), key=lambda r: r.plural)
                    resources = [_aggregated_resource(res) for res in served]
                    entries.append({'version': version, 'resources': resources, 'freshness': 'Current'})
                items.append({'metadata': {'name': group, 'creationTimestamp': None}, 'versions': entries})
        return {'kind': 'APIGroupDiscoveryList', 'apiVersion': api_version, 'metadata': {}, 'items': items}

    # ------------------------------------------------------------ OpenAPI

    def openapi_v3_index(self):
        with self.lock:
            keys = sorted(self.resources)
        paths = {}
        for group, version in keys:
            name = 'apis/%s/%s' % (group, version) if group else 'api/%s' % version
            digest = hashlib.sha256(json.dumps(self.openapi_v3(group, version), sort_keys=True).encode()).hexdigest()
            paths[name] = {'serverRelativeURL': '/openapi/v3/%s?hash=%s' % (name, digest[:32].upper())}
        return {'paths': paths}

    def openapi_v3(self, group, version):
        with self.lock:
            served = self.resources.get((group, version))
            if served is None:
                return None
            served = list(served.values())
        schemas, paths = {}, {}
        for res in served:
            model = _model_name(res)
            schemas[model] = _openapi_schema(res)
            schemas[model + 'List'] = {'type': 'object', 'x-kubernetes-group-version-kind': [_gvk(res, res.list_kind)],
                                       'properties': {'items': {'type': 'array', 'items': {'$ref': '#/components/schemas/' + model}}}}
            for path, item in _openapi_paths(res, model).items():
                paths[path] = item
        return {'openapi': '3.0.0', 'info': {'title': 'Kubernetes', 'version': 'v1.32.0'}, 'paths': paths,
                'components': {'schemas': schemas}}

    def openapi_v2(self):
        definitions, paths = {}, {}
        for res in self.all():
            model = _model_name(res)
            definitions[model] = _openapi_schema(res)
            for path, item in _openapi_paths(res, model, ref_prefix='#/definitions/').items():
                paths[path] = item
        return {'swagger': '2.0', 'info': {'title': 'Kubernetes', 'version': 'v1.32.0'}, 'paths': paths,
                'definitions': definitions}


def _by_priority(versions):
    """Kubernetes version priority: GA > beta > alpha, higher numbers first."""
    def key(version):
        import re  # pylint: disable=import-outside-toplevel
        match = re.match(r'^v(\d+)(?:(alpha|beta)(\d+))?$', version)
        if not match:
            return (3, 0, 0, version)
        level = {'alpha': 2, 'beta': 1, None: 0}[match.group(2)]
        return (level, -int(match.group(1)), -int(match.group(3) or 0), version)
    return sorted(versions, key=key)


def _api_resource(res):
    entry = {'name': res.plural, 'singularName': res.singular, 'namespaced': res.namespaced, 'kind': res.kind,
             'verbs': VERBS, 'storageVersionHash': hashlib.sha256(('%s/%s' % res.storage_key).encode()).hexdigest()[:11]}
    if res.short_names:
        entry['shortNames'] = res.short_names
    if res.categories:
        entry['categories'] = res.categories
    return entry


def _aggregated_resource(res):
    entry = {'resource': res.plural, 'responseKind': {'group': res.group, 'version': res.version, 'kind': res.kind},
             'scope': res.scope, 'singularResource': res.singular, 'verbs': VERBS}
    if res.short_names:
        entry['shortNames'] = res.short_names
    if res.categories:
        entry['categories'] = res.categories
    if res.has_status:
        entry['subresources'] = [{'subresource': 'status', 'verbs': SUBRESOURCE_VERBS,
                                  'responseKind': {'group': res.group, 'version': res.version, 'kind': res.kind}}]
    return entry


def _gvk(res, kind=None):
    return {'group': res.group, 'version': res.version, 'kind': kind or res.kind}


def _model_name(res):
    group = '.'.join(reversed(res.group.split('.'))) if res.group else 'io.k8s.api.core'
    return '%s.%s.%s' % (group, res.version, res.kind)


def _openapi_schema(res):
    schema = copy.deepcopy(res.schema) if res.schema else dict(PRESERVE)
    schema['x-kubernetes-group-version-kind'] = [_gvk(res)]
    return schema


QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty']


def _openapi_paths(res, model, ref_prefix='#/components/schemas/'):
    prefix = '/apis/%s/%s' % (res.group, res.version) if res.group else '/api/%s' % res.version
    collection = prefix + ('/namespaces/{namespace}/' if res.namespaced else '/') + res.plural
    ext = {'x-kubernetes-group-version-kind': _gvk(res)}
    if ref_prefix.startswith('#/definitions/'):  # Swagger 2.0: a response carries its schema itself
        params = [{'name': name, 'in': 'query', 'type': 'string', 'uniqueItems': True} for name in QUERY_PARAMS]
        response = {'200': {'description': 'OK', 'schema': {'$ref': ref_prefix + model}}}
    else:
        params = [{'name': name, 'in': 'query', 'schema': {'type': 'string', 'uniqueItems': True}} for name in QUERY_PARAMS]
        response = {'200': {'description': 'OK', 'content': {'application/json': {'schema': {'$ref': ref_prefix + model}}}}}

    def operation(verb, action):
        # kubectl looks for fieldValidation among the PATCH operation's own parameters.
        op = {'operationId': '%s%s' % (verb, res.kind), 'x-kubernetes-action': action, 'responses': response,
              'parameters': params}
        op.update(ext)
        return op
    return {
        collection: {'get': operation('list', 'list'), 'post': operation('create', 'post'), 'parameters': params},
        collection + '/{name}': {'get': operation('read', 'get'), 'put': operation('replace', 'put'),
                                 'patch': operation('patch', 'patch'), 'delete': operation('delete', 'delete'),
                                 'parameters': params},
    }
