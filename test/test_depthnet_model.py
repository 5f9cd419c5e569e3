"""DepthNet network + checkpoint reader: parity with an independent functional forward in all
three file layouts and at sizes that are and are not multiples of 64; bad files fail clearly."""
import pickle

import cv2
import pytest
import torch

import depthnet_reference_forward as ref
from conftest import shared_fixture
from depth_perception.checkpoints_depthnet import (DepthNetCheckpointError, load_depthnet,
                                                   read_depthnet_checkpoint, save_depthnet_checkpoint)
from depth_perception.models.depthnet import DepthNet

LAYOUTS = ('released-2017', 'train-script', 'current')
TOL = 1e-4  # of the depth range, as issue 11 asks


def _rgb(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def fixture_pairs():
    """(name, earlier, later) real frame pairs at 64x64, 256x256, 208x156 and a 70x100 crop."""
    root = shared_fixture('depthnet_pairs')
    pairs = []
    for size in ('64', '256', '208x156'):
        for i in (0, 2):
            pairs.append((f'{size}/pair{i}', _rgb(root / size / f'pair{i}_a.png'),
                          _rgb(root / size / f'pair{i}_b.png')))
    a, b = _rgb(root / '256' / 'pair1_a.png'), _rgb(root / '256' / 'pair1_b.png')
    pairs.append(('70x100 crop', a[13:83, 40:140].copy(), b[13:83, 40:140].copy()))
    pairs.append(('100x70 crop', a[50:150, 7:77].copy(), b[50:150, 7:77].copy()))
    return pairs


@pytest.fixture(scope='module')
def pairs():
    return fixture_pairs()


@pytest.fixture(scope='module')
def state(pairs):
    torch.set_num_threads(1)
    _, a, b = pairs[2]
    with torch.no_grad():
        return ref.random_state(11, calibration_input=ref.pair_tensor(a, b))


def _max_rel_diff(sd, net, earlier, later, **kw):
    x = ref.pair_tensor(earlier, later)
    with torch.no_grad():
        expected = ref.forward(sd, x, **kw)
        got = net(x)
    assert got.shape == expected.shape
    rng = float(expected.max() - expected.min())
    assert rng > 0.5   # a meaningful depth range, not a degenerate constant
    return float((got - expected).abs().max()) / rng


@pytest.mark.parametrize('layout', LAYOUTS)
def test_every_layout_matches_the_functional_reference(tmp_path, state, pairs, layout):
    path = tmp_path / f'DepthNet_elu_bn_256_{layout}.pth.tar'
    ref.save_layout(state, path, layout)
    net, weights = load_depthnet(path)
    assert weights.layout == layout
    assert weights.batch_norm and weights.activation == 'elu' and not weights.clamp
    assert weights.best_error == pytest.approx(4.65 if layout == 'released-2017' else 3.08)
    assert weights.training_focal_px == 128.0   # Still Box 256 px: 90 deg FOV, f = W/2
    assert not net.training
    for name, a, b in pairs:
        diff = _max_rel_diff(state, net, a, b)
        assert diff <= TOL, f'{layout} {name}: {diff:.2e} of the depth range'
        assert net(ref.pair_tensor(a, b)).shape[-2:] == ((a.shape[0] + 3) // 4, (a.shape[1] + 3) // 4)


def test_released_file_is_legacy_serialisation(tmp_path, state):
    path = tmp_path / 'DepthNet_elu_bn_64.pth.tar'
    ref.save_layout(state, path, 'released-2017')
    with open(path, 'rb') as f:
        assert f.read(2) != b'PK'   # not a zip archive: the pre-1.6 format
    assert read_depthnet_checkpoint(path).training_focal_px == 32.0


@pytest.mark.parametrize('wrong', [{'eps': 1e-5}, {'crop': 'bottom-right'}])
def test_parity_check_detects_a_wrong_bn_eps_or_crop(tmp_path, state, pairs, wrong):
    """The tolerance is tight enough to see the two details that decide parity."""
    path = tmp_path / 'f.pth.tar'
    ref.save_layout(state, path, 'current')
    net, _ = load_depthnet(path)
    non_multiple = [p for p in pairs if p[0].startswith(('208x156', '70x100'))]
    worst = max(_max_rel_diff(state, net, a, b, **wrong) for _, a, b in non_multiple)
    assert worst > 100 * TOL


def test_model_without_batch_norm(tmp_path, pairs):
    sd = ref.random_state(3, bn=False)
    path = tmp_path / 'nobn.pth.tar'
    ref.save_layout(sd, path, 'train-script', bn=False)
    net, weights = load_depthnet(path)
    assert not weights.batch_norm
    for name, a, b in pairs[-3:]:
        assert _max_rel_diff(sd, net, a, b, bn=False) <= TOL, name


def test_training_mode_returns_five_scales():
    net = DepthNet().train()
    outs = net(torch.randn(2, 6, 128, 96))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 24), (2, 16, 12), (2, 8, 6), (2, 4, 3), (2, 2, 2)]
    assert all((o >= 0).all() for o in outs)   # ELU + 1 >= 0


def test_clamp_and_confidence_from_metadata(tmp_path):
    net = DepthNet(clamp=True, with_confidence=True).eval()
    path = save_depthnet_checkpoint(tmp_path / 'c.pth.tar', net)
    loaded, w = load_depthnet(path)
    assert w.clamp and w.with_confidence and loaded.predict_depth2.out_channels == 2
    with torch.no_grad():
        d, conf = loaded.forward_with_confidence(torch.randn(1, 6, 64, 64))
    assert conf is not None and d.min() >= 10.0 and d.max() <= 60.0


def test_own_save_roundtrip_and_fp16(tmp_path):
    torch.manual_seed(0)
    net = DepthNet().eval()
    x = torch.randn(1, 6, 64, 64)
    p = save_depthnet_checkpoint(tmp_path / 'own.pth.tar', net, training_width_px=64)
    loaded, w = load_depthnet(p)
    assert w.layout == 'current' and w.training_focal_px == 32.0
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    p16 = save_depthnet_checkpoint(tmp_path / 'own16.pth.tar', net, half=True)
    loaded16, _ = load_depthnet(p16)
    assert all(v.dtype == torch.float32 for v in loaded16.state_dict().values() if v.is_floating_point())


# ------------------------------------------------------------------------------ bad files
class _Evil:
    def __reduce__(self):
        return (print, ('executed!',))


def _write(path, obj, **kw):
    torch.save(obj, path, **kw)
    return path


def _valid(sd):
    return {'state_dict': dict(sd), 'bn': True, 'with_confidence': False,
            'activation_function': 'elu', 'clamp': False}


@pytest.mark.parametrize('case, message', [
    ('missing', 'file not found'),
    ('empty', 'empty'),
    ('text', 'not a torch checkpoint: a text file'),
    ('truncated', 'not a readable torch checkpoint'),
    ('evil', 'refused'),
    ('list', 'expected a dict'),
    ('scdepth', 'no state_dict'),
    ('no-bn-field', "'bn' missing"),
    ('bad-activation', 'activation_function'),
    ('mixed-prefix', 'mixes keys'),
    ('missing-key', 'missing keys (predict_depth2.bias'),
    ('extra-key', 'unexpected keys (extra.weight'),
    ('shape', 'shape mismatches (conv1.0.weight'),
    ('nan', 'non-finite values in conv2.1.running_var'),
    ('wrong-bn-flag', 'unexpected keys'),
])
def test_bad_files_fail_with_one_clear_line(tmp_path, state, case, message, capsys):
    p = tmp_path / 'bad.pth.tar'
    if case == 'empty':
        p.write_bytes(b'')
    elif case == 'text':
        p.write_text('hello, not a checkpoint\n')
    elif case == 'truncated':
        ref.save_layout(state, p, 'current')
        p.write_bytes(p.read_bytes()[:5000])
    elif case == 'evil':
        p.write_bytes(pickle.dumps({'state_dict': {}, 'x': _Evil()}))
    elif case == 'list':
        _write(p, [torch.zeros(1)])
    elif case == 'scdepth':
        _write(p, {'epoch': 1, 'hyper_parameters': {}, 'model': {'depth_net.x': torch.zeros(1)}})
    elif case == 'no-bn-field':
        _write(p, {'state_dict': dict(state), 'with_confidence': False})
    elif case == 'bad-activation':
        _write(p, {**_valid(state), 'activation_function': 'softplus'})
    elif case == 'mixed-prefix':
        sd = dict(state)
        sd['module.conv1.0.weight'] = sd.pop('conv1.0.weight')
        _write(p, _valid(sd))
    elif case == 'missing-key':
        sd = dict(state)
        del sd['predict_depth2.bias']
        _write(p, _valid(sd))
    elif case == 'extra-key':
        _write(p, _valid({**state, 'extra.weight': torch.zeros(2)}))
    elif case == 'shape':
        _write(p, _valid({**state, 'conv1.0.weight': torch.zeros(32, 3, 3, 3)}))
    elif case == 'nan':
        sd = dict(state)
        sd['conv2.1.running_var'] = torch.full_like(sd['conv2.1.running_var'], float('nan'))
        _write(p, _valid(sd))
    elif case == 'wrong-bn-flag':
        _write(p, {**_valid(state), 'bn': False})
    if case == 'missing':
        p = tmp_path / 'nope.pth.tar'
    with pytest.raises(DepthNetCheckpointError) as info:
        load_depthnet(p)
    text = str(info.value)
    assert message in text and str(p) in text and '\n' not in text
    assert 'executed!' not in capsys.readouterr().out
