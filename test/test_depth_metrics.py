"""Known-answer tests for the SC-Depth depth metrics, presets, scaling and region split."""
import math

import numpy as np
import pytest

from depth_perception.evaluation.depth_eval import DepthEvaluator
from depth_perception.evaluation.depth_metrics import (PRESETS, compute_errors, get_preset,
                                                       resize_to, valid_pixels)


def test_compute_errors_hand_computed():
    gt = np.array([1.0, 2.0, 4.0, 1.0])
    pred = np.array([1.5, 2.0, 2.0, 1.9])
    e = compute_errors(gt, pred)
    # diff = gt - pred = [-0.5, 0, 2, -0.9]
    assert e['abs_diff'] == pytest.approx((0.5 + 0 + 2 + 0.9) / 4)
    assert e['abs_rel'] == pytest.approx((0.5 / 1 + 0 + 2 / 4 + 0.9 / 1) / 4)
    assert e['sq_rel'] == pytest.approx((0.25 / 1 + 0 + 4 / 4 + 0.81 / 1) / 4)
    assert e['rmse'] == pytest.approx(math.sqrt((0.25 + 0 + 4 + 0.81) / 4))
    assert e['log10'] == pytest.approx((math.log10(1.5) + 0 + math.log10(2) + math.log10(1.9)) / 4)
    assert e['rmse_log'] == pytest.approx(math.sqrt((math.log(1.5) ** 2 + math.log(2) ** 2
                                                     + math.log(1.9) ** 2) / 4))
    # max ratios [1.5, 1, 2, 1.9]: < 1.25 -> 1, < 1.5625 -> 2, < 1.953125 -> 3 of 4
    assert (e['a1'], e['a2'], e['a3']) == (0.25, 0.5, 0.75)


def test_perfect_prediction_and_empty_input():
    gt = np.array([0.5, 3.0, 7.0])
    e = compute_errors(gt, gt.copy())
    assert e['abs_rel'] == 0 and e['rmse'] == 0 and e['a1'] == 1.0
    with pytest.raises(ValueError):
        compute_errors(np.zeros(0), np.zeros(0))


def test_crop_presets_pixels():
    kitti = PRESETS['kitti'].crop_mask(375, 1242)
    rows, cols = np.nonzero(kitti.any(axis=1))[0], np.nonzero(kitti.any(axis=0))[0]
    # Garg crop: int(0.40810811*375)=153 .. int(0.99189189*375)=371, int(0.03594771*1242)=44 .. 1197
    assert (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1) == (153, 371, 44, 1197)
    nyu = PRESETS['nyu'].crop_mask(480, 640)
    rows, cols = np.nonzero(nyu.any(axis=1))[0], np.nonzero(nyu.any(axis=0))[0]
    assert (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1) == (45, 471, 41, 601)
    assert PRESETS['tum'].crop_mask(4, 5).all() and PRESETS['ddad'].max_depth_m == 200.0
    assert (PRESETS['bonn'].max_depth_m, PRESETS['nyu'].max_depth_m, PRESETS['kitti'].max_depth_m) == (10, 10, 80)


def test_caps_and_invalid_gt_are_excluded():
    gt = np.array([[0.05, 1.0, np.nan], [12.0, 2.0, 0.0]], np.float32)   # 0.05 < min, 12 > max (tum)
    pred = np.ones_like(gt)
    pix = valid_pixels(gt, pred, get_preset('tum'))
    assert sorted(pix.gt_m.tolist()) == [1.0, 2.0]
    custom = get_preset('tum', max_depth_m=20.0)
    assert valid_pixels(gt, pred, custom).gt_m.size == 3
    with pytest.raises(ValueError):
        get_preset('tum', min_depth_m=5, max_depth_m=1)


def test_prediction_resized_bilinear_to_gt():
    pred = np.array([[1.0, 3.0]], np.float32)
    out = resize_to(pred, (1, 4))
    # cv2 bilinear (half-pixel centres): [1, 1.5, 2.5, 3]
    np.testing.assert_allclose(out[0], [1.0, 1.5, 2.5, 3.0])


def test_median_scaling_and_clamp():
    gt = np.array([[1.0, 2.0, 3.0]], np.float32)
    ev = DepthEvaluator(get_preset('tum'), 'median')
    rec = ev.add(0, gt, 2 * gt)
    assert rec.ratio == pytest.approx(0.5)
    assert rec.errors['all']['abs_rel'] == pytest.approx(0.0, abs=1e-7)
    # not proportional: the median ratio median(gt) 2 / median(pred) 4 = 0.5 is not the mean
    # ratio 2 / 12; scaled [1, 2, 15] is clamped to [1, 2, 10]: abs_rel (7/3) / 3
    rec = ev.add(1, gt, np.array([[2.0, 4.0, 30.0]], np.float32))
    assert rec.ratio == pytest.approx(0.5)
    assert rec.errors['all']['abs_rel'] == pytest.approx(7 / 9)
    # 'none': pred = 100 m everywhere is clamped to the 10 m cap before the errors
    ev2 = DepthEvaluator(get_preset('tum'), 'none')
    rec2 = ev2.add(0, gt, np.full_like(gt, 100.0))
    assert rec2.errors['all']['abs_diff'] == pytest.approx(np.mean(10.0 - gt))


def test_sequence_scaling_uses_one_ratio(tmp_path):
    gt = np.array([[1.0, 2.0, 4.0]], np.float32)
    ev = DepthEvaluator(get_preset('tum'), 'sequence', spill_dir=tmp_path)
    ev.add(0, gt, 2 * gt)     # ratio 0.5
    ev.add(1, gt, 4 * gt)     # ratio 0.25
    ev.add(2, gt, 10 * gt)    # ratio 0.1
    s = ev.finish()
    assert s.sequence_ratio == pytest.approx(0.25)   # the median; the mean would be 0.2833
    # frame 1: 0.5 gt -> abs_rel 0.5; frame 2: gt -> 0; frame 3: 2.5 gt = [2.5, 5, 10] -> 1.5;
    # mean over images
    assert s.regions['all']['abs_rel'] == pytest.approx((0.5 + 0 + 1.5) / 3)
    assert list(tmp_path.iterdir()) == []          # spill files are removed


def test_static_dynamic_split_and_skips():
    gt = np.array([[1.0, 2.0], [4.0, 8.0]], np.float32)
    pred = np.array([[1.0, 2.0], [2.0, 8.0]], np.float32)
    mask = np.array([[0, 0], [1, 0]], bool)
    ev = DepthEvaluator(get_preset('tum'), 'none')
    rec = ev.add(0, gt, pred, mask)
    assert rec.errors['static']['abs_rel'] == 0.0
    assert rec.errors['dynamic']['abs_rel'] == pytest.approx(0.5)
    assert rec.errors['all']['abs_rel'] == pytest.approx(0.5 / 4)
    assert ev.add(1, np.full((2, 2), np.nan, np.float32), pred) is None
    s = ev.finish()
    assert s.skipped == {'no valid ground-truth pixels in range/crop': 1}
    assert s.regions['dynamic']['abs_rel'] == pytest.approx(0.5)
