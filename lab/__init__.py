"""The embedded test world: host nodes in namespaces and a Kubernetes API emulator (not shipped)."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Everything the lab writes at run time (inventories, keys, node state, kubeconfigs) lives here.
RUN_DIR = ROOT / 'lab' / '.run'
