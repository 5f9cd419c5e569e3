"""End-to-end offline evaluation: small self-made bags and the real 7-Scenes bag."""
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_fixture

from depth_perception.bags.messages import image_msg, pose_stamped_msg
from depth_perception.bags.reader import BagError, BagReader, image_to_depth_m
from depth_perception.bags.writer import BagWriter
from depth_perception.evaluation.offline import run_offline
from depth_perception.evaluation.recorded import run_recorded
from depth_perception.evaluation.sample_bag import START_NS, FRAME_PERIOD_NS, sample_gt_pose, write_sample_bag
from depth_perception.geometry import euler_xyz_to_matrix_np, make_T
from eval_helpers import small_eval_config as _cfg

SEVEN = 'derived_sevenscenes_rosbag2/sevenscenes_tsdf50'


def test_offline_small_bag_outputs_and_counts(tmp_path):
    bag = write_sample_bag(tmp_path / 'in', n_frames=5, with_mask=True)
    r = run_offline(_cfg(bag, tmp_path / 'rep', plots=True, n_sample_frames=1))
    f = r['frames']
    assert (f['images_in_bag'], f['evaluated'], f['with_gt_depth']) == (5, 5, 5)
    d = r['depth']
    assert d['frames_evaluated'] == 5 and d['metrics_static'] and d['metrics_dynamic']
    assert r['trajectory']['association']['matched'] == 5
    saved = json.loads((tmp_path / 'rep' / 'metrics.json').read_text())
    assert saved['depth']['metrics']['abs_rel'] == pytest.approx(d['metrics']['abs_rel'])
    assert (tmp_path / 'rep' / 'report.md').read_text().count('abs_rel') >= 1
    assert (tmp_path / 'rep' / 'trajectory_top.png').stat().st_size > 1000
    assert (tmp_path / 'rep' / 'frame_00_rgb_gt_pred_err.png').exists()
    with BagReader(tmp_path / 'rep' / 'output_bag') as out:
        assert {t: out.topics[t].count for t in ('/depth/image', '/points', '/odom', '/tf')} == \
            {'/depth/image': 5, '/points': 5, '/odom': 5, '/tf': 5}
        stamps = []
        for _, _, msg in out.messages(['/depth/image']):
            assert msg.encoding == '32FC1' and msg.header.frame_id == 'camera_optical_frame'
            assert image_to_depth_m(msg).shape == (48, 64)
            stamps.append(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
    assert stamps == [START_NS + i * FRAME_PERIOD_NS for i in range(5)]


def test_offline_is_deterministic(tmp_path):
    bag = write_sample_bag(tmp_path / 'in', n_frames=4)
    a = run_offline(_cfg(bag, tmp_path / 'a', output_bag=False))
    b = run_offline(_cfg(bag, tmp_path / 'b', output_bag=False))
    assert a['depth']['metrics'] == b['depth']['metrics']
    assert a['trajectory']['ate_m'] == b['trajectory']['ate_m']


@pytest.mark.parametrize('encoding', ['32FC1', '16UC1'])
def test_gt_as_prediction_is_perfect(tmp_path, encoding):
    bag = write_sample_bag(tmp_path / 'in', n_frames=6, depth_encoding=encoding)
    r = run_recorded(_cfg(bag, tmp_path / 'rep'), bag, '/camera/depth/image_raw',
                     '/ground_truth/camera_pose', pose_frame='optical')
    m = r['depth']['metrics']
    assert m['abs_rel'] == pytest.approx(0, abs=1e-7) and m['a1'] == 1.0
    assert r['trajectory']['ate_m']['rmse'] == pytest.approx(0, abs=1e-9)
    assert r['frames']['dropped'] == 0


def _write_predictions(path, n, transform):
    with BagWriter(path) as w:
        for i in range(n):
            t = START_NS + i * FRAME_PERIOD_NS
            w.write('/depth/image', image_msg(np.full((48, 64), 2.0, np.float32), t, 'c', '32FC1'), t)
            w.write('/pose', pose_stamped_msg(transform(sample_gt_pose(i)), t, 'odom'), t)


def test_scaled_rotated_prediction_zero_ate_only_under_sim3(tmp_path):
    bag = write_sample_bag(tmp_path / 'in', n_frames=8)
    S = make_T(euler_xyz_to_matrix_np(0.3, -0.5, 1.2), [1.0, 2.0, -3.0])

    def similarity(T):
        E = S @ T
        E[:3, 3] = S[:3, :3] @ (2.5 * T[:3, 3]) + S[:3, 3]
        return E
    _write_predictions(tmp_path / 'pred', 8, similarity)
    sim3 = run_recorded(_cfg(bag, tmp_path / 'r1'), tmp_path / 'pred', '/depth/image', '/pose', 'optical')
    se3 = run_recorded(_cfg(bag, tmp_path / 'r2', alignment='se3'), tmp_path / 'pred', '/depth/image',
                       '/pose', 'optical')
    assert sim3['trajectory']['ate_m']['rmse'] == pytest.approx(0, abs=1e-9)
    assert sim3['trajectory']['sim3_scale'] == pytest.approx(1 / 2.5)
    assert se3['trajectory']['ate_m']['rmse'] > 1e-3


def test_missing_predictions_are_counted_as_dropped(tmp_path):
    bag = write_sample_bag(tmp_path / 'in', n_frames=6)
    with BagWriter(tmp_path / 'pred') as w:
        for i in (0, 1, 3, 5):
            t = START_NS + i * FRAME_PERIOD_NS
            w.write('/depth/image', image_msg(np.full((48, 64), 2.0, np.float32), t, 'c', '32FC1'), t)
    r = run_recorded(_cfg(bag, tmp_path / 'r'), tmp_path / 'pred', '/depth/image', None)
    assert r['frames']['dropped'] == 2 and r['frames']['evaluated'] == 4
    assert r['depth']['frames_evaluated'] == 4


def test_bad_inputs_have_clear_errors(tmp_path):
    bag = write_sample_bag(tmp_path / 'in', n_frames=3)
    with pytest.raises(BagError, match='topic /nope is not in .*/camera/color/image_raw'):
        run_offline(_cfg(bag, tmp_path / 'r1', image_topic='/nope'))
    # no camera_info at all
    with BagWriter(tmp_path / 'noinfo') as w:
        w.write('/cam/image', image_msg(np.zeros((48, 64, 3), np.uint8), 1, 'c'), 1)
    with pytest.raises(BagError, match='no sensor_msgs/CameraInfo topic'):
        run_offline(_cfg(tmp_path / 'noinfo', tmp_path / 'r2'))
    # GT depth 5 s away from every image: nothing associates
    with BagWriter(tmp_path / 'far') as w:
        from depth_perception.bags.messages import camera_info_msg
        K = np.array([[50.0, 0, 32], [0, 50, 24], [0, 0, 1]])
        for i in range(3):
            t = START_NS + i * FRAME_PERIOD_NS
            w.write('/cam/image', image_msg(np.zeros((48, 64, 3), np.uint8), t, 'c'), t)
            w.write('/cam/camera_info', camera_info_msg(K, 64, 48, t, 'c'), t)
            w.write('/depth', image_msg(np.ones((48, 64), np.float32), t + 5 * 10**9, 'c'), t)
    with pytest.raises(BagError, match='0 of 3 images matched GT depth'):
        run_offline(_cfg(tmp_path / 'far', tmp_path / 'r3'))


def test_ambiguous_topics_are_explained(tmp_path):
    with BagWriter(tmp_path / 'two') as w:
        for topic in ('/a/image', '/b/image'):
            w.write(topic, image_msg(np.zeros((4, 4, 3), np.uint8), 1, 'c'), 1)
    with pytest.raises(BagError, match='several topics could be the camera image: /a/image, /b/image; '
                                       'choose one with --image-topic'):
        run_offline(_cfg(tmp_path / 'two', tmp_path / 'r'))


def test_sevenscenes_gt_as_prediction():
    bag = shared_fixture(SEVEN)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        r = run_recorded(_cfg(bag, Path(tmp) / 'r', max_frames=10, preset='nyu'), bag,
                         '/camera/depth/image_raw', '/ground_truth/camera_pose', 'optical')
    assert r['depth']['metrics']['abs_rel'] == pytest.approx(0, abs=1e-7)
    assert r['depth']['metrics']['a1'] == 1.0
    assert r['trajectory']['ate_m']['rmse'] == pytest.approx(0, abs=1e-9)
    assert r['trajectory']['kitti']['segment_mode'] == 'proportional'


@pytest.mark.slow
def test_sevenscenes_offline_model(tmp_path):
    bag = shared_fixture(SEVEN)
    r = run_offline(_cfg(bag, tmp_path / 'r', max_frames=4, resolution_hw=(256, 320), export_frames=True))
    assert r['frames']['evaluated'] == 4 and r['frames']['not_evaluated'] == 46
    # The reported numbers, recomputed by hand from the exported depth and the bag's GT: TUM
    # caps 0.1..10 m, median scaling, clamp, mean |g - p| / g per image, then over images.
    from scipy.stats import spearmanr
    gt = {}
    with BagReader(bag) as b:
        for topic, _, msg in b.messages(['/camera/depth/image_raw']):
            gt[msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec] = image_to_depth_m(msg, topic)
    per = {f['stamp_ns']: f for f in r['depth']['per_frame']}
    rels, rhos = [], []
    for path in sorted((tmp_path / 'r' / 'depth').glob('*.npy')):
        g = gt[int(path.stem)]
        p = np.load(path)
        ok = np.isfinite(g) & (g > 0.1) & (g < 10.0) & np.isfinite(p) & (p > 0)
        pred = np.clip(p[ok] * np.median(g[ok]) / np.median(p[ok]), 0.1, 10.0)
        rels.append(np.mean(np.abs(g[ok] - pred) / g[ok]))
        assert per[int(path.stem)]['abs_rel'] == pytest.approx(rels[-1], rel=1e-5)
        rhos.append(spearmanr(g[ok], pred).correlation)
        assert per[int(path.stem)]['spearman'] == pytest.approx(rhos[-1], abs=1e-6)
    assert len(rels) == 4
    assert r['depth']['metrics']['abs_rel'] == pytest.approx(np.mean(rels), rel=1e-5)
    assert r['depth']['spearman']['median'] == pytest.approx(np.median(rhos), abs=1e-6)
    # No quality bar here: the synthetic-trained model is weak on real 7-Scenes (README: abs_rel
    # worse than a constant; median Spearman +0.33 over 50 frames at its 96x128 size, -0.01 to
    # +0.07 on these 4 at 256x320). Quality is held to a real bar on the synthetic GT in
    # test_end_to_end_quality.py; this test checks that the reported numbers are the right ones.
    assert r['trajectory']['association']['matched'] == 4
