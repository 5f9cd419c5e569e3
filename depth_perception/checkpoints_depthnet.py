"""DepthNet checkpoint files (ClementPinard/DepthNet `.pth.tar`), read safely and strictly.

Layouts a user can hold, all a dict with `state_dict`, `bn`, `with_confidence`,
`activation_function`, `clamp` (plus `epoch`, `arch`, `mean`, `std`):
- 'released-2017': the `DepthNet_elu_bn_{64,128,256,512}.pth.tar` files: keys without
  prefix, the best error stored as `best_EPE`, no BatchNorm `num_batches_tracked`, some in
  the legacy (pre-1.6, non-zip) torch serialisation;
- 'train-script': the later train.py wraps the model in DataParallel: `module.` prefix,
  `best_error`;
- 'current': `module.` prefix and `num_batches_tracked` buffers (files written by torch >= 0.4,
  including this project's training, which also adds `format`/`provenance`).

The network is built from the file's own metadata, never from guesses; loading is strict:
every parameter and BN statistic must be present with the right shape, and the only key
that may be absent is `num_batches_tracked` (unused in eval mode).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checkpoint_io import CheckpointError, safe_load
from .checkpoints import check_fits
from .models.depthnet import ACTIVATIONS, DepthNet

OWN_FORMAT = 'depth_perception/depthnet'
# Still Box images have a 90 deg field of view, so focal = width / 2; the released files are
# named after their training width (DepthNet_elu_bn_256.pth.tar).
_RELEASED_WIDTH = re.compile(r'(?:^|[_-])(64|128|256|512)(?:px)?(?:[._-]|$)')


class DepthNetCheckpointError(CheckpointError, ValueError):
    """A file that is not a usable DepthNet checkpoint; the message names file and problem."""


@dataclass
class DepthNetWeights:
    source: str
    layout: str                      # 'released-2017', 'train-script', 'current'
    state_dict: dict                 # float32, no prefix
    batch_norm: bool
    with_confidence: bool
    clamp: bool
    activation: str | None
    best_error: float | None = None
    training_width_px: int | None = None   # network input width the model was trained at
    metadata: dict = field(default_factory=dict)

    @property
    def training_focal_px(self) -> float | None:
        """Focal length of the training images (Still Box: 90 deg FOV, f = W/2)."""
        if self.metadata.get('training_focal_px'):
            return float(self.metadata['training_focal_px'])
        return self.training_width_px / 2.0 if self.training_width_px else None


def read_file(path: str | Path) -> object:
    """The one place a DepthNet file is unpickled: the package's safe loader (weights_only, mmap,
    no zero-stride or expanded tensors), its one-line errors re-raised as DepthNetCheckpointError.
    Non-finite values are left to `load_depthnet`, which names them its own way."""
    try:
        return safe_load(Path(path), allowed_globals=(), check_finite=False)
    except CheckpointError as exc:
        raise DepthNetCheckpointError(str(exc)) from None


def _flag(obj: dict, key: str, path: Path) -> bool:
    if key not in obj:
        raise DepthNetCheckpointError(f'{path}: field {key!r} missing; not a DepthNet checkpoint '
                                      f'(fields: {", ".join(sorted(map(str, obj))[:10])})')
    value = obj[key]
    if not isinstance(value, bool) and value not in (0, 1):
        raise DepthNetCheckpointError(f'{path}: field {key!r} must be true/false, got {value!r}')
    return bool(value)


def _strip_prefix(state: dict, path: Path) -> tuple[dict, bool]:
    prefixed = [k for k in state if k.startswith('module.')]
    if not prefixed:
        return dict(state), False
    if len(prefixed) != len(state):
        raise DepthNetCheckpointError(f'{path}: state_dict mixes keys with and without the '
                                      f'DataParallel "module." prefix')
    return {k[len('module.'):]: v for k, v in state.items()}, True


def _training_width(obj: dict, path: Path) -> int | None:
    for key in ('training_width_px',):
        if isinstance(obj.get(key), int) and obj[key] > 0:
            return int(obj[key])
    m = _RELEASED_WIDTH.search(path.name)
    return int(m.group(1)) if m else None


def read_depthnet_checkpoint(path: str | Path) -> DepthNetWeights:
    """Parse any DepthNet checkpoint layout; raises DepthNetCheckpointError with one line."""
    path = Path(path)
    obj = read_file(path)
    if not isinstance(obj, dict):
        raise DepthNetCheckpointError(f'{path}: expected a dict checkpoint, found {type(obj).__name__}')
    state = obj.get('state_dict')
    if not isinstance(state, dict) or not state:
        raise DepthNetCheckpointError(f'{path}: no state_dict; not a DepthNet checkpoint '
                                      f'(fields: {", ".join(sorted(map(str, obj))[:10])})')
    bad = [str(k) for k, v in state.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise DepthNetCheckpointError(f'{path}: state_dict holds non-tensor entries ({", ".join(bad[:3])})')
    batch_norm = _flag(obj, 'bn', path)
    with_confidence = _flag(obj, 'with_confidence', path)
    clamp = _flag(obj, 'clamp', path)
    if 'activation_function' not in obj:
        raise DepthNetCheckpointError(f'{path}: field "activation_function" missing; not a DepthNet checkpoint')
    activation = obj['activation_function'] or None
    if activation not in ACTIVATIONS:
        raise DepthNetCheckpointError(f'{path}: activation_function {activation!r} is not one '
                                      f'DepthNet defines (None or "elu")')
    state, prefixed = _strip_prefix(state, path)
    tracked = any(k.endswith('num_batches_tracked') for k in state)
    if not prefixed:
        layout = 'released-2017'
    else:
        layout = 'current' if tracked else 'train-script'
    best = obj.get('best_EPE', obj.get('best_error'))
    best = float(best) if isinstance(best, (int, float)) or torch.is_tensor(best) and best.numel() == 1 else None
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    meta = {k: obj[k] for k in ('epoch', 'arch', 'mean', 'std', 'format', 'provenance',
                                'training_focal_px', 'nominal_displacement_m') if k in obj}
    return DepthNetWeights(source=str(path), layout=layout, state_dict=state, batch_norm=batch_norm,
                           with_confidence=with_confidence, clamp=clamp, activation=activation,
                           best_error=best, training_width_px=_training_width(obj, path),
                           metadata=meta)


def build_depthnet(weights: DepthNetWeights) -> DepthNet:
    """The network the file describes, its weights loaded strictly, in eval mode."""
    net = DepthNet(batch_norm=weights.batch_norm, with_confidence=weights.with_confidence,
                   clamp=weights.clamp, depth_activation=weights.activation)
    state = weights.state_dict
    check_fits(net.state_dict(), state, weights.source,
               f'DepthNet(bn={weights.batch_norm}, with_confidence={weights.with_confidence})',
               unused=None, error=DepthNetCheckpointError)
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise DepthNetCheckpointError(f'{weights.source}: non-finite values in {", ".join(bad[:3])}')
    net.load_state_dict(state, strict=False)  # only num_batches_tracked may be absent (checked above)
    return net.eval()


def load_depthnet(path: str | Path) -> tuple[DepthNet, DepthNetWeights]:
    weights = read_depthnet_checkpoint(path)
    return build_depthnet(weights), weights


def save_depthnet_checkpoint(path: str | Path, net: DepthNet, *, epoch: int = 0,
                             best_error: float | None = None, training_width_px: int | None = None,
                             training_focal_px: float | None = None, provenance: dict | None = None,
                             half: bool = False) -> Path:
    """Write the 'current' layout (module. prefix, num_batches_tracked), which the reference's
    run_inference.py loads after stripping the prefix, plus this project's provenance."""
    state = {}
    for k, v in net.state_dict().items():
        v = v.detach().cpu()
        # BatchNorm statistics stay fp32: a trained running_var can exceed fp16's 65504 (inf),
        # and they are a few kB.
        small = half and v.is_floating_point() and not k.endswith(('running_mean', 'running_var'))
        state['module.' + k] = v.half() if small else v
    obj = {'epoch': int(epoch), 'arch': 'DepthNet', 'state_dict': state,
           'best_error': float(best_error) if best_error is not None else -1.0,
           'bn': net.batch_norm, 'with_confidence': net.with_confidence,
           'activation_function': net.depth_activation, 'clamp': net.clamp,
           'mean': [0.5, 0.5, 0.5], 'std': [0.2, 0.2, 0.2], 'format': OWN_FORMAT,
           'provenance': dict(provenance or {})}
    if training_width_px:
        obj['training_width_px'] = int(training_width_px)
    if training_focal_px:
        obj['training_focal_px'] = float(training_focal_px)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    torch.save(obj, tmp)
    tmp.replace(path)
    return path
