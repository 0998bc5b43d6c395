"""What a chart install needs from the emulator: protobuf bodies from kubectl, the protobuf OpenAPI
v2 document, the rbac/admissionregistration/batch/policy kinds (strict), server defaults, and the
workload-readiness simulation."""
import copy
import json
import shutil
import subprocess
import urllib.request

import pytest

KUBECTL = shutil.which('kubectl')
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason='kubectl is not installed on this machine')
NS = 'default'

TEMPLATE = {'metadata': {'labels': {'app': 'web'}}, 'spec': {'containers': [{'name': 'web', 'image': 'nginx:1'}]}}
DEPLOYMENT = {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': 'web', 'namespace': NS},
              'spec': {'replicas': 2, 'selector': {'matchLabels': {'app': 'web'}}, 'template': TEMPLATE}}
JOB = {'apiVersion': 'batch/v1', 'kind': 'Job', 'metadata': {'name': 'init', 'namespace': NS},
       'spec': {'template': {'spec': {'restartPolicy': 'Never', 'containers': [{'name': 'init', 'image': 'busybox'}]}}}}
WEBHOOK = {'name': 'pools.example.io', 'clientConfig': {'service': {'namespace': NS, 'name': 'hook', 'path': '/validate'}},
           'rules': [{'operations': ['CREATE'], 'apiGroups': ['x.io'], 'apiVersions': ['v1'], 'resources': ['pools']}],
           'sideEffects': 'None', 'admissionReviewVersions': ['v1']}


@pytest.fixture
def kubectl(kubeapi, tmp_path):
    env = kubeapi.env()
    env['KUBECACHEDIR'] = str(tmp_path / 'kube-cache')

    def run(*args, check=True):
        result = subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
        if check and result.returncode != 0:
            raise AssertionError('kubectl %s failed: %s%s' % (' '.join(args), result.stdout, result.stderr))
        return result
    return run


def create(kubeapi, obj, query=None):
    api_version = obj['apiVersion']
    base = '/api/v1' if api_version == 'v1' else '/apis/' + api_version
    plural = {'ClusterRole': 'clusterroles', 'RoleBinding': 'rolebindings', 'ClusterRoleBinding': 'clusterrolebindings',
              'ValidatingWebhookConfiguration': 'validatingwebhookconfigurations', 'Job': 'jobs', 'Service': 'services',
              'PodDisruptionBudget': 'poddisruptionbudgets', 'Deployment': 'deployments', 'DaemonSet': 'daemonsets',
              'Node': 'nodes', 'MutatingWebhookConfiguration': 'mutatingwebhookconfigurations'}[obj['kind']]
    namespace = obj['metadata'].get('namespace')
    path = '%s%s/%s' % (base, '/namespaces/' + namespace if namespace else '', plural)
    return kubeapi.http('POST', path, body=obj, query=query)


@needs_kubectl
def test_kubectl_create_namespace_configmap_and_secret_send_protobuf_and_work(kubeapi, kubectl):
    kubectl('create', 'namespace', 'team-a')
    kubectl('create', 'configmap', 'settings', '-n', 'team-a', '--from-literal=mode=fast', '--from-literal=level=2')
    kubectl('create', 'secret', 'generic', 'token', '-n', 'team-a', '--from-literal=token=s3cret')
    kubectl('create', 'serviceaccount', 'robot', '-n', 'team-a')
    creates = [r for r in kubeapi.requests() if r['verb'] == 'create']
    assert {r['content_type'] for r in creates} == {'application/vnd.kubernetes.protobuf'}
    assert kubeapi.get('v1', 'Namespace', 'team-a')['status']['phase'] == 'Active'
    assert kubeapi.get('v1', 'ConfigMap', 'settings', 'team-a')['data'] == {'mode': 'fast', 'level': '2'}
    secret = kubeapi.get('v1', 'Secret', 'token', 'team-a')
    assert (secret['type'], secret['data']) == ('Opaque', {'token': 'czNjcmV0'})
    assert kubeapi.get('v1', 'ServiceAccount', 'robot', 'team-a') is not None


def test_protobuf_bodies_the_emulator_cannot_take_are_refused_with_the_status_a_client_understands(kubeapi):
    status, body = kubeapi.http('POST', '/api/v1/namespaces', body=b'k8s\x00\x0a\xff', content_type='application/vnd.kubernetes.protobuf')
    assert status == 400 and 'could not be decoded' in body['message']
    status, body = kubeapi.http('POST', '/apis/spiderpool.spidernet.io/v2beta1/spiderippools', body=b'k8s\x00',
                                content_type='application/vnd.kubernetes.protobuf')
    assert status == 415 and body['reason'] == 'UnsupportedMediaType'  # as for custom resources on a cluster


@needs_kubectl
def test_the_protobuf_openapi_v2_document_is_what_client_go_parses(kubeapi, kubectl):
    # kubectl explain's v2 output reads /openapi/v2 in protobuf form (gnostic), as helm's validation does.
    text = kubectl('explain', 'clusterroles.rules', '--output=plaintext-openapiv2').stdout
    assert 'verbs\t<[]string>' in text and 'apiGroups\t<[]string>' in text
    text = kubectl('explain', 'spiderippools.spec', '--output=plaintext-openapiv2').stdout
    assert 'subnet\t<string>' in text
    assert set(r['status'] for r in kubeapi.requests() if r['path'] == '/openapi/v2') == {200}


def test_the_chart_groups_are_in_legacy_and_aggregated_discovery_and_openapi(kubeapi):
    wanted = {'rbac.authorization.k8s.io': {'roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'},
              'admissionregistration.k8s.io': {'mutatingwebhookconfigurations', 'validatingwebhookconfigurations'},
              'batch': {'jobs', 'jobs/status'}, 'policy': {'poddisruptionbudgets', 'poddisruptionbudgets/status'}}
    _status, groups = kubeapi.http('GET', '/apis')
    served = {g['name'] for g in groups['groups']}
    assert set(wanted) <= served
    for group, resources in wanted.items():
        _status, listing = kubeapi.http('GET', '/apis/%s/v1' % group)
        assert resources <= {r['name'] for r in listing['resources']}
    request = urllib.request.Request(kubeapi.url + '/apis',
                                     headers={'Accept': 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'})
    with urllib.request.urlopen(request, timeout=10) as answer:
        aggregated = json.loads(answer.read())
    assert set(wanted) <= {item['metadata']['name'] for item in aggregated['items']}
    _status, index = kubeapi.http('GET', '/openapi/v3')
    assert {'apis/%s/v1' % group for group in wanted} <= set(index['paths'])


@pytest.mark.parametrize('obj, field', [
    ({'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'ClusterRole', 'metadata': {'name': 'r'},
      'rules': [{'apiGroups': [''], 'resources': ['pods']}]}, 'rules[0].verbs'),
    ({'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'ClusterRole', 'metadata': {'name': 'r'},
      'rules': [{'verbs': 'get', 'apiGroups': [''], 'resources': ['pods']}]}, 'rules[0].verbs'),
    ({'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'ClusterRoleBinding', 'metadata': {'name': 'b'},
      'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Role', 'name': 'r'}}, 'roleRef.kind'),
    ({'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'ClusterRoleBinding', 'metadata': {'name': 'b'},
      'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'r'},
      'subjects': [{'kind': 'ServiceAccount', 'name': 'sa'}]}, 'subjects[0].namespace'),
    ({'apiVersion': 'admissionregistration.k8s.io/v1', 'kind': 'ValidatingWebhookConfiguration', 'metadata': {'name': 'w'},
      'webhooks': [dict((k, v) for k, v in WEBHOOK.items() if k != 'sideEffects')]}, 'webhooks[0].sideEffects'),
    ({'apiVersion': 'admissionregistration.k8s.io/v1', 'kind': 'ValidatingWebhookConfiguration', 'metadata': {'name': 'w'},
      'webhooks': [dict(WEBHOOK, clientConfig={})]}, 'webhooks[0].clientConfig'),
    ({'apiVersion': 'batch/v1', 'kind': 'Job', 'metadata': {'name': 'j', 'namespace': NS},
      'spec': {'template': {'spec': {'restartPolicy': 'Always', 'containers': [{'name': 'c', 'image': 'i'}]}}}},
     'spec.template.spec.restartPolicy'),
    ({'apiVersion': 'batch/v1', 'kind': 'Job', 'metadata': {'name': 'j', 'namespace': NS}, 'spec': {}}, 'spec.template'),
    ({'apiVersion': 'policy/v1', 'kind': 'PodDisruptionBudget', 'metadata': {'name': 'p', 'namespace': NS},
      'spec': {'minAvailable': 1, 'maxUnavailable': '10%', 'selector': {'matchLabels': {'app': 'web'}}}}, 'spec'),
])
def test_the_chart_kinds_are_validated_as_a_cluster_does(kubeapi, obj, field):
    status, body = create(kubeapi, obj)
    assert status == 422, body
    assert field in [cause.get('field') for cause in body['details']['causes']], body


def test_unknown_fields_are_refused_in_strict_mode_and_the_role_ref_is_immutable(kubeapi):
    role = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'ClusterRole', 'metadata': {'name': 'system:lab:reader'},
            'rules': [{'verbs': ['get'], 'apiGroups': [''], 'resources': ['pods'], 'resourceName': ['x']}]}
    status, body = create(kubeapi, role, query={'fieldValidation': 'Strict'})
    assert status == 400 and 'unknown field "rules[0].resourceName"' in body['message']
    status, _body = create(kubeapi, role)  # the default (Warn) drops it; RBAC names may hold colons
    assert status == 201 and 'resourceName' not in kubeapi.get('rbac.authorization.k8s.io/v1', 'ClusterRole', 'system:lab:reader')['rules'][0]
    binding = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'RoleBinding', 'metadata': {'name': 'b', 'namespace': NS},
               'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'system:lab:reader'},
               'subjects': [{'kind': 'ServiceAccount', 'name': 'default'}]}
    assert create(kubeapi, binding)[0] == 201
    status, body = kubeapi.http('PATCH', '/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings/b' % NS,
                                body={'roleRef': {'name': 'other'}}, content_type='application/merge-patch+json')
    assert status == 422 and 'cannot change roleRef' in body['message']


def test_server_defaults_clients_rely_on(kubeapi):
    assert create(kubeapi, DEPLOYMENT)[0] == 201
    spec = kubeapi.get('apps/v1', 'Deployment', 'web', NS)['spec']
    assert spec['strategy'] == {'type': 'RollingUpdate', 'rollingUpdate': {'maxUnavailable': '25%', 'maxSurge': '25%'}}
    status, job = create(kubeapi, JOB)
    assert status == 201
    uid = job['metadata']['uid']
    assert job['spec']['selector'] == {'matchLabels': {'batch.kubernetes.io/controller-uid': uid}}
    assert job['spec']['template']['metadata']['labels']['batch.kubernetes.io/job-name'] == 'init'
    assert (job['spec']['backoffLimit'], job['spec']['completions'], job['spec']['parallelism']) == (6, 1, 1)
    services = []
    for name in ('a', 'b'):
        status, service = create(kubeapi, {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': name, 'namespace': NS},
                                           'spec': {'selector': {'app': 'web'}, 'ports': [{'port': 443}]}})
        assert status == 201
        services.append(service['spec'])
    assert services[0]['clusterIP'] != services[1]['clusterIP'] and services[0]['clusterIP'].startswith('10.')
    assert services[0]['ports'] == [{'port': 443, 'protocol': 'TCP', 'targetPort': 443}]
    status, hooks = create(kubeapi, {'apiVersion': 'admissionregistration.k8s.io/v1', 'kind': 'MutatingWebhookConfiguration',
                                     'metadata': {'name': 'm'}, 'webhooks': [copy.deepcopy(WEBHOOK)]})
    assert status == 201
    hook = hooks['webhooks'][0]
    assert (hook['failurePolicy'], hook['timeoutSeconds'], hook['clientConfig']['service']['port']) == ('Fail', 10, 443)


def test_workload_readiness_simulation_rolls_out_and_completes(kubeapi):
    assert create(kubeapi, DEPLOYMENT)[0] == 201
    assert kubeapi.get('apps/v1', 'Deployment', 'web', NS).get('status') is None  # off by default: nothing is ready
    kubeapi.simulate('workload-readiness')
    deployment = kubeapi.get('apps/v1', 'Deployment', 'web', NS)
    assert deployment['status']['availableReplicas'] == 2 and deployment['status']['observedGeneration'] == 1
    status, listing = kubeapi.http('GET', '/apis/apps/v1/namespaces/%s/replicasets' % NS)
    replicaset, = listing['items']
    assert replicaset['metadata']['ownerReferences'][0]['uid'] == deployment['metadata']['uid']
    assert replicaset['status']['readyReplicas'] == 2
    # A new template: a new ReplicaSet, the old one scaled to zero.
    kubeapi.http('PATCH', '/apis/apps/v1/namespaces/%s/deployments/web' % NS, content_type='application/merge-patch+json',
                 body={'spec': {'template': {'spec': {'containers': [{'name': 'web', 'image': 'nginx:2'}]}}}})
    status, listing = kubeapi.http('GET', '/apis/apps/v1/namespaces/%s/replicasets' % NS)
    assert sorted(rs['spec']['replicas'] for rs in listing['items']) == [0, 2]
    assert kubeapi.get('apps/v1', 'Deployment', 'web', NS)['status']['observedGeneration'] == 2
    for index in (1, 2, 3):
        create(kubeapi, {'apiVersion': 'v1', 'kind': 'Node', 'metadata': {'name': 'n%d' % index, 'labels': {'pool': 'a' if index < 3 else 'b'}}})
    daemonset = {'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'metadata': {'name': 'agent', 'namespace': NS},
                 'spec': {'selector': {'matchLabels': {'app': 'web'}},
                          'template': dict(TEMPLATE, spec=dict(TEMPLATE['spec'], nodeSelector={'pool': 'a'}))}}
    assert create(kubeapi, daemonset)[0] == 201
    assert kubeapi.get('apps/v1', 'DaemonSet', 'agent', NS)['status']['numberReady'] == 2
    assert create(kubeapi, JOB)[0] == 201
    job = kubeapi.get('batch/v1', 'Job', 'init', NS)
    assert job['status']['succeeded'] == 1
    assert {c['type'] for c in job['status']['conditions'] if c['status'] == 'True'} == {'Complete', 'SuccessCriteriaMet'}
