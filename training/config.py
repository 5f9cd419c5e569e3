"""Training configuration: the sc_depth_pl config keys and defaults, plus this project's run settings.

A config is a YAML mapping of these keys; `key=value` overrides (values parsed as YAML)
are applied on top. Unknown keys are errors, so a typo never silently keeps a default.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# sc_depth_pl `get_training_size` (H, W); multiples of 32.
TRAINING_SIZE_HW = {'kitti': (256, 832), 'ddad': (384, 640), 'nyu': (256, 320),
                    'tum': (256, 320), 'bonn': (256, 320), 'synthetic': (128, 160)}
# Validation depth PNG units (value / scale = metres), reference-systems.md §1.7.
DEPTH_PNG_SCALE = {'nyu': 5000.0, 'tum': 1000.0, 'bonn': 1000.0, 'synthetic': 1000.0}
MODEL_VERSIONS = ('v1', 'v2', 'v3')
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
        h, w = self.training_size_hw
        if h % 32 or w % 32:
            raise ValueError(f'training size {h}x{w} must be a multiple of 32 in both directions')
        for name in ('batch_size', 'epoch_size', 'num_epochs', 'skip_frames'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1')
        if self.lr <= 0:
            raise ValueError('lr must be positive')
        for name in ('depth_supervision_weight', 'pose_supervision_weight', 'supervision_rotation_weight',
                     'supervision_depth_scale_weight'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0')
        if self.supervision_metres_per_unit <= 0:
            raise ValueError('supervision_metres_per_unit must be positive')
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


def load_config(path: str | Path | None = None, overrides: list[str] | tuple = (), **values) -> TrainConfig:
    """Defaults <- YAML file <- keyword values <- 'key=value' overrides; then validated."""
    data: dict = {}
    if path:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f'config file {path} not found')
        loaded = yaml.safe_load(path.read_text()) or {}
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
    # YAML may give ints where floats are expected and vice versa; coerce by the declared default type.
    for f in dataclasses.fields(TrainConfig):
        value = getattr(cfg, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f'{f.name} must be true or false, got {value!r}')
        elif isinstance(default, float) and isinstance(value, (int, str)) and not isinstance(value, bool):
            try:   # YAML 1.1 reads '2e-4' (no dot) as a string
                setattr(cfg, f.name, float(value))
            except ValueError:
                raise ValueError(f'{f.name} must be a number, got {value!r}') from None
        elif f.name == 'devices' and not isinstance(value, str):
            setattr(cfg, f.name, str(value))
    return cfg.validate()
