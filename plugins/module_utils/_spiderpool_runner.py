# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of the spiderpool_ippool / spiderpool_subnet modules and their _info modules.

``run(params, api_factory, check_mode, diff, kind) -> result dict``: params -> spec ->
single-object rules -> (reads: served CRD, existing objects) -> cross-object and update rules ->
one write through _k8s.KubeApi -> result. Every rule runs before the write, so a rejected input
never leaves anything behind. ``api_factory()`` returns the ``_k8s.KubeApi`` (a test passes its own).
"""

from __future__ import absolute_import, division, print_function

import copy

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool as sp
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_ipam as spiderpool_ipam
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model as model
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApiError, api_argument_spec, auth_argument_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._options import entries, entries_option
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import nothing_written

__metaclass__ = type  # pylint: disable=invalid-name

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


def read_crd(api, kind):
    """The served CRD of a Spiderpool kind (None when it cannot be read: version checks fall back to the server's)."""
    try:
        return api.get(model.CRD_API_VERSION, model.CRD_KIND, model.crd_name(kind))
    except KubeApiError:
        return None  # no right to read CRDs


def served_spec_fields(api, kind):
    """Top-level spec fields of the served CRD (None when the CRD cannot be read)."""
    props = model.served_spec_properties(read_crd(api, kind))
    return None if props is None else set(props)


def _spiderpool_conf(api, namespace):
    """Spiderpool's global configuration (None when it cannot be read: rules then assume the defaults)."""
    try:
        return api.get('v1', 'ConfigMap', 'spiderpool-conf', namespace)
    except KubeApiError:
        return None


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


def _api_failure(err, **extra):
    return dict(extra, failed=True, changed=False, msg=str(err), status=err.status, reason=err.reason)


def run(params, api_factory, check_mode=False, diff=False, kind=sp.POOL_KIND):
    """spiderpool_ippool / spiderpool_subnet: one object or a list, every rule checked before the first write."""
    bulk = params.get(LIST_OPTIONS[kind]) is not None
    plans, errors = _plan(params, kind)
    if errors:
        return nothing_written(errors)
    if params.get('render_only'):
        results = [_result(plan, {'changed': False, 'action': 'rendered' if plan['state'] == 'present' else 'absent',
                                  'after': _manifest(kind, plan) if plan['state'] == 'present' else None, 'diff': {}})
                   for plan in plans]
        return _outcome(results, None, bulk, diff)
    try:
        api = api_factory()
        if not api.is_served(sp.API_VERSION, kind):
            return nothing_written(['%s %s is not served by this cluster: install Spiderpool first (role vmnet.kubevirt.spiderpool)'
                                    % (kind, sp.API_VERSION)])
        errors = _check_against_cluster(api, params, kind, plans)
    except KubeApiError as err:
        return _api_failure(err)
    if errors:
        return nothing_written(errors, **_refused_ips(plans))
    results, warnings = [], []
    for plan in plans:
        try:
            if plan['state'] == 'absent':
                outcome = _absent(api, kind, plan, check_mode, warnings)
            else:
                outcome = api.ensure(_manifest(kind, plan), existing=plan['existing'], prefetched=True)
        except KubeApiError as err:
            results.append(dict(_result(plan, {'changed': False, 'action': 'failed', 'after': None, 'diff': {}}), failed=True,
                                msg=str(err)))
            done = [r for r in results if not r.get('failed')]
            return dict(_api_failure(err, results=results if bulk else None, api_retries=api.retried, warnings=warnings),
                        msg='%s%s' % ('%s (%s): ' % (plan['prefix'][:-1], plan['name']) if bulk else '', err),
                        changed=any(r['changed'] for r in done))
        results.append(_result(plan, outcome))
    return dict(_outcome(results, api, bulk, diff), warnings=warnings)


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
                    plan['refused_ips'] = sorted(model.allocation_records(existing))
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
            smcs = api.list(model.API_VERSION, model.SMC_KIND, namespace=namespace) if api.is_served(model.API_VERSION, model.SMC_KIND) else []
            nads = api.list(model.NAD_API_VERSION, model.NAD_KIND, namespace=namespace) \
                if api.is_served(model.NAD_API_VERSION, model.NAD_KIND) else []
            # multusName names the NAD an SMC generates (its name unless cr-name says otherwise) or a plain NAD;
            # a CR of exactly that name comes first, an SMC before a NAD, as Multus resolves it.
            by_ref = crs[namespace] = {}
            for smc in smcs:
                by_ref[model.multus_cr_of_smc(smc)['nad']] = model.multus_cr_of_smc(smc)
            for nad in nads:
                by_ref['%s/%s' % (namespace, sp._name(nad))] = model.multus_cr_of_nad(nad)
            for smc in smcs:
                by_ref['%s/%s' % (namespace, sp._name(smc))] = model.multus_cr_of_smc(smc)
        info = crs[namespace].get(ref)
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


def _absent(api, kind, plan, check_mode, warnings):
    existing = plan['existing']
    if existing is None:
        return {'changed': False, 'action': 'absent', 'after': None, 'diff': {'before': {}, 'after': {}}}
    outcome = api.delete(sp.API_VERSION, kind, plan['name'], existing=existing, prefetched=True)
    if not check_mode:
        left = api.get(sp.API_VERSION, kind, plan['name'])
        if left is not None:
            warnings.append('%s %s is terminating but still held by finalizers %s (Spiderpool releases it once no IP is '
                            'allocated from it)' % (kind, plan['name'], (left.get('metadata') or {}).get('finalizers')))
    return outcome


def _result(plan, outcome):
    return {'name': plan['name'], 'state': plan['state'], 'changed': outcome['changed'], 'action': outcome['action'],
            'result': outcome['after'] or {}, 'diff': outcome.get('diff') or {}}


def _outcome(results, api, bulk, diff):
    retries = api.retried if api is not None else 0
    if bulk:
        out = dict(changed=any(r['changed'] for r in results), results=results, api_retries=retries)
        if diff:
            out['diff'] = [dict(r['diff'], before_header=r['name'], after_header=r['name']) for r in results if r['changed']]
        for result in results:
            result.pop('diff', None)
        return out
    result = results[0]
    out = dict(changed=result['changed'], action=result['action'], result=result['result'], api_retries=retries)
    if diff:
        out['diff'] = result['diff']
    return out


def run_info(params, api_factory, check_mode=False, diff=False, kind=sp.POOL_KIND):
    """spiderpool_ippool_info / spiderpool_subnet_info: the objects and their computed usage (a read: check_mode and diff change nothing)."""
    try:
        api = api_factory()
        if not api.is_served(sp.API_VERSION, kind):
            return {'failed': True, 'changed': False, 'msg': '%s %s is not served by this cluster' % (kind, sp.API_VERSION)}
        if params.get('name'):
            found = api.get(sp.API_VERSION, kind, params['name'])
            resources = [found] if found else []
        else:
            resources = api.list(sp.API_VERSION, kind, label_selector=','.join(params['label_selectors']) or None)
        reserved = spiderpool_ipam.read_reserved_ips(api) if kind == sp.POOL_KIND and resources else []
    except KubeApiError as err:
        return {'failed': True, 'changed': False, 'msg': str(err), 'status': err.status}
    return {'changed': False, 'resources': resources, 'summaries': [sp.summarize(obj, reserved) for obj in resources]}
