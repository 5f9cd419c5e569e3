"""Every SC-Depth checkpoint format, read safely and once.

Formats understood:
- sc_depth_pl Lightning `.ckpt`: `{'state_dict': {'depth_net.*', 'pose_net.*', ['rectify_net.*']},
  'hyper_parameters': {'hparams': argparse.Namespace}, ...}`;
- SC-SfMLearner `.pth.tar`: `{'epoch', 'state_dict'}` for one network (DispResNet with a
  `decoder.decoder.N` layout and nearest upsampling, or PoseResNet with `decoder.net.N`);
- this project's own files (`format: depth_perception/scdepth`), which use the sc_depth_pl
  key layout so that they can also be exported to it.

Nothing in a file is executed and nothing is allocated on its word: files are read by
`checkpoint_io.safe_load` (weights_only, mmap, storage and size checks, `argparse.Namespace` as
the only extra allowed global), then shapes are checked against the architecture built on the
meta device and the metadata against sane limits, all before any tensor is converted.
Loading is strict: the only keys that may be ignored are the unused classifier (`fc.*`) and
BatchNorm's `num_batches_tracked`, and they are reported.
"""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .checkpoint_io import CheckpointError, safe_load
from .models import DispResNet, PoseResNet, RectifyNet

OWN_FORMAT = 'depth_perception/scdepth'
OWN_FORMAT_VERSION = 1
_IGNORABLE_UNEXPECTED = re.compile(r'(^|\.)fc\.(weight|bias)$|(^|\.)num_batches_tracked$')
_IGNORABLE_MISSING = re.compile(r'(^|\.)num_batches_tracked$')
# Network input sides a checkpoint may ask for; beyond this every frame would fail or exhaust memory.
MAX_RESOLUTION_SIDE = 8192
NUM_LAYERS = (18, 50)
UPSAMPLE_MODES = ('bilinear', 'nearest')
MODEL_VERSIONS = ('v1', 'v2', 'v3')

__all__ = ['CheckpointError', 'SCDepthWeights', 'LoadReport', 'safe_load', 'read_scdepth_checkpoint',
           'check_fits', 'load_strict', 'save_own_checkpoint', 'export_sc_depth_pl']


@dataclass
class SCDepthWeights:
    """Weights of an SC-Depth model, keyed as the networks in `depth_perception.models`."""

    source: str
    source_format: str                   # 'sc_depth_pl', 'sc_sfmlearner', 'depth_perception'
    depth_state: dict | None = None
    pose_state: dict | None = None
    rectify_state: dict | None = None
    num_layers: int = 18
    upsample_mode: str = 'bilinear'
    model_version: str = 'v1'
    hparams: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)


@dataclass
class LoadReport:
    ignored: list[str]
    missing_ok: list[str]

    def summary(self) -> str:
        parts = []
        if self.ignored:
            parts.append(f'ignored {len(self.ignored)} unused keys '
                         f'({_abbrev(self.ignored)})')
        if self.missing_ok:
            parts.append(f'{len(self.missing_ok)} num_batches_tracked buffers absent (older file)')
        return '; '.join(parts) or 'all keys used'


def _abbrev(keys: list[str], n: int = 4) -> str:
    shown = ', '.join(keys[:n])
    return shown + (f', ... (+{len(keys) - n})' if len(keys) > n else '')


# ------------------------------------------------------------------------ reading files
def _tensor_dict(obj, path: Path, what: str) -> dict:
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f'{path}: {what} is not a non-empty dict of tensors')
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise CheckpointError(f'{path}: {what} holds non-tensor entries ({_abbrev([str(b) for b in bad])})')
    return obj


def _strip(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _as_float32(state: dict | None) -> dict | None:
    if state is None:
        return None
    return {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}


def _num_layers(state: dict) -> int:
    return 50 if any('.layer1.0.conv3.' in k for k in state) else 18


_SFM_DISP = re.compile(r'^decoder\.decoder\.(\d+)\.(.*)$')


def _remap_sfmlearner_disp(state: dict, path: Path) -> dict:
    """SC-SfMLearner `decoder.decoder.N` -> sc_depth_pl `decoder.{upconvs0,upconvs1,dispconvs}`."""
    out = {}
    for key, value in state.items():
        m = _SFM_DISP.match(key)
        if not m:
            out[key] = value
            continue
        n, rest = int(m.group(1)), m.group(2)
        if n < 10:
            out[f'decoder.upconvs{n % 2}.{n // 2}.{rest}'] = value
        elif n < 14:
            out[f'decoder.dispconvs.{n - 10}.{rest}'] = value
        else:
            raise CheckpointError(f'{path}: unexpected decoder index {n} in key {key!r}')
    return out


_SFM_POSE = {'decoder.net.0.': 'decoder.conv_squeeze.', 'decoder.net.1.': 'decoder.convs_pose.0.',
             'decoder.net.2.': 'decoder.convs_pose.1.', 'decoder.net.3.': 'decoder.convs_pose.2.'}


def _remap_sfmlearner_pose(state: dict) -> dict:
    out = {}
    for key, value in state.items():
        for old, new in _SFM_POSE.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def _hparams_dict(obj: dict) -> dict:
    hp = obj.get('hyper_parameters') or {}
    if isinstance(hp, dict) and 'hparams' in hp:
        hp = hp['hparams']
    if isinstance(hp, argparse.Namespace):
        hp = vars(hp)
    return dict(hp) if isinstance(hp, dict) else {}


def read_scdepth_checkpoint(path: str | Path, pose_path: str | Path | None = None) -> SCDepthWeights:
    """Read any supported SC-Depth checkpoint (and optionally a separate pose file)."""
    weights = _read_one(Path(path))
    if pose_path is not None:
        pose_path = Path(pose_path)
        other = _read_one(pose_path)
        if other.pose_state is None:
            raise CheckpointError(f'{pose_path}: holds no pose network weights')
        weights.pose_state = other.pose_state
        weights.metadata['pose_source'] = str(pose_path)
    return weights


def _read_one(path: Path) -> SCDepthWeights:
    weights = _parse(safe_load(path), path)
    _check_metadata(weights, path)
    _check_architecture(weights)
    # Only now, with every tensor known to fit its network, is anything converted.
    weights.depth_state = _as_float32(weights.depth_state)
    weights.pose_state = _as_float32(weights.pose_state)
    weights.rectify_state = _as_float32(weights.rectify_state)
    return weights


def _parse(obj, path: Path) -> SCDepthWeights:
    if not isinstance(obj, dict):
        raise CheckpointError(f'{path}: expected a dict checkpoint, found {type(obj).__name__}')
    state = obj.get('state_dict', obj if all(torch.is_tensor(v) for v in obj.values()) else None)
    if state is None:
        raise CheckpointError(f'{path}: no state_dict (keys: {_abbrev(sorted(map(str, obj)))}); '
                              'not an SC-Depth checkpoint')
    state = _tensor_dict(state, path, 'state_dict')

    if any(k.startswith('depth_net.') for k in state):
        own = obj.get('format') == OWN_FORMAT
        depth = _strip(state, 'depth_net.')
        hp = obj.get('hparams', {}) if own else _hparams_dict(obj)
        model = obj.get('model', {}) if own else {}
        for name, value in (('hparams', hp), ('model', model)):
            if not isinstance(value, dict):
                raise CheckpointError(f'{path}: {name} must be a mapping, found {type(value).__name__}')
        return SCDepthWeights(
            source=str(path), source_format='depth_perception' if own else 'sc_depth_pl',
            depth_state=depth, pose_state=_strip(state, 'pose_net.') or None,
            rectify_state=_strip(state, 'rectify_net.') or None,
            num_layers=model.get('num_layers', _num_layers(depth)),
            upsample_mode=model.get('upsample_mode', 'bilinear'),
            model_version=model.get('model_version', hp.get('model_version', 'v1')),
            hparams=dict(hp), metadata={k: obj[k] for k in ('epoch', 'global_step', 'provenance',
                                                             'training_resolution_hw') if k in obj})
    if any(k.startswith('decoder.decoder.') for k in state):
        return SCDepthWeights(source=str(path), source_format='sc_sfmlearner',
                              depth_state=_remap_sfmlearner_disp(state, path),
                              num_layers=_num_layers(state), upsample_mode='nearest',
                              metadata={'epoch': obj.get('epoch')})
    if any(k.startswith('decoder.net.') for k in state):
        return SCDepthWeights(source=str(path), source_format='sc_sfmlearner',
                              pose_state=_remap_sfmlearner_pose(state),
                              metadata={'epoch': obj.get('epoch')})
    raise CheckpointError(
        f'{path}: not an SC-Depth checkpoint: found none of the key layouts depth_net.*, '
        f'decoder.decoder.* or decoder.net.* (first keys: {_abbrev(sorted(state))})')


def _check_metadata(w: SCDepthWeights, path: Path) -> None:
    """Values that size or select things later must be sane before they are used."""
    if w.num_layers not in NUM_LAYERS or isinstance(w.num_layers, bool):
        raise CheckpointError(f'{path}: model num_layers must be one of {NUM_LAYERS}, got {w.num_layers!r}')
    if w.upsample_mode not in UPSAMPLE_MODES:
        raise CheckpointError(f'{path}: model upsample_mode must be one of {UPSAMPLE_MODES}, '
                              f'got {w.upsample_mode!r}')
    if str(w.model_version) not in MODEL_VERSIONS:
        raise CheckpointError(f'{path}: model_version must be one of {MODEL_VERSIONS}, got {w.model_version!r}')
    w.num_layers, w.model_version = int(w.num_layers), str(w.model_version)
    if 'training_resolution_hw' in w.metadata:
        res = w.metadata['training_resolution_hw']
        ok = (isinstance(res, (list, tuple)) and len(res) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) for v in res)
              and all(1 <= v <= MAX_RESOLUTION_SIDE for v in res))
        if not ok:
            shown = 'x'.join(map(str, res)) if isinstance(res, (list, tuple)) else repr(res)
            raise CheckpointError(f'{path}: training_resolution_hw must be [height, width] with each '
                                  f'side 1..{MAX_RESOLUTION_SIDE} px, got {shown}')


def _check_architecture(w: SCDepthWeights) -> None:
    """Every tensor against the network it is for, built on the meta device (no memory)."""
    with torch.device('meta'):
        if w.depth_state is not None:
            check_fits(DispResNet(w.num_layers, w.upsample_mode).state_dict(), w.depth_state, w.source,
                       f'DispResNet-{w.num_layers}')
        if w.pose_state is not None:
            check_fits(PoseResNet(18).state_dict(), w.pose_state, w.source, 'PoseResNet-18')
        if w.rectify_state is not None:
            check_fits(RectifyNet().state_dict(), w.rectify_state, w.source, 'RectifyNet')


# ---------------------------------------------------------------------- strict loading
def check_fits(expected: dict, state: dict, source: str, what: str, *,
               unused: re.Pattern | None = _IGNORABLE_UNEXPECTED, error=CheckpointError) -> LoadReport:
    """Refuse `state` (raising `error`) unless it has exactly `expected`'s keys and shapes, but
    for keys matching `unused` and missing `num_batches_tracked`; `expected` may hold meta
    tensors, so this allocates nothing."""
    unexpected = [k for k in state if k not in expected]
    missing = [k for k in expected if k not in state]
    ignored = [k for k in unexpected if unused is not None and unused.search(k)]
    bad_unexpected = [k for k in unexpected if k not in ignored]
    missing_ok = [k for k in missing if _IGNORABLE_MISSING.search(k)]
    bad_missing = [k for k in missing if k not in missing_ok]
    mismatched = [f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
                  for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if bad_unexpected or bad_missing or mismatched:
        problems = []
        if bad_missing:
            problems.append(f'{len(bad_missing)} missing keys ({_abbrev(bad_missing)})')
        if bad_unexpected:
            problems.append(f'{len(bad_unexpected)} unexpected keys ({_abbrev(bad_unexpected)})')
        if mismatched:
            problems.append(f'{len(mismatched)} shape mismatches ({_abbrev(mismatched, 2)})')
        raise error(f'{source}: weights do not fit {what}: ' + '; '.join(problems))
    return LoadReport(ignored=ignored, missing_ok=missing_ok)


def load_strict(module: nn.Module, state: dict, source: str, what: str) -> LoadReport:
    """Load `state` into `module`, refusing anything but the documented unused keys."""
    expected = module.state_dict()
    report = check_fits(expected, state, source, what)
    module.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)
    return report


# ------------------------------------------------------------------------------ writing
def save_own_checkpoint(path: str | Path, depth_net: nn.Module, pose_net: nn.Module | None,
                        rectify_net: nn.Module | None = None, *, model_version: str = 'v1',
                        hparams: dict | None = None, provenance: dict | None = None,
                        training_resolution_hw: tuple[int, int] | None = None,
                        half: bool = False) -> Path:
    """Write this project's checkpoint (sc_depth_pl key layout plus plain-data metadata)."""
    state = {}
    for prefix, net in (('depth_net.', depth_net), ('pose_net.', pose_net),
                        ('rectify_net.', rectify_net)):
        if net is None:
            continue
        for k, v in net.state_dict().items():
            if k.endswith('num_batches_tracked'):
                continue
            v = v.detach().cpu()
            state[prefix + k] = v.half() if half and v.is_floating_point() else v
    obj = {
        'format': OWN_FORMAT, 'format_version': OWN_FORMAT_VERSION, 'state_dict': state,
        'model': {'num_layers': getattr(depth_net, 'num_layers', 18),
                  'upsample_mode': depth_net.decoder.upsample_mode, 'model_version': model_version},
        'hparams': dict(hparams or {}), 'provenance': dict(provenance or {}),
    }
    if training_resolution_hw is not None:
        obj['training_resolution_hw'] = list(training_resolution_hw)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + '.tmp')
    torch.save(obj, tmp)
    tmp.replace(path)
    return path


def export_sc_depth_pl(weights: SCDepthWeights, path: str | Path) -> Path:
    """Write `weights` as an sc_depth_pl Lightning checkpoint (loadable by its code)."""
    state = {}
    for prefix, part in (('depth_net.', weights.depth_state), ('pose_net.', weights.pose_state),
                         ('rectify_net.', weights.rectify_state)):
        for k, v in (part or {}).items():
            state[prefix + k] = v.float()
    hp = dict(weights.hparams)
    hp.setdefault('model_version', weights.model_version)
    hp.setdefault('resnet_layers', weights.num_layers)
    obj = {'epoch': int(weights.metadata.get('epoch') or 0), 'global_step': 0,
           'pytorch-lightning_version': '1.7.3', 'state_dict': state, 'hparams_name': 'kwargs',
           'hyper_parameters': {'hparams': argparse.Namespace(**hp)}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path
