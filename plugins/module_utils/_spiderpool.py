# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SpiderIPPool and SpiderSubnet: parameters -> spec, and the Spiderpool webhook's rules.

Pure code (no I/O). The rules mirror Spiderpool's validating webhook (pool rules 1-10,
the subnet rules and the update rules) so that a bad object fails here, before any write,
with a message naming the field, the value and the rule. Cross-object rules take the
existing pools and subnets as plain dicts, as read from the API.
"""

from __future__ import absolute_import, division, print_function

import json
import re

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _ipmath as ipm
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _k8s_names as names
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model as model
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import problem
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_model import API_VERSION, POOL_KIND, SUBNET_KIND

__metaclass__ = type  # pylint: disable=invalid-name

OWNER_SUBNET_LABEL = 'ipam.spidernet.io/owner-spider-subnet'
FINALIZER = 'spiderpool.spidernet.io'

# Module option name -> CRD field name, in the order they appear in the spec.
POOL_FIELDS = (
    ('subnet', 'subnet'), ('ip_version', 'ipVersion'), ('ips', 'ips'), ('exclude_ips', 'excludeIPs'),
    ('gateway', 'gateway'), ('routes', 'routes'), ('vlan', 'vlan'), ('default', 'default'),
    ('disable', 'disable'), ('multus_name', 'multusName'), ('namespace_affinity', 'namespaceAffinity'),
    ('node_affinity', 'nodeAffinity'), ('pod_affinity', 'podAffinity'), ('namespace_name', 'namespaceName'),
    ('node_name', 'nodeName'),
)
SUBNET_FIELDS = (
    ('subnet', 'subnet'), ('ip_version', 'ipVersion'), ('ips', 'ips'), ('exclude_ips', 'excludeIPs'),
    ('gateway', 'gateway'), ('routes', 'routes'), ('vlan', 'vlan'),
)
SELECTOR_OPERATORS = ('In', 'NotIn', 'Exists', 'DoesNotExist')


class SpecError(ValueError):
    """One or more rule violations; ``errors`` holds every message."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(SpecError, self).__init__('; '.join(self.errors))


def option_names(kind):
    return dict((crd, option) for option, crd in (POOL_FIELDS if kind == POOL_KIND else SUBNET_FIELDS))


# ---------------------------------------------------------------- parameters -> spec
def build_spec(params, kind):
    """The CRD spec for the options the user set (None = leave unchanged on update).

    ``ips`` and ``excludeIPs`` are written merged and canonical, as Spiderpool's mutating
    webhook stores them, and ``ipVersion`` is derived from ``subnet`` when not given, so a
    second run compares equal to what the cluster holds.
    """
    fields = POOL_FIELDS if kind == POOL_KIND else SUBNET_FIELDS
    spec = {}
    for option, crd in fields:
        value = params.get(option)
        if value is None:
            continue
        if option == 'routes':
            value = [{'dst': route.get('dst'), 'gw': route.get('gw')} for route in value]
        elif option.endswith('_affinity'):
            value = _selector_to_crd(value)
        spec[crd] = value
    if 'ipVersion' not in spec and isinstance(spec.get('subnet'), str):
        try:
            spec['ipVersion'] = ipm.parse_cidr(spec['subnet'], canonical=False).version
        except ipm.IPMathError:
            pass  # reported by validate_spec
    return spec


def normalize_spec(spec):
    """``ips``/``excludeIPs`` merged and canonical; unparsable lists are left as given."""
    result = dict(spec)
    for key in ('ips', 'excludeIPs'):
        if result.get(key):
            try:
                result[key] = ipm.normalize_entries(result[key], result.get('ipVersion'))
            except ipm.IPMathError:
                pass
    return result


def _selector_to_crd(selector):
    crd = {}
    if selector.get('match_labels') is not None:
        crd['matchLabels'] = selector['match_labels']
    if selector.get('match_expressions') is not None:
        crd['matchExpressions'] = [dict((k, v) for k, v in expr.items() if v is not None)
                                   for expr in selector['match_expressions']]
    return crd


# ---------------------------------------------------------------- single-object rules
def validate_name(name):
    errors = []
    if not names.is_dns1123_subdomain(name):
        errors.append(problem('name', name, 'must be a DNS-1123 subdomain (lower-case alphanumerics, "-" and ".", '
                                            'at most 253 characters, starting and ending alphanumeric)'))
    return errors


def disabled_family_problem(kind, version):
    return problem(option_names(kind)['ipVersion'], version, 'names an IP family that is disabled in Spiderpool '
                                                             '(ipam.enableIPv%d=false) (webhook rule 1: ipVersion)' % version)


def validate_spec(spec, kind, enabled_families=(4, 6), supports_vlan=False):
    """Every single-object webhook rule for a pool or subnet spec; returns the messages."""
    opt = option_names(kind)
    errors = []
    version = spec.get('ipVersion')
    subnet = spec.get('subnet')
    # Rule 1: ipVersion is 4 or 6 and its family is enabled.
    if version is None and subnet is not None:
        # ipVersion is derived from subnet; an unparsable subnet is the real fault.
        errors.append(problem(opt['subnet'], subnet, 'must be a valid canonical IPv4 or IPv6 CIDR '
                                                     '(webhook rule 2: subnet)'))
        return errors
    if version not in (4, 6):
        errors.append(problem(opt['ipVersion'], version, 'must be 4 or 6 (webhook rule 1: ipVersion)'))
        return errors
    if version not in enabled_families:
        errors.append(disabled_family_problem(kind, version))
    # Rule 2: subnet is a valid canonical CIDR of that version.
    network = None
    if subnet is None:
        errors.append(problem(opt['subnet'], subnet, 'is required (webhook rule 2: subnet)'))
    else:
        try:
            network = ipm.parse_cidr(subnet, version=version, canonical=True)
        except ipm.IPMathError as exc:
            errors.append(problem(opt['subnet'], subnet, 'must be a valid canonical IPv%d CIDR: %s '
                                                         '(webhook rule 2: subnet)' % (version, exc)))
    if 'vlan' in spec and not supports_vlan:
        errors.append(problem(opt['vlan'], spec['vlan'], 'is not served by this Spiderpool version: %s.spec.vlan exists '
                                                         'only in v0.9.x CRDs (removed in v1.0)' % kind))
    elif 'vlan' in spec and not 0 <= spec['vlan'] <= 4094:
        errors.append(problem(opt['vlan'], spec['vlan'], 'must be between 0 and 4094'))
    # Rule 5: every ips / excludeIPs entry is a valid entry inside subnet.
    parsed = {}
    for key in ('ips', 'excludeIPs'):
        entries = spec.get(key) or []
        ranges = []
        for index, entry in enumerate(entries):
            field = '%s[%d]' % (opt[key], index)
            try:
                first, last, family = ipm.parse_entry(entry)
            except ipm.IPMathError as exc:
                errors.append(problem(field, entry, 'must be an IP address or a "start-end" range: %s '
                                                    '(webhook rule 5: ips/excludeIPs)' % exc))
                continue
            if family != version:
                errors.append(problem(field, entry, 'must be an IPv%d address or range like ipVersion '
                                                    '(webhook rule 5: ips/excludeIPs)' % version))
                continue
            if network is not None and ipm.entries_outside_cidr([entry], network):
                errors.append(problem(field, entry, 'lies outside subnet %s (webhook rule 5: every ips/excludeIPs '
                                                    'entry must be inside subnet)' % subnet))
                continue
            ranges.append((first, last))
        parsed[key] = ipm.merge_ranges(ranges)
    # Rule 7: gateway inside subnet, and not inside ips unless excluded.
    gateway = spec.get('gateway')
    if gateway is not None:
        try:
            address = ipm.parse_address(gateway, version)
        except ipm.IPMathError as exc:
            errors.append(problem(opt['gateway'], gateway, 'must be an IPv%d address: %s (webhook rule 7: gateway)'
                                  % (version, exc)))
        else:
            if network is not None and address not in network:
                errors.append(problem(opt['gateway'], gateway, 'lies outside subnet %s (webhook rule 7: gateway must '
                                                               'be inside subnet)' % subnet))
            elif ipm.address_in_ranges(address, parsed['ips']) and \
                    not ipm.address_in_ranges(address, parsed['excludeIPs']):
                errors.append(problem(opt['gateway'], gateway, 'lies inside ips but is not listed in exclude_ips '
                                                               '(webhook rule 7: gateway must not be allocatable)'))
    # Rule 8: routes.
    errors.extend(_validate_routes(spec.get('routes') or [], opt['routes'], version, network, subnet))
    if kind == POOL_KIND:
        # Rule 9: podAffinity set but empty or invalid; the other selectors must be valid too.
        for key in ('podAffinity', 'namespaceAffinity', 'nodeAffinity'):
            if key in spec:
                errors.extend(_validate_selector(spec[key], opt[key], required=(key == 'podAffinity')))
        for index, value in enumerate(spec.get('namespaceName') or []):
            if not names.is_dns1123_label(value):
                errors.append(problem('%s[%d]' % (opt['namespaceName'], index), value,
                                      'must be a namespace name (a DNS-1123 label: lower-case alphanumerics and "-", at most 63 '
                                      'characters)'))
        for index, value in enumerate(spec.get('nodeName') or []):
            if not names.is_dns1123_subdomain(value):
                errors.append(problem('%s[%d]' % (opt['nodeName'], index), value,
                                      'must be a node name (a DNS-1123 subdomain: lower-case alphanumerics, "-" and ".", at most '
                                      '253 characters)'))
        for index, value in enumerate(spec.get('multusName') or []):
            errors.extend(_validate_multus_name(value, '%s[%d]' % (opt['multusName'], index)))
    return errors


def _validate_routes(routes, field, version, network, subnet):
    errors = []
    seen = set()
    default_dst = '0.0.0.0/0' if version == 4 else '::/0'
    for index, route in enumerate(routes):
        dst, gw = route.get('dst'), route.get('gw')
        dst_field, gw_field = '%s[%d].dst' % (field, index), '%s[%d].gw' % (field, index)
        try:
            dst_net = ipm.parse_cidr(dst, version=version, canonical=False)
        except ipm.IPMathError as exc:
            errors.append(problem(dst_field, dst, 'must be a valid IPv%d CIDR: %s (webhook rule 8: routes)' % (version, exc)))
            dst_net = None
        if dst_net is not None and dst_net.prefixlen == 0:
            errors.append(problem(dst_field, dst, 'is the default route %s; set gateway instead '
                                                  '(webhook rule 8: routes)' % default_dst))
        elif dst_net is not None:
            if str(dst_net) in seen:
                errors.append(problem(dst_field, dst, 'is a duplicate route destination (webhook rule 8: routes)'))
            seen.add(str(dst_net))
        try:
            gw_address = ipm.parse_address(gw, version)
        except ipm.IPMathError as exc:
            errors.append(problem(gw_field, gw, 'must be an IPv%d address: %s (webhook rule 8: routes)' % (version, exc)))
        else:
            if network is not None and gw_address not in network:
                errors.append(problem(gw_field, gw, 'lies outside subnet %s (webhook rule 8: route gw must be inside '
                                                    'subnet)' % subnet))
    return errors


def _validate_selector(selector, field, required):
    errors = []
    if required and not selector.get('matchLabels') and not selector.get('matchExpressions'):
        errors.append(problem(field, selector, 'is set but empty; give match_labels or match_expressions or leave it '
                                               'unset (webhook rule 9: podAffinity)'))
        return errors
    suffix = ' (webhook rule 9: podAffinity)' if required else ' (label selector rules)'
    for key, value in (selector.get('matchLabels') or {}).items():
        errors.extend(_validate_label_key(key, '%s.match_labels' % field, suffix))
        if not names.is_label_value(value):
            errors.append(problem('%s.match_labels.%s' % (field, key), value, 'must be a valid label value' + suffix))
    for index, expr in enumerate(selector.get('matchExpressions') or []):
        expr_field = '%s.match_expressions[%d]' % (field, index)
        errors.extend(_validate_label_key(expr.get('key'), expr_field + '.key', suffix))
        operator = expr.get('operator')
        values = expr.get('values') or []
        for vindex, value in enumerate(values):
            if not names.is_label_value(value):
                errors.append(problem('%s.values[%d]' % (expr_field, vindex), value,
                                      'must be a valid label value (at most 63 letters, digits, "-", "_" and ".", starting and '
                                      'ending alphanumeric)' + suffix))
        if operator not in SELECTOR_OPERATORS:
            errors.append(problem(expr_field + '.operator', operator, 'must be one of In, NotIn, Exists, DoesNotExist' + suffix))
        elif operator in ('In', 'NotIn') and not values:
            errors.append(problem(expr_field + '.values', values, 'must be non-empty for operator %s%s' % (operator, suffix)))
        elif operator in ('Exists', 'DoesNotExist') and values:
            errors.append(problem(expr_field + '.values', values, 'must be empty for operator %s%s' % (operator, suffix)))
    return errors


def _validate_label_key(key, field, suffix):
    if not isinstance(key, str) or not key:
        return [problem(field, key, 'must be a valid label key' + suffix)]
    if not names.is_qualified_name(key):
        return [problem(field, key, 'must be a valid label key ([prefix/]name, name at most 63 characters)' + suffix)]
    return []


def _validate_multus_name(value, field):
    if not isinstance(value, str):
        return [problem(field, value, 'must be a string "namespace/name" or "name"')]
    parts = value.split('/')
    if len(parts) > 2 or not names.is_dns1123_subdomain(parts[-1]) or (len(parts) == 2 and not names.is_dns1123_label(parts[0])):
        return [problem(field, value, 'must be "namespace/name" or a bare name (the Spiderpool namespace): the namespace a '
                                      'DNS-1123 label, the name a DNS-1123 subdomain')]
    return []


def validate_metadata(params):
    """``labels`` (and, for callers that have them, ``annotations``) by Kubernetes' rules; returns (errors, labels)."""
    found, labels = names.check_metadata_map('labels', params.get('labels'), labels=True)
    return [problem(field, value, rule) for field, value, rule in found], labels


def validate_namespace(field, value):
    """A namespace the module reads (``spiderpool_namespace``): a DNS-1123 label."""
    if not names.is_dns1123_label(value):
        return [problem(field, value, 'must be a namespace name (a DNS-1123 label)')]
    return []


# ---------------------------------------------------------------- cross-object rules
def _spec(obj):
    return (obj or {}).get('spec') or {}


def _name(obj):
    return ((obj or {}).get('metadata') or {}).get('name')


def _effective(spec):
    try:
        return ipm.effective_ranges(spec.get('ips') or [], spec.get('excludeIPs') or [], spec.get('ipVersion'))
    except ipm.IPMathError:
        return []


def _ips(spec):
    try:
        return ipm.parse_entries(spec.get('ips') or [], spec.get('ipVersion'))
    except ipm.IPMathError:
        return []


def _same_family(spec, other):
    try:
        return ipm.parse_cidr(other.get('subnet'), canonical=False).version == \
            ipm.parse_cidr(spec.get('subnet'), canonical=False).version
    except (ipm.IPMathError, TypeError):
        return False


def validate_pool_against_cluster(name, spec, pools, subnets, subnet_feature=True):
    """Webhook rules 4, 6 and 10 against the pools and subnets the cluster holds."""
    errors = []
    subnet = spec.get('subnet')
    mine = _effective(spec)
    for pool in pools:
        other_name, other = _name(pool), _spec(pool)
        if other_name == name or not _same_family(spec, other):
            continue
        if other.get('subnet') != subnet:
            if ipm.cidrs_overlap(subnet, other['subnet']):
                errors.append(problem('subnet', subnet, 'overlaps subnet %s of SpiderIPPool %s; pools of one IP version '
                                                        'must use the identical subnet or non-overlapping ones '
                                                        '(webhook rule 4)' % (other['subnet'], other_name)))
            continue
        shared = ipm.intersect_ranges(mine, _effective(other))
        if shared:
            errors.append(problem('ips', spec.get('ips'), 'overlap the IPs of SpiderIPPool %s (same subnet %s) at %s '
                                                          '(webhook rule 6: effective IPs must not overlap another pool)'
                                  % (other_name, subnet, ', '.join(ipm.format_ranges(shared, spec['ipVersion'])))))
    if subnet_feature:
        for owner in subnets:
            owner_spec = _spec(owner)
            if owner_spec.get('subnet') != subnet:
                continue
            outside = ipm.subtract_ranges(_ips(spec), _ips(owner_spec))
            if outside:
                errors.append(problem('ips', spec.get('ips'), 'are not a subset of the IPs of SpiderSubnet %s: %s '
                                                              '(webhook rule 10: a pool\'s IPs must lie in its subnet\'s ips)'
                                      % (_name(owner), ', '.join(ipm.format_ranges(outside, spec['ipVersion'])))))
    return errors


def _pool_owner(pool):
    return (((pool.get('metadata') or {}).get('labels')) or {}).get(OWNER_SUBNET_LABEL)


def validate_subnet_against_cluster(name, spec, subnets, pools, creating=True):
    """The subnet webhook's cross-object rules (overlap with subnets and orphan pools).

    Pools of the same CIDR are checked here only on create; on update they are the
    subnet's controlled pools and ``validate_update`` checks them.
    """
    errors = []
    subnet = spec.get('subnet')
    for other_subnet in subnets:
        other_name, other = _name(other_subnet), _spec(other_subnet)
        if other_name == name or not _same_family(spec, other):
            continue
        if ipm.cidrs_overlap(subnet, other.get('subnet')):
            errors.append(problem('subnet', subnet, 'overlaps subnet %s of SpiderSubnet %s (subnet rule: subnets of one '
                                                    'IP version must not overlap)' % (other.get('subnet'), other_name)))
    for pool in pools:
        pool_spec = _spec(pool)
        # The mutating webhook makes a subnet with the pool's exact CIDR its owner.
        owner = _pool_owner(pool) or next((_name(s) for s in subnets if _name(s) != name
                                           and _spec(s).get('subnet') == pool_spec.get('subnet')), None)
        if (owner and owner != name) or not _same_family(spec, pool_spec):
            continue
        if pool_spec.get('subnet') != subnet:
            if not owner and ipm.cidrs_overlap(subnet, pool_spec.get('subnet')):
                errors.append(problem('subnet', subnet, 'overlaps subnet %s of orphan SpiderIPPool %s (subnet rule: no '
                                                        'overlap with a pool of a different subnet)'
                                      % (pool_spec.get('subnet'), _name(pool))))
            continue
        outside = ipm.subtract_ranges(_ips(pool_spec), _ips(spec)) if creating else []
        if outside:
            errors.append(problem('ips', spec.get('ips'), 'do not cover the IPs of SpiderIPPool %s with the same subnet: '
                                                          'missing %s (subnet rule: a pool\'s IPs must lie in the '
                                                          'subnet\'s ips)'
                                  % (_name(pool), ', '.join(ipm.format_ranges(outside, spec['ipVersion'])))))
    return errors


# ---------------------------------------------------------------- update rules
def validate_update(kind, existing, spec, controlled_pools=()):
    """Rules the webhook applies to an update of an existing object."""
    opt = option_names(kind)
    errors = []
    old = _spec(existing)
    if ((existing.get('metadata') or {}).get('deletionTimestamp')):
        errors.append(problem('name', _name(existing), 'is terminating and cannot be updated (webhook update rule)'))
    for key in ('subnet', 'ipVersion'):
        if key in spec and old.get(key) is not None and spec[key] != old[key]:
            errors.append(problem(opt[key], spec[key], 'cannot change from %s: %s is immutable (webhook update rule)'
                                  % (json.dumps(old[key]), key)))
    if errors or 'ips' not in spec and 'excludeIPs' not in spec:
        return errors
    version = old.get('ipVersion') or spec.get('ipVersion')
    try:
        new_effective = ipm.effective_ranges(spec.get('ips', old.get('ips')) or [],
                                             spec.get('excludeIPs', old.get('excludeIPs')) or [], version)
    except ipm.IPMathError:
        return errors  # reported by validate_spec
    if kind == POOL_KIND:
        used = [ip for ip in model.allocation_records(existing) if not _in(ip, new_effective)]
        if used:
            errors.append(problem('ips', spec.get('ips'), 'would remove allocated IPs %s (webhook update rule: an '
                                                          'allocated IP cannot be removed)' % ', '.join(sorted(used))))
    else:
        used = []
        for pool in controlled_pools:
            used.extend(ipm.format_ranges(ipm.subtract_ranges(_ips(_spec(pool)), new_effective), version))
        if used:
            errors.append(problem('ips', spec.get('ips'), 'would remove IPs used by its controlled pools: %s (subnet '
                                                          'update rule)' % ', '.join(used)))
    return errors


def _in(ip, ranges):
    try:
        return ipm.address_in_ranges(ip, ranges)
    except ipm.IPMathError:
        return False


def controlled_pools(subnet_name, subnet_cidr, pools):
    """Pools the subnet controls: labelled with it, or orphans sharing its CIDR."""
    result = []
    for pool in pools:
        owner = _pool_owner(pool)
        if owner == subnet_name or (not owner and _spec(pool).get('subnet') == subnet_cidr):
            result.append(pool)
    return result


def delete_refusal(kind, obj, force):
    """Why deleting ``obj`` is refused (None when allowed)."""
    count = model.allocated_ip_count(obj)
    if count and not force:
        return problem('state', 'absent', 'refused: %s %s still has %d allocated IP(s); Spiderpool\'s finalizer would '
                                          'hold it until they are released. Release them or set force=true'
                       % (kind, _name(obj), count))
    return None


def manifest(kind, name, spec, labels=None, annotations=None):
    metadata = {'name': name}
    if labels:
        metadata['labels'] = dict(labels)
    if annotations:
        metadata['annotations'] = dict(annotations)
    return {'apiVersion': API_VERSION, 'kind': kind, 'metadata': metadata, 'spec': spec}


def summarize(obj, reserved_ips=()):
    """The _info modules' digest of a pool or subnet: counts computed, not trusted.

    A pool's counts are the collection's one pool usage (``_spiderpool_model.pool_usage``,
    which takes the SpiderReservedIPs into account); a subnet's free count is its addresses
    minus its status' allocated ones.
    """
    spec = _spec(obj)
    status = obj.get('status') or {}
    version = spec.get('ipVersion')
    if obj.get('kind') == SUBNET_KIND:
        try:
            total = ipm.count_ips(spec.get('ips') or [], spec.get('excludeIPs') or [], version)
            free = ipm.free_ip_count(spec.get('ips') or [], spec.get('excludeIPs') or [],
                                     list(model.allocation_records(obj)), version)
        except ipm.IPMathError:
            total = free = None
        allocated = status.get('allocatedIPCount', len(model.allocation_records(obj)))
        reserved = None
    else:
        usage = model.pool_usage(obj, reserved_ips)
        total, free, allocated, reserved = (usage['total_ip_count'], usage['free_ip_count'], usage['allocated_ip_count'],
                                            usage['reserved_ip_count'])
    summary = {
        'name': _name(obj),
        'subnet': spec.get('subnet'),
        'ip_version': version,
        'total_ip_count': total,
        'allocated_ip_count': allocated,
        'free_ip_count': free,
        'default': spec.get('default'),
        'disable': spec.get('disable'),
        'owner_subnet': _pool_owner(obj),
    }
    if obj.get('kind') != SUBNET_KIND:
        summary['reserved_ip_count'] = reserved
    return summary


def parse_spiderpool_conf(configmap):
    """Feature switches from the ``spiderpool-conf`` ConfigMap's ``conf.yml`` (flat ``key: value`` lines).

    Returns ``{'families': (4, 6)-like tuple, 'subnet_feature': bool}``; missing keys keep Spiderpool's
    defaults (both families and SpiderSubnet on).
    """
    text = (((configmap or {}).get('data') or {}).get('conf.yml')) or ''
    flags = {}
    for line in text.splitlines():
        match = re.match(r'^\s*(enableIPv4|enableIPv6|enableSpiderSubnet)\s*:\s*"?(true|false)"?\s*$', line, re.IGNORECASE)
        if match:
            flags[match.group(1)] = match.group(2).lower() == 'true'
    families = tuple(v for v, key in ((4, 'enableIPv4'), (6, 'enableIPv6')) if flags.get(key, True))
    return {'families': families, 'subnet_feature': flags.get('enableSpiderSubnet', True)}
