"""Network layouts match the reference checkpoints' key names and shapes."""
import pytest
import torch

from depth_perception.models import DispResNet, PoseResNet, RectifyNet


def shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize('layers,up0,up1', [
    (18, [512, 256, 128, 64, 32], [512, 256, 128, 96, 16]),
    (50, [2048, 256, 128, 64, 32], [1280, 640, 320, 96, 16]),
])
def test_depth_decoder_channels_follow_reference(layers, up0, up1):
    s = shapes(DispResNet(layers))
    assert [s[f'decoder.upconvs0.{i}.conv.conv.weight'][1] for i in range(5)] == up0
    assert [s[f'decoder.upconvs1.{i}.conv.conv.weight'][1] for i in range(5)] == up1
    assert [s[f'decoder.dispconvs.{i}.conv.weight'][1] for i in range(4)] == [16, 32, 64, 128]
    assert s['encoder.encoder.conv1.weight'] == (64, 3, 7, 7)
    assert not any('.fc.' in k for k in s)


def test_pose_and_rectify_layouts():
    p, r = shapes(PoseResNet()), shapes(RectifyNet())
    assert p['encoder.encoder.conv1.weight'] == (64, 6, 7, 7)
    assert p['decoder.conv_squeeze.weight'] == (256, 512, 1, 1)
    assert p['decoder.convs_pose.2.weight'] == (6, 256, 1, 1)
    assert r['decoder.convs_pose.2.weight'] == (3, 256, 1, 1)
    assert set(p) == set(r)


def test_output_ranges_and_shapes():
    torch.manual_seed(0)
    net = DispResNet(18).eval()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        disp = net(x)
        scales = net.forward_multiscale(x)
        pose = PoseResNet().eval()(x, x)
        rot = RectifyNet().eval()(x, x)
    assert disp.shape == (2, 1, 64, 96)
    assert [s.shape[-2:] for s in scales] == [(64, 96), (32, 48), (16, 24), (8, 12)]
    assert disp.min() >= 0.01 and disp.max() <= 10.01
    assert pose.shape == (2, 6) and rot.shape == (2, 3)
    # The 0.01 output scale keeps an untrained pose net's motion small.
    assert pose.abs().max() < 0.1


def test_unsupported_depth_is_refused():
    with pytest.raises(ValueError, match='ResNet-34'):
        DispResNet(34)
    with pytest.raises(ValueError, match='upsample_mode'):
        DispResNet(18, 'bicubic')
