"""boosted_depth_node over real DDS, the node in its own process (as `ros2 run` starts it).

Small random-weight networks saved in the released checkpoint layouts (MiDaS `model.pt`,
pix2pix `latest_net_G.pth`; the readers take sizes from the shapes). The node's output for a
frame is compared with `depth-perception boost` run on the same image saved as PNG.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from test_node_harness import FRAME, Peer, depth_of, wait_for

from depth_perception import boosted_params as B

pytestmark = [pytest.mark.ros, pytest.mark.slow]
rclpy = pytest.importorskip('rclpy')
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

H, W = 96, 128
K = np.array([[100.0, 0, 63.5], [0, 100.0, 47.5], [0, 0, 1]])
BOOST = {'receptive_field': 128, 'max_res': 480, 'mode': 'Final', 'device': 'cpu', 'num_threads': 1,
         'diagnostics_period_s': 0.5}


def textured_image() -> np.ndarray:
    rng = np.random.default_rng(7)
    img = np.full((H, W, 3), 120, np.uint8)
    img[10:50, 60:110] = rng.integers(0, 255, (40, 50, 3))
    img[60:90, 10:40] = rng.integers(0, 255, (30, 30, 3))
    return img


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    from depth_perception.models.midas import MidasNet
    from depth_perception.models.pix2pix_unet import UnetGenerator
    tmp = tmp_path_factory.mktemp('boost_node_files')
    torch.manual_seed(0)
    midas = MidasNet(features=8, layers=(1, 1, 1, 1), groups=2, width_per_group=2, base_planes=8)
    with torch.no_grad():
        midas.scratch.output_conv[4].bias.fill_(0.5)   # keep the final ReLU open
    torch.save({'model': midas.state_dict(), 'optimizer': {}}, tmp / 'model.pt')
    torch.manual_seed(1)
    torch.save(UnetGenerator(ngf=2).state_dict(), tmp / 'latest_net_G.pth')   # unet_1024, 10 levels
    (tmp / 'images').mkdir()
    cv2.imwrite(str(tmp / 'images' / 'frame.png'), textured_image()[:, :, ::-1])   # PNG is BGR
    return tmp


def offline(files: Path, out: str, *args) -> Path:
    """`depth-perception boost` on the saved frame; returns its --dump folder for the frame."""
    from depth_perception.cli.main import main
    rc = main(['boost', '--merge-checkpoint', str(files / 'latest_net_G.pth'), '--receptive-field', '128',
               '--input', str(files / 'images'), '--output', str(files / out), '--dump',
               str(files / f'{out}_dump'), '--device', 'cpu', *args])
    assert rc == 0
    return files / f'{out}_dump' / 'frame'


class BoostedProcess:
    def __init__(self, tmp_path: Path, params: dict, extra: tuple = ()):
        self.log_path = tmp_path / 'boosted_node.out'
        env = dict(os.environ, ROS_LOG_DIR=str(tmp_path / 'ros_log'), PYTHONUNBUFFERED='1')
        args = ['--ros-args']
        for k, v in params.items():
            args += ['-p', f'{k}:={str(v).lower() if isinstance(v, bool) else v}']
        self._log = self.log_path.open('w')
        self.proc = subprocess.Popen([sys.executable, '-m', 'depth_perception.ros.boosted_node', *args, *extra],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def output(self) -> str:
        return self.log_path.read_text(errors='replace')

    def wait(self, timeout_s=120) -> int:
        try:
            return self.proc.wait(timeout_s)
        finally:
            self._log.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


class BoostPeer(Peer):
    """The harness peer, also recording depth/relative; statistics of boosted_depth_node."""

    def __init__(self, namespace: str = ''):
        super().__init__(namespace=namespace, node_name=B.NODE_NAME)
        self.node.create_subscription(Image, f'{self.ns}/depth/relative', self._recorder('depth/relative'),
                                      QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))

    def connect(self, node: BoostedProcess, output: str, timeout_s=120) -> None:
        up = wait_for(lambda: node.proc.poll() is not None or (
            self.pub_image.get_subscription_count() > 0 and self.node.count_publishers(self.ns + output) > 0
            and self.node.count_subscribers(self.ns + output) > 0), timeout_s, 0.1)
        assert up and node.proc.poll() is None, f'node did not come up:\n{node.output()}'
        wait_for(lambda: False, 1.0)   # transport connections settle after discovery matching

    def node_topics(self) -> set[str]:
        ns = self.ns or '/'
        return {name[len(self.ns):] for name, _ in self.node.get_publisher_names_and_types_by_node(B.NODE_NAME, ns)
                if name.startswith(self.ns + '/')}

    def statuses(self):
        return [s for m in self.get('/diagnostics') for s in m.status if s.name.startswith(B.NODE_NAME)]

    def stats_when(self, predicate, timeout_s=30) -> dict:
        """The first /diagnostics statistics (newest first) for which predicate holds."""
        found = {}

        def check():
            for st in reversed(self.statuses()):
                s = {kv.key: float(kv.value) for kv in st.values}
                if predicate(s):
                    found.update(s)
                    return True
            return False
        assert wait_for(check, timeout_s, 0.1), self.stats()
        return found

    def frame(self, sec, pixels=None, topic='depth/relative', timeout_s=180, **kwargs) -> np.ndarray:
        self.publish(sec, textured_image() if pixels is None else pixels, K_=K, **kwargs)
        assert wait_for(lambda: self.with_stamp(topic, sec), timeout_s), f'no {topic} for frame {sec}'
        return depth_of(self.with_stamp(topic, sec)[0])


@pytest.fixture(scope='module')
def midas_node(files, tmp_path_factory):
    node = BoostedProcess(tmp_path_factory.mktemp('midas_node'), {
        **BOOST, 'base': 'midas', 'checkpoint': files / 'model.pt',
        'merge_checkpoint': files / 'latest_net_G.pth', 'max_patches': 0, 'budget_s': 0.0})
    peer = BoostPeer()
    try:
        peer.connect(node, '/depth/relative')
        yield peer, node
    finally:
        peer.close()
        assert node.stop() == 0, node.output()


def test_relative_output_equals_offline_boost_and_never_claims_metres(midas_node, files):
    peer, node = midas_node
    got = peer.frame(1)
    dump = offline(files, 'out_midas', '--base', 'midas', '--checkpoint', str(files / 'model.pt'),
                   '--mode', 'Final', '--max-res', '480')
    want = np.load(dump / 'result.npy')
    stages = json.loads((dump / 'stages.json').read_text())
    assert got.shape == want.shape == (H, W)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * np.abs(want).max())
    n = len(stages['patches_in_processing_order'])
    assert n > 2
    s = peer.stats_when(lambda s: s['processed'] >= 1)
    assert (s['patches_selected'], s['patches_used'], s['patches_skipped_by_budget']) == (n, n, 0)
    assert s['boost_resolution_px'] == stages['resolution_px']
    # Relative depth goes to a topic that says so; there is no depth/image (nor cloud) at all.
    topics = peer.node_topics()
    assert '/depth/relative' in topics and '/depth/colored' in topics and '/depth/camera_info' in topics
    assert '/depth/image' not in topics and '/points' not in topics
    assert peer.node.count_publishers('/depth/image') == 0 and peer.get('depth/image') == []
    msg = peer.with_stamp('depth/relative', 1)[0]
    assert msg.encoding == '32FC1' and msg.header.frame_id == FRAME
    (colored,) = peer.with_stamp('depth/colored', 1)
    assert colored.encoding == 'rgb8' and (colored.height, colored.width) == (H, W)


def test_relative_node_refuses_a_point_cloud(midas_node):
    peer, _ = midas_node
    result = peer.set_param('publish_points', True)
    assert not result.successful and 'relative depth' in result.reason and 'scdepth' in result.reason


def test_patch_budget_bounds_the_work(midas_node, files):
    from depth_perception.boosting.bases import MidasBase
    from depth_perception.boosting.budget import PatchBudget
    from depth_perception.boosting.pipeline import BoostConfig, boost
    from depth_perception.boosting.weights import read_merge_net, read_midas
    peer, _ = midas_node
    assert peer.set_param('max_patches', 2).successful
    got = peer.frame(2)
    s = peer.stats_when(lambda s: s['processed'] >= 1 and s['patches_used'] == 2)
    assert s['patches_selected'] > 2 and s['patches_skipped_by_budget'] == s['patches_selected'] - 2
    # The same as the offline pipeline given the same budget.
    base = MidasBase(read_midas(files / 'model.pt'))
    base.receptive_field = 128
    want = boost(textured_image(), base, read_merge_net(files / 'latest_net_G.pth'),
                 BoostConfig(mode='Final', max_res=480), budget=PatchBudget(max_patches=2))
    assert len(want.patches) == 2
    np.testing.assert_allclose(got, want.depth, rtol=0, atol=1e-4 * np.abs(want.depth).max())
    # A time budget already spent by the whole-image stage: no patch at all (counted, not timed).
    assert peer.set_param('max_patches', 0).successful
    assert peer.set_param('budget_s', 1e-6).successful
    peer.frame(3)
    s = peer.stats_when(lambda s: s['processed'] >= 3 and s['patches_used'] == 0)
    assert s['patches_skipped_by_budget'] == s['patches_selected'] > 2
    assert peer.set_param('budget_s', 0.0).successful


def test_bad_input_is_dropped_and_the_node_goes_on(midas_node):
    peer, node = midas_node
    before = peer.stats_when(lambda s: True)
    peer.publish(10, textured_image(), K_=K, encoding='rgb16')            # unsupported encoding
    peer.publish(11, textured_image(), K_=K, step=W)                      # step too short for rgb8
    tiny = np.full((20, 20, 3), 90, np.uint8)                             # too small to boost
    peer.publish(12, tiny, K_=np.array([[20.0, 0, 9.5], [0, 20.0, 9.5], [0, 0, 1]]))
    s = peer.stats_when(lambda s: s['rejected'] >= before['rejected'] + 2
                        and s['failed'] >= before['failed'] + 1, timeout_s=60)
    assert s['processed'] == before['processed']
    peer.frame(13)
    assert not any(peer.with_stamp(t, sec) for t in ('depth/relative', 'depth/colored') for sec in (10, 11, 12))
    assert node.proc.poll() is None
    out = node.output()
    assert 'dropped image' in out and 'estimation failed' in out and '20x20' in out


def test_scdepth_base_publishes_metres_on_depth_image(files, tmp_path):
    node = BoostedProcess(tmp_path, {**BOOST, 'base': 'scdepth', 'mode': 'R20', 'depth_scale': 2.0,
                                     'merge_checkpoint': files / 'latest_net_G.pth', 'publish_points': True},
                          ('-r', '__ns:=/sc'))    # beside the module's midas node
    peer = BoostPeer('/sc')
    try:
        peer.connect(node, '/depth/image', timeout_s=180)
        got = peer.frame(5, topic='depth/image')
        assert wait_for(lambda: peer.with_stamp('points', 5), 30)
        topics = peer.node_topics()
        assert '/depth/image' in topics and '/depth/relative' not in topics
        assert peer.get('depth/relative') == []
    finally:
        peer.close()
        assert node.stop() == 0, node.output()
    offline(files, 'out_sc', '--base', 'scdepth', '--mode', 'R20', '--depth-scale', '2.0')
    want = np.load(files / 'out_sc' / 'frame_depth.npy')
    ok = np.isfinite(want)
    assert ok.mean() > 0.95 and np.array_equal(np.isfinite(got), ok)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-3)
    # On SC-Depth's own scale x depth_scale (metres as scdepth_node would publish), not [0, 1].
    from depth_perception.estimators import CameraFrame, create_estimator
    sc = create_estimator('scdepth', estimate_motion=False, depth_scale=2.0, device='cpu')
    base_depth = sc.estimate(CameraFrame(textured_image())).depth_m
    assert np.median(got[ok] / base_depth[ok]) == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize('params,pattern', [
    ({'base': 'midas', 'checkpoint': 'MODEL'}, r'cannot start: parameter merge_checkpoint: not set'),
    ({'base': 'midas', 'merge_checkpoint': 'MERGE'}, r'cannot start: parameter checkpoint: not set; base midas'),
    ({'base': 'leres', 'merge_checkpoint': 'MERGE', 'checkpoint': '/nonexistent/res101.pth'},
     r'cannot start: parameter checkpoint: file /nonexistent/res101\.pth does not exist'),
    ({'base': 'midas', 'merge_checkpoint': 'MODEL', 'checkpoint': 'MODEL'},
     r'cannot start: .*model\.pt.*merge-net'),
    ({'base': 'midas', 'merge_checkpoint': 'MERGE', 'checkpoint': 'MODEL', 'merge_size': 512},
     r'cannot start: .*merge size 512 px: this merge net \(10 down-samplings\) runs at multiples of 1024 px'),
])
def test_start_up_errors_are_one_line(files, tmp_path, params, pattern):
    subst = {'MODEL': str(files / 'model.pt'), 'MERGE': str(files / 'latest_net_G.pth')}
    node = BoostedProcess(tmp_path, {'device': 'cpu', **{k: subst.get(v, v) for k, v in params.items()}})
    assert node.wait(120) == 1
    out = node.output()
    lines = [ln for ln in out.splitlines() if 'cannot start' in ln]
    assert len(lines) == 1 and re.search(pattern, lines[0]), out
    assert 'Traceback' not in out
