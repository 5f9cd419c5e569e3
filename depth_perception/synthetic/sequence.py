"""A synthetic sequence: scene + trajectory + camera, rendered frame by frame on demand.

    seq = make_sequence(SequenceConfig(scene='indoor', frames=30, seed=3))
    for frame in seq:            # Frame(rgb, depth_m, dynamic_mask, object_id, T_world_cam, stamp_ns)
        ...
Everything is a pure function of the config (seeded), so output files are reproducible.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Iterator

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

    def resolved(self) -> 'SequenceConfig':
        """A copy with every None replaced by the scene default (what the files record)."""
        if self.scene not in SCENE_DEFAULTS:
            raise ValueError(f'unknown scene {self.scene!r}; choose one of {SCENES}')
        traj, fps, speed, hfov = SCENE_DEFAULTS[self.scene]
        return replace(self, trajectory=self.trajectory or traj, fps=self.fps or fps,
                       speed_mps=speed if self.speed_mps is None else self.speed_mps,
                       hfov_deg=self.hfov_deg or hfov)

    def as_dict(self) -> dict:
        return asdict(self)


class SyntheticSequence:
    def __init__(self, config: SequenceConfig):
        cfg = config.resolved()
        if cfg.width < 2 or cfg.height < 2 or cfg.frames < 1:
            raise ValueError('need width, height >= 2 and frames >= 1')
        self.config = cfg
        duration_s = (cfg.frames - 1) / cfg.fps
        self.scene: Scene = build_scene(cfg.scene, cfg.seed, path_length_m=cfg.speed_mps * duration_s)
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


def make_sequence(config: SequenceConfig | None = None, **overrides) -> SyntheticSequence:
    """Build a sequence from a config and/or keyword overrides (SequenceConfig fields)."""
    config = replace(config or SequenceConfig(), **overrides)
    return SyntheticSequence(config)
