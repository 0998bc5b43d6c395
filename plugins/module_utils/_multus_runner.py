# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of the multus_cr and multus_cr_info modules (rules first, then one write).

``run(params, api_factory, check_mode, diff) -> result dict`` like every module family's runner;
``api_factory()`` returns the ``_k8s.KubeApi`` (a test passes its own).
"""

from __future__ import absolute_import, division, print_function

import copy

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _multus as mc
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool as sp
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model as model
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApiError, api_argument_spec, auth_argument_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._options import entries, entries_option
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import nothing_written

__metaclass__ = type  # pylint: disable=invalid-name


def _object_options():
    """The options of one Multus CR (top level, and each entry of ``multus_crs``)."""
    link = dict(type='dict', options=dict(master=dict(type='list', elements='str'), vlan_id=dict(type='int')))
    return dict(
        name=dict(type='str'),
        namespace=dict(type='str', default='kube-system'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        kind=dict(type='str', default='auto', choices=['auto', 'SpiderMultusConfig', 'NetworkAttachmentDefinition']),
        cni_type=dict(type='str', default='ovs', choices=['ovs', 'macvlan', 'ipvlan', 'custom']),
        ovs=dict(type='dict', options=dict(
            bridge=dict(type='str'),
            vlan=dict(type='int'),
            trunk=dict(type='list', elements='dict', options=dict(
                min_id=dict(type='int'), max_id=dict(type='int'), id=dict(type='int'))),
            device_id=dict(type='str'),
        )),
        macvlan=link,
        ipvlan=copy.deepcopy(link),
        custom_cni=dict(type='str'),
        default_ip_pools=dict(type='dict', options=dict(ipv4=dict(type='list', elements='str'),
                                                        ipv6=dict(type='list', elements='str'))),
        coordinator=dict(type='dict', options=dict(
            enabled=dict(type='bool'),
            mode=dict(type='str', choices=list(mc.COORDINATOR_MODES)),
            pod_cidr_type=dict(type='str', choices=list(mc.POD_CIDR_TYPES)),
            pod_default_route_nic=dict(type='str'),
            tune_pod_routes=dict(type='bool'),
            hijack_cidr=dict(type='list', elements='str'),
            pod_mac_prefix=dict(type='str'),
            pod_rp_filter=dict(type='int'),
            host_rule_table=dict(type='int'),
            tx_queue_len=dict(type='int'),
            veth_link_address=dict(type='str'),
            veth_mtu=dict(type='int'),
        )),
        disable_ipam=dict(type='bool'),
        nad_name=dict(type='str'),
        cni_version=dict(type='str'),
        annotations=dict(type='dict'),
        check_pools=dict(type='bool', default=True),
    )


def argument_spec():
    spec = api_argument_spec()
    spec.update(_object_options())
    spec.update(
        multus_crs=entries_option(_object_options()),
        spiderpool_namespace=dict(type='str', default='kube-system'),
        render_only=dict(type='bool', default=False),
    )
    return spec


def module_kwargs():
    """AnsibleModule keyword arguments of multus_cr."""
    return dict(argument_spec=argument_spec(), supports_check_mode=True, mutually_exclusive=[('name', 'multus_crs')],
                required_one_of=[('name', 'multus_crs')])


def info_argument_spec():
    spec = auth_argument_spec()
    spec.update(name=dict(type='str'), namespace=dict(type='str'),
                kind=dict(type='str', default='auto', choices=['auto', 'SpiderMultusConfig', 'NetworkAttachmentDefinition']))
    return spec


def _resolve_kind(api, requested):
    smc_served = api.is_served(sp.API_VERSION, mc.SMC_KIND)
    if requested == 'auto':
        return mc.SMC_KIND if smc_served else mc.NAD_KIND
    if requested == mc.SMC_KIND and not smc_served:
        raise KubeApiError('SpiderMultusConfig %s is not served by this cluster: install Spiderpool, or use '
                           'kind=NetworkAttachmentDefinition' % sp.API_VERSION)
    return requested


def _served_fields(api):
    try:
        return mc.served_smc_fields(api.get(model.CRD_API_VERSION, model.CRD_KIND, model.crd_name(mc.SMC_KIND)))
    except KubeApiError:
        return None


def _requested_kind(params):
    return mc.SMC_KIND if params['kind'] in ('auto', mc.SMC_KIND) else mc.NAD_KIND


def _plan(params):
    """Every entry checked offline: ``(plans, errors)``."""
    plans, errors, seen = [], [], {}
    for prefix, entry in entries(params, 'multus_crs', list(_object_options())):
        found = mc.validate(entry, _requested_kind(entry)) if entry['state'] == 'present' else \
            [e for e in mc.validate(entry, _requested_kind(entry)) if e.startswith(('name:', 'namespace:'))]
        key = '%s/%s' % (entry.get('namespace'), entry.get('name'))
        if prefix and key in seen:
            found.append(sp.problem('name', entry['name'], 'repeats %sname in namespace %s: the rule is one entry per Multus CR'
                                    % (seen[key], entry.get('namespace'))))
        seen.setdefault(key, prefix)
        errors.extend(prefix + message for message in found)
        plans.append({'prefix': prefix, 'params': entry, 'name': entry['name'], 'state': entry['state']})
    errors.extend(sp.validate_namespace('spiderpool_namespace', params.get('spiderpool_namespace')))
    return plans, errors


def _api_failure(err, **extra):
    return dict(extra, failed=True, changed=False, msg=str(err), status=err.status, reason=err.reason)


def run(params, api_factory, check_mode=False, diff=False):
    """multus_cr: one Multus CR or a list, every rule checked before the first write."""
    bulk = params.get('multus_crs') is not None
    plans, errors = _plan(params)
    if errors:
        return nothing_written(errors)
    if params.get('render_only'):
        results = []
        for plan in plans:
            kind = _requested_kind(plan['params'])
            manifest = (mc.smc_manifest if kind == mc.SMC_KIND else mc.nad_manifest)(plan['params']) if plan['state'] == 'present' else None
            results.append(_result(plan, kind, {'changed': False, 'action': 'rendered' if manifest else 'absent', 'after': manifest,
                                                'diff': {}}))
        return _outcome(None, results, bulk, diff)
    try:
        api = api_factory()
        errors = _check_against_cluster(api, params, plans)
    except KubeApiError as err:
        return _api_failure(err)
    if errors:
        return nothing_written(errors)
    results = []
    for plan in plans:
        try:
            if plan['state'] == 'absent':
                outcome = api.delete(plan['api_version'], plan['kind'], plan['object_name'], plan['params']['namespace'],
                                     existing=plan['existing'], prefetched=True)
            else:
                outcome = api.ensure(plan['definition'], existing=plan['existing'], prefetched=True)
        except KubeApiError as err:
            done = [r for r in results if not r.get('failed')]
            results.append(dict(_result(plan, plan['kind'], {'changed': False, 'action': 'failed', 'after': None, 'diff': {}}),
                                failed=True, msg=str(err)))
            return dict(_api_failure(err, results=results if bulk else None, api_retries=api.retried),
                        msg='%s%s' % ('%s (%s): ' % (plan['prefix'][:-1], plan['name']) if bulk else '', err),
                        changed=any(r['changed'] for r in done))
        results.append(_result(plan, plan['kind'], outcome))
    return _outcome(api, results, bulk, diff)


def _check_against_cluster(api, params, plans):
    """One resolution of kind, CRD fields and pools for the list; then each entry's cluster rules."""
    errors = []
    kinds, served, pools, nads = {}, {}, None, {}
    for plan in plans:
        entry, prefix = plan['params'], plan['prefix']
        if entry['kind'] not in kinds:
            kinds[entry['kind']] = _resolve_kind(api, entry['kind'])
        kind = plan['kind'] = kinds[entry['kind']]
        api_version = plan['api_version'] = sp.API_VERSION if kind == mc.SMC_KIND else mc.NAD_API_VERSION
        if kind not in served:
            served[kind] = api.is_served(api_version, kind)
        if not served[kind]:
            raise KubeApiError('%s %s is not served by this cluster' % (kind, api_version))
        name = plan['object_name'] = entry['name'] if kind == mc.SMC_KIND else mc.nad_name(entry)
        existing = plan['existing'] = api.get(api_version, kind, name, entry['namespace'])
        found = []
        if plan['state'] == 'absent':
            if kind == mc.NAD_KIND and model.owner_smc(existing):
                found.append(sp.problem('kind', kind, 'cannot delete NetworkAttachmentDefinition %s/%s: it is generated by '
                                                      'SpiderMultusConfig %s; delete that one instead (kind=SpiderMultusConfig)'
                                        % (entry['namespace'], name, model.owner_smc(existing))))
            errors.extend(prefix + message for message in found)
            continue
        if kind == mc.SMC_KIND and 'fields' not in served:
            served['fields'] = _served_fields(api)
        found.extend(mc.validate(entry, kind, served.get('fields') if kind == mc.SMC_KIND else None))
        if pools is None and _wants_pools(entry):
            pools = dict((sp._name(p), p) for p in api.list(sp.API_VERSION, sp.POOL_KIND)) \
                if api.is_served(sp.API_VERSION, sp.POOL_KIND) else False
        found.extend(_cross_checks(api, params, entry, kind, existing, pools, nads))
        errors.extend(prefix + message for message in found)
        definition = mc.smc_manifest(entry) if kind == mc.SMC_KIND else mc.nad_manifest(entry)
        if kind == mc.NAD_KIND and existing and _same_config(existing, definition):
            # Same CNI config, written differently (key order, spacing): leave it alone.
            definition['spec'] = dict(existing.get('spec') or {})
        plan['definition'] = definition
    return errors


def _same_config(existing, definition):
    config = model.nad_config(existing)
    return config is not None and config == model.nad_config(definition)


def _wants_pools(entry):
    return entry['check_pools'] and not entry.get('disable_ipam') and any(
        (entry.get('default_ip_pools') or {}).get(family) for family in ('ipv4', 'ipv6'))


def _cross_checks(api, params, entry, kind, existing, pools, nads):
    errors = []
    if _wants_pools(entry):
        if pools is False:
            errors.append(sp.problem('default_ip_pools', entry['default_ip_pools'], 'name SpiderIPPools, but SpiderIPPool is not '
                                                                                    'served by this cluster'))
        else:
            errors.extend(mc.validate_against_pools(entry, pools, params.get('spiderpool_namespace') or 'kube-system'))
    if kind == mc.SMC_KIND:
        errors.extend(mc.validate_update(entry, existing))
        nad_name = mc.nad_name(entry)
        if 'served' not in nads:
            nads['served'] = api.is_served(mc.NAD_API_VERSION, mc.NAD_KIND)
        if nads['served']:
            nad = api.get(mc.NAD_API_VERSION, mc.NAD_KIND, nad_name, entry['namespace'])
            owner = model.owner_smc(nad)
            if owner and owner != entry['name']:
                errors.append(sp.problem('nad_name', nad_name, 'names NetworkAttachmentDefinition %s/%s, which is owned by '
                                                               'SpiderMultusConfig %s (webhook rule: an SMC never takes over '
                                                               'another SMC\'s NAD)' % (entry['namespace'], nad_name, owner)))
    elif existing and model.owner_smc(existing):
        errors.append(sp.problem('name', mc.nad_name(entry), 'is a NetworkAttachmentDefinition generated by '
                                                             'SpiderMultusConfig %s; Spiderpool would overwrite changes. '
                                                             'Manage the SpiderMultusConfig instead' % model.owner_smc(existing)))
    return errors


def _result(plan, kind, outcome):
    return {'name': plan['name'], 'namespace': plan['params'].get('namespace'), 'state': plan['state'], 'kind': kind,
            'changed': outcome['changed'], 'action': outcome['action'], 'result': outcome['after'] or {},
            'diff': outcome.get('diff') or {}}


def _outcome(api, results, bulk, diff):
    retries = api.retried if api is not None else 0
    if bulk:
        out = dict(changed=any(r['changed'] for r in results), results=results, api_retries=retries)
        if diff:
            out['diff'] = [dict(r['diff'], before_header='%s/%s' % (r['namespace'], r['name']),
                                after_header='%s/%s' % (r['namespace'], r['name'])) for r in results if r['changed']]
        for result in results:
            result.pop('diff', None)
        return out
    result = results[0]
    out = dict(changed=result['changed'], action=result['action'], kind=result['kind'], result=result['result'], api_retries=retries)
    if diff:
        out['diff'] = result['diff']
    return out


def describe_nad(nad):
    """A NAD with its CNI config parsed (None when the config is not JSON)."""
    return {'name': sp._name(nad), 'namespace': (nad.get('metadata') or {}).get('namespace'), 'config': model.nad_config(nad),
            'owner': model.owner_smc(nad)}


def run_info(params, api_factory, check_mode=False, diff=False):
    """multus_cr_info: the SMCs and NADs asked for, each NAD with its config parsed (a read: check_mode and diff change nothing)."""
    try:
        api = api_factory()
        smcs = []
        kind = params['kind']
        if kind in ('auto', mc.SMC_KIND) and api.is_served(sp.API_VERSION, mc.SMC_KIND):
            smcs = _read(api, sp.API_VERSION, mc.SMC_KIND, params)
        elif kind == mc.SMC_KIND:
            return {'failed': True, 'changed': False, 'msg': 'SpiderMultusConfig %s is not served by this cluster' % sp.API_VERSION}
        nads = []
        if api.is_served(mc.NAD_API_VERSION, mc.NAD_KIND):
            if kind == mc.NAD_KIND or (kind == 'auto' and not params.get('name')):
                nads = _read(api, mc.NAD_API_VERSION, mc.NAD_KIND, params)
            else:
                # The NADs generated from the SMCs found (named by cr-name or after the SMC).
                for smc in smcs:
                    nad = api.get(mc.NAD_API_VERSION, mc.NAD_KIND, model.smc_nad_name(smc), (smc.get('metadata') or {}).get('namespace'))
                    if nad:
                        nads.append(nad)
                if kind == 'auto' and params.get('name') and not smcs:
                    nads = _read(api, mc.NAD_API_VERSION, mc.NAD_KIND, params)
    except KubeApiError as err:
        return {'failed': True, 'changed': False, 'msg': str(err), 'status': err.status}
    return {'changed': False, 'multus_configs': smcs, 'network_attachment_definitions': nads,
            'networks': [describe_nad(nad) for nad in nads]}


def _read(api, api_version, kind, params):
    if params.get('name'):
        if not params.get('namespace'):
            found = [obj for obj in api.list(api_version, kind) if sp._name(obj) == params['name']]
            return found
        obj = api.get(api_version, kind, params['name'], params['namespace'])
        return [obj] if obj else []
    return api.list(api_version, kind, namespace=params.get('namespace'))
