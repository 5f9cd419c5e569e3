"""The per-frame patch budget of boosting and the boosted estimator (ROS-free).

A budgeted Final result must be the unbudgeted one's first k patches and nothing else:
checked pixel by pixel against the runs with no patch and with every patch, region by
region (where only the first k patches reach, where none of them does).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from depth_perception import boosted_params as B
from depth_perception import params as P
from depth_perception.boosting.bases import MidasBase
from depth_perception.boosting.budget import PatchBudget
from depth_perception.boosting.pipeline import BoostConfig, boost
from depth_perception.models.midas import MidasNet
from depth_perception.models.pix2pix_unet import UnetGenerator

ROOT_CONFIG = P.config_path('boosted_depth.yaml')


def textured_image() -> np.ndarray:
    rng = np.random.default_rng(7)
    img = np.full((96, 128, 3), 120, np.uint8)
    img[10:50, 60:110] = rng.integers(0, 255, (40, 50, 3))
    img[60:90, 10:40] = rng.integers(0, 255, (30, 30, 3))
    return img


def small_midas() -> MidasNet:
    torch.manual_seed(0)
    net = MidasNet(features=8, layers=(1, 1, 1, 1), groups=2, width_per_group=2, base_planes=8)
    with torch.no_grad():
        net.scratch.output_conv[4].bias.fill_(0.5)   # keep the final ReLU open
    return net.eval()


class SmallRFMidas(MidasBase):
    receptive_field = 128


def test_budget_room():
    assert PatchBudget().room(10**6) > 10**9                      # no limits
    assert PatchBudget(max_patches=3).room(0) == 3
    assert PatchBudget(max_patches=3).room(3) == 0
    spent = PatchBudget(max_patches=3, budget_s=1.0, started=time.perf_counter() - 5.0)
    assert spent.room(0) == 0                                     # 5 s ago, 1 s allowed
    assert PatchBudget(budget_s=3600.0).room(0) > 0
    with pytest.raises(ValueError):
        PatchBudget(max_patches=-1)
    with pytest.raises(ValueError):
        PatchBudget(budget_s=float('nan'))


def _covered(shape, rects) -> np.ndarray:
    m = np.zeros(shape, bool)
    for x, y, w, h in rects:
        m[max(y - 2, 0):y + h + 2, max(x - 2, 0):x + w + 2] = True    # margin: cubic resize
    return m


@pytest.mark.slow
def test_budgeted_final_is_the_first_k_patches_of_the_full_run(k=2):
    img = textured_image()
    torch.manual_seed(3)
    net = UnetGenerator(ngf=2, num_downs=6).eval()
    base = SmallRFMidas(small_midas())
    cfg = BoostConfig(mode='Final', pix2pixsize=64, max_res=480, batch_size=2)
    full = boost(img, base, net, cfg)
    n = len(full.patches)
    assert n > k + 1 and full.patches_skipped == 0
    none = boost(img, base, net, cfg, budget=PatchBudget(budget_s=1e-9))  # spent before any patch
    assert none.patches == [] and none.patches_skipped == n
    part = boost(img, base, net, cfg, budget=PatchBudget(max_patches=k))
    key = lambda patches: [(p['id'], p['rect_output']) for p in patches]   # noqa: E731
    assert key(part.patches) == key(full.patches[:k]) and part.patches_skipped == n - k
    # fits equal up to float rounding (a batch of 2 vs a last batch of 1)
    np.testing.assert_allclose([p['fit'] for p in part.patches], [p['fit'] for p in full.patches[:k]],
                               rtol=1e-4, atol=1e-6)
    rects = [p['rect_output'] for p in full.patches]
    first, later = _covered(img.shape[:2], rects[:k]), _covered(img.shape[:2], rects[k:])
    only_first = first & ~later
    untouched = ~first
    assert only_first.sum() > 100 and untouched.sum() > 100
    np.testing.assert_allclose(part.depth[only_first], full.depth[only_first], rtol=0, atol=1e-5)
    np.testing.assert_allclose(part.depth[untouched], none.depth[untouched], rtol=0, atol=1e-5)
    # ... and the patches did change something: the budget is not a no-op or a full run.
    assert np.abs(part.depth - none.depth)[first].max() > 1e-3
    assert np.abs(part.depth - full.depth)[later & ~first].max() > 1e-3


def test_shipped_yaml_and_the_spec_table_match_both_ways():
    values = P.read_ros_params_yaml(ROOT_CONFIG, B.NODE_NAME)
    names = [s.name for s in B.BOOSTED_NODE_PARAMS]
    assert len(set(names)) == len(names) and set(values) == set(names)
    assert P.validate(values, B.BOOSTED_NODE_PARAMS, B.BOOSTED_RULES) == values
    for spec in B.BOOSTED_NODE_PARAMS:
        assert values[spec.name] == spec.default, spec.name
        if isinstance(spec.default, (int, float)) and not isinstance(spec.default, bool):
            assert spec.unit, f'{spec.name} has a number but no unit'


@pytest.mark.parametrize('values,pattern', [
    ({'publish_points': True}, r'parameter publish_points: the midas base gives relative depth'),
    ({'base': 'leres', 'pseudo_rgbd': True}, r'parameter pseudo_rgbd: the leres base gives relative'),
    ({'receptive_field': 64}, r'parameter receptive_field: 64 px is below the minimum of 128'),
    ({'mode': 'R10'}, r'parameter mode: .R10. is not one of R0, R20, Final'),
    ({'budget_s': -1.0}, r'parameter budget_s: -1.0 is outside'),
    ({'device': 'gpu'}, r'parameter device'),
])
def test_parameter_rules(values, pattern):
    with pytest.raises(ValueError, match=pattern):
        P.validate(values, B.BOOSTED_NODE_PARAMS, B.BOOSTED_RULES)


def test_scdepth_base_may_publish_metric_outputs():
    P.validate({'base': 'scdepth', 'publish_points': True, 'pseudo_rgbd': True},
               B.BOOSTED_NODE_PARAMS, B.BOOSTED_RULES)


def test_estimator_refuses_missing_weights_naming_the_parameter(tmp_path):
    from depth_perception.estimators.boosted import BoostedConfig, BoostedEstimator
    with pytest.raises(ValueError, match='merge_checkpoint: not set'):
        BoostedEstimator(BoostedConfig(base='midas', checkpoint='x.pt', device='cpu'))
    torch.save(UnetGenerator(ngf=2).state_dict(), tmp_path / 'latest_net_G.pth')
    with pytest.raises(ValueError, match=r'checkpoint: not set; the leres base needs its weights'):
        BoostedEstimator(BoostedConfig(base='leres', merge_checkpoint=str(tmp_path / 'latest_net_G.pth'),
                                       device='cpu'))


def test_estimator_says_relative_and_matches_the_pipeline(tmp_path):
    from depth_perception.boosting.weights import read_merge_net, read_midas
    from depth_perception.estimators import CameraFrame
    from depth_perception.estimators.boosted import BoostedConfig, BoostedEstimator
    torch.save({'model': small_midas().state_dict(), 'optimizer': {}}, tmp_path / 'model.pt')
    torch.manual_seed(4)
    torch.save(UnetGenerator(ngf=2).state_dict(), tmp_path / 'latest_net_G.pth')
    est = BoostedEstimator(BoostedConfig(
        base='midas', checkpoint=str(tmp_path / 'model.pt'), merge_checkpoint=str(tmp_path / 'latest_net_G.pth'),
        receptive_field=128, mode='R20', device='cpu'))
    assert est.relative and est.larger_is_nearer and 'NOT metres' in est.describe()
    img = textured_image()
    got = est.estimate(CameraFrame(img)).depth_m
    base = MidasBase(read_midas(tmp_path / 'model.pt'))
    base.receptive_field = 128
    want = boost(img, base, read_merge_net(tmp_path / 'latest_net_G.pth'), BoostConfig(mode='R20')).depth
    assert got.dtype == np.float32 and got.shape == (96, 128)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    assert est.last.patches_used == 0 and est.last.resolution_px > 0
