#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_network
short_description: Render and apply KubeVirt VMs in Masquerade or Bridge network mode
version_added: 0.1.0
description:
  - Creates, updates or deletes KubeVirt C(VirtualMachine) objects with the network each VM needs,
    one VM (O(name) + O(namespace)) or many in one run (O(vms)).
  - V(masquerade) (NAT, the default) puts one NIC on the pod network with the C(masquerade) binding written
    explicitly (KubeVirt would otherwise default to bridge). It works with whatever CNI the cluster runs
    (Calico, Cilium, Flannel), needs no Spiderpool, gives no fixed IP and is live-migratable.
  - V(bridge) connects every NIC through Multus to an Open vSwitch Multus CR (SpiderMultusConfig of type ovs
    or NetworkAttachmentDefinition); the first NIC is the VM's default network. Each NIC takes its CR's default
    IP pools or pools chosen by hand, written as Spiderpool's C(ipam.spidernet.io/ippools) annotation in NIC
    order. Spiderpool's KubeVirt static IP keeps the address across restarts (fixed IP).
  - Every NIC gets a MAC that is stable across runs (derived from namespace, VM and NIC name, locally
    administered, unicast) unless O(nics[].mac_address) is given; an existing VM keeps the MACs it has.
  - Cloud-init network data configures every NIC by MAC with DHCP, because bridge binding hands the pool IP to
    the guest by DHCP.
  - A preflight (O(preflight)) reads the cluster in bulk before anything is written and reports all problems at
    once; every input problem is reported before any write, naming the field, the value and the rule.
  - Adding a NIC to an existing Bridge VM updates its template; removing one sets C(state=absent) on the interface so
    KubeVirt unplugs it. What reaches a running VM and when is returned per NIC (RV(vms[].nics[].takes_effect)),
    with what waits for its next start (RV(vms[].pending_changes)); see the notes.
  - A change Spiderpool would not carry out is refused before any write, naming the SpiderEndpoint to release. Spiderpool
    keeps a VM's IPs per pod interface while the VM exists, so a NIC moved to other pools or another Multus CR, or a NIC
    that takes over the first NIC's place, would get the old addresses.
  - Pools chosen by hand are written as C(ipam.spidernet.io/ippools) items with the pod interface each NIC gets from
    KubeVirt (C(eth0), then C(pod) + 11 hex characters of the SHA-256 of the NIC name; C(net1), C(net2)... before KubeVirt
    v1.0, read from the KubeVirt CR's C(status.observedKubeVirtVersion), v1.0 or later when it cannot be read).
  - Top-level per-VM options (and O(defaults)) are defaults for every entry of O(vms).
author:
  - vmnet.kubevirt developers (!UNKNOWN)
extends_documentation_fragment:
  - vmnet.kubevirt.k8s_auth
  - vmnet.kubevirt.cluster_api
  - vmnet.kubevirt.attributes
  - vmnet.kubevirt.attributes.CLUSTER
options:
  name:
    description:
      - Name of the VirtualMachine (DNS-1123 subdomain, at most 63 characters). Mutually exclusive with O(vms).
    type: str
  namespace:
    description:
      - Namespace of the VirtualMachine. Default for every entry of O(vms).
    type: str
  state:
    description:
      - V(present) creates or updates the VM; V(absent) deletes it. Defaults to V(present).
    type: str
    choices: [present, absent]
  network_mode:
    description:
      - V(masquerade) (NAT on the pod network, one NIC) or V(bridge) (OVS through Multus, one or more NICs,
        fixed IP). Defaults to V(masquerade).
    type: str
    choices: [masquerade, bridge]
  nics:
    description:
      - The VM's NICs, in order. In V(bridge) mode the first one is the VM's default network.
      - In V(masquerade) mode at most one NIC (named C(default) unless named), with no O(nics[].multus_cr) and no
        O(nics[].ip_pools).
      - A pool picked by hand must lie in the subnet of the NIC's Multus CR when that CR has default pools (an ovs
        SpiderMultusConfig's pools, or the pools its NAD names).
    type: list
    elements: dict
    suboptions: &nic
      name:
        description:
          - NIC name (KubeVirt's C(^[A-Za-z0-9_-]+$)), unique within the VM. Used for the interface and the network.
        type: str
      multus_cr:
        description:
          - The Multus CR as C(namespace/name) (or C(name) in the VM's namespace), a SpiderMultusConfig of type ovs
            or a NetworkAttachmentDefinition. Required in V(bridge) mode.
        type: str
      use_default_ip_pool:
        description:
          - V(true) takes the Multus CR's default IP pools ("Use Default IP Pool" on); V(false) requires
            O(nics[].ip_pools).
        type: bool
        default: true
      ip_pools:
        description:
          - SpiderIPPools chosen by hand, by family. Only with O(nics[].use_default_ip_pool=false).
        type: dict
        suboptions:
          ipv4:
            description: IPv4 SpiderIPPool names, tried in order.
            type: list
            elements: str
          ipv6:
            description: IPv6 SpiderIPPool names, tried in order.
            type: list
            elements: str
      mac_address:
        description:
          - A unicast MAC. Without it, an existing VM keeps its MAC and a new one gets a stable derived MAC.
        type: str
      model:
        description: The NIC model (KubeVirt defaults to virtio, which hot-plug needs).
        type: str
        choices: [e1000, e1000e, igb, ne2k_pci, pcnet, rtl8139, virtio]
  ports:
    description:
      - Ports forwarded to the guest in V(masquerade) mode (all ports when left out). Never 49152 or 49153,
        which KubeVirt's migration proxy uses. Not allowed in V(bridge) mode.
    type: list
    elements: dict
    suboptions: &port
      port:
        description: Port number, 1-65535.
        type: int
        required: true
      protocol:
        description: Protocol (KubeVirt's masquerade binding forwards TCP and UDP only).
        type: str
        choices: [TCP, UDP]
        default: TCP
      name:
        description: Port name, unique within the VM (IANA service name, with at least one letter).
        type: str
  live_migration:
    description:
      - V(required) fails before any write when the VM would not be live-migratable; V(preferred) warns;
        V(ignore) only reports. Defaults to V(preferred).
      - Bridge + OVS migration is disputed upstream; the verdict then carries a note saying so.
    type: str
    choices: [required, preferred, ignore]
  run_strategy:
    description:
      - C(spec.runStrategy) (the deprecated C(spec.running) is never written). Defaults to V(Always).
    type: str
    choices: [Always, Halted, Manual, RerunOnFailure, Once]
  cpu_cores:
    description: Number of virtual CPU cores. Defaults to V(1).
    type: int
  memory:
    description: Guest memory as a Kubernetes quantity. Defaults to V(1Gi).
    type: str
  disk:
    description:
      - The root disk. Leave it out to give volumes through O(spec).
    type: dict
    suboptions: &disk
      type:
        description: Kind of disk; inferred from the other keys when left out.
        type: str
        choices: [container_disk, pvc, data_volume]
      image:
        description: Container disk image (for V(container_disk)).
        type: str
      claim_name:
        description: Existing PersistentVolumeClaim (for V(pvc)).
        type: str
      source_url:
        description: DataVolume source, C(docker://...) or C(http(s)://...) (for V(data_volume)).
        type: str
      size:
        description: DataVolume size (for V(data_volume)).
        type: str
      storage_class:
        description: DataVolume storage class.
        type: str
      access_modes:
        description: DataVolume access modes; C(ReadWriteMany) is needed for live migration.
        type: list
        elements: str
        choices: [ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod]
      bus:
        description: Disk bus.
        type: str
        choices: [virtio, sata, scsi, usb]
        default: virtio
  cloud_init:
    description:
      - Cloud-init NoCloud data. By default network data configures every NIC by MAC with DHCP.
      - User data that holds a secret (a O(cloud_init.password), or your own O(cloud_init.user_data)) is kept out of the VM
        spec by default - it goes into the Secret C(<vm name>-cloudinit) in the VM's namespace (C(cloudInitNoCloud.secretRef)),
        written with the VM and owned by it, so it is deleted with it. Network data stays inline. See O(cloud_init.user_data_in).
      - O(cloud_init.password) and O(cloud_init.user_data) never reach a log, a result or a diff, wherever they are given.
    type: dict
    suboptions: &cloud_init
      enabled:
        description: Add the cloud-init disk.
        type: bool
        default: true
      user_data:
        description: Your own user data (instead of the generated one); at most 2048 bytes (KubeVirt's limit). Treated as a secret.
        type: str
      network_data:
        description: Your own network data (instead of the generated one); at most 2048 bytes.
        type: str
      user:
        description: Default user for the generated user data.
        type: str
      password:
        description: Password for the generated user data.
        type: str
      ssh_authorized_keys:
        description: Public keys for the generated user data.
        type: list
        elements: str
      user_data_in:
        description:
          - Where the user data goes. V(auto) - a Secret when it holds a secret, else inline in the VM spec; V(secret) - always
            a Secret; V(inline) - always in the VM spec (C(cloudInitNoCloud.userData), readable by anyone who can read the VM;
            results and diffs still hide it).
          - A Secret of that name that vmnet.kubevirt did not make is never taken over. Switching to V(inline) deletes the
            collection's Secret.
        type: str
        choices: [auto, secret, inline]
        default: auto
  labels:
    description: Labels for the VM and its template.
    type: dict
  annotations:
    description: Annotations for the VM and its template.
    type: dict
  spec:
    description:
      - Free-form C(VirtualMachine.spec) fragment merged last (dicts merge, lists replace).
    type: dict
  dns:
    description:
      - DNS for the guest. KubeVirt's DHCP hands the guest the DNS servers of its virt-launcher pod, by default the
        cluster DNS Service IP, which a Bridge VM on an OVS underlay network usually cannot reach (Service IPs are not
        routed on the VLAN); without O(dns) a Bridge VM gets a warning.
      - Written as the template's C(dnsPolicy=None) and C(dnsConfig), so the pod, and through KubeVirt's DHCP the guest,
        use these servers. A change on a running VM applies at its next start.
    type: dict
    suboptions: &dns
      servers:
        description: One to three DNS server IPs (KubeVirt's limit).
        type: list
        elements: str
        required: true
      search:
        description: Search domains, at most six (KubeVirt's limit).
        type: list
        elements: str
  render_only:
    description:
      - Return the manifests without contacting any cluster (no kubeconfig needed).
    type: bool
    default: false
  return_manifests:
    description:
      - Return each VM's rendered manifest in RV(vms[].manifest).
      - V(false) leaves the manifests out of the result; everything else stays, NICs and their IPs included. With
        thousands of VMs in one task the manifests are most of what Ansible carries, logs and an automation controller stores.
        Cannot be combined with O(render_only=true). Diff mode (C(--diff)) still shows every change.
    type: bool
    default: true
  preflight:
    description:
      - Check the cluster before writing (CRDs served, Multus CRs of type ovs, pools existing, enabled, of the right
        family, admitting the VM and with enough free IPs for the whole batch). Skipped by O(render_only).
    type: bool
    default: true
  spiderpool_namespace:
    description:
      - Namespace Spiderpool is installed in; a pool's bare C(multusName) entries refer to it.
    type: str
    default: kube-system
  wait:
    description:
      - Wait until every VM is ready (or stopped when its run strategy is V(Halted)).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for each VM with O(wait).
    type: int
    default: 120
  create_namespaces:
    description:
      - Create the namespaces of VMs to create that do not exist yet (after every check passed, before the first VM).
        Without it a missing namespace is a preflight problem (a warning in check mode).
    type: bool
    default: false
  vms:
    description:
      - Many VMs in one module run, sharing one API client, one discovery and one bulk preflight.
      - Each entry takes the per-VM options, with their full suboptions (an unknown key fails naming the entry and the keys
        allowed there); options left out come from O(defaults), then from the top level.
    type: list
    elements: dict
    suboptions:
      annotations:
        description: See O(annotations).
        type: dict
      cloud_init:
        description: See O(cloud_init).
        type: dict
        suboptions: *cloud_init
      cpu_cores:
        description: See O(cpu_cores).
        type: int
      disk:
        description: See O(disk).
        type: dict
        suboptions: *disk
      dns:
        description: See O(dns).
        type: dict
        suboptions: *dns
      labels:
        description: See O(labels).
        type: dict
      live_migration:
        description: See O(live_migration).
        type: str
        choices: [required, preferred, ignore]
      memory:
        description: See O(memory).
        type: str
      name:
        description: See O(name).
        type: str
        required: true
      namespace:
        description: See O(namespace).
        type: str
      network_mode:
        description: See O(network_mode).
        type: str
        choices: [masquerade, bridge]
      nics:
        description: See O(nics).
        type: list
        elements: dict
        suboptions: *nic
      ports:
        description: See O(ports).
        type: list
        elements: dict
        suboptions: *port
      run_strategy:
        description: See O(run_strategy).
        type: str
        choices: [Always, Halted, Manual, RerunOnFailure, Once]
      spec:
        description: See O(spec).
        type: dict
      state:
        description: See O(state).
        type: str
        choices: [present, absent]
  defaults:
    description:
      - Per-VM options every entry of O(vms) takes unless it sets them itself, as one mapping (for playbooks that take them
        from a variable such as C(vmnet_vm_defaults)); they come before the top-level per-VM options.
      - Every key is checked, so a misspelt default fails instead of being dropped.
    type: dict
    suboptions:
      annotations:
        description: See O(annotations).
        type: dict
      cloud_init:
        description: See O(cloud_init).
        type: dict
        suboptions: *cloud_init
      cpu_cores:
        description: See O(cpu_cores).
        type: int
      disk:
        description: See O(disk).
        type: dict
        suboptions: *disk
      dns:
        description: See O(dns).
        type: dict
        suboptions: *dns
      labels:
        description: See O(labels).
        type: dict
      live_migration:
        description: See O(live_migration).
        type: str
        choices: [required, preferred, ignore]
      memory:
        description: See O(memory).
        type: str
      namespace:
        description: See O(namespace).
        type: str
      network_mode:
        description: See O(network_mode).
        type: str
        choices: [masquerade, bridge]
      nics:
        description: See O(nics).
        type: list
        elements: dict
        suboptions: *nic
      ports:
        description: See O(ports).
        type: list
        elements: dict
        suboptions: *port
      run_strategy:
        description: See O(run_strategy).
        type: str
        choices: [Always, Halted, Manual, RerunOnFailure, Once]
      spec:
        description: See O(spec).
        type: dict
      state:
        description: See O(state).
        type: str
        choices: [present, absent]
attributes:
  check_mode:
    support: full
    details: Every write is sent as a server-side dry run; with O(render_only) the cluster is not contacted at all.
  diff_mode:
    support: full
    details: Returns one diff per VM, the VirtualMachine before and after.
notes:
  - Check mode sends every write as a server-side dry run. Diff mode returns one diff per VM.
  - NIC hot-plug from the template needs KubeVirt v1.4 or later (v1.1 to v1.3 with the C(HotplugNICs) feature gate; v1.0
    hot-plugs only through its C(addinterface) API). In-place hot-plug needs Multus thick and KubeVirt's dynamic networks
    controller; Spiderpool installs Multus thin, so the NIC reaches the guest by a live migration, which KubeVirt starts
    itself only from v1.6, with C(vmRolloutStrategy=LiveUpdate) (the default since v1.6) and C(LiveMigrate) among the
    KubeVirt CR's C(workloadUpdateMethods), for a VM that can migrate. The preflight reads the KubeVirt CR to say which.
  - Template labels and annotations, and every template change other than a NIC hot-plug, a NIC's Multus CR (KubeVirt v1.9,
    v1.8 with C(LiveUpdateNADRef)) and under LiveUpdate CPU sockets, memory, node selector, affinity and tolerations, reach
    a running VM only at its next start. The generated cloud-init network data changes with the NICs, so adding or
    removing a NIC on a running VM also leaves it C(RestartRequired).
seealso:
  - module: vmnet.kubevirt.vm_network_info
  - module: vmnet.kubevirt.multus_cr
  - module: vmnet.kubevirt.spiderpool_ippool
'''

EXAMPLES = r'''
- name: A masquerade VM on whatever CNI the cluster runs
  vmnet.kubevirt.vm_network:
    name: web1
    namespace: vms
    network_mode: masquerade
    ports:
      - port: 22
      - port: 80
    disk:
      image: quay.io/containerdisks/fedora:41
    cloud_init:
      user: fedora
      ssh_authorized_keys:
        - "ssh-ed25519 AAAAC3Nza... admin@example"

- name: A bridge VM with one NIC on its Multus CR's default pool
  vmnet.kubevirt.vm_network:
    name: db1
    namespace: vms
    network_mode: bridge
    nics:
      - name: ovs-vlan30
        multus_cr: kube-system/ovs-vlan30
    disk:
      image: quay.io/containerdisks/fedora:41

- name: Many bridge VMs with two NICs on pools chosen by hand, in one task (one preflight for the batch)
  vmnet.kubevirt.vm_network:
    namespace: vms
    network_mode: bridge
    live_migration: ignore
    vms:
      - name: app-000
      - name: app-001
        memory: 4Gi
      - name: app-002
        namespace: other
    nics:
      - name: front
        multus_cr: kube-system/ovs-vlan30
        use_default_ip_pool: false
        ip_pools:
          ipv4: [vlan30-v4]
      - name: back
        multus_cr: kube-system/ovs-vlan40
        use_default_ip_pool: false
        ip_pools:
          ipv4: [vlan40-v4]

- name: Only render the manifests (no cluster)
  vmnet.kubevirt.vm_network:
    name: db1
    namespace: vms
    network_mode: bridge
    nics:
      - name: ovs-vlan30
        multus_cr: kube-system/ovs-vlan30
    render_only: true
  register: rendered

- name: Delete a VM
  vmnet.kubevirt.vm_network:
    name: db1
    namespace: vms
    state: absent
'''

RETURN = r'''
vms:
  description: One result per VM, in input order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM name.
      type: str
      sample: db1
    namespace:
      description: VM namespace.
      type: str
      sample: vms
    state:
      description: Requested state.
      type: str
      sample: present
    changed:
      description: Whether this VM was (or in check mode would be) changed.
      type: bool
    action:
      description: What happened, one of C(created), C(updated), C(unchanged), C(deleted), C(absent), C(rendered), C(failed).
      type: str
      sample: created
    failed:
      description: Whether this VM failed (the others are still applied).
      type: bool
    msg:
      description: Why this VM failed.
      type: str
      returned: when failed
    manifest:
      description: The rendered VirtualMachine.
      type: dict
      returned: unless O(return_manifests=false)
    nics:
      description: The VM's NICs.
      type: list
      elements: dict
      contains:
        name:
          description: NIC name.
          type: str
        mode:
          description: C(masquerade) or C(bridge).
          type: str
        multus_cr:
          description: The Multus CR (C(namespace/name)), null in masquerade mode.
          type: str
        ip_pools:
          description: The pools the NIC draws from, by family (the CR's defaults when known).
          type: dict
        use_default_ip_pool:
          description: Whether the NIC takes its Multus CR's default pools (null in masquerade mode).
          type: bool
        mac_address:
          description: The NIC's MAC.
          type: str
        fixed_ip:
          description:
            - Whether the guest gets a fixed IP on this NIC (Spiderpool KubeVirt static IP, handed over KubeVirt's DHCPv4).
              False in masquerade mode and for a Bridge NIC with IPv6 pools only.
          type: bool
        guest_ip_families:
          description:
            - The IP families the guest gets from Spiderpool on this Bridge NIC. KubeVirt's bridge binding serves DHCPv4
              only, so this is V(ipv4) at most; an IPv6 pool's address stays on the pod interface. Null when the pools are
              not known (O(render_only)) and in masquerade mode.
          type: list
          elements: str
        ip_addresses:
          description: IPs the VMI status reports for this NIC (empty when the VM is not running).
          type: list
          elements: str
        state:
          description: C(up), or C(absent) for a NIC being unplugged.
          type: str
        takes_effect:
          description:
            - When this NIC as rendered is what the VM runs with. V(at_start) for a VM that is not running (everything
              applies when it starts), V(in_force) for a running VM whose NIC does not change, V(hotplug) when KubeVirt
              hot-plugs or unplugs it by a live migration it starts itself, V(after_migration) when KubeVirt adds it to the
              running VMI but it reaches the guest only after a live migration someone starts, V(next_start) when it waits
              for the next start of the VM. Null with O(render_only).
          type: str
          choices: [at_start, in_force, hotplug, after_migration, next_start]
    restart_required:
      description:
        - Whether the change waits for the next start of the running VM (KubeVirt sets the condition C(RestartRequired)
          for it, or already reports it). Null with O(render_only).
      type: bool
    pending_changes:
      description:
        - What reaches the running VM only at its next start, for instance a changed NIC, other template fields, or the
          C(ipam.spidernet.io/ippools) annotation, which KubeVirt never copies onto a running VMI.
      type: list
      elements: str
    live_migratable:
      description:
        - True only when nothing blocks live migration and nothing about it is in doubt (RV(vms[].live_migration_verdict=yes)).
          A disputed or unchecked verdict is false here, so a yes/no reader never sees an unqualified yes.
      type: bool
    live_migration_verdict:
      description:
        - V(yes) (nothing blocks, nothing in doubt), V(no) (see RV(vms[].live_migration_blockers)), V(disputed) (nothing
          blocks, but upstream disagrees whether it works, as for bridge binding on OVS), V(unchecked) (nothing blocks, but
          something could not be checked, see RV(vms[].live_migration_notes)).
      type: str
      choices: ["yes", "no", disputed, unchecked]
    live_migration_blockers:
      description: Why the VM cannot live-migrate (empty when it can).
      type: list
      elements: str
    live_migration_notes:
      description: Doubts and things that could not be checked (for example the bridge + OVS dispute).
      type: list
      elements: str
    warnings:
      description: Non-fatal findings for this VM (restart needed, node-limited pools).
      type: list
      elements: str
changed:
  description: Whether any VM changed.
  returned: always
  type: bool
api_retries:
  description: How many transient API failures (429, 5xx, connection) were retried.
  returned: when the cluster was contacted
  type: int
namespaces_created:
  description: Namespaces created for the VMs (O(create_namespaces)); in check mode the ones that would be.
  returned: when the cluster was contacted
  type: list
  elements: str
'''

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.vmnet.kubevirt.plugins.module_utils._k8s import KubeApi, api_argument_spec
from ansible_collections.vmnet.kubevirt.plugins.module_utils._options import StrictModule
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_run import run
from ansible_collections.vmnet.kubevirt.plugins.module_utils._vm_spec import USER_DATA_PLACES
from ansible_collections.vmnet.kubevirt.plugins.module_utils._problems import run_module

NIC_SPEC = dict(
    name=dict(type='str'),
    multus_cr=dict(type='str'),
    use_default_ip_pool=dict(type='bool', default=True),
    ip_pools=dict(type='dict', options=dict(ipv4=dict(type='list', elements='str'), ipv6=dict(type='list', elements='str'))),
    mac_address=dict(type='str'),
    model=dict(type='str', choices=['e1000', 'e1000e', 'igb', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio']),
)
PORT_SPEC = dict(port=dict(type='int', required=True), protocol=dict(type='str', choices=['TCP', 'UDP'], default='TCP'),
                 name=dict(type='str'))
DISK_SPEC = dict(
    type=dict(type='str', choices=['container_disk', 'pvc', 'data_volume']),
    image=dict(type='str'), claim_name=dict(type='str'), source_url=dict(type='str'), size=dict(type='str'),
    storage_class=dict(type='str'),
    access_modes=dict(type='list', elements='str', choices=['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']),
    bus=dict(type='str', choices=['virtio', 'sata', 'scsi', 'usb'], default='virtio'),
)
DNS_SPEC = dict(servers=dict(type='list', elements='str', required=True), search=dict(type='list', elements='str'))
# user_data and password are secrets wherever they are given (top level, defaults or a vms entry): AnsibleModule
# hides them from its invocation log, the result and the diff because every place has this real suboption spec.
CLOUD_INIT_SPEC = dict(
    enabled=dict(type='bool', default=True), user_data=dict(type='str', no_log=True), network_data=dict(type='str'), user=dict(type='str'),
    password=dict(type='str', no_log=True), ssh_authorized_keys=dict(type='list', elements='str', no_log=False),
    user_data_in=dict(type='str', choices=list(USER_DATA_PLACES), default='auto'),
)


def vm_options(in_vms):
    """Per-VM options: the same at the top level, in ``defaults`` and in each ``vms`` entry (full suboptions everywhere)."""
    return dict(
        name=dict(type='str', required=in_vms),
        namespace=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent']),
        network_mode=dict(type='str', choices=['masquerade', 'bridge']),
        live_migration=dict(type='str', choices=['required', 'preferred', 'ignore']),
        run_strategy=dict(type='str', choices=['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once']),
        cpu_cores=dict(type='int'),
        memory=dict(type='str'),
        labels=dict(type='dict'),
        annotations=dict(type='dict'),
        spec=dict(type='dict'),
        nics=dict(type='list', elements='dict', options=copy.deepcopy(NIC_SPEC)),
        ports=dict(type='list', elements='dict', options=copy.deepcopy(PORT_SPEC)),
        disk=dict(type='dict', options=copy.deepcopy(DISK_SPEC)),
        cloud_init=dict(type='dict', options=copy.deepcopy(CLOUD_INIT_SPEC)),
        dns=dict(type='dict', options=copy.deepcopy(DNS_SPEC)),
    )


def argument_spec():
    spec = api_argument_spec()
    spec.update(vm_options(False))
    defaults = vm_options(True)
    del defaults['name']
    spec.update(
        vms=dict(type='list', elements='dict', options=vm_options(True)),
        defaults=dict(type='dict', options=defaults),
        create_namespaces=dict(type='bool', default=False),
        render_only=dict(type='bool', default=False),
        return_manifests=dict(type='bool', default=True),
        preflight=dict(type='bool', default=True),
        spiderpool_namespace=dict(type='str', default='kube-system'),
        wait=dict(type='bool', default=False),
        wait_timeout=dict(type='int', default=120),
    )
    return spec


def main():
    module = AnsibleK8SModule(argument_spec=argument_spec(), mutually_exclusive=[('name', 'vms')], supports_check_mode=True,
                              check_k8s=False, check_pyyaml=False, module_class=StrictModule)
    run_module(module, run, connect=KubeApi.from_params)


if __name__ == '__main__':
    main()
