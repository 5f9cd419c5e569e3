"""Issue 10, evaluation defects 1-6: each test failed on the code before the fix."""
from pathlib import Path

import numpy as np
import pytest

from depth_perception.bags.reader import BagReader, image_to_depth_m
from depth_perception.cli import eval as eval_cli
from depth_perception.cli.main import main
from depth_perception.evaluation.offline import run_offline
from depth_perception.evaluation.recorded import run_recorded
from depth_perception.evaluation.sample_bag import write_sample_bag
from depth_perception.evaluation.trajectory import evaluate_trajectory
from depth_perception.geometry import euler_xyz_to_matrix_np, make_T
from eval_helpers import small_eval_config as _cfg, eval_args as _args

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def uav_bag(tmp_path_factory):
    """A straight-line synthetic flight, as `depth-perception synth --trajectory uav` writes it."""
    out = tmp_path_factory.mktemp('uav') / 'bag'
    assert main(['synth', '--trajectory', 'uav', '--format', 'bag-mcap', '--frames', '8',
                 '--size', '128x96', '--output', str(out), '--no-progress']) == 0
    return out


# 1 ------------------------------------------------------------------------------------------
def test_sequence_scaling_with_a_report_folder_that_does_not_exist(tmp_path):
    bag = write_sample_bag(tmp_path / 'in', n_frames=3)
    out = tmp_path / 'not' / 'yet' / 'there'
    r = run_offline(_cfg(bag, out, scaling='sequence', output_bag=False))
    d = r['depth']
    assert d['frames_evaluated'] == 3
    assert d['sequence_ratio'] == pytest.approx(np.median([f['ratio'] for f in d['per_frame']]))
    assert (out / 'report.md').is_file() and not list(out.glob('dp_eval_*'))   # spill files cleaned


# 2 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize('alignment', ['sim3', 'se3'])
def test_straight_path_falls_back_and_keeps_depth(tmp_path, uav_bag, alignment):
    # the GT itself as the prediction: a perfect estimate on a collinear path
    r = run_recorded(_cfg(uav_bag, tmp_path / 'r', alignment=alignment), uav_bag, '/camera/depth/image_raw',
                     '/ground_truth/pose', pose_frame='optical')
    assert r['depth']['metrics']['abs_rel'] == pytest.approx(0, abs=1e-7)
    t = r['trajectory']
    assert t['alignment_method'] == 'first_pose' and 'collinear' in t['alignment_fallback_reason']
    assert t['ate_m']['rmse'] == pytest.approx(0, abs=1e-9)
    assert 'collinear' in (tmp_path / 'r' / 'report.md').read_text()


def test_straight_path_similarity_is_recovered_by_the_fallback():
    """Known answer: a scaled, rotated, shifted copy of a straight path aligns to ATE 0 (sim3)."""
    gt = [make_T(euler_xyz_to_matrix_np(0.1, 0.2, 0.3), [0.05 * i, 0.02 * i, 0.0]) for i in range(12)]
    S = make_T(euler_xyz_to_matrix_np(0.4, -0.7, 1.1), [1.0, -2.0, 0.5])
    est = []
    for T in gt:
        E = S @ T
        E[:3, 3] = S[:3, :3] @ (3.0 * T[:3, 3]) + S[:3, 3]
        est.append(E)
    stamps = list(range(0, 12 * 10**8, 10**8))
    m = evaluate_trajectory(stamps, gt, stamps, est, 'sim3')
    assert m['alignment_method'] == 'first_pose'
    assert m['ate_m']['rmse'] == pytest.approx(0, abs=1e-9) and m['sim3_scale'] == pytest.approx(1 / 3)
    se3 = evaluate_trajectory(stamps, gt, stamps, est, 'se3')
    assert se3['ate_m']['rmse'] > 0.1          # scale 3 is not removed by a rigid alignment


# 3 ------------------------------------------------------------------------------------------
def test_alignment_none_on_a_long_path_takes_rpe_pairs_from_ground_truth():
    gt = [make_T(np.eye(3), [0.1 * i, 0, 0]) for i in range(31)]          # 3 m, 0.1 m steps
    est = [make_T(np.eye(3), [0.001 * i, 0, 0]) for i in range(31)]       # same path in model units
    stamps = list(range(0, 31 * 10**8, 10**8))
    m = evaluate_trajectory(stamps, gt, stamps, est, 'none')
    rd = m['rpe_per_distance']
    assert rd['delta_m'] == 1.0 and rd['pairs'] == 21           # (i, i+10) for i = 0..20 along the GT
    assert rd['trans_m']['rmse'] == pytest.approx(1.0 - 0.01)   # 1 m true vs 0.01 m estimated
    # the empty case is reported, not raised: a path too short for the delta
    from depth_perception.evaluation.trajectory import score_path
    s = score_path(gt[:3], est[:3], 'none', delta_m=5.0)
    assert s['rpe_per_distance']['trans_m'] is None and 'no frame pair' in s['rpe_per_distance']['note']


# 4 ------------------------------------------------------------------------------------------
def test_rotation_error_is_defined_and_labelled():
    n = 10
    gt = [make_T(euler_xyz_to_matrix_np(0, 0, 0.02 * i), [0.1 * i, 0, 0]) for i in range(n)]   # straight
    W = euler_xyz_to_matrix_np(0.3, 1.0, -0.4)           # another world frame: no rotation error
    one_deg = np.radians(1.0)
    est = [make_T(W @ T[:3, :3] @ euler_xyz_to_matrix_np(0, 0, one_deg * i), W @ T[:3, 3]) for i, T in enumerate(gt)]
    stamps = list(range(0, n * 10**8, 10**8))
    for alignment in ('sim3', 'se3', 'none'):
        m = evaluate_trajectory(stamps, gt, stamps, est, alignment)
        # no orientation error after a fitted (possibly arbitrary) rotation
        assert ('ate_rot_deg' in m) == (alignment == 'none')
        # the estimate turns 1 deg per frame more than the GT about the camera z axis
        assert m['rpe_per_frame']['rot_deg']['rmse'] == pytest.approx(1.0, abs=1e-6)
        assert m['orientation_drift_deg']['max'] == pytest.approx(n - 1, abs=1e-6)


# 5 ------------------------------------------------------------------------------------------
def test_eval_save_depth_writes_one_npy_per_stamp(tmp_path):
    bag = write_sample_bag(tmp_path / 'in', n_frames=3)
    out = tmp_path / 'rep'
    assert eval_cli.run(_args(['--bag', str(bag), '--out', str(out), '--resolution', '64x64', '--preset', 'tum',
                               '--no-plots', '--no-progress', '--save-depth'])) == 0
    with BagReader(out / 'output_bag') as ob:
        published = {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec: image_to_depth_m(m)
                     for _, _, m in ob.messages(['/depth/image'])}
    saved = sorted((out / 'depth').glob('*.npy'))
    assert [int(p.stem) for p in saved] == sorted(published)
    for p in saved:
        d = np.load(p)
        assert d.dtype == np.float32
        np.testing.assert_array_equal(d, published[int(p.stem)])


# 6 ------------------------------------------------------------------------------------------
def test_readme_default_model_section_is_honest():
    text = (REPO / 'README.md').read_text()
    assert 'DEFAULT_MODEL_SECTION' not in text
    section = text[text.index('## The default model'):]
    section = section[:section.index('\n## ', 1)]
    for needed in ('constant depth', 'Spearman', '7-Scenes', 'zero motion', 'constant velocity',
                   'depth-perception eval'):
        assert needed in section, needed
