"""Defaults the API server itself fills into built-in kinds (the SetDefaults_* functions of
k8s.io/api and the registry strategies), for the fields clients rely on: helm's readiness
checks dereference a Deployment's replicas and strategy, a Service must have its cluster IP,
a Job gets its generated selector. Not every default: the ones real clients read back.
"""
import ipaddress

SERVICE_CIDR = ipaddress.ip_network('10.96.0.0/12')
JOB_UID_LABELS = ('batch.kubernetes.io/controller-uid', 'controller-uid')
JOB_NAME_LABELS = ('batch.kubernetes.io/job-name', 'job-name')


def apply(res, obj, old, taken_cluster_ips=()):
    """Fill the server defaults of ``obj`` (``old``: the stored object on update, else None)."""
    if res.custom:
        return
    if res.group == 'admissionregistration.k8s.io':
        for hook in obj.get('webhooks') or []:
            _webhook(hook, mutating=res.plural.startswith('mutating'))
        return
    spec = obj.get('spec')
    if not isinstance(spec, dict):
        return
    key = (res.group, res.plural)
    if key == ('apps', 'deployments'):
        _deployment(spec)
    elif key == ('apps', 'daemonsets'):
        _daemonset(spec)
    elif key == ('apps', 'statefulsets'):
        _statefulset(spec)
    elif key == ('apps', 'replicasets'):
        spec.setdefault('replicas', 1)
    elif key == ('batch', 'jobs'):
        _job(obj, spec, old)
    elif key == ('', 'services'):
        _service(spec, old, taken_cluster_ips)


def _deployment(spec):
    spec.setdefault('replicas', 1)
    strategy = spec.setdefault('strategy', {})
    strategy.setdefault('type', 'RollingUpdate')
    if strategy['type'] == 'RollingUpdate':
        rolling = strategy.setdefault('rollingUpdate', {})
        rolling.setdefault('maxUnavailable', '25%')
        rolling.setdefault('maxSurge', '25%')
    spec.setdefault('revisionHistoryLimit', 10)
    spec.setdefault('progressDeadlineSeconds', 600)


def _daemonset(spec):
    strategy = spec.setdefault('updateStrategy', {})
    strategy.setdefault('type', 'RollingUpdate')
    if strategy['type'] == 'RollingUpdate':
        rolling = strategy.setdefault('rollingUpdate', {})
        rolling.setdefault('maxUnavailable', 1)
        rolling.setdefault('maxSurge', 0)
    spec.setdefault('revisionHistoryLimit', 10)


def _statefulset(spec):
    spec.setdefault('replicas', 1)
    spec.setdefault('podManagementPolicy', 'OrderedReady')
    strategy = spec.setdefault('updateStrategy', {})
    strategy.setdefault('type', 'RollingUpdate')
    if strategy['type'] == 'RollingUpdate':
        strategy.setdefault('rollingUpdate', {}).setdefault('partition', 0)
    spec.setdefault('revisionHistoryLimit', 10)
    spec.setdefault('persistentVolumeClaimRetentionPolicy', {'whenDeleted': 'Retain', 'whenScaled': 'Retain'})


def _job(obj, spec, old):
    if old is not None:
        return  # defaults and the selector were set at creation; the spec is immutable
    if spec.get('completions') is None and spec.get('parallelism') is None:
        spec['completions'] = 1
    spec.setdefault('parallelism', 1)
    spec.setdefault('backoffLimit', 6 if spec.get('backoffLimitPerIndex') is None else 2 ** 31 - 1)
    spec.setdefault('completionMode', 'NonIndexed')
    spec.setdefault('suspend', False)
    if spec.get('podFailurePolicy') is None:
        spec.setdefault('podReplacementPolicy', 'TerminatingOrFailed')
    uid = obj['metadata'].get('uid')
    template = spec.get('template')
    if spec.get('manualSelector') or not uid or not isinstance(template, dict):
        return  # no template: validation says so
    labels = template.setdefault('metadata', {}).setdefault('labels', {})
    for label in JOB_NAME_LABELS:
        labels.setdefault(label, obj['metadata']['name'])
    for label in JOB_UID_LABELS:
        labels.setdefault(label, uid)
    if not spec.get('selector'):
        spec['selector'] = {'matchLabels': {JOB_UID_LABELS[0]: uid}}


def _service(spec, old, taken):
    spec.setdefault('type', 'ClusterIP')
    spec.setdefault('sessionAffinity', 'None')
    for port in spec.get('ports') or []:
        if isinstance(port, dict):
            port.setdefault('protocol', 'TCP')
            if 'port' in port:
                port.setdefault('targetPort', port['port'])
    if spec['type'] == 'ExternalName':
        return
    old_spec = (old or {}).get('spec') or {}
    if not spec.get('clusterIP'):
        # Allocated once by the server; an update without it keeps the allocated one.
        spec['clusterIP'] = old_spec.get('clusterIP') or _free_ip(taken)
    spec.setdefault('clusterIPs', [spec['clusterIP']])
    if spec['clusterIP'] != 'None':
        spec.setdefault('ipFamilies', ['IPv6' if ':' in spec['clusterIP'] else 'IPv4'])
    spec.setdefault('ipFamilyPolicy', 'SingleStack')
    spec.setdefault('internalTrafficPolicy', 'Cluster')


def _free_ip(taken):
    taken = set(taken)
    for offset in range(10, SERVICE_CIDR.num_addresses - 1):
        address = str(SERVICE_CIDR.network_address + offset)
        if address not in taken:
            return address
    raise RuntimeError('service CIDR %s is full' % SERVICE_CIDR)


def _webhook(hook, mutating):
    if not isinstance(hook, dict):
        return
    hook.setdefault('failurePolicy', 'Fail')
    hook.setdefault('matchPolicy', 'Equivalent')
    hook.setdefault('namespaceSelector', {})
    hook.setdefault('objectSelector', {})
    hook.setdefault('timeoutSeconds', 10)
    if mutating:
        hook.setdefault('reinvocationPolicy', 'Never')
    for rule in hook.get('rules') or []:
        if isinstance(rule, dict):
            rule.setdefault('scope', '*')
    service = (hook.get('clientConfig') or {}).get('service')
    if isinstance(service, dict):
        service.setdefault('port', 443)
