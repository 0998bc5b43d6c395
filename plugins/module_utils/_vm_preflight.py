# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure preflight for vm_network: plan the cluster reads, then judge a batch against them.

``plan_reads(entries)`` says what to read (in bulk: one LIST per kind and namespace, never
one GET per pool); the module reads it through ``_k8s`` into a ``ClusterFacts`` and
``check(entries, facts)`` returns every problem at once plus what rendering needs from the
cluster (the NAD each Multus CR generates, each CR's default pools).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model as model
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_model import FAMILIES, API_VERSION as SPIDER_API
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_render import user_data_secret_name


class ClusterFacts:
    """What preflight read from the cluster (plain data; built by the module or a test)."""

    def __init__(self, vm_served=True, spiderpool_served=True, nad_served=True, smcs=(), nads=(), pools=(),
                 namespaces=None, existing_vms=None, spiderpool_namespace='kube-system', pvc_access_modes=None, reserved_ips=(),
                 secrets=None, foreign_secrets=(), unreadable_secrets=None):
        self.vm_served = vm_served
        self.spiderpool_served = spiderpool_served
        self.nad_served = nad_served
        self.smcs = dict(('%s/%s' % (o['metadata'].get('namespace'), o['metadata']['name']), o) for o in smcs)
        self.nads = dict(('%s/%s' % (o['metadata'].get('namespace'), o['metadata']['name']), o) for o in nads)
        self.pools = dict((o['metadata']['name'], o) for o in pools)
        # namespace name -> labels, or None when the namespace does not exist; absent key = not read
        self.namespaces = namespaces or {}
        self.existing_vms = existing_vms or {}
        self.spiderpool_namespace = spiderpool_namespace
        # (namespace, claim) -> access modes, for the live-migration verdict of VMs on existing PVCs
        self.pvc_access_modes = pvc_access_modes or {}
        # SpiderReservedIP objects: their addresses are never handed out
        self.reserved_ips = list(reserved_ips or ())
        # the collection's user-data Secrets by (namespace, name); names taken by Secrets that are not ours;
        # namespace -> why its Secrets could not be read
        self.secrets = secrets or {}
        self.foreign_secrets = set(foreign_secrets)
        self.unreadable_secrets = unreadable_secrets or {}

    def claims_of(self, namespace):
        return dict((claim, modes) for (ns, claim), modes in self.pvc_access_modes.items() if ns == namespace)


def plan_reads(entries):
    """What the batch needs read: ``{'bridge': bool, 'cr_namespaces': [...], 'vm_namespaces': [...]}``."""
    present = [e for e in entries if e['state'] == 'present']
    bridge = [e for e in present if e['mode'] == 'bridge']
    cr_namespaces = sorted(set(n['multus_cr'].split('/', 1)[0] for e in bridge for n in e['nics'] if n.get('multus_cr')))
    vm_namespaces = sorted(set(e['namespace'] for e in entries))
    pvc_namespaces = sorted(set(e['namespace'] for e in present if (e.get('disk') or {}).get('type') == 'pvc'))
    return {'bridge': bool(bridge), 'cr_namespaces': cr_namespaces, 'vm_namespaces': vm_namespaces, 'pvc_namespaces': pvc_namespaces}


def selector_matches(selector, labels):
    """metav1.LabelSelector semantics (matchLabels and matchExpressions)."""
    labels = labels or {}
    for key, value in ((selector or {}).get('matchLabels') or {}).items():
        if labels.get(key) != value:
            return False
    for expr in (selector or {}).get('matchExpressions') or []:
        key, operator, values = expr.get('key'), expr.get('operator'), expr.get('values') or []
        if operator == 'In' and labels.get(key) not in values:
            return False
        if operator == 'NotIn' and key in labels and labels[key] in values:
            return False
        if operator == 'Exists' and key not in labels:
            return False
        if operator == 'DoesNotExist' and key in labels:
            return False
    return True


def resolve_multus_cr(ref, facts):
    """``{'kind', 'cni_type', 'nad', 'default_pools'}`` for a Multus CR ref, or None if missing."""
    if ref in facts.smcs:
        return model.multus_cr_of_smc(facts.smcs[ref])
    if ref in facts.nads:
        return model.multus_cr_of_nad(facts.nads[ref])
    return None


def pool_family(pool):
    return model.pool_version(pool)


def pool_free_ips(pool, reserved_ips=()):
    """IPs the pool can still hand out (the collection's one count: ``_spiderpool_model.free_ip_count``)."""
    return model.free_ip_count(pool, reserved_ips)


def _existing_nic_names(vm):
    tspec = (((vm or {}).get('spec') or {}).get('template') or {}).get('spec') or {}
    return set(i.get('name') for i in ((tspec.get('domain') or {}).get('devices') or {}).get('interfaces') or [] if i.get('state') != 'absent')


def check(entries, facts, check_mode=False, create_namespaces=False):
    """Judge the batch. Returns ``{'problems': [...], 'warnings': [...], 'nad_refs': {...}, 'default_pools': {...}}``.

    Problems name the field (``vms[1].nics[0].ip_pools.ipv4[0]``), the value and the rule.
    """
    problems, warnings = [], []
    nad_refs, default_pools = {}, {}
    present = [e for e in entries if e['state'] == 'present']
    if not facts.vm_served:
        problems.append('cluster: VirtualMachine kubevirt.io/v1 is not served: the rule is that KubeVirt is installed')
    bridge = [e for e in present if e['mode'] == 'bridge']
    if bridge and not facts.spiderpool_served:
        problems.append('%snetwork_mode: %r needs Spiderpool, but SpiderIPPool/SpiderMultusConfig %s are not served: the rule is that '
                        'Spiderpool is installed for bridge mode' % (bridge[0]['path'], 'bridge', SPIDER_API))
    for entry in present:
        _check_user_data_secret(entry, facts, problems)
        if entry['namespace'] in facts.namespaces and facts.namespaces[entry['namespace']] is None:
            if create_namespaces:
                warnings.append('%snamespace: %r does not exist yet and is created first (create_namespaces)' % (entry['path'], entry['namespace']))
            elif check_mode:  # a playbook may create it in an earlier task that check mode did not run
                warnings.append('%snamespace: %r does not exist yet; check mode reports the VM as to be created without a server dry run'
                                % (entry['path'], entry['namespace']))
            else:
                problems.append('%snamespace: %r does not exist: the rule is an existing namespace' % (entry['path'], entry['namespace']))
    if bridge and facts.spiderpool_served:
        _check_bridge(bridge, facts, problems, warnings, nad_refs, default_pools)
    return {'problems': problems, 'warnings': warnings, 'nad_refs': nad_refs, 'default_pools': default_pools}


def _check_user_data_secret(entry, facts, problems):
    cloud_init = entry['cloud_init']
    if not cloud_init['enabled'] or not cloud_init['user_data_in_secret']:
        return
    name = user_data_secret_name(entry['name'])
    if (entry['namespace'], name) in facts.foreign_secrets:
        problems.append('%scloud_init: the user data goes into Secret %s/%s, which exists and is not managed by vmnet.kubevirt: the rule '
                        'is that the collection never takes over a Secret it did not make (remove or rename it, or set user_data_in: '
                        'inline)' % (entry['path'], entry['namespace'], name))
    elif entry['namespace'] in facts.unreadable_secrets:
        problems.append('%scloud_init: the user data holds a secret and goes into Secret %s/%s, but Secrets there cannot be read (%s): '
                        'the rule is that the credentials may read and write Secrets in the VM\'s namespace (or user_data_in: inline)'
                        % (entry['path'], entry['namespace'], name, facts.unreadable_secrets[entry['namespace']]))


def _pool_subnets(names, facts):
    return sorted(set((facts.pools[name].get('spec') or {}).get('subnet') for name in names if name in facts.pools))


def _check_bridge(entries, facts, problems, warnings, nad_refs, default_pools):
    cluster_default = model.cluster_default_pools(facts.pools)
    free = dict((name, pool_free_ips(pool, facts.reserved_ips)) for name, pool in facts.pools.items())
    shortages = {}
    for entry in entries:
        existing_nics = _existing_nic_names(facts.existing_vms.get((entry['namespace'], entry['name'])))
        template_labels = dict(entry['labels'], **{'kubevirt.io/vm': entry['name'], 'vm.kubevirt.io/name': entry['name']})
        for nic in entry['nics']:
            ref = nic.get('multus_cr')
            if not ref:
                continue
            field = nic['path']
            info = resolve_multus_cr(ref, facts)
            if info is None:
                problems.append('%smultus_cr: %r does not exist: the rule is an existing SpiderMultusConfig or '
                                'NetworkAttachmentDefinition (namespace/name)' % (field, ref))
                continue
            if info['cni_type'] != 'ovs':
                problems.append('%smultus_cr: %r is a %s of type %s: the rule is a Multus CR of type ovs for bridge mode'
                                % (field, ref, info['kind'], info['cni_type']))
                continue
            nad_refs[ref] = info['nad']
            # With no pools on the CR, Spiderpool falls back to the pools marked default: true.
            default_pools[ref] = info['default_pools'] or dict((f, n) for f, n in cluster_default.items() if n)
            if nic['use_default_ip_pool']:
                pools = default_pools[ref]
                if not any(pools.values()):
                    problems.append('%suse_default_ip_pool: %r but %s has no default IP pools and no SpiderIPPool has default: true: the '
                                    'rule is default pools on the Multus CR (or use_default_ip_pool: false with ip_pools)' % (field, True, ref))
                    continue
                pool_field = '%smultus_cr(%s default pools).' % (field, ref)
            else:
                pools = nic['ip_pools']
                pool_field = '%sip_pools.' % field
                _check_pools_match_cr(nic, ref, info, facts, problems)
            needs_ip = nic['name'] not in existing_nics
            for family, names in sorted(pools.items()):
                usable = []
                for index, pool_name in enumerate(names):
                    pfield = '%s%s[%d]' % (pool_field, family, index)
                    if _check_pool(pool_name, pfield, family, entry, info['nad'], template_labels, facts, problems, warnings):
                        usable.append(pool_name)
                if needs_ip and usable and len(usable) == len(names):
                    # Spiderpool tries the pools in order: take from the first one with room.
                    taker = next((p for p in usable if free[p] > 0), None)
                    if taker is None:
                        shortages.setdefault(tuple(usable), []).append('%s/%s %s' % (entry['namespace'], entry['name'], nic['name']))
                    else:
                        free[taker] -= 1
    for pools, nics in sorted(shortages.items()):
        problems.append('ip_pools: %r have no free IP left for %d NIC(s) of this batch (%s): the rule is enough free IPs in the pools '
                        'for every NIC that draws from them' % (list(pools), len(nics), ', '.join(nics[:5]) + (', ...' if len(nics) > 5 else '')))


def _check_pool(pool_name, field, family, entry, nad, template_labels, facts, problems, warnings):
    pool = facts.pools.get(pool_name)
    if pool is None:
        problems.append('%s: %r does not exist: the rule is an existing SpiderIPPool' % (field, pool_name))
        return False
    spec = pool.get('spec') or {}
    ok = True
    if spec.get('disable'):
        problems.append('%s: %r is disabled: the rule is an enabled SpiderIPPool (spec.disable: false)' % (field, pool_name))
        ok = False
    version = pool_family(pool)
    if version != FAMILIES[family]:
        problems.append('%s: %r is an IPv%s pool: the rule is an IPv%d pool under %s' % (field, pool_name, version, FAMILIES[family], family))
        ok = False
    multus_names = spec.get('multusName') or []
    if multus_names:
        allowed = model.multus_names(multus_names, facts.spiderpool_namespace)
        if nad not in allowed:
            problems.append('%s: %r admits only Multus CRs %s (multusName), not %s: the rule is that the pool\'s multusName lists the NIC\'s '
                            'Multus CR' % (field, pool_name, sorted(allowed), nad))
            ok = False
    if spec.get('namespaceName') and entry['namespace'] not in spec['namespaceName']:
        problems.append('%s: %r admits only namespaces %s (namespaceName), not %s: the rule is that the pool admits the VM\'s namespace'
                        % (field, pool_name, spec['namespaceName'], entry['namespace']))
        ok = False
    if spec.get('namespaceAffinity'):
        labels = facts.namespaces.get(entry['namespace'])
        if entry['namespace'] not in facts.namespaces:
            warnings.append('%s: %r has a namespaceAffinity that could not be checked (namespace %s not readable)' % (field, pool_name, entry['namespace']))
        elif labels is not None and not selector_matches(spec['namespaceAffinity'], labels):
            problems.append('%s: %r namespaceAffinity does not select namespace %s (labels %s): the rule is that the pool admits the VM\'s '
                            'namespace' % (field, pool_name, entry['namespace'], labels))
            ok = False
    if spec.get('podAffinity') and not selector_matches(spec['podAffinity'], template_labels):
        problems.append('%s: %r podAffinity does not select this VM\'s pod labels %s: the rule is that the pool admits the VM (add labels)'
                        % (field, pool_name, template_labels))
        ok = False
    if spec.get('nodeAffinity') or spec.get('nodeName'):
        warnings.append('%s: %r is limited to some nodes (nodeAffinity/nodeName); schedule the VM there' % (field, pool_name))
    return ok


def _check_pools_match_cr(nic, ref, info, facts, problems):
    """A pool picked by hand must lie in the subnet of the NIC's Multus CR (its VLAN): the subnet of the CR's default
    pools (an ovs SpiderMultusConfig's ippools, or the default_ipv4/6_ippool a NAD's config names)."""
    for family, names in sorted(nic['ip_pools'].items()):
        expected = _pool_subnets(info['default_pools'].get(family) or [], facts)
        if not expected:
            continue
        for index, name in enumerate(names):
            subnet = ((facts.pools.get(name) or {}).get('spec') or {}).get('subnet')
            if subnet is not None and subnet not in expected:
                problems.append('%sip_pools.%s[%d]: %r has subnet %s, but Multus CR %s puts its NICs on %s (its default %s pools %s): the '
                                'rule is that a pool picked by hand lies in the subnet of the NIC\'s Multus CR'
                                % (nic['path'], family, index, name, subnet, ref, ', '.join(expected), family,
                                   ', '.join(info['default_pools'][family])))
