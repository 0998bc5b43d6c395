"""Benchmarks for vmnet.kubevirt, printed as ratios against baselines run side by side."""
import pathlib
import sys

# The collection's own module_utils (e.g. where ovs_bridge keeps its commit-confirm jobs) come
# from the checkout linked into .deps, as Ansible sees it.
_DEPS = str(pathlib.Path(__file__).resolve().parent.parent / '.deps')
if _DEPS not in sys.path:
    sys.path.insert(0, _DEPS)
