"""The most common validation rules of built-in kinds (the emulator stores built-ins without a schema).

Not the full Kubernetes validation: the checks a manifest most often fails on a real cluster,
so that tests relying on the emulator do not accept what a cluster would refuse.
"""
import re

from lab.kubeapi.schema import cause, invalid

CONFIG_KEY = re.compile(r'^[-._a-zA-Z0-9]+$')
DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
SERVICE_TYPES = ('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName')
PROTOCOLS = ('TCP', 'UDP', 'SCTP')
WORKLOADS = ('deployments', 'daemonsets', 'statefulsets', 'replicasets')


def causes_for(res, obj):
    if res.custom:
        return []
    if res.group == '' and res.plural in ('configmaps', 'secrets'):
        return _data_keys(obj)
    if res.group == '' and res.plural == 'pods':
        return _pod_spec(obj.get('spec'), 'spec')
    if res.group == '' and res.plural == 'services':
        return _service(obj.get('spec') or {})
    if res.group == 'apps' and res.plural in WORKLOADS:
        return _workload(obj.get('spec'))
    return []


def _data_keys(obj):
    causes = []
    for field in ('data', 'binaryData'):
        for key in (obj.get(field) or {}):
            if not CONFIG_KEY.match(key) or len(key) > 253:
                causes.append(invalid('%s[%s]' % (field, key), key,
                                      "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"))
    return causes


def _pod_spec(spec, where):
    if not isinstance(spec, dict):
        return [cause('FieldValueRequired', where, 'Required value')]
    causes = []
    containers = spec.get('containers')
    if not containers:
        causes.append(cause('FieldValueRequired', where + '.containers', 'Required value'))
    names = set()
    for field in ('initContainers', 'containers'):
        for index, container in enumerate(spec.get(field) or []):
            at = '%s.%s[%d]' % (where, field, index)
            name = container.get('name')
            if not name:
                causes.append(cause('FieldValueRequired', at + '.name', 'Required value'))
            elif not DNS1123_LABEL.match(name):
                causes.append(invalid(at + '.name', name, 'a lowercase RFC 1123 label must consist of lower case '
                                      "alphanumeric characters or '-'"))
            elif name in names:
                causes.append(cause('FieldValueDuplicate', at + '.name', 'Duplicate value: "%s"' % name))
            names.add(name)
            if not container.get('image'):
                causes.append(cause('FieldValueRequired', at + '.image', 'Required value'))
            for port_index, port in enumerate(container.get('ports') or []):
                number = port.get('containerPort')
                if not isinstance(number, int) or not 1 <= number <= 65535:
                    causes.append(invalid('%s.ports[%d].containerPort' % (at, port_index), number,
                                          'must be between 1 and 65535, inclusive'))
    return causes


def _service(spec):
    causes = []
    kind = spec.get('type', 'ClusterIP')
    if kind not in SERVICE_TYPES:
        causes.append(cause('FieldValueNotSupported', 'spec.type', 'Unsupported value: "%s": supported values: %s'
                            % (kind, ', '.join('"%s"' % t for t in SERVICE_TYPES))))
    ports = spec.get('ports') or []
    if not ports and kind != 'ExternalName' and spec.get('clusterIP') != 'None':
        causes.append(cause('FieldValueRequired', 'spec.ports', 'Required value'))
    for index, port in enumerate(ports):
        number = port.get('port')
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(invalid('spec.ports[%d].port' % index, number, 'must be between 1 and 65535, inclusive'))
        if port.get('protocol', 'TCP') not in PROTOCOLS:
            causes.append(cause('FieldValueNotSupported', 'spec.ports[%d].protocol' % index,
                                'Unsupported value: "%s": supported values: "SCTP", "TCP", "UDP"' % port['protocol']))
        if len(ports) > 1 and not port.get('name'):
            causes.append(cause('FieldValueRequired', 'spec.ports[%d].name' % index, 'Required value'))
    return causes


def _workload(spec):
    if not isinstance(spec, dict):
        return [cause('FieldValueRequired', 'spec', 'Required value')]
    causes = []
    selector = spec.get('selector')
    labels = ((spec.get('template') or {}).get('metadata') or {}).get('labels') or {}
    if not selector or not (selector.get('matchLabels') or selector.get('matchExpressions')):
        causes.append(cause('FieldValueRequired', 'spec.selector', 'Required value'))
    else:
        wanted = selector.get('matchLabels') or {}
        if any(labels.get(key) != value for key, value in wanted.items()):
            causes.append(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'))
    causes += _pod_spec((spec.get('template') or {}).get('spec'), 'spec.template.spec')
    return causes


# ---------------------------------------------------------------- the kinds charts create beyond core and apps
# The rules of Kubernetes' own validation (pkg/apis/*/validation) that a schema cannot express.

RBAC = 'rbac.authorization.k8s.io'
SUBJECT_KINDS = ('ServiceAccount', 'User', 'Group')
WEBHOOK_OPERATIONS = ('*', 'CREATE', 'UPDATE', 'DELETE', 'CONNECT')
SIDE_EFFECTS = ('None', 'NoneOnDryRun')
REVIEW_VERSIONS = ('v1', 'v1beta1')
PERCENT = re.compile(r'^[0-9]+%$')


def chart_kind_causes(res, obj, old):
    """Validation of RBAC, webhook configurations, Jobs and PodDisruptionBudgets (old: None on create)."""
    if res.group == RBAC and res.plural in ('roles', 'clusterroles'):
        return _policy_rules(obj.get('rules') or [], namespaced=res.plural == 'roles')
    if res.group == RBAC and res.plural in ('rolebindings', 'clusterrolebindings'):
        return _binding(obj, old, cluster=res.plural == 'clusterrolebindings')
    if res.group == 'admissionregistration.k8s.io':
        return _webhooks(obj.get('webhooks') or [], mutating=res.plural.startswith('mutating'))
    if res.group == 'batch' and res.plural == 'jobs':
        return _job(obj, old)
    if res.group == 'policy' and res.plural == 'poddisruptionbudgets':
        return _pdb(obj.get('spec') or {})
    return []


def _policy_rules(rules, namespaced):
    causes = []
    for index, rule in enumerate(rules):
        at = 'rules[%d]' % index
        if not rule.get('verbs'):
            causes.append(cause('FieldValueRequired', at + '.verbs', 'Required value: verbs must contain at least one value'))
        if rule.get('nonResourceURLs'):
            if namespaced:
                causes.append(invalid(at + '.nonResourceURLs', rule['nonResourceURLs'],
                                      'namespaced rules cannot apply to non-resource URLs'))
            if rule.get('apiGroups') or rule.get('resources') or rule.get('resourceNames'):
                causes.append(invalid(at + '.nonResourceURLs', rule['nonResourceURLs'],
                                      'rules cannot apply to both regular resources and non-resource URLs'))
            continue
        if not rule.get('apiGroups'):
            causes.append(cause('FieldValueRequired', at + '.apiGroups',
                                'Required value: resource rules must supply at least one api group'))
        if not rule.get('resources'):
            causes.append(cause('FieldValueRequired', at + '.resources',
                                'Required value: resource rules must supply at least one resource'))
    return causes


def _binding(obj, old, cluster):
    causes = []
    ref = obj.get('roleRef') or {}
    if ref and ref.get('apiGroup') != RBAC:
        causes.append(cause('FieldValueNotSupported', 'roleRef.apiGroup',
                            'Unsupported value: "%s": supported values: "%s"' % (ref.get('apiGroup'), RBAC)))
    kinds = ('ClusterRole',) if cluster else ('Role', 'ClusterRole')
    if ref and ref.get('kind') not in kinds:
        causes.append(cause('FieldValueNotSupported', 'roleRef.kind', 'Unsupported value: "%s": supported values: %s'
                            % (ref.get('kind'), ', '.join('"%s"' % kind for kind in kinds))))
    if ref and not ref.get('name'):
        causes.append(cause('FieldValueRequired', 'roleRef.name', 'Required value'))
    if old is not None and old.get('roleRef') != obj.get('roleRef'):
        causes.append(invalid('roleRef', ref, 'cannot change roleRef'))
    for index, subject in enumerate(obj.get('subjects') or []):
        at = 'subjects[%d]' % index
        kind = subject.get('kind')
        if kind not in SUBJECT_KINDS:
            causes.append(cause('FieldValueNotSupported', at + '.kind', 'Unsupported value: "%s": supported values: %s'
                                % (kind, ', '.join('"%s"' % k for k in SUBJECT_KINDS))))
        elif kind == 'ServiceAccount':
            if subject.get('apiGroup'):
                causes.append(cause('FieldValueNotSupported', at + '.apiGroup',
                                    'Unsupported value: "%s": supported values: ""' % subject['apiGroup']))
            if cluster and not subject.get('namespace'):
                causes.append(cause('FieldValueRequired', at + '.namespace', 'Required value'))
        elif subject.get('apiGroup') != RBAC:
            causes.append(cause('FieldValueNotSupported', at + '.apiGroup', 'Unsupported value: "%s": supported values: "%s"'
                                % (subject.get('apiGroup', ''), RBAC)))
    return causes


def _webhooks(webhooks, mutating):
    causes, names = [], set()
    for index, hook in enumerate(webhooks):
        at = 'webhooks[%d]' % index
        name = hook.get('name') or ''
        if name.count('.') < 2 or not all(DNS1123_LABEL.match(part) for part in name.split('.')):
            causes.append(invalid(at + '.name', name, 'should be a domain with at least three segments separated by dots'))
        elif name in names:
            causes.append(cause('FieldValueDuplicate', at + '.name', 'Duplicate value: "%s"' % name))
        names.add(name)
        client = hook.get('clientConfig') or {}
        if ('url' in client) == ('service' in client):
            causes.append(cause('FieldValueRequired', at + '.clientConfig', 'Required value: exactly one of url or service is required'))
        if isinstance(client.get('url'), str) and not client['url'].startswith('https://'):
            causes.append(invalid(at + '.clientConfig.url', client['url'], "'https' is the only allowed URL scheme"))
        service = client.get('service') or {}
        path = service.get('path')
        if path is not None and not str(path).startswith('/'):
            causes.append(invalid(at + '.clientConfig.service.path', path, "must start with a '/'"))
        port = service.get('port')
        if port is not None and not 1 <= port <= 65535:
            causes.append(invalid(at + '.clientConfig.service.port', port, 'port is not valid: must be between 1 and 65535, inclusive'))
        for rule_index, rule in enumerate(hook.get('rules') or []):
            rule_at = '%s.rules[%d]' % (at, rule_index)
            for field in ('operations', 'apiGroups', 'apiVersions', 'resources'):
                if not rule.get(field):
                    causes.append(cause('FieldValueRequired', '%s.%s' % (rule_at, field), 'Required value'))
            for operation in rule.get('operations') or []:
                if operation not in WEBHOOK_OPERATIONS:
                    causes.append(cause('FieldValueNotSupported', rule_at + '.operations', 'Unsupported value: "%s": supported '
                                        'values: %s' % (operation, ', '.join('"%s"' % op for op in WEBHOOK_OPERATIONS))))
            if rule.get('scope') not in (None, '*', 'Cluster', 'Namespaced'):
                causes.append(cause('FieldValueNotSupported', rule_at + '.scope', 'Unsupported value: "%s": supported values: '
                                    '"*", "Cluster", "Namespaced"' % rule['scope']))
        if 'sideEffects' in hook and hook['sideEffects'] not in SIDE_EFFECTS:
            causes.append(cause('FieldValueNotSupported', at + '.sideEffects', 'Unsupported value: "%s": supported values: '
                                '"None", "NoneOnDryRun"' % hook['sideEffects']))
        versions = hook.get('admissionReviewVersions')
        if versions is not None and not any(version in REVIEW_VERSIONS for version in versions):
            causes.append(cause('FieldValueRequired', at + '.admissionReviewVersions',
                                'Required value: must specify one of v1, v1beta1'))
        timeout = hook.get('timeoutSeconds')
        if timeout is not None and not 1 <= timeout <= 30:
            causes.append(invalid(at + '.timeoutSeconds', timeout, 'the timeout value must be between 1 and 30 seconds'))
        if not mutating and 'reinvocationPolicy' in hook:
            causes.append(cause('FieldValueForbidden', at + '.reinvocationPolicy', 'Forbidden: not allowed on validating webhooks'))
    return causes


JOB_RESTART_POLICIES = ('OnFailure', 'Never')
JOB_IMMUTABLE = ('selector', 'completionMode')


def _job(obj, old):
    spec = obj.get('spec') or {}
    causes = []
    for field in ('parallelism', 'completions', 'backoffLimit', 'backoffLimitPerIndex', 'maxFailedIndexes',
                  'ttlSecondsAfterFinished'):
        if isinstance(spec.get(field), int) and spec[field] < 0:
            causes.append(invalid('spec.' + field, spec[field], 'must be greater than or equal to 0'))
    if isinstance(spec.get('activeDeadlineSeconds'), int) and spec['activeDeadlineSeconds'] <= 0:
        causes.append(invalid('spec.activeDeadlineSeconds', spec['activeDeadlineSeconds'], 'must be greater than 0'))
    template = spec.get('template') or {}
    pod = template.get('spec')
    causes += _pod_spec(pod, 'spec.template.spec')
    policy = (pod or {}).get('restartPolicy') if isinstance(pod, dict) else None
    if policy not in JOB_RESTART_POLICIES:
        causes.append(cause('FieldValueRequired' if policy is None else 'FieldValueNotSupported', 'spec.template.spec.restartPolicy',
                            ('Required value: valid values: "OnFailure", "Never"' if policy is None else
                             'Unsupported value: "%s": supported values: "OnFailure", "Never"' % policy)))
    uid = obj['metadata'].get('uid')
    generated = {'matchLabels': {'batch.kubernetes.io/controller-uid': uid}}
    if old is None and not spec.get('manualSelector') and spec.get('selector') != generated:
        causes.append(invalid('spec.selector', spec.get('selector'), '`selector` not auto-generated'))
    if old is not None:
        old_spec = old.get('spec') or {}
        for field in JOB_IMMUTABLE:
            if field in old_spec and spec.get(field) != old_spec.get(field):
                causes.append(invalid('spec.' + field, spec.get(field), 'field is immutable'))
        if not old_spec.get('suspend') and spec.get('template') != old_spec.get('template'):
            causes.append(invalid('spec.template', '<template>', 'field is immutable'))
    return causes


def _pdb(spec):
    causes = []
    if 'minAvailable' in spec and 'maxUnavailable' in spec:
        causes.append(invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'))
    for field in ('minAvailable', 'maxUnavailable'):
        value = spec.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            causes.append(invalid('spec.' + field, value, 'must be greater than or equal to 0'))
        elif isinstance(value, str) and (not PERCENT.match(value) or int(value[:-1]) > 100):
            causes.append(invalid('spec.' + field, value, 'a valid percent string must be a numeric string followed by an '
                                  "ending '%' (e.g. '1%',  or '93%') not greater than 100%"))
    return causes
