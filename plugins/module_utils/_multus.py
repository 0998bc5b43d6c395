# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Multus CRs: parameters -> SpiderMultusConfig or NetworkAttachmentDefinition, and their rules.

Pure code (no I/O). A SpiderMultusConfig (SMC) is validated as Spiderpool's webhook does
(the ovs block, VLAN and trunk ranges, annotations); a plain NetworkAttachmentDefinition
(NAD) carries the same ovs-cni + Spiderpool IPAM + coordinator config that Spiderpool's
controller would generate from the SMC, so clusters without SMCs get the same result.
"""

from __future__ import absolute_import, division, print_function

import ipaddress
import json
import re

from ansible_collections.vmnet.kubevirt.plugins.module_utils import _k8s_names as names
from ansible_collections.vmnet.kubevirt.plugins.module_utils._iface_names import IFNAME_RULE, valid_ifname
from ansible_collections.vmnet.kubevirt.plugins.module_utils import _spiderpool_model as model
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import problem
from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_model import (
    API_VERSION, CR_NAME_ANNOTATION, NAD_API_VERSION, NAD_KIND, SMC_KIND, multus_names,
)

__metaclass__ = type  # pylint: disable=invalid-name

CNI_VERSION_ANNOTATION = 'multus.spidernet.io/cni-version'
CNI_CONFIG_NAME_ANNOTATION = 'cni.spidernet.io/cniconfig-name'
RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName'
FORBIDDEN_OVS_ANNOTATIONS = ('cni.spidernet.io/rdma-resource-inject', 'cni.spidernet.io/network-resource-inject')
CNI_VERSIONS = ('0.3.0', '0.3.1', '0.4.0', '1.0.0')
DEFAULT_CNI_VERSION = '0.3.1'

# coordinator option -> SMC field; the last column: only in v1.x CRDs.
COORDINATOR_FIELDS = (
    ('mode', 'mode', False), ('pod_cidr_type', 'podCIDRType', False),
    ('pod_default_route_nic', 'podDefaultRouteNIC', False), ('tune_pod_routes', 'tunePodRoutes', False),
    ('hijack_cidr', 'hijackCIDR', False), ('pod_mac_prefix', 'podMACPrefix', False),
    ('pod_rp_filter', 'podRPFilter', False), ('host_rule_table', 'hostRuleTable', False),
    ('tx_queue_len', 'txQueueLen', False), ('veth_link_address', 'vethLinkAddress', False),
    ('veth_mtu', 'vethMTU', True),
)
COORDINATOR_MODES = ('auto', 'underlay', 'overlay', 'disabled')
POD_CIDR_TYPES = ('auto', 'cluster', 'calico', 'cilium', 'none')
# Spiderpool's podMACPrefix: two bytes "0x:xx"; the first byte's lowest bit is 0 (unicast), its first digit 0.
POD_MAC_PREFIX = re.compile(r'^0[02468aceACE]:[0-9a-fA-F]{2}\Z')
LINK_LOCAL_V4 = ipaddress.ip_network('169.254.0.0/16')
# Linux routing tables the kernel reserves: 0 (unspec), 253 (default), 254 (main), 255 (local).
RESERVED_ROUTE_TABLES = (0, 253, 254, 255)


def nad_name(params):
    """The NAD's name: the cr-name override, else the CR's name."""
    return model.nad_name(params['name'], params.get('nad_name'))


def _trunk(trunks):
    result = []
    for item in trunks or []:
        entry = {}
        for option, field in (('min_id', 'minID'), ('max_id', 'maxID'), ('id', 'id')):
            if item.get(option) is not None:
                entry[field] = item[option]
        result.append(entry)
    return result


def _pools(params):
    pools = params.get('default_ip_pools') or {}
    return {'ipv4': list(pools.get('ipv4') or []), 'ipv6': list(pools.get('ipv6') or [])}


def annotations(params):
    """SMC annotations: the user's plus cr-name / cni-version from their own options."""
    result = clean_annotations(params)
    if params.get('nad_name'):
        result[CR_NAME_ANNOTATION] = params['nad_name']
    if params.get('cni_version'):
        result[CNI_VERSION_ANNOTATION] = params['cni_version']
    return result


def coordinator_spec(params):
    coordinator = params.get('coordinator') or {}
    spec = {}
    for option, field, _v1_only in COORDINATOR_FIELDS:
        if coordinator.get(option) is not None:
            spec[field] = coordinator[option]
    return spec


def coordinator_enabled(params):
    if params.get('cni_type') == 'custom':
        return False  # the webhook forces it off for custom
    enabled = (params.get('coordinator') or {}).get('enabled')
    return True if enabled is None else bool(enabled)


def build_smc_spec(params):
    """The SpiderMultusConfig spec for the user's options."""
    cni_type = params.get('cni_type') or 'ovs'
    spec = {'cniType': cni_type}
    if cni_type == 'ovs':
        ovs = params.get('ovs') or {}
        block = {'bridge': ovs.get('bridge')}
        if ovs.get('vlan') is not None:
            block['vlan'] = ovs['vlan']
        if ovs.get('trunk'):
            block['trunk'] = _trunk(ovs['trunk'])
        if ovs.get('device_id'):
            block['deviceID'] = ovs['device_id']
        block['ippools'] = _pools(params)
        spec['ovs'] = block
    elif cni_type in ('macvlan', 'ipvlan'):
        options = params.get(cni_type) or {}
        block = {'master': list(options.get('master') or [])}
        if options.get('vlan_id') is not None:
            block['vlanID'] = options['vlan_id']
        block['ippools'] = _pools(params)
        spec[cni_type] = block
    else:
        spec['customCNI'] = params.get('custom_cni')
    if cni_type != 'custom':
        spec['enableCoordinator'] = coordinator_enabled(params)
        if spec['enableCoordinator']:
            coordinator = coordinator_spec(params)
            if coordinator:
                spec['coordinator'] = coordinator
    if params.get('disable_ipam') is not None:
        spec['disableIPAM'] = params['disable_ipam']
    return spec


def smc_manifest(params):
    meta = {'name': params['name'], 'namespace': params['namespace']}
    notes = annotations(params)
    if notes:
        meta['annotations'] = notes
    return {'apiVersion': API_VERSION, 'kind': SMC_KIND, 'metadata': meta, 'spec': build_smc_spec(params)}


def nad_config(params):
    """The CNI config Spiderpool's controller generates for an ovs SMC, as a dict.

    Key order follows the generated NAD so the JSON text matches it byte for byte.
    """
    ovs = params.get('ovs') or {}
    plugin = {'vlan': ovs.get('vlan') or 0, 'type': 'ovs', 'bridge': ovs.get('bridge')}
    if ovs.get('trunk'):
        plugin['trunk'] = _trunk(ovs['trunk'])
    if ovs.get('device_id'):
        plugin['deviceID'] = ovs['device_id']
    if not params.get('disable_ipam'):
        ipam = {'type': 'spiderpool'}
        pools = _pools(params)
        if pools['ipv4']:
            ipam['default_ipv4_ippool'] = pools['ipv4']
        if pools['ipv6']:
            ipam['default_ipv6_ippool'] = pools['ipv6']
        plugin['ipam'] = ipam
    plugins = [plugin]
    if coordinator_enabled(params):
        coordinator = coordinator_spec(params)
        conf = {'tunePodRoutes': coordinator.pop('tunePodRoutes', True), 'mode': coordinator.pop('mode', 'auto'),
                'type': 'coordinator'}
        conf.update(coordinator)
        plugins.append(conf)
    name = (params.get('annotations') or {}).get(CNI_CONFIG_NAME_ANNOTATION) or nad_name(params)
    return {'cniVersion': params.get('cni_version') or DEFAULT_CNI_VERSION, 'name': name, 'plugins': plugins}


def nad_manifest(params):
    meta = {'name': nad_name(params), 'namespace': params['namespace']}
    notes = clean_annotations(params)
    ovs = params.get('ovs') or {}
    if ovs.get('device_id'):
        notes[RESOURCE_NAME_ANNOTATION] = 'ovs-cni.network.kubevirt.io/%s' % ovs.get('bridge')
    if notes:
        meta['annotations'] = notes
    config = json.dumps(nad_config(params), separators=(',', ':'))
    return {'apiVersion': NAD_API_VERSION, 'kind': NAD_KIND, 'metadata': meta, 'spec': {'config': config}}


# ---------------------------------------------------------------- rules
def _vlan_problem(field, value, rule):
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 4094):
        return [problem(field, value, 'must be between 0 and 4094 (%s)' % rule)]
    return []


def validate(params, kind, served_fields=None):
    """Every client-side rule for a Multus CR; returns the messages.

    ``kind`` is the resolved kind (SpiderMultusConfig or NetworkAttachmentDefinition);
    ``served_fields`` is ``{'coordinator': set(...), 'cni_types': set(...)}`` read from the
    served SMC CRD (None: not known, version checks skipped).
    """
    errors = []
    name, namespace = params.get('name'), params.get('namespace')
    if not names.is_dns1123_subdomain(name):
        errors.append(problem('name', name, 'must be a DNS-1123 subdomain (lower-case alphanumerics, "-" and ".")'))
    if not names.is_dns1123_label(namespace):
        errors.append(problem('namespace', namespace, 'must be a DNS-1123 label'))
    cni_type = params.get('cni_type') or 'ovs'
    if served_fields and served_fields.get('cni_types') and cni_type not in served_fields['cni_types']:
        errors.append(problem('cni_type', cni_type, 'is not served by this Spiderpool version (served: %s)'
                              % ', '.join(sorted(served_fields['cni_types']))))
    if kind == NAD_KIND and cni_type != 'ovs':
        errors.append(problem('cni_type', cni_type, 'cannot be written as a plain NetworkAttachmentDefinition by this '
                                                    'module; only ovs can (use kind SpiderMultusConfig)'))
    # Blocks for another CNI than cni_type (webhook: no other CNI block may be present).
    for other in ('ovs', 'macvlan', 'ipvlan'):
        if other != cni_type and params.get(other):
            errors.append(problem(other, params[other], 'must not be set with cni_type %s (webhook rule: no other CNI '
                                                        'block may be present)' % cni_type))
    if cni_type != 'custom' and params.get('custom_cni'):
        errors.append(problem('custom_cni', params['custom_cni'], 'is only allowed with cni_type custom'))
    if cni_type == 'ovs':
        errors.extend(_validate_ovs(params.get('ovs')))
    elif cni_type in ('macvlan', 'ipvlan'):
        block = params.get(cni_type) or {}
        masters = block.get('master') or []
        if not masters:
            errors.append(problem('%s.master' % cni_type, masters, 'is required for cni_type %s (webhook rule)' % cni_type))
        for index, master in enumerate(masters):
            if not valid_ifname(master):
                errors.append(problem('%s.master[%d]' % (cni_type, index), master, IFNAME_RULE))
        errors.extend(_vlan_problem('%s.vlan_id' % cni_type, block.get('vlan_id'), 'webhook rule: vlanID'))
    else:
        custom = params.get('custom_cni')
        if custom:
            try:
                config = json.loads(custom)
            except (TypeError, ValueError) as exc:
                errors.append(problem('custom_cni', custom, 'must be valid JSON (webhook rule: customCNI): %s' % exc))
            else:
                if not isinstance(config, dict):
                    errors.append(problem('custom_cni', custom, 'must be a JSON object (a CNI network configuration)'))
    errors.extend(_validate_metadata(params))
    errors.extend(_validate_annotations(params, cni_type))
    errors.extend(_validate_pools_names(params.get('default_ip_pools') or {}))
    errors.extend(_validate_coordinator(params, served_fields))
    return errors


def _validate_ovs(ovs):
    errors = []
    if not ovs:
        return [problem('ovs', ovs, 'is required for cni_type ovs (webhook rule: the ovs block is required)')]
    bridge = ovs.get('bridge')
    if not bridge:
        errors.append(problem('ovs.bridge', bridge, 'is required (webhook rule: ovs.bridge)'))
    elif not valid_ifname(bridge):
        errors.append(problem('ovs.bridge', bridge, IFNAME_RULE + ', as OVS bridges are'))
    errors.extend(_vlan_problem('ovs.vlan', ovs.get('vlan'), 'webhook rule: ovs.vlan'))
    for index, item in enumerate(ovs.get('trunk') or []):
        item = dict((key, value) for key, value in item.items() if value is not None)
        field = 'ovs.trunk[%d]' % index
        for option in ('min_id', 'max_id', 'id'):
            errors.extend(_vlan_problem('%s.%s' % (field, option), item.get(option), 'webhook rule: trunk IDs'))
        low, high = item.get('min_id'), item.get('max_id')
        if item.get('id') is None and (low is None or high is None):
            errors.append(problem(field, item, 'must set id, or both min_id and max_id (a trunk entry names VLANs)'))
        if isinstance(low, int) and isinstance(high, int) and high < low:
            errors.append(problem(field + '.max_id', high, 'must be greater than or equal to min_id %d (webhook rule: '
                                                           'trunk maxID >= minID)' % low))
    vlan = ovs.get('vlan')
    if ovs.get('trunk') and isinstance(vlan, int) and not isinstance(vlan, bool) and vlan != 0:
        # ovs-cni (ParseOvsPortConfig): a trunk list makes a trunk port and the VLAN tag is dropped without a word.
        errors.append(problem('ovs.vlan', vlan, 'cannot be combined with ovs.trunk (ovs-cni makes a trunk port when trunk is set '
                                                'and ignores the VLAN): use vlan for an access port or trunk for a trunk port'))
    device = ovs.get('device_id')
    if device and not (isinstance(device, str) and re.match(r'^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]\Z', device)):
        errors.append(problem('ovs.device_id', device, 'must be a PCI address like 0000:af:00.1 (the VF\'s deviceID)'))
    return errors


def _validate_annotations(params, cni_type):
    errors = []
    notes = params.get('annotations') or {}
    cr_name = params.get('nad_name') or notes.get(CR_NAME_ANNOTATION)
    if cr_name is not None and not names.is_dns1123_subdomain(cr_name):
        errors.append(problem('nad_name', cr_name, 'must be a DNS-1123 subdomain (webhook rule: annotation %s)'
                              % CR_NAME_ANNOTATION))
    version = params.get('cni_version') or notes.get(CNI_VERSION_ANNOTATION)
    if version is not None and version not in CNI_VERSIONS:
        errors.append(problem('cni_version', version, 'must be one of %s (webhook rule: annotation %s)'
                              % (', '.join(CNI_VERSIONS), CNI_VERSION_ANNOTATION)))
    if cni_type == 'ovs':
        for key in FORBIDDEN_OVS_ANNOTATIONS:
            if key in notes:
                errors.append(problem('annotations.%s' % key, notes[key], 'is forbidden for cni_type ovs (webhook rule)'))
    return errors


def _validate_pools_names(pools):
    errors = []
    for family in ('ipv4', 'ipv6'):
        for index, pool in enumerate(pools.get(family) or []):
            if not names.is_dns1123_subdomain(pool):
                field = 'default_ip_pools.%s[%d]' % (family, index)
                errors.append(problem(field, pool, 'must be a SpiderIPPool name (DNS-1123 subdomain)'))
    return errors


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_coordinator(params, served_fields):
    """The coordinator block: Spiderpool's webhook rules for it, and the types and ranges its CNI plugin reads."""
    errors = []
    coordinator = params.get('coordinator') or {}
    if not isinstance(coordinator, dict):
        return [problem('coordinator', coordinator, 'must be a mapping of coordinator options')]

    def bad(option, rule):
        errors.append(problem('coordinator.%s' % option, coordinator[option], rule))

    given = dict((key, value) for key, value in coordinator.items() if value is not None)
    for option in ('enabled', 'tune_pod_routes'):
        if option in given and not isinstance(given[option], bool):
            bad(option, 'must be a boolean')
    if 'mode' in given and given['mode'] not in COORDINATOR_MODES:
        bad('mode', 'must be one of %s' % ', '.join(COORDINATOR_MODES))
    if 'pod_cidr_type' in given and given['pod_cidr_type'] not in POD_CIDR_TYPES:
        bad('pod_cidr_type', 'must be one of %s (webhook rule: podCIDRType)' % ', '.join(POD_CIDR_TYPES))
    if 'hijack_cidr' in given:
        cidrs = given['hijack_cidr']
        if not isinstance(cidrs, list):
            bad('hijack_cidr', 'must be a list of CIDRs')
        else:
            for index, cidr in enumerate(cidrs):
                reason = _cidr_problem(cidr)
                if reason:
                    errors.append(problem('coordinator.hijack_cidr[%d]' % index, cidr, reason))
    if 'pod_mac_prefix' in given:
        prefix = given['pod_mac_prefix']
        if not isinstance(prefix, str) or (prefix and not POD_MAC_PREFIX.match(prefix)):
            bad('pod_mac_prefix', 'must be a two-byte unicast MAC prefix like 0a:1b: two hex octets, the first starting with 0 and '
                                  'its lowest bit 0 (webhook rule: podMACPrefix), or empty')
    if 'veth_link_address' in given:
        address = given['veth_link_address']
        if not isinstance(address, str) or (address and not _link_local_v4(address)):
            bad('veth_link_address', 'must be an IPv4 link-local address in 169.254.0.0/16 like 169.254.100.1 (Spiderpool: '
                                     'vethLinkAddress), or empty')
    if 'pod_default_route_nic' in given:
        nic = given['pod_default_route_nic']
        if not isinstance(nic, str) or (nic and not valid_ifname(nic)):
            bad('pod_default_route_nic', IFNAME_RULE + ' (the pod NIC that takes the default route), or empty')
    if 'pod_rp_filter' in given:
        value = given['pod_rp_filter']
        if not _is_int(value) or value > 2:
            bad('pod_rp_filter', 'must be 0, 1 or 2, or negative to leave rp_filter as it is (webhook rule: podRPFilter)')
    if 'host_rule_table' in given:
        value = given['host_rule_table']
        if not _is_int(value) or not 0 < value <= 4294967295 or value in RESERVED_ROUTE_TABLES:
            bad('host_rule_table', 'must be a routing table number from 1 to 4294967295, not the kernel\'s 253 (default), '
                                   '254 (main) or 255 (local)')
    if 'tx_queue_len' in given:
        value = given['tx_queue_len']
        if not _is_int(value) or not 0 <= value <= 2147483647:
            bad('tx_queue_len', 'must be an integer from 0 (leave it) to 2147483647')
    if 'veth_mtu' in given:
        value = given['veth_mtu']
        if not _is_int(value) or not 68 <= value <= 65535:
            bad('veth_mtu', 'must be an MTU from 68 (the IPv4 minimum) to 65535')
    served = (served_fields or {}).get('coordinator')
    if served:
        for option, field, _v1 in COORDINATOR_FIELDS:
            if coordinator.get(option) is not None and field not in served:
                errors.append(problem('coordinator.%s' % option, coordinator[option], 'is not served by this Spiderpool '
                                                                                      'version (no coordinator.%s in the '
                                                                                      'SpiderMultusConfig CRD)' % field))
    if params.get('cni_type') == 'custom' and coordinator.get('enabled'):
        errors.append(problem('coordinator.enabled', True, 'cannot be true for cni_type custom (the webhook forces '
                                                           'enableCoordinator=false)'))
    return errors


def _cidr_problem(text):
    """Why ``text`` is not an IP address or a CIDR network (None when it is one)."""
    if not isinstance(text, str) or not text.strip() or text != text.strip():
        return 'must be an IP address or a CIDR like 169.254.0.0/16 (webhook rule: hijackCIDR)'
    try:
        if '/' in text:
            ipaddress.ip_network(text, strict=True)
        else:
            ipaddress.ip_address(text)
    except ValueError as exc:
        return 'must be an IP address or a CIDR network with its host bits zero, like 169.254.0.0/16: %s (webhook rule: ' \
               'hijackCIDR)' % exc
    return None


def _link_local_v4(text):
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.version == 4 and address in LINK_LOCAL_V4


def _validate_metadata(params):
    found, _clean = names.check_metadata_map('annotations', params.get('annotations'), labels=False)
    return [problem(field, value, rule) for field, value, rule in found]


def clean_annotations(params):
    """The user's annotations with every value as text (after validate)."""
    return names.check_metadata_map('annotations', params.get('annotations'), labels=False)[1]


def validate_against_pools(params, pools_by_name, spiderpool_namespace='kube-system'):
    """The CR's default pools exist, each one's IP family matches its list, and each admits this CR
    (a pool whose multusName lists other CRs only is never used by Spiderpool for this one)."""
    errors = []
    nad = '%s/%s' % (params.get('namespace'), nad_name(params))
    for family, version in (('ipv4', 4), ('ipv6', 6)):
        for index, name in enumerate((params.get('default_ip_pools') or {}).get(family) or []):
            field = 'default_ip_pools.%s[%d]' % (family, index)
            pool = pools_by_name.get(name)
            if pool is None:
                errors.append(problem(field, name, 'names a SpiderIPPool that does not exist'))
                continue
            actual = ((pool.get('spec') or {}).get('ipVersion'))
            if actual != version:
                errors.append(problem(field, name, 'is an IPv%s pool (subnet %s) listed as %s' % (
                    actual, (pool.get('spec') or {}).get('subnet'), family)))
                continue
            admitted = multus_names((pool.get('spec') or {}).get('multusName'), spiderpool_namespace)
            if admitted and nad not in admitted:
                errors.append(problem(field, name, 'admits only the Multus CRs %s (its multusName), not %s: the rule is that a '
                                                   'default pool admits its Multus CR' % (', '.join(sorted(admitted)), nad)))
    return errors


def validate_update(params, existing):
    """cr-name is immutable once set on an existing SMC."""
    if not existing:
        return []
    old = ((existing.get('metadata') or {}).get('annotations') or {}).get(CR_NAME_ANNOTATION)
    new = annotations(params).get(CR_NAME_ANNOTATION)
    if old and new != old:
        return [problem('nad_name', new, 'cannot change from %s: annotation %s is immutable once set (webhook rule)'
                        % (json.dumps(old), CR_NAME_ANNOTATION))]
    return []


def served_smc_fields(crd):
    """What the served SMC CRD offers: cniType enum and coordinator fields."""
    props = model.served_spec_properties(crd)
    if props is None:
        return None
    return {'cni_types': set((props.get('cniType') or {}).get('enum') or []),
            'coordinator': set(((props.get('coordinator') or {}).get('properties') or {}).keys())}
