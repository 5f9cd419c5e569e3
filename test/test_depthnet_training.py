"""DepthNet training on the synthetic engine's Still Box output: data recipe, loss, loop."""
import json

import numpy as np
import pytest
import torch

from depth_perception.checkpoints_depthnet import load_depthnet
from depth_perception.cli.main import main
from depth_perception_training.depthnet.config import load_config
from depth_perception_training.depthnet.data import (StillBoxTrainPairs, StillBoxValPairs,
                                                     read_stillbox, split_scenes)
from depth_perception_training.depthnet.loss import area_downsample, multiscale_l1
from depth_perception_training.depthnet.run import build_model

CONFIG = 'training/configs/depthnet/64.yaml'


@pytest.fixture(scope='module')
def stillbox(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp('sb') / 'stillbox'
    assert main(['synth', '--scene', 'stillbox', '--format', 'stillbox', '--size', '64x64',
                 '--frames', '8', '--sequences', '3', '--output', str(root), '--no-progress']) == 0
    return root


def test_split_is_by_scene_and_loses_none(stillbox):
    scenes = read_stillbox(stillbox)
    assert len(scenes) == 3 and all(len(s) == 8 for s in scenes)
    train, val = split_scenes(scenes, 0.9, seed=0)
    assert len(train) == 2 and len(val) == 1
    assert {s.name for s in train} | {s.name for s in val} == {s.name for s in scenes}
    assert len(StillBoxValPairs(val, 64, 3)) == 8 - 3


def test_training_targets_follow_the_recipe(stillbox):
    """Target = depth of the second frame x shift/gap (100 m at gap 0), clipped to [0, 100]."""
    scenes = read_stillbox(stillbox)
    ds = StillBoxTrainPairs(scenes, 64, shift=3, flips=False)
    torch.manual_seed(1)
    gaps = set()
    for idx in range(0, len(ds), 2):
        x, target, disp = ds[idx]
        scene = scenes[ds.index[idx][0]]
        assert x.shape == (6, 64, 64) and target.shape == (64, 64)
        step = scene.speed_mps * scene.time_step_s
        signed_gap = int(round(float(disp.numpy() @ step) / float(step @ step)))
        gaps.add(abs(signed_gap))
        assert abs(signed_gap) <= 6
        if signed_gap == 0:
            assert torch.all(target == 100.0)
            continue
        # the second frame is one of the scene's frames: find it among them
        matches = [b for b in range(len(scene))
                   if np.allclose(np.clip(np.nan_to_num(np.load(scene.depths[b]), nan=100.0) * 3 / abs(signed_gap),
                                          0, 100), target.numpy(), rtol=1e-6)]
        assert matches, f'item {idx}: target is not depth x 3/{abs(signed_gap)} of any frame'
    assert len(gaps) >= 3   # the gap is random in [0, 6]


def test_flips_flip_the_displacement_sign(stillbox):
    scenes = read_stillbox(stillbox)
    ds = StillBoxTrainPairs(scenes[:1], 64, shift=3, flips=True)
    step = scenes[0].speed_mps * scenes[0].time_step_s
    seen = set()
    torch.manual_seed(0)
    for _ in range(40):
        _, _, disp = ds[3]
        g = float(np.linalg.norm(disp)) / float(np.linalg.norm(step))
        if g < 0.5:
            continue
        ratio = disp.numpy() / (step * round(g))
        seen.add(tuple(np.sign(np.round(ratio[:2] * np.sign(ratio[2])))))
    assert len(seen) >= 3   # x and y signs flip independently of the frame order


def test_loss_is_weighted_l1_against_area_downsampled_targets():
    t = torch.arange(16.0).reshape(1, 4, 4)
    assert area_downsample(t, (2, 2)).tolist() == [[[2.5, 4.5], [10.5, 12.5]]]
    outputs = [torch.full((1, 64 >> k, 64 >> k), 7.0) for k in range(2, 7)]
    loss = multiscale_l1(outputs, torch.full((1, 64, 64), 3.0))
    assert float(loss) == pytest.approx(4.0 * (0.32 + 0.08 + 0.02 + 0.01 + 0.005))


@pytest.mark.slow
def test_loss_decreases_over_a_few_steps_with_the_recipe_optimiser(stillbox):
    cfg = load_config(CONFIG, [f'dataset_dir={stillbox}'])
    torch.manual_seed(0)
    net = build_model(cfg).train()
    ds = StillBoxTrainPairs(read_stillbox(stillbox), 64, cfg.shift)
    x, target, _ = map(torch.stack, zip(*[ds[i] for i in (0, 5, 9, 14)]))
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, dampening=cfg.dampening,
                          weight_decay=cfg.weight_decay)
    losses = []
    for _ in range(6):
        loss = multiscale_l1(net(x), target, cfg.loss_weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(b < a for a, b in zip(losses, losses[1:])), losses   # falls at every step
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.slow
def test_train_command_writes_loadable_models_and_resumes(stillbox, tmp_path):
    base = ['train', '--config', CONFIG, f'dataset_dir={stillbox}', 'batch_size=4', 'epoch_size=2',
            'num_workers=0', f'output_dir={tmp_path}']
    assert main(base + ['epochs=1', '--no-progress']) == 0
    run = tmp_path / 'depthnet_64'
    net, weights = load_depthnet(run / 'depthnet_last.pth.tar')
    assert weights.layout == 'current' and weights.training_focal_px == 32.0
    assert main(base + ['epochs=2', '--no-progress', '--resume']) == 0
    history = json.loads((run / 'history.json').read_text())
    assert [h['epoch'] for h in history] == [1, 2] and history[1]['steps'] == 4
    assert all(np.isfinite(h['train_loss']) and np.isfinite(h['val_error_m']) for h in history)


def test_unknown_config_keys_are_errors(tmp_path):
    with pytest.raises(ValueError, match='unknown DepthNet config keys'):
        load_config(CONFIG, ['learning_rate=0.1'])


def test_nan_guard_stops_a_diverging_run_with_a_clear_error(stillbox, tmp_path):
    from depth_perception_training.depthnet.run import NonFiniteLossError, train
    cfg = load_config(CONFIG, [f'dataset_dir={stillbox}', 'batch_size=4', 'epoch_size=8', 'lr=1.0e+30',
                               'dampening=0', 'max_nonfinite_steps=2', 'num_workers=0',
                               f'output_dir={tmp_path}', 'epochs=1'])
    with pytest.raises(NonFiniteLossError, match='2 non-finite losses in a row'):
        train(cfg, enable_progress_bar=False)


def test_resume_refuses_a_damaged_resume_file(stillbox, tmp_path, capsys):
    run = tmp_path / 'depthnet_64'
    run.mkdir()
    (run / 'resume.pt').write_bytes(b'PK\x03\x04 truncated')
    assert main(['train', '--config', CONFIG, f'dataset_dir={stillbox}', 'num_workers=0',
                 f'output_dir={tmp_path}', '--no-progress', '--resume']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'resume.pt' in err[0]


@pytest.mark.parametrize('depth_m', [24.5, 0.5])
def test_start_at_constant_outputs_that_depth_at_every_scale_and_pixel(depth_m):
    from depth_perception_training.depthnet.run import build_model as build
    cfg = load_config(CONFIG, [f'init_depth_m={depth_m}'])
    torch.manual_seed(1)
    net = build(cfg).train()
    outputs = net(torch.randn(2, 6, 64, 64))
    # ELU(x)+1 inverted by hand: x = d - 1 above 1 m, log(d) below.
    for out, side in zip(outputs, (16, 8, 4, 2, 1)):
        assert out.shape == (2, side, side)
        assert torch.allclose(out, torch.full_like(out, depth_m), atol=1e-5)


def test_start_at_constant_still_learns_and_adam_is_chosen(stillbox):
    from depth_perception_training.depthnet.run import make_optimizer
    cfg = load_config(CONFIG, [f'dataset_dir={stillbox}', 'optimizer=adam', 'lr=1.0e-3',
                               'weight_decay=0', 'init_depth_m=20'])
    torch.manual_seed(0)
    net = build_model(cfg).train()
    opt = make_optimizer(cfg, net.parameters())
    assert isinstance(opt, torch.optim.Adam) and opt.param_groups[0]['lr'] == 1e-3
    ds = StillBoxTrainPairs(read_stillbox(stillbox), 64, cfg.shift)
    x, target, _ = map(torch.stack, zip(*[ds[i] for i in (0, 5, 9, 14)]))
    first = multiscale_l1(net(x), target, cfg.loss_weights).item()
    for _ in range(8):
        loss = multiscale_l1(net(x), target, cfg.loss_weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = multiscale_l1(net(x), target, cfg.loss_weights).item()
    # The constant start is not a dead end: zero head weights still receive gradients.
    assert after < 0.95 * first, (first, after)
    assert any(float(getattr(net, f'predict_depth{k}').weight.abs().max()) > 0 for k in range(2, 7))


def test_warmup_ramps_the_lr_linearly_and_leaves_the_schedule_alone(stillbox, tmp_path):
    """With SGD without momentum/decay a step moves a bias by exactly lr * grad: read lr back."""
    from depth_perception_training.depthnet import run as run_mod
    cfg = load_config(CONFIG, [f'dataset_dir={stillbox}', 'batch_size=4', 'epoch_size=3', 'epochs=1',
                               'num_workers=0', f'output_dir={tmp_path}', 'warmup_steps=4', 'lr=0.01',
                               'momentum=0', 'dampening=0', 'weight_decay=0'])
    seen = []
    real_step = torch.optim.SGD.step

    def recording_step(self, *a, **k):
        seen.append(self.param_groups[0]['lr'])
        return real_step(self, *a, **k)
    torch.optim.SGD.step = recording_step
    try:
        run_mod.train(cfg, enable_progress_bar=False)
    finally:
        torch.optim.SGD.step = real_step
    assert seen == pytest.approx([0.0025, 0.005, 0.0075])
    from depth_perception.checkpoint_io import safe_load
    state = safe_load(tmp_path / 'depthnet_64' / 'resume.pt', allowed_globals=(), check_finite='model')
    assert state['optimizer']['param_groups'][0]['lr'] == pytest.approx(0.01)


def test_bad_optimiser_names_are_errors():
    with pytest.raises(ValueError, match='optimizer must be one of'):
        load_config(CONFIG, ['optimizer=rmsprop'])


def test_scenes_flown_slower_are_scaled_by_their_own_displacement(tmp_path):
    """A room flown at 0.15 m/s and 10 Hz moves 1.5 cm a frame: a validation pair 3 frames apart
    is 4.5 cm long, so the target (depth at the nominal 0.3 m) is the depth x 0.3 / 0.045."""
    root = tmp_path / 'room'
    assert main(['synth', '--scene', 'indoor', '--trajectory', 'uav', '--format', 'stillbox', '--size', '64x64',
                 '--hfov', '90', '--fps', '10', '--speed', '0.15', '--frames', '5', '--output', str(root),
                 '--no-progress']) == 0
    scene = read_stillbox(root)[0]
    _, target, _ = StillBoxValPairs([scene], 64, 3)[0]          # frames 0 and 3
    depth = np.load(scene.depths[3])
    np.testing.assert_allclose(target.numpy(), np.clip(depth * (0.3 / 0.045), 0, 100), rtol=1e-5)
