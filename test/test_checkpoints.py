"""Checkpoint formats load strictly, give reference outputs, and bad files fail clearly."""
import argparse
import os

import numpy as np
import pytest
import torch

from depth_perception import checkpoints
from depth_perception.checkpoints import CheckpointError, read_scdepth_checkpoint
from depth_perception.estimators import CameraFrame, create_estimator
from depth_perception.models import DispResNet, PoseResNet, RectifyNet
from random_weights import randomized
from reference_forward import depth_forward

RES = (64, 96)


@pytest.fixture(scope='module')
def nets():
    return {'depth': randomized(DispResNet(18), 1), 'pose': randomized(PoseResNet(), 2),
            'rectify': randomized(RectifyNet(), 3)}


def lightning_ckpt(nets, path, version='v1', with_fc=True):
    """A file laid out as sc_depth_pl (pytorch-lightning 1.7.3) writes it."""
    sd = {}
    parts = [('depth_net.', nets['depth']), ('pose_net.', nets['pose'])]
    if version == 'v2':
        parts.append(('rectify_net.', nets['rectify']))
    for prefix, net in parts:
        for k, v in net.state_dict().items():
            sd[prefix + k] = v.clone()
        if with_fc:
            sd[prefix + 'encoder.encoder.fc.weight'] = torch.zeros(1000, 512)
            sd[prefix + 'encoder.encoder.fc.bias'] = torch.zeros(1000)
    hp = argparse.Namespace(dataset_name='nyu', model_version=version, resnet_layers=18,
                            lr=1e-4, batch_size=8, photo_weight=1.0, geometry_weight=0.1)
    torch.save({'epoch': 101, 'global_step': 101000, 'pytorch-lightning_version': '1.7.3',
                'state_dict': sd, 'loops': {'fit_loop': {'state_dict': {}}},
                'hparams_name': 'kwargs', 'hyper_parameters': {'hparams': hp},
                'datamodule_hparams_name': 'kwargs',
                'datamodule_hyper_parameters': {'hparams': hp}}, path)
    return path


def sfmlearner_files(nets, folder):
    """DispResNet / PoseResNet files in SC-SfMLearner's `{'epoch','state_dict'}` layout."""
    disp = {}
    for k, v in nets['depth'].state_dict().items():
        for kind, base in (('upconvs0', 0), ('upconvs1', 1)):
            if k.startswith(f'decoder.{kind}.'):
                idx, rest = k.split('.', 3)[2:]
                k = f'decoder.decoder.{2 * int(idx) + base}.{rest}'
        if k.startswith('decoder.dispconvs.'):
            idx, rest = k.split('.', 3)[2:]
            k = f'decoder.decoder.{10 + int(idx)}.{rest}'
        disp[k] = v.clone()
    disp['encoder.encoder.fc.weight'] = torch.zeros(1000, 512)
    names = {'decoder.conv_squeeze.': 'decoder.net.0.', 'decoder.convs_pose.0.': 'decoder.net.1.',
             'decoder.convs_pose.1.': 'decoder.net.2.', 'decoder.convs_pose.2.': 'decoder.net.3.'}
    pose = {}
    for k, v in nets['pose'].state_dict().items():
        if k.endswith('num_batches_tracked'):
            continue  # older files lack these buffers
        for new, old in names.items():
            if k.startswith(new):
                k = old + k[len(new):]
        pose[k] = v.clone()
    torch.save({'epoch': 200, 'state_dict': disp}, folder / 'dispnet_model_best.pth.tar')
    torch.save({'epoch': 200, 'state_dict': pose}, folder / 'exp_pose_model_best.pth.tar')
    return folder / 'dispnet_model_best.pth.tar', folder / 'exp_pose_model_best.pth.tar'


def reference_input(rgb):
    """SC-Depth's preprocessing written out here (RGB order, x/255, (x - 0.45)/0.225), not the
    estimator's own, so a wrong channel order or normalisation in the estimator shows."""
    assert rgb.shape[:2] == RES     # no resize involved
    x = torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    return (x - 0.45) / 0.225


def image(seed=0):
    return (np.random.default_rng(seed).random((RES[0], RES[1], 3)) * 255).astype(np.uint8)


def test_sc_depth_pl_checkpoint_matches_reference_forward(nets, tmp_path):
    path = lightning_ckpt(nets, tmp_path / 'epoch=101-val_loss=0.1580.ckpt')
    est = create_estimator('scdepth', checkpoint=str(path), device='cpu', resolution_hw=RES)
    rgb = image()
    out = est.estimate(CameraFrame(rgb))
    ref = depth_forward(reference_input(rgb), nets['depth'].state_dict(), 'bilinear')[0, 0].numpy()
    assert np.abs(out.model_depth - ref).max() <= 1e-4
    assert out.model_depth.shape == RES


def test_loader_reports_exactly_the_ignored_keys(nets, tmp_path, caplog):
    w = read_scdepth_checkpoint(lightning_ckpt(nets, tmp_path / 'a.ckpt'))
    assert w.source_format == 'sc_depth_pl' and w.hparams['dataset_name'] == 'nyu'
    report = checkpoints.load_strict(DispResNet(18), w.depth_state, w.source, 'DispResNet-18')
    assert sorted(report.ignored) == ['encoder.encoder.fc.bias', 'encoder.encoder.fc.weight']
    assert 'ignored 2 unused keys' in report.summary()


def test_v2_checkpoint_carries_rectify_net(nets, tmp_path):
    w = read_scdepth_checkpoint(lightning_ckpt(nets, tmp_path / 'v2.ckpt', version='v2'))
    assert w.model_version == 'v2' and w.rectify_state is not None
    checkpoints.load_strict(RectifyNet(), w.rectify_state, w.source, 'RectifyNet')


def test_sfmlearner_files_load_with_nearest_upsampling(nets, tmp_path):
    disp_path, pose_path = sfmlearner_files(nets, tmp_path)
    est = create_estimator('scdepth', checkpoint=str(disp_path), pose_checkpoint=str(pose_path),
                           device='cpu', resolution_hw=RES)
    assert est.depth_net.decoder.upsample_mode == 'nearest'
    rgb = image(1)
    out = est.estimate(CameraFrame(rgb))
    x = est.preprocess(rgb)
    sd = nets['depth'].state_dict()
    ref_nearest = depth_forward(x, sd, 'nearest')[0, 0].numpy()
    ref_bilinear = depth_forward(x, sd, 'bilinear')[0, 0].numpy()
    assert np.abs(out.model_depth - ref_nearest).max() <= 1e-4
    # the upsampling mode is part of the checkpoint's meaning, not a detail
    assert np.abs(out.model_depth - ref_bilinear).max() > 1e-3
    # pose: same weights through both layouts give the same motion
    out2 = est.estimate(CameraFrame(image(2)))
    with torch.no_grad():
        vec = nets['pose'](est.preprocess(image(2)), x)[0].numpy()
    np.testing.assert_allclose(out2.T_prev_curr[:3, 3], vec[:3], atol=1e-6)


def test_own_checkpoint_half_precision_round_trip_and_export(nets, tmp_path):
    own = checkpoints.save_own_checkpoint(tmp_path / 'own.pt', nets['depth'], nets['pose'],
                                          hparams={'lr': 1e-4}, training_resolution_hw=RES,
                                          provenance={'seed': 0}, half=True)
    w = read_scdepth_checkpoint(own)
    assert w.source_format == 'depth_perception'
    assert w.metadata['training_resolution_hw'] == list(RES)
    assert all(v.dtype == torch.float32 for v in w.depth_state.values() if v.is_floating_point())
    est = create_estimator('scdepth', checkpoint=str(own), device='cpu')
    assert est.resolution_hw == RES
    exported = checkpoints.export_sc_depth_pl(w, tmp_path / 'export.ckpt')
    again = read_scdepth_checkpoint(exported)
    assert again.source_format == 'sc_depth_pl'
    for k, v in w.depth_state.items():
        assert torch.equal(v, again.depth_state[k])


# --------------------------------------------------------------------------- bad files
def test_missing_and_empty_files(tmp_path):
    with pytest.raises(CheckpointError, match='file not found'):
        read_scdepth_checkpoint(tmp_path / 'nope.ckpt')
    (tmp_path / 'empty.ckpt').write_bytes(b'')
    with pytest.raises(CheckpointError, match='empty'):
        read_scdepth_checkpoint(tmp_path / 'empty.ckpt')


def test_truncated_and_corrupt_files(nets, tmp_path):
    good = lightning_ckpt(nets, tmp_path / 'good.ckpt').read_bytes()
    (tmp_path / 'cut.ckpt').write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match=r'cut\.ckpt.*(truncated or corrupt)'):
        read_scdepth_checkpoint(tmp_path / 'cut.ckpt')
    (tmp_path / 'noise.ckpt').write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError, match='noise.ckpt'):
        read_scdepth_checkpoint(tmp_path / 'noise.ckpt')


class _Exploit:
    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_malicious_pickle_is_never_executed(tmp_path):
    marker = tmp_path / 'pwned'
    exploit = _Exploit()
    exploit.marker = marker
    torch.save({'state_dict': {'x': torch.zeros(1)}, 'payload': exploit}, tmp_path / 'evil.ckpt')
    with pytest.raises(CheckpointError, match=r'evil\.ckpt: refused to load.*system'):
        read_scdepth_checkpoint(tmp_path / 'evil.ckpt')
    assert not marker.exists()


class _Custom:
    pass


def test_unknown_class_in_metadata_is_refused(nets, tmp_path):
    torch.save({'state_dict': {'depth_net.x': torch.zeros(1)}, 'extra': _Custom()}, tmp_path / 'c.ckpt')
    with pytest.raises(CheckpointError, match='_Custom'):
        read_scdepth_checkpoint(tmp_path / 'c.ckpt')


def test_foreign_checkpoints_are_named_and_explained(nets, tmp_path):
    torch.save({'model': {'backbone.conv.weight': torch.zeros(3)}}, tmp_path / 'yolo.pt')
    with pytest.raises(CheckpointError, match='no state_dict'):
        read_scdepth_checkpoint(tmp_path / 'yolo.pt')
    torch.save({'state_dict': {'backbone.conv.weight': torch.zeros(3)}}, tmp_path / 'other.pt')
    with pytest.raises(CheckpointError, match='not an SC-Depth checkpoint'):
        read_scdepth_checkpoint(tmp_path / 'other.pt')
    # right prefixes, wrong architecture: a decoder layer of another width
    sd = {'depth_net.' + k: v for k, v in nets['depth'].state_dict().items()}
    sd['depth_net.decoder.upconvs0.0.conv.conv.weight'] = torch.zeros(128, 512, 3, 3)
    sd['depth_net.decoder.extra_head.weight'] = torch.zeros(1)
    torch.save({'state_dict': sd}, tmp_path / 'foreign.ckpt')
    with pytest.raises(CheckpointError, match=r'foreign\.ckpt: weights do not fit DispResNet-18.*'
                                              r'unexpected keys \(decoder\.extra_head.*shape mismatch'):
        create_estimator('scdepth', checkpoint=str(tmp_path / 'foreign.ckpt'), device='cpu')


def test_pose_only_file_is_not_a_depth_model(nets, tmp_path):
    _, pose_path = sfmlearner_files(nets, tmp_path)
    with pytest.raises(CheckpointError, match='no depth network'):
        create_estimator('scdepth', checkpoint=str(pose_path), device='cpu')
