# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure live-migration verdict for a rendered (or read back) KubeVirt VirtualMachine.

KubeVirt checks only the pod-network interface (it must be masquerade, passt, a bridge with
the allow-pod-bridge-network-live-migration annotation, or a binding plugin that declares
migration); Multus-only VMs are not blocked on the network side. Every PVC and DataVolume
must be shared (ReadWriteMany), a hostDisk must be marked ``shared``, host devices pin a VM to
its node (virt-handler ``checkVolumesForMigration``). Bridge + OVS migration is disputed
upstream (KubeVirt does not block it and Spiderpool keeps the IP, but Spiderpool's docs say
it is not available), so the verdict value itself says ``disputed``: a yes/no reader of
``live_migratable`` sees true only when nothing blocks and nothing is in doubt.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ALLOW_POD_BRIDGE_ANNOTATION = 'kubevirt.io/allow-pod-bridge-network-live-migration'
MIGRATION_PORTS = (49152, 49153)
HARMLESS_VOLUMES = ('containerDisk', 'cloudInitNoCloud', 'cloudInitConfigDrive', 'configMap', 'secret', 'serviceAccount',
                    'downwardAPI', 'downwardMetrics', 'emptyDisk', 'ephemeral', 'sysprep')
BRIDGE_DOUBT = ('bridge binding on OVS through Multus: KubeVirt does not block the migration and Spiderpool keeps the IP for the '
                'target pod, but Spiderpool\'s docs say live migration is not available with bridge + ovs-cni; test it on your cluster')
TARGET_BRIDGE = ('the migration target node needs the same OVS bridge%s with the same VLANs on its uplink, as every node that may run '
                 'this VM does')
# The verdict values: yes (nothing blocks, nothing in doubt), no (a blocker), disputed (nothing blocks, but upstream disagrees
# whether it works: bridge on OVS), unchecked (nothing blocks, but something could not be checked).
VERDICTS = ('yes', 'no', 'disputed', 'unchecked')


def _template(vm):
    return ((vm or {}).get('spec') or {}).get('template') or {}


def verdict_value(blockers, disputed, unchecked):
    """One of VERDICTS: blockers decide first, then the upstream dispute, then what could not be checked."""
    if blockers:
        return 'no'
    if disputed:
        return 'disputed'
    return 'unchecked' if unchecked else 'yes'


def verdict(vm, pvc_access_modes=None, vmi=None, bridges=None):
    """Return ``(verdict, blockers, notes)`` for a VirtualMachine dict; ``verdict`` is one of VERDICTS.

    ``pvc_access_modes`` maps claim names (and DataVolume names) to their access modes when the
    caller could read them; ``vmi`` adds KubeVirt's own LiveMigratable condition when running;
    ``bridges`` (the OVS bridges the VM's Multus CRs name, when known) go into the target-node note.
    """
    pvc_access_modes = pvc_access_modes or {}
    blockers, notes = [], []
    unchecked = False
    template = _template(vm)
    tspec = template.get('spec') or {}
    annotations = (template.get('metadata') or {}).get('annotations') or {}
    devices = (tspec.get('domain') or {}).get('devices') or {}
    networks = dict((n.get('name'), n) for n in tspec.get('networks') or [])
    bridge_on_multus = False
    for iface in devices.get('interfaces') or []:
        if iface.get('state') == 'absent':
            continue
        net = networks.get(iface.get('name')) or {}
        if 'pod' in net:
            if 'masquerade' in iface or 'passtBinding' in iface:
                pass
            elif 'bridge' in iface:
                if ALLOW_POD_BRIDGE_ANNOTATION not in annotations:
                    blockers.append('interface %s: bridge binding on the pod network blocks live migration unless the template has the '
                                    'annotation %s' % (iface.get('name'), ALLOW_POD_BRIDGE_ANNOTATION))
            elif 'binding' in iface:
                unchecked = True
                notes.append('interface %s: binding plugin %s migrates only if the plugin declares migration support'
                             % (iface.get('name'), (iface.get('binding') or {}).get('name')))
            else:
                blockers.append('interface %s: this binding on the pod network is not live-migratable' % iface.get('name'))
            for port in iface.get('ports') or []:
                if port.get('port') in MIGRATION_PORTS:
                    blockers.append('interface %s: port %s is used by KubeVirt\'s migration proxy' % (iface.get('name'), port.get('port')))
        elif 'multus' in net and 'bridge' in iface:
            bridge_on_multus = True
    if bridge_on_multus:
        notes.append(BRIDGE_DOUBT)
        names = sorted(set(bridges or ()))
        notes.append(TARGET_BRIDGE % ((' (%s)' % ', '.join(names)) if names else ''))
    for kind in ('hostDevices', 'gpus'):
        if devices.get(kind):
            blockers.append('devices.%s: host devices pin the VM to its node' % kind)
    dv_modes = {}
    for dvt in ((vm or {}).get('spec') or {}).get('dataVolumeTemplates') or []:
        spec = dvt.get('spec') or {}
        modes = (spec.get('storage') or {}).get('accessModes') or (spec.get('pvc') or {}).get('accessModes')
        dv_modes[(dvt.get('metadata') or {}).get('name')] = modes
    for volume in tspec.get('volumes') or []:
        name = volume.get('name')
        if any(key in volume for key in HARMLESS_VOLUMES):
            continue
        if 'hostDisk' in volume:
            if not (volume.get('hostDisk') or {}).get('shared'):
                blockers.append('volume %s: a hostDisk not marked shared lives on one node' % name)
            else:
                notes.append('volume %s: hostDisk marked shared: its path must be on storage every node mounts' % name)
            continue
        claim = None
        modes = None
        if 'persistentVolumeClaim' in volume:
            claim = volume['persistentVolumeClaim'].get('claimName')
            modes = pvc_access_modes.get(claim)
        elif 'dataVolume' in volume:
            claim = volume['dataVolume'].get('name')
            modes = dv_modes.get(claim) or pvc_access_modes.get(claim)
        else:
            unchecked = True
            notes.append('volume %s: its type is not checked for live migration' % name)
            continue
        if modes is None:
            unchecked = True
            notes.append('volume %s: access mode of %s unknown (it must be ReadWriteMany for live migration)' % (name, claim))
        elif 'ReadWriteMany' not in modes:
            blockers.append('volume %s: %s is %s, live migration needs ReadWriteMany' % (name, claim, ', '.join(modes)))
    for cond in ((vmi or {}).get('status') or {}).get('conditions') or []:
        if cond.get('type') == 'LiveMigratable' and str(cond.get('status')) == 'False':
            blockers.append('KubeVirt reports LiveMigratable=False: %s %s' % (cond.get('reason') or '', cond.get('message') or ''))
    return verdict_value(blockers, bridge_on_multus, unchecked), blockers, notes
