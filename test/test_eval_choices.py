"""Depth-evaluation choices that change the number: median vs mean, one sequence ratio vs
per-image ratios, mean over images vs over pixels, and the dataset crops.

Every expected value is computed here from its definition (numpy on the raw arrays), on data
built so that the wrong choice gives a clearly different number.
"""
from __future__ import annotations

import numpy as np
import pytest

from depth_perception.evaluation.depth_eval import DepthEvaluator
from depth_perception.evaluation.depth_metrics import get_preset


def abs_rel(gt, pred):
    gt, pred = np.asarray(gt, float), np.asarray(pred, float)
    return float(np.mean(np.abs(gt - pred) / gt))


def test_per_image_scale_is_the_median_ratio_not_the_mean():
    # Skewed GT: median 2, mean 4. Prediction = 1 everywhere but one pixel.
    gt = np.array([[1.0, 2.0, 9.0]], np.float32)
    pred = np.array([[1.0, 1.0, 1.0]], np.float32)
    ev = DepthEvaluator(get_preset('tum'), 'median')
    rec = ev.add(0, gt, pred)
    ratio = np.median(gt) / np.median(pred)          # 2.0 (a mean ratio would be 4.0)
    assert rec.ratio == pytest.approx(2.0)
    assert rec.errors['all']['abs_rel'] == pytest.approx(abs_rel(gt, pred * ratio))
    assert rec.errors['all']['abs_rel'] != pytest.approx(abs_rel(gt, pred * np.mean(gt) / np.mean(pred)))


def test_sequence_ratio_is_the_median_of_per_image_ratios(tmp_path):
    gt = np.array([[1.0, 2.0, 4.0, 8.0]], np.float32)
    factors = [2.0, 4.0, 10.0]                      # per-image ratios 0.5, 0.25, 0.1
    ev = DepthEvaluator(get_preset('tum'), 'sequence', spill_dir=tmp_path)
    for i, f in enumerate(factors):
        ev.add(i, gt, gt * f)
    s = ev.finish()
    ratios = [1 / f for f in factors]
    seq = float(np.median(ratios))                  # 0.25; the mean would be 0.2833
    assert s.sequence_ratio == pytest.approx(seq)
    assert s.sequence_ratio != pytest.approx(float(np.mean(ratios)))
    # scaled, then clamped to the TUM cap of 10 m (the 8 m pixel of the last image: 20 -> 10)
    expected = np.mean([abs_rel(gt, np.clip(gt * f * seq, 0.1, 10.0)) for f in factors])
    assert s.regions['all']['abs_rel'] == pytest.approx(expected)
    # per-image scaling on the same frames would score 0: the choice matters
    med = DepthEvaluator(get_preset('tum'), 'median')
    for i, f in enumerate(factors):
        med.add(i, gt, gt * f)
    assert med.finish().regions['all']['abs_rel'] == pytest.approx(0, abs=1e-7)


def test_sequence_results_average_images_not_pixels():
    preset = get_preset('tum')
    ev = DepthEvaluator(preset, 'none')
    gt_a = np.full((1, 2), 2.0, np.float32)          # 2 pixels, abs_rel 0.5
    gt_b = np.full((4, 4), 2.0, np.float32)          # 16 pixels, abs_rel 0
    ev.add(0, gt_a, gt_a * 1.5)
    ev.add(1, gt_b, gt_b)
    s = ev.finish()
    assert s.regions['all']['abs_rel'] == pytest.approx((0.5 + 0.0) / 2)    # pixels would give 1/18


def test_none_scaling_clamps_to_the_preset_caps():
    preset = get_preset('tum')                      # 0.1 .. 10 m
    gt = np.array([[1.0, 5.0, 9.0]], np.float32)
    pred = np.array([[0.01, 5.0, 50.0]], np.float32)
    ev = DepthEvaluator(preset, 'none')
    rec = ev.add(0, gt, pred)
    assert rec.errors['all']['abs_rel'] == pytest.approx(abs_rel(gt, [0.1, 5.0, 10.0]))


def _garg_crop(h, w):
    """KITTI Garg crop as published: rows 0.40810811 h .. 0.99189189 h, cols 0.03594771 w ..
    0.96405229 w (fractions of the image, truncated to int)."""
    return (int(0.40810811 * h), int(0.99189189 * h), int(0.03594771 * w), int(0.96405229 * w))


@pytest.mark.parametrize('preset,hw,crop', [
    ('nyu', (480, 640), (45, 471, 41, 601)),             # Eigen crop, exact pixels on 480x640
    ('kitti', (375, 1242), _garg_crop(375, 1242)),
])
def test_crop_changes_the_answer(preset, hw, crop):
    """Prediction exact inside the crop and wrong only on the border outside it."""
    rng = np.random.default_rng(0)
    gt = rng.uniform(1.0, 3.3, hw).astype(np.float32)
    r0, r1, c0, c1 = crop
    inside = np.zeros(hw, bool)
    inside[r0:r1, c0:c1] = True
    pred = np.where(inside, gt, gt * 3.0).astype(np.float32)
    ev = DepthEvaluator(get_preset(preset), 'none')
    rec = ev.add(0, gt, pred)
    assert rec.n_valid == inside.sum()
    assert rec.errors['all']['abs_rel'] == pytest.approx(0, abs=1e-7)
    # one ring of wrong pixels just inside the crop is counted
    pred2 = pred.copy()
    pred2[r0, c0:c1] = gt[r0, c0:c1] * 2.0
    rec2 = DepthEvaluator(get_preset(preset), 'none').add(0, gt, pred2)
    assert rec2.errors['all']['abs_rel'] == pytest.approx((c1 - c0) * 1.0 / inside.sum(), rel=1e-5)
    # without a crop the border counts (an uncropped preset with the same caps)
    uncropped = get_preset('tum' if preset == 'nyu' else 'ddad')
    full = DepthEvaluator(uncropped, 'none').add(0, gt, pred)
    assert full.errors['all']['abs_rel'] == pytest.approx(2.0 * (~inside).sum() / inside.size, rel=1e-5)


def test_nyu_crop_as_fractions_on_other_sizes():
    """On a 240x320 NYU image the crop is the 480x640 one scaled by 1/2 (truncated)."""
    hw = (240, 320)
    r0, r1, c0, c1 = int(45 / 2), int(471 / 2), int(41 / 2), int(601 / 2)
    gt = np.full(hw, 4.0, np.float32)
    pred = np.full(hw, 8.0, np.float32)
    pred[r0:r1, c0:c1] = 4.0
    rec = DepthEvaluator(get_preset('nyu'), 'none').add(0, gt, pred)
    assert rec.n_valid == (r1 - r0) * (c1 - c0)
    assert rec.errors['all']['abs_rel'] == pytest.approx(0, abs=1e-7)


def test_median_scaling_inside_the_crop_only():
    """Median scaling must use the cropped pixels: a border at 10x would move the median."""
    hw = (480, 640)
    gt = np.full(hw, 2.0, np.float32)
    gt[:, 320:] = 4.0
    pred = gt * 0.5
    pred[:45] = 50.0                                   # rows above the NYU crop: wildly wrong
    pred[471:] = 50.0
    pred[:, :41] = 50.0
    pred[:, 601:] = 50.0
    rec = DepthEvaluator(get_preset('nyu'), 'median').add(0, gt, pred)
    assert rec.ratio == pytest.approx(2.0)
    assert rec.errors['all']['abs_rel'] == pytest.approx(0, abs=1e-7)
