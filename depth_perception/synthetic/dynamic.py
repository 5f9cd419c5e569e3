"""Independently moving objects: rigid meshes with a pose that is a function of time.

Motion model: position(t) = start + velocity * t + swing * sin(omega * t + phase) and
yaw(t) = yaw0 + yaw_rate * t. Constant velocity gives cars and Still Box drifters; the swing
term keeps indoor objects oscillating inside the free region instead of leaving the room.
Their texture is defined in the object's own frame, so it moves with the object.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import primitives as prim
from .scenes import Scene


@dataclass
class MovingObject:
    vertices: np.ndarray   # [V,3] float32, object frame
    triangles: np.ndarray  # [F,3] uint32
    material: int
    start_m: np.ndarray
    velocity_mps: np.ndarray
    swing_m: np.ndarray
    omega_rad_s: float
    phase_rad: float
    yaw0_rad: float
    yaw_rate_rad_s: float

    def T_world_obj(self, t_s: float) -> np.ndarray:
        T = np.eye(4)
        T[:3, :3] = prim.rot_z(self.yaw0_rad + self.yaw_rate_rad_s * t_s)
        T[:3, 3] = (self.start_m + self.velocity_mps * t_s
                    + self.swing_m * np.sin(self.omega_rad_s * t_s + self.phase_rad))
        return T


def _append_material(scene: Scene, rgb, scale: float, rng: np.random.Generator) -> int:
    scene.materials = scene.materials.appended(rgb, scale, rng.uniform(0, 4, (1, 2)))
    return len(scene.materials.texture_scale) - 1


def add_moving_objects(scene: Scene, count: int, seed: int, duration_s: float) -> None:
    """Add `count` moving objects suited to the scene kind (in place)."""
    rng = np.random.default_rng([int(seed), 2024])
    r = scene.region
    for _ in range(count):
        colour = rng.uniform(0.3, 1.0, 3)
        # Texture scale from typical viewing distance (see textures.CUTOFF_CYCLES_PER_TEXEL).
        scale = {'indoor': 0.8, 'corridor': 0.8, 'street': 3.0}.get(scene.name, 6.0)
        mat = _append_material(scene, colour, float(scale * rng.uniform(1.0, 1.5)), rng)
        zero = np.zeros(3)
        if scene.name in ('indoor', 'corridor'):
            # Boxes (robots, carts, a walking person's bulk) lower than the camera, oscillating
            # on the floor across the free region: they never reach the walls, and the camera
            # (z >= 1.2 m) always stays above them.
            size = np.array([*rng.uniform(0.3, 0.6, 2), rng.uniform(0.6, 1.0)])
            v, t = prim.box(size)
            centre = np.array([r.centre_m[0], r.centre_m[1], size[2] / 2])
            d = rng.standard_normal(2)
            d /= np.linalg.norm(d)
            swing = np.array([d[0] * r.half_extent_m[0], d[1] * r.half_extent_m[1], 0.0]) * 0.9
            obj = MovingObject(v, t, mat, centre, zero, swing, float(rng.uniform(0.5, 1.5)),
                               float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, np.pi)),
                               float(rng.uniform(-0.8, 0.8)))
        elif scene.name == 'street':
            # Cars in the other lane (never ours, so the camera cannot drive into them),
            # oncoming or overtaking, at traffic speeds; they pass the camera mid-sequence.
            v, t = prim.box([4.3, 1.8, 1.4])
            direction = -1.0 if rng.random() < 0.6 else 1.0
            speed = rng.uniform(6.0, 14.0)
            x0 = r.centre_m[0] - direction * speed * duration_s / 2 + rng.uniform(-30.0, 30.0)
            obj = MovingObject(v, t, mat, np.array([x0, -r.centre_m[1], 0.75]),
                               np.array([direction * speed, 0.0, 0.0]), zero, 0.0, 0.0,
                               0.0 if direction > 0 else np.pi, 0.0)
        else:
            # Still Box: primitives drifting through the box, away from the camera path.
            size = rng.uniform(1.0, 5.0)
            v, t = prim.sphere(size / 2, 10) if rng.random() < 0.5 else prim.box(rng.uniform(0.4, 1.0, 3) * size)
            d = rng.standard_normal(3)
            start = d / np.linalg.norm(d) * rng.uniform(r.half_extent_m[0] * 2 + 6, 35.0)
            obj = MovingObject(v, t, mat, start, rng.uniform(-2, 2, 3), zero, 0.0, 0.0,
                               float(rng.uniform(0, np.pi)), float(rng.uniform(-0.5, 0.5)))
        scene.moving.append(obj)
