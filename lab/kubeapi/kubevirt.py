"""What the KubeVirt simulations read from the cluster: the KubeVirt CR's configuration (not KubeVirt).

A real cluster always has one KubeVirt CR (virt-operator's); the emulator may have none, and then
the simulations act as KubeVirt v1.9 installed from the operator's sample CR does. Facts followed
(KubeVirt v1.9.0 ``pkg/virt-config``, ``pkg/virt-controller/watch/workload-updater``):

- ``spec.configuration.vmRolloutStrategy``: unset means ``LiveUpdate`` since v1.6 (``Stage``
  before); ``spec.configuration.network.permitBridgeInterfaceOnPodNetwork`` defaults to true;
  ``spec.configuration.developerConfiguration.featureGates`` lists the gates switched on;
- ``spec.workloadUpdateStrategy.workloadUpdateMethods``: an empty list means no automated
  workload update at all (so no automatic migration for a NIC hot-plug); the sample CR lists
  ``LiveMigrate``;
- ``status.observedKubeVirtVersion`` is the version that runs.
"""
import json
import re

KUBEVIRT = 'kubevirt.io/v1'
SAMPLE_VERSION = 'v1.9.0'
SAMPLE_METHODS = ['LiveMigrate']


class Config:
    """The KubeVirt CR's settings the simulations act on (the sample CR's when there is none)."""

    def __init__(self, cr=None):
        spec = (cr or {}).get('spec') or {}
        configuration = spec.get('configuration') or {}
        self.found = cr is not None
        self.version = ((cr or {}).get('status') or {}).get('observedKubeVirtVersion') or SAMPLE_VERSION
        self.rollout_strategy = configuration.get('vmRolloutStrategy')
        self.feature_gates = list((configuration.get('developerConfiguration') or {}).get('featureGates') or [])
        permit = (configuration.get('network') or {}).get('permitBridgeInterfaceOnPodNetwork')
        self.permit_bridge_on_pod_network = True if permit is None else bool(permit)
        if cr is None:
            self.workload_update_methods = list(SAMPLE_METHODS)
        else:
            self.workload_update_methods = list((spec.get('workloadUpdateStrategy') or {}).get('workloadUpdateMethods') or [])

    def version_tuple(self):
        found = re.match(r'^v?(\d+)\.(\d+)', self.version or '')
        return (int(found.group(1)), int(found.group(2))) if found else (1, 9)

    def live_update(self):
        """IsVMRolloutStrategyLiveUpdate: explicit LiveUpdate, or unset from v1.6 on."""
        if self.rollout_strategy is None:
            return self.version_tuple() >= (1, 6)
        return self.rollout_strategy == 'LiveUpdate'

    def gate(self, name):
        return name in self.feature_gates


def config(api):
    """The first KubeVirt CR (there is one per cluster), as a ``Config``."""
    if api.registry.by_kind(KUBEVIRT, 'KubeVirt') is None:
        return Config()
    found = sorted(api.objects_of(KUBEVIRT, 'KubeVirt'), key=lambda o: (o['metadata'].get('namespace') or '', o['metadata']['name']))
    return Config(found[0] if found else None)


# ------------------------------------------------------------------ what reaches a running VMI (vm-vmi)
# KubeVirt v1.9 (pkg/network/controllers/vm.go, pkg/network/vmliveupdate/restart.go,
# pkg/virt-controller/watch/vm/vm.go syncRestartRequired): the VMI is made from the template when it
# starts; afterwards only these template changes reach it, and nothing of the template's metadata.

RESTART_MESSAGE = 'a non-live-updatable field was changed in the template spec'
NETWORK_KEYS = ('networks',)
LIVE_UPDATABLE = (('domain', 'cpu', 'sockets'), ('domain', 'memory', 'guest'), ('nodeSelector',), ('affinity',), ('tolerations',))
HOTPLUG_BINDINGS = ('bridge', 'sriov')


def _ifaces(spec):
    return list(((spec.get('domain') or {}).get('devices') or {}).get('interfaces') or [])


def _by_name(items):
    return {item.get('name'): item for item in items}


def _without_state(iface):
    return {k: v for k, v in iface.items() if k != 'state'}


def _without_nad(network, ignore_nad):
    if not ignore_nad or network.get('multus') is None:
        return network
    return dict(network, multus={k: v for k, v in network['multus'].items() if k != 'networkName'})


def nad_ref_live(cfg):
    """A Multus networkName change reaches a running VMI: GA in v1.9, behind LiveUpdateNADRef in v1.8."""
    version = cfg.version_tuple()
    return version >= (1, 9) or (version >= (1, 8) and cfg.gate('LiveUpdateNADRef'))


def declarative_hotplug(cfg):
    """A NIC added to (or set absent in) the template is hot-plugged: v1.4+, v1.1-1.3 with HotplugNICs, never on v1.0."""
    version = cfg.version_tuple()
    return version >= (1, 4) or ((1, 1) <= version < (1, 4) and cfg.gate('HotplugNICs'))


def auto_migrates(cfg):
    """With thin Multus a NIC reaches the pod by a migration, started by KubeVirt itself since v1.6 under
    LiveUpdate when the workload update methods allow LiveMigrate."""
    return cfg.version_tuple() >= (1, 6) and cfg.live_update() and 'LiveMigrate' in cfg.workload_update_methods


def network_restart_required(template_spec, vmi_spec, cfg):
    """IsRestartRequired: an interface or network of the VMI removed or changed (state aside, the NAD name aside
    where that is live-updatable), or a pod network added."""
    desired_ifaces, current_ifaces = _by_name(_ifaces(template_spec)), _by_name(_ifaces(vmi_spec))
    for name, iface in current_ifaces.items():
        if name not in desired_ifaces or _without_state(desired_ifaces[name]) != _without_state(iface):
            return True
    desired_nets, current_nets = _by_name(template_spec.get('networks') or []), _by_name(vmi_spec.get('networks') or [])
    if any('pod' in n for n in desired_nets.values()) and not any('pod' in n for n in current_nets.values()):
        return True
    ignore_nad = nad_ref_live(cfg)
    for name, network in current_nets.items():
        if name not in desired_nets or _without_nad(desired_nets[name], ignore_nad) != _without_nad(network, ignore_nad):
            return True
    return False


def _masked(spec, live_update):
    """The template spec without its network part and (under LiveUpdate) the live-updatable fields."""
    result = json.loads(json.dumps(spec))
    result.pop('networks', None)
    ((result.get('domain') or {}).get('devices') or {}).pop('interfaces', None)
    if live_update:
        for path in LIVE_UPDATABLE:
            node = result
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(path[-1], None)
    return _pruned(result)


def _pruned(spec):
    """A spec without the empty containers the helpers above may leave (domain, devices, interfaces, networks)."""
    devices = (spec.get('domain') or {}).get('devices')
    if isinstance(devices, dict) and devices.get('interfaces') == []:
        devices.pop('interfaces')
    if isinstance(spec.get('domain'), dict) and spec['domain'].get('devices') == {}:
        spec['domain'].pop('devices')
    if spec.get('domain') == {}:
        spec.pop('domain')
    if spec.get('networks') == []:
        spec.pop('networks')
    return spec


def restart_required(template_spec, vmi_spec, cfg):
    """syncRestartRequired: the message of the RestartRequired condition, or None."""
    if network_restart_required(template_spec, vmi_spec, cfg):
        return RESTART_MESSAGE
    if _masked(template_spec, cfg.live_update()) != _masked(vmi_spec, cfg.live_update()):
        return RESTART_MESSAGE
    return None


def synced_vmi_spec(template_spec, vmi_spec, cfg, restart_message):
    """The VMI spec after KubeVirt's VM controller: hot-plug requests, states, NAD names; live-updatable fields
    under LiveUpdate while no restart is required."""
    spec = json.loads(json.dumps(vmi_spec))
    devices = spec.setdefault('domain', {}).setdefault('devices', {})
    ifaces, networks = devices.setdefault('interfaces', []), spec.setdefault('networks', [])
    if declarative_hotplug(cfg):
        current = _by_name(ifaces)
        wanted_nets = _by_name(template_spec.get('networks') or [])
        for iface in _ifaces(template_spec):
            name = iface.get('name')
            if name not in current and iface.get('state') != 'absent' and any(iface.get(b) is not None for b in HOTPLUG_BINDINGS):
                if name in wanted_nets:
                    ifaces.append(json.loads(json.dumps(iface)))
                    networks.append(json.loads(json.dumps(wanted_nets[name])))
            elif name in current and iface.get('state') != current[name].get('state') and current[name].get('state') != 'absent':
                if iface.get('state') is None:
                    current[name].pop('state', None)
                else:
                    current[name]['state'] = iface['state']
    if nad_ref_live(cfg):
        wanted_nets = _by_name(template_spec.get('networks') or [])
        for network in networks:
            wanted = wanted_nets.get(network.get('name')) or {}
            if network.get('multus') is not None and wanted.get('multus') is not None:
                network['multus']['networkName'] = wanted['multus'].get('networkName')
    if restart_message is None and cfg.live_update():
        for path in LIVE_UPDATABLE:
            _copy_path(template_spec, spec, path)
    return _pruned(spec)


def _lookup(node, path):
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _copy_path(source, target, path):
    """``target[path] = source[path]`` (removed where the source has none), making no empty parents."""
    found, value = _lookup(source, path)
    if found:
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = json.loads(json.dumps(value))
        return
    found, parent = _lookup(target, path[:-1])
    if found and isinstance(parent, dict):
        parent.pop(path[-1], None)


def without_detached(spec, plugged):
    """clearDetachedIfaces: interfaces set absent that the VMI status no longer shows leave the spec, with their networks."""
    ifaces = [i for i in _ifaces(spec) if i.get('state') != 'absent' or i.get('name') in plugged]
    kept = {i.get('name') for i in ifaces}
    result = json.loads(json.dumps(spec))
    result.setdefault('domain', {}).setdefault('devices', {})['interfaces'] = ifaces
    result['networks'] = [n for n in spec.get('networks') or [] if n.get('name') in kept]
    return _pruned(result)
