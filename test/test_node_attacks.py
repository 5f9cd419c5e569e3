"""Issue 9 #16, #17 over real DDS: absurd intrinsics, tf-cycle frame ids, huge frame ids and
size claims are refused with nothing published for them; diagnostics recover; the
"stamps went backwards" warning is throttled; no numpy warnings on stderr."""
from __future__ import annotations

import time

import numpy as np
import pytest

from test_node_harness import FAST, FRAME, H, K, W, NodeProcess, Peer, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]
OUT = ('depth/image', 'depth/camera_info', 'depth/colored', 'points')


@pytest.fixture(scope='module')
def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('attacks')
    node = NodeProcess(tmp, {**FAST, 'diagnostics_period_s': 0.5})
    peer = Peer()
    try:
        peer.connect(node)
        yield peer, node
    finally:
        peer.close()
        node.stop()


def rejected(peer):
    return peer.stats().get('rejected', 0)


def assert_refused(peer, node, sec, n_rejections=1, **publish_kwargs):
    """Publish a bad frame, wait until the node counted it, then check nothing came out for it."""
    assert wait_for(lambda: 'rejected' in peer.stats(), 10)
    before = rejected(peer)
    peer.publish(sec, **publish_kwargs)
    assert wait_for(lambda: rejected(peer) >= before + n_rejections, 15), node.output()[-3000:]
    peer.process_one(sec + 1)                         # the next good frame still works
    for topic in OUT:
        assert not peer.with_stamp(topic, sec), topic
    assert not [t for m in peer.get('/tf') + peer.get('/tf_static') for t in m.transforms
                if t.header.stamp.sec == sec]
    assert node.proc.poll() is None


@pytest.mark.parametrize('name,k', [
    ('tiny_fx', [1e-300, 0, 31.5, 0, 60, 23.5, 0, 0, 1]),
    ('huge_cx', [60, 0, 1e300, 0, 60, 23.5, 0, 0, 1]),
    ('huge_fy', [60, 0, 31.5, 0, 1e12, 23.5, 0, 0, 1]),
])
def test_absurd_intrinsics_are_refused(system, name, k):
    peer, node = system
    sec = {'tiny_fx': 1000, 'huge_cx': 1010, 'huge_fy': 1020}[name]
    # camera_info and image of a size the node has not seen yet: only this K could pair with it
    pixels = np.zeros((H + 2 + sec % 7, W, 3), np.uint8)
    assert_refused(peer, node, sec, n_rejections=2, pixels=pixels, K_=np.array(k, float))
    out = node.output()
    assert 'implausible' in out or 'far outside' in out
    assert 'RuntimeWarning' not in out and 'overflow' not in out


@pytest.mark.parametrize('frame_id,sec', [('camera_link', 1100), ('odom', 1110), ('x' * 100_000, 1120),
                                          ('bad frame', 1130)])
def test_frame_ids_making_tf_cycles_or_too_long_are_refused(system, frame_id, sec):
    peer, node = system
    assert_refused(peer, node, sec, frame_id=frame_id)
    statics = [(t.header.frame_id, t.child_frame_id) for m in peer.get('/tf_static') for t in m.transforms]
    assert all(child == FRAME for _, child in statics), statics


def test_oversized_images_and_camera_info_are_refused(system):
    peer, node = system
    tiny = np.zeros((1, 1, 3), np.uint8)
    assert_refused(peer, node, 1200, pixels=tiny, info=False, width=20000, height=1, step=60000)
    assert_refused(peer, node, 1210, pixels=tiny, info=False, width=9000, height=9000, step=27000)
    assert_refused(peer, node, 1220, info_size=(2147483648, 65536), n_rejections=2,
                   pixels=np.zeros((H + 1, W + 1, 3), np.uint8))
    assert 'exceeds 16384 px per side or 64 Mpx' in node.output()


def test_diagnostics_return_to_ok_after_a_clean_period(system):
    peer, node = system
    peer.publish(1300, encoding='yuv422')                  # one bad frame
    assert wait_for(lambda: peer.statuses() and peer.statuses()[-1].level == b'\x01', 10)
    n = len(peer.statuses())
    for sec in range(1301, 1305):                           # then only good frames
        peer.process_one(sec)
    assert wait_for(lambda: len(peer.statuses()) > n + 2 and peer.statuses()[-1].level == b'\x00', 10), \
        [s.message for s in peer.statuses()[-3:]]


def test_stamps_going_backwards_warning_is_throttled(system):
    peer, node = system
    t0 = time.monotonic()
    n = 8
    for i in range(n):                                      # every frame older than the previous
        peer.process_one(5000 - i)
    elapsed = time.monotonic() - t0
    lines = [ln for ln in node.output().splitlines() if 'went backwards' in ln]
    # n - 1 backward steps; the throttle lets one warning through per 2 s period
    assert 1 <= len(lines) <= 1 + elapsed / 2.0, (len(lines), elapsed)
    assert len(lines) < n - 1 or elapsed > 2.0 * (n - 2), (len(lines), elapsed)
