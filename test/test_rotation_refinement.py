"""Rotation refinement (`rotation_refinement.py`, DepthNet's `refine_rotation`).

Known answers from the synthetic engine: its exact relative rotation between two rendered
frames, which the refinement must recover from a rotation that was made wrong on purpose, and
its exact depth, which DepthNet must read as well from the wrongly rotated flight once the
rotation is refined as from the true poses.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_perception.estimators import CameraFrame
from depth_perception.estimators.depthnet import DepthNetEstimator, PairsSkipped
from depth_perception.rotation_refinement import grey_for_refinement, refine_rotation
from depth_perception.stabilization import rotation_angle_deg
from depth_perception.synthetic import SequenceConfig, make_sequence


def _rotation(axis, deg: float) -> np.ndarray:
    import cv2
    a = np.asarray(axis, np.float64)
    return cv2.Rodrigues((a / np.linalg.norm(a) * np.radians(deg)).reshape(3, 1))[0]


@pytest.fixture(scope='module')
def room():
    """A handheld walk through a room at 30 Hz: ~5 mm and up to a degree a frame, as 7-Scenes."""
    seq = make_sequence(SequenceConfig(scene='indoor', frames=12, width=320, height=240, hfov_deg=57.4,
                                       fps=30, speed_mps=0.15, seed=3))
    return seq, [seq.render(i) for i in range(12)]


@pytest.mark.parametrize('k,i,axis', [(3, 5, (1, 0, 0)), (3, 11, (0, 1, 0.3)), (9, 11, (0.2, -1, 0.5))])
def test_a_wrong_rotation_is_corrected_to_the_rendered_one(room, k, i, axis):
    seq, frames = room
    Tp, Tc = seq.T_world_cam[i - k], seq.T_world_cam[i]
    R_true = Tp[:3, :3].T @ Tc[:3, :3]
    t_dir = Tc[:3, :3].T @ (Tc[:3, 3] - Tp[:3, 3])
    R_given = R_true @ _rotation(axis, 1.0)              # an IMU-sized error: 1 deg
    later, K = grey_for_refinement(frames[i].rgb, seq.K)
    earlier, _ = grey_for_refinement(frames[i - k].rgb, seq.K)
    r = refine_rotation(later, earlier, K, R_given, t_dir)
    assert r.accepted and r.correction_deg == pytest.approx(1.0, abs=0.1)
    assert rotation_angle_deg(r.R_prev_curr.T @ R_true) < 0.1


def test_without_a_translation_direction_nothing_is_refined(room):
    seq, frames = room
    grey, K = grey_for_refinement(frames[3].rgb, seq.K)
    R = _rotation((0, 1, 0), 2.0)
    r = refine_rotation(grey, grey, K, R, np.zeros(3))
    assert not r.accepted and r.reason == 'translation_unknown' and r.R_prev_curr is R


def _flight_abs_rel(seq, frames, poses, refine: bool):
    est = DepthNetEstimator(checkpoint='', device='cpu', frame_shifts=(3,), refine_rotation=refine)
    errors, corrections = [], []
    for i, frame in enumerate(frames):
        try:
            res = est.estimate(CameraFrame(frame.rgb, seq.K, int(seq.stamps_ns[i])), T_world_cam=poses[i])
        except PairsSkipped:
            continue
        gt = frame.depth_m.astype(np.float64)
        ok = np.isfinite(res.depth_m) & np.isfinite(gt) & (gt > 0) & (gt <= 100)
        errors.append(np.mean(np.abs(res.depth_m[ok] - gt[ok]) / gt[ok]))
        corrections.append(res.pairs[0].rotation_correction_deg)
    return float(np.mean(errors)), corrections, est.counters


def test_depthnet_reads_a_wrongly_rotated_flight_as_well_as_the_true_one_once_refined():
    torch.set_num_threads(1)
    seq = make_sequence(SequenceConfig(scene='stillbox', trajectory='uav', frames=9, width=256, height=256,
                                       seed=777005))
    frames = [seq.render(i) for i in range(9)]
    # The given orientation drifts 0.4 deg a frame from the truth: 1.2 deg between the frames of a pair.
    drift = [_rotation((0.3, 1, 0.2), 0.4 * i) for i in range(9)]
    wrong = [np.block([[T[:3, :3] @ D, T[:3, 3:]], [T[3:]]]) for T, D in zip(seq.T_world_cam, drift)]
    true_err, _, _ = _flight_abs_rel(seq, frames, seq.T_world_cam, refine=False)
    wrong_err, _, _ = _flight_abs_rel(seq, frames, wrong, refine=False)
    fixed_err, corrections, counters = _flight_abs_rel(seq, frames, wrong, refine=True)
    print(f'abs_rel: true rotation {true_err:.3f}, 1.2 deg off {wrong_err:.3f}, refined {fixed_err:.3f}; '
          f'corrections {np.round(corrections, 2)}')
    assert counters['shift3_rotation_refined'] == 6
    assert all(c == pytest.approx(1.2, abs=0.15) for c in corrections)
    assert fixed_err <= true_err + 0.02
    assert wrong_err >= fixed_err + 0.1
