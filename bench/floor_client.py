"""The floor: the kubernetes Python client creating (or reading) the same VMs, nothing else.

Usage: floor_client.py create|get KUBECONFIG MANIFESTS_JSON
"""
import json
import sys

from kubernetes import client, config

GROUP, VERSION, PLURAL = 'kubevirt.io', 'v1', 'virtualmachines'


def main(argv):
    action, kubeconfig, manifests_path = argv
    with open(manifests_path, encoding='utf-8') as handle:
        manifests = json.load(handle)
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=kubeconfig))
    for manifest in manifests:
        namespace, name = manifest['metadata']['namespace'], manifest['metadata']['name']
        if action == 'create':
            api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
        else:
            api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
