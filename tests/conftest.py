"""Shared pytest set-up: make ``ansible_collections.vmnet.kubevirt`` and the lab importable."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
for path in (ROOT / '.deps', ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# Lab fixtures (the API emulator and the host lab) are pytest plugins of the lab package.
pytest_plugins = ['lab.kubeapi.fixtures', 'lab.hosts.fixtures']
