"""Run ``ansible-test integration`` on the targets in tests/integration/targets/ against the lab's
Kubernetes API emulator.

The targets talk to whatever cluster ``vmnet_kubeconfig`` names, so they also run against a real
cluster (see CONTRIBUTING.md). This wrapper lays out the same copy of the checkout as
scripts/sanity.py, starts an emulator with the Spiderpool and KubeVirt CRDs and their admission
simulations (as a cluster with both installed has them), writes its kubeconfig into the copy's
``tests/integration/integration_config.yml`` (which ansible-test hands to every target), runs
ansible-test, and stops the emulator by its PID.

    .venv/bin/python scripts/integration.py                 # every target
    .venv/bin/python scripts/integration.py multus_cr -v    # one target, ansible-test's options

``--deps DIR`` / ``--tree DIR`` as for scripts/sanity.py.
"""
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import sanity  # noqa: E402  pylint: disable=wrong-import-position
from lab.kubeapi.fixtures import start_kubeapi  # noqa: E402  pylint: disable=wrong-import-position

# What a cluster with Spiderpool and KubeVirt installed does on its own: admission webhooks, the
# NAD that Spiderpool generates from a SpiderMultusConfig, the pools' status counters.
SIMULATIONS = ('spiderpool-webhook', 'kubevirt-webhook', 'spidermultusconfig-nad', 'ippool-status')


def main():
    options, ansible_test_args = sanity.parse_layout_options()
    copy, _lock = sanity.prepare_copy(options.tree, options.deps)
    python = '%d.%d' % sys.version_info[:2]
    ansible_test = pathlib.Path(sys.executable).parent / 'ansible-test'
    with tempfile.TemporaryDirectory(prefix='vmnet-integration-') as workdir:
        with start_kubeapi(workdir, simulate=SIMULATIONS) as kubeapi:
            config = copy / 'tests' / 'integration' / 'integration_config.yml'
            config.write_text('---\nvmnet_kubeconfig: %s\n' % kubeapi.kubeconfig, encoding='utf-8')
            command = [str(ansible_test), 'integration', '--local', '--python', python, '--color', 'no'] + ansible_test_args
            env = dict((key, value) for key, value in os.environ.items() if not key.startswith(('K8S_AUTH_', 'KUBECONFIG')))
            env['ANSIBLE_COLLECTIONS_PATH'] = str(copy.parents[2])
            try:
                returncode = subprocess.run(command, cwd=copy, env=env, check=False).returncode
            finally:
                config.unlink()
    sys.exit(returncode)


if __name__ == '__main__':
    main()
