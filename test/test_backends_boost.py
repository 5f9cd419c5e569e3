"""Boosting with backend onnxruntime (MiDaS base and merge net exported in memory, run by ONNX
Runtime) gives the eager answer: each network within max |error| 1e-5 x max |output| at sizes
and batches it was not traced at, and the whole boosted frame within 1e-3 relative (the
pipeline min-max normalises and merges, so network differences may grow a little)."""
import numpy as np
import pytest
import torch

from depth_perception.backends.onnx import OrtModule
from depth_perception.estimators import CameraFrame
from depth_perception.estimators.boosted import BoostedEstimator
from depth_perception.models.midas import MidasNet
from depth_perception.models.pix2pix_unet import UnetGenerator
from test_boosted_node import textured_image

torch.set_num_threads(1)
CPU = torch.device('cpu')


def small_midas():
    torch.manual_seed(0)
    net = MidasNet(features=8, layers=(1, 1, 1, 1), groups=2, width_per_group=2, base_planes=8).eval()
    with torch.no_grad():
        net.scratch.output_conv[4].bias.fill_(0.5)   # keep the final ReLU open
    return net


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('boost_ort')
    torch.save({'model': small_midas().state_dict(), 'optimizer': {}}, tmp / 'model.pt')
    torch.manual_seed(1)
    torch.save(UnetGenerator(ngf=2).state_dict(), tmp / 'latest_net_G.pth')   # 10 levels: 1024 px
    return tmp


@pytest.mark.slow
def test_onnx_midas_and_merge_net_match_eager_at_other_sizes_and_batches():
    midas = small_midas()
    torch.manual_seed(1)
    unet = UnetGenerator(ngf=2).eval()
    ort_midas, ort_unet = OrtModule(midas, 'midas', CPU), OrtModule(unet, 'merge', CPU)
    g = torch.Generator().manual_seed(2)
    for net, ort_net, x in ((midas, ort_midas, torch.randn(1, 3, 224, 288, generator=g)),
                            (midas, ort_midas, torch.randn(3, 3, 128, 128, generator=g)),
                            (unet, ort_unet, torch.randn(2, 2, 1024, 1024, generator=g))):
        with torch.no_grad():
            ref = net(x)
        out = ort_net(x)
        assert out.shape == ref.shape and (out - ref).abs().max() <= 1e-5 * ref.abs().max()


@pytest.mark.slow
def test_boosted_estimator_with_onnxruntime_gives_the_eager_depth(files):
    rgb = textured_image()
    common = dict(base='midas', checkpoint=str(files / 'model.pt'),
                  merge_checkpoint=str(files / 'latest_net_G.pth'), receptive_field=128, device='cpu')
    ref = BoostedEstimator(**common).estimate(CameraFrame(rgb)).depth_m
    est = BoostedEstimator(**common, backend='onnxruntime')
    assert type(est.net).__name__ == 'OrtModule' and type(est.base.net).__name__ == 'OrtModule'
    out = est.estimate(CameraFrame(rgb)).depth_m
    assert out.shape == ref.shape and np.ptp(ref) > 0
    assert np.max(np.abs(out - ref)) <= 1e-3 * np.max(np.abs(ref))


def test_boosting_backend_choices_are_checked():
    with pytest.raises(ValueError, match="backend must be one of eager, onnxruntime, got 'torch'"):
        BoostedEstimator(base='midas', backend='torch')


@pytest.mark.slow
def test_boost_command_with_onnxruntime_writes_the_eager_result(files, tmp_path, capsys):
    """`depth-perception boost --backend onnxruntime` (R20) against the same command eager: the
    16-bit min-max PNGs differ by at most 1e-3 of their range; a LeReS base is refused."""
    import cv2

    from depth_perception.cli.main import main
    images = tmp_path / 'images'
    images.mkdir()
    cv2.imwrite(str(images / 'room.png'), cv2.cvtColor(textured_image(), cv2.COLOR_RGB2BGR))
    common = ['boost', '--base', 'midas', '--checkpoint', str(files / 'model.pt'), '--merge-checkpoint',
              str(files / 'latest_net_G.pth'), '--mode', 'R20', '--receptive-field', '128',
              '--input', str(images), '--device', 'cpu']
    assert main(common + ['--output', str(tmp_path / 'eager')]) == 0
    assert main(common + ['--output', str(tmp_path / 'ort'), '--backend', 'onnxruntime']) == 0
    ref = cv2.imread(str(tmp_path / 'eager' / 'room.png'), cv2.IMREAD_UNCHANGED).astype(np.float64)
    out = cv2.imread(str(tmp_path / 'ort' / 'room.png'), cv2.IMREAD_UNCHANGED).astype(np.float64)
    assert ref.dtype == out.dtype and np.ptp(ref) > 30000
    assert np.max(np.abs(out - ref)) <= 1e-3 * 65535
    capsys.readouterr()
    assert main(['boost', '--base', 'leres', '--checkpoint', str(files / 'model.pt'), '--merge-checkpoint',
                 str(files / 'latest_net_G.pth'), '--mode', 'R20', '--input', str(images), '--device', 'cpu',
                 '--output', str(tmp_path / 'x'), '--backend', 'onnxruntime']) != 0
