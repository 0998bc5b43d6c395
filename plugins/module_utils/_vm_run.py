# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_network flow: params -> validate -> (bulk reads, preflight) -> render -> verdict -> apply -> result.

Every problem found before the apply step fails the whole run with nothing written. During the
apply step a VM that fails (after the API seam's bounded retries) is reported in its own result
and the others carry on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApiError
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_ipam
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_lifecycle
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_preflight as preflight
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_render import API_VERSION, KIND, RenderError, naming_for_version, render_vm
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_spec import normalize_request
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_status import vmi_addresses
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_verdict import verdict

VMI_KIND = 'VirtualMachineInstance'
MAX_LISTED_PROBLEMS = 50


def _fail(problems, vms=None):
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    msg = '%d problem(s), nothing was written: %s%s' % (len(problems), '; '.join(shown), ' (and %d more)' % more if more else '')
    return {'failed': True, 'changed': False, 'msg': msg, 'problems': problems, 'vms': vms or []}


def gather_facts(api, entries, spiderpool_namespace):
    """Bulk reads for the batch: one LIST per kind and namespace, never one GET per pool or VM."""
    plan = preflight.plan_reads(entries)
    vm_served = api.is_served(API_VERSION, KIND)
    spider_served = nad_served = True
    smcs, nads, pools, reserved = [], [], [], []
    if plan['bridge']:
        spider_served = api.is_served(preflight.SPIDER_API, 'SpiderIPPool') and api.is_served(preflight.SPIDER_API, 'SpiderMultusConfig')
        nad_served = api.is_served(preflight.NAD_API, 'NetworkAttachmentDefinition')
        if spider_served:
            pools = api.list(preflight.SPIDER_API, 'SpiderIPPool')
            reserved = _spiderpool_ipam.read_reserved_ips(api)
            for namespace in plan['cr_namespaces']:
                smcs.extend(api.list(preflight.SPIDER_API, 'SpiderMultusConfig', namespace=namespace))
        if nad_served:
            for namespace in plan['cr_namespaces']:
                nads.extend(api.list(preflight.NAD_API, 'NetworkAttachmentDefinition', namespace=namespace))
    namespaces = {}
    for namespace in plan['vm_namespaces']:
        try:
            obj = api.get('v1', 'Namespace', namespace)
        except KubeApiError as err:
            if err.status != 403:  # not allowed to read namespaces: judge without their labels
                raise
            continue
        namespaces[namespace] = ((obj.get('metadata') or {}).get('labels') or {}) if obj is not None else None
    existing = read_existing(api, entries) if vm_served else {}
    claims = {}
    for namespace in plan['pvc_namespaces']:
        if namespaces.get(namespace, {}) is None:
            continue
        try:
            for pvc in api.list('v1', 'PersistentVolumeClaim', namespace=namespace):
                claims[(namespace, pvc['metadata']['name'])] = (pvc.get('spec') or {}).get('accessModes') or []
        except KubeApiError as err:
            if err.status not in (403, 404):  # not allowed to read claims: the verdict notes the unknown access mode
                raise
    facts = preflight.ClusterFacts(vm_served=vm_served, spiderpool_served=spider_served, nad_served=nad_served, smcs=smcs, nads=nads,
                                   pools=pools, namespaces=namespaces, existing_vms=existing, spiderpool_namespace=spiderpool_namespace,
                                   pvc_access_modes=claims, reserved_ips=reserved)
    # What a change to an existing VM will do: the KubeVirt CR, the running VMIs and the SpiderEndpoints.
    facts.lifecycle = _vm_lifecycle.read_facts(api, entries, existing) if vm_served else None
    return facts


def read_existing(api, entries):
    """(namespace, name) -> VM, by one GET for a single VM or one LIST per namespace for a batch."""
    if len(entries) == 1:
        entry = entries[0]
        vm = api.get(API_VERSION, KIND, entry['name'], entry['namespace'])
        return {(entry['namespace'], entry['name']): vm} if vm else {}
    existing = {}
    for namespace in sorted(set(e['namespace'] for e in entries)):
        for vm in api.list(API_VERSION, KIND, namespace=namespace):
            existing[(namespace, vm['metadata']['name'])] = vm
    return existing


def _naming(facts):
    """KubeVirt's pod interface naming, from the version the KubeVirt CR reports (KubeVirt 1.0+ when unknown)."""
    lifecycle = getattr(facts, 'lifecycle', None) if facts else None
    return naming_for_version(lifecycle['kubevirt'].version if lifecycle else None)


def _render_all(entries, facts, nad_refs, default_pools, problems):
    rendered = []
    for entry in entries:
        if entry['state'] != 'present':
            rendered.append(None)
            continue
        existing = facts.existing_vms.get((entry['namespace'], entry['name'])) if facts else None
        try:
            rendered.append(render_vm(entry, existing=existing, nad_refs=nad_refs, default_pools=default_pools, naming=_naming(facts)))
        except RenderError as err:
            problems.append(str(err))
            rendered.append(None)
    return rendered


def _judge_change(entry, result, facts, judged, problems, warnings):
    """What the change does to the VM as it exists (``_vm_lifecycle``): refusals, restart, when each NIC takes effect."""
    lifecycle = getattr(facts, 'lifecycle', None) if facts else None
    if lifecycle is None:
        for nic in result['nics']:
            nic['takes_effect'] = None  # no cluster read (render_only)
        return
    key = (entry['namespace'], entry['name'])
    existing = facts.existing_vms.get(key)
    if existing is not None and entry['mode'] == 'bridge' and facts.spiderpool_served \
            and entry['namespace'] not in lifecycle['endpoint_namespaces']:
        warnings.append('%s/%s: the SpiderEndpoints of namespace %s could not be read, so a change of NICs or pools was not checked '
                        'against the addresses Spiderpool keeps for the VM' % (key + (entry['namespace'],)))
    assessed = _vm_lifecycle.assess(entry, result['manifest'], result['nics'], existing, lifecycle['vmis'].get(key),
                                    lifecycle['endpoints'].get(key), lifecycle['kubevirt'], judged, _naming(facts))
    problems.extend(assessed['problems'])
    warnings.extend(assessed['warnings'])
    result['warnings'].extend(assessed['warnings'])
    result.update(restart_required=assessed['restart_required'], pending_changes=assessed['pending_changes'])
    for nic in result['nics']:
        nic['takes_effect'] = assessed['takes_effect'].get(nic['name'])


def _bridges_of(entry, facts):
    """The OVS bridges the entry's Multus CRs name (as far as preflight read them)."""
    if facts is None:
        return ()
    found = (preflight.resolve_multus_cr(nic['multus_cr'], facts) for nic in entry['nics'] if nic.get('multus_cr'))
    return sorted(set(info['bridge'] for info in found if info and info.get('bridge')))


def _base_result(entry):
    return {'name': entry['name'], 'namespace': entry['namespace'], 'state': entry['state'], 'changed': False, 'failed': False,
            'action': None, 'manifest': None, 'nics': [], 'live_migratable': None, 'live_migration_verdict': None,
            'live_migration_blockers': [],
            'live_migration_notes': [], 'restart_required': None, 'pending_changes': [], 'warnings': []}


def run(params, connect, check_mode=False, want_diff=False):
    """Run vm_network. ``connect()`` returns a ``KubeApi`` (called only when a cluster is needed)."""
    entries, found = normalize_request(params)
    if found:
        return _fail(found.items)
    render_only = params.get('render_only')
    problems, warnings = [], []
    facts = None
    nad_refs, default_pools = {}, {}
    api = None
    if not render_only:
        api = connect()
        facts = gather_facts(api, entries, params.get('spiderpool_namespace') or 'kube-system')
        if params.get('preflight', True):
            judged = preflight.check(entries, facts, check_mode=check_mode)
            problems.extend(judged['problems'])
            warnings.extend(judged['warnings'])
            nad_refs, default_pools = judged['nad_refs'], judged['default_pools']
    rendered = _render_all(entries, facts, nad_refs, default_pools, problems)
    results = []
    for entry, output in zip(entries, rendered):
        result = _base_result(entry)
        if output is not None:
            manifest, _body, nics, vm_warnings = output
            judged, blockers, notes = verdict(manifest, facts.claims_of(entry['namespace']) if facts else None,
                                              bridges=_bridges_of(entry, facts))
            result.update(manifest=manifest, nics=nics, live_migratable=judged == 'yes', live_migration_verdict=judged,
                          live_migration_blockers=blockers, live_migration_notes=notes, warnings=vm_warnings)
            warnings.extend(vm_warnings)
            if judged == 'no' and entry['live_migration'] == 'required':
                problems.append('%slive_migration: %r but %s/%s is not live-migratable: %s: the rule is no blockers when live migration is required'
                                % (entry['path'], 'required', entry['namespace'], entry['name'], '; '.join(blockers)))
            elif judged == 'no' and entry['live_migration'] == 'preferred':
                warnings.append('%s/%s is not live-migratable: %s' % (entry['namespace'], entry['name'], '; '.join(blockers)))
            elif notes and entry['live_migration'] == 'required':
                warnings.append('%s/%s live migration is %s: %s' % (entry['namespace'], entry['name'], judged, '; '.join(notes)))
            _judge_change(entry, result, facts, judged, problems, warnings)
        results.append(result)
    if problems:
        out = _fail(problems, results)
        out['warnings'] = warnings
        return out
    if render_only:
        for result in results:
            result['action'] = 'rendered' if result['state'] == 'present' else 'absent'
        return {'changed': False, 'vms': results, 'warnings': warnings}

    diffs = _apply(api, entries, rendered, results, facts, check_mode)
    failed = [r for r in results if r['failed']]
    if params.get('wait') and not check_mode:
        _wait(api, entries, results, params.get('wait_timeout') or 120)
        failed = [r for r in results if r['failed']]
    _fill_addresses(api, entries, results)
    out = {'changed': any(r['changed'] for r in results), 'vms': results, 'warnings': warnings, 'api_retries': api.retried}
    if want_diff:
        out['diff'] = diffs
    if failed:
        out['failed'] = True
        reasons = ['%s/%s: %s' % (r['namespace'], r['name'], r['msg']) for r in failed[:MAX_LISTED_PROBLEMS]]
        out['msg'] = '%d of %d VM(s) failed: %s' % (len(failed), len(results), '; '.join(reasons))
    return out


def _apply(api, entries, rendered, results, facts, check_mode=False):
    diffs = []
    for entry, output, result in zip(entries, rendered, results):
        key = (entry['namespace'], entry['name'])
        try:
            if entry['state'] == 'absent' and facts.namespaces.get(entry['namespace'], {}) is None:
                outcome = {'changed': False, 'action': 'absent', 'diff': {}}
            elif check_mode and entry['state'] == 'present' and facts.namespaces.get(entry['namespace'], {}) is None:
                outcome = {'changed': True, 'action': 'created', 'diff': {'before': {}, 'after': output[0]}}
            elif entry['state'] == 'absent':
                outcome = api.delete(API_VERSION, KIND, entry['name'], entry['namespace'], existing=facts.existing_vms.get(key), prefetched=True)
            else:
                _manifest, body, _nics, _warnings = output
                outcome = api.ensure(body, existing=facts.existing_vms.get(key), prefetched=True)
        except KubeApiError as err:
            result.update(failed=True, action='failed', msg=str(err))
            continue
        result.update(changed=outcome['changed'], action=outcome['action'])
        if outcome['changed']:
            diff = dict(outcome['diff'])
            diff['before_header'] = diff['after_header'] = '%s/%s' % key
            diffs.append(diff)
    return diffs


def _ready(run_strategy):
    def predicate(vm):
        status = (vm or {}).get('status') or {}
        if run_strategy == 'Halted':
            return vm is not None and status.get('printableStatus') in ('Stopped', None) and not status.get('ready')
        return bool(status.get('ready'))
    return predicate


def _wait(api, entries, results, timeout):
    for entry, result in zip(entries, results):
        if result['failed'] or entry['state'] != 'present':
            continue
        try:
            ok, _vm = api.wait(API_VERSION, KIND, entry['name'], entry['namespace'], _ready(entry['run_strategy']), timeout=timeout)
        except KubeApiError as err:
            result.update(failed=True, msg=str(err))
            continue
        if not ok:
            result.update(failed=True, msg='not ready after %s seconds' % timeout)


def _fill_addresses(api, entries, results):
    """IPs from the VMI status: one LIST of VMIs per namespace."""
    namespaces = sorted(set(e['namespace'] for e, r in zip(entries, results) if e['state'] == 'present' and not r['failed']))
    vmis = {}
    for namespace in namespaces:
        try:
            for vmi in api.list(API_VERSION, VMI_KIND, namespace=namespace):
                vmis[(namespace, vmi['metadata']['name'])] = vmi
        except KubeApiError:
            return  # addresses are informative; never fail an apply for them
    for entry, result in zip(entries, results):
        vmi = vmis.get((entry['namespace'], entry['name']))
        if not vmi:
            continue
        seen = vmi_addresses(vmi)
        for nic in result['nics']:
            nic['ip_addresses'] = (seen.get(nic['name']) or {}).get('ip_addresses') or []
