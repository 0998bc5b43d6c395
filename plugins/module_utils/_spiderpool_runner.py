# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of the spiderpool_ippool / spiderpool_subnet modules and their _info modules.

params -> spec -> single-object rules -> (reads: served CRD, existing objects) ->
cross-object and update rules -> one write through _k8s.KubeApi -> result. Every rule runs
before the write, so a rejected input never leaves anything behind.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool as sp
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_ipam as spiderpool_ipam
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi, KubeApiError, auth_argument_spec

__metaclass__ = type  # pylint: disable=invalid-name

CRD_API_VERSION = 'apiextensions.k8s.io/v1'
CRD_KIND = 'CustomResourceDefinition'
PLURALS = {sp.POOL_KIND: 'spiderippools', sp.SUBNET_KIND: 'spidersubnets', 'SpiderMultusConfig': 'spidermultusconfigs'}

ROUTE_SPEC = dict(type='list', elements='dict', options=dict(dst=dict(type='str', required=True), gw=dict(type='str', required=True)))
SELECTOR_SPEC = dict(type='dict', options=dict(
    match_labels=dict(type='dict'),
    match_expressions=dict(type='list', elements='dict', options=dict(
        key=dict(type='str', required=True, no_log=False),
        operator=dict(type='str', required=True),
        values=dict(type='list', elements='str'),
    )),
))


def address_argument_spec():
    """Options common to pools and subnets."""
    spec = auth_argument_spec()
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        subnet=dict(type='str'),
        ip_version=dict(type='int', choices=[4, 6]),
        ips=dict(type='list', elements='str'),
        exclude_ips=dict(type='list', elements='str'),
        gateway=dict(type='str'),
        routes=ROUTE_SPEC,
        vlan=dict(type='int'),
        labels=dict(type='dict'),
        force=dict(type='bool', default=False),
        spiderpool_namespace=dict(type='str', default='kube-system'),
    )
    return spec


def pool_argument_spec():
    spec = address_argument_spec()
    spec.update(
        default=dict(type='bool'),
        disable=dict(type='bool'),
        multus_name=dict(type='list', elements='str'),
        namespace_affinity=SELECTOR_SPEC,
        node_affinity=SELECTOR_SPEC,
        pod_affinity=SELECTOR_SPEC,
        namespace_name=dict(type='list', elements='str'),
        node_name=dict(type='list', elements='str'),
    )
    return spec


def info_argument_spec():
    spec = auth_argument_spec()
    spec.update(name=dict(type='str'), label_selectors=dict(type='list', elements='str', default=[]))
    return spec


def served_spec_fields(api, kind):
    """Top-level spec fields of the served CRD (None when the CRD cannot be read)."""
    try:
        crd = api.get(CRD_API_VERSION, CRD_KIND, '%s.%s' % (PLURALS[kind], sp.GROUP))
    except KubeApiError:
        return None  # no right to read CRDs: version checks fall back to the server's
    if not crd:
        return None
    for version in (crd.get('spec') or {}).get('versions') or []:
        if version.get('name') == sp.VERSION:
            schema = ((version.get('schema') or {}).get('openAPIV3Schema') or {}).get('properties') or {}
            return set(((schema.get('spec') or {}).get('properties') or {}).keys())
    return None


def _spiderpool_conf(api, namespace):
    """Spiderpool's global configuration (None when it cannot be read: rules then assume the defaults)."""
    try:
        return api.get('v1', 'ConfigMap', 'spiderpool-conf', namespace)
    except KubeApiError:
        return None


def _fail(module, errors, **extra):
    module.fail_json(msg='; '.join(errors), errors=errors, changed=False, **extra)


def run_address_module(module, kind):
    """spiderpool_ippool / spiderpool_subnet."""
    params = module.params
    name = params['name']
    errors = sp.validate_name(name)
    spec = sp.normalize_spec(sp.build_spec(params, kind))
    if params['state'] == 'present':
        if params.get('subnet') is None:
            errors.append(sp.problem('subnet', None, 'is required with state=present (webhook rule 2: subnet)'))
        else:
            # vlan is judged after reading the served CRD; everything else now, offline.
            errors.extend(sp.validate_spec(spec, kind, supports_vlan=True))
    if errors:
        _fail(module, errors)
    try:
        api = KubeApi.from_params(params, check_mode=module.check_mode)
        if not api.is_served(sp.API_VERSION, kind):
            _fail(module, ['%s %s is not served by this cluster: install Spiderpool first (role vmnet.kubevirt.spiderpool)'
                           % (kind, sp.API_VERSION)])
        existing = api.get(sp.API_VERSION, kind, name)
        if params['state'] == 'absent':
            _absent(module, api, kind, existing)
            return
        fields = served_spec_fields(api, kind)
        if 'vlan' in spec and fields is not None and 'vlan' not in fields:
            errors.extend(sp.validate_spec({'vlan': spec['vlan'], 'ipVersion': spec['ipVersion'],
                                            'subnet': spec['subnet']}, kind, supports_vlan=False))
        conf = sp.parse_spiderpool_conf(_spiderpool_conf(api, params['spiderpool_namespace']))
        if spec['ipVersion'] not in conf['families']:
            errors.append(sp.disabled_family_problem(kind, spec['ipVersion']))
        pools = api.list(sp.API_VERSION, sp.POOL_KIND)
        subnets = api.list(sp.API_VERSION, sp.SUBNET_KIND) if api.is_served(sp.API_VERSION, sp.SUBNET_KIND) else []
        if kind == sp.POOL_KIND:
            errors.extend(sp.validate_pool_against_cluster(name, spec, pools, subnets, subnet_feature=conf['subnet_feature']))
            controlled = ()
        else:
            errors.extend(sp.validate_subnet_against_cluster(name, spec, subnets, pools, creating=existing is None))
            controlled = sp.controlled_pools(name, spec['subnet'], [p for p in pools if sp._name(p) != name])
        if existing:
            errors.extend(sp.validate_update(kind, existing, spec, controlled))
        if errors:
            _fail(module, errors)
        definition = sp.manifest(kind, name, spec, labels=params.get('labels'))
        outcome = api.ensure(definition, existing=existing, prefetched=True)
    except KubeApiError as err:
        module.fail_json(msg=str(err), status=err.status, reason=err.reason, changed=False)
    _exit(module, outcome, api)


def _absent(module, api, kind, existing):
    if existing is None:
        module.exit_json(changed=False, action='absent', result={}, diff={'before': {}, 'after': {}})
    refusal = sp.delete_refusal(kind, existing, module.params['force'])
    if refusal:
        _fail(module, [refusal], allocated_ips=sorted(sp.allocated_ips(existing)))
    outcome = api.delete(sp.API_VERSION, kind, sp._name(existing))
    if not module.check_mode:
        left = api.get(sp.API_VERSION, kind, sp._name(existing))
        if left is not None:
            module.warn('%s %s is terminating but still held by finalizers %s (Spiderpool releases it once no IP is '
                        'allocated from it)' % (kind, sp._name(existing), (left.get('metadata') or {}).get('finalizers')))
    _exit(module, outcome, api)


def _exit(module, outcome, api):
    result = dict(changed=outcome['changed'], action=outcome['action'], result=outcome['after'] or {},
                  api_retries=api.retried)
    if module._diff:  # pylint: disable=protected-access
        result['diff'] = outcome['diff']
    module.exit_json(**result)


def run_info_module(module, kind):
    params = module.params
    try:
        api = KubeApi.from_params(params)
        if not api.is_served(sp.API_VERSION, kind):
            module.fail_json(msg='%s %s is not served by this cluster' % (kind, sp.API_VERSION))
        if params.get('name'):
            found = api.get(sp.API_VERSION, kind, params['name'])
            resources = [found] if found else []
        else:
            resources = api.list(sp.API_VERSION, kind, label_selector=','.join(params['label_selectors']) or None)
        reserved = spiderpool_ipam.read_reserved_ips(api) if kind == sp.POOL_KIND and resources else []
    except KubeApiError as err:
        module.fail_json(msg=str(err), status=err.status)
    module.exit_json(changed=False, resources=resources, summaries=[sp.summarize(obj, reserved) for obj in resources])
