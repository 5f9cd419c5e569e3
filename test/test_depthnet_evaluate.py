"""The committed DepthNet measurements: Still Box held-out L1 and 7-Scenes unscaled metric depth,
each beside its baseline, checked with a constant-output checkpoint whose answers are known."""
import json

import cv2
import numpy as np
import pytest
import torch

from conftest import shared_fixture
from depth_perception.cli.main import main as cli
from depth_perception_training.depthnet.data import read_stillbox, split_scenes
from depth_perception_training.depthnet.evaluate import evaluate_stillbox, main
from test_depthnet_estimator import CONST, constant_checkpoint


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    torch.set_num_threads(1)
    return constant_checkpoint(tmp_path_factory.mktemp('ev') / 'DepthNet_elu_bn_64.pth.tar')


def test_stillbox_l1_and_constant_baseline_known_answers(tmp_path, ckpt):
    data = tmp_path / 'sb'
    assert cli(['synth', '--scene', 'stillbox', '--format', 'stillbox', '--size', '64x64', '--frames', '6',
                '--sequences', '3', '--output', str(data), '--no-progress']) == 0
    report = evaluate_stillbox(ckpt, data)
    train, val = split_scenes(read_stillbox(data), 0.9, 0)
    const = np.median(np.concatenate([np.clip(np.load(p), 0, 100).ravel() for s in train for p in s.depths]))
    model, base = [], []
    for s in val:
        for b in range(3, len(s)):
            t = cv2.resize(np.clip(np.load(s.depths[b]), 0, 100), (16, 16), interpolation=cv2.INTER_AREA)
            model.append(np.abs(CONST - t).mean())
            base.append(np.abs(const - t).mean())
    assert report['pairs'] == len(model) == 3
    assert report['constant_depth_m'] == pytest.approx(const, rel=1e-6)
    assert report['mean_l1_m'] == pytest.approx(np.mean(model), rel=1e-5)
    assert report['constant_mean_l1_m'] == pytest.approx(np.mean(base), rel=1e-5)

    every = evaluate_stillbox(ckpt, data, all_scenes=True)     # a folder never trained on
    scenes = read_stillbox(data)
    assert every['pairs'] == sum(len(s) - 3 for s in scenes) == 9
    own = np.median(np.concatenate([np.clip(np.load(p), 0, 100).ravel() for s in scenes for p in s.depths]))
    assert every['constant_depth_m'] == pytest.approx(own, rel=1e-6)
    assert every['constant_from'] == 'the scored scenes'


@pytest.mark.slow
def test_sevenscenes_unscaled_metric_depth_and_median_scaled_baseline(ckpt, tmp_path, capsys):
    root = shared_fixture('sevenscenes_tsdf50')
    out = tmp_path / 'r.json'
    assert main(['sevenscenes', '--checkpoint', str(ckpt), '--data', str(root), '--shifts', '3,9',
                 '--network-focal-px', '128', '--output', str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report['configs']) == {'shift 3', 'shift 9', 'fused 3,9'}
    frames = sorted((root / 'data' / 'rgbd-frames').glob('frame-*.pose.txt'))
    poses = {p.name[:-len('.pose.txt')]: np.loadtxt(p) for p in frames}
    names = sorted(poses)
    for k in (3, 9):
        rows = report['configs'][f'shift {k}']['per_frame']
        assert len(rows) == report['frames_compared'] == 50 - 9
        for row in rows:   # a constant network gives CONST * |d| / 0.3 m with d from the GT poses
            i = names.index(row['frame'])
            d = np.linalg.norm(poses[names[i]][:3, 3] - poses[names[i - k]][:3, 3])
            assert row['pred_median_m'] == pytest.approx(CONST * d / 0.3, rel=1e-4)
    # Given the scale per frame, a constant network is the median-scaled constant, scored on the
    # pixels the shift-3 pair covers (~all: it turns ~4 deg) instead of all valid pixels.
    row3 = report['configs']['shift 3']
    gt_medians = {}
    for row in row3['per_frame']:
        raw = cv2.imread(str(root / 'data' / 'rgbd-frames' / f'{row["frame"]}.depth.png'), cv2.IMREAD_UNCHANGED)
        gt_medians[row['frame']] = np.median(raw[(raw > 100) & (raw < 10000) & (raw != 65535)] / 1000.0)
    assert row3['gt_over_pred_median'] == pytest.approx(
        np.median([gt_medians[r['frame']] / r['pred_median_m'] for r in row3['per_frame']]), rel=0.03)
    base = report['constant_median_scaled']['metrics']['abs_rel']
    assert row3['median_scaled_metrics']['abs_rel'] == pytest.approx(base, rel=0.03)
    assert abs(row3['metrics']['abs_rel'] - base) > 0.1      # unscaled, the constant is far off
    # the baseline: per-image median of the valid GT (0.1 < d < 10 m) everywhere
    base = []
    for row in rows:
        raw = cv2.imread(str(root / 'data' / 'rgbd-frames' / f'{row["frame"]}.depth.png'), cv2.IMREAD_UNCHANGED)
        g = raw[(raw > 100) & (raw < 10000) & (raw != 65535)].astype(np.float64) / 1000.0
        base.append(np.mean(np.abs(g - np.median(g)) / g))
    assert report['constant_median_scaled']['metrics']['abs_rel'] == pytest.approx(np.mean(base), rel=1e-6)


def test_bad_input_is_one_line(tmp_path, ckpt, capsys):
    assert main(['sevenscenes', '--checkpoint', str(ckpt), '--data', str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'rgbd-frames: no frame-' in err[0]


def test_fusion_rows_are_each_shift_the_fusion_and_the_oracle_known_answers(tmp_path, ckpt, capsys):
    """A constant network: shift k gives CONST * |v| dt k / 0.3 m everywhere; all outputs tie,
    so hard selection takes the shortest shift and the soft fusion weighs all three equally:
    the log-average (1 * 3 * 9) ** (1/3) = 3 is shift 3's depth; the oracle takes, per pixel,
    the closest of the three."""
    data = tmp_path / 'sb'
    assert cli(['synth', '--scene', 'stillbox', '--format', 'stillbox', '--size', '64x64', '--frames', '11',
                '--sequences', '2', '--seed', '5', '--output', str(data), '--no-progress']) == 0
    out = tmp_path / 'fusion.json'
    assert main(['fusion', '--checkpoint', str(ckpt), '--data', str(data), '--shifts', '9,1,3',
                 '--output', str(out)]) == 0
    table = capsys.readouterr().out
    report = json.loads(out.read_text())
    meta = json.loads((data / 'metadata.json').read_text())['scenes']
    l1 = {k: [] for k in ('shift 1', 'shift 3', 'shift 9', 'oracle')}
    gts = []
    for scene in meta:
        step_m = np.linalg.norm(scene['speed']) * scene['time_step']
        for i in range(9, 11):          # frames with all of shifts 1, 3, 9 behind them
            g = np.load(data / scene['depth'][i]).astype(np.float64)
            g = g[np.isfinite(g) & (g > 0) & (g <= 100)]
            preds = {k: CONST * step_m * k / 0.3 for k in (1, 3, 9)}
            for k, p in preds.items():
                l1[f'shift {k}'].append(np.abs(p - g).mean())
            l1['oracle'].append(np.min([np.abs(p - g) for p in preds.values()], axis=0).mean())
            gts.append(g)
    assert report['frames'] == 4 and report['shifts'] == [1, 3, 9]
    for name, values in l1.items():
        assert report['rows'][name]['mean_l1_m'] == pytest.approx(np.mean(values), rel=1e-4), name
    assert report['rows']['hard selection']['mean_l1_m'] == pytest.approx(np.mean(l1['shift 1']), rel=1e-4)
    assert report['rows']['fused 1,3,9']['mean_l1_m'] == pytest.approx(np.mean(l1['shift 3']), rel=1e-4)
    assert report['fused_pixel_share'] == {'shift 1': 1.0, 'shift 3': 0.0, 'shift 9': 0.0}
    const = np.median(np.concatenate(gts))
    assert report['constant']['depth_m'] == pytest.approx(const, rel=1e-6)
    assert report['constant']['mean_l1_m'] == pytest.approx(np.mean([np.abs(g - const).mean() for g in gts]),
                                                            rel=1e-5)
    assert 'shift 9' in table and 'hard selection' in table and 'fusion (softness 0.6) beats' in table
    # softness 0: the fused row is hard selection, i.e. shift 1 itself, which it does not beat
    assert main(['fusion', '--checkpoint', str(ckpt), '--data', str(data), '--shifts', '1,3,9',
                 '--softness', '0', '--output', str(out)]) == 0
    hard = json.loads(out.read_text())
    assert hard['rows']['fused 1,3,9'] == hard['rows']['shift 1'] == report['rows']['hard selection']
    assert hard['fusion_beats_every_single_shift'] is False
    assert hard['fusion_beats_every_single_shift_abs_rel'] is False
