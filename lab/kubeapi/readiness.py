"""Two controller simulations (switched on by name in simulations.py, off by default).

``workload-readiness``: what kube-controller-manager's deployment, replicaset, daemonset,
statefulset and job controllers and the kubelets would report once every pod started and
passed its probes: a Deployment gets its ReplicaSet (owned by it, template plus
``pod-template-hash``) and both get a rolled-out status; a DaemonSet is scheduled and ready
on every Node object whose labels match its nodeSelector; a StatefulSet is ready; a Job
completes (``Complete`` and ``SuccessCriteriaMet``). No pod is created and no container runs:
this is what ``helm --wait``, helm's hook Jobs and kubernetes.core's ``wait`` read.

``spiderpool-hooks``: what the Spiderpool chart's hook Jobs do when they run. The post-install
``spiderpool-init`` Job creates the default SpiderCoordinator (and the default IPv4/IPv6
SpiderIPPools when the chart asks for them) from its environment; spiderpool-controller then
writes the coordinator's status (``Synced`` with the lab's pod and service CIDRs). The
pre-delete cleanup Job (``spiderpool-controller clean``) deletes the webhook configurations it
names, every Spiderpool object (finalizers removed first where Spiderpool sets them), the
Spiderpool and SR-IOV operator CRDs (not sriovoperatorconfigs) and the spiderpool-init Job.
"""
import copy
import hashlib
import json
import time

APPS = 'apps/v1'
BATCH = 'batch/v1'
SPIDERPOOL = 'spiderpool.spidernet.io/v2beta1'
HASH_LABEL = 'pod-template-hash'
WORKLOAD_KINDS = ((APPS, 'Deployment'), (APPS, 'DaemonSet'), (APPS, 'StatefulSet'), (BATCH, 'Job'))
# What the lab's cluster reports as its CIDRs (the demo's preload uses the same).
LAB_POD_CIDR = ['10.233.64.0/18']
LAB_SERVICE_CIDR = ['10.233.0.0/18']


def _now():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def _write_status(api, obj, status):
    current = api.find(obj['apiVersion'], obj['kind'], obj['metadata'].get('namespace'), obj['metadata']['name'])
    if current is None or current.get('status') == status:
        return
    current['status'] = status
    api.internal_write(current, 'kube-controller-manager', subresource='status')


def _template_hash(template):
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


# ---------------------------------------------------------------- workload-readiness

def workload_readiness(api, res, event, obj):
    if res.custom or event == 'DELETED' or obj['metadata'].get('deletionTimestamp'):
        return
    handler = {('apps', 'deployments'): _deployment, ('apps', 'daemonsets'): _daemonset,
               ('apps', 'statefulsets'): _statefulset, ('batch', 'jobs'): _job}.get((res.group, res.plural))
    if handler is not None:
        handler(api, api.find(res.api_version, res.kind, obj['metadata'].get('namespace'), obj['metadata']['name']))


def _deployment(api, deployment):
    if deployment is None:
        return
    meta, spec = deployment['metadata'], deployment.get('spec') or {}
    namespace, replicas = meta['namespace'], spec.get('replicas', 1)
    template = copy.deepcopy(spec.get('template') or {})
    pod_hash = _template_hash(template)
    template.setdefault('metadata', {}).setdefault('labels', {})[HASH_LABEL] = pod_hash
    selector = copy.deepcopy(spec.get('selector') or {})
    selector.setdefault('matchLabels', {})[HASH_LABEL] = pod_hash
    owner = {'apiVersion': APPS, 'kind': 'Deployment', 'name': meta['name'], 'uid': meta['uid'], 'controller': True,
             'blockOwnerDeletion': True}
    name = '%s-%s' % (meta['name'], pod_hash)
    owned = [rs for rs in api.objects_of(APPS, 'ReplicaSet') if rs['metadata'].get('namespace') == namespace and
             any(ref.get('uid') == meta['uid'] and ref.get('controller') for ref in rs['metadata'].get('ownerReferences') or [])]
    revision = 1 + max([int((rs['metadata'].get('annotations') or {}).get('deployment.kubernetes.io/revision', '0'))
                        for rs in owned] or [0])
    for old in owned:  # the rollout scales every older ReplicaSet down to zero
        if old['metadata']['name'] != name and (old.get('spec') or {}).get('replicas'):
            old['spec']['replicas'] = 0
            old['metadata'].pop('resourceVersion', None)
            api.internal_write(old, 'deployment-controller')
            scaled = api.find(APPS, 'ReplicaSet', namespace, old['metadata']['name'])
            _write_status(api, scaled, {'replicas': 0, 'observedGeneration': scaled['metadata'].get('generation', 1)})
    current = next((rs for rs in owned if rs['metadata']['name'] == name), None)
    wanted = {'replicas': replicas, 'selector': selector, 'template': template}
    if current is None or current.get('spec') != wanted:
        annotations = dict((current or {}).get('metadata', {}).get('annotations') or {})
        annotations.setdefault('deployment.kubernetes.io/revision', str(revision))
        rs = {'apiVersion': APPS, 'kind': 'ReplicaSet',
              'metadata': {'name': name, 'namespace': namespace, 'labels': dict(template['metadata']['labels']),
                           'annotations': annotations, 'ownerReferences': [owner]},
              'spec': wanted}
        api.internal_write(rs, 'deployment-controller')
    rs = api.find(APPS, 'ReplicaSet', namespace, name)
    _write_status(api, rs, {'replicas': replicas, 'fullyLabeledReplicas': replicas, 'readyReplicas': replicas,
                            'availableReplicas': replicas, 'observedGeneration': rs['metadata'].get('generation', 1)})
    status = dict(deployment.get('status') or {})
    conditions = status.get('conditions') or [
        {'type': 'Available', 'status': 'True', 'reason': 'MinimumReplicasAvailable',
         'message': 'Deployment has minimum availability.', 'lastUpdateTime': _now(), 'lastTransitionTime': _now()},
        {'type': 'Progressing', 'status': 'True', 'reason': 'NewReplicaSetAvailable',
         'message': 'ReplicaSet "%s" has successfully progressed.' % name, 'lastUpdateTime': _now(),
         'lastTransitionTime': _now()}]
    for condition in conditions:
        if condition.get('type') == 'Progressing':
            condition['message'] = 'ReplicaSet "%s" has successfully progressed.' % name
    _write_status(api, deployment, {'observedGeneration': meta.get('generation', 1), 'replicas': replicas,
                                    'updatedReplicas': replicas, 'readyReplicas': replicas, 'availableReplicas': replicas,
                                    'conditions': conditions})


def _scheduled_nodes(api, daemonset):
    wanted = ((daemonset.get('spec') or {}).get('template') or {}).get('spec', {}).get('nodeSelector') or {}
    nodes = api.objects_of('v1', 'Node')
    return sum(1 for node in nodes
               if all((node['metadata'].get('labels') or {}).get(key) == value for key, value in wanted.items()))


def _daemonset(api, daemonset):
    if daemonset is None:
        return
    count = _scheduled_nodes(api, daemonset)
    _write_status(api, daemonset, {
        'observedGeneration': daemonset['metadata'].get('generation', 1), 'desiredNumberScheduled': count,
        'currentNumberScheduled': count, 'updatedNumberScheduled': count, 'numberReady': count, 'numberAvailable': count,
        'numberMisscheduled': 0})


def _statefulset(api, statefulset):
    if statefulset is None:
        return
    spec = statefulset.get('spec') or {}
    replicas = spec.get('replicas', 1)
    revision = '%s-%s' % (statefulset['metadata']['name'], _template_hash(spec.get('template') or {}))
    _write_status(api, statefulset, {
        'observedGeneration': statefulset['metadata'].get('generation', 1), 'replicas': replicas, 'readyReplicas': replicas,
        'currentReplicas': replicas, 'updatedReplicas': replicas, 'availableReplicas': replicas,
        'currentRevision': revision, 'updateRevision': revision, 'collisionCount': 0})


def _job(api, job):
    if job is None or (job.get('spec') or {}).get('suspend'):
        return
    status = job.get('status') or {}
    if any(c.get('type') in ('Complete', 'Failed') for c in status.get('conditions') or []):
        return  # a finished Job stays finished
    started = _now()
    completions = (job.get('spec') or {}).get('completions', 1) or 1
    _write_status(api, job, {
        'startTime': started, 'completionTime': started, 'succeeded': completions, 'active': 0, 'ready': 0,
        'terminating': 0, 'uncountedTerminatedPods': {},
        'conditions': [
            {'type': 'SuccessCriteriaMet', 'status': 'True', 'reason': 'CompletionsReached',
             'message': 'Reached expected number of succeeded pods', 'lastProbeTime': started, 'lastTransitionTime': started},
            {'type': 'Complete', 'status': 'True', 'reason': 'CompletionsReached',
             'message': 'Reached expected number of succeeded pods', 'lastProbeTime': started, 'lastTransitionTime': started}]})


# ---------------------------------------------------------------- spiderpool-hooks

INIT_ENV = 'SPIDERPOOL_INIT_'


def _init_environment(job):
    containers = (((job.get('spec') or {}).get('template') or {}).get('spec') or {}).get('containers') or []
    env = {}
    for container in containers:
        for item in container.get('env') or []:
            if isinstance(item, dict) and isinstance(item.get('value'), str):
                env[item.get('name')] = item['value']
    return env


def _json_list(text):
    try:
        value = json.loads(text or '[]')
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def spiderpool_hooks(api, res, event, job):
    """The work of the chart's hook Jobs, done when the Job is created (its pod would run at once)."""
    if (res.group, res.plural) != ('batch', 'jobs') or event != 'ADDED':
        return
    containers = (((job.get('spec') or {}).get('template') or {}).get('spec') or {}).get('containers') or []
    for container in containers:
        command = container.get('command') or []
        if len(command) > 1 and command[1] == 'clean':
            _clean(api, job, command[2:], _init_environment(job))
            return
    _init(api, _init_environment(job))


def _init(api, env):
    name = env.get(INIT_ENV + 'DEFAULT_COORDINATOR_NAME')
    if not name or api.registry.by_kind(SPIDERPOOL, 'SpiderCoordinator') is None:
        return
    if api.find(SPIDERPOOL, 'SpiderCoordinator', None, name) is None:
        spec = {'mode': env.get(INIT_ENV + 'DEFAULT_COORDINATOR_MODE', 'auto'),
                'podCIDRType': env.get(INIT_ENV + 'DEFAULT_COORDINATOR_POD_CIDR_TYPE', 'auto'),
                'tunePodRoutes': env.get(INIT_ENV + 'DEFAULT_COORDINATOR_TUNE_POD_ROUTES', 'true') == 'true',
                'hijackCIDR': _json_list(env.get(INIT_ENV + 'DEFAULT_COORDINATOR_HIJACK_CIDR'))}
        if env.get(INIT_ENV + 'DEFAULT_COORDINATOR_VETH_LINK_ADDRESS'):
            spec['vethLinkAddress'] = env[INIT_ENV + 'DEFAULT_COORDINATOR_VETH_LINK_ADDRESS']
        api.internal_write({'apiVersion': SPIDERPOOL, 'kind': 'SpiderCoordinator', 'metadata': {'name': name}, 'spec': spec},
                           'spiderpool-init')
        coordinator = api.find(SPIDERPOOL, 'SpiderCoordinator', None, name)
        _write_status(api, coordinator, {'phase': 'Synced', 'overlayPodCIDR': list(LAB_POD_CIDR),
                                         'serviceCIDR': list(LAB_SERVICE_CIDR)})
    for family in ('IPV4', 'IPV6'):
        pool = env.get('%sDEFAULT_%s_IPPOOL_NAME' % (INIT_ENV, family))
        subnet = env.get('%sDEFAULT_%s_IPPOOL_SUBNET' % (INIT_ENV, family))
        if not pool or not subnet or api.registry.by_kind(SPIDERPOOL, 'SpiderIPPool') is None or \
                api.find(SPIDERPOOL, 'SpiderIPPool', None, pool) is not None:
            continue
        spec = {'subnet': subnet, 'ips': _json_list(env.get('%sDEFAULT_%s_IPPOOL_IPRANGES' % (INIT_ENV, family))),
                'default': True}
        gateway = env.get('%sDEFAULT_%s_IPPOOL_GATEWAY' % (INIT_ENV, family))
        if gateway:
            spec['gateway'] = gateway
        api.internal_write({'apiVersion': SPIDERPOOL, 'kind': 'SpiderIPPool', 'metadata': {'name': pool}, 'spec': spec},
                           'spiderpool-init')


CLEANED_KINDS = ('SpiderIPPool', 'SpiderSubnet', 'SpiderEndpoint', 'SpiderReservedIP', 'SpiderMultusConfig',
                 'SpiderCoordinator', 'SpiderClaimParameter')
UNFINALIZED_KINDS = ('SpiderIPPool', 'SpiderEndpoint', 'SpiderCoordinator')
SRIOV_GROUP = 'sriovnetwork.openshift.io'


def _flag(args, name):
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None


def _clean(api, job, args, env):
    """spiderpool-controller clean --validate NAME --mutating NAME."""
    admission = 'admissionregistration.k8s.io/v1'
    for kind, flag in (('ValidatingWebhookConfiguration', '--validate'), ('MutatingWebhookConfiguration', '--mutating')):
        name = _flag(args, flag)
        if name:
            api.internal_delete(admission, kind, None, name)
    for kind in CLEANED_KINDS:
        if api.registry.by_kind(SPIDERPOOL, kind) is None:
            continue
        for obj in api.objects_of(SPIDERPOOL, kind):
            meta = obj['metadata']
            if kind in UNFINALIZED_KINDS and meta.get('finalizers'):
                meta['finalizers'] = []
                meta.pop('resourceVersion', None)
                api.internal_write(obj, 'spiderpool-controller')
            api.internal_delete(SPIDERPOOL, kind, meta.get('namespace'), meta['name'])
    for crd in api.objects_of('apiextensions.k8s.io/v1', 'CustomResourceDefinition'):
        group = crd['spec'].get('group')
        if group == SPIDERPOOL.split('/', maxsplit=1)[0] or (group == SRIOV_GROUP and crd['metadata']['name'] != 'sriovoperatorconfigs.' + SRIOV_GROUP):
            api.internal_delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', None, crd['metadata']['name'])
    init = env.get('SPIDERPOOL_INIT_NAME')
    if init:
        api.internal_delete(BATCH, 'Job', job['metadata'].get('namespace'), init)
