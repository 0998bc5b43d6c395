"""Shared pytest set-up: make ``ansible_collections.vmnet.kubevirt`` and the lab importable."""
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# ANSIBLE_COLLECTIONS_PATH picks another set of dependencies, as the pass on the oldest supported
# versions does with .deps-oldest; ansible.cfg's .deps is the default.
DEPS = [pathlib.Path(entry) for entry in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep) if entry]
for path in list(reversed(DEPS or [ROOT / '.deps'])) + [ROOT]:
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# Lab fixtures (the API emulator and the host lab) are pytest plugins of the lab package.
pytest_plugins = ['lab.kubeapi.fixtures', 'lab.hosts.fixtures']
