# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_network flow: params -> validate -> (bulk reads, preflight) -> render -> verdict -> apply -> result.

Every problem found before the apply step fails the whole run with nothing written. During the
apply step a VM that fails (after the API seam's bounded retries) is reported in its own result
and the others carry on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApiError
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import nothing_written
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_ipam
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_lifecycle
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model as model
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _vm_preflight as preflight
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_render import (
    API_VERSION, KIND, MANAGED_BY, RenderError, hide_inline_secrets, hide_secret_data, naming_for_version, render_vm, user_data_secret,
    user_data_secret_name,
)
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_spec import holds_secret, normalize_request
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_status import vmi_addresses
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_verdict import verdict

VMI_KIND = 'VirtualMachineInstance'
MAX_LISTED_PROBLEMS = 50


def _fail(problems, vms=None):
    return nothing_written(problems, vms=vms or [])


def gather_facts(api, entries, spiderpool_namespace):
    """Bulk reads for the batch: one LIST per kind and namespace, never one GET per pool or VM."""
    plan = preflight.plan_reads(entries)
    vm_served = api.is_served(API_VERSION, KIND)
    spider_served = nad_served = True
    smcs, nads, pools, reserved = [], [], [], []
    if plan['bridge']:
        spider_served = api.is_served(model.API_VERSION, 'SpiderIPPool') and api.is_served(model.API_VERSION, 'SpiderMultusConfig')
        nad_served = api.is_served(model.NAD_API_VERSION, 'NetworkAttachmentDefinition')
        if spider_served:
            pools = api.list(model.API_VERSION, 'SpiderIPPool')
            reserved = _spiderpool_ipam.read_reserved_ips(api)
            for namespace in plan['cr_namespaces']:
                smcs.extend(api.list(model.API_VERSION, 'SpiderMultusConfig', namespace=namespace))
        if nad_served:
            for namespace in plan['cr_namespaces']:
                nads.extend(api.list(model.NAD_API_VERSION, 'NetworkAttachmentDefinition', namespace=namespace))
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
    secrets, foreign, unreadable = read_user_data_secrets(api, entries, namespaces, existing)
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
                                   pvc_access_modes=claims, reserved_ips=reserved, secrets=secrets, foreign_secrets=foreign,
                                   unreadable_secrets=unreadable)
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


def _uses_secret(entry):
    return entry['state'] == 'present' and entry['cloud_init']['enabled'] and entry['cloud_init']['user_data_in_secret']


def _referenced_secrets(vm):
    volumes = ((((vm or {}).get('spec') or {}).get('template') or {}).get('spec') or {}).get('volumes') or []
    return set(((v.get('cloudInitNoCloud') or {}).get('secretRef') or {}).get('name') for v in volumes if isinstance(v, dict))


def read_user_data_secrets(api, entries, namespaces, existing):
    """The collection's user-data Secrets of the batch: one labelled LIST per namespace that needs one, and a GET for each
    Secret name still free there (a Secret of that name that is not ours must not be taken over).

    Returns ``(ours by (namespace, name), foreign (namespace, name) set, namespaces whose Secrets cannot be read)``.
    """
    wanted = {}
    for entry in entries:
        key = (entry['namespace'], entry['name'])
        if _uses_secret(entry) or user_data_secret_name(entry['name']) in _referenced_secrets(existing.get(key)):
            wanted.setdefault(entry['namespace'], []).append(entry)
    ours, foreign, unreadable = {}, set(), {}
    selector = ','.join('%s=%s' % item for item in MANAGED_BY.items())
    for namespace, batch in sorted(wanted.items()):
        if namespaces.get(namespace, {}) is None:
            continue  # the namespace does not exist (yet): nothing to read
        try:
            for secret in api.list('v1', 'Secret', namespace=namespace, label_selector=selector):
                ours[(namespace, secret['metadata']['name'])] = secret
            for entry in batch:
                name = user_data_secret_name(entry['name'])
                if _uses_secret(entry) and (namespace, name) not in ours and api.get('v1', 'Secret', name, namespace) is not None:
                    foreign.add((namespace, name))
        except KubeApiError as err:
            if err.status != 403:
                raise
            unreadable[namespace] = str(err)
    return ours, foreign, unreadable


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
    try:
        out = _run_checked(params, entries, connect, check_mode, want_diff)
    except KubeApiError as err:  # the cluster could not be reached or refused a read: the message says which
        return {'failed': True, 'msg': str(err), 'vms': []}
    if params.get('return_manifests') is False:
        for result in out.get('vms') or []:
            result.pop('manifest', None)  # thousands of VMs: the result Ansible carries, logs and AWX stores stays small
    return out


def _run_checked(params, entries, connect, check_mode, want_diff):
    render_only = params.get('render_only')
    problems, warnings = [], []
    facts = None
    nad_refs, default_pools = {}, {}
    api = None
    if not render_only:
        api = connect()
        facts = gather_facts(api, entries, params.get('spiderpool_namespace') or 'kube-system')
        if params.get('preflight', True):
            judged = preflight.check(entries, facts, check_mode=check_mode, create_namespaces=params.get('create_namespaces'))
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
            result.update(manifest=hide_inline_secrets(manifest, holds_secret(entry['cloud_init'])), nics=nics,
                          live_migratable=judged == 'yes', live_migration_verdict=judged,
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

    created = _create_namespaces(api, entries, facts, params.get('create_namespaces'))
    diffs = _apply(api, entries, rendered, results, facts, check_mode, want_diff)
    failed = [r for r in results if r['failed']]
    if params.get('wait') and not check_mode:
        _wait(api, entries, results, params.get('wait_timeout') or 120)
        failed = [r for r in results if r['failed']]
    _fill_addresses(api, entries, results)
    out = {'changed': bool(created) or any(r['changed'] for r in results), 'vms': results, 'warnings': warnings,
           'api_retries': api.retried, 'namespaces_created': created}
    if want_diff:
        out['diff'] = diffs
    if failed:
        out['failed'] = True
        reasons = ['%s/%s: %s' % (r['namespace'], r['name'], r['msg']) for r in failed[:MAX_LISTED_PROBLEMS]]
        out['msg'] = '%d of %d VM(s) failed: %s' % (len(failed), len(results), '; '.join(reasons))
    return out


def _create_namespaces(api, entries, facts, wanted):
    """Missing namespaces of VMs to create (with ``create_namespaces``); returns their names."""
    if not wanted:
        return []
    missing = sorted(set(e['namespace'] for e in entries if e['state'] == 'present' and facts.namespaces.get(e['namespace'], {}) is None))
    for namespace in missing:
        api.ensure({'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': namespace, 'labels': dict(MANAGED_BY)}},
                   existing=None, prefetched=True)
        if not api.check_mode:
            facts.namespaces[namespace] = {}
    return missing


def _apply(api, entries, rendered, results, facts, check_mode=False, want_diff=True):
    diffs = []  # kept only for diff mode: two copies of every changed VM is most of a big batch's memory
    for entry, output, result in zip(entries, rendered, results):
        key = (entry['namespace'], entry['name'])
        secret_outcome = None
        try:
            if entry['state'] == 'absent' and facts.namespaces.get(entry['namespace'], {}) is None:
                outcome = {'changed': False, 'action': 'absent', 'diff': {}}
            elif check_mode and entry['state'] == 'present' and facts.namespaces.get(entry['namespace'], {}) is None:
                outcome = {'changed': True, 'action': 'created', 'diff': {'before': {}, 'after': output[0]}}
            elif entry['state'] == 'absent':
                # the user-data Secret is owned by the VM: the garbage collector deletes it with it
                outcome = api.delete(API_VERSION, KIND, entry['name'], entry['namespace'], existing=facts.existing_vms.get(key), prefetched=True)
            else:
                _manifest, body, _nics, _warnings = output
                outcome = api.ensure(body, existing=facts.existing_vms.get(key), prefetched=True)
                secret_outcome = _apply_user_data_secret(api, entry, outcome.get('uid'), facts)
        except KubeApiError as err:
            result.update(failed=True, action='failed', msg=str(err))
            continue
        changed = outcome['changed'] or bool(secret_outcome and secret_outcome['changed'])
        result.update(changed=changed, action=outcome['action'] if outcome['changed'] or not changed else 'updated')
        secret = holds_secret(entry['cloud_init'])
        if outcome['changed'] and want_diff:
            diff = dict((side, hide_inline_secrets(value, secret)) for side, value in (outcome.get('diff') or {}).items())
            diff['before_header'] = diff['after_header'] = '%s/%s' % key
            diffs.append(diff)
        if secret_outcome and secret_outcome['changed'] and want_diff:
            name = '%s/%s' % (entry['namespace'], user_data_secret_name(entry['name']))
            diffs.append({'before': hide_secret_data(secret_outcome['diff'].get('before')) or {},
                          'after': hide_secret_data(secret_outcome['diff'].get('after')) or {},
                          'before_header': name + ' (Secret)', 'after_header': name + ' (Secret)'})
    return diffs


def _apply_user_data_secret(api, entry, vm_uid, facts):
    """Write (or, once the user data went inline, delete) the VM's user-data Secret, owned by the VM."""
    key = (entry['namespace'], user_data_secret_name(entry['name']))
    wanted = user_data_secret(entry, owner_uid=vm_uid)
    existing = facts.secrets.get(key)
    if wanted is None:
        if existing is None:
            return None
        return api.delete('v1', 'Secret', key[1], key[0], existing=existing, prefetched=True)
    return api.ensure(wanted, existing=existing, prefetched=True)


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
