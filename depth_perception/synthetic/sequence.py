"""A synthetic sequence: scene + trajectory + camera, rendered frame by frame on demand.

    seq = make_sequence(SequenceConfig(scene='indoor', frames=30, seed=3))
    for frame in seq:            # Frame(rgb, depth_m, dynamic_mask, object_id, T_world_cam, stamp_ns)
        ...
    for seq in SequenceStream(config, seeds=range(1000)):   # many: built one at a time
        ...
Everything is a pure function of the config (seeded), so output files are reproducible.
Configs are validated before anything is built: impossible values (NaN, a 180 deg field of
view, 0 Hz...) raise SequenceConfigError naming the field.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Iterable, Iterator

import math

import numpy as np

from ..geometry import intrinsics_from_fov
from .dynamic import add_moving_objects
from .renderer import Frame, Renderer
from .scenes import SCENES, Scene, build_scene
from .trajectories import Trajectory, make_trajectory

# Per-scene defaults: trajectory, frame rate (Hz), speed (m/s), horizontal FOV (deg).
# NYU's fx 518.9 at 640 px is ~63 deg; KITTI's 721 at 1242 px ~81 deg; Still Box is 90 deg.
SCENE_DEFAULTS = {
    'indoor': ('handheld', 10.0, 0.5, 63.0),
    'corridor': ('handheld', 10.0, 0.6, 63.0),
    'street': ('driving', 10.0, 10.0, 81.0),
    'stillbox': ('uav', 10.0, 1.0, 90.0),
}


# Sane bounds: beyond them a request is a typo or an attack, not a dataset.
MAX_FRAMES = 100_000            # per sequence (2.8 h at 10 Hz)
MAX_SIDE_PX = 8192
MAX_FPS_HZ = 1000.0
MAX_SPEED_MPS = 1000.0
HFOV_RANGE_DEG = (1.0, 170.0)   # a pinhole camera cannot see 180 deg; beyond 170 it is all edge
MAX_DYNAMIC_OBJECTS = 100
MAX_SEED = 2 ** 32 - 1


class SequenceConfigError(ValueError):
    """An impossible config value; `field`, `problem` and `value` let a CLI name its own option."""

    def __init__(self, field: str, problem: str, value):
        self.field, self.problem, self.value = field, problem, value
        super().__init__(f'{field} {problem}, got {value!r}')


def _whole(field: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise SequenceConfigError(field, f'must be a whole number in {lo}..{hi}', value)


def _number(field: str, value, lo: float, hi: float, lo_open: bool = False, unit: str = '') -> None:
    ok = (isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
          and math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi)
    if not ok:
        interval = f'{"(" if lo_open else "["}{lo:g}, {hi:g}]'
        raise SequenceConfigError(field, f'must be a finite number in {interval}{unit}', value)


@dataclass(frozen=True)
class SequenceConfig:
    scene: str = 'indoor'
    trajectory: str | None = None   # None: the scene's default
    frames: int = 30
    width: int = 320
    height: int = 256
    fps: float | None = None
    speed_mps: float | None = None
    hfov_deg: float | None = None
    seed: int = 0
    dynamic_objects: int = 0
    shading: bool = True
    flat_materials: float = 0.0     # chance of each material to be plain (no texture), 0..1

    def resolved(self) -> 'SequenceConfig':
        """A validated copy with every None replaced by the scene default (what the files record).
        Only None means 'default': an explicit 0 Hz or 0 deg is refused, never replaced."""
        if self.scene not in SCENE_DEFAULTS:
            raise ValueError(f'unknown scene {self.scene!r}; choose one of {SCENES}')
        traj, fps, speed, hfov = SCENE_DEFAULTS[self.scene]
        out = replace(self, trajectory=self.trajectory or traj,
                      fps=fps if self.fps is None else self.fps,
                      speed_mps=speed if self.speed_mps is None else self.speed_mps,
                      hfov_deg=hfov if self.hfov_deg is None else self.hfov_deg)
        out.validate()
        return out

    def validate(self) -> None:
        """Refuse impossible values (SequenceConfigError naming the field); None = default."""
        _whole('frames', self.frames, 1, MAX_FRAMES)
        _whole('width', self.width, 2, MAX_SIDE_PX)
        _whole('height', self.height, 2, MAX_SIDE_PX)
        _whole('seed', self.seed, 0, MAX_SEED)
        _whole('dynamic_objects', self.dynamic_objects, 0, MAX_DYNAMIC_OBJECTS)
        if self.fps is not None:
            _number('fps', self.fps, 0.0, MAX_FPS_HZ, lo_open=True, unit=' Hz')
        if self.speed_mps is not None:
            _number('speed_mps', self.speed_mps, 0.0, MAX_SPEED_MPS, unit=' m/s')
        if self.hfov_deg is not None:
            _number('hfov_deg', self.hfov_deg, *HFOV_RANGE_DEG, unit=' deg')
        _number('flat_materials', self.flat_materials, 0.0, 1.0)

    def as_dict(self) -> dict:
        return asdict(self)


class SyntheticSequence:
    def __init__(self, config: SequenceConfig):
        cfg = config.resolved()
        self.config = cfg
        duration_s = (cfg.frames - 1) / cfg.fps
        self.scene: Scene = build_scene(cfg.scene, cfg.seed, path_length_m=cfg.speed_mps * duration_s,
                                        flat_fraction=cfg.flat_materials)
        if cfg.dynamic_objects:
            add_moving_objects(self.scene, cfg.dynamic_objects, cfg.seed, duration_s)
        self.trajectory: Trajectory = make_trajectory(
            cfg.trajectory, self.scene.region, cfg.frames, cfg.fps, cfg.speed_mps, cfg.seed,
            three_d=cfg.scene == 'stillbox')
        self.K = intrinsics_from_fov(cfg.width, cfg.height, cfg.hfov_deg)
        self.renderer = Renderer(self.scene, self.K, cfg.width, cfg.height, shading=cfg.shading)

    @property
    def T_world_cam(self) -> np.ndarray:
        return self.trajectory.T_world_cam

    @property
    def stamps_ns(self) -> np.ndarray:
        return self.trajectory.stamps_ns

    def __len__(self) -> int:
        return self.config.frames

    def render(self, index: int) -> Frame:
        return self.renderer.render(self.trajectory.T_world_cam[index],
                                    float(self.trajectory.times_s[index]),
                                    int(self.trajectory.stamps_ns[index]))

    def __iter__(self) -> Iterator[Frame]:
        for i in range(len(self)):
            yield self.render(i)


class SequenceStream:
    """Many sequences of one config (seeds differ), built lazily one at a time.

    Length and resolved configs are known up front (writers need the scene names and the
    train/val split before the first frame), but each scene (an open3d ray-casting scene) is
    built only when iteration reaches it and released before the next one is built, so memory
    does not grow with the number of sequences. Iterate it as often as needed.
    """

    def __init__(self, config: SequenceConfig, seeds: Iterable[int]):
        self.base = config
        self.seeds = [int(s) for s in seeds]
        if not self.seeds:
            raise ValueError('no sequences: the seed list is empty')
        self.configs = [replace(config, seed=s).resolved() for s in self.seeds]

    def __len__(self) -> int:
        return len(self.seeds)

    def __iter__(self) -> Iterator[SyntheticSequence]:
        for cfg in self.configs:
            yield SyntheticSequence(cfg)


def configs_of(sequences) -> list[SequenceConfig]:
    """Resolved configs of a SyntheticSequence, a list of them, or a SequenceStream (nothing built)."""
    if isinstance(sequences, SyntheticSequence):
        return [sequences.config]
    if isinstance(sequences, SequenceStream):
        return list(sequences.configs)
    return [s.config for s in sequences]


def make_sequence(config: SequenceConfig | None = None, **overrides) -> SyntheticSequence:
    """Build a sequence from a config and/or keyword overrides (SequenceConfig fields)."""
    config = replace(config or SequenceConfig(), **overrides)
    return SyntheticSequence(config)
