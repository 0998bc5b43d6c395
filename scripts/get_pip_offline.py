"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

scripts/setup writes it into ansible-test's cache beside the pip wheel. It runs pip from that
wheel to install pip into the new environment, taking the same arguments as get-pip.
"""
import glob
import os
import sys

PIP_VERSION = '@PIP_VERSION@'
IGNORED_OPTIONS = ('--no-setuptools', '--no-wheel')


def main():
    cache = os.path.dirname(os.path.abspath(__file__))
    wheels = glob.glob(os.path.join(cache, 'pip-%s-*.whl' % PIP_VERSION))
    if not wheels:
        sys.exit('pip %s wheel missing from %s: run scripts/setup' % (PIP_VERSION, cache))
    sys.path.insert(0, wheels[0])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    args = [arg for arg in sys.argv[1:] if arg not in IGNORED_OPTIONS]
    sys.exit(pip_main(['install', '--upgrade', '--force-reinstall', '--find-links', cache] + args))


if __name__ == '__main__':
    main()
