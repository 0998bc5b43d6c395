# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a change to an existing VM does on the cluster, judged before anything is written.

Pure rules (standard library only) apart from ``read_facts``, which takes a ``_k8s.KubeApi``.
Facts followed (KubeVirt v1.9.0 with the per-version changes noted, Spiderpool v1.2.2):

- KubeVirt makes a VMI from the VM template when the VM starts. Afterwards only these template
  changes reach the running VMI (``pkg/network/controllers/vm.go``): a bridge or SR-IOV NIC added
  (hot-plug), a NIC's ``state: absent`` (hot-unplug, bridge only), a Multus ``networkName`` (v1.9,
  v1.8 with the LiveUpdateNADRef gate). Any other change of an interface or a network, or of the
  rest of the template spec (LiveUpdate aside: CPU sockets, guest memory, nodeSelector, affinity,
  tolerations), sets the VM condition ``RestartRequired`` and waits for the next start. Template
  labels and annotations, Spiderpool's ``ipam.spidernet.io/ippools`` among them, never reach a
  running VMI and raise no condition: they apply at the next start.
- NIC hot-plug from the template: v1.4 and later; v1.1-1.3 behind the ``HotplugNICs`` gate; v1.0
  only through the ``addinterface`` API. With Multus thin (as Spiderpool installs it) the NIC
  reaches the guest by a live migration, which KubeVirt starts itself only from v1.6, under the
  LiveUpdate rollout strategy (the default since v1.6, Stage before), when the KubeVirt CR's
  ``workloadUpdateMethods`` has ``LiveMigrate`` and the VM can migrate (``Evict`` alone restarts it).
- The migration target pod takes the VMI's annotations, so a hot-plugged NIC meets the pools
  annotation the VM started with. Named items without its interface make Spiderpool refuse the
  pod ("interface ... must be specified"); no annotation gives it its Multus CR's default pools.
- Spiderpool (``ipam.enableKubevirtStaticIP``) keeps a VM's IPs in its SpiderEndpoint per pod
  interface while the VM exists and hands them back at every start without looking at pools
  (``retrieveStaticIPAllocation``): a NIC moved to other pools or another Multus CR, or another NIC
  taking over ``eth0`` when the first NIC goes, gets the old addresses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_ipam
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model as model
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApiError, is_subset
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_render import pod_interface_name

KUBEVIRT_API = 'kubevirt.io/v1'
VMI_KIND = 'VirtualMachineInstance'
POOLS_ANNOTATION = 'ipam.spidernet.io/ippools'
RESTART_REQUIRED = 'RestartRequired'
# takes_effect values of a NIC
IN_FORCE, AT_START, HOTPLUG, AFTER_MIGRATION, NEXT_START = 'in_force', 'at_start', 'hotplug', 'after_migration', 'next_start'
LIVE_UPDATABLE = (('domain', 'cpu', 'sockets'), ('domain', 'memory', 'guest'), ('nodeSelector',), ('affinity',), ('tolerations',))
ORDINAL_NAME = re.compile(r'^net\d+$')
PRE_HOTPLUG = 'KubeVirt v1.4+ hot-plugs NICs added to the template (v1.1-1.3 with the HotplugNICs feature gate)'


class KubeVirtInfo:
    """What the KubeVirt CR says (``found`` False: not readable, so nothing is known)."""

    def __init__(self, cr=None, found=True):
        spec = (cr or {}).get('spec') or {}
        configuration = spec.get('configuration') or {}
        self.found = found and cr is not None
        self.version = ((cr or {}).get('status') or {}).get('observedKubeVirtVersion')
        self.rollout_strategy = configuration.get('vmRolloutStrategy')
        self.feature_gates = list((configuration.get('developerConfiguration') or {}).get('featureGates') or [])
        self.workload_update_methods = list((spec.get('workloadUpdateStrategy') or {}).get('workloadUpdateMethods') or [])

    def version_tuple(self):
        found = re.match(r'^v?(\d+)\.(\d+)', self.version or '')
        return (int(found.group(1)), int(found.group(2))) if found else None

    def live_update(self):
        """IsVMRolloutStrategyLiveUpdate: explicit LiveUpdate; unset means LiveUpdate from v1.6, Stage before."""
        if self.rollout_strategy is not None:
            return self.rollout_strategy == 'LiveUpdate'
        version = self.version_tuple()
        return version is None or version >= (1, 6)

    def nad_ref_live(self):
        version = self.version_tuple()
        return version is None or version >= (1, 9) or (version >= (1, 8) and 'LiveUpdateNADRef' in self.feature_gates)


def read_facts(api, entries, existing):
    """The KubeVirt CR, and for the VMs that exist their VMIs and SpiderEndpoints (one LIST per namespace).

    Returns ``{'kubevirt': KubeVirtInfo, 'vmis': {(ns, name): vmi}, 'endpoints': {(ns, name): endpoint},
    'endpoint_namespaces': namespaces whose SpiderEndpoints were read}``.
    """
    facts = {'kubevirt': KubeVirtInfo(found=False), 'vmis': {}, 'endpoints': {}, 'endpoint_namespaces': set()}
    try:
        if api.is_served(KUBEVIRT_API, 'KubeVirt'):
            found = sorted(api.list(KUBEVIRT_API, 'KubeVirt'), key=lambda o: (o['metadata'].get('namespace') or '', o['metadata']['name']))
            facts['kubevirt'] = KubeVirtInfo(found[0] if found else None, found=bool(found))
    except KubeApiError as err:
        if err.status not in (403, 404):
            raise
    known = [e for e in entries if e['state'] == 'present' and existing.get((e['namespace'], e['name']))]
    if not known:
        return facts
    if api.is_served(KUBEVIRT_API, VMI_KIND):
        for namespace in sorted(set(e['namespace'] for e in known)):
            for vmi in api.list(KUBEVIRT_API, VMI_KIND, namespace=namespace):
                facts['vmis'][(namespace, vmi['metadata']['name'])] = vmi
    for namespace in sorted(set(e['namespace'] for e in known if e['mode'] == 'bridge')):
        if not api.is_served(model.API_VERSION, model.ENDPOINT_KIND):
            break
        try:
            for endpoint in api.list(model.API_VERSION, model.ENDPOINT_KIND, namespace=namespace):
                facts['endpoints'][(namespace, endpoint['metadata']['name'])] = endpoint
        except KubeApiError as err:
            if err.status not in (403, 404):
                raise
            continue
        facts['endpoint_namespaces'].add(namespace)
    return facts


# ---------------------------------------------------------------- template comparisons (KubeVirt's rules)
def _tspec(vm):
    return (((vm or {}).get('spec') or {}).get('template') or {}).get('spec') or {}


def _interfaces(spec):
    return ((spec.get('domain') or {}).get('devices') or {}).get('interfaces') or []


def _by_name(items):
    return dict((item.get('name'), item) for item in items)


def _without(mapping, key):
    return dict((k, v) for k, v in (mapping or {}).items() if k != key)


def _network_key(network, ignore_nad):
    if not ignore_nad or network.get('multus') is None:
        return network
    return dict(network, multus=_without(network['multus'], 'networkName'))


def network_restart_reasons(desired, current, kubevirt):
    """IsRestartRequired between the desired template spec and the running VMI spec, as readable reasons."""
    reasons = []
    wanted_ifaces, running_ifaces = _by_name(_interfaces(desired)), _by_name(_interfaces(current))
    for name, iface in sorted(running_ifaces.items()):
        if name not in wanted_ifaces:
            reasons.append('NIC %s leaves the spec (only a secondary bridge NIC can be unplugged, with state absent)' % name)
        elif _without(wanted_ifaces[name], 'state') != _without(iface, 'state'):
            reasons.append('NIC %s changes (%s)' % (name, ', '.join(sorted(k for k in set(iface) | set(wanted_ifaces[name])
                                                                           if k != 'state' and iface.get(k) != wanted_ifaces[name].get(k)))))
    wanted_nets, running_nets = _by_name(desired.get('networks') or []), _by_name(current.get('networks') or [])
    if any('pod' in n for n in wanted_nets.values()) and not any('pod' in n for n in running_nets.values()):
        reasons.append('a pod network is added')
    ignore_nad = kubevirt.nad_ref_live()
    for name, network in sorted(running_nets.items()):
        wanted = wanted_nets.get(name)
        if wanted is None:
            if name in wanted_ifaces:
                reasons.append('network %s leaves the spec' % name)
        elif _network_key(wanted, ignore_nad) != _network_key(network, ignore_nad):
            if (wanted.get('multus') or {}).get('default') != (network.get('multus') or {}).get('default'):
                reasons.append('the default network moves (NIC %s)' % name)
            else:
                reasons.append('NIC %s moves to another Multus CR (KubeVirt changes that live from v1.9, v1.8 with LiveUpdateNADRef)' % name)
    return reasons


def _masked(spec, live_update):
    result = copy.deepcopy(spec)
    result.pop('networks', None)
    ((result.get('domain') or {}).get('devices') or {}).pop('interfaces', None)
    if live_update:
        for path in LIVE_UPDATABLE:
            node = result
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(path[-1], None)
    return result


def spec_restart_reasons(desired, before, kubevirt):
    """Non-network template spec changes (against the VM's template before this run) that need a restart.

    Only what the write changes counts: fields the server holds and this run does not send (defaults, a
    firmware UUID KubeVirt wrote) stay as they are, so they are no change."""
    wanted, old = _masked(desired, kubevirt.live_update()), _masked(before, kubevirt.live_update())
    changed = []
    for key in sorted(wanted):
        if key == 'domain' and isinstance(wanted[key], dict):
            changed.extend('domain.' + sub for sub in sorted(wanted['domain'])
                           if not is_subset(wanted['domain'][sub], (old.get('domain') or {}).get(sub)))
        elif not is_subset(wanted[key], old.get(key)):
            changed.append(key + (' (cloud-init data)' if key == 'volumes' and _cloud_init_changed(wanted[key], old.get(key)) else ''))
    return ['template spec %s changes' % ', '.join(changed)] if changed else []


def _cloud_init_changed(wanted, old):
    def cloud_init(volumes):
        return [v for v in volumes or [] if isinstance(v, dict) and ('cloudInitNoCloud' in v or 'cloudInitConfigDrive' in v)]
    return not is_subset(cloud_init(wanted), cloud_init(old))


def pools_items(annotations):
    """The ``ipam.spidernet.io/ippools`` items of an annotation map, or None when absent or unreadable."""
    raw = (annotations or {}).get(POOLS_ANNOTATION)
    if not raw:
        return None
    try:
        items = json.loads(raw)
    except ValueError:
        return None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else None


def _pools(item):
    return dict((f, list(item.get(f) or [])) for f in ('ipv4', 'ipv6') if item.get(f))


# ---------------------------------------------------------------- the judgement
def _remedy(namespace, name, running):
    endpoint = 'SpiderEndpoint %s/%s' % (namespace, name)
    first = 'stop the VM (run_strategy: Halted), ' if running else ''
    return ('%sdelete the %s so Spiderpool releases the addresses it keeps (if it stays Terminating, remove its finalizer '
            'spiderpool.spidernet.io), then apply the change; or delete and recreate the VM; or give the NIC a new name, so that it '
            'gets a new pod interface and new addresses (the old ones stay held until the VM is deleted)' % (first, endpoint))


def binding_problems(entry, nics, existing, vmi, endpoint, naming):
    """Changes Spiderpool would not carry out: a pod interface whose kept IPs are not what the NIC now asks for."""
    if entry['mode'] != 'bridge' or not _spiderpool_ipam.kept_for_vm(endpoint):
        return []
    kept = _spiderpool_ipam.endpoint_entries(endpoint)
    owners = {}
    for network, candidates in _spiderpool_ipam.pod_interface_names(_tspec(existing), vmi).items():
        for candidate in candidates:
            if candidate in kept:
                owners.setdefault(candidate, network)
    problems = []
    active = [n for n in nics if n.get('state') != 'absent']
    for index, nic in enumerate(active):
        ifname = pod_interface_name(index, nic['name'], naming)
        held = kept.get(ifname)
        if not held:
            continue
        spec_nic = next((n for n in entry['nics'] if n['name'] == nic['name']), {})
        where = '%s: %r' % (spec_nic.get('path', entry['path']) + 'name', nic['name'])
        addresses = ', '.join(held['ip_addresses']) or 'no address'
        source = ', '.join('%s from pool %s' % (f, p) for f, p in sorted(held['pools'].items())) or 'no pool'
        owner = owners.get(ifname)
        if owner and owner != nic['name']:
            problems.append('%s would get %s: it becomes pod interface %s, whose addresses (%s) the SpiderEndpoint %s/%s keeps for NIC %s, '
                            'and Spiderpool hands them back at every start without looking at pools; the rule is to release them first: %s'
                            % (where, addresses, ifname, source, entry['namespace'], entry['name'], owner,
                               _remedy(entry['namespace'], entry['name'], vmi is not None)))
            continue
        wanted = nic.get('ip_pools') or {}
        if not wanted:
            continue  # the NIC's pools are not known (the CR's defaults were not read)
        wrong = [f for f in ('ipv4', 'ipv6') if (held['pools'].get(f) and held['pools'][f] not in wanted.get(f, []))
                 or (wanted.get(f) and not held['pools'].get(f))]
        if wrong:
            problems.append('%s would get %s again: the SpiderEndpoint %s/%s keeps them for pod interface %s (%s), not addresses of its '
                            'pools %s, and Spiderpool hands a VM\'s kept addresses back at every start without allocating from new pools; '
                            'the rule is to release them first: %s'
                            % (where, addresses, entry['namespace'], entry['name'], ifname, source, json.dumps(wanted, sort_keys=True),
                               _remedy(entry['namespace'], entry['name'], vmi is not None)))
    return problems


def _hotplug_limit(kubevirt, nic_model):
    """Why KubeVirt will not hot-plug at all (the NIC then waits for the next start), or None."""
    version = kubevirt.version_tuple()
    if nic_model not in (None, 'virtio'):
        return 'KubeVirt hot-plugs virtio NICs only (model %s)' % nic_model
    if version is not None and version < (1, 1):
        return 'KubeVirt %s hot-plugs NICs through its addinterface API only, not from the template' % kubevirt.version
    if version is not None and version < (1, 4) and 'HotplugNICs' not in kubevirt.feature_gates:
        return 'KubeVirt %s needs the HotplugNICs feature gate for NIC hot-plug (not in the KubeVirt CR)' % kubevirt.version
    return None


def _migration(kubevirt, verdict_value):
    """(takes_effect, why) for a change that reaches the guest by a live migration."""
    if verdict_value == 'no':
        return NEXT_START, 'the VM cannot live-migrate, and with Multus thin a NIC reaches the guest only by a migration'
    if not kubevirt.found:
        return AFTER_MIGRATION, ('the KubeVirt CR could not be read: %s, by a live migration that KubeVirt starts itself only from v1.6 '
                                 'with vmRolloutStrategy LiveUpdate and workloadUpdateMethods LiveMigrate' % PRE_HOTPLUG)
    version = kubevirt.version_tuple()
    methods = kubevirt.workload_update_methods
    if (version is None or version >= (1, 6)) and kubevirt.live_update() and 'LiveMigrate' in methods:
        return HOTPLUG, None
    if 'Evict' in methods and 'LiveMigrate' not in methods:
        return NEXT_START, 'the KubeVirt CR\'s workloadUpdateMethods is Evict only: KubeVirt restarts the VM to apply it'
    reasons = []
    if version is not None and version < (1, 6):
        reasons.append('KubeVirt %s does not migrate for a hot-plug by itself' % kubevirt.version)
    if not kubevirt.live_update():
        reasons.append('vmRolloutStrategy is Stage')
    if 'LiveMigrate' not in methods:
        reasons.append('workloadUpdateMethods has no LiveMigrate')
    return AFTER_MIGRATION, ('%s: KubeVirt adds it to the VMI, and it reaches the guest after a live migration you start '
                             '(a VirtualMachineInstanceMigration; since v1.5 namespace admins may not create them) or at the next start'
                             % '; '.join(reasons))


def _hotplug_pools(entry, nic, index, vmi, naming):
    """(problem, warning) about the pools a hot-plugged NIC would get from the running VMI's annotation."""
    if entry['mode'] != 'bridge':
        return None, None
    items = pools_items((vmi.get('metadata') or {}).get('annotations'))
    where = '%s/%s: NIC %s' % (entry['namespace'], entry['name'], nic['name'])
    wanted = nic.get('ip_pools') or {}
    if items is None:
        if nic.get('use_default_ip_pool'):
            return None, None
        return ('%sname: %r is added to the running VM with the pools %s, but the running VMI has no %s annotation (KubeVirt never copies '
                'template annotations onto a running VMI), so Spiderpool would give it the default pools of %s and keep that address for the '
                'VM; the rule is to add a NIC with pools of its own to a stopped VM (run_strategy: Halted, then Always) or with '
                'use_default_ip_pool' % (_nic_path(entry, nic), nic['name'], json.dumps(wanted, sort_keys=True), POOLS_ANNOTATION,
                                         nic.get('multus_cr')), None)
    ifname = pod_interface_name(index, nic['name'], naming)
    if not any(i.get('interface') for i in items):
        match = items[index] if index < len(items) else None
        if match is not None and _pools(match) == wanted:
            return None, None
        return ('%sname: %r is added to the running VM, whose %s annotation maps pools by NIC order (written without interface '
                'names), so Spiderpool would give the new NIC whatever item its position finds; the rule is to add it to a stopped VM '
                '(run_strategy: Halted, then Always)' % (_nic_path(entry, nic), nic['name'], POOLS_ANNOTATION), None)
    match = next((i for i in items if i.get('interface') == ifname), None)
    if match is not None and _pools(match) == wanted:
        return None, None
    return None, ('%s: the running VMI\'s %s annotation (KubeVirt never updates it) does not give pod interface %s the pools %s, so '
                  'Spiderpool refuses the migration target pod and KubeVirt keeps retrying: the NIC is added at the next start (restart '
                  'the VM to apply it now)' % (where, POOLS_ANNOTATION, ifname, json.dumps(wanted, sort_keys=True)))


def _nic_path(entry, nic):
    spec_nic = next((n for n in entry['nics'] if n['name'] == nic['name']), None)
    return spec_nic['path'] if spec_nic else entry['path'] + 'nics[?].'


def _restart_condition(existing):
    for condition in ((existing or {}).get('status') or {}).get('conditions') or []:
        if condition.get('type') == RESTART_REQUIRED and str(condition.get('status')) == 'True':
            return condition.get('message') or 'RestartRequired'
    return None


def assess(entry, manifest, nics, existing, vmi, endpoint, kubevirt, verdict_value, naming='hashed'):
    """Judge one present VM's change. Returns ``{'problems', 'warnings', 'restart_required', 'pending_changes',
    'takes_effect': {nic name: value}}``; problems refuse the change before anything is written."""
    result = {'problems': [], 'warnings': [], 'restart_required': False, 'pending_changes': [], 'takes_effect': {}}
    running = vmi is not None and not (vmi.get('metadata') or {}).get('deletionTimestamp')
    if existing is None or not running:
        result['takes_effect'] = dict((n['name'], AT_START) for n in nics)
        result['problems'] = binding_problems(entry, nics, existing, None, endpoint, naming) if existing is not None else []
        return result
    label = '%s/%s' % (entry['namespace'], entry['name'])
    desired, current = _tspec(manifest), (vmi.get('spec') or {})
    reasons = network_restart_reasons(desired, current, kubevirt) + spec_restart_reasons(desired, _tspec(existing), kubevirt)
    already = _restart_condition(existing)
    if already:
        reasons.insert(0, 'KubeVirt already reports RestartRequired (%s)' % already)
    result['restart_required'] = bool(reasons)
    result['pending_changes'] = list(reasons)
    desired_meta = ((manifest.get('spec') or {}).get('template') or {}).get('metadata') or {}
    vmi_annotations = (vmi.get('metadata') or {}).get('annotations') or {}
    if (desired_meta.get('annotations') or {}).get(POOLS_ANNOTATION) != vmi_annotations.get(POOLS_ANNOTATION):
        result['pending_changes'].append('the %s annotation reaches the pod at the next start only (KubeVirt never copies template '
                                         'annotations onto a running VMI)' % POOLS_ANNOTATION)
    result['problems'] = binding_problems(entry, nics, existing, vmi, endpoint, naming)
    running_ifaces = _by_name(_interfaces(current))
    running_nets = _by_name(current.get('networks') or [])
    wanted_nets = _by_name(desired.get('networks') or [])
    plugged = set(i.get('name') for i in ((vmi.get('status') or {}).get('interfaces') or []))
    ordinal = any(ORDINAL_NAME.match(i.get('podInterfaceName') or '') for i in (vmi.get('status') or {}).get('interfaces') or [])
    active = [n for n in nics if n.get('state') != 'absent']
    for nic in nics:
        name = nic['name']
        wanted_iface = next((i for i in _interfaces(desired) if i.get('name') == name), {})
        if name not in running_ifaces:
            if nic.get('state') == 'absent':
                result['takes_effect'][name] = IN_FORCE  # already gone from the running VM
                continue
            limit = _hotplug_limit(kubevirt, wanted_iface.get('model'))
            if limit:
                value, why = NEXT_START, limit
            else:
                value, why = _migration(kubevirt, verdict_value)
                problem, warning = _hotplug_pools(entry, nic, active.index(nic), vmi, naming)
                if problem:
                    result['problems'].append(problem)
                if warning:
                    value, why = NEXT_START, None
                    result['warnings'].append(warning)
            result['takes_effect'][name] = value
            if why:
                result['warnings'].append('%s: NIC %s: %s' % (label, name, why))
            continue
        running_iface = running_ifaces[name]
        if _without(running_iface, 'state') != _without(wanted_iface, 'state'):
            result['takes_effect'][name] = NEXT_START
        elif nic.get('state') == 'absent' and running_iface.get('state') != 'absent':
            if ordinal:
                value, why = NEXT_START, 'the VM started with KubeVirt\'s ordinal pod interface names (v0.59 or older), which cannot hot-unplug'
            else:
                value, why = _migration(kubevirt, verdict_value)
            result['takes_effect'][name] = value
            if why:
                result['warnings'].append('%s: NIC %s (unplug): %s' % (label, name, why))
        elif _network_key(wanted_nets.get(name) or {}, False) != _network_key(running_nets.get(name) or {}, False):
            if _network_key(wanted_nets.get(name) or {}, True) == _network_key(running_nets.get(name) or {}, True) \
                    and kubevirt.nad_ref_live():
                value, why = _migration(kubevirt, verdict_value)
            else:
                value, why = NEXT_START, None
            result['takes_effect'][name] = value
            if why:
                result['warnings'].append('%s: NIC %s (new Multus CR): %s' % (label, name, why))
        else:
            result['takes_effect'][name] = IN_FORCE if name in plugged or nic.get('state') == 'absent' else AFTER_MIGRATION
    if result['restart_required']:
        result['warnings'].append('%s: the change waits for the next start of the VM (RestartRequired): %s'
                                  % (label, '; '.join(reasons)))
    return result
