"""Baselines beside every number (issue 10): known answers for the constant depth, Spearman,
zero-motion and constant-velocity baselines, the verdict line, and that eval, demo's summary,
evaluate_synthetic and the training validation all report them."""
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from depth_perception.evaluation.baselines import (constant_depth_errors, constant_velocity_path, ranks,
                                                   spearman, zero_motion_path)
from depth_perception.evaluation.config import EvalConfig
from depth_perception.evaluation.depth_metrics import get_preset, valid_pixels
from depth_perception.evaluation.recorded import run_recorded
from depth_perception.evaluation.sample_bag import write_sample_bag
from depth_perception.evaluation.trajectory import evaluate_trajectory
from depth_perception.evaluation.verdict import compare, depth_verdict, scale_stability_line, verdict_line
from depth_perception.geometry import euler_xyz_to_matrix_np, make_T


def _cfg(bag, out, **kw):
    base = dict(bag=Path(bag), out_dir=Path(out), resolution_hw=(64, 64), preset='tum', plots=False,
                progress=False)
    base.update(kw)
    return EvalConfig(**base)


def test_ranks_average_ties_by_hand():
    np.testing.assert_allclose(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1])


def test_spearman_known_answers_and_scipy_agreement():
    x = np.arange(1, 11, dtype=float)
    assert spearman(x, x ** 3) == pytest.approx(1.0)          # monotone -> 1 whatever the scale
    assert spearman(x, -x) == pytest.approx(-1.0)
    # d = rank differences (1,-1,0,0): rho = 1 - 6*sum(d^2)/(n(n^2-1)) = 1 - 12/60 = 0.8
    assert spearman([1, 2, 3, 4], [2, 1, 3, 4]) == pytest.approx(0.8)
    assert spearman(x, np.ones_like(x)) is None                # a constant has no order
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=500), rng.integers(0, 20, 500)      # ties in b
    assert spearman(a, b) == pytest.approx(scipy.stats.spearmanr(a, b).statistic, abs=1e-12)


def test_constant_depth_baseline_known_answer():
    gt = np.array([[1.0, 1.0], [3.0, 3.0]], np.float32)
    pix = valid_pixels(gt, np.array([[5.0, 6.0], [7.0, 8.0]], np.float32), get_preset('tum'))
    e = constant_depth_errors(pix, get_preset('tum'))['all']
    # median scaled constant = median(gt) = 2: |1-2|/1 twice, |3-2|/3 twice
    assert e['abs_rel'] == pytest.approx((1 + 1 + 1 / 3 + 1 / 3) / 4)
    assert e['rmse'] == pytest.approx(1.0) and e['a1'] == 0.0


def _line(n=21, step=0.1):
    return [make_T(np.eye(3), [step * i, 0, 0]) for i in range(n)]


def test_trajectory_baselines_known_answers():
    gt = _line()
    stamps = [i * 100_000_000 for i in range(len(gt))]
    # a wiggly estimate so the model's own alignment is well posed
    est = [make_T(euler_xyz_to_matrix_np(0, 0.01 * i, 0), [0.1 * i, 0.02 * np.sin(i), 0.01 * i * i / 20])
           for i in range(len(gt))]
    m = evaluate_trajectory(stamps, gt, stamps, est, 'sim3')
    zm, cv = m['baselines']['zero_motion'], m['baselines']['constant_velocity']
    xs = 0.1 * np.arange(21)
    # standing still, best translation: RMS distance of the GT from its centroid
    assert zm['ate_m']['rmse'] == pytest.approx(np.sqrt(np.mean((xs - xs.mean()) ** 2)))
    assert zm['rpe_per_frame']['trans_m']['rmse'] == pytest.approx(0.1)   # the GT's step length
    assert zm['rpe_per_frame']['rot_deg']['rmse'] == pytest.approx(0.0)
    # the GT is itself a constant-velocity line: that baseline is exact
    assert cv['ate_m']['rmse'] == pytest.approx(0, abs=1e-12)
    assert cv['rpe_per_frame']['trans_m']['rmse'] == pytest.approx(0, abs=1e-12)
    assert len(zero_motion_path(4)) == 4
    np.testing.assert_allclose(constant_velocity_path([0, 1, 2], [gt[0], gt[1], gt[2]])[2][:3, 3], [0.2, 0, 0])


def test_verdict_wording_and_margins():
    assert compare('constant depth', 0.1, 0.2) == 'beats constant depth (0.100 vs 0.200, 50% lower)'
    assert compare('standing still', 0.3, 0.2) == 'loses to standing still (0.300 vs 0.200, 1.50x)'
    v = depth_verdict(0.107, 0.137, 0.85)
    assert v.startswith('depth abs_rel beats constant depth (0.107 vs 0.137, 22% lower)')
    assert 'follows the ground truth (median Spearman +0.85' in v
    assert 'barely follows' in depth_verdict(0.15, 0.159, 0.11)
    d = {'scale_stability': {'model_cv': 0.2, 'constant_cv': 0.1}}
    assert 'no more stable than' in scale_stability_line(d)
    assert verdict_line(None, None).startswith('verdict: nothing to compare')


def test_report_shows_baselines_and_verdict(tmp_path):
    """GT as the prediction: the model row is perfect, the constant row is the independent
    per-image computation, Spearman is 1, and the verdict says the model beats every baseline."""
    bag = write_sample_bag(tmp_path / 'in', n_frames=6)
    r = run_recorded(_cfg(bag, tmp_path / 'rep'), bag, '/camera/depth/image_raw',
                     '/ground_truth/camera_pose', pose_frame='optical')
    d = r['depth']
    # sample_bag GT: 1 + 0.02x + 0.01y + 0.05i on 48x64 (pixel 0,0 NaN); constant = its median
    yy, xx = np.mgrid[0:48, 0:64]
    want = []
    for i in range(6):
        g = (1.0 + 0.02 * xx + 0.01 * yy + 0.05 * i).astype(np.float32).astype(np.float64).ravel()[1:]
        want.append(np.mean(np.abs(g - np.median(g)) / g))
    assert d['baseline_constant']['metrics']['abs_rel'] == pytest.approx(np.mean(want), rel=1e-6)
    assert d['metrics']['abs_rel'] == pytest.approx(0, abs=1e-7)
    assert d['spearman']['median'] == pytest.approx(1.0)
    assert d['scale_stability']['model_cv'] == pytest.approx(0, abs=1e-6)
    assert d['scale_stability']['constant_cv'] > 0.01
    assert r['verdict'].startswith('verdict: depth abs_rel beats constant depth')
    assert 'ATE beats zero motion' in r['verdict'] and 'beats constant velocity' in r['verdict']
    md = (tmp_path / 'rep' / 'report.md').read_text()
    assert '| constant depth | all |' in md and '| metric | model | zero motion | constant velocity |' in md
    assert r['verdict'] in md and 'ATE rotation RMSE' not in md
    assert "a constant prediction's by" in md          # scale stability compared, not claimed
    # KITTI numbers on a ~0.1 m path are not shown as if meaningful
    assert 'not meaningful here' in md and 't_err [%]' not in md
    saved = json.loads((tmp_path / 'rep' / 'metrics.json').read_text())
    assert saved['trajectory']['kitti']['meaningful'] is False and saved['verdict'] == r['verdict']


def test_cli_summary_prints_baselines_not_kitti(tmp_path, capsys):
    import argparse
    from depth_perception.cli import eval as eval_cli
    bag = write_sample_bag(tmp_path / 'in', n_frames=4)
    p = argparse.ArgumentParser()
    eval_cli.add_arguments(p)
    args = p.parse_args(['--bag', str(bag), '--out', str(tmp_path / 'rep'), '--resolution', '64x64',
                         '--preset', 'tum', '--no-plots', '--no-progress'])
    assert eval_cli.run(args) == 0
    out = capsys.readouterr().out
    assert 'constant depth: abs_rel' in out and 'zero motion' in out and 'standing still' in out
    assert 'verdict: depth abs_rel' in out and "a constant prediction's by" in out
    import re
    assert 'KITTI t_err/r_err: not meaningful here' in out and not re.search(r't_err \d', out)


def test_demo_summary_names_weights_first_and_prints_verdict(tmp_path):
    from depth_perception.cli.demo import summary
    bag = write_sample_bag(tmp_path / 'in', n_frames=4)
    r = run_recorded(_cfg(bag, tmp_path / 'rep'), bag, '/camera/depth/image_raw',
                     '/ground_truth/camera_pose', pose_frame='optical')
    r['timing'] = {'frames': 4, 'fps': 1.0}
    text = summary(r, tmp_path / 'rep').splitlines()
    assert text[0].startswith('weights: ')
    assert any(line.startswith('verdict: ') for line in text)
    assert any('constant depth: abs_rel' in line for line in text)


@pytest.mark.slow
def test_evaluate_synthetic_reports_shared_baselines(tmp_path):
    from depth_perception.cli.main import main
    from depth_perception_training.evaluate_synthetic import evaluate
    assert main(['synth', '--format', 'sc-depth', '--frames', '4', '--size', '128x96', '--seed', '9001',
                 '--output', str(tmp_path / 'd'), '--no-progress']) == 0
    import depth_perception
    weights = Path(depth_perception.__file__).parent / 'data' / 'scdepth_default.pt'   # the shipped model
    rep = evaluate(str(weights), tmp_path / 'd' / 'training')
    s = rep['summary']
    assert s['constant_depth_baseline']['abs_rel'] > 0 and -1 <= s['spearman_median'] <= 1
    assert s['rpe_trans_m_constant_velocity'] >= 0 and s['ate_sim3_m_zero_motion'] > 0
    assert rep['verdict'].startswith('verdict: depth abs_rel ')


def test_training_validation_logs_constant_baseline():
    import torch
    from depth_perception_training.config import load_config
    from depth_perception_training.module import SCDepthModule
    torch.manual_seed(0)
    cfg = load_config(None, val_mode='depth', resnet_layers=18, dataset_name='tum', img_height=64, img_width=64)
    mod = SCDepthModule(cfg.to_dict()).eval()
    logged = {}
    mod.log = lambda name, value, **kw: logged.__setitem__(name, float(value))
    gt = torch.linspace(1.0, 3.0, 64).repeat(64, 1)[None]            # [1, 64, 64] ramp, metres
    with torch.no_grad():
        mod.validation_step({'tgt': torch.rand(1, 3, 64, 64), 'gt_depth_m': gt}, 5)
    mod.on_validation_epoch_end()
    g = gt[0].numpy().astype(np.float64).ravel()
    assert logged['val/abs_rel_constant'] == pytest.approx(np.mean(np.abs(g - np.median(g)) / g), rel=1e-5)
    assert -1 <= logged['val/spearman'] <= 1
    assert mod.val_verdict.startswith('depth abs_rel ')
