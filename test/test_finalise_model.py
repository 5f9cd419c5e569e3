"""finalise_model: the pose-translation gain scales translation exactly and leaves the rest alone."""
from __future__ import annotations

import pytest
import torch

from depth_perception.checkpoints import load_strict, read_scdepth_checkpoint, save_own_checkpoint
from depth_perception.models import DispResNet, PoseResNet
from depth_perception_training.finalise_model import apply_translation_gain, finalise, scale_gain

torch.set_num_threads(1)


def _load(path):
    w = read_scdepth_checkpoint(path)
    depth, pose = DispResNet(18), PoseResNet()
    load_strict(depth, w.depth_state, str(path), 'DispResNet')
    load_strict(pose, w.pose_state, str(path), 'PoseResNet')
    return depth.eval(), pose.eval(), w


def test_gain_scales_translation_only_and_is_recorded(tmp_path):
    torch.manual_seed(0)
    src = save_own_checkpoint(tmp_path / 'in.pt', DispResNet(18), PoseResNet(), training_resolution_hw=(64, 96))
    out = finalise(src, tmp_path / 'out.pt', gain=2.5, half=False, note='test')
    d0, p0, _ = _load(src)
    d1, p1, w1 = _load(out)
    a, b = torch.randn(2, 3, 64, 96), torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        before, after = p0(a, b), p1(a, b)
        torch.testing.assert_close(after[:, :3], 2.5 * before[:, :3], rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(after[:, 3:], before[:, 3:])
        torch.testing.assert_close(d1(a), d0(a))
    assert w1.metadata['provenance']['pose_translation_gain'] == 2.5
    assert w1.metadata['training_resolution_hw'] == [64, 96]
    half = finalise(src, tmp_path / 'half.pt', gain=1.0, half=True)
    assert all(v.dtype == torch.float16 for k, v in torch.load(half, weights_only=True)['state_dict'].items()
               if v.is_floating_point())


def test_scale_gain_matches_pose_scale_to_depth_scale():
    # pose needs 1.5 m per unit, depth 0.75 m per unit: translations must double
    assert scale_gain({'pose_lsq_scale_m_per_unit': 1.5, 'median_scale_ratio_m_per_unit': 0.75}) == pytest.approx(2.0)
    with pytest.raises(ValueError, match='positive'):
        apply_translation_gain(PoseResNet(), 0.0)


def test_average_of_checkpoints_is_the_weight_mean(tmp_path):
    torch.manual_seed(1)
    nets = [(DispResNet(18), PoseResNet()) for _ in range(2)]
    paths = [save_own_checkpoint(tmp_path / f'{i}.pt', d, p) for i, (d, p) in enumerate(nets)]
    out = finalise(paths, tmp_path / 'avg.pt', half=False)
    _, _, w = _load(out)
    key = 'decoder.convs_pose.2.weight'
    expected = (nets[0][1].state_dict()[key] + nets[1][1].state_dict()[key]) / 2
    torch.testing.assert_close(w.pose_state[key], expected)
    name = next(k for k in w.depth_state if k.endswith('running_var'))
    expected = (nets[0][0].state_dict()[name] + nets[1][0].state_dict()[name]) / 2
    torch.testing.assert_close(w.depth_state[name], expected)
