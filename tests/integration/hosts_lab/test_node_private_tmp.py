"""A node's private /tmp must not hide a checkout that lives under /tmp (a CI clone, say):
the node's init, its Python and the node's own disk are there."""
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

from lab.hosts.fixtures import lab_unavailable_reason

ROOT = pathlib.Path(__file__).resolve().parents[3]

PROBE = '''
import os, pathlib, sys
from lab.hosts import nodeinit
kept, other = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
nodeinit.mount_private_tmpfs('/tmp', 'mode=1777,size=16m', keep=(kept,))
print((kept / 'inside').read_text(), other.exists(), sorted(os.listdir('/tmp')) == [kept.parts[2]])
'''


def test_private_tmp_keeps_the_checkout_and_hides_the_rest():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(dir='/tmp') as kept, tempfile.TemporaryDirectory(dir='/tmp') as other:
        pathlib.Path(kept, 'inside').write_text('visible', encoding='utf-8')
        completed = subprocess.run(['unshare', '--mount', '--propagation', 'private', '--', sys.executable, '-c', PROBE, kept, other],
                                   cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, check=False)
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.split() == ['visible', 'False', 'True']
