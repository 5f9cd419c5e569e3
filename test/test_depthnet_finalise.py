"""Finalising DepthNet checkpoints: weight averaging with known means, fp16 output, one-line errors."""
import numpy as np
import pytest
import torch

from depth_perception.checkpoints_depthnet import load_depthnet, save_depthnet_checkpoint
from depth_perception.models.depthnet import DepthNet
from depth_perception_training.depthnet.finalise import main


def _filled(path, value, bn=True, seed=0):
    torch.manual_seed(seed)
    net = DepthNet(batch_norm=bn)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point() and not name.endswith('running_var'):
                t.fill_(value)
    return save_depthnet_checkpoint(path, net, epoch=3, best_error=5.0, training_width_px=64,
                                    provenance={'command': 'test'})


def test_average_of_two_files_is_the_elementwise_mean(tmp_path):
    a, b = _filled(tmp_path / 'a.pth.tar', 1.0), _filled(tmp_path / 'b.pth.tar', 3.0)
    assert main(['--checkpoint', str(a), str(b), '--output', str(tmp_path / 'avg.pt')]) == 0
    net, weights = load_depthnet(tmp_path / 'avg.pt')
    for name, t in net.state_dict().items():
        if t.is_floating_point() and not name.endswith('running_var'):
            assert torch.all(t == 2.0), name
    assert weights.layout == 'current' and weights.training_width_px == 64
    assert weights.metadata['provenance']['finalised_from'] == [str(a), str(b)]
    assert weights.metadata['provenance']['command'] == 'test'


def test_half_file_is_half_the_size_and_gives_nearly_the_same_depth(tmp_path):
    torch.manual_seed(4)
    net = DepthNet().eval()
    with torch.no_grad():
        net.predict_depth2.bias.fill_(20.0)   # a depth scale like Still Box's
    src = save_depthnet_checkpoint(tmp_path / 'f.pth.tar', net, training_width_px=64)
    assert main(['--checkpoint', str(src), '--output', str(tmp_path / 'h.pt'), '--half']) == 0
    full, half = (tmp_path / 'f.pth.tar').stat().st_size, (tmp_path / 'h.pt').stat().st_size
    assert 0.45 < half / full < 0.55
    x = torch.randn(2, 6, 64, 64)
    with torch.no_grad():
        ref, got = net(x), load_depthnet(tmp_path / 'h.pt')[0](x)
    # fp16 keeps ~3 significant digits per weight; the depth moves by well under 1 %
    assert float(((got - ref).abs() / ref.abs()).max()) < 0.01


def test_different_variants_are_refused_in_one_line(tmp_path, capsys):
    a, b = _filled(tmp_path / 'a.pth.tar', 1.0), _filled(tmp_path / 'b.pth.tar', 1.0, bn=False)
    assert main(['--checkpoint', str(a), str(b), '--output', str(tmp_path / 'x.pt')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'not the same DepthNet variant' in err[0]
    assert not (tmp_path / 'x.pt').exists()


def test_half_keeps_large_batchnorm_statistics_finite(tmp_path):
    net = DepthNet().eval()
    with torch.no_grad():
        net.deconv5[2].running_var.fill_(2.0e5)      # beyond fp16's largest finite value, 65504
    src = save_depthnet_checkpoint(tmp_path / 'f.pth.tar', net, training_width_px=64)
    assert main(['--checkpoint', str(src), '--output', str(tmp_path / 'h.pt'), '--half']) == 0
    loaded, _ = load_depthnet(tmp_path / 'h.pt')
    assert torch.all(loaded.deconv5[2].running_var == 2.0e5)
