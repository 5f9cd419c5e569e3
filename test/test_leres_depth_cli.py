"""`depth-perception leres-depth`: LeReS pseudo-depth PNGs for a V3 training set.

A reduced-width random-weight LeReS saved in the released `res101.pth` layout, a tiny
synthetic dataset written by `prepare_synthetic`. The expected maps are computed here from the
documented preprocessing (reference-systems.md §4.2: channel flip, 448x448 linear resize,
ImageNet mean/std, `depth - min + 0.01`, bicubic back) through the bare network, then the
stated encoding by hand; the project's V3 loader and one V3 training step read the result.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from random_weights import randomized_state
from depth_perception.cli.main import main
from depth_perception.models.leres import RelDepthModel
from depth_perception_training.data import layout
from depth_perception_training.data.sequences import SequenceDataset
from depth_perception_training.prepare_synthetic import prepare

torch.set_num_threads(1)
SMALL = dict(layers=(1, 1, 1, 1), groups=4, width_per_group=2, base_planes=8)
MID = (8, 8, 8, 16)




@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    sd = randomized_state(RelDepthModel(mid_channels=MID, **SMALL), 3)
    path = tmp_path_factory.mktemp('leres') / 'res101.pth'
    torch.save({'depth_model': {'module.' + k: v for k, v in sd.items()}, 'epoch': 1}, path)
    return path, sd


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp('ds')
    prepare(out, n_train=1, n_val=1, n_test=0, frames=4, width=96, height=64, speed_mps=0.5, seed=2)
    return out


def expected_png(image_path, sd) -> np.ndarray:
    """Independent of the command: the network by hand from the documented LeReS preprocessing."""
    net = RelDepthModel(mid_channels=MID, **SMALL)
    net.load_state_dict(sd)
    net.eval()
    bgr_u8 = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    rgb = bgr_u8[:, :, ::-1] / 255.0
    flipped = rgb[:, :, ::-1]                          # the base feeds BGR (reference quirk)
    x = cv2.resize(np.ascontiguousarray(flipped), (448, 448), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    x = (x - np.float32([0.485, 0.456, 0.406])) / np.float32([0.229, 0.224, 0.225])
    with torch.inference_mode():
        out = net(torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None])[0, 0].numpy()
    out = out - out.min() + 0.01
    depth = cv2.resize(out, (bgr_u8.shape[1], bgr_u8.shape[0]), interpolation=cv2.INTER_CUBIC).astype(np.float64)
    return np.clip(np.floor(depth / depth.max() * 60000), 1, 65535).astype(np.uint16)


def _run(*argv) -> int:
    return main(['leres-depth', *map(str, argv), '--device', 'cpu', '--no-progress'])


@pytest.mark.slow
def test_writes_the_encoded_leres_map_for_every_image_and_v3_reads_it(checkpoint, dataset):
    ckpt, sd = checkpoint
    assert _run('--checkpoint', ckpt, '--dataset', dataset) == 0
    root = dataset / 'training'
    scenes = sorted(d for d in root.iterdir() if d.is_dir())
    assert len(scenes) == 2
    for scene in scenes:
        frames = layout.list_frames(scene)
        pngs = sorted((scene / 'leres_depth').iterdir())
        assert [p.name for p in pngs] == [f.stem + '.png' for f in frames]
        for frame in frames:
            got = cv2.imread(str(scene / 'leres_depth' / f'{frame.stem}.png'), cv2.IMREAD_UNCHANGED)
            want = expected_png(frame, sd)
            assert got.dtype == np.uint16 and got.shape == want.shape == (64, 96)
            assert int(np.abs(got.astype(np.int64) - want).max()) <= 1     # float rounding at a floor
            assert got.max() >= 59999 and got.min() >= 1 and np.unique(got).size > 100

    # The project's V3 loader reads the maps back (resized to the training size) ...
    train_scenes = layout.read_scene_list(root, 'train')
    ds = SequenceDataset(train_scenes, 3, 1, (64, 96), augment=False, with_pseudo_depth=True)
    item = ds[0]
    raw = layout.read_pseudo_depth(train_scenes[0] / 'leres_depth' / f'{ds.snippets[0].target.stem}.png')
    assert item['pseudo_depth'].shape == (1, 64, 96)
    assert torch.equal(item['pseudo_depth'][0], torch.from_numpy(raw))
    # ... and one V3 training step of the real module runs on it.
    from depth_perception_training.config import load_config
    from depth_perception_training.module import SCDepthModule
    torch.manual_seed(0)
    cfg = load_config(None, [], dataset_name='synthetic', img_height=64, img_width=96,
                      image_log_every_n_steps=0, model_version='v3')
    module = SCDepthModule(cfg.to_dict())
    batch = {k: torch.stack([ds[i][k] for i in range(len(ds))]) for k in item}
    losses = module.compute_losses(batch)
    assert {'normal_matching', 'mask_ranking', 'normal_ranking'} <= set(losses)
    assert torch.isfinite(losses['total'])
    losses['total'].backward()
    assert losses['normal_matching'].item() > 0


def test_existing_maps_are_kept_unless_overwrite(checkpoint, dataset, tmp_path):
    ckpt, sd = checkpoint
    assert _run('--checkpoint', ckpt, '--dataset', dataset) == 0
    scene = dataset / 'training' / 'train_indoor_000'
    target = scene / 'leres_depth' / '000001.png'
    marker = np.full((64, 96), 7, np.uint16)
    cv2.imwrite(str(target), marker)
    assert _run('--checkpoint', ckpt, '--dataset', dataset) == 0
    assert np.array_equal(cv2.imread(str(target), cv2.IMREAD_UNCHANGED), marker)
    assert _run('--checkpoint', ckpt, '--dataset', dataset, '--overwrite') == 0
    got = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
    assert int(np.abs(got.astype(np.int64) - expected_png(scene / '000001.jpg', sd)).max()) <= 1
    assert not list(scene.glob('leres_depth/.*'))       # no temporary files left behind


def test_bad_image_is_named_and_skipped_and_the_exit_code_says_so(checkpoint, tmp_path, caplog):
    ckpt, sd = checkpoint
    scene = tmp_path / 'training' / 'sceneA'
    scene.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in (0, 2):
        cv2.imwrite(str(scene / f'{i:06d}.jpg'), rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))
    (scene / '000001.jpg').write_bytes(b'not a jpeg at all')
    assert _run('--checkpoint', ckpt, '--dataset', tmp_path) == 1
    assert sorted(p.name for p in (scene / 'leres_depth').iterdir()) == ['000000.png', '000002.png']
    assert any('000001.jpg' in r.getMessage() for r in caplog.records if r.levelname == 'ERROR')
    got = cv2.imread(str(scene / 'leres_depth' / '000002.png'), cv2.IMREAD_UNCHANGED)
    assert int(np.abs(got.astype(np.int64) - expected_png(scene / '000002.jpg', sd)).max()) <= 1


def test_missing_and_foreign_checkpoints_are_one_line_errors(tmp_path, capsys):
    scene = tmp_path / 'training' / 's'
    scene.mkdir(parents=True)
    cv2.imwrite(str(scene / '000000.jpg'), np.zeros((8, 8, 3), np.uint8))
    assert _run('--checkpoint', tmp_path / 'absent.pth', '--dataset', tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'absent.pth' in err
    torch.save({'model': {'w': torch.zeros(2)}}, tmp_path / 'midas.pt')
    assert _run('--checkpoint', tmp_path / 'midas.pt', '--dataset', tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'midas.pt' in err and 'not a LeReS checkpoint' in err
    assert not (scene / 'leres_depth').exists()
    # and a folder that is not an SC-Depth layout is named too
    assert _run('--checkpoint', tmp_path / 'midas.pt', '--dataset', tmp_path / 'nowhere') == 2
    assert 'nowhere' in capsys.readouterr().err
