"""`pose_check`: do the poses explain the images' motion? Known answers from the engine: its
exact poses leave no residual rotation; poses made to drift by a known rate leave that rate."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from depth_perception.stabilization import rotation_angle_deg
from depth_perception.synthetic import SequenceConfig, make_sequence
from depth_perception_training.depthnet.evaluate import main as evaluate_main
from depth_perception_training.depthnet.pose_check import check_sevenscenes, flow_corrected_rotation, main
from test_depthnet_estimator import constant_checkpoint

FRAMES = 13


def _write_sevenscenes(root, seq, frames, poses):
    out = root / 'data' / 'rgbd-frames'
    out.mkdir(parents=True)
    np.savetxt(root / 'data' / 'camera-intrinsics.txt', seq.K)
    for i, (f, T) in enumerate(zip(frames, poses)):
        cv2.imwrite(str(out / f'frame-{i:06d}.color.png'), cv2.cvtColor(f.rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(out / f'frame-{i:06d}.depth.png'), np.round(f.depth_m * 1000).astype(np.uint16))
        np.savetxt(out / f'frame-{i:06d}.pose.txt', T)


@pytest.fixture(scope='module')
def walk():
    """A 7-Scenes-like handheld walk: 640x480 at f ~585 px, 30 Hz, ~5 mm a frame."""
    seq = make_sequence(SequenceConfig(scene='indoor', frames=FRAMES, width=640, height=480, hfov_deg=57.4,
                                       fps=30, speed_mps=0.15, seed=11))
    return seq, [seq.render(i) for i in range(FRAMES)]


def test_exact_poses_explain_the_flow(tmp_path, walk):
    seq, frames = walk
    _write_sevenscenes(tmp_path, seq, frames, seq.T_world_cam)
    report = check_sevenscenes(tmp_path, shifts=(3, 9))
    for k in ('3', '9'):
        r = report['shifts'][k]
        assert r['residual_rotation_deg'] < 0.05
        assert r['t_ratio'] == pytest.approx(1.0, abs=0.1) and r['t_cos'] > 0.98


def drifting(poses):
    """Every pose turned a further 0.1 deg a frame about a fixed axis: 0.9 deg between frames 9 apart."""
    axis = np.array([0.2, 1.0, 0.1]) / np.linalg.norm([0.2, 1.0, 0.1])
    out = []
    for i, T in enumerate(poses):
        D = cv2.Rodrigues((axis * np.radians(0.1 * i)).reshape(3, 1))[0]
        out.append(np.block([[T[:3, :3] @ D, T[:3, 3:]], [T[3:]]]))
    return out


def test_a_drifting_orientation_shows_as_residual_rotation(tmp_path, walk, capsys):
    seq, frames = walk
    _write_sevenscenes(tmp_path, seq, frames, drifting(seq.T_world_cam))
    assert main(['--data', str(tmp_path), '--shifts', '3,9']) == 0
    out = capsys.readouterr().out
    assert 'shift   9: residual rotation 0.9' in out or 'shift   9: residual rotation 0.8' in out, out
    report = check_sevenscenes(tmp_path, shifts=(3, 9))
    assert report['shifts']['3']['residual_rotation_deg'] == pytest.approx(0.3, abs=0.05)
    assert report['shifts']['9']['residual_rotation_deg'] == pytest.approx(0.9, abs=0.08)


def test_a_folder_without_frames_is_one_line(tmp_path, capsys):
    assert main(['--data', str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('pose_check: error:')


def test_flow_corrected_rotation_recovers_the_engine_rotation(walk):
    seq, frames = walk
    drifted = drifting(seq.T_world_cam)
    i, k = 12, 9
    relative = [np.linalg.inv(P[i - k]) @ P[i] for P in (seq.T_world_cam, drifted)]
    R_true, R_drifted = relative[0][:3, :3], relative[1][:3, :3]
    assert rotation_angle_deg(R_drifted @ R_true.T) == pytest.approx(0.9, abs=0.01)
    R = flow_corrected_rotation(frames[i].rgb, frames[i - k].rgb, seq.K, R_drifted, frames[i].depth_m)
    assert rotation_angle_deg(R @ R_true.T) < 0.05


def test_sevenscenes_evaluation_with_oracle_rotation(tmp_path, walk, capsys):
    seq, frames = walk
    _write_sevenscenes(tmp_path / 'walk', seq, frames, drifting(seq.T_world_cam))
    ckpt = constant_checkpoint(tmp_path / 'DepthNet_elu_bn_64.pth.tar')
    args = ['sevenscenes', '--checkpoint', str(ckpt), '--data', str(tmp_path / 'walk'), '--shifts', '3,9',
            '--network-focal-px', '64', '--min-displacement', '0.001']
    assert evaluate_main(args + ['--oracle-rotation', '--output', str(tmp_path / 'r.json')]) == 0
    report = json.loads((tmp_path / 'r.json').read_text())
    assert report['oracle_rotation'] is True
    # every used pair had its rotation corrected: frames 3..12 for shift 3, 9..12 for shift 9
    assert report['configs']['shift 3']['counters']['shift3_rotation_oracle'] == FRAMES - 3
    assert report['configs']['fused 3,9']['counters']['shift9_rotation_oracle'] == FRAMES - 9
    capsys.readouterr()
    assert evaluate_main(args + ['--oracle-rotation', '--refine-rotation']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'choose one of refine_rotation and oracle_rotation' in err[0]
