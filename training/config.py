"""Training configuration: the sc_depth_pl config keys and defaults, plus this project's run settings.

A config is a YAML mapping of these keys; `key=value` overrides (values parsed as YAML)
are applied on top. Unknown keys are errors, so a typo never silently keeps a default.
Configs are named by path or by the short name of a shipped one (`v1/nyu`), which is found in
the installed package data, so the same command works in a checkout and after an install.
"""
from __future__ import annotations

import dataclasses
import errno
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

# sc_depth_pl `get_training_size` (H, W); multiples of 32.
TRAINING_SIZE_HW = {'kitti': (256, 832), 'ddad': (384, 640), 'nyu': (256, 320),
                    'tum': (256, 320), 'bonn': (256, 320), 'synthetic': (128, 160)}
# Validation depth PNG units (value / scale = metres), reference-systems.md §1.7.
DEPTH_PNG_SCALE = {'nyu': 5000.0, 'tum': 1000.0, 'bonn': 1000.0, 'synthetic': 1000.0}
MODEL_VERSIONS = ('v1', 'v2', 'v3')
MAX_SIDE = 8192   # training image side limit (px): beyond it a batch cannot fit any device
VAL_MODES = ('depth', 'photo')


@dataclass
class TrainConfig:
    # --- data (sc_depth_pl names and defaults)
    dataset_dir: str = ''
    dataset_name: str = 'kitti'
    sequence_length: int = 3
    skip_frames: int = 1
    use_frame_index: bool = False
    # --- model
    model_version: str = 'v1'
    resnet_layers: int = 18
    ckpt_path: str = ''                 # initial weights (any SC-Depth checkpoint), '' = random init
    # --- V1 loss weights
    photo_weight: float = 1.0
    geometry_weight: float = 0.1
    smooth_weight: float = 0.1
    # --- V2 loss weights
    rot_t_weight: float = 1.0
    rot_c_weight: float = 1.0
    # --- supervised warm start (this project; needs GT depth/ and poses.txt, e.g. synthetic data)
    depth_supervision_weight: float = 0.0
    pose_supervision_weight: float = 0.0
    supervision_rotation_weight: float = 1.0   # per radian, beside translation error in model units
    supervision_metres_per_unit: float = 1.0   # one factor for depth AND pose: they share a scale
    supervision_depth_scale_weight: float = 1.0  # per-image overall log-scale error, beside the shape
    # --- validation
    val_mode: str = 'depth'
    # --- V3 loss weights
    mask_rank_weight: float = 0.1
    normal_matching_weight: float = 0.1
    normal_rank_weight: float = 0.1
    # --- ablations
    no_ssim: bool = False
    no_auto_mask: bool = False
    no_dynamic_mask: bool = False
    no_min_optimize: bool = False
    # --- training
    exp_name: str = 'scdepth'
    batch_size: int = 4
    epoch_size: int = 1000              # iterations per epoch
    num_epochs: int = 100
    lr: float = 1e-4
    # --- this project's run settings
    img_height: int = 0                 # 0: the dataset's reference training size
    img_width: int = 0
    seed: int = 0
    output_dir: str = 'runs'            # run folder: <output_dir>/<exp_name>
    num_workers: int = 2
    accelerator: str = 'auto'           # 'cpu', 'gpu', 'auto'
    devices: str = 'auto'               # Lightning devices ('auto', 1, 2, '0,1'): >1 GPU uses DDP
    precision: str = '32-true'
    val_max_batches: int = 0            # validation frames, evenly spaced over the set; 0: all
    val_every_n_epochs: int = 1
    checkpoint_every_n_steps: int = 200  # Lightning last.ckpt cadence, for --resume
    log_every_n_steps: int = 20
    image_log_every_n_steps: int = 200
    depth_png_scale: float = 0.0        # 0: the dataset default (nyu 5000, tum/bonn/synthetic 1000)
    max_depth_m: float = 0.0            # validation cap; 0: the dataset preset
    export_half: bool = False           # write the own-format model in fp16
    notes: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ derived values
    @property
    def training_size_hw(self) -> tuple[int, int]:
        if self.img_height and self.img_width:
            return self.img_height, self.img_width
        if self.dataset_name not in TRAINING_SIZE_HW:
            raise ValueError(f'no reference training size for dataset {self.dataset_name!r}; '
                             'set img_height and img_width')
        return TRAINING_SIZE_HW[self.dataset_name]

    @property
    def png_depth_scale(self) -> float:
        return self.depth_png_scale or DEPTH_PNG_SCALE.get(self.dataset_name, 1000.0)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.exp_name

    def validate(self) -> 'TrainConfig':
        if self.model_version not in MODEL_VERSIONS:
            raise ValueError(f'model_version must be one of {MODEL_VERSIONS}, got {self.model_version!r}')
        if self.val_mode not in VAL_MODES:
            raise ValueError(f'val_mode must be one of {VAL_MODES}, got {self.val_mode!r}')
        if self.sequence_length < 2 or self.sequence_length % 2 == 0:
            raise ValueError('sequence_length must be odd and >= 3 (target in the middle)')
        if self.resnet_layers not in (18, 50):
            raise ValueError('resnet_layers must be 18 or 50')
        if bool(self.img_height) != bool(self.img_width):
            raise ValueError('img_height and img_width must be set together (or both 0: the dataset size)')
        h, w = self.training_size_hw
        if h % 32 or w % 32 or not (64 <= h <= MAX_SIDE and 64 <= w <= MAX_SIDE):
            raise ValueError(f'training size {h}x{w} must be a multiple of 32 in both directions, '
                             f'64..{MAX_SIDE} px')
        for name in ('batch_size', 'epoch_size', 'num_epochs', 'skip_frames', 'log_every_n_steps',
                     'val_every_n_epochs'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1, got {getattr(self, name)}')
        for name in ('num_workers', 'val_max_batches', 'checkpoint_every_n_steps', 'image_log_every_n_steps'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0, got {getattr(self, name)}')
        for name in ('lr',):
            if getattr(self, name) <= 0:
                raise ValueError(f'{name} must be positive, got {getattr(self, name)}')
        for name in ('depth_png_scale', 'max_depth_m'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0 (0: the dataset default), got {getattr(self, name)}')
        for name in ('depth_supervision_weight', 'pose_supervision_weight', 'supervision_rotation_weight',
                     'supervision_depth_scale_weight'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0, got {getattr(self, name)}')
        if self.supervision_metres_per_unit <= 0:
            raise ValueError(f'supervision_metres_per_unit must be positive, got {self.supervision_metres_per_unit}')
        return self

    @property
    def supervised(self) -> bool:
        return self.depth_supervision_weight > 0 or self.pose_supervision_weight > 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


FIELD_NAMES = {f.name for f in dataclasses.fields(TrainConfig)}


def _check_keys(keys, source: str) -> None:
    unknown = sorted(set(keys) - FIELD_NAMES)
    if unknown:
        raise ValueError(f'{source}: unknown config keys {unknown}; valid keys: {sorted(FIELD_NAMES)}')


def parse_override(text: str) -> tuple[str, object]:
    """'key=value' -> (key, YAML-parsed value)."""
    if '=' not in text:
        raise ValueError(f'override {text!r} is not key=value')
    key, raw = text.split('=', 1)
    return key.strip(), yaml.safe_load(raw) if raw.strip() else ''


def shipped_configs() -> dict[str, Path]:
    """Short name ('v1/nyu') -> file of every config shipped with the package."""
    root = resources.files('depth_perception_training') / 'configs'
    found = {}
    for version in sorted(root.iterdir(), key=lambda p: p.name) if root.is_dir() else ():
        if version.is_dir():
            for item in sorted(version.iterdir(), key=lambda p: p.name):
                if item.name.endswith('.yaml'):
                    found[f'{version.name}/{item.name[:-5]}'] = Path(str(item))
    return found


def resolve_config(name: str | Path) -> Path:
    """A config file: an existing path as given, else a shipped config by short name ('v1/nyu',
    'v1/nyu.yaml', or a checkout path such as 'training/configs/v1/nyu.yaml' used after an install)."""
    path = Path(name)
    if path.is_file():
        return path
    if os.path.lexists(path) and not path.exists():     # a link that leads nowhere or to itself
        try:
            os.stat(path)
        except OSError as exc:
            what = 'symbolic link loop' if exc.errno == errno.ELOOP else 'broken symbolic link'
            raise ValueError(f'config {name}: {what}') from None
    if path.is_dir():
        raise ValueError(f'config {name}: is a folder; give a YAML file or a short name such as v1/nyu')
    text = str(name).replace('\\', '/')
    short = text.split('configs/', 1)[1] if 'configs/' in text else text
    short = short[:-5] if short.endswith('.yaml') else short
    shipped = shipped_configs()
    if short in shipped:
        return shipped[short]
    raise FileNotFoundError(f'config {name}: no such file, and not a shipped config '
                            f'(short names: {", ".join(shipped) or "none installed"})')


def _coerce(name: str, value, default):
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f'{name} must be true or false, got {value!r}')
        return value
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ValueError(f'{name} must be a whole number, got {value!r}')
    if isinstance(default, float):
        try:   # YAML 1.1 reads '2e-4' (no dot) as a string
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not math.isfinite(number):
            raise ValueError(f'{name} must be a finite number, got {value!r}')
        return number
    if isinstance(default, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)       # devices: 1, exp_name: 2024
        if not isinstance(value, str):
            raise ValueError(f'{name} must be text, got {value!r}')
        return value
    if isinstance(default, dict) and not isinstance(value, dict):
        raise ValueError(f'{name} must be a mapping, got {value!r}')
    return value


def load_config(path: str | Path | None = None, overrides: list[str] | tuple = (), **values) -> TrainConfig:
    """Defaults <- YAML file <- keyword values <- 'key=value' overrides; then validated."""
    data: dict = {}
    if path:
        path = resolve_config(path)
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            where = getattr(exc, 'problem_mark', None)
            at = f' (line {where.line + 1})' if where is not None else ''
            raise ValueError(f'{path}: not a valid YAML config{at}') from None
        if not isinstance(loaded, dict):
            raise ValueError(f'{path}: a config must be a YAML mapping')
        _check_keys(loaded, str(path))
        data.update(loaded)
    _check_keys(values, 'arguments')
    data.update(values)
    for item in overrides:
        key, value = parse_override(item)
        _check_keys([key], 'override')
        data[key] = value
    cfg = TrainConfig(**data)
    # YAML may give ints where floats are expected, strings for numbers ('2e-4', 'abc')...:
    # coerce by the declared default type, refusing what is not that type in one line.
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        setattr(cfg, f.name, _coerce(f.name, getattr(cfg, f.name), default))
    return cfg.validate()
