# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of the spiderpool_ippool / spiderpool_subnet modules and their _info modules.

params -> spec -> single-object rules -> (reads: served CRD, existing objects) ->
cross-object and update rules -> one write through _k8s.KubeApi -> result. Every rule runs
before the write, so a rejected input never leaves anything behind.
"""

from __future__ import absolute_import, division, print_function

import copy

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool as sp
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_ipam as spiderpool_ipam
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_preflight as preflight
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi, KubeApiError, api_argument_spec, auth_argument_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._options import entries, entries_option

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


LIST_OPTIONS = {sp.POOL_KIND: 'ippools', sp.SUBNET_KIND: 'subnets'}


def _object_options(kind):
    """The options of one pool or subnet (top level, and each entry of the list option)."""
    options = dict(
        name=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        subnet=dict(type='str'),
        ip_version=dict(type='int', choices=[4, 6]),
        ips=dict(type='list', elements='str'),
        exclude_ips=dict(type='list', elements='str'),
        gateway=dict(type='str'),
        routes=copy.deepcopy(ROUTE_SPEC),
        vlan=dict(type='int'),
        labels=dict(type='dict'),
        force=dict(type='bool', default=False),
    )
    if kind == sp.POOL_KIND:
        options.update(
            default=dict(type='bool'),
            disable=dict(type='bool'),
            multus_name=dict(type='list', elements='str'),
            namespace_affinity=copy.deepcopy(SELECTOR_SPEC),
            node_affinity=copy.deepcopy(SELECTOR_SPEC),
            pod_affinity=copy.deepcopy(SELECTOR_SPEC),
            namespace_name=dict(type='list', elements='str'),
            node_name=dict(type='list', elements='str'),
        )
    return options


def _argument_spec(kind):
    spec = api_argument_spec()
    spec.update(_object_options(kind))
    spec[LIST_OPTIONS[kind]] = entries_option(_object_options(kind))
    spec.update(
        spiderpool_namespace=dict(type='str', default='kube-system'),
        render_only=dict(type='bool', default=False),
    )
    return spec


def address_argument_spec():
    """spiderpool_subnet's options: one subnet (name ...) or many (subnets)."""
    return _argument_spec(sp.SUBNET_KIND)


def pool_argument_spec():
    """spiderpool_ippool's options: one pool (name ...) or many (ippools)."""
    return _argument_spec(sp.POOL_KIND)


def module_kwargs(kind):
    """AnsibleModule keyword arguments of spiderpool_ippool / spiderpool_subnet."""
    option = LIST_OPTIONS[kind]
    return dict(argument_spec=_argument_spec(kind), supports_check_mode=True, mutually_exclusive=[('name', option)],
                required_one_of=[('name', option)])


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


def _plan(params, kind):
    """Every entry checked offline (no cluster): ``(plans, errors)``, a plan per entry in order."""
    option = LIST_OPTIONS[kind]
    keys = list(_object_options(kind))
    plans, errors, seen = [], [], {}
    for prefix, entry in entries(params, option, keys):
        found = sp.validate_name(entry['name'])
        spec = sp.normalize_spec(sp.build_spec(entry, kind))
        label_errors, labels = sp.validate_metadata(entry)
        if entry['state'] == 'present':
            found.extend(label_errors)
            if entry.get('subnet') is None:
                found.append(sp.problem('subnet', None, 'is required with state=present (webhook rule 2: subnet)'))
            else:
                # vlan is judged after reading the served CRD; everything else now, offline.
                found.extend(sp.validate_spec(spec, kind, supports_vlan=True))
        if entry['name'] in seen and prefix:
            found.append(sp.problem('name', entry['name'], 'repeats %sname: the rule is one entry per %s' % (seen[entry['name']], kind)))
        seen.setdefault(entry['name'], prefix)
        errors.extend(prefix + message for message in found)
        plans.append({'prefix': prefix, 'params': entry, 'name': entry['name'], 'state': entry['state'], 'spec': spec,
                      'labels': labels})
    errors.extend(sp.validate_namespace('spiderpool_namespace', params.get('spiderpool_namespace')))
    return plans, errors


def run_address_module(module, kind):
    """spiderpool_ippool / spiderpool_subnet: one object or a list, every rule checked before the first write."""
    params = module.params
    bulk = params.get(LIST_OPTIONS[kind]) is not None
    plans, errors = _plan(params, kind)
    if errors:
        _fail(module, errors)
    if params.get('render_only'):
        results = [_result(plan, {'changed': False, 'action': 'rendered' if plan['state'] == 'present' else 'absent',
                                  'after': _manifest(kind, plan) if plan['state'] == 'present' else None, 'diff': {}})
                   for plan in plans]
        _exit(module, results, None, bulk)
    try:
        api = KubeApi.from_params(params, check_mode=module.check_mode)
        if not api.is_served(sp.API_VERSION, kind):
            _fail(module, ['%s %s is not served by this cluster: install Spiderpool first (role vmnet.kubevirt.spiderpool)'
                           % (kind, sp.API_VERSION)])
        errors = _check_against_cluster(api, params, kind, plans)
    except KubeApiError as err:
        module.fail_json(msg=str(err), status=err.status, reason=err.reason, changed=False)
    if errors:
        _fail(module, errors, **_refused_ips(plans))
    results = []
    for plan in plans:
        try:
            if plan['state'] == 'absent':
                outcome = _absent(module, api, kind, plan)
            else:
                outcome = api.ensure(_manifest(kind, plan), existing=plan['existing'], prefetched=True)
        except KubeApiError as err:
            results.append(dict(_result(plan, {'changed': False, 'action': 'failed', 'after': None, 'diff': {}}), failed=True,
                                msg=str(err)))
            done = [r for r in results if not r.get('failed')]
            module.fail_json(msg='%s%s' % ('%s (%s): ' % (plan['prefix'][:-1], plan['name']) if bulk else '', err),
                             status=err.status, reason=err.reason, changed=any(r['changed'] for r in done),
                             results=results if bulk else None, api_retries=api.retried)
        results.append(_result(plan, outcome))
    _exit(module, results, api, bulk)


def _manifest(kind, plan):
    return sp.manifest(kind, plan['name'], plan['spec'], labels=plan['labels'])


def _check_against_cluster(api, params, kind, plans):
    """Reads once for the whole list, then the cross-object and update rules of every entry in order
    (each entry sees the ones before it as if they were already written)."""
    errors = []
    pools = api.list(sp.API_VERSION, sp.POOL_KIND)
    subnets = api.list(sp.API_VERSION, sp.SUBNET_KIND) if api.is_served(sp.API_VERSION, sp.SUBNET_KIND) else []
    world = {sp.POOL_KIND: dict((sp._name(o), o) for o in pools), sp.SUBNET_KIND: dict((sp._name(o), o) for o in subnets)}
    mine = world[kind]
    present = [plan for plan in plans if plan['state'] == 'present']
    fields = served_spec_fields(api, kind) if present else None
    conf = sp.parse_spiderpool_conf(_spiderpool_conf(api, params['spiderpool_namespace'])) if present else None
    crs = {}  # namespace -> (SpiderMultusConfigs, NetworkAttachmentDefinitions), read once
    for plan in plans:
        prefix, name, spec = plan['prefix'], plan['name'], plan['spec']
        plan['existing'] = existing = mine.get(name)
        found = []
        if plan['state'] == 'absent':
            if existing is not None:
                refusal = sp.delete_refusal(kind, existing, plan['params']['force'])
                if refusal:
                    found.append(refusal)
                    plan['refused_ips'] = sorted(sp.allocated_ips(existing))
                mine.pop(name, None)
            errors.extend(prefix + message for message in found)
            continue
        if 'vlan' in spec and fields is not None and 'vlan' not in fields:
            found.extend(sp.validate_spec({'vlan': spec['vlan'], 'ipVersion': spec['ipVersion'], 'subnet': spec['subnet']}, kind,
                                          supports_vlan=False))
        if spec['ipVersion'] not in conf['families']:
            found.append(sp.disabled_family_problem(kind, spec['ipVersion']))
        others = list(world[sp.POOL_KIND].values())
        if kind == sp.POOL_KIND:
            found.extend(sp.validate_pool_against_cluster(name, spec, others, list(world[sp.SUBNET_KIND].values()),
                                                          subnet_feature=conf['subnet_feature']))
            controlled = ()
        else:
            found.extend(sp.validate_subnet_against_cluster(name, spec, list(world[sp.SUBNET_KIND].values()), others,
                                                            creating=existing is None))
            controlled = sp.controlled_pools(name, spec['subnet'], [p for p in others if sp._name(p) != name])
        if existing:
            found.extend(sp.validate_update(kind, existing, spec, controlled))
        if kind == sp.POOL_KIND and spec.get('multusName'):
            found.extend(_check_multus_names(api, params, spec, world, crs))
        errors.extend(prefix + message for message in found)
        # later entries are judged against this one as it will be
        mine[name] = dict(existing or {}, **_manifest(kind, plan))
    return errors


def _check_multus_names(api, params, spec, world, crs):
    """A pool that admits a Multus CR serves that CR's subnet: when the CR's default pools of the pool's family
    all lie in another subnet, the pool's IPs would be handed out on the wrong network."""
    errors = []
    family = 'ipv%d' % spec['ipVersion']
    namespace_default = params['spiderpool_namespace']
    for index, ref in enumerate(spec['multusName']):
        ref = ref if '/' in ref else '%s/%s' % (namespace_default, ref)
        namespace = ref.split('/', 1)[0]
        if namespace not in crs:
            smcs = api.list(sp.API_VERSION, 'SpiderMultusConfig', namespace=namespace) \
                if api.is_served(sp.API_VERSION, 'SpiderMultusConfig') else []
            nads = api.list(preflight.NAD_API, 'NetworkAttachmentDefinition', namespace=namespace) \
                if api.is_served(preflight.NAD_API, 'NetworkAttachmentDefinition') else []
            crs[namespace] = (smcs, nads)
        facts = preflight.ClusterFacts(smcs=crs[namespace][0], nads=crs[namespace][1], spiderpool_namespace=namespace_default)
        # multusName names the NAD; an SMC generates a NAD of its name unless cr-name says otherwise
        info = preflight.resolve_multus_cr(ref, facts) or next(
            (preflight.resolve_multus_cr(key, facts) for key in facts.smcs if preflight.resolve_multus_cr(key, facts)['nad'] == ref), None)
        defaults = [name for name in (info or {}).get('default_pools', {}).get(family) or [] if name in world[sp.POOL_KIND]]
        subnets = sorted(set(sp._spec(world[sp.POOL_KIND][name]).get('subnet') for name in defaults))
        if subnets and spec['subnet'] not in subnets:
            errors.append(sp.problem('multus_name[%d]' % index, ref, 'is a Multus CR whose default %s pools (%s) use subnet %s, not this '
                                                                     'pool\'s %s: the rule is that a pool serves the subnet of the Multus '
                                                                     'CRs it admits' % (family, ', '.join(defaults), ', '.join(subnets),
                                                                                        spec['subnet'])))
    return errors


def _refused_ips(plans):
    refused = [ip for plan in plans for ip in plan.get('refused_ips', [])]
    return {'allocated_ips': refused} if refused else {}


def _absent(module, api, kind, plan):
    existing = plan['existing']
    if existing is None:
        return {'changed': False, 'action': 'absent', 'after': None, 'diff': {'before': {}, 'after': {}}}
    outcome = api.delete(sp.API_VERSION, kind, plan['name'], existing=existing, prefetched=True)
    if not module.check_mode:
        left = api.get(sp.API_VERSION, kind, plan['name'])
        if left is not None:
            module.warn('%s %s is terminating but still held by finalizers %s (Spiderpool releases it once no IP is '
                        'allocated from it)' % (kind, plan['name'], (left.get('metadata') or {}).get('finalizers')))
    return outcome


def _result(plan, outcome):
    return {'name': plan['name'], 'state': plan['state'], 'changed': outcome['changed'], 'action': outcome['action'],
            'result': outcome['after'] or {}, 'diff': outcome.get('diff') or {}}


def _exit(module, results, api, bulk):
    retries = api.retried if api is not None else 0
    if bulk:
        out = dict(changed=any(r['changed'] for r in results), results=results, api_retries=retries)
        if module._diff:  # pylint: disable=protected-access
            out['diff'] = [dict(r['diff'], before_header=r['name'], after_header=r['name']) for r in results if r['changed']]
        for result in results:
            result.pop('diff', None)
        module.exit_json(**out)
    result = results[0]
    out = dict(changed=result['changed'], action=result['action'], result=result['result'], api_retries=retries)
    if module._diff:  # pylint: disable=protected-access
        out['diff'] = result['diff']
    module.exit_json(**out)


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
