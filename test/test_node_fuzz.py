"""Issue 9 fuzz requirement, short version of bench/node_fuzz.py: malformed Image/CameraInfo
interleaved with valid frames over real DDS into a node process -> 0 crashes, 0 outputs for
bad input, and the valid frames still produce depth."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from test_node_harness import ROOT

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_fuzzed_messages_give_no_crash_and_no_output():
    proc = subprocess.run([sys.executable, str(ROOT / 'bench' / 'node_fuzz.py'), '--count', '400', '--seed', '3'],
                          capture_output=True, text=True, timeout=400, env=os.environ.copy())
    out = proc.stdout + proc.stderr
    assert 'crashes: 0\n' in out and 'outputs for bad input: 0\n' in out, out
    assert 'final valid frame served: True' in out, out
    assert proc.returncode == 0, out
