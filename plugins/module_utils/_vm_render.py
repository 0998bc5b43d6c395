# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure builders: a normalised VM entry (see ``_vm_spec``) -> KubeVirt VirtualMachine.

Masquerade writes the ``masquerade`` binding explicitly on the pod network (KubeVirt would
otherwise default to ``bridge``). Bridge makes the first NIC the VM's default network through
Multus (``multus.default: true``, no pod network) and writes the pools chosen by hand as
Spiderpool's ``ipam.spidernet.io/ippools`` template annotation: one item per active NIC, each
naming the pod interface KubeVirt gives that NIC (``eth0`` for the default network; for the
others ``pod`` + 11 hex characters of the SHA-256 of the network name since KubeVirt v1.0,
``net1``, ``net2``... before). Spiderpool then matches items by interface, not by order, so a
NIC added later can never take another NIC's pools (an interface missing from the list makes
Spiderpool refuse the pod instead).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import json
import re

from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_ipam import PRIMARY_INTERFACE, hashed_interface_name
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_spec import normalize_mac

API_VERSION = 'kubevirt.io/v1'
KIND = 'VirtualMachine'
POOLS_ANNOTATION = 'ipam.spidernet.io/ippools'
MANAGED_BY = {'app.kubernetes.io/managed-by': 'vmnet.kubevirt'}
TEMPLATE_VM_LABEL = 'kubevirt.io/vm'
ROOT_DISK = 'rootdisk'
CLOUD_INIT_DISK = 'cloudinitdisk'
NETWORK_DATA_LIMIT = 2048  # KubeVirt's admission limit for cloud-init networkData
USER_DATA_LIMIT = 2048  # and for userData (vmi-create-admitter: cloudInitUserMaxLen)
CLOUD_INIT_SOURCES = ('cloudInitNoCloud', 'cloudInitConfigDrive')
# KubeVirt's field names of the Secret references: user data is "secretRef" (Go: UserDataSecretRef), network data its own.
SECRET_REF_FIELDS = {'userData': 'secretRef', 'networkData': 'networkDataSecretRef'}
# The Secret that holds a VM's user data: KubeVirt's cloudInitNoCloud.secretRef (Go: UserDataSecretRef) reads key "userdata".
USER_DATA_SECRET_SUFFIX = '-cloudinit'
USER_DATA_KEY = 'userdata'
HIDDEN = '<hidden: holds a secret>'
SECRET_HINT = re.compile(r'(?im)^\s*(password|passwd|chpasswd|plain_text_passwd|hashed_passwd)\s*:')


class RenderError(ValueError):
    """Input that is valid alone but cannot be rendered (message names field, value, rule)."""


def deep_merge(base, extra):
    """``extra`` merged onto ``base``: dicts recurse, everything else replaces.

    ``base`` is left alone; the result shares the parts of it that ``extra`` does not touch
    (render_vm's base is built fresh for each VM). Values taken from ``extra`` are copied,
    because one user ``spec`` is merged into every VM of a batch.
    """
    if not extra:
        return base
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def pools_annotation_value(items):
    """Spiderpool's ippools annotation text: stable JSON so re-runs compare equal."""
    return json.dumps(items, sort_keys=True, separators=(',', ':'))


def network_data(nics):
    """Cloud-init network config v2: every NIC matched by MAC, DHCP (bridge binding hands the
    pool IP to the guest by DHCP); only the first NIC takes routes, so the default route stays
    on the VM's default network."""
    lines = ['version: 2', 'ethernets:']
    for index, nic in enumerate(nics):
        # Quoted: cloud-init reads YAML 1.1, where a NIC named "on" or "1" would become a boolean or a number.
        lines.append('  %s:' % json.dumps(nic['name']))
        lines.append('    match:')
        lines.append('      macaddress: "%s"' % nic['mac_address'])
        lines.append('    dhcp4: true')
        if index > 0:
            lines.append('    dhcp4-overrides:')
            lines.append('      use-routes: false')
    return '\n'.join(lines) + '\n'


def user_data(cloud_init):
    if cloud_init.get('user_data'):
        return cloud_init['user_data']
    lines = ['#cloud-config']
    if cloud_init.get('user'):
        lines.append('user: %s' % json.dumps(cloud_init['user']))
    if cloud_init.get('password'):
        lines.append('password: %s' % json.dumps(cloud_init['password']))
        lines.append('chpasswd: {expire: false}')
    if cloud_init.get('ssh_authorized_keys'):
        lines.append('ssh_authorized_keys:')
        lines.extend('  - %s' % json.dumps(key) for key in cloud_init['ssh_authorized_keys'])
    return '\n'.join(lines) + '\n'


def _data_length(data, key, field, problems):
    """Bytes of one cloud-init data source (base64 decoded), or None when the source is not set."""
    value = data.get(key)
    if not value:
        return None
    if key.endswith('Base64'):
        try:
            return len(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError, TypeError):
            problems.append('%s: %r is not valid base64: the rule is KubeVirt\'s admission (standard base64)' % (field, value[:40]))
            return 0
    return len(value.encode('utf-8')) if isinstance(value, str) else 0


def cloud_init_problems(template_spec, path, own_volume=None):
    """KubeVirt's cloud-init admission rules (vmi-create-admitter) over the final template's volumes.

    User data and network data: each at most one source (inline, base64 or a Secret reference),
    at least one of them, inline or base64 at most 2048 bytes. ``own_volume`` is the volume this
    module rendered, whose fields are named after the module's options in messages.
    """
    problems = []
    for index, volume in enumerate(template_spec.get('volumes') or []):
        for source in CLOUD_INIT_SOURCES:
            data = volume.get(source) if isinstance(volume, dict) else None
            if not isinstance(data, dict):
                continue
            prefix = '%sspec.template.spec.volumes[%d].%s.' % (path, index, source)
            found = 0
            for kind, limit, option in (('userData', USER_DATA_LIMIT, 'user_data'), ('networkData', NETWORK_DATA_LIMIT, 'network_data')):
                field = ('%scloud_init.%s' % (path, option)) if volume is own_volume else prefix + kind
                keys = [k for k in (kind, kind + 'Base64') if data.get(k)]
                secret_ref = SECRET_REF_FIELDS[kind]
                if (data.get(secret_ref) or {}).get('name'):
                    keys.append(secret_ref)
                found += len(keys)
                if len(keys) > 1:
                    problems.append('%s: %s are all set: the rule is one %s source (KubeVirt\'s admission)' % (field, ', '.join(keys), kind))
                for key in keys:
                    size = _data_length(data, key, prefix + key, problems) if key != secret_ref else None
                    if size is not None and size > limit:
                        problems.append('%s: %d bytes is too long: the rule is KubeVirt\'s limit of %d bytes for cloud-init %s (larger data '
                                        'goes in a Secret, %s)' % (field, size, limit, kind, secret_ref))
            if not found:
                problems.append('%s: %r has no user data and no network data: the rule is at least one of them (KubeVirt\'s admission)'
                                % (prefix[:-1], data))
    return problems


def _interface(entry, nic):
    iface = {'name': nic['name'], 'macAddress': nic['mac_address']}
    if entry['mode'] == 'masquerade':
        iface['masquerade'] = {}
        if entry['ports']:
            iface['ports'] = copy.deepcopy(entry['ports'])
    else:
        iface['bridge'] = {}
    if nic.get('model'):
        iface['model'] = nic['model']
    return iface


def _network(entry, nic, index, nad_refs):
    if entry['mode'] == 'masquerade':
        return {'name': nic['name'], 'pod': {}}
    multus = {'networkName': nad_refs.get(nic['multus_cr'], nic['multus_cr'])}
    if index == 0:
        multus['default'] = True
    return {'name': nic['name'], 'multus': multus}


def _disk_parts(entry):
    """(disks, volumes, dataVolumeTemplates) for the root disk and cloud-init."""
    disks, volumes, templates = [], [], []
    disk = entry.get('disk')
    if disk:
        disks.append({'name': ROOT_DISK, 'disk': {'bus': disk['bus']}})
        if disk['type'] == 'container_disk':
            volumes.append({'name': ROOT_DISK, 'containerDisk': {'image': disk['image']}})
        elif disk['type'] == 'pvc':
            volumes.append({'name': ROOT_DISK, 'persistentVolumeClaim': {'claimName': disk['claim_name']}})
        else:
            dv_name = '%s-%s' % (entry['name'], ROOT_DISK)
            url = disk['source_url']
            source = {'registry': {'url': url}} if url.startswith('docker://') else {'http': {'url': url}}
            storage = {'resources': {'requests': {'storage': disk['size']}}}
            if disk.get('storage_class'):
                storage['storageClassName'] = disk['storage_class']
            if disk.get('access_modes'):
                storage['accessModes'] = list(disk['access_modes'])
            templates.append({'metadata': {'name': dv_name}, 'spec': {'source': source, 'storage': storage}})
            volumes.append({'name': ROOT_DISK, 'dataVolume': {'name': dv_name}})
    return disks, volumes, templates


def _existing_template_spec(existing):
    return (((existing or {}).get('spec') or {}).get('template') or {}).get('spec') or {}


def _reconcile_nics(entry, existing, warnings):
    """Desired NICs plus existing ones to keep as ``state: absent``; existing MACs win."""
    spec = _existing_template_spec(existing)
    old_ifaces = ((spec.get('domain') or {}).get('devices') or {}).get('interfaces') or []
    old_nets = dict((n.get('name'), n) for n in spec.get('networks') or [])
    old_by_name = dict((i.get('name'), i) for i in old_ifaces)
    nics = []
    for nic in entry['nics']:
        nic = dict(nic)
        old = old_by_name.get(nic['name'])
        if old and not nic.get('mac_given') and old.get('macAddress'):
            nic['mac_address'] = normalize_mac(old['macAddress'])  # never change a guest's MAC behind its back
        nics.append(nic)
    wanted = set(n['name'] for n in nics)
    kept_absent = []
    for old in old_ifaces:
        name = old.get('name')
        if name in wanted:
            continue
        net = old_nets.get(name) or {}
        multus = net.get('multus') or {}
        if 'bridge' in old and multus and not multus.get('default'):
            iface = copy.deepcopy(old)
            iface['state'] = 'absent'  # hot-unplug: KubeVirt removes it from the guest, then from the spec
            kept_absent.append((iface, copy.deepcopy(net)))
        else:
            warnings.append('%s/%s: NIC %s is removed from the spec; it is not a secondary bridge NIC, so KubeVirt cannot hot-unplug it '
                            'and the VM needs a restart (RestartRequired)' % (entry['namespace'], entry['name'], name))
    if existing:
        first_old = old_ifaces[0].get('name') if old_ifaces else None
        if first_old and nics and nics[0]['name'] != first_old and first_old in wanted | set(i['name'] for i, _n in kept_absent):
            warnings.append('%s/%s: the default network changes from %s to %s; KubeVirt applies that only after a restart'
                            % (entry['namespace'], entry['name'], first_old, nics[0]['name']))
        added = [n['name'] for n in nics if n['name'] not in old_by_name]
        for nic in nics:
            if nic['name'] in added and nic.get('model') not in (None, 'virtio') and entry['mode'] == 'bridge':
                warnings.append('%s/%s: NIC %s is added with model %s; KubeVirt hot-plugs virtio NICs only, so it will wait for a restart'
                                % (entry['namespace'], entry['name'], nic['name'], nic['model']))
    return nics, kept_absent


def naming_for_version(version):
    """KubeVirt's pod interface naming for secondary networks: ``ordinal`` (net1, net2...) before v1.0, ``hashed``
    since (also when the version is not known: the collection supports KubeVirt 1.0 and later)."""
    found = re.match(r'^v?(\d+)\.(\d+)', version or '')
    if found and int(found.group(1)) < 1:
        return 'ordinal'
    return 'hashed'


def pod_interface_name(index, network_name, naming='hashed'):
    """The pod interface KubeVirt gives the ``index``-th active NIC: eth0 for the first (the default network)."""
    if index == 0:
        return PRIMARY_INTERFACE
    return 'net%d' % index if naming == 'ordinal' else hashed_interface_name(network_name)


def pools_items(entry, nics, default_pools, naming='hashed'):
    """The ippools annotation items, each with its pod ``interface`` (or None when every NIC uses its CR's default pools)."""
    if entry['mode'] != 'bridge' or all(n['use_default_ip_pool'] for n in nics):
        return None
    items = []
    for index, nic in enumerate(nics):
        if nic['use_default_ip_pool']:
            pools = (default_pools or {}).get(nic['multus_cr'])
            if pools is None:
                raise RenderError('%sip_pools: %r uses the default pools of %s while another NIC picks pools by hand; Spiderpool then needs '
                                  'every pod interface in the ippools annotation, so that CR\'s default pools must be read from the cluster: the '
                                  'rule is preflight on (not render_only) or ip_pools given for every NIC'
                                  % (nic['path'], None, nic['multus_cr']))
        else:
            pools = nic['ip_pools']
        item = {'interface': pod_interface_name(index, nic['name'], naming)}
        for family in ('ipv4', 'ipv6'):
            if pools.get(family):
                item[family] = list(pools[family])
        items.append(item)
    return items


def guest_ip_families(mode, pools):
    """The IP families the guest of a NIC gets from Spiderpool: KubeVirt's bridge binding serves DHCPv4 only
    (pkg/network/dhcp), so a pool's IPv6 address stays on the pod interface. None: not known (no pools read)
    or not a Spiderpool NIC (masquerade: the guest gets KubeVirt's NAT addresses)."""
    if mode != 'bridge' or not pools:
        return None
    return ['ipv4'] if pools.get('ipv4') else []


def guest_address_warnings(entry, nic_name, pools):
    if entry['mode'] != 'bridge' or not pools.get('ipv6'):
        return []
    where = '%s/%s: NIC %s' % (entry['namespace'], entry['name'], nic_name)
    why = ('KubeVirt\'s bridge binding hands the guest IPv4 by DHCPv4 and no IPv6 (a guest may autoconfigure an address of its own from '
           'router advertisements on the VLAN, which Spiderpool does not know); configure the IPv6 address in the guest '
           '(cloud_init.network_data) if it needs it')
    if pools.get('ipv4'):
        return ['%s: the IPv6 address from %s goes to the pod interface only: %s' % (where, ', '.join(pools['ipv6']), why)]
    return ['%s: an IPv6-only NIC gets no address from Spiderpool in the guest (pools %s): %s'
            % (where, ', '.join(pools['ipv6']), why)]


def dns_warnings(entry, spec):
    """KubeVirt's DHCP gives a Bridge guest the pod's DNS servers: the cluster DNS Service, which OVS underlay NICs
    cannot reach (Spiderpool: ovs-cni has no clusterIP access), unless the pod's DNS is set."""
    tspec = (spec.get('template') or {}).get('spec') or {}
    if entry['mode'] != 'bridge' or ((tspec.get('dnsConfig') or {}).get('nameservers') and tspec.get('dnsPolicy') == 'None'):
        return []
    return ['%s/%s: the guest\'s DNS server from KubeVirt\'s DHCP is the cluster DNS Service IP, which a VM on an OVS underlay '
            'network usually cannot reach (Service IPs are not routed on the VLAN); give the DNS servers of that network with '
            'dns.servers' % (entry['namespace'], entry['name'])]


def render_vm(entry, existing=None, nad_refs=None, default_pools=None, naming='hashed'):
    """Return ``(manifest, body, nics, warnings)``.

    ``manifest`` is the VirtualMachine to show the user; ``body`` is what to send (for an
    update it also clears a pools annotation that is no longer wanted). ``nics`` are the
    effective NICs (with MACs and pools); ``existing`` is the VM on the server, if any.
    """
    warnings = []
    nad_refs = nad_refs or {}
    name, namespace = entry['name'], entry['namespace']
    nics, kept_absent = _reconcile_nics(entry, existing, warnings)
    interfaces = [_interface(entry, nic) for nic in nics] + [iface for iface, _net in kept_absent]
    networks = [_network(entry, nic, index, nad_refs) for index, nic in enumerate(nics)] + [net for _iface, net in kept_absent]
    items = pools_items(entry, nics, default_pools, naming)

    disks, volumes, dv_templates = _disk_parts(entry)
    cloud_init = entry['cloud_init']
    if cloud_init['enabled']:
        net_data = cloud_init['network_data'] if cloud_init['network_data'] is not None else network_data(nics)
        if len(net_data.encode('utf-8')) > NETWORK_DATA_LIMIT:
            raise RenderError('%scloud_init.network_data: %d bytes for %d NICs is too long: the rule is KubeVirt\'s limit of %d bytes for '
                              'cloud-init networkData' % (entry['path'], len(net_data.encode('utf-8')), len(nics), NETWORK_DATA_LIMIT))
        disks.append({'name': CLOUD_INIT_DISK, 'disk': {'bus': 'virtio'}})
        if cloud_init['user_data_in_secret']:
            source = {'secretRef': {'name': user_data_secret_name(name)}, 'networkData': net_data}
        else:
            source = {'userData': user_data(cloud_init), 'networkData': net_data}
        own_volume = {'name': CLOUD_INIT_DISK, 'cloudInitNoCloud': source}
        volumes.append(own_volume)
    else:
        own_volume = None

    template_meta = {'labels': dict(entry['labels'], **{TEMPLATE_VM_LABEL: name})}
    template_annotations = dict(entry['annotations'])
    if items is not None:
        template_annotations[POOLS_ANNOTATION] = pools_annotation_value(items)
    if template_annotations:
        template_meta['annotations'] = template_annotations

    domain = {'cpu': {'cores': entry['cpu_cores']}, 'memory': {'guest': entry['memory']},
              'devices': {'interfaces': interfaces}}
    if disks:
        domain['devices']['disks'] = disks
    template_spec = {'domain': domain, 'networks': networks}
    if volumes:
        template_spec['volumes'] = volumes
    if entry.get('dns'):
        # KubeVirt's DHCP hands the guest the virt-launcher pod's resolv.conf: give the pod these servers.
        template_spec['dnsPolicy'] = 'None'
        template_spec['dnsConfig'] = {'nameservers': list(entry['dns']['servers'])}
        if entry['dns']['search']:
            template_spec['dnsConfig']['searches'] = list(entry['dns']['search'])
    spec = {'runStrategy': entry['run_strategy'], 'template': {'metadata': template_meta, 'spec': template_spec}}
    if dv_templates:
        spec['dataVolumeTemplates'] = dv_templates
    spec = deep_merge(spec, entry['spec'])
    found = cloud_init_problems((spec.get('template') or {}).get('spec') or {}, entry['path'], own_volume)
    if found:
        raise RenderError('; '.join(found))
    if 'running' in spec:
        raise RenderError('%sspec.running: %r is deprecated and conflicts with runStrategy: the rule is run_strategy (spec.runStrategy)'
                          % (entry['path'], spec['running']))

    metadata = {'name': name, 'namespace': namespace, 'labels': dict(entry['labels'], **MANAGED_BY)}
    if entry['annotations']:
        metadata['annotations'] = dict(entry['annotations'])
    manifest = {'apiVersion': API_VERSION, 'kind': KIND, 'metadata': metadata, 'spec': spec}

    # Server-side apply removes what an earlier run applied and this one leaves out (a pools annotation, a label).
    body = manifest

    nic_results = []
    for index, nic in enumerate(nics):
        if entry['mode'] == 'bridge':
            pools = items[index] if items is not None else (default_pools or {}).get(nic['multus_cr']) or {}
            pools = dict((f, list(pools[f])) for f in ('ipv4', 'ipv6') if pools.get(f))
        else:
            pools = {}
        families = guest_ip_families(entry['mode'], pools)
        warnings.extend(guest_address_warnings(entry, nic['name'], pools))
        nic_results.append({'name': nic['name'], 'mode': entry['mode'], 'multus_cr': nic['multus_cr'],
                            'use_default_ip_pool': nic['use_default_ip_pool'] if entry['mode'] == 'bridge' else None,
                            'ip_pools': pools, 'mac_address': nic['mac_address'],
                            'fixed_ip': entry['mode'] == 'bridge' and (families is None or 'ipv4' in families),
                            'guest_ip_families': families, 'ip_addresses': [], 'state': 'up'})
    warnings.extend(dns_warnings(entry, spec))
    for iface, net in kept_absent:
        nic_results.append({'name': iface['name'], 'mode': 'bridge', 'multus_cr': (net.get('multus') or {}).get('networkName'),
                            'use_default_ip_pool': None, 'ip_pools': {}, 'mac_address': iface.get('macAddress'), 'fixed_ip': True,
                            'guest_ip_families': None, 'ip_addresses': [], 'state': 'absent'})
    return manifest, body, nic_results, warnings


def user_data_secret_name(vm_name):
    return vm_name + USER_DATA_SECRET_SUFFIX


def user_data_secret(entry, owner_uid=None):
    """The Secret holding the VM's user data (None when the user data stays inline); owned by the VM once its uid is known,
    so Kubernetes' garbage collector deletes it with the VM."""
    cloud_init = entry['cloud_init']
    if not cloud_init['enabled'] or not cloud_init['user_data_in_secret']:
        return None
    metadata = {'name': user_data_secret_name(entry['name']), 'namespace': entry['namespace'], 'labels': dict(MANAGED_BY)}
    if owner_uid:
        metadata['ownerReferences'] = [{'apiVersion': API_VERSION, 'kind': KIND, 'name': entry['name'], 'uid': owner_uid}]
    encoded = base64.b64encode(user_data(cloud_init).encode('utf-8')).decode('ascii')
    return {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': metadata, 'type': 'Opaque', 'data': {USER_DATA_KEY: encoded}}


def hide_secret_data(secret):
    """A Secret fit for a diff or a result: every value replaced."""
    if not secret:
        return secret
    shown = dict(secret)
    for key in ('data', 'stringData'):
        if isinstance(shown.get(key), dict):
            shown[key] = dict((name, HIDDEN) for name in shown[key])
    return shown


def hide_inline_secrets(vm, holds_secret=False):
    """A VM fit for a diff or a result: inline cloud-init user data that holds a secret replaced (also the one an
    earlier run or another tool wrote, which this run's no_log values do not cover)."""
    volumes = ((((vm or {}).get('spec') or {}).get('template') or {}).get('spec') or {}).get('volumes')
    if not isinstance(volumes, list):
        return vm
    changed = []
    for volume in volumes:
        volume = dict(volume) if isinstance(volume, dict) else volume
        for source in ('cloudInitNoCloud', 'cloudInitConfigDrive'):
            data = volume.get(source) if isinstance(volume, dict) else None
            if not isinstance(data, dict):
                continue
            data = dict(data)
            for key in ('userData', 'userDataBase64'):
                text = data.get(key)
                if isinstance(text, str) and (holds_secret or key == 'userDataBase64' or SECRET_HINT.search(text)):
                    data[key] = HIDDEN
            volume[source] = data
        changed.append(volume)
    vm = copy.copy(vm)
    vm['spec'] = dict(vm['spec'])
    vm['spec']['template'] = dict(vm['spec']['template'])
    vm['spec']['template']['spec'] = dict(vm['spec']['template']['spec'], volumes=changed)
    return vm
