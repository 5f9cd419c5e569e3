"""DepthNet and SC-Depth V2 RectifyNet backends give the eager fp32 answer within the stated
tolerances (the same as for SC-Depth, test_backends.py); stale ONNX files are refused.

Tolerances (relative to eager fp32 on the same input):
  torch fp32        max relative depth error <= 1e-4
  onnxruntime fp32  max relative depth error <= 1e-3 (RectifyNet: max |error| <= 1e-3 * max |rotation|)
  torch bf16        median relative depth error <= 1e-2
Sizes include 200x264, which is not a multiple of 64: DepthNet then crops its decoder maps,
and the exported graph must do so for sizes it was not traced at.
"""
import numpy as np
import pytest
import torch

from depth_perception import checkpoints
from depth_perception.backends import BackendError
from depth_perception.backends.depthnet import make_depthnet_backend
from depth_perception.backends.onnx import (DEPTHNET_FILE, RECTIFY_FILE, OrtNetwork, as_input,
                                            weights_fingerprint)
from depth_perception.checkpoints_depthnet import save_depthnet_checkpoint
from depth_perception.cli.main import main
from depth_perception.estimators import CameraFrame
from depth_perception.estimators.depthnet import DepthNetEstimator, PairsSkipped
from depth_perception.models import DispResNet, PoseResNet, RectifyNet
from depth_perception.models.depthnet import DepthNet
from random_weights import randomized, randomized_state

torch.set_num_threads(1)
CPU = torch.device('cpu')
SIZES = [(128, 192), (200, 264)]


def random_depthnet(seed: int, **flags) -> DepthNet:
    net = DepthNet(**flags)
    state = randomized_state(DepthNet(**flags), seed)
    # keep the finest head's output mostly >= -2: ELU(x) + 1 = (e^x - 1) + 1 cancels in fp32
    # for x << 0 (depth 1e-5 carries ~1e-3 relative rounding whatever the backend)
    state['predict_depth2.weight'] *= 0.2
    state['predict_depth2.bias'].fill_(2.0)
    net.load_state_dict(state)
    return net.eval()


def pairs(hw, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, *hw, generator=g)


def eager(net, x):
    with torch.inference_mode():
        return net(x).numpy()


@pytest.fixture(scope='module')
def net():
    return random_depthnet(3)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, net):
    # training width 264 -> network focal 132 px: frames with fx = 132 are not resized
    path = tmp_path_factory.mktemp('dn') / 'DepthNet_elu_bn_264.pth.tar'
    return str(save_depthnet_checkpoint(path, net, training_width_px=264))


@pytest.fixture(scope='module')
def onnx_dir(tmp_path_factory, checkpoint):
    out = tmp_path_factory.mktemp('dn_onnx')
    assert main(['export', '--format', 'onnx', '--method', 'depthnet', '--checkpoint', checkpoint,
                 '--output', str(out)]) == 0
    return out


def rel(a, b):
    return np.abs(a - b) / np.abs(b)


@pytest.mark.parametrize('hw', SIZES)
@pytest.mark.parametrize('precision,stat,bound', [('fp32', 'max', 1e-4), ('bf16', 'median', 1e-2)])
def test_torch_depthnet_matches_eager(net, hw, precision, stat, bound):
    x = pairs(hw)
    ref = eager(net, x)
    assert ref.shape == (2, (hw[0] + 3) // 4, (hw[1] + 3) // 4) and np.ptp(ref) > 1e-3 * ref.mean()
    backend = make_depthnet_backend('torch', precision, net, CPU)
    out = backend(x).numpy()
    err = rel(out, ref)
    value = err.max() if stat == 'max' else np.median(err)
    assert out.shape == ref.shape and value <= bound, f'{precision}: {stat} relative error {value:.2e}'
    if precision == 'bf16':     # reduced precision really runs
        assert np.median(err) > 1e-6
    # the loaded network is left as it was (folding works on a copy)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())


@pytest.mark.slow
def test_onnx_depthnet_in_memory_matches_eager_at_sizes_and_batches_it_was_not_traced_at(net):
    backend = make_depthnet_backend('onnxruntime', 'fp32', net, CPU)
    assert 'exported in memory' in backend.describe()
    for hw, n in ((SIZES[1], 1), ((256, 256), 3), ((97, 131), 1)):
        x = pairs(hw, n, seed=n)
        ref = eager(net, x)
        out = backend(x).numpy()
        assert out.shape == ref.shape and rel(out, ref).max() <= 1e-3, hw


def frames(n, hw=(200, 264)):
    rng = np.random.default_rng(2)
    ramp = np.linspace(0, 200, hw[1])[None, :, None]
    return [np.clip(ramp + rng.normal(0, 40, (*hw, 3)), 0, 255).astype(np.uint8) for _ in range(n)]


def estimator_depths(checkpoint, **options):
    """Depth of 4 frames (200x264, fx = 132 px: not resized), two frame shifts batched together."""
    est = DepthNetEstimator(checkpoint=checkpoint, device='cpu', frame_shifts=(1, 2),
                            velocity_mps=(0.0, 0.0, 3.0), assume_stabilized=True, **options)
    K = np.array([[132.0, 0, 131.5], [0, 132.0, 99.5], [0, 0, 1]])
    out = []
    for i, rgb in enumerate(frames(4)):
        if i == 0:      # no earlier frame yet
            with pytest.raises(PairsSkipped):
                est.estimate(CameraFrame(rgb, K, 0))
            continue
        r = est.estimate(CameraFrame(rgb, K, i * 100_000_000))
        out.append(np.stack([r.outputs[k] for k in sorted(r.outputs)]))
    return est, out


@pytest.mark.slow
def test_exported_depthnet_file_runs_in_the_estimator_like_eager(checkpoint, onnx_dir):
    assert (onnx_dir / DEPTHNET_FILE).is_file()
    _, ref = estimator_depths(checkpoint)
    est, out = estimator_depths(checkpoint, backend='onnxruntime', onnx_dir=str(onnx_dir))
    assert est.runner.backend.name == 'onnxruntime' and str(onnx_dir) in est.runner.describe()
    assert [o.shape for o in out] == [r.shape for r in ref] and ref[-1].shape == (2, 50, 66)
    for o, r in zip(out, ref):
        assert rel(o, r).max() <= 1e-3


@pytest.mark.slow
def test_depthnet_file_of_other_weights_or_flags_is_refused(onnx_dir, tmp_path):
    other = save_depthnet_checkpoint(tmp_path / 'DepthNet_elu_bn_264.pth.tar', random_depthnet(4),
                                     training_width_px=264)
    with pytest.raises(BackendError, match='exported from other weights') as info:
        DepthNetEstimator(checkpoint=str(other), device='cpu', backend='onnxruntime', onnx_dir=str(onnx_dir))
    assert str(onnx_dir / DEPTHNET_FILE) in str(info.value) and '\n' not in str(info.value)


def test_fingerprint_covers_the_options_that_change_depthnet_output(net):
    clamped = DepthNet(clamp=True)
    clamped.load_state_dict(net.state_dict())
    raw = DepthNet(depth_activation=None)
    raw.load_state_dict(net.state_dict())
    prints = {weights_fingerprint(n) for n in (net, clamped, raw)}
    assert len(prints) == 3 and weights_fingerprint(random_depthnet(3)) == weights_fingerprint(net)


def test_missing_depthnet_onnx_file_is_one_line(checkpoint, tmp_path):
    with pytest.raises(BackendError, match='ONNX file not found') as info:
        DepthNetEstimator(checkpoint=checkpoint, device='cpu', backend='onnxruntime', onnx_dir=str(tmp_path))
    assert str(info.value).startswith(str(tmp_path / DEPTHNET_FILE)) and '\n' not in str(info.value)
    assert 'export --format onnx --method depthnet' in str(info.value)
    with pytest.raises(BackendError, match='onnxruntime on CPU runs fp32 only'):
        DepthNetEstimator(checkpoint=checkpoint, device='cpu', backend='onnxruntime', precision='bf16')


def test_export_depthnet_without_a_checkpoint_writes_the_packaged_model(tmp_path, capsys):
    assert main(['export', '--format', 'onnx', '--method', 'depthnet', '--output', str(tmp_path)]) == 0
    assert 'depthnet_default.pt' in capsys.readouterr().out
    # the estimator refuses a file exported from other weights: this one is the packaged model's
    est = DepthNetEstimator(checkpoint='', device='cpu', backend='onnxruntime', onnx_dir=str(tmp_path))
    assert (tmp_path / DEPTHNET_FILE).is_file()
    assert f'onnxruntime fp32 ({tmp_path};' in est.runner.describe()


@pytest.mark.slow
def test_rectify_net_of_a_v2_checkpoint_is_exported_and_matches_eager(tmp_path):
    rect = randomized(RectifyNet(), 7)
    ckpt = checkpoints.save_own_checkpoint(tmp_path / 'v2.pt', randomized(DispResNet(18), 5),
                                           randomized(PoseResNet(), 6), rect, model_version='v2',
                                           training_resolution_hw=(96, 128))
    out = tmp_path / 'onnx'
    assert main(['export', '--format', 'onnx', '--checkpoint', str(ckpt), '--output', str(out)]) == 0
    assert (out / RECTIFY_FILE).is_file()
    ort_rect = OrtNetwork(rect, 'rectify', CPU, onnx_dir=str(out))
    g = torch.Generator().manual_seed(1)
    for hw in ((96, 128), (200, 264)):
        tgt, ref_img = torch.randn(2, 1, 3, *hw, generator=g)
        with torch.inference_mode():
            expected = rect(tgt, ref_img).numpy()
        got = ort_rect(as_input(tgt), as_input(ref_img)).numpy()
        assert got.shape == (1, 3) and np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()
    with pytest.raises(BackendError, match='exported from other weights'):
        OrtNetwork(randomized(RectifyNet(), 8), 'rectify', CPU, onnx_dir=str(out))
    # a V1 checkpoint has no rectify network: no such file
    v1 = tmp_path / 'v1'
    assert main(['export', '--format', 'onnx', '--output', str(v1)]) == 0
    assert not (v1 / RECTIFY_FILE).exists()


def test_infer_depthnet_with_torch_backend_writes_the_eager_depth(tmp_path, checkpoint):
    import cv2
    inputs = tmp_path / 'in'
    inputs.mkdir()
    imgs = frames(2)
    for name, rgb in zip(('a', 'b'), imgs):
        cv2.imwrite(str(inputs / f'{name}.png'), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    outs = {}
    for backend in ('eager', 'torch'):
        out = tmp_path / backend
        assert main(['infer', '--method', 'depthnet', '--checkpoint', checkpoint, '--input', str(inputs),
                     '--output', str(out), '--device', 'cpu', '--backend', backend, '--no-vis']) == 0
        outs[backend] = np.load(out / 'depth' / 'b.npy')
    assert outs['eager'].shape == (50, 66) and rel(outs['torch'], outs['eager']).max() <= 1e-4
    # the eager file is the network itself on the pair (earlier, later)
    x = torch.cat([(torch.from_numpy(im).permute(2, 0, 1).float() / 255 - 0.5) / 0.2 for im in imgs])[None]
    net = random_depthnet(3)
    assert rel(outs['eager'], eager(net, x)[0]).max() <= 1e-5
