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
