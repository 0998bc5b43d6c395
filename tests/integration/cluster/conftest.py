"""Fixtures of the cluster-networking integration tests (helpers live in cluster_helpers.py)."""
import pytest

from cluster_helpers import PlayRunner, upstream_or_skip


@pytest.fixture
def play(tmp_path, kubeapi):
    """Run tasks through real ansible-playbook against the emulator (see cluster_helpers.PlayRunner)."""
    return PlayRunner(tmp_path, kubeapi)


@pytest.fixture
def upstream_crds():
    """../shared/upstream, or skip with a message when it is absent."""
    return upstream_or_skip()
