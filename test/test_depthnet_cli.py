"""`depth-perception infer --method depthnet`: pairs, outputs and their values end to end."""
import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import depthnet_reference_forward as ref
from conftest import shared_fixture
from depth_perception.cli.main import main


def _rgb(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """A random-weight DepthNet in the 2017 released layout, and its state for the reference."""
    torch.set_num_threads(1)
    root = shared_fixture('depthnet_pairs')
    with torch.no_grad():
        sd = ref.random_state(5, calibration_input=ref.pair_tensor(
            _rgb(root / '256' / 'pair0_a.png'), _rgb(root / '256' / 'pair0_b.png')))
    path = tmp_path_factory.mktemp('ck') / 'DepthNet_elu_bn_256.pth.tar'
    ref.save_layout(sd, path, 'released-2017')
    return path, sd


def test_pairs_file_outputs_match_the_reference_and_displacement_scales(tmp_path, model):
    ckpt, sd = model
    root = shared_fixture('depthnet_pairs') / '208x156'
    pairs = tmp_path / 'pairs.txt'
    pairs.write_text('# earlier later\npair0_a.png pair0_b.png\n\npair2_a.png pair2_b.png  # second\n')
    out, out_m = tmp_path / 'out', tmp_path / 'out_m'
    base = ['infer', '--method', 'depthnet', '--checkpoint', str(ckpt), '--input', str(root),
            '--pairs', str(pairs), '--device', 'cpu']
    assert main(base + ['--output', str(out)]) == 0
    assert main(base + ['--output', str(out_m), '--displacement', '0.75']) == 0
    assert sorted(p.name for p in (out / 'depth').iterdir()) == ['pair0_b.npy', 'pair2_b.npy']
    for i in (0, 2):
        a, b = _rgb(root / f'pair{i}_a.png'), _rgb(root / f'pair{i}_b.png')
        with torch.no_grad():
            expected = ref.forward(sd, ref.pair_tensor(a, b))
        raw = np.load(out / 'depth' / f'pair{i}_b.npy')
        assert raw.dtype == np.float32 and raw.shape == (39, 52)          # 156/4 x 208/4
        rng = float(expected.max() - expected.min())
        assert np.abs(raw - expected[0].numpy()).max() <= 1e-4 * rng
        full = np.load(out / 'depth_full' / f'pair{i}_b.npy')
        want_full = F.interpolate(expected[None], size=(156, 208), mode='bilinear', align_corners=False)[0, 0]
        assert full.shape == (156, 208) and np.abs(full - want_full.numpy()).max() <= 1e-4 * rng
        np.testing.assert_allclose(np.load(out_m / 'depth' / f'pair{i}_b.npy'), raw * 2.5, rtol=1e-5)
        vis = cv2.imread(str(out / 'vis' / f'pair{i}_b.png'))
        assert vis.shape == (156, 208, 3)


def test_frame_shift_pairs_sorted_images_like_the_reference(tmp_path, model):
    ckpt, _ = model
    root = shared_fixture('depthnet_pairs') / '64'
    out = tmp_path / 'out'
    assert main(['infer', '--method', 'depthnet', '--checkpoint', str(ckpt), '--input', str(root),
                 '--frame-shift', '2', '--output', str(out), '--no-vis']) == 0
    # sorted: pair0_a pair0_b pair1_a pair1_b pair2_a pair2_b; (i, i+2) is named after i+2
    assert sorted(p.stem for p in (out / 'depth').iterdir()) == ['pair1_a', 'pair1_b', 'pair2_a', 'pair2_b']
    assert np.load(out / 'depth' / 'pair1_a.npy').shape == (16, 16)
    assert not (out / 'vis').exists()


def test_resolution_resizes_the_network_input_but_depth_full_keeps_the_input_size(tmp_path, model):
    ckpt, _ = model
    root = shared_fixture('depthnet_pairs') / '208x156'
    out = tmp_path / 'out'
    assert main(['infer', '--method', 'depthnet', '--checkpoint', str(ckpt), '--input', str(root),
                 '--frame-shift', '1', '--resolution', '128x128', '--output', str(out)]) == 0
    assert np.load(out / 'depth' / 'pair0_b.npy').shape == (32, 32)
    assert np.load(out / 'depth_full' / 'pair0_b.npy').shape == (156, 208)


@pytest.mark.parametrize('extra, text, message', [
    (['--pairs', 'PAIRS'], 'only_one_name.png\n', 'PAIRS:1: expected'),
    (['--frame-shift', '9'], None, 'too few for --frame-shift 9'),
    (['--displacement', '-1'], None, '--displacement must be > 0'),
    (['--checkpoint', 'CKPT_BAD'], None, 'field \'bn\' missing'),
    (['--depth-scale', '2'], None, '--depth-scale 2.0: not supported by --method depthnet'),
])
def test_errors_are_one_clear_line(tmp_path, model, capsys, extra, text, message):
    ckpt, _ = model
    root = shared_fixture('depthnet_pairs') / '64'
    pairs, bad = tmp_path / 'pairs.txt', tmp_path / 'scdepth.ckpt'
    torch.save({'state_dict': {'depth_net.x': torch.zeros(1)}}, bad)
    if text is not None:
        pairs.write_text(text)
    extra = [str(pairs) if e == 'PAIRS' else str(bad) if e == 'CKPT_BAD' else e for e in extra]
    argv = ['infer', '--method', 'depthnet', '--checkpoint', str(ckpt), '--input', str(root),
            '--output', str(tmp_path / 'o')] + extra
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message.replace('PAIRS', str(pairs)) in err[0]


def test_without_a_checkpoint_the_packaged_model_runs(tmp_path, caplog):
    root = shared_fixture('depthnet_pairs') / '64'
    with caplog.at_level('INFO'):
        assert main(['infer', '--method', 'depthnet', '--input', str(root), '--frame-shift', '1',
                     '--output', str(tmp_path / 'o'), '--displacement', '0.3']) == 0
    assert 'depthnet_default.pt' in caplog.text
    outputs = sorted((tmp_path / 'o' / 'depth_full').glob('*.npy'))
    assert outputs
    for path in outputs:
        depth = np.load(path)
        assert np.isfinite(depth).all() and (depth > 0).all()
