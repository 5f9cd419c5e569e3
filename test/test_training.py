"""Training pipeline pieces: config, sampler, augmentation geometry, datasets, frame index, guard, checkpoints."""
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_perception.checkpoints import read_scdepth_checkpoint, save_own_checkpoint
from depth_perception.estimators import CameraFrame, create_estimator
from depth_perception_training.analytic_scene import write_plane_dataset
from depth_perception_training.config import TrainConfig, load_config
from depth_perception_training.data import layout
from depth_perception_training.data.augment import augment_train, random_flip, random_scale_crop, resize
from depth_perception_training.data.frame_index import changed_fraction, valid_frame_indices
from depth_perception_training.data.sampler import StepBatchSampler
from depth_perception_training.datamodule import SCDepthDataModule
from depth_perception_training.data.sequences import DepthValidationDataset, SequenceDataset, build_snippets
from depth_perception_training.module import NonFiniteLossError, SCDepthModule, check_finite

torch.set_num_threads(1)
CONFIGS = sorted((Path(__file__).resolve().parents[1] / 'training' / 'configs').glob('v*/*.yaml'))


# ----------------------------------------------------------------------------- config
def test_every_shipped_config_loads_with_reference_defaults():
    assert len(CONFIGS) >= 14
    for path in CONFIGS:
        cfg = load_config(path)
        assert cfg.sequence_length == 3
        if not path.stem.startswith('synthetic'):   # our own synthetic runs, not reference configs
            assert (cfg.lr, cfg.num_epochs, cfg.epoch_size) == (1e-4, 100, 1000)
            assert (cfg.photo_weight, cfg.geometry_weight, cfg.smooth_weight) == (1.0, 0.1, 0.1)
            assert cfg.model_version == path.parent.name
    assert load_config(CONFIGS[0].parent.parent / 'v1' / 'tum.yaml').skip_frames == 10
    assert load_config(CONFIGS[0].parent.parent / 'v2' / 'bonn.yaml').use_frame_index is True
    assert load_config(CONFIGS[0].parent.parent / 'v1' / 'nyu.yaml').training_size_hw == (256, 320)


def test_overrides_are_yaml_typed_and_unknown_keys_fail():
    cfg = load_config(None, ['batch_size=8', 'no_ssim=true', 'lr=2e-4', 'dataset_name=nyu'])
    assert (cfg.batch_size, cfg.no_ssim, cfg.lr, cfg.training_size_hw) == (8, True, 2e-4, (256, 320))
    with pytest.raises(ValueError, match='unknown config keys'):
        load_config(None, ['bach_size=8'])
    with pytest.raises(ValueError, match='multiple of 32'):
        load_config(None, ['img_height=100', 'img_width=128'])
    with pytest.raises(ValueError, match='true or false'):
        load_config(None, ['no_ssim=maybe'])


# ----------------------------------------------------------------------------- sampler
def test_sampler_batches_are_a_function_of_the_global_step():
    step = {'value': 0}
    s = StepBatchSampler(num_samples=10, batch_size=3, epoch_size=5, seed=1, global_step_fn=lambda: step['value'])
    epoch0 = list(s)
    assert len(epoch0) == 5 and len(s) == 5
    step['value'] = 2                                       # resumed after two optimiser steps
    assert list(s) == epoch0[2:]
    step['value'] = 5                                       # next epoch: a different order
    epoch1 = list(s)
    assert [k for k, _ in epoch1[0]] != [k for k, _ in epoch0[0]] or epoch1[1] != epoch0[1]
    seeds = [seed for batch in epoch0 + epoch1 for _, seed in batch]
    assert len(set(seeds)) == len(seeds)                    # every sample its own augmentation seed
    # Each chunk of 10 consecutive draws is a permutation: all samples seen equally often.
    flat = [k for batch in epoch0 for k, _ in batch]
    assert sorted(flat[:10]) == list(range(10))


def test_sampler_ranks_split_the_global_batch():
    a = StepBatchSampler(12, 2, 3, 0, lambda: 0, rank=0, world_size=2)
    b = StepBatchSampler(12, 2, 3, 0, lambda: 0, rank=1, world_size=2)
    single = StepBatchSampler(12, 4, 3, 0, lambda: 0)
    for ba, bb, bs in zip(a, b, single):
        assert [k for k, _ in ba + bb] == [k for k, _ in bs]


# ----------------------------------------------------------------------------- augmentation
def _coordinate_image(h=48, w=64):
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([u, v, np.zeros_like(u)])


def _check_intrinsics_follow_pixels(img_out, K_in, K_out, margin=3):
    """Pixel (u', v') holds source coordinates (u, v): K_out K_in^-1 must map (u, v) to (u', v')."""
    h, w = img_out.shape[:2]
    v2, u2 = np.mgrid[margin:h - margin, margin:w - margin]
    src = np.stack([img_out[v2, u2, 0], img_out[v2, u2, 1], np.ones(u2.shape)], -1)
    mapped = src @ (K_out @ np.linalg.inv(K_in)).T
    assert np.abs(mapped[..., 0] - u2).max() < 0.02 and np.abs(mapped[..., 1] - v2).max() < 0.02


def test_flip_scale_crop_and_resize_update_the_intrinsics_exactly():
    K = np.array([[50.0, 0, 30.2], [0, 52.0, 22.7], [0, 0, 1]])
    img = _coordinate_image()
    for seed in range(4):
        rng = np.random.default_rng(seed)
        (out,), K2 = random_scale_crop([img], K, rng)
        _check_intrinsics_follow_pixels(out, K, K2)
        (out,), K3 = resize([img], K, (32, 40))
        _check_intrinsics_follow_pixels(out, K, K3)
    flipped_any = False
    for seed in range(6):
        (out,), K4 = random_flip([img], K, np.random.default_rng(seed))
        flipped_any |= out[0, 0, 0] != 0
        u, v = out[..., 0], out[..., 1]
        # Flip maps u -> W-1-u; check through the intrinsics with the x axis mirrored.
        x_in = (u - K[0, 2]) / K[0, 0]
        x_out = (np.arange(img.shape[1])[None, :] - K4[0, 2]) / K4[0, 0]
        sign = -1 if out[0, 0, 0] != 0 else 1
        assert np.allclose(x_out, sign * x_in, atol=1e-9) and np.allclose(v, img[..., 1])
    assert flipped_any


def test_augmentation_is_a_pure_function_of_the_seed():
    img = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.float32)
    K = np.array([[50.0, 0, 31.5], [0, 50.0, 23.5], [0, 0, 1]])
    a = augment_train([img], K, (32, 32), np.random.default_rng([1, 2, 3]))
    b = augment_train([img], K, (32, 32), np.random.default_rng([1, 2, 3]))
    assert np.array_equal(a[0][0], b[0][0]) and np.array_equal(a[1], b[1])


# ----------------------------------------------------------------------------- data
def test_snippets_and_datasets_follow_the_layout(tmp_path):
    root = write_plane_dataset(tmp_path, frames=7, height=32, width=32)
    train_root = layout.training_root(root)
    scenes = layout.read_scene_list(train_root, 'train')
    snippets, intrinsics = build_snippets(scenes, 3, 2, use_frame_index=False)
    assert len(snippets) == 2 * (7 - 4)                    # targets 2..4 in each scene
    s = snippets[0]
    assert s.target.stem == '000002' and [p.stem for p in s.references] == ['000000', '000004']
    ds = SequenceDataset(scenes, 3, 1, (32, 32))
    item = ds[(0, (0, 0, 0))]
    assert item['tgt'].shape == (3, 32, 32) and item['refs'].shape == (2, 3, 32, 32) and item['K'].shape == (3, 3)
    (scenes[0] / 'frame_index.txt').write_text('0\n2\n4\n6\n')
    snippets, _ = build_snippets(scenes[:1], 3, 1, use_frame_index=True)
    assert [p.stem for p in snippets[0].references] == ['000000', '000004']
    val = DepthValidationDataset(layout.read_scene_list(train_root, 'val'), (32, 32), 1000.0)
    gt = val[0]['gt_depth_m']
    assert gt.shape == (32, 32) and 2.0 < float(gt.mean()) < 4.0   # millimetre PNG read back in metres


def test_validation_subset_spreads_over_every_sequence(tmp_path):
    root = write_plane_dataset(tmp_path, val_scenes=('v0', 'v1', 'v2'), frames=6, height=32, width=32)
    cfg = TrainConfig(dataset_dir=str(root), dataset_name='synthetic', img_height=32, img_width=32,
                      val_max_batches=4)
    dm = SCDepthDataModule(cfg)
    dm.setup('fit')
    frames = [dm.val_set.dataset.items[i][0] for i in dm.val_set.indices]
    assert len(frames) == 4 and {f.parent.name for f in frames} == {'v0', 'v1', 'v2'}
    assert len(dm.val_dataloader()) == 4


def test_frame_index_counts_real_changes_without_uint8_wraparound():
    a = np.full((10, 10), 100, np.uint8)
    darker = a - 3                                           # uint8 a - darker... = 3; darker - a wraps to 253
    assert changed_fraction(darker, a) == 0.0
    assert np.mean((darker - a) > 10) == 1.0                 # the reference's uint8 arithmetic would keep it
    moved = a.copy()
    moved[:, :6] = 180
    assert changed_fraction(moved, a) == 0.6
    assert valid_frame_indices([a, darker, moved, moved, a]) == [0, 2, 4]


# ----------------------------------------------------------------------------- guard and checkpoints
def test_nan_guard_stops_with_a_clear_message():
    with pytest.raises(NonFiniteLossError, match=r'global step 12 \(photo=nan\)'):
        check_finite({'photo': torch.tensor(float('nan')), 'total': torch.tensor(1.0)}, 12)
    check_finite({'photo': torch.tensor(0.5), '_tgt_depth': torch.tensor(float('nan'))}, 1)   # images are not losses


def test_nan_input_trips_the_guard_in_a_training_step():
    cfg = load_config(None, [], dataset_name='synthetic', img_height=64, img_width=64, image_log_every_n_steps=0)
    module = SCDepthModule(cfg.to_dict())
    batch = {'tgt': torch.full((2, 3, 64, 64), float('nan')), 'refs': torch.zeros(2, 2, 3, 64, 64),
             'K': torch.tensor([[[60.0, 0, 31.5], [0, 60.0, 31.5], [0, 0, 1]]]).repeat(2, 1, 1)}
    with pytest.raises(NonFiniteLossError):
        module.training_step(batch, 0)


def test_saved_model_loads_in_the_estimator_and_exports_to_sc_depth_pl(tmp_path):
    from depth_perception.cli.main import main
    cfg = load_config(None, [], dataset_name='synthetic', img_height=64, img_width=64)
    module = SCDepthModule(cfg.to_dict()).eval()
    path = save_own_checkpoint(tmp_path / 'm.pt', module.depth_net, module.pose_net, model_version='v1',
                               hparams=cfg.to_dict(), training_resolution_hw=(64, 64))
    rgb = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    est = create_estimator('scdepth', checkpoint=str(path), device='cpu', estimate_motion=False)
    got = est.estimate(CameraFrame(rgb=rgb)).model_depth
    x = (torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255 - 0.45) / 0.225
    with torch.no_grad():
        expected = module.predict_depth(x)[0, 0].numpy()
    assert np.allclose(np.squeeze(got), expected, rtol=1e-4)
    out = tmp_path / 'exported.ckpt'
    assert main(['export', '--format', 'ckpt', '--checkpoint', str(path), '--output', str(out)]) == 0
    w = read_scdepth_checkpoint(out)
    assert w.source_format == 'sc_depth_pl' and w.pose_state is not None
    assert torch.equal(w.depth_state['decoder.dispconvs.0.conv.weight'],
                       module.depth_net.state_dict()['decoder.dispconvs.0.conv.weight'])
