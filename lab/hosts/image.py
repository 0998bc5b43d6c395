"""The shared "node image without Open vSwitch": an overlay layer, built once, cached by host state.

Purging Open vSwitch with dpkg and refreshing apt takes seconds per node. It is done once into a
layer between the host's system dirs and each node's own disk (overlayfs lower layers), keyed by
the host's dpkg status so it is rebuilt when the host's packages change. The layer also holds the
local apt repository its nodes install from: exactly the packages the layer lacks for
``openvswitch-switch``, fetched on the controller, and the layer's apt sources point only at it.
"""
import fcntl
import hashlib
import pathlib
import shutil
import sys

import lab as lab_package
from lab.hosts import aptrepo
from lab.hosts import system

LAYER_VERSION = '3'
DPKG_STATUS = pathlib.Path('/var/lib/dpkg/status')
COMPLETE = 'complete'


def layer_key():
    digest = hashlib.sha256(LAYER_VERSION.encode())
    digest.update(DPKG_STATUS.read_bytes())
    for sources in sorted(pathlib.Path('/etc/apt').glob('sources.list*')):
        if sources.is_file():
            digest.update(sources.read_bytes())
    return digest.hexdigest()[:16]


def layer_step(layer_dir, argv, input_text=None, check=True):
    """Run *argv* in throwaway mount and network namespaces that see the layer's overlays (the
    machine's own network and daemons stay out of reach of package scripts)."""
    return system.run(['unshare', '--mount', '--net', '--propagation', 'private', '--', sys.executable, '-m', 'lab.hosts.nodeinit',
                       layer_dir, '--layer-step'] + list(argv), input=input_text, check=check, timeout=600,
                      env=dict(system.NODE_ENV, PYTHONPATH=str(lab_package.ROOT)), cwd=str(lab_package.ROOT))


def build(layer_dir, cache_dir):
    layer_step(layer_dir, ['purge-ovs'])
    # An empty archive cache, else apt leaves out what the host's cache holds.
    archives = layer_dir / 'archives'
    (archives / 'partial').mkdir(parents=True)
    probe_argv = ['apt-get', '-o', 'Dir::Cache::Archives=%s/' % archives, 'install', '--print-uris', '-qq',
                  '--no-install-recommends'] + list(aptrepo.PACKAGES)
    probe = layer_step(layer_dir, probe_argv, check=False)
    if probe.returncode != 0:
        # A fresh machine may have no package lists yet (images often ship without them): fetch
        # them on the controller, as scripts/setup does, and ask again.
        system.run(['apt-get', 'update', '-qq'], timeout=600)
        probe = layer_step(layer_dir, probe_argv)
    wanted = aptrepo.missing_packages(probe.stdout)
    if not any(package == aptrepo.PACKAGES[0] for package, _version, _file in wanted):
        raise RuntimeError('the layer without Open vSwitch still has %s: %s' % (aptrepo.PACKAGES[0], probe.stdout[-500:]))
    repo_dir = aptrepo.build_repository(layer_dir / 'apt-repo', aptrepo.fetch(cache_dir, wanted))
    if not aptrepo.readable_by_others(repo_dir):
        layer_step(layer_dir, ['tee', '/etc/apt/apt.conf.d/99vmnet-lab-sandbox'], input_text=aptrepo.SANDBOX_AS_ROOT)
    layer_step(layer_dir, ['find', '/etc/apt/sources.list.d', '-mindepth', '1', '-delete'])
    layer_step(layer_dir, ['tee', '/etc/apt/sources.list'], input_text=aptrepo.sources_list(repo_dir))
    layer_step(layer_dir, ['find', '/var/lib/apt/lists', '-maxdepth', '1', '-type', 'f', '-delete'])
    layer_step(layer_dir, ['apt-get', 'update', '-qq'])
    return repo_dir


def ovs_free_layer(runs_dir):
    """(layer dir, apt repository dir) of the current host state, built if missing."""
    runs_dir = pathlib.Path(runs_dir)
    layers = runs_dir / '_layers'
    layers.mkdir(parents=True, exist_ok=True)
    layer_dir = layers / ('no-ovs-' + layer_key())
    with open(layers / '.lock', 'w', encoding='utf-8') as lock:
        # Labs starting at once build the layer once; later ones reuse it.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (layer_dir / COMPLETE).exists():
            shutil.rmtree(layer_dir, ignore_errors=True)
            layer_dir.mkdir()
            build(layer_dir, runs_dir / '_debs')
            (layer_dir / COMPLETE).write_text('built for dpkg status %s\n' % layer_key(), encoding='utf-8')
    return layer_dir, layer_dir / 'apt-repo'
