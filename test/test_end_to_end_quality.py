"""End to end, depth must be *right*: with the shipped model, on the exact ground truth of the
package's default demo sequence, every way of running the model must beat a constant
prediction by a margin that a plane cannot meet.

The bar (per image, over the frames each path produced):
- median Spearman rank correlation between prediction and GT > RHO_MIN: a constant has no
  ranking at all (0), a fixed tilted plane ranks the room wrongly (~0), and even the plane
  fitted to each GT frame by least squares (an oracle no method has) stays below it;
- median abs_rel (median scaling, as SC-Depth evaluates) < ABS_REL_FACTOR x the constant's
  median abs_rel on the same frames: a fixed tilted plane is far above it.
Measured on the 30 frames (this branch, CPU): shipped model rho 0.847, abs_rel 0.103; constant
rho 0, abs_rel 0.137; fixed tilted plane rho ~0, abs_rel 0.53; per-frame GT-fitted plane
rho 0.767, abs_rel 0.088. `test_the_bar_rejects_a_constant_and_planes` keeps those facts tested.

Motion: the pose network alone does not beat standing still on this hand-held sequence (see
training/README.md); the estimator's motion, refined photometrically against its own depth,
must beat standing still by a wide margin (and a constant velocity on rotation).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from scipy.stats import spearmanr

from depth_perception.evaluation.depth_metrics import frame_errors, get_preset, valid_pixels
from depth_perception.synthetic.default import default_sequence, default_sequence_bag

pytestmark = pytest.mark.slow

RHO_MIN = 0.8
ABS_REL_FACTOR = 0.85
PRESET = get_preset('generic')


@pytest.fixture(scope='module')
def truth():
    """stamp_ns -> (rgb, GT depth in metres) of the default sequence, and its intrinsics."""
    seq = default_sequence()
    frames = {int(f.stamp_ns): (f.rgb, f.depth_m) for f in seq}
    return frames, seq.K, seq.T_world_cam


@pytest.fixture(scope='module')
def bag(tmp_path_factory):
    return default_sequence_bag(cache_dir=tmp_path_factory.mktemp('cache'))


def frame_stats(gt_m, pred):
    pix = valid_pixels(gt_m, pred, PRESET)
    abs_rel = frame_errors(pix, pix.median_ratio, PRESET)['all']['abs_rel']
    rho = spearmanr(pix.gt_m, pix.pred_m).correlation if np.ptp(pix.pred_m) > 0 else 0.0
    return abs_rel, rho


def quality(gts, preds) -> dict:
    """Median per-image rho and abs_rel of `preds`, and the constant's abs_rel on the same frames."""
    assert len(gts) == len(preds) and len(gts) >= 5, (len(gts), len(preds))
    rows = np.array([frame_stats(g, p) for g, p in zip(gts, preds)])
    const = [frame_stats(g, np.full(g.shape, 2.0, np.float32))[0] for g in gts]
    return {'frames': len(gts), 'rho': float(np.median(rows[:, 1])), 'abs_rel': float(np.median(rows[:, 0])),
            'const_abs_rel': float(np.median(const))}


def passes(q) -> bool:
    return q['rho'] > RHO_MIN and q['abs_rel'] < ABS_REL_FACTOR * q['const_abs_rel']


def assert_beats_constant(q):
    print("quality", q)
    assert passes(q), (f'depth not right: median rho {q["rho"]:.3f} (need > {RHO_MIN}), median abs_rel '
                       f'{q["abs_rel"]:.3f} (need < {ABS_REL_FACTOR} x constant {q["const_abs_rel"]:.3f}) '
                       f'over {q["frames"]} frames')


def gt_of(truth, stamps):
    frames = truth[0]
    return [frames[int(s)][1] for s in stamps]


# ------------------------------------------------------------------------- the bar itself
def test_the_bar_rejects_a_constant_and_planes(truth):
    frames, K, _ = truth
    gts = [d for _, d in frames.values()]
    h, w = gts[0].shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    const = [np.full((h, w), 3.0, np.float32) for _ in gts]
    # A fixed tilted plane (inverse depth affine in the row: 6 m at the top, 1 m at the bottom).
    tilted = (1.0 / (1 / 6 + (1 - 1 / 6) * v / (h - 1))).astype(np.float32)
    tilted_up = tilted[::-1].copy()
    fitted = []
    for g in gts:    # the best plane for each GT frame: an oracle, fitted in inverse depth
        ok = np.isfinite(g) & (g > 0)
        A = np.stack([u[ok], v[ok], np.ones(ok.sum())], 1)
        coef = np.linalg.lstsq(A, 1.0 / g[ok], rcond=None)[0]
        inv = u * coef[0] + v * coef[1] + coef[2]
        fitted.append(np.where(inv > 1e-3, 1.0 / np.maximum(inv, 1e-3), np.nan).astype(np.float32))
    for name, preds in (('constant', const), ('tilted plane', [tilted] * len(gts)),
                        ('tilted plane, up', [tilted_up] * len(gts)), ('GT-fitted plane', fitted)):
        q = quality(gts, preds)
        assert not passes(q), (name, q)
    # and the ground truth itself, slightly noisy, passes (the bar is reachable)
    rng = np.random.default_rng(0)
    noisy = [(g * rng.uniform(0.9, 1.1, g.shape)).astype(np.float32) for g in gts]
    assert passes(quality(gts, noisy))


# ------------------------------------------------------------------------------- paths
@pytest.fixture(scope='module')
def estimator_run(truth):
    from depth_perception.estimators import CameraFrame, create_estimator
    frames, K, _ = truth
    est = create_estimator('scdepth', device='cpu', num_threads=1)
    out = []
    for stamp, (rgb, _) in sorted(frames.items()):
        out.append((stamp, est.estimate(CameraFrame(rgb, K, stamp))))
    return out


def test_estimator_depth_is_right(truth, estimator_run):
    stamps = [s for s, _ in estimator_run]
    assert_beats_constant(quality(gt_of(truth, stamps), [r.depth_m for _, r in estimator_run]))


def _motion_errors(truth, rel):
    """Mean relative-motion errors after the best single scale: (trans m, rot deg)."""
    G = truth[2]
    gt_rel = [np.linalg.inv(G[i - 1]) @ G[i] for i in range(1, len(G))]
    gt_t = np.array([T[:3, 3] for T in gt_rel])
    est_t = np.array([T[:3, 3] for T in rel])
    s = float((gt_t * est_t).sum() / max((est_t * est_t).sum(), 1e-12))
    trans = float(np.linalg.norm(gt_t - s * est_t, axis=1).mean())
    rot = float(np.mean([np.degrees(Rotation.from_matrix(g[:3, :3].T @ e[:3, :3]).magnitude())
                         for g, e in zip(gt_rel, rel)]))
    return trans, rot


def _constant_velocity(truth):
    """Each frame's motion predicted as the previous frame's true motion."""
    G = truth[2]
    gt_rel = [np.linalg.inv(G[i - 1]) @ G[i] for i in range(1, len(G))]
    return [np.eye(4)] + gt_rel[:-1]


def test_estimator_motion_beats_standing_still(truth, estimator_run):
    rel = [r.T_prev_curr for _, r in estimator_run[1:]]
    trans, rot = _motion_errors(truth, rel)
    still_trans, still_rot = _motion_errors(truth, [np.eye(4)] * len(rel))
    cv_trans, cv_rot = _motion_errors(truth, _constant_velocity(truth))
    assert still_trans == pytest.approx(0.0294, abs=5e-4)        # the GT path, by construction
    print(f'motion: {trans:.4f} m / {rot:.3f} deg; still {still_trans:.4f} / {still_rot:.3f}; '
          f'constant velocity {cv_trans:.4f} / {cv_rot:.3f}')
    # Measured (CPU): the pose net alone 0.0280 m / 1.16 deg, worse than standing still; with
    # photometric refinement against its own depth 0.0043 m / 0.059 deg. This demo path is so
    # smooth that a constant velocity (0.0018 m / 0.107 deg) still wins on translation; the
    # issue-10 targets against it are held-out hand-held sequences (training/README.md).
    assert trans < 0.3 * still_trans, (trans, still_trans)
    assert rot < 0.3 * still_rot and rot < cv_rot, (rot, still_rot, cv_rot)


def test_infer_command_depth_is_right(truth, tmp_path):
    from depth_perception.cli.main import main
    frames, _, _ = truth
    stamps = sorted(frames)[::3]
    src = tmp_path / 'in'
    src.mkdir()
    for s in stamps:
        cv2.imwrite(str(src / f'{s:019d}.png'), frames[s][0][..., ::-1])
    assert main(['infer', '--input', str(src), '--output', str(tmp_path / 'out'), '--device', 'cpu',
                 '--no-vis']) == 0
    # network depth in model units at the network size: median scaling and rank do not care
    preds = [np.squeeze(np.load(tmp_path / 'out' / 'depth' / f'{s:019d}.npy')) for s in stamps]
    assert_beats_constant(quality(gt_of(truth, stamps), preds))


def _exported(truth, depth_dir: Path):
    files = sorted(depth_dir.glob('*.npy'))
    stamps = [int(f.stem) for f in files]
    return quality(gt_of(truth, stamps), [np.load(f) for f in files])


def _metrics_vs_constant(truth, result):
    """The evaluator's own per-frame abs_rel against the constant's on the same frames."""
    per = result['depth']['per_frame']
    model = float(np.median([f['abs_rel'] for f in per]))
    const = float(np.median([frame_stats(g, np.full(g.shape, 2.0, np.float32))[0]
                             for g in gt_of(truth, [f['stamp_ns'] for f in per])]))
    assert model < ABS_REL_FACTOR * const, (model, const)


def test_offline_eval_depth_is_right(truth, bag, tmp_path):
    from depth_perception.evaluation.config import EvalConfig
    from depth_perception.evaluation.offline import run_offline
    r = run_offline(EvalConfig(bag=bag, out_dir=tmp_path / 'off', device='cpu', preset='generic',
                               max_frames=10, export_frames=True, plots=False, progress=False,
                               output_bag=False))
    assert r['frames']['evaluated'] == 10
    assert_beats_constant(_exported(truth, tmp_path / 'off' / 'depth'))
    _metrics_vs_constant(truth, r)


def test_demo_depth_is_right(truth, bag, tmp_path, capsys):
    from depth_perception.cli.main import main
    cache = Path(bag).parents[2]
    assert main(['demo', '--output', str(tmp_path / 'demo'), '--frames', '10', '--cache-dir', str(cache),
                 '--device', 'cpu']) == 0
    capsys.readouterr()
    assert_beats_constant(_exported(truth, tmp_path / 'demo' / 'depth'))
    import json
    _metrics_vs_constant(truth, json.loads((tmp_path / 'demo' / 'metrics.json').read_text()))


@pytest.mark.ros
def test_live_eval_depth_is_right(truth, bag, tmp_path):
    pytest.importorskip('rclpy')
    pytest.importorskip('tf2_msgs')
    from depth_perception.bags.reader import BagReader
    from depth_perception.evaluation.config import EvalConfig
    from depth_perception.evaluation.live import run_live
    from depth_perception.evaluation.recorded import IMAGE, image_to_depth_m, read_predictions
    r = run_live(EvalConfig(bag=bag, out_dir=tmp_path / 'live', live=True, device='cpu', preset='generic',
                            max_frames=8, plots=False, progress=False))
    assert r['frames']['evaluated'] == 8
    _metrics_vs_constant(truth, r)
    d_stamps, d_raw, *_ = read_predictions(Path(r['output_bag']), '/depth/image', None, 'body', 'kilted')
    with BagReader(Path(r['output_bag'])) as pbag:
        preds = [image_to_depth_m(pbag.deserialize(raw, IMAGE, '/depth/image'), '/depth/image') for raw in d_raw]
    assert_beats_constant(quality(gt_of(truth, d_stamps), preds))


# ------------------------------------------------------------------- the node over DDS
@pytest.mark.ros
def test_node_over_dds_depth_is_right(truth, tmp_path):
    rclpy = pytest.importorskip('rclpy')
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import CameraInfo, Image

    from depth_perception.estimators import CameraFrame, create_estimator
    from depth_perception.ros.conversions import depth_image_to_m
    frames, K, _ = truth
    stamps = sorted(frames)[::4]
    script = Path(sys.executable).with_name('scdepth_node')
    cmd = ([str(script)] if script.exists() else [sys.executable, '-m', 'depth_perception.ros.scdepth_node'])
    cmd += ['--ros-args', '-p', 'device:=cpu', '-p', 'num_threads:=1']
    log_path = tmp_path / 'node.log'
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node('quality_peer', context=ctx)
    got, odom, lock = {}, {}, threading.Lock()

    def on_depth(msg):
        with lock:
            got[msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec] = depth_image_to_m(msg)

    def on_odom(msg):
        with lock:
            odom[msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec] = msg

    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Image, 'depth/image', on_depth, qos)
    node.create_subscription(Odometry, 'odom', on_odom, qos)
    pub_img = node.create_publisher(Image, 'image_raw', qos)
    pub_info = node.create_publisher(CameraInfo, 'camera_info', qos)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    threading.Thread(target=ex.spin, daemon=True).start()

    def wait(pred, timeout_s):
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and not pred():
            time.sleep(0.05)
        return pred()

    try:
        assert wait(lambda: pub_img.get_subscription_count() > 0 and node.count_publishers('/depth/image') > 0,
                    60), log_path.read_text()
        time.sleep(2.0)   # LARGE_DATA TCP connections come up after matching
        for s in stamps:
            rgb = frames[s][0]
            info = CameraInfo(width=rgb.shape[1], height=rgb.shape[0], k=[float(x) for x in K.ravel()])
            img = Image(height=rgb.shape[0], width=rgb.shape[1], encoding='rgb8', step=rgb.shape[1] * 3)
            for m in (info, img):
                m.header.frame_id = 'cam_optical'
                m.header.stamp.sec, m.header.stamp.nanosec = divmod(int(s), 10**9)
            img.data = rgb.tobytes()
            for _ in range(3):     # the first frame may race the TCP connection: resend once or twice
                pub_info.publish(info)
                pub_img.publish(img)
                if wait(lambda: s in got, 20):
                    break
            assert s in got, log_path.read_text()
        assert wait(lambda: all(s in odom for s in stamps), 10), sorted(odom)
    finally:
        ex.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert_beats_constant(quality(gt_of(truth, stamps), [got[s] for s in stamps]))

    # /odom is the estimator's motion chained on the right (T_odom_k = T_odom_k-1 T_prev_curr),
    # re-expressed in the REP 103 body frame: body = B optical B^-1 with B written out here
    # (x forward = optical z, y left = -optical x, z up = -optical y).
    est = create_estimator('scdepth', device='cpu', num_threads=1)
    B = np.eye(4)
    B[:3, :3] = [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]
    T = np.eye(4)
    for s in stamps:
        rel = est.estimate(CameraFrame(frames[s][0], K, s)).T_prev_curr
        if rel is not None:
            T = T @ rel
        expected = B @ T @ np.linalg.inv(B)
        p, q = odom[s].pose.pose.position, odom[s].pose.pose.orientation
        np.testing.assert_allclose([p.x, p.y, p.z], expected[:3, 3], atol=1e-5)
        assert abs(np.dot([q.x, q.y, q.z, q.w], Rotation.from_matrix(expected[:3, :3]).as_quat())) \
            == pytest.approx(1.0, abs=1e-6)
    assert np.linalg.norm(T[:3, 3]) > 1e-3        # the chain moved: the check above had teeth


def test_offline_eval_scores_the_metric_depth_it_exports(truth, bag, tmp_path):
    """Without scaling, the reported abs_rel is that of the exported metric depth (depth_scale
    applied), recomputed here: generic caps 0.1..100 m, clamp, mean |g - p| / g per image."""
    from depth_perception.evaluation.config import EvalConfig
    from depth_perception.evaluation.offline import run_offline
    r = run_offline(EvalConfig(bag=bag, out_dir=tmp_path / 'off', device='cpu', preset='generic',
                               scaling='none', depth_scale=3.0, max_frames=3, export_frames=True,
                               plots=False, progress=False, output_bag=False))
    per = {f['stamp_ns']: f['abs_rel'] for f in r['depth']['per_frame']}
    files = sorted((tmp_path / 'off' / 'depth').glob('*.npy'))
    assert len(files) == len(per) == 3
    for path in files:
        g, p = truth[0][int(path.stem)][1], np.load(path)
        ok = np.isfinite(g) & (g > 0.1) & (g < 100.0) & np.isfinite(p) & (p > 0)
        expected = np.mean(np.abs(g[ok] - np.clip(p[ok], 0.1, 100.0)) / g[ok])
        assert per[int(path.stem)] == pytest.approx(expected, rel=1e-5)
