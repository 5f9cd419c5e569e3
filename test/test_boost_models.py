"""Boosting's three networks against functional forwards written here from the documented
facts (reference-systems.md §4.2 and §7), with random weights saved in each released file
layout and loaded through the readers. Small widths/depths keep the CPU cost low; the
layouts are the same code path as the full-size files."""
from __future__ import annotations

import torch
import torch.nn.functional as F
import pytest

from random_weights import randomized_state
from depth_perception.boosting.weights import read_leres, read_merge_net, read_midas
from depth_perception.checkpoints import CheckpointError
from depth_perception.models.leres import RelDepthModel
from depth_perception.models.midas import MidasNet
from depth_perception.models.pix2pix_unet import UnetGenerator

SMALL = dict(layers=(1, 2, 1, 1), groups=4, width_per_group=2, base_planes=8)


# ----------------------------------------------------------------- functional references
def _bn(x, sd, p):
    return F.batch_norm(x, sd[p + '.running_mean'], sd[p + '.running_var'], sd[p + '.weight'],
                        sd[p + '.bias'], False, 0.0, 1e-5)


def _bottleneck(x, sd, p, stride, groups):
    out = F.relu(_bn(F.conv2d(x, sd[p + '.conv1.weight']), sd, p + '.bn1'))
    out = F.relu(_bn(F.conv2d(out, sd[p + '.conv2.weight'], stride=stride, padding=1, groups=groups),
                     sd, p + '.bn2'))
    out = _bn(F.conv2d(out, sd[p + '.conv3.weight']), sd, p + '.bn3')
    if p + '.downsample.0.weight' in sd:
        x = _bn(F.conv2d(x, sd[p + '.downsample.0.weight'], stride=stride), sd, p + '.downsample.1')
    return F.relu(out + x)


def _resnext(x, sd, stem, stem_bn, stage, groups):
    """stem/stem_bn: key prefixes of conv1/bn1; stage(i) -> prefix of stage i (1..4)."""
    x = F.relu(_bn(F.conv2d(x, sd[stem + '.weight'], stride=2, padding=3), sd, stem_bn))
    x = F.max_pool2d(x, 3, 2, 1)
    feats = []
    for i in range(1, 5):
        b = 0
        while f'{stage(i)}.{b}.conv1.weight' in sd:
            x = _bottleneck(x, sd, f'{stage(i)}.{b}', 2 if (i > 1 and b == 0) else 1, groups)
            b += 1
        feats.append(x)
    return feats


def _conv3(x, sd, p, bias=True):
    return F.conv2d(x, sd[p + '.weight'], sd[p + '.bias'] if bias else None, padding=1)


def midas_forward(x, sd, groups, inplace_quirk=True):
    feats = _resnext(x, sd, 'pretrained.layer1.0', 'pretrained.layer1.1',
                     lambda i: 'pretrained.layer1.4' if i == 1 else f'pretrained.layer{i}', groups)
    rn = [_conv3(f, sd, f'scratch.layer{i + 1}_rn', bias=False) for i, f in enumerate(feats)]

    def rcu(t, p):
        skip = F.relu(t) if inplace_quirk else t
        out = _conv3(F.relu(_conv3(F.relu(t), sd, p + '.conv1')), sd, p + '.conv2')
        return out + skip

    def fuse(p, t, s=None):
        if s is not None:
            t = t + rcu(s, p + '.resConfUnit1')
        t = rcu(t, p + '.resConfUnit2')
        return F.interpolate(t, scale_factor=2, mode='bilinear', align_corners=True)

    path = fuse('scratch.refinenet4', rn[3])
    path = fuse('scratch.refinenet3', path, rn[2])
    path = fuse('scratch.refinenet2', path, rn[1])
    path = fuse('scratch.refinenet1', path, rn[0])
    o = _conv3(path, sd, 'scratch.output_conv.0')
    o = F.interpolate(o, scale_factor=2, mode='bilinear', align_corners=False)
    o = F.relu(_conv3(o, sd, 'scratch.output_conv.2'))
    o = F.relu(F.conv2d(o, sd['scratch.output_conv.4.weight'], sd['scratch.output_conv.4.bias']))
    return o[:, 0]


def leres_forward(x, sd, groups):
    e = 'depth_model.encoder_modules.encoder'
    d = 'depth_model.decoder_modules'
    feats = _resnext(x, sd, e + '.conv1', e + '.bn1', lambda i: f'{e}.layer{i}', groups)
    up = lambda t: F.interpolate(t, scale_factor=2, mode='bilinear', align_corners=True)

    def ftb(t, p):
        c = F.relu(_conv3(t, sd, p + '.conv1'))     # in-place ReLU of the branch hits the skip
        b = _conv3(F.relu(_bn(_conv3(c, sd, p + '.conv_branch.1'), sd, p + '.conv_branch.2')),
                   sd, p + '.conv_branch.4')
        return F.relu(c + b)

    t = up(_conv3(ftb(feats[3], d + '.conv'), sd, d + '.conv1'))
    for name, f in (('ffm2', feats[2]), ('ffm1', feats[1]), ('ffm0', feats[0])):
        t = up(ftb(ftb(f, f'{d}.{name}.ftb1') + t, f'{d}.{name}.ftb2'))
    o = F.relu(_bn(_conv3(t, sd, d + '.outconv.adapt_conv.0'), sd, d + '.outconv.adapt_conv.1'))
    return up(_conv3(o, sd, d + '.outconv.adapt_conv.3'))


def unet_forward(x, sd, num_downs):
    def level(t, p, k):
        if k == 1:  # outermost
            h = F.conv2d(t, sd[p + '.0.weight'], stride=2, padding=1)
            h = F.relu(level(h, p + '.1.model', 2))
            return torch.tanh(F.conv_transpose2d(h, sd[p + '.3.weight'], sd[p + '.3.bias'], 2, 1))
        h = F.conv2d(F.leaky_relu(t, 0.2), sd[p + '.1.weight'], stride=2, padding=1)
        if k == num_downs:  # innermost
            h = F.conv_transpose2d(F.relu(h), sd[p + '.3.weight'], None, 2, 1)
        else:
            h = F.conv_transpose2d(F.relu(level(h, p + '.3.model', k + 1)), sd[p + '.5.weight'],
                                   None, 2, 1)
        return torch.cat([t, h], 1)
    return level(x, 'model.model', 1)


# ------------------------------------------------------------------------------ helpers
def _close(a, b, tol=1e-4):
    scale = max(float(b.abs().max()), 1e-6)
    assert float((a - b).abs().max()) <= tol * scale, float((a - b).abs().max()) / scale


# -------------------------------------------------------------------------------- MiDaS
@pytest.mark.parametrize('layout', ['plain', 'with_optimizer'])
def test_midas_reader_and_forward_match_the_functional_reference(tmp_path, layout):
    sd = randomized_state(MidasNet(features=16, **SMALL), 1)
    sd['scratch.output_conv.4.bias'].fill_(0.5)   # keep the final ReLU mostly open
    obj = sd if layout == 'plain' else {'model': sd, 'optimizer': {'state': {}, 'param_groups': []}}
    torch.save(obj, tmp_path / 'model.pt')
    net = read_midas(tmp_path / 'model.pt')
    assert net.features == 16 and net.encoder_config['layers'] == (1, 2, 1, 1)
    x = torch.randn(2, 3, 96, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ours = net(x)
        ref = midas_forward(x, sd, groups=4)
        no_quirk = midas_forward(x, sd, groups=4, inplace_quirk=False)
    assert ours.shape == (2, 96, 64)
    assert float((ref > 0).float().mean()) > 0.2   # a real signal, not an all-zero map
    _close(ours, ref)
    # Dropping the in-place ReLU quirk changes the output far beyond the tolerance.
    assert float((no_quirk - ours).abs().max()) > 100 * 1e-4 * float(ref.abs().max())


@pytest.mark.slow
def test_midas_full_size_key_layout():
    sd = MidasNet().state_dict()
    assert tuple(sd['pretrained.layer1.0.weight'].shape) == (64, 3, 7, 7)
    assert tuple(sd['pretrained.layer1.4.0.conv2.weight'].shape) == (256, 8, 3, 3)
    assert tuple(sd['pretrained.layer3.22.conv3.weight'].shape) == (1024, 1024, 1, 1)
    assert tuple(sd['pretrained.layer4.2.conv1.weight'].shape) == (2048, 2048, 1, 1)
    assert tuple(sd['scratch.layer4_rn.weight'].shape) == (256, 2048, 3, 3)
    assert 'scratch.refinenet4.resConfUnit1.conv1.bias' in sd
    assert tuple(sd['scratch.output_conv.4.weight'].shape) == (1, 32, 1, 1)
    assert not any('fc.' in k for k in sd)
    net = MidasNet().eval()
    with torch.inference_mode():   # full-size smoke run at a tiny input
        assert net(torch.zeros(1, 3, 64, 64)).shape == (1, 64, 64)


def test_midas_reader_refusals(tmp_path):
    sd = MidasNet(features=16, **SMALL).state_dict()
    torch.save({'optimizer': {}}, tmp_path / 'noentry.pt')
    with pytest.raises(CheckpointError, match='no "model" entry'):
        read_midas(tmp_path / 'noentry.pt')
    bad = dict(sd)
    bad.pop('scratch.refinenet1.resConfUnit2.conv2.bias')
    torch.save(bad, tmp_path / 'missing.pt')
    with pytest.raises(CheckpointError, match='missing keys.*refinenet1'):
        read_midas(tmp_path / 'missing.pt')
    torch.save(RelDepthModel(mid_channels=(8, 8, 8, 8), **SMALL).state_dict(), tmp_path / 'leres_like.pt')
    with pytest.raises(CheckpointError, match="not a MiDaS v2 checkpoint: key 'pretrained.layer1.0.weight'"):
        read_midas(tmp_path / 'leres_like.pt')
    (tmp_path / 'trunc.pt').write_bytes(b'PK\x03\x04garbage')
    with pytest.raises(CheckpointError, match='trunc.pt'):
        read_midas(tmp_path / 'trunc.pt')


# -------------------------------------------------------------------------------- LeReS
def test_leres_reader_and_forward_match_the_functional_reference(tmp_path):
    mid = (16, 16, 16, 32)
    sd = randomized_state(RelDepthModel(mid_channels=mid, **SMALL), 2)
    torch.save({'depth_model': {'module.' + k: v for k, v in sd.items()}, 'epoch': 3},
               tmp_path / 'res101.pth')
    net = read_leres(tmp_path / 'res101.pth')
    assert net.mid_channels == mid
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        ours = net(x)
        ref = leres_forward(x, sd, groups=4)
        inf = net.inference(x)
    assert ours.shape == (1, 1, 64, 96)
    _close(ours, ref)
    _close(inf, ref - ref.min() + 0.01)
    assert abs(float(inf.min()) - 0.01) < 1e-6


def test_leres_full_size_key_layout_and_refusals(tmp_path):
    sd = RelDepthModel().state_dict()
    e, d = 'depth_model.encoder_modules.encoder.', 'depth_model.decoder_modules.'
    assert tuple(sd[e + 'layer3.22.conv2.weight'].shape) == (1024, 32, 3, 3)
    assert tuple(sd[d + 'conv.conv1.weight'].shape) == (512, 2048, 3, 3)
    assert tuple(sd[d + 'ffm0.ftb1.conv1.weight'].shape) == (256, 256, 3, 3)
    assert tuple(sd[d + 'outconv.adapt_conv.3.weight'].shape) == (1, 128, 3, 3)
    assert not any('.fc.' in k for k in sd)
    torch.save({'model': {}}, tmp_path / 'x.pth')
    with pytest.raises(CheckpointError, match='no "depth_model" entry'):
        read_leres(tmp_path / 'x.pth')
    small = RelDepthModel(mid_channels=(16, 16, 16, 32), **SMALL).state_dict()
    small['depth_model.decoder_modules.extra.weight'] = torch.zeros(1)
    torch.save({'depth_model': small}, tmp_path / 'y.pth')
    with pytest.raises(CheckpointError, match='unexpected keys.*extra'):
        read_leres(tmp_path / 'y.pth')


# ----------------------------------------------------------------------------- merge net
@pytest.mark.parametrize('legacy', [False, True])
def test_merge_net_reader_and_forward_match_the_functional_reference(tmp_path, legacy):
    # The released file was written by torch 0.4.1: the legacy (non-zip) format.
    sd = randomized_state(UnetGenerator(2, 1, num_downs=10, ngf=4), 3)
    torch.save(sd, tmp_path / 'latest_net_G.pth', _use_new_zipfile_serialization=not legacy)
    net = read_merge_net(tmp_path / 'latest_net_G.pth')
    assert (net.num_downs, net.ngf, net.input_nc, net.output_nc) == (10, 4, 2, 1)
    x = torch.rand(1, 2, 1024, 1024, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.inference_mode():
        ours = net(x)
        ref = unet_forward(x, sd, 10)
    assert ours.shape == (1, 1, 1024, 1024)
    _close(ours, ref)


def test_merge_net_full_size_key_layout():
    sd = UnetGenerator().state_dict()
    assert tuple(sd['model.model.0.weight'].shape) == (64, 2, 4, 4)
    assert 'model.model.0.bias' not in sd
    assert tuple(sd['model.model.3.weight'].shape) == (128, 1, 4, 4)
    assert tuple(sd['model.model.3.bias'].shape) == (1,)
    biases = [k for k in sd if k.endswith('bias')]
    assert biases == ['model.model.3.bias']
    inner = 'model.model.1' + '.model.3' * 8
    assert tuple(sd[inner + '.model.1.weight'].shape) == (512, 512, 4, 4)
    assert tuple(sd[inner + '.model.3.weight'].shape) == (512, 512, 4, 4)
    assert not any(k.startswith(inner + '.model.3.model') for k in sd)
    assert len(sd) == 2 * 10 + 1
