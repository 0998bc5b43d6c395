# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure read-back: a VirtualMachine (and its VMI, if running) -> the NIC view users see."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.vmnet.kubevirt.plugins.module_utils._spiderpool_ipam import nic_fixed_ips, pod_interface_names
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_lifecycle import pools_items
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_render import guest_ip_families
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_verdict import verdict

BINDINGS = ('masquerade', 'bridge', 'sriov', 'passtBinding', 'binding', 'slirp', 'macvtap', 'passt')


def _binding(iface):
    return next((b for b in BINDINGS if b in iface), 'bridge')


def vm_network_mode(nics):
    """masquerade, bridge, or mixed (something this collection does not render)."""
    modes = set(n['mode'] for n in nics if n['state'] != 'absent')
    if modes == {'masquerade'}:
        return 'masquerade'
    if modes == {'bridge'} and all(n['multus_cr'] for n in nics if n['state'] != 'absent'):
        return 'bridge'
    return 'mixed' if modes else 'none'


def qualified_network(network_name, vm):
    """A Multus networkName as ``ns/name`` (a bare name is in the VM's namespace)."""
    if not network_name or '/' in network_name:
        return network_name
    return '%s/%s' % (vm['metadata'].get('namespace'), network_name)


def multus_refs(vms):
    """Every Multus network (``ns/name``) the VMs use."""
    refs = set()
    for vm in vms:
        for net in (((vm.get('spec') or {}).get('template') or {}).get('spec') or {}).get('networks') or []:
            if (net.get('multus') or {}).get('networkName'):
                refs.add(qualified_network(net['multus']['networkName'], vm))
    return sorted(refs)


def vmi_addresses(vmi):
    """NIC name -> IP addresses (and MAC) from the VMI status."""
    result = {}
    for status in ((vmi or {}).get('status') or {}).get('interfaces') or []:
        ips = list(status.get('ipAddresses') or ([status['ipAddress']] if status.get('ipAddress') else []))
        result[status.get('name')] = {'ip_addresses': ips, 'mac': status.get('mac')}
    return result


def describe_vm(vm, vmi=None, pvc_access_modes=None, default_pools=None, endpoint=False):
    """The vm_network result shape for any VirtualMachine: name, namespace, nics, verdict.

    ``default_pools`` maps a Multus network (``ns/name``) to its CR's default pools, shown for
    NICs that pick no pools by hand. ``endpoint`` is the VM's SpiderEndpoint (None: there is
    none; False: not read), from which ``fixed_ip`` says whether Spiderpool keeps the NIC's IPs.
    """
    template = (vm.get('spec') or {}).get('template') or {}
    tspec = template.get('spec') or {}
    networks = dict((n.get('name'), n) for n in tspec.get('networks') or [])
    items = pools_items((template.get('metadata') or {}).get('annotations'))
    addresses = vmi_addresses(vmi)
    kept = nic_fixed_ips(tspec, endpoint, vmi) if endpoint is not False else {}
    named = dict((i['interface'], i) for i in items or [] if isinstance(i, dict) and i.get('interface'))
    candidates = pod_interface_names(tspec, vmi) if named else {}
    nics = []
    multus_index = 0
    for iface in ((tspec.get('domain') or {}).get('devices') or {}).get('interfaces') or []:
        name = iface.get('name')
        net = networks.get(name) or {}
        multus = net.get('multus')
        state = iface.get('state') or 'up'
        pools = {}
        use_default = None
        if multus is not None and state != 'absent':
            # Spiderpool matches named items by pod interface, unnamed ones by the order of the active Multus networks.
            item = next((named[c] for c in candidates.get(name) or [] if c in named), None) if named else \
                (items[multus_index] if items is not None and multus_index < len(items) else None)
            if isinstance(item, dict):
                pools = dict((f, item[f]) for f in ('ipv4', 'ipv6') if item.get(f))
                use_default = False
            else:
                pools = dict((default_pools or {}).get(qualified_network(multus.get('networkName'), vm)) or {})
                use_default = True
            multus_index += 1
        binding = _binding(iface)
        mode = 'masquerade' if binding == 'masquerade' else 'bridge' if binding == 'bridge' else binding
        seen = addresses.get(name) or {}
        fixed = kept.get(name) or {}
        # Bridge binding hands the guest the pod NIC's IPv4 by DHCPv4 only: a kept IPv6 address never reaches the guest.
        families = guest_ip_families(mode, dict(pools, **dict((f, [p]) for f, p in (fixed.get('pools') or {}).items())))
        guest_kept = [a for a in fixed.get('ip_addresses') or [] if mode != 'bridge' or ':' not in a]
        nics.append({'name': name, 'mode': mode, 'multus_cr': (multus or {}).get('networkName'), 'ip_pools': pools,
                     'use_default_ip_pool': use_default,
                     'mac_address': iface.get('macAddress') or seen.get('mac'),
                     'fixed_ip': None if endpoint is False else bool(guest_kept), 'guest_ip_families': families,
                     'fixed_ip_addresses': fixed.get('ip_addresses') or [], 'allocated_from': fixed.get('pools') or {},
                     'ip_addresses': seen.get('ip_addresses') or [], 'state': state, 'model': iface.get('model')})
    judged, blockers, notes = verdict(vm, pvc_access_modes, vmi)
    status = vm.get('status') or {}
    return {'name': vm['metadata']['name'], 'namespace': vm['metadata'].get('namespace'), 'network_mode': vm_network_mode(nics),
            'nics': nics, 'run_strategy': (vm.get('spec') or {}).get('runStrategy'), 'printable_status': status.get('printableStatus'),
            'ready': bool(status.get('ready')),
            'restart_required': any(c.get('type') == 'RestartRequired' and str(c.get('status')) == 'True' for c in status.get('conditions') or []),
            'live_migratable': judged == 'yes', 'live_migration_verdict': judged,
            'live_migration_blockers': blockers,
            'live_migration_notes': notes}
