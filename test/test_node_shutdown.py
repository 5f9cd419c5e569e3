"""Issue 9 #5: Ctrl-C while frames arrive is quiet (no ERROR, no traceback) and exits 0.

The peer streams faster than the model runs, so the worker is mid-frame when SIGINT arrives:
the moment the old node logged `publish on /depth/image failed: ... context is invalid`.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from test_node_harness import FAST, NodeProcess, Peer, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.mark.parametrize('delay_after_output_s', [0.0, 0.05, 0.15])
def test_sigint_while_streaming_is_quiet_and_exits_zero(tmp_path, delay_after_output_s):
    node = NodeProcess(tmp_path, {**FAST, 'diagnostics_period_s': 0.2})
    peer = Peer()
    stop = threading.Event()
    try:
        peer.connect(node)
        rgb = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)

        def stream():
            sec = 1000
            while not stop.is_set():
                peer.publish(sec, pixels=rgb)
                sec += 1
                time.sleep(0.01)
        streamer = threading.Thread(target=stream, daemon=True)
        streamer.start()
        assert wait_for(lambda: len(peer.get('depth/image')) >= 3, 60), node.output()
        n = len(peer.get('depth/image'))
        assert wait_for(lambda: len(peer.get('depth/image')) > n, 30)
        time.sleep(delay_after_output_s)
        rc = node.stop(30)                   # SIGINT while the stream goes on
    finally:
        stop.set()
        peer.close()
    out = node.output()
    assert rc == 0, out
    assert 'Traceback' not in out and 'KeyboardInterrupt' not in out, out
    assert 'ERROR' not in out and 'context is invalid' not in out, out
    assert 'ERROR' not in node.ros_log()
