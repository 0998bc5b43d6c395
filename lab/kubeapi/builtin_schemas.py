"""Schemas of the built-in kinds a chart install creates beyond core and apps: RBAC, admission
webhook configurations, Jobs and PodDisruptionBudgets.

Field names and types follow k8s.io/api (rbac/v1, admissionregistration/v1, batch/v1,
policy/v1). The schema pipeline uses them as for custom resources: unknown fields are dropped
with a warning (refused with fieldValidation=Strict), types are checked (422). The rules a
type check cannot say (required lists, one of two fields, enums that depend on other fields)
are in builtin_rules.py; server defaults in builtin_defaults.py.
"""

STRING = {'type': 'string'}
BOOLEAN = {'type': 'boolean'}
INT32 = {'type': 'integer', 'format': 'int32'}
INT64 = {'type': 'integer', 'format': 'int64'}
STRINGS = {'type': 'array', 'items': STRING}
STRING_MAP = {'type': 'object', 'additionalProperties': STRING}
INT_OR_STRING = {'x-kubernetes-int-or-string': True}
PRESERVE = {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True}
TIME = {'type': 'string', 'format': 'date-time'}


def obj(properties, required=None):
    schema = {'type': 'object', 'properties': properties}
    if required:
        schema['required'] = list(required)
    return schema


def array(items):
    return {'type': 'array', 'items': items}


def kind_schema(**properties):
    """A top-level schema: apiVersion, kind, metadata plus the kind's own fields."""
    base = {'apiVersion': STRING, 'kind': STRING, 'metadata': {'type': 'object'}}
    base.update(properties)
    return obj(base)


LABEL_SELECTOR = obj({
    'matchLabels': STRING_MAP,
    'matchExpressions': array(obj({'key': STRING, 'operator': STRING, 'values': STRINGS}, required=['key', 'operator'])),
})
CONDITION = obj({'type': STRING, 'status': STRING, 'observedGeneration': INT64, 'lastTransitionTime': TIME,
                 'reason': STRING, 'message': STRING})
# Pod templates are checked by builtin_rules (containers, names, images, ports), not by schema.
POD_TEMPLATE = obj({'metadata': PRESERVE, 'spec': PRESERVE})

# ---------------------------------------------------------------- rbac.authorization.k8s.io/v1
POLICY_RULE = obj({'verbs': STRINGS, 'apiGroups': STRINGS, 'resources': STRINGS, 'resourceNames': STRINGS,
                   'nonResourceURLs': STRINGS})
SUBJECT = obj({'kind': STRING, 'apiGroup': STRING, 'name': STRING, 'namespace': STRING}, required=['kind', 'name'])
ROLE_REF = obj({'apiGroup': STRING, 'kind': STRING, 'name': STRING}, required=['apiGroup', 'kind', 'name'])
ROLE = kind_schema(rules=array(POLICY_RULE))
CLUSTER_ROLE = kind_schema(rules=array(POLICY_RULE),
                           aggregationRule=obj({'clusterRoleSelectors': array(LABEL_SELECTOR)}))
ROLE_BINDING = kind_schema(subjects=array(SUBJECT), roleRef=ROLE_REF)
ROLE_BINDING['required'] = ['roleRef']

# ---------------------------------------------------------------- admissionregistration.k8s.io/v1
SERVICE_REFERENCE = obj({'namespace': STRING, 'name': STRING, 'path': STRING, 'port': INT32}, required=['namespace', 'name'])
CLIENT_CONFIG = obj({'url': STRING, 'service': SERVICE_REFERENCE, 'caBundle': {'type': 'string', 'format': 'byte'}})
# Rule is inlined into RuleWithOperations.
RULE_WITH_OPERATIONS = obj({'operations': STRINGS, 'apiGroups': STRINGS, 'apiVersions': STRINGS, 'resources': STRINGS,
                            'scope': STRING})
MATCH_CONDITION = obj({'name': STRING, 'expression': STRING}, required=['name', 'expression'])
WEBHOOK_FIELDS = {
    'name': STRING, 'clientConfig': CLIENT_CONFIG, 'rules': array(RULE_WITH_OPERATIONS),
    'failurePolicy': {'type': 'string', 'enum': ['Ignore', 'Fail']},
    'matchPolicy': {'type': 'string', 'enum': ['Exact', 'Equivalent']},
    'namespaceSelector': LABEL_SELECTOR, 'objectSelector': LABEL_SELECTOR,
    'sideEffects': STRING, 'timeoutSeconds': INT32, 'admissionReviewVersions': STRINGS,
    'matchConditions': array(MATCH_CONDITION),
}
VALIDATING_WEBHOOK = obj(dict(WEBHOOK_FIELDS), required=['name', 'clientConfig', 'sideEffects', 'admissionReviewVersions'])
MUTATING_WEBHOOK = obj(dict(WEBHOOK_FIELDS, reinvocationPolicy={'type': 'string', 'enum': ['Never', 'IfNeeded']}),
                       required=['name', 'clientConfig', 'sideEffects', 'admissionReviewVersions'])
VALIDATING_WEBHOOK_CONFIGURATION = kind_schema(webhooks=array(VALIDATING_WEBHOOK))
MUTATING_WEBHOOK_CONFIGURATION = kind_schema(webhooks=array(MUTATING_WEBHOOK))

# ---------------------------------------------------------------- batch/v1
POD_FAILURE_POLICY = obj({'rules': array(obj({
    'action': STRING,
    'onExitCodes': obj({'containerName': STRING, 'operator': STRING, 'values': array(INT32)}, required=['operator', 'values']),
    'onPodConditions': array(obj({'type': STRING, 'status': STRING}, required=['type'])),
}, required=['action']))}, required=['rules'])
SUCCESS_POLICY = obj({'rules': array(obj({'succeededIndexes': STRING, 'succeededCount': INT32}))}, required=['rules'])
JOB_SPEC = obj({
    'parallelism': INT32, 'completions': INT32, 'activeDeadlineSeconds': INT64, 'podFailurePolicy': POD_FAILURE_POLICY,
    'successPolicy': SUCCESS_POLICY, 'backoffLimit': INT32, 'backoffLimitPerIndex': INT32, 'maxFailedIndexes': INT32,
    'selector': LABEL_SELECTOR, 'manualSelector': BOOLEAN, 'template': POD_TEMPLATE, 'ttlSecondsAfterFinished': INT32,
    'completionMode': {'type': 'string', 'enum': ['NonIndexed', 'Indexed']}, 'suspend': BOOLEAN,
    'podReplacementPolicy': {'type': 'string', 'enum': ['TerminatingOrFailed', 'Failed']}, 'managedBy': STRING,
}, required=['template'])
JOB_STATUS = obj({
    'conditions': array(obj({'type': STRING, 'status': STRING, 'lastProbeTime': TIME, 'lastTransitionTime': TIME,
                             'reason': STRING, 'message': STRING}, required=['type', 'status'])),
    'startTime': TIME, 'completionTime': TIME, 'active': INT32, 'succeeded': INT32, 'failed': INT32, 'terminating': INT32,
    'completedIndexes': STRING, 'failedIndexes': STRING,
    'uncountedTerminatedPods': obj({'succeeded': STRINGS, 'failed': STRINGS}), 'ready': INT32,
})
JOB = kind_schema(spec=JOB_SPEC, status=JOB_STATUS)

# ---------------------------------------------------------------- policy/v1
PDB_SPEC = obj({'minAvailable': INT_OR_STRING, 'selector': LABEL_SELECTOR, 'maxUnavailable': INT_OR_STRING,
                'unhealthyPodEvictionPolicy': {'type': 'string', 'enum': ['IfHealthyBudget', 'AlwaysAllow']}})
PDB_STATUS = obj({'observedGeneration': INT64, 'disruptedPods': {'type': 'object', 'additionalProperties': TIME},
                  'disruptionsAllowed': INT32, 'currentHealthy': INT32, 'desiredHealthy': INT32, 'expectedPods': INT32,
                  'conditions': array(CONDITION)})
POD_DISRUPTION_BUDGET = kind_schema(spec=PDB_SPEC, status=PDB_STATUS)
