"""Build the emulator's preloaded CRD files from the upstream API definitions.

Run once from the repository root (the result is committed under lab/kubeapi/crds/):

    .venv/bin/python -m lab.kubeapi.crdgen UPSTREAM_DIR

Spiderpool and NetworkAttachmentDefinition CRDs are taken as published, without descriptions.
KubeVirt publishes no CRD YAML (virt-operator generates it), so VirtualMachine,
VirtualMachineInstance and the KubeVirt CR are built from swagger.json: strict for everything networking touches
(interfaces, networks, template annotations and labels, runStrategy), and
``x-kubernetes-preserve-unknown-fields`` elsewhere.
"""
import json
import pathlib
import sys

import yaml

CRD_DIR = pathlib.Path(__file__).resolve().parent / 'crds'
SPIDERPOOL_FILES = ['spidercoordinators', 'spiderendpoints', 'spiderippools', 'spidermultusconfigs',
                    'spiderreservedips', 'spidersubnets']
SETS = {'spiderpool-v1.2': 'spiderpool', 'spiderpool-v0.9': 'spiderpool-v0.9.13'}
NAD_SOURCE = 'spiderpool/k8s.cni.cncf.io_networkattachmentdefinitions_crd.yaml'
PRESERVE = {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True}
STRING_MAP = {'type': 'object', 'additionalProperties': {'type': 'string'}}
# runStrategy values KubeVirt's admission accepts (the schema stands in for the webhook here).
RUN_STRATEGIES = ['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once', 'WaitAsReceiver']
INT_OR_STRING = 'k8s.io.apimachinery.pkg.util.intstr.IntOrString'
KEPT_KEYS = ('type', 'format', 'enum', 'required', 'minimum', 'maximum', 'pattern', 'maxLength', 'minLength',
             'maxItems', 'minItems', 'nullable', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
             'x-kubernetes-map-type')


def drop_descriptions(node):
    """The CRD without prose: descriptions and controller-gen annotations removed."""
    if isinstance(node, dict):
        return {k: drop_descriptions(v) for k, v in node.items() if k != 'description'}
    if isinstance(node, list):
        return [drop_descriptions(item) for item in node]
    return node


def published_crd(path):
    crd = drop_descriptions(yaml.safe_load(pathlib.Path(path).read_text(encoding='utf-8')))
    crd['metadata'] = {'name': crd['metadata']['name']}
    return crd


# ------------------------------------------------------------------ KubeVirt from swagger.json

class Swagger:
    """Turns swagger definitions into structural schema nodes."""

    def __init__(self, definitions):
        self.definitions = definitions

    def definition(self, ref):
        return self.definitions[ref.rsplit('/', 1)[-1]]

    def strict(self, node, seen=()):
        """Full resolution (for the networking subtrees)."""
        if '$ref' in node:
            name = node['$ref'].rsplit('/', 1)[-1]
            if name == INT_OR_STRING:
                return {'x-kubernetes-int-or-string': True}
            if name in seen:
                return dict(PRESERVE)
            return self.strict(self.definitions[name], seen + (name,))
        result = {k: node[k] for k in KEPT_KEYS if k in node}
        if node.get('type') == 'object' or 'properties' in node:
            result['type'] = 'object'
            if 'properties' in node:
                result['properties'] = {k: self.strict(v, seen) for k, v in sorted(node['properties'].items())}
            if isinstance(node.get('additionalProperties'), dict):
                result['additionalProperties'] = self.strict(node['additionalProperties'], seen)
        if node.get('type') == 'array' and 'items' in node:
            result['items'] = self.strict(node['items'], seen)
        if 'type' not in result and 'x-kubernetes-int-or-string' not in result:
            result.update(PRESERVE)
        return result

    def shallow(self, node):
        """Outside the networking subtrees: scalars typed, objects kept as they come."""
        if '$ref' in node:
            name = node['$ref'].rsplit('/', 1)[-1]
            if name == INT_OR_STRING:
                return {'x-kubernetes-int-or-string': True}
            target = self.definitions[name]
            if target.get('type') not in (None, 'object') and 'properties' not in target:
                return {k: target[k] for k in ('type', 'format', 'enum') if k in target}
            return dict(PRESERVE)
        kind = node.get('type')
        if kind == 'array':
            return {'type': 'array', 'items': self.shallow(node.get('items') or {})}
        if kind == 'object' or kind is None:
            return dict(PRESERVE)
        return {k: node[k] for k in ('type', 'format', 'enum') if k in node}

    def spine(self, name, special):
        """One object level: properties in ``special`` get their own schema, the rest shallow."""
        node = self.definitions[name]
        props = {}
        for key, sub in sorted((node.get('properties') or {}).items()):
            props[key] = special[key] if key in special else self.shallow(sub)
        result = {'type': 'object', 'properties': props}
        if node.get('required'):
            result['required'] = list(node['required'])
        return result


def kubevirt_schemas(swagger):
    sw = Swagger(swagger['definitions'])
    interfaces = {'type': 'array', 'items': sw.strict({'$ref': '#/definitions/v1.Interface'})}
    networks = {'type': 'array', 'items': sw.strict({'$ref': '#/definitions/v1.Network'})}
    devices = sw.spine('v1.Devices', {'interfaces': interfaces})
    domain = sw.spine('v1.DomainSpec', {'devices': devices})
    vmi_spec = sw.spine('v1.VirtualMachineInstanceSpec', {'domain': domain, 'networks': networks})
    template_meta = {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True,
                     'properties': {'annotations': STRING_MAP, 'labels': STRING_MAP}}
    template = {'type': 'object', 'properties': {'metadata': template_meta, 'spec': vmi_spec}}
    vm_spec = sw.spine('v1.VirtualMachineSpec', {
        'template': template, 'runStrategy': {'type': 'string', 'enum': RUN_STRATEGIES},
        'running': {'type': 'boolean'}})
    top = {'apiVersion': {'type': 'string'}, 'kind': {'type': 'string'}, 'metadata': {'type': 'object'},
           'status': dict(PRESERVE)}
    vm = {'type': 'object', 'required': ['spec'], 'properties': dict(top, spec=vm_spec)}
    vmi = {'type': 'object', 'required': ['spec'], 'properties': dict(top, spec=vmi_spec)}
    return vm, vmi


def kubevirt_cr_schema(swagger):
    """The KubeVirt CR (virt-operator's install): one object level typed, its configuration kept as it comes."""
    sw = Swagger(swagger['definitions'])
    top = {'apiVersion': {'type': 'string'}, 'kind': {'type': 'string'}, 'metadata': {'type': 'object'},
           'status': dict(PRESERVE)}
    return {'type': 'object', 'required': ['spec'], 'properties': dict(top, spec=sw.spine('v1.KubeVirtSpec', {}))}


def kubevirt_crd(plural, kind, short_names, schema, columns):
    return {
        'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition',
        'metadata': {'name': '%s.kubevirt.io' % plural, 'labels': {'app.kubernetes.io/component': 'kubevirt'}},
        'spec': {
            'group': 'kubevirt.io', 'scope': 'Namespaced',
            'names': {'kind': kind, 'listKind': kind + 'List', 'plural': plural, 'singular': kind.lower(),
                      'shortNames': short_names, 'categories': ['all']},
            'versions': [{'name': 'v1', 'served': True, 'storage': True, 'subresources': {'status': {}},
                          'additionalPrinterColumns': columns, 'schema': {'openAPIV3Schema': schema}}],
        },
    }


def kubevirt_crds(swagger_path):
    swagger = json.loads(pathlib.Path(swagger_path).read_text(encoding='utf-8'))
    vm, vmi = kubevirt_schemas(swagger)
    age = {'jsonPath': '.metadata.creationTimestamp', 'name': 'Age', 'type': 'date'}
    vm_columns = [age, {'jsonPath': '.status.printableStatus', 'name': 'Status', 'type': 'string'},
                  {'jsonPath': ".status.conditions[?(@.type=='Ready')].status", 'name': 'Ready', 'type': 'string'}]
    vmi_columns = [age, {'jsonPath': '.status.phase', 'name': 'Phase', 'type': 'string'},
                   {'jsonPath': '.status.interfaces[0].ipAddress', 'name': 'IP', 'type': 'string'},
                   {'jsonPath': '.status.nodeName', 'name': 'NodeName', 'type': 'string'},
                   {'jsonPath': ".status.conditions[?(@.type=='Ready')].status", 'name': 'Ready', 'type': 'string'}]
    kv_columns = [age, {'jsonPath': '.status.phase', 'name': 'Phase', 'type': 'string'}]
    return {
        'kubevirt-kubevirts': kubevirt_crd('kubevirts', 'KubeVirt', ['kv', 'kvs'], kubevirt_cr_schema(swagger), kv_columns),
        'kubevirt-virtualmachines': kubevirt_crd('virtualmachines', 'VirtualMachine', ['vm', 'vms'], vm, vm_columns),
        'kubevirt-virtualmachineinstances': kubevirt_crd('virtualmachineinstances', 'VirtualMachineInstance',
                                                         ['vmi', 'vmis'], vmi, vmi_columns),
    }


# ------------------------------------------------------------------ the file set

def generate(upstream):
    """{relative file name: CRD} for everything under crds/."""
    upstream = pathlib.Path(upstream)
    files = {'common/network-attachment-definitions.yaml': published_crd(upstream / NAD_SOURCE)}
    for name, crd in kubevirt_crds(upstream / 'kubevirt' / 'swagger.json').items():
        files['common/%s.yaml' % name] = crd
    for set_name, folder in SETS.items():
        for name in SPIDERPOOL_FILES:
            files['%s/%s.yaml' % (set_name, name)] = published_crd(upstream / folder / ('spiderpool.spidernet.io_%s.yaml' % name))
    return files


def dump(crd):
    header = '---\n# Generated by lab/kubeapi/crdgen.py from the upstream API definitions; do not edit by hand.\n'
    return header + yaml.safe_dump(crd, sort_keys=False, default_flow_style=False, width=120)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print('usage: python -m lab.kubeapi.crdgen UPSTREAM_DIR', file=sys.stderr)
        return 2
    for relative, crd in generate(argv[0]).items():
        target = CRD_DIR / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump(crd), encoding='utf-8')
        print(target.relative_to(CRD_DIR.parent.parent.parent))
    return 0


def load_set(name):
    """The CRD documents of a named set: 'spiderpool-v1.2' (default), 'spiderpool-v0.9' or 'none'."""
    if name in (None, 'none'):
        return []
    if name not in SETS:
        raise ValueError('unknown CRD set %r (known: %s, none)' % (name, ', '.join(SETS)))
    documents = []
    for folder in ('common', name):
        for path in sorted((CRD_DIR / folder).glob('*.yaml')):
            documents.append(yaml.safe_load(path.read_text(encoding='utf-8')))
    return documents


if __name__ == '__main__':
    sys.exit(main())
