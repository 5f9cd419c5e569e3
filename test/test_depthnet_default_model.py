"""The packaged DepthNet model: metric depth from a pure-translation flight the engine renders.

Known answer: the renderer's exact depth of a Still Box flight the model never saw (seeds far
from the training seeds 0-2999 and the test seeds 100000-100099). The estimator gets the
ground-truth camera poses, so depth is metric without any scale given; it must beat the best
constant depth (the median of the ground truth, given for free) by a wide margin.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_perception.checkpoint_io import safe_load
from depth_perception.estimators.depthnet import DepthNetEstimator, PairsSkipped
from depth_perception.estimators.depthnet_runner import DepthNetRunner, default_checkpoint
from depth_perception.estimators import CameraFrame
from depth_perception.synthetic import SequenceConfig, make_sequence

SEEDS = (777001, 777002, 777003)
FRAMES = 8
# Measured on these seeds with the shipped model: abs_rel 0.135, 0.188, 0.160 per flight against
# 0.279, 0.247, 0.306 for the per-frame median constant (ratios 0.48-0.76; CPU, deterministic).
MAX_ABS_REL = 0.25
MAX_RATIO_TO_CONSTANT = 0.8


def packaged():
    path = default_checkpoint()
    if path is None:
        pytest.fail('depth_perception/data/depthnet_default.pt is missing from this install')
    return path


def test_the_packaged_file_is_a_small_safe_fp16_checkpoint_of_the_projects_own_training():
    path = packaged()
    assert path.stat().st_size <= 45 * 2**20
    state = safe_load(path, allowed_globals=())          # weights_only: no code in the file
    learned = [v for k, v in state['state_dict'].items() if k.endswith(('weight', 'bias'))]
    stats = [v for k, v in state['state_dict'].items() if k.endswith(('running_mean', 'running_var'))]
    assert learned and all(v.dtype == torch.float16 for v in learned)
    assert stats and all(v.dtype == torch.float32 for v in stats)   # the saver keeps these in fp32
    runner = DepthNetRunner('', 'cpu')                    # '' = the packaged model
    assert runner.weights.training_focal_px == 32.0 and runner.weights.batch_norm
    assert 'depthnet/64_indoor' in state['provenance']['command']    # the last of its three stages


def abs_rel(pred: np.ndarray, gt: np.ndarray) -> float:
    ok = np.isfinite(pred) & np.isfinite(gt) & (gt > 0)
    return float(np.mean(np.abs(pred[ok] - gt[ok]) / gt[ok]))


@pytest.mark.parametrize('seed', SEEDS)
def test_metric_depth_of_an_unseen_flight_is_near_the_rendered_truth(seed):
    torch.set_num_threads(1)
    seq = make_sequence(SequenceConfig(scene='stillbox', trajectory='uav', frames=FRAMES, width=64, height=64,
                                       seed=seed))
    est = DepthNetEstimator(checkpoint=str(packaged()), device='cpu', frame_shifts=(3,))
    model, constant = [], []
    for i in range(FRAMES):
        frame = seq.render(i)
        try:
            res = est.estimate(CameraFrame(frame.rgb, seq.K, int(seq.stamps_ns[i])),
                               T_world_cam=seq.T_world_cam[i])
        except PairsSkipped:
            assert i < 3
            continue
        gt = frame.depth_m.astype(np.float64)
        gt[gt > 100.0] = np.nan                          # the model's range, as in training
        model.append(abs_rel(res.depth_m, gt))
        constant.append(abs_rel(np.full_like(gt, np.nanmedian(gt)), gt))
    assert len(model) == FRAMES - 3
    m, c = float(np.mean(model)), float(np.mean(constant))
    print(f'seed {seed}: abs_rel {m:.3f}, per-frame median constant {c:.3f}')
    assert m <= MAX_ABS_REL, (m, c)
    assert m <= MAX_RATIO_TO_CONSTANT * c, (m, c)
