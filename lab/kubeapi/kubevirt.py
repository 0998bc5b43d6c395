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
