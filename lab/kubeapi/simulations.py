"""Simulations of upstream controllers, each OFF by default and switched on by name.

They imitate what Spiderpool and KubeVirt controllers write, so that the demo and tests can
read back a realistic cluster. They are simulations, not the controllers: no IP is really
allocated and no VM boots.
"""
import copy
import hashlib
import ipaddress
import json
import threading
import time

from lab.kubeapi import ipam, kubevirt, launcher, readiness, webhooks

SPIDERPOOL = 'spiderpool.spidernet.io/v2beta1'
NAD_API = 'k8s.cni.cncf.io/v1'
KUBEVIRT = 'kubevirt.io/v1'
CR_NAME = 'multus.spidernet.io/cr-name'
CNI_VERSION = 'multus.spidernet.io/cni-version'
CONFIG_NAME = 'cni.spidernet.io/cniconfig-name'


class Simulations:
    """Registry of named simulations and the switch that turns them on."""

    def __init__(self):
        self.lock = threading.Lock()
        self.active = set()
        self.handlers = {
            'spidermultusconfig-nad': self.smc_to_nad,
            'ippool-status': self.ippool_status,
            'vm-vmi': self.vm_to_vmi,
            ipam.NAME: ipam.observe,
            'spiderpool-webhook': self.pool_finalizer,
            'kubevirt-webhook': lambda *_args: None,  # admission only (see validate)
            'workload-readiness': readiness.workload_readiness,
            'spiderpool-hooks': readiness.spiderpool_hooks,
        }
        self.busy = threading.local()

    def known(self):
        return sorted(self.handlers)

    def switch(self, name, on, api):
        if name not in self.handlers:
            raise KeyError(name)
        with self.lock:
            if on:
                self.active.add(name)
            else:
                self.active.discard(name)
        if on:
            self.resync(name, api)

    def resync(self, name, api):
        """Run a simulation over what already exists (as a controller does on start)."""
        kinds = {'spidermultusconfig-nad': (SPIDERPOOL, 'SpiderMultusConfig'),
                 'ippool-status': (SPIDERPOOL, 'SpiderIPPool'), 'vm-vmi': (KUBEVIRT, 'VirtualMachine')}
        if name == 'workload-readiness':
            for api_version, kind in readiness.WORKLOAD_KINDS:
                res = api.registry.by_kind(api_version, kind)
                for obj in api.objects_of(api_version, kind):
                    self._run(name, api, res, 'ADDED', obj)
        if name not in kinds:
            return
        api_version, kind = kinds[name]
        res = api.registry.by_kind(api_version, kind)
        if res is None:
            return
        for obj in api.objects_of(api_version, kind):
            self._run(name, api, res, 'ADDED', obj)

    def mutate(self, res, obj, old):
        if 'spiderpool-webhook' in self.active:
            webhooks.mutate(res, obj, old)

    def validate(self, api, res, obj, old):
        """(denial message maker, causes) of the active webhook simulations, or None."""
        if 'spiderpool-webhook' in self.active:
            causes = webhooks.validate(api, res, obj, old)
            if causes:
                return webhooks.denial_message, causes
        if 'kubevirt-webhook' in self.active:
            causes = webhooks.kubevirt_causes(res, obj, old, kubevirt.config(api))
            if causes:
                return webhooks.kubevirt_denial, causes
        return None

    def warnings(self, res, obj):
        if 'kubevirt-webhook' in self.active:
            return webhooks.kubevirt_warnings(res, obj)
        return []

    def retry_pending(self, api):
        """kubelet retries a pod sandbox that failed: each VM whose launcher pod is still Pending gets another start."""
        if 'vm-vmi' not in self.active:
            return
        res = api.registry.by_kind(KUBEVIRT, 'VirtualMachine')
        for pod in launcher.pending_pods(api):
            labels = pod['metadata'].get('labels') or {}
            vm = api.find(KUBEVIRT, 'VirtualMachine', pod['metadata'].get('namespace'), labels.get('vm.kubevirt.io/name'))
            if vm is not None and res is not None:
                self.vm_to_vmi(api, res, 'MODIFIED', vm)

    @staticmethod
    def pool_finalizer(api, res, event, obj):
        if event == 'MODIFIED':
            webhooks.release_finalizer(api, res, obj)

    def observe(self, api, res, event, obj):
        for name in sorted(self.active):
            self._run(name, api, res, event, obj)

    def _run(self, name, api, res, event, obj):
        if getattr(self.busy, name, False):
            return
        setattr(self.busy, name, True)
        try:
            self.handlers[name](api, res, event, obj)
        finally:
            setattr(self.busy, name, False)

    # ------------------------------------------------------------ SpiderMultusConfig -> NetworkAttachmentDefinition

    @staticmethod
    def smc_to_nad(api, res, event, smc):
        if res.kind != 'SpiderMultusConfig' or event == 'DELETED' or smc['metadata'].get('deletionTimestamp'):
            return
        if api.registry.by_kind(NAD_API, 'NetworkAttachmentDefinition') is None:
            return
        nad = generated_nad(smc)
        meta = nad['metadata']
        existing = api.find(NAD_API, 'NetworkAttachmentDefinition', meta['namespace'], meta['name'])
        if existing is not None:
            owners = [ref for ref in existing['metadata'].get('ownerReferences') or [] if ref.get('controller')]
            if owners and owners[0].get('uid') != smc['metadata']['uid']:
                return  # owned by another SpiderMultusConfig: the controller will not take it over
            labels = existing['metadata'].get('labels')
            if labels:
                meta['labels'] = labels
        api.internal_write(nad, 'spiderpool-controller')

    # ------------------------------------------------------------ SpiderIPPool status counters

    @staticmethod
    def ippool_status(api, res, event, pool):
        if res.kind not in ('SpiderIPPool', 'SpiderSubnet') or event == 'DELETED':
            return
        spec = pool.get('spec') or {}
        status = dict(pool.get('status') or {})
        allocated = status.get('allocatedIPs')
        try:
            count = len(json.loads(allocated)) if allocated else 0
        except ValueError:
            count = 0
        status['totalIPCount'] = count_ips(spec.get('ips') or [], spec.get('excludeIPs') or [])
        status['allocatedIPCount'] = count
        if status == pool.get('status'):
            return
        updated = copy.deepcopy(pool)
        updated['status'] = status
        api.internal_write(updated, 'spiderpool-controller', subresource='status')

    # ------------------------------------------------------------ VirtualMachine -> VirtualMachineInstance

    @staticmethod
    def vm_to_vmi(api, res, event, vm):
        """KubeVirt's VM and VMI controllers: a VMI made from the template when the VM starts; afterwards only what
        KubeVirt propagates reaches it (``kubevirt.py``), the rest waits for the next start (RestartRequired)."""
        if res.kind != 'VirtualMachine':
            return
        meta = vm['metadata']
        namespace, name = meta.get('namespace'), meta['name']
        spec = vm.get('spec') or {}
        running = spec.get('runStrategy') in ('Always', 'RerunOnFailure') or spec.get('running') is True
        if event == 'DELETED' or meta.get('deletionTimestamp') or not running:
            api.internal_delete(KUBEVIRT, 'VirtualMachineInstance', namespace, name)
            if event != 'DELETED' and not meta.get('deletionTimestamp'):
                _vm_status(api, vm, running=False)
            return
        if api.registry.by_kind(KUBEVIRT, 'VirtualMachineInstance') is None:
            return
        cfg = kubevirt.config(api)
        template = spec.get('template') or {}
        template_spec = template.get('spec') or {}
        current = api.find(KUBEVIRT, 'VirtualMachineInstance', namespace, name)
        restart = None
        if current is None:
            vmi = {
                'apiVersion': KUBEVIRT, 'kind': 'VirtualMachineInstance',
                'metadata': {
                    'name': name, 'namespace': namespace,
                    'labels': dict((template.get('metadata') or {}).get('labels') or {}),
                    'annotations': dict((template.get('metadata') or {}).get('annotations') or {}),
                    'ownerReferences': [{'apiVersion': KUBEVIRT, 'kind': 'VirtualMachine', 'name': name, 'uid': meta['uid'],
                                         'controller': True, 'blockOwnerDeletion': True}],
                },
                'spec': copy.deepcopy(template_spec),
            }
            api.internal_write(vmi, 'virt-controller')
        else:
            restart = kubevirt.restart_required(template_spec, current.get('spec') or {}, cfg)
            synced = kubevirt.synced_vmi_spec(template_spec, current.get('spec') or {}, cfg, restart)
            if synced != current.get('spec'):
                current['spec'] = synced
                api.internal_write(current, 'virt-controller')
        current = api.find(KUBEVIRT, 'VirtualMachineInstance', namespace, name)
        pod, replaced = launcher.ensure_pod(api, current, migrate=kubevirt.auto_migrates(cfg))
        # Spiderpool's IPAM runs when the pod's network is set up (simulated only when switched on).
        outcome = ipam.allocate(api, pod) if ipam.NAME in api.simulations.active else ipam.NO_IPAM
        interfaces = vmi_interfaces(current, outcome.addresses, pod)
        launcher.set_pod_status(api, pod, outcome.ok, _pod_ip(interfaces))
        if replaced and not outcome.ok:
            # The migration target could not set up its network: the migration fails, the VM runs on in its
            # old pod without the change (KubeVirt tries again on a later migration).
            ipam.report_failure(api, pod, outcome.error)
            api.internal_delete('v1', 'Pod', namespace, pod['metadata']['name'])
            _vm_status(api, vm, running=True, started=True, restart_required=restart)
            return
        for old in replaced:  # the migration that hot-plugged a NIC is over: the old pod goes
            api.internal_delete('v1', 'Pod', namespace, old['metadata']['name'])
        if outcome.ok:
            status = {'phase': 'Running', 'interfaces': interfaces, 'conditions': [{'type': 'Ready', 'status': 'True'}],
                      'nodeName': pod['spec']['nodeName']}
        else:
            ipam.report_failure(api, pod, outcome.error)
            status = {'phase': 'Scheduling', 'interfaces': [], 'nodeName': pod['spec']['nodeName'],
                      'conditions': [{'type': 'Ready', 'status': 'False', 'reason': 'GuestNotRunning',
                                      'message': 'Guest VM is not reported as running'}]}
        if current.get('status') != status:
            current['status'] = status
            api.internal_write(current, 'virt-handler', subresource='status')
        if outcome.ok:
            _clear_detached(api, vm, current, {i['name'] for i in interfaces})
        _vm_status(api, vm, running=True, started=outcome.ok, restart_required=restart)


def _clear_detached(api, vm, vmi, plugged):
    """Interfaces set absent and unplugged leave the VMI spec, then the VM template (KubeVirt's VM controller)."""
    vmi_spec = kubevirt.without_detached(vmi.get('spec') or {}, plugged)
    if vmi_spec != vmi.get('spec'):
        updated = api.find(KUBEVIRT, 'VirtualMachineInstance', vmi['metadata'].get('namespace'), vmi['metadata']['name'])
        updated['spec'] = vmi_spec
        api.internal_write(updated, 'virt-controller')
    kept = plugged | {i.get('name') for i in ((vmi_spec.get('domain') or {}).get('devices') or {}).get('interfaces') or []}
    stored = api.find(KUBEVIRT, 'VirtualMachine', vm['metadata'].get('namespace'), vm['metadata']['name'])
    template = ((stored or {}).get('spec') or {}).get('template') or {}
    template_spec = kubevirt.without_detached(template.get('spec') or {}, kept)
    if stored is not None and template_spec != (template.get('spec') or {}):
        stored['spec']['template']['spec'] = template_spec
        stored['metadata'].pop('resourceVersion', None)
        api.internal_write(stored, 'virt-controller')


def _vm_status(api, vm, running, started=True, restart_required=None):
    current = api.find(KUBEVIRT, 'VirtualMachine', vm['metadata'].get('namespace'), vm['metadata']['name'])
    if current is None:
        return
    if running and not started:
        status = {'created': True, 'ready': False, 'printableStatus': 'Starting', 'runStrategy': 'Always',
                  'conditions': [{'type': 'Ready', 'status': 'False', 'reason': 'GuestNotRunning',
                                  'message': 'Guest VM is not reported as running'}]}
    elif running:
        status = {'created': True, 'ready': True, 'printableStatus': 'Running', 'runStrategy': 'Always',
                  'conditions': [{'type': 'Ready', 'status': 'True'}]}
    else:
        status = {'printableStatus': 'Stopped',
                  'conditions': [{'type': 'Ready', 'status': 'False', 'reason': 'VMINotExists'}]}
    if running and restart_required:
        before = next((c for c in (current.get('status') or {}).get('conditions') or [] if c.get('type') == 'RestartRequired'), None)
        status['conditions'].append(before or {'type': 'RestartRequired', 'status': 'True', 'message': restart_required,
                                               'lastTransitionTime': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})
    if current.get('status') != status:
        current['status'] = status
        api.internal_write(current, 'virt-controller', subresource='status')


def generated_nad(smc):
    """The NetworkAttachmentDefinition Spiderpool's controller derives from a SpiderMultusConfig."""
    meta = smc['metadata']
    annotations = dict(meta.get('annotations') or {})
    spec = smc.get('spec') or {}
    name = annotations.get(CR_NAME) or meta['name']
    cni_type = spec.get('cniType', 'custom')
    plugins = []
    main = _main_plugin(cni_type, spec)
    if main is not None:
        plugins.append(main)
    for chained in spec.get('chainCNIJsonData') or []:
        plugins.append(json.loads(chained))
    if spec.get('enableCoordinator', cni_type != 'custom') and cni_type != 'custom':
        plugins.append(_coordinator(spec.get('coordinator') or {}))
    if cni_type == 'custom' and spec.get('customCNI'):
        config = spec['customCNI']
    else:
        config = json.dumps({'cniVersion': annotations.get(CNI_VERSION, '0.3.1'),
                             'name': annotations.get(CONFIG_NAME, name), 'plugins': plugins}, separators=(',', ':'))
    nad_annotations = dict(annotations)
    ovs = spec.get('ovs') or {}
    if cni_type == 'ovs' and ovs.get('deviceID'):
        nad_annotations['k8s.v1.cni.cncf.io/resourceName'] = 'ovs-cni.network.kubevirt.io/%s' % ovs.get('bridge')
    nad = {
        'apiVersion': NAD_API, 'kind': 'NetworkAttachmentDefinition',
        'metadata': {
            'name': name, 'namespace': meta.get('namespace'),
            'ownerReferences': [{'apiVersion': SPIDERPOOL, 'kind': 'SpiderMultusConfig', 'name': meta['name'],
                                 'uid': meta['uid'], 'controller': True, 'blockOwnerDeletion': True}],
        },
        'spec': {'config': config},
    }
    if nad_annotations:
        nad['metadata']['annotations'] = nad_annotations
    return nad


def _ipam(spec, block):
    if spec.get('disableIPAM'):
        return None
    pools = block.get('ippools') or {}
    ipam = {'type': 'spiderpool'}
    if pools.get('ipv4'):
        ipam['default_ipv4_ippool'] = list(pools['ipv4'])
    if pools.get('ipv6'):
        ipam['default_ipv6_ippool'] = list(pools['ipv6'])
    return ipam


def _main_plugin(cni_type, spec):
    if cni_type == 'ovs':
        ovs = spec.get('ovs') or {}
        plugin = {'vlan': ovs.get('vlan', 0), 'type': 'ovs', 'bridge': ovs.get('bridge')}
        if ovs.get('trunk'):
            plugin['trunk'] = ovs['trunk']
        if ovs.get('deviceID'):
            plugin['deviceID'] = ovs['deviceID']
    elif cni_type in ('macvlan', 'ipvlan'):
        block = spec.get(cni_type) or {}
        plugin = {'type': cni_type, 'master': (block.get('master') or [''])[0]}
        if cni_type == 'macvlan':
            plugin['mode'] = 'bridge'
        if block.get('vlanID'):
            plugin['vlanID'] = block['vlanID']
    else:
        return None
    ipam = _ipam(spec, spec.get(cni_type) or {})
    if ipam is not None:
        plugin['ipam'] = ipam
    return plugin


def _coordinator(coordinator):
    plugin = {'tunePodRoutes': coordinator.get('tunePodRoutes', True), 'mode': coordinator.get('mode', 'auto')}
    for key, value in coordinator.items():
        if key not in plugin and value not in (None, '', [], {}):
            plugin[key] = value
    plugin['type'] = 'coordinator'
    return plugin


def _addresses(entries):
    result = set()
    for entry in entries:
        if '-' in entry:
            start, end = (ipaddress.ip_address(part.strip()) for part in entry.split('-', 1))
            if int(end) - int(start) > 1 << 20:
                raise ValueError('range too large to simulate: %s' % entry)
            result.update(range(int(start), int(end) + 1))
        else:
            result.add(int(ipaddress.ip_address(entry.strip())))
    return result


def count_ips(ips, exclude):
    """totalIPCount as Spiderpool counts it: the addresses of ``ips`` minus ``excludeIPs``."""
    try:
        return len(_addresses(ips) - _addresses(exclude))
    except ValueError:
        return 0


def _mac(namespace, name, index):
    digest = hashlib.sha256(('%s/%s/%d' % (namespace, name, index)).encode()).digest()
    return '02:' + ':'.join('%02x' % b for b in digest[:5])


def _pod_address(namespace, name):
    digest = int(hashlib.sha256(('%s/%s' % (namespace, name)).encode()).hexdigest(), 16)
    return '10.244.%d.%d' % (digest % 250, digest // 250 % 250 + 2)


def _pod_ip(interfaces):
    return next((i['ipAddress'] for i in interfaces if i.get('podInterfaceName') == launcher.PRIMARY and i.get('ipAddress')), None)


def vmi_interfaces(vmi, addresses, pod=None):
    """status.interfaces of the simulated VMI: the pod network's NIC gets 10.244.x.y, a Multus NIC the IPs
    Spiderpool's IPAM gave its pod interface (``addresses``: pod interface name -> IPs). Only the NICs the
    launcher ``pod`` has are plugged: a hot-plugged NIC shows once a migration brought it in."""
    spec = vmi.get('spec') or {}
    interfaces = ((spec.get('domain') or {}).get('devices') or {}).get('interfaces') or []
    in_pod = None if pod is None else {nic['ifname'] for nic in launcher.pod_interfaces_of_pod(pod)}
    pod_names = {nic['name']: nic for nic in launcher.pod_interfaces(vmi) if in_pod is None or nic['ifname'] in in_pod}
    meta = vmi['metadata']
    result = []
    for index, iface in enumerate(interfaces):
        nic = pod_names.get(iface.get('name'))
        if nic is None:
            continue  # state: absent, or a network that is not there: not plugged
        entry = {'name': iface.get('name'), 'mac': iface.get('macAddress') or _mac(meta.get('namespace'), meta['name'], index),
                 'interfaceName': 'eth%d' % index, 'infoSource': 'domain, guest-agent', 'podInterfaceName': nic['ifname']}
        ips = [_pod_address(meta.get('namespace'), meta['name'])] if nic['kind'] == 'pod' else list(addresses.get(nic['ifname']) or [])
        if ips:
            entry['ipAddress'] = ips[0]
            entry['ipAddresses'] = ips
        result.append(entry)
    return result
