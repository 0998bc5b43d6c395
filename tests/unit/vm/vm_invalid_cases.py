"""Invalid vm_network inputs: (params, field named in the message, value shown, words of the rule)."""

BRIDGE_NIC = {'name': 'net1', 'multus_cr': 'kube-system/ovs-vlan30'}


def bridge(**extra):
    params = {'name': 'vm1', 'namespace': 'vms', 'network_mode': 'bridge', 'nics': [dict(BRIDGE_NIC)]}
    params.update(extra)
    return params


def masq(**extra):
    params = {'name': 'vm1', 'namespace': 'vms', 'network_mode': 'masquerade'}
    params.update(extra)
    return params


# (params, field named in the message, value shown, words of the rule)
INVALID = [
    ({'namespace': 'vms'}, 'name', 'null', 'name (with namespace) or a vms list'),
    (masq(name='Bad_Name'), 'name', '"Bad_Name"', 'DNS-1123 subdomain'),
    (masq(name='a' * 64), 'name', '"aaaa', 'at most 63'),
    (masq(namespace=None), 'namespace', 'null', 'is required'),
    (masq(namespace='Vms'), 'namespace', '"Vms"', 'DNS-1123 label'),
    (masq(vms=[{'name': 'a'}]), 'name', '"vm1"', 'either name + namespace or a vms list'),
    ({'namespace': 'vms', 'vms': []}, 'vms', '[]', 'non-empty list'),
    ({'namespace': 'vms', 'vms': [{'name': 'a'}, {'name': 'a'}]}, 'vms[1].name', '"a"', 'one entry per VM'),
    (masq(network_mode='nat'), 'network_mode', '"nat"', 'one of masquerade, bridge'),
    (masq(state='running'), 'state', '"running"', 'one of present, absent'),
    (masq(run_strategy='Running'), 'run_strategy', '"Running"', 'one of Always'),
    (masq(live_migration='maybe'), 'live_migration', '"maybe"', 'one of required'),
    (masq(nics=[{'name': 'a'}, {'name': 'b'}]), 'nics', '["a", "b"]', 'exactly one NIC'),
    (masq(nics=[{'name': 'a', 'multus_cr': 'kube-system/x'}]), 'nics[0].multus_cr', '"kube-system/x"', 'pod network only'),
    (masq(nics=[{'name': 'a', 'ip_pools': {'ipv4': ['p']}}]), 'nics[0].ip_pools', '{"ipv4": ["p"]}', 'need bridge mode'),
    (masq(nics=[{'name': 'a', 'use_default_ip_pool': False}]), 'nics[0].use_default_ip_pool', 'false', 'need bridge mode'),
    (masq(nics=[{'name': 'a', 'mac_address': '02:00:00:00:00:00'}]), 'nics[0].mac_address', '"02:00:00:00:00:00"', 'reserved'),
    (masq(ports=[{'port': 49152}]), 'ports[0].port', '49152', 'never 49152 or 49153'),
    (masq(ports=[{'port': 49153}]), 'ports[0].port', '49153', 'never 49152 or 49153'),
    (masq(ports=[{'port': 0}]), 'ports[0].port', '0', '1 to 65535'),
    (masq(ports=[{'port': 70000}]), 'ports[0].port', '70000', '1 to 65535'),
    (masq(ports=[{'port': 22, 'protocol': 'ICMP'}]), 'ports[0].protocol', '"ICMP"', 'one of TCP, UDP'),
    (masq(ports=[{'port': 9999, 'protocol': 'SCTP'}]), 'ports[0].protocol', '"SCTP"', "KubeVirt's masquerade forwards TCP and UDP only"),
    (masq(ports=[{'port': 8080, 'name': '8080'}]), 'ports[0].name', '"8080"', 'at least one letter'),
    (masq(ports=[{'port': 22, 'name': 'ssh'}, {'port': 2222, 'name': 'ssh'}]), 'ports[1].name', '"ssh"', 'repeats ports[0].name'),
    (masq(ports=[{'port': 22}, {'port': 22}]), 'ports[1]', '{"port": 22}', 'each port/protocol once'),
    (masq(ports=[{'port': 22, 'name': 'Way-Too-Long-Name'}]), 'ports[0].name', '"Way-Too-Long-Name"', 'IANA service name'),
    (bridge(ports=[{'port': 22}]), 'ports', '[{"port": 22}]', 'only apply to masquerade'),
    (bridge(nics=[]), 'nics', '[]', 'at least one NIC'),
    (bridge(nics=[{'name': 'a'}]), 'nics[0].multus_cr', 'null', 'every bridge NIC names a Multus CR'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'a/b/c'}]), 'nics[0].multus_cr', '"a/b/c"', 'namespace/name or name'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'kube-system/OVS'}]), 'nics[0].multus_cr', '"OVS"', 'DNS-1123 subdomain'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False}]), 'nics[0].ip_pools', 'null',
     'required when use_default_ip_pool is false'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'ip_pools': {'ipv4': ['p']}}]), 'nics[0].ip_pools', '{"ipv4": ["p"]}',
     'use_default_ip_pool: false'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['Pool_1']}}]),
     'nics[0].ip_pools.ipv4[0]', '"Pool_1"', 'DNS-1123 subdomain'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['p', 'p']}}]),
     'nics[0].ip_pools.ipv4[1]', '"p"', 'each pool once'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': []}}]),
     'nics[0].ip_pools', '{"ipv4": []}', 'at least one pool'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False, 'ip_pools': {'ip4': ['p']}}]),
     'nics[0].ip_pools', '"ip4"', 'ipv4 and/or ipv6'),
    (bridge(nics=[{'name': 'eth 0', 'multus_cr': 'x/y'}]), 'nics[0].name', '"eth 0"', '^[A-Za-z0-9_-]+$'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y'}, {'name': 'a', 'multus_cr': 'x/z'}]), 'nics[1].name', '"a"', 'unique NIC names'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'mac_address': 'zz:00:00:00:00:01'}]), 'nics[0].mac_address', '"zz:00', 'six hex octets'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'mac_address': '01:00:5e:00:00:01'}]), 'nics[0].mac_address', '"01:00:5e', 'unicast'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'mac_address': 'ff:ff:ff:ff:ff:ff'}]), 'nics[0].mac_address', '"ff:ff', 'unicast'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'mac_address': '00:00:00:00:00:00'}]), 'nics[0].mac_address', '"00:00', 'unicast'),
    ({'namespace': 'vms', 'network_mode': 'bridge', 'vms': [
        {'name': 'a', 'nics': [{'name': 'n', 'multus_cr': 'x/y', 'mac_address': '02:11:22:33:44:55'}]},
        {'name': 'b', 'nics': [{'name': 'n', 'multus_cr': 'x/y', 'mac_address': '02-11-22-33-44-55'}]}]},
     'vms[1].nics[0].mac_address', '"02:11:22:33:44:55"', 'one MAC per NIC across the batch'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'model': 'rtl9000'}]), 'nics[0].model', '"rtl9000"', 'one of e1000'),
    (masq(cpu_cores=0), 'cpu_cores', '0', 'cpu_cores >= 1'),
    (masq(memory='lots'), 'memory', '"lots"', 'Kubernetes quantity'),
    (masq(memory='0Gi'), 'memory', '"0Gi"', 'positive Kubernetes quantity'),
    (masq(disk={'type': 'floppy'}), 'disk.type', '"floppy"', 'one of container_disk'),
    (masq(disk={'type': 'container_disk'}), 'disk.image', 'null', 'container image reference'),
    (masq(disk={'type': 'pvc', 'claim_name': 'Bad Claim'}), 'disk.claim_name', '"Bad Claim"', 'DNS-1123 subdomain'),
    (masq(disk={'source_url': 'ftp://x/y.img', 'size': '10Gi'}), 'disk.source_url', '"ftp://x/y.img"', 'docker://image, http://'),
    (masq(disk={'source_url': 'docker://x/y', 'size': 'big'}), 'disk.size', '"big"', 'Kubernetes quantity'),
    (masq(disk={'source_url': 'docker://x/y', 'size': '1Gi', 'access_modes': ['RWX']}), 'disk.access_modes[0]', '"RWX"', 'one of ReadWriteOnce'),
    (masq(cloud_init={'user_data': '#cloud-config', 'user': 'x'}), 'cloud_init.user_data', '"<user_data>"', 'either your own user_data'),
    (masq(labels={'a': {'b': 1}}), 'labels.a', '{"b": 1}', 'is not a string value'),
    (masq(labels={'bad key!': 'x'}), 'labels', '"bad key!"', 'qualified name'),
    (masq(labels={'Example.COM/app': 'x'}), 'labels', '"Example.COM/app"', 'DNS-1123 subdomain prefix'),
    (masq(labels={'app': 'has space'}), 'labels.app', '"has space"', 'valid label value'),
    (masq(annotations={'/x': 'y'}), 'annotations', '"/x"', 'qualified name'),
    # hostile or careless values
    (masq(labels={'bad key': 'x'}), 'labels', '"bad key"', 'qualified name'),
    (masq(labels={'app': '$(reboot)'}), 'labels.app', '"$(reboot)"', 'valid label value'),
    (masq(labels={'app': 'x' * 64}), 'labels.app', '"xxxx', 'at most 63'),
    (masq(labels={'a/b/c': 'x'}), 'labels', '"a/b/c"', 'qualified name'),
    (masq(annotations={'note': None}), 'annotations.note', 'null', 'is not a string value'),
    (masq(annotations={'big': 'x' * 300000}), 'annotations', '"<300003 bytes>"', 'at most 262144 bytes'),
    (masq(cloud_init={'user_data_in': 'vault'}), 'cloud_init.user_data_in', '"vault"', 'one of auto, secret, inline'),
    (masq(cloud_init={'password': 12345}), 'cloud_init.password', '"<hidden>"', 'is not a string'),
    (masq(cloud_init={'user_data': ['#cloud-config']}), 'cloud_init.user_data', '"<hidden>"', 'is not a string'),
    (masq(namespace='vms; rm -rf /'), 'namespace', '"vms; rm -rf /"', 'DNS-1123 label'),
    (masq(name='vm1\n'), 'name', '"vm1\\n"', 'DNS-1123 subdomain'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'kube-system/ovs$(id)'}]), 'nics[0].multus_cr', '"ovs$(id)"', 'DNS-1123 subdomain'),
    (bridge(nics=[{'name': 'a', 'multus_cr': 'x/y', 'use_default_ip_pool': False, 'ip_pools': {'ipv4': ['p;id']}}]),
     'nics[0].ip_pools.ipv4[0]', '"p;id"', 'DNS-1123 subdomain'),
    (masq(disk={'image': 'quay.io/x:1 --privileged'}), 'disk.image', '"quay.io/x:1 --privileged"', 'without spaces'),
    (masq(disk={'source_url': 'docker://x/y\nz', 'size': '1Gi'}), 'disk.source_url', '"docker://x/y\\nz"', 'docker://image'),
    (masq(spec=['x']), 'spec', '["x"]', 'VirtualMachine spec fragment'),
    (bridge(dns={'servers': []}), 'dns.servers', '[]', 'one to three DNS server IPs'),
    (bridge(dns={'servers': ['10.0.0.53', 'dns.example.com']}), 'dns.servers[1]', '"dns.example.com"', 'an IP address'),
    (bridge(dns={'servers': ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']}), 'dns.servers', '["10.0.0.1"', 'at most 3'),
    (bridge(dns={'servers': ['10.0.0.53'], 'search': ['Bad_Domain']}), 'dns.search[0]', '"Bad_Domain"', 'DNS-1123 subdomain'),
    (bridge(dns={'servers': ['10.0.0.53'], 'search': ['a%d.example' % i for i in range(7)]}), 'dns.search', '["a0.example"', 'at most 6'),
    (bridge(dns={'servers': ['10.0.0.53'], 'options': ['x']}), 'dns', '"options"', 'servers and search'),
]
