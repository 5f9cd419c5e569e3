"""`depth-perception boost` end to end on real files: small networks saved in the released
checkpoint layouts, images in a folder, PNG/NPY/JSON outputs read back."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from depth_perception.cli.main import main
from depth_perception.models.leres import RelDepthModel
from depth_perception.models.midas import MidasNet
from depth_perception.models.pix2pix_unet import UnetGenerator

SMALL = dict(layers=(1, 1, 1, 1), groups=2, width_per_group=2, base_planes=8)


@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    midas = MidasNet(features=8, **SMALL)
    with torch.no_grad():
        midas.scratch.output_conv[4].bias.fill_(0.5)
    torch.save({'model': midas.state_dict(), 'optimizer': {}}, tmp_path / 'model.pt')
    leres = RelDepthModel(mid_channels=(8, 8, 8, 16), **SMALL)
    torch.save({'depth_model': {'module.' + k: v for k, v in leres.state_dict().items()}},
               tmp_path / 'res101.pth')
    torch.save(UnetGenerator(ngf=2).state_dict(), tmp_path / 'latest_net_G.pth')
    images = tmp_path / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    img = np.full((150, 200, 3), 100, np.uint8)
    img[30:80, 40:110] = rng.integers(0, 255, (50, 70, 3))
    cv2.imwrite(str(images / 'room.png'), img)
    return tmp_path


@pytest.mark.parametrize('base,ckpt', [('midas', 'model.pt'), ('leres', 'res101.pth')])
def test_boost_r20_writes_uint16_relative_depth_and_dump(files, base, ckpt):
    out = files / f'out_{base}'
    rc = main(['boost', '--base', base, '--checkpoint', str(files / ckpt),
               '--merge-checkpoint', str(files / 'latest_net_G.pth'), '--mode', 'R20',
               '--input', str(files / 'images'), '--output', str(out), '--dump', str(files / 'dump'),
               '--device', 'cpu'])
    assert rc == 0
    png = cv2.imread(str(out / 'room.png'), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint16 and png.shape == (150, 200)
    assert png.min() == 0 and png.max() == 65535
    info = json.loads((out / 'boost.json').read_text())
    assert 'NOT metres' in info['png'] and 'relative' in info['png']
    stages = json.loads((files / 'dump' / 'room' / 'stages.json').read_text())
    rf = 384 if base == 'midas' else 448
    assert stages['resolution_px'] == rf and stages['patches_in_processing_order'] == []
    assert (files / 'dump' / 'room' / f'base_input_{rf}.npy').exists()
    whole = np.load(files / 'dump' / 'room' / 'whole.npy')
    assert whole.shape == (1024, 1024)
    # The PNG is the whole estimate resized to the input, min-max, truncated to uint16.
    result = np.load(files / 'dump' / 'room' / 'result.npy')
    want = (65535 * (result - result.min()) / (result.max() - result.min())).astype(np.uint16)
    assert np.array_equal(png, want)


def test_boost_refuses_bad_checkpoints_with_one_line(files, capsys):
    (files / 'bad.pt').write_bytes(b'not a checkpoint')
    rc = main(['boost', '--base', 'midas', '--checkpoint', str(files / 'bad.pt'),
               '--merge-checkpoint', str(files / 'latest_net_G.pth'), '--mode', 'R0',
               '--input', str(files / 'images'), '--output', str(files / 'o')])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and 'bad.pt' in err[0]
    rc = main(['boost', '--base', 'midas', '--checkpoint', str(files / 'model.pt'),
               '--merge-checkpoint', str(files / 'model.pt'), '--mode', 'R0',
               '--input', str(files / 'images'), '--output', str(files / 'o')])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and 'model.pt' in err[0] and 'merge-net' in err[0]
    rc = main(['boost', '--base', 'leres', '--merge-checkpoint', str(files / 'latest_net_G.pth'),
               '--mode', 'R0', '--input', str(files / 'images'), '--output', str(files / 'o')])
    assert rc == 2 and '--checkpoint' in capsys.readouterr().err


@pytest.mark.slow
def test_boost_scdepth_base_maps_back_to_its_scale(files):
    out = files / 'out_sc'
    rc = main(['boost', '--base', 'scdepth', '--merge-checkpoint', str(files / 'latest_net_G.pth'),
               '--mode', 'R0', '--receptive-field', '128', '--depth-scale', '2.0',
               '--input', str(files / 'images'), '--output', str(out), '--device', 'cpu'])
    assert rc == 0
    depth = np.load(out / 'room_depth.npy')
    assert depth.shape == (150, 200) and depth.dtype == np.float32
    from depth_perception.estimators import CameraFrame, create_estimator
    from depth_perception.image_io import read_rgb
    base = create_estimator('scdepth', estimate_motion=False, depth_scale=2.0, device='cpu')
    base_depth = base.estimate(CameraFrame(read_rgb(files / 'images' / 'room.png'))).depth_m
    ok = np.isfinite(depth)
    assert ok.mean() > 0.95
    # Fitted onto the base: same scale (median ratio ~1), not a normalised [0, 1] map.
    assert np.median(depth[ok] / base_depth[ok]) == pytest.approx(1.0, rel=0.1)
