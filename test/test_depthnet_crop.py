"""crop.py: a centre crop keeps the focal length in pixels and narrows the field of view, and a
model trained on it records that focal length (known answer: the render's own, W/2)."""
import json
import math

import cv2
import numpy as np
import pytest
import torch

from depth_perception.checkpoints_depthnet import load_depthnet
from depth_perception.cli.main import main
from depth_perception_training.depthnet.crop import main as crop_main
from depth_perception_training.depthnet.data import read_stillbox, training_focal_px


@pytest.fixture(scope='module')
def rendered(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp('crop') / 'sb128'
    assert main(['synth', '--scene', 'stillbox', '--format', 'stillbox', '--size', '128x128',
                 '--frames', '8', '--sequences', '3', '--output', str(root), '--no-progress']) == 0
    return root


@pytest.fixture(scope='module')
def cropped(rendered, tmp_path_factory):
    out = tmp_path_factory.mktemp('crop') / 'c64'
    assert crop_main(['--data', str(rendered), '--output', str(out), '--size', '64', '--no-progress']) == 0
    return out


def test_crop_is_the_centre_at_the_same_focal_length(rendered, cropped):
    meta = json.loads((cropped / 'metadata.json').read_text())
    # f = 64 px (128 px at 90 deg); 64 px of it span 2 atan(32 / 64)
    assert meta['hfov_deg'] == pytest.approx(math.degrees(2 * math.atan(0.5)), abs=1e-9)
    scene = meta['scenes'][1]
    for im, dp in zip(scene['imgs'][:3], scene['depth'][:3]):
        np.testing.assert_array_equal(np.load(cropped / dp), np.load(rendered / dp)[32:96, 32:96])
        a = cv2.imread(str(cropped / im)).astype(float)
        b = cv2.imread(str(rendered / im))[32:96, 32:96].astype(float)
        assert a.shape == (64, 64, 3) and np.abs(a - b).mean() < 3.0     # one more JPEG pass
    scenes = read_stillbox(cropped)
    assert training_focal_px(scenes, 64) == pytest.approx(64.0)
    assert training_focal_px(read_stillbox(rendered), 64) == pytest.approx(32.0)


def test_a_model_trained_on_the_crop_records_its_focal_length(cropped, tmp_path):
    assert main(['train', '--config', 'training/configs/depthnet/64.yaml', f'dataset_dir={cropped}',
                 'batch_size=4', 'epoch_size=1', 'epochs=1', 'num_workers=0', f'output_dir={tmp_path}',
                 '--no-progress']) == 0
    _, weights = load_depthnet(tmp_path / 'depthnet_64' / 'depthnet_last.pth.tar')
    assert weights.training_focal_px == pytest.approx(64.0)     # not 64 / 2: the crop's


def test_mixed_fields_of_view_are_refused(rendered, cropped, tmp_path):
    (tmp_path / 'mix').mkdir()
    (tmp_path / 'mix' / 'a').symlink_to(rendered)
    (tmp_path / 'mix' / 'b').symlink_to(cropped)
    with pytest.raises(ValueError, match=r'different fields of view \(53.1301, 90 deg\)'):
        training_focal_px(read_stillbox(tmp_path / 'mix'), 64)


def test_crop_larger_than_the_images_is_one_line(rendered, tmp_path, capsys):
    assert crop_main(['--data', str(rendered), '--output', str(tmp_path / 'o'), '--size', '256',
                      '--no-progress']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'smaller than the crop (256 px)' in err[0]
