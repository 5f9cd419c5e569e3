"""Readers for the three checkpoint files boosting uses; each returns a loaded, eval-mode net.

- MiDaS v2 `model.pt`: a plain state dict, or `{'model': state, 'optimizer': ...}` (the
  reference uses 'model' whenever 'optimizer' is present).
- LeReS `res101.pth`: `{'depth_model': state, ...}`, keys prefixed `module.` (stripped only
  when every key has it, as the reference's strip_prefix_if_present does).
- pix2pix merge net `latest_net_G.pth`: a plain state dict of the generator.

Files are read with torch.load(weights_only=True) (nothing executed) and loaded strictly;
only BatchNorm `num_batches_tracked` may be absent. The architecture size (blocks per stage,
groups, widths, U-Net depth) is read from the weights' shapes, so the released full-size
files and reduced test networks go through the same code. Any problem is one
`CheckpointError` line naming the file.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..checkpoints import CheckpointError, _abbrev, _tensor_dict, load_strict, safe_load
from ..models.leres import RelDepthModel
from ..models.midas import MidasNet
from ..models.pix2pix_unet import UnetGenerator, unet_config_from_state
from ..models.resnext import resnext_config_from_state

log = logging.getLogger(__name__)


def _float32(state: dict) -> dict:
    return {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}


def _require(state: dict, key: str, path: Path, what: str) -> torch.Tensor:
    if key not in state:
        raise CheckpointError(f'{path}: not a {what} checkpoint: key {key!r} missing '
                              f'(first keys: {_abbrev(sorted(state))})')
    return state[key]


def read_midas(path: str | Path) -> MidasNet:
    """MiDaS v2 `model.pt` -> MidasNet (features and encoder size read from the file)."""
    path = Path(path)
    obj = safe_load(path)
    if isinstance(obj, dict) and 'optimizer' in obj:
        if 'model' not in obj:
            raise CheckpointError(f'{path}: has an "optimizer" entry but no "model" entry')
        obj = obj['model']
    state = _tensor_dict(obj, path, 'MiDaS state dict')
    _require(state, 'pretrained.layer1.0.weight', path, 'MiDaS v2')
    features = int(_require(state, 'scratch.layer1_rn.weight', path, 'MiDaS v2').shape[0])
    try:
        enc = _encoder_config(state, 'pretrained.', path)
        net = MidasNet(features=features, non_negative=True, **enc)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f'{path}: not a MiDaS v2 checkpoint ({exc})') from None
    report = load_strict(net, _float32(state), str(path), 'MidasNet')
    log.info('MiDaS v2 weights from %s (%s): %s', path, enc, report.summary())
    return net.eval()


def _encoder_config(state: dict, prefix: str, path: Path) -> dict:
    # MiDaS stores the stem inside pretrained.layer1 (Sequential conv1, bn1, relu, maxpool, layer1).
    if prefix == 'pretrained.':
        view = {}
        for k, v in state.items():
            if k.startswith('pretrained.layer1.0.'):
                view['conv1.' + k[len('pretrained.layer1.0.'):]] = v
            elif k.startswith('pretrained.layer1.4.'):
                view['layer1.' + k[len('pretrained.layer1.4.'):]] = v
            elif k.startswith(('pretrained.layer2.', 'pretrained.layer3.', 'pretrained.layer4.')):
                view[k[len('pretrained.'):]] = v
        return resnext_config_from_state(view, '')
    return resnext_config_from_state(state, prefix)


def read_leres(path: str | Path) -> RelDepthModel:
    """LeReS `res101.pth` -> RelDepthModel (the 'depth_model' entry, `module.` stripped)."""
    path = Path(path)
    obj = safe_load(path)
    if not isinstance(obj, dict) or 'depth_model' not in obj:
        keys = sorted(map(str, obj)) if isinstance(obj, dict) else [type(obj).__name__]
        raise CheckpointError(f'{path}: not a LeReS checkpoint: no "depth_model" entry '
                              f'(found {_abbrev(keys)})')
    state = _tensor_dict(obj['depth_model'], path, '"depth_model"')
    if all(k.startswith('module.') for k in state):
        state = {k.replace('module.', ''): v for k, v in state.items()}
    enc_prefix = 'depth_model.encoder_modules.encoder.'
    dec = 'depth_model.decoder_modules.'
    try:
        enc = _encoder_config(state, enc_prefix, path)
        mid = tuple(int(state[f'{dec}{name}.weight'].shape[0]) for name in
                    ('ffm0.ftb1.conv1', 'ffm1.ftb1.conv1', 'ffm2.ftb1.conv1', 'conv.conv1'))
        net = RelDepthModel(mid_channels=mid, **enc)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f'{path}: not a LeReS RelDepthModel checkpoint (missing {exc})') from None
    report = load_strict(net, _float32(state), str(path), 'LeReS RelDepthModel')
    log.info('LeReS weights from %s (%s): %s', path, enc, report.summary())
    return net.eval()


def read_merge_net(path: str | Path) -> UnetGenerator:
    """pix2pix merge net `latest_net_G.pth` -> UnetGenerator (depth/width from the file)."""
    path = Path(path)
    obj = safe_load(path)
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != '_metadata'}
    state = _tensor_dict(obj, path, 'merge-net state dict')
    _require(state, 'model.model.0.weight', path, 'pix2pix UnetGenerator')
    _require(state, 'model.model.3.weight', path, 'pix2pix UnetGenerator')
    try:
        cfg = unet_config_from_state(state)
        net = UnetGenerator(**cfg)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f'{path}: not a pix2pix UnetGenerator checkpoint ({exc})') from None
    report = load_strict(net, _float32(state), str(path), f'UnetGenerator {cfg}')
    log.info('merge-net weights from %s (%s): %s', path, cfg, report.summary())
    return net.eval()
