"""Issue 9 #14: HD best-effort frames reach the node with the shipped Fast DDS profile, and
frames lost before the node are counted (stamp gaps) separately from frames the node
replaced in its latest-frame slot."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from depth_perception.ros.input_monitor import HealthWindow, StampGapCounter, Throttle
from test_node_harness import FAST, ROOT, NodeProcess, Peer, wait_for

PROFILE = ROOT / 'config' / 'fastdds_large_frames.xml'
PERIOD = 33_333_333


def test_gap_counter_counts_missing_frames_from_the_learnt_period():
    g = StampGapCounter()
    for i in (0, 1, 2, 6, 7, 10):          # 3, 4, 5 and 8, 9 never arrived
        g.add(10**9 + i * PERIOD)
    assert g.lost == 5 and g.period_ns == PERIOD


def test_gap_counter_ignores_jitter_pauses_and_backward_jumps():
    g = StampGapCounter()
    stamps = [0, PERIOD, 2 * PERIOD + 3_000_000, 3 * PERIOD - 2_000_000, 4 * PERIOD]   # jitter only
    for s in stamps:
        g.add(s)
    assert g.lost == 0
    g.add(4 * PERIOD + 6 * 10**9)           # a 6 s pause: the stream stopped, nothing lost
    g.add(2 * PERIOD)                       # back in time (bag loop)
    g.add(3 * PERIOD)
    assert (g.lost, g.pauses, g.backwards) == (0, 1, 1)


def test_health_window_reports_only_new_problems_and_throttle_counts_suppressed():
    w = HealthWindow()
    assert w.problems({'failed': 1, 'rejected': 0}) == {'failed': 1}
    assert w.problems({'failed': 1, 'rejected': 0}) == {}            # clean period: OK again
    assert w.problems({'failed': 1, 'rejected': 2, 'lost_before_node': 3}) == {'rejected': 2, 'lost_before_node': 3}
    t = Throttle(3600.0)
    assert t.admit('a') == (True, 0)
    assert t.admit('a') == (False, 1) and t.admit('a') == (False, 2)
    assert t.admit('b') == (True, 0)


def test_profile_is_valid_fast_dds_xml():
    import xml.etree.ElementTree as ET
    ns = {'d': 'http://www.eprosima.com'}
    root = ET.parse(PROFILE).getroot()
    segment = root.find('.//d:transport_descriptor[d:type="SHM"]/d:segment_size', ns)
    assert int(segment.text) >= 4 * 1920 * 1080 * 3      # several HD frames in flight
    participant = root.find('.//d:participant', ns)
    assert participant.get('is_default_profile') == 'true'


@pytest.mark.ros
@pytest.mark.slow
def test_frames_lost_before_the_node_are_reported_in_diagnostics(tmp_path):
    node = NodeProcess(tmp_path, {**FAST, 'diagnostics_period_s': 0.5, 'input_qos': 'reliable'})
    peer = Peer()
    skipped = {5, 6, 7, 12, 20, 21}
    try:
        peer.connect(node)
        for i in range(30):                  # reliable: every published frame arrives
            if i not in skipped:
                peer.publish(100, nanosec=i * PERIOD, info=True)
                time.sleep(0.03)
        assert wait_for(lambda: peer.stats().get('received', 0) >= 30 - len(skipped), 20), peer.stats()
        time.sleep(1.2)
        s = peer.stats()
        assert s['lost_before_node'] == len(skipped), s
        assert s['received'] == 30 - len(skipped)
        assert s['dropped'] + s['processed'] + s['failed'] <= s['received']   # slot replacements: separate
        assert 'lost before the node 6' in node.output()
    finally:
        peer.close()
        node.stop()


@pytest.mark.ros
@pytest.mark.slow
def test_hd_best_effort_frames_arrive_with_the_shipped_profile(tmp_path):
    """1280x720 rgb8, sensor-data QoS on both sides (the default): all frames reach the node."""
    env = {**os.environ, 'FASTDDS_DEFAULT_PROFILES_FILE': str(PROFILE)}
    n = 20
    node = NodeProcess(tmp_path, {**FAST, 'diagnostics_period_s': 0.5}, env=env)
    peer = Peer()
    camera = None
    try:
        peer.connect(node)
        camera = subprocess.Popen([sys.executable, str(ROOT / 'test' / 'test_node_harness.py'),
                                   '1280', '720', '5', str(n)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        out, _ = camera.communicate(timeout=120)
        assert camera.returncode == 0, out
        assert wait_for(lambda: peer.stats().get('received', 0) >= n, 15), (peer.stats(), node.output()[-2000:])
        assert peer.stats()['lost_before_node'] == 0
        assert np.isfinite(peer.stats()['processed'])
    finally:
        if camera is not None and camera.poll() is None:
            camera.kill()
        peer.close()
        node.stop()
