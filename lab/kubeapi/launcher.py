"""The virt-launcher pod that KubeVirt's virt-controller creates for a VMI, as the vm-vmi simulation makes it.

Part of the ``vm-vmi`` simulation (not KubeVirt). The pod matters because it is what Spiderpool's
IPAM reads (``ipam.py``): its annotations (copied from the VMI), the Multus networks KubeVirt
writes on it, its labels, node and UID. Facts followed (KubeVirt v1.x):

- name ``virt-launcher-<vmi>-<5 chars>``, controller ownerReference to the VMI, labels
  ``kubevirt.io: virt-launcher``, ``kubevirt.io/created-by: <vmi uid>``, ``vm.kubevirt.io/name``
  plus the VMI's own labels; the VMI's annotations are copied;
- the Multus default network (``multus.default: true``) is the pod's ``eth0``, named by
  ``v1.multus-cni.io/default-network``; the other Multus networks are listed in
  ``k8s.v1.cni.cncf.io/networks`` with the pod interface name KubeVirt derives from the network
  name (``pod`` + 11 hex characters of its SHA-256, since v1.0) and the MAC when one is set;
  a pod network is ``eth0`` of the cluster's own CNI; NICs with ``state: absent`` are left out;
- a NIC hot-plug on a running VMI is carried out by a migration: a new pod, then the old one goes.
"""
import hashlib
import json

POD_API = 'v1'
KUBEVIRT = 'kubevirt.io/v1'
NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks'
DEFAULT_NETWORK_ANNOTATION = 'v1.multus-cni.io/default-network'
CREATED_BY = 'kubevirt.io/created-by'
PRIMARY = 'eth0'
FALLBACK_NODE = 'lab-node-1'
NOT_COPIED = ('kubectl.kubernetes.io/last-applied-configuration',)


def hashed_interface_name(network_name):
    """KubeVirt's pod interface name for a secondary Multus network (v1.0 and later)."""
    return 'pod' + hashlib.sha256(network_name.encode('utf-8')).hexdigest()[:11]


def qualified(network_name, namespace):
    """``ns/name`` of a Multus networkName (a bare name is in the VMI's namespace)."""
    return network_name if '/' in network_name else '%s/%s' % (namespace, network_name)


def pod_interfaces(vmi):
    """The VMI's NICs as the pod sees them: [{name, network, ifname, kind, nad, mac}] in pod order.

    ``kind`` is ``pod`` (the cluster CNI's eth0), ``multus-default`` (eth0 through Multus) or
    ``multus``; ``nad`` is ``ns/name`` for Multus NICs. eth0 comes first, then the secondary
    Multus networks in the order of ``spec.networks``.
    """
    spec = vmi.get('spec') or {}
    namespace = vmi['metadata'].get('namespace')
    interfaces = {i.get('name'): i for i in ((spec.get('domain') or {}).get('devices') or {}).get('interfaces') or []}
    primary, secondary = [], []
    for network in spec.get('networks') or []:
        iface = interfaces.get(network.get('name'))
        if iface is None or iface.get('state') == 'absent':
            continue
        entry = {'name': network['name'], 'mac': iface.get('macAddress')}
        multus = network.get('multus')
        if 'pod' in network:
            primary.append(dict(entry, ifname=PRIMARY, kind='pod', nad=None))
        elif multus and multus.get('default'):
            primary.append(dict(entry, ifname=PRIMARY, kind='multus-default', nad=qualified(multus.get('networkName') or '', namespace)))
        elif multus:
            secondary.append(dict(entry, ifname=hashed_interface_name(network['name']), kind='multus',
                                  nad=qualified(multus.get('networkName') or '', namespace)))
    return primary[:1] + secondary


def pod_interfaces_of_pod(pod):
    """The NICs of a pod as Multus and Spiderpool see them: eth0 (the default network), then the entries of
    ``k8s.v1.cni.cncf.io/networks`` (an entry without ``interface`` is ``net<i>``). Same shape as ``pod_interfaces``."""
    meta = pod['metadata']
    annotations = meta.get('annotations') or {}
    namespace = meta.get('namespace')
    default = annotations.get(DEFAULT_NETWORK_ANNOTATION)
    nics = [{'name': None, 'mac': None, 'ifname': PRIMARY, 'kind': 'multus-default' if default else 'pod',
             'nad': qualified(default, namespace) if default else None}]
    try:
        selections = json.loads(annotations.get(NETWORKS_ANNOTATION) or '[]')
    except ValueError:
        selections = []
    for index, selection in enumerate(selections if isinstance(selections, list) else []):
        if not isinstance(selection, dict) or not selection.get('name'):
            continue
        nics.append({'name': None, 'mac': selection.get('mac'), 'ifname': selection.get('interface') or 'net%d' % (index + 1),
                     'kind': 'multus', 'nad': '%s/%s' % (selection.get('namespace') or namespace, selection['name'])})
    return nics


def network_annotations(vmi):
    """The Multus annotations KubeVirt writes on the pod."""
    nics = pod_interfaces(vmi)
    result = {}
    default = next((n for n in nics if n['kind'] == 'multus-default'), None)
    if default is not None:
        result[DEFAULT_NETWORK_ANNOTATION] = default['nad']
    selections = []
    for nic in nics:
        if nic['kind'] != 'multus':
            continue
        namespace, name = nic['nad'].split('/', 1)
        selection = {'interface': nic['ifname'], 'name': name, 'namespace': namespace}
        if nic['mac']:
            selection['mac'] = nic['mac']
        selections.append(selection)
    if selections:
        result[NETWORKS_ANNOTATION] = json.dumps(selections, separators=(',', ':'), sort_keys=True)
    return result


def choose_node(api, vmi):
    """A Node for the VMI: one of those matching its nodeSelector, picked by a hash of its name (no scheduler here)."""
    wanted = (vmi.get('spec') or {}).get('nodeSelector') or {}
    nodes = sorted((n for n in api.objects_of('v1', 'Node')
                    if all(((n['metadata'].get('labels') or {}).get(k)) == v for k, v in wanted.items())),
                   key=lambda n: n['metadata']['name'])
    if not nodes:
        return FALLBACK_NODE
    key = '%s/%s' % (vmi['metadata'].get('namespace'), vmi['metadata']['name'])
    return nodes[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(nodes)]['metadata']['name']


def pods_of(api, vmi_uid, namespace):
    return sorted((p for p in api.objects_of(POD_API, 'Pod') if p['metadata'].get('namespace') == namespace
                   and (p['metadata'].get('labels') or {}).get(CREATED_BY) == vmi_uid and not p['metadata'].get('deletionTimestamp')),
                  key=lambda p: p['metadata']['creationTimestamp'])


def pending_pods(api):
    """Launcher pods whose network setup failed (still Pending), oldest first."""
    return sorted((p for p in api.objects_of(POD_API, 'Pod') if (p['metadata'].get('labels') or {}).get('kubevirt.io') == 'virt-launcher'
                   and (p.get('status') or {}).get('phase') == 'Pending' and not p['metadata'].get('deletionTimestamp')),
                  key=lambda p: (p['metadata']['creationTimestamp'], p['metadata']['resourceVersion']))


def desired_pod(vmi, node, generation):
    meta = vmi['metadata']
    name, namespace = meta['name'], meta.get('namespace')
    suffix = hashlib.sha256(('%s/%d' % (meta['uid'], generation)).encode()).hexdigest()
    letters = ''.join('bcdfghjklmnpqrstvwxz2456789'[int(suffix[i:i + 2], 16) % 27] for i in range(0, 10, 2))
    labels = dict(meta.get('labels') or {})
    labels.update({'kubevirt.io': 'virt-launcher', CREATED_BY: meta['uid'], 'kubevirt.io/domain': name, 'vm.kubevirt.io/name': name})
    annotations = {k: v for k, v in (meta.get('annotations') or {}).items() if k not in NOT_COPIED}
    annotations.update({'kubevirt.io/domain': name, 'kubectl.kubernetes.io/default-container': 'compute'})
    annotations.update(network_annotations(vmi))
    return {
        'apiVersion': POD_API, 'kind': 'Pod',
        'metadata': {'name': 'virt-launcher-%s-%s' % (name, letters), 'namespace': namespace, 'labels': labels,
                     'annotations': annotations,
                     'ownerReferences': [{'apiVersion': KUBEVIRT, 'kind': 'VirtualMachineInstance', 'name': name,
                                          'uid': meta['uid'], 'controller': True, 'blockOwnerDeletion': True}]},
        'spec': {'nodeName': node, 'containers': [{'name': 'compute', 'image': 'quay.io/kubevirt/virt-launcher:lab'}]},
    }


def ensure_pod(api, vmi, migrate=True):
    """The VMI's current launcher pod: kept while its networks are those of the VMI, else a new one (the migration
    KubeVirt does for a NIC hot-plug, only when ``migrate``: otherwise the change waits). Returns
    ``(pod, replaced_pods)``; the caller deletes the replaced ones once the new pod has its network."""
    existing = pods_of(api, vmi['metadata']['uid'], vmi['metadata'].get('namespace'))
    wanted = network_annotations(vmi)
    if existing:
        current = existing[-1]
        annotations = current['metadata'].get('annotations') or {}
        if not migrate or all(annotations.get(key) == wanted.get(key) for key in (NETWORKS_ANNOTATION, DEFAULT_NETWORK_ANNOTATION)):
            return current, existing[:-1]
        node = current['spec'].get('nodeName') or choose_node(api, vmi)
    else:
        node = choose_node(api, vmi)
    # A name no pod of this VMI had before (a count of the pods alive could repeat one that was deleted).
    pod = desired_pod(vmi, node, int(vmi['metadata'].get('resourceVersion') or 0) * 16 + len(existing))
    api.internal_write(pod, 'virt-controller')
    return api.find(POD_API, 'Pod', pod['metadata']['namespace'], pod['metadata']['name']), existing


def set_pod_status(api, pod, started, pod_ip=None):
    """Running and Ready once every NIC has its network; Pending in ContainerCreating otherwise (as kubelet shows it)."""
    if started:
        status = {'phase': 'Running', 'conditions': [{'type': 'PodScheduled', 'status': 'True'}, {'type': 'Ready', 'status': 'True'}],
                  'containerStatuses': [{'name': 'compute', 'ready': True, 'restartCount': 0, 'image': pod['spec']['containers'][0]['image'],
                                         'imageID': '', 'state': {'running': {}}}]}
        if pod_ip:
            status['podIP'] = pod_ip
            status['podIPs'] = [{'ip': pod_ip}]
    else:
        status = {'phase': 'Pending',
                  'conditions': [{'type': 'PodScheduled', 'status': 'True'},
                                 {'type': 'Ready', 'status': 'False', 'reason': 'ContainersNotReady',
                                  'message': 'containers with unready status: [compute]'}],
                  'containerStatuses': [{'name': 'compute', 'ready': False, 'restartCount': 0, 'image': pod['spec']['containers'][0]['image'],
                                         'imageID': '', 'state': {'waiting': {'reason': 'ContainerCreating'}}}]}
    if pod.get('status') != status:
        updated = dict(pod, status=status)
        api.internal_write(updated, 'kubelet', subresource='status')
