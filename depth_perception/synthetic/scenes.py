"""Procedural scenes from a seed: indoor room, corridor, street, Still Box.

World frame: z up, metres. Every scene is one static triangle soup (materials per triangle)
plus optional moving objects (see `dynamic.py`), and a `CameraRegion`: a box the camera
centre can roam without entering geometry, which the trajectories stay inside.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import primitives as prim
from .textures import MaterialTable

SCENES = ('indoor', 'corridor', 'street', 'stillbox')


@dataclass
class CameraRegion:
    centre_m: np.ndarray       # [3] world
    half_extent_m: np.ndarray  # [3] world-axis-aligned half sizes
    heading_rad: float = 0.0   # the scene's main direction of travel (yaw about world z)


@dataclass
class Scene:
    name: str
    vertices: np.ndarray           # [V,3] float32 world, all static geometry
    triangles: np.ndarray          # [F,3] uint32
    triangle_material: np.ndarray  # [F] int32 index into `materials`
    materials: MaterialTable
    region: CameraRegion
    light_dir: np.ndarray          # [3] direction towards the light, world
    moving: list = field(default_factory=list)  # dynamic.MovingObject
    has_sky: bool = False          # whether rays may hit nothing (depth NaN)


class _Builder:
    """Accumulates placed meshes and their materials into one static soup."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.verts: list[np.ndarray] = []
        self.tris: list[np.ndarray] = []
        self.mats: list[np.ndarray] = []
        self.base: list[np.ndarray] = []
        self.scale: list[float] = []
        self.n_verts = 0

    def material(self, rgb, texture_scale: float) -> int:
        self.base.append(np.clip(np.asarray(rgb, np.float32), 0.05, 1.0))
        self.scale.append(float(texture_scale))
        return len(self.base) - 1

    def random_material(self, scale_range=(0.6, 2.0), lo=0.25, hi=0.9) -> int:
        s = np.exp(self.rng.uniform(*np.log(scale_range)))
        return self.material(self.rng.uniform(lo, hi, 3), s)

    def add(self, mesh: prim.Mesh, T_world_obj: np.ndarray, material) -> None:
        v, t = mesh
        self.verts.append(prim.transform(v, T_world_obj))
        self.tris.append(t.astype(np.int64) + self.n_verts)
        self.n_verts += len(v)
        self.mats.append(np.broadcast_to(np.asarray(material, np.int32), (len(t),)).copy())

    def add_box(self, centre, size, material, yaw: float = 0.0) -> None:
        T = np.eye(4)
        T[:3, :3] = prim.rot_z(yaw)
        T[:3, 3] = centre
        self.add(prim.box(size), T, material)

    def materials_table(self) -> MaterialTable:
        n = len(self.base)
        offsets = self.rng.uniform(0, 4.0, (n, 2)).astype(np.float32)
        return MaterialTable(np.stack(self.base), np.asarray(self.scale, np.float32), offsets)

    def scene(self, name: str, region: CameraRegion, light_dir, has_sky: bool) -> Scene:
        return Scene(name, np.concatenate(self.verts), np.concatenate(self.tris).astype(np.uint32),
                     np.concatenate(self.mats), self.materials_table(), region,
                     np.asarray(light_dir, np.float32), [], has_sky)


def _T(centre) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = centre
    return T


def _room_shell(b: _Builder, size) -> None:
    """Floor, ceiling and four walls as one box seen from inside; one material per face."""
    sx, sy, sz = size
    faces = [b.random_material() for _ in range(4)]          # -x, +x, -y, +y walls
    floor = b.random_material((0.6, 1.5), 0.2, 0.7)
    ceiling = b.random_material((1.0, 3.0), 0.6, 0.95)
    per_tri = np.repeat(np.array(faces + [floor, ceiling], np.int32), 2)
    b.add(prim.box(size), _T([0, 0, sz / 2]), per_tri)


def _wall_furniture(b: _Builder, size, count: int, max_depth_m: float, max_height_m: float) -> None:
    """Boxes standing against the walls (cabinets, shelves, tables), some with items on top."""
    rng = b.rng
    sx, sy, sz = size
    for _ in range(count):
        side = rng.integers(4)
        along = sx if side >= 2 else sy
        w = rng.uniform(0.4, min(1.8, along * 0.4))
        d = rng.uniform(0.25, max_depth_m)
        h = rng.uniform(0.35, max_height_m)
        s = rng.uniform(-along / 2 + w / 2, along / 2 - w / 2)
        gap = rng.uniform(0.0, 0.08)
        if side == 0:
            c, dims = [-sx / 2 + gap + d / 2, s, h / 2], [d, w, h]
        elif side == 1:
            c, dims = [sx / 2 - gap - d / 2, s, h / 2], [d, w, h]
        elif side == 2:
            c, dims = [s, -sy / 2 + gap + d / 2, h / 2], [w, d, h]
        else:
            c, dims = [s, sy / 2 - gap - d / 2, h / 2], [w, d, h]
        b.add_box(c, dims, b.random_material())
        if rng.random() < 0.5:  # an item on top, smaller than its support
            iw, idp, ih = dims[0] * rng.uniform(0.2, 0.6), dims[1] * rng.uniform(0.2, 0.6), rng.uniform(0.1, 0.4)
            b.add_box([c[0], c[1], h + ih / 2], [iw, idp, ih], b.random_material(), 0.0)
    # Pictures/panels on the walls: thin boxes that add texture edges at eye level.
    for _ in range(rng.integers(2, 6)):
        side = rng.integers(4)
        along = sx if side >= 2 else sy
        w, h = rng.uniform(0.3, 1.2), rng.uniform(0.3, 0.9)
        w = min(w, 0.45 * along)  # a narrow corridor's end wall is shorter than the widest panel
        s, z = rng.uniform(-along / 2 + w, along / 2 - w), rng.uniform(1.2, min(2.2, sz - h / 2 - 0.1))
        t = 0.03
        centre = {0: [-sx / 2 + t / 2, s, z], 1: [sx / 2 - t / 2, s, z],
                  2: [s, -sy / 2 + t / 2, z], 3: [s, sy / 2 - t / 2, z]}[side]
        dims = [t, w, h] if side < 2 else [w, t, h]
        b.add_box(centre, dims, b.random_material((0.6, 1.0)))


def indoor_room(rng: np.random.Generator) -> Scene:
    """NYU/TUM-like room, 4-7 m square, 2.5-3.1 m high; furniture along the walls."""
    size = np.array([rng.uniform(4.0, 7.0), rng.uniform(4.0, 7.0), rng.uniform(2.5, 3.1)])
    b = _Builder(rng)
    _room_shell(b, size)
    _wall_furniture(b, size, int(rng.integers(5, 11)), max_depth_m=0.8, max_height_m=2.0)
    # Free zone: 1.3 m from every wall (furniture reaches at most 0.88 m), eye height.
    region = CameraRegion(np.array([0.0, 0.0, 1.4]),
                          np.array([size[0] / 2 - 1.3, size[1] / 2 - 1.3, 0.2]),
                          float(rng.uniform(-np.pi, np.pi)))
    return b.scene('indoor', region, [0.3, 0.5, 1.0], has_sky=False)


def corridor(rng: np.random.Generator) -> Scene:
    """A 9-14 m corridor along x, 2-2.8 m wide; shallow boxes and door panels along the walls."""
    size = np.array([rng.uniform(9.0, 14.0), rng.uniform(2.0, 2.8), rng.uniform(2.4, 2.9)])
    b = _Builder(rng)
    _room_shell(b, size)
    _wall_furniture(b, size, int(rng.integers(5, 10)), max_depth_m=0.35, max_height_m=1.6)
    region = CameraRegion(np.array([0.0, 0.0, 1.4]),
                          np.array([size[0] / 2 - 2.0, max(size[1] / 2 - 0.75, 0.05), 0.15]), 0.0)
    return b.scene('corridor', region, [0.2, 0.4, 1.0], has_sky=False)


def _car(b: _Builder, x: float, y: float, yaw: float, material: int | None = None) -> None:
    m = b.random_material((1.5, 4.0), 0.15, 0.9) if material is None else material
    b.add_box([x, y, 0.65], [4.3, 1.8, 0.8], m, yaw)
    b.add_box([x - 0.2 * np.cos(yaw), y - 0.2 * np.sin(yaw), 1.3], [2.2, 1.6, 0.55],
              b.random_material((1.5, 4.0), 0.1, 0.5), yaw)


def street(rng: np.random.Generator, length_m: float = 240.0) -> Scene:
    """KITTI-like street along x: ground, sidewalks, facades, parked cars, poles; open sky."""
    b = _Builder(rng)
    road_w = rng.uniform(10.0, 14.0)
    walk_w = rng.uniform(2.0, 4.0)
    L = float(length_m)
    b.add_box([0, 0, -0.05], [L + 200, 160, 0.1], b.material([0.35, 0.35, 0.37], 6.0))  # asphalt
    for side in (-1, 1):
        yc = side * (road_w / 2 + walk_w / 2)
        b.add_box([0, yc, 0.075], [L + 200, walk_w, 0.15], b.material([0.6, 0.58, 0.55], 4.0))
        x = -L / 2 - 50
        while x < L / 2 + 50:  # facades: a row of buildings with gaps and set-backs
            w, depth, h = rng.uniform(6, 22), rng.uniform(8, 15), rng.uniform(5, 25)
            setback = rng.uniform(0, 2.5)
            yb = side * (road_w / 2 + walk_w + setback + depth / 2)
            b.add_box([x + w / 2, yb, h / 2], [w, depth, h], b.random_material((4.0, 12.0), 0.3, 0.9))
            x += w + rng.uniform(0, 4)
        x = -L / 2
        while x < L / 2:  # parked cars along the kerb, poles on the sidewalk
            if rng.random() < 0.5:
                _car(b, x, side * (road_w / 2 - 1.1), rng.normal(0, 0.03))
            if rng.random() < 0.25:
                T = _T([x + 2, side * (road_w / 2 + 0.4), 2.5])
                b.add(prim.cylinder(0.08, 5.0, 8), T, b.material([0.4, 0.4, 0.42], 1.5))
            x += rng.uniform(5.5, 8.0)
    # Drive in the right-hand lane (y < 0), clear of the parked cars (inner edge at
    # road_w/2 - 2 m), camera 1.65 m above ground as on KITTI.
    region = CameraRegion(np.array([0.0, -(road_w / 2 - 3.75), 1.65]),
                          np.array([L / 2 - 20.0, 0.3, 0.05]), 0.0)
    return b.scene('street', region, [0.4, -0.3, 1.0], has_sky=True)


# Still Box variety (DepthNet must read depth from parallax, not from one typical room size):
# box half sizes from near walls to ~100 m corners, object sizes from bricks to buildings.
STILLBOX_HALF_SIZE_M = (18.0, 58.0)
STILLBOX_OBJECTS = (40, 120)


def still_box(rng: np.random.Generator, clear_radius_m: float = 6.0, half_size_m: float | None = None) -> Scene:
    """DepthNet-style Still Box: random textured primitives inside a large textured box.

    Objects are kept `clear_radius_m` away from the origin, where the camera flies. Unless
    given, the box half size is log-uniform in STILLBOX_HALF_SIZE_M (raised to leave room for
    objects beyond the clear radius), so walls lie ~18-58 m away and corners up to ~100 m;
    texture scales follow the box size, because a texel pattern finer than a pixel footprint
    (depth / f) aliases into flicker that carries no parallax.
    """
    lo, hi = STILLBOX_HALF_SIZE_M
    lo = max(lo, clear_radius_m + 12.0)
    if half_size_m is None:
        half_size_m = float(np.exp(rng.uniform(np.log(lo), np.log(max(hi, lo)))))
    size_k = half_size_m / 50.0
    b = _Builder(rng)
    faces = [b.random_material((15.0 * size_k, 40.0 * size_k)) for _ in range(6)]
    b.add(prim.box([2 * half_size_m] * 3), np.eye(4), np.repeat(np.array(faces, np.int32), 2))
    count = int(rng.integers(*STILLBOX_OBJECTS))
    r_max = half_size_m - 4.0
    placed = 0
    while placed < count:
        r = rng.uniform(clear_radius_m + 1.0, r_max)
        d = rng.standard_normal(3)
        centre = d / np.linalg.norm(d) * r
        # log-uniform, scaled with the box: from bricks to objects a quarter of the box across
        size = float(np.exp(rng.uniform(np.log(0.04 * half_size_m), np.log(0.25 * half_size_m))))
        if np.linalg.norm(centre) - size < clear_radius_m:
            continue
        kind = rng.integers(3)
        mesh = (prim.box(rng.uniform(0.3, 1.0, 3) * size) if kind == 0 else
                prim.sphere(size / 2, 12) if kind == 1 else
                prim.cylinder(size / 4, size, 16))
        T = np.eye(4)
        T[:3, :3] = prim.random_rotation(rng)
        T[:3, 3] = centre
        # texture scale from the object's distance: ~0.1 m pattern per metre of range / 15
        tex = max(1.0, r / 8.0)
        b.add(mesh, T, b.random_material((tex, 3.0 * tex), 0.1, 0.95))
        placed += 1
    region = CameraRegion(np.zeros(3), np.full(3, clear_radius_m * 0.5), float(rng.uniform(-np.pi, np.pi)))
    return b.scene('stillbox', region, [0.3, 0.2, 1.0], has_sky=False)


def build_scene(kind: str, seed: int, path_length_m: float = 0.0, flat_fraction: float = 0.0) -> Scene:
    """Scene of `kind` (one of SCENES) from a seed; `path_length_m` sizes open scenes;
    `flat_fraction`: the chance of each material to be plain (untextured)."""
    rng = np.random.default_rng([int(seed), SCENES.index(kind) if kind in SCENES else 99])
    if kind == 'indoor':
        scene = indoor_room(rng)
    elif kind == 'corridor':
        scene = corridor(rng)
    elif kind == 'street':
        scene = street(rng, max(240.0, path_length_m + 140.0))
    elif kind == 'stillbox':
        scene = still_box(rng, clear_radius_m=max(6.0, path_length_m / 2 + 4.0))
    else:
        raise ValueError(f'unknown scene {kind!r}; choose one of {SCENES}')
    if flat_fraction > 0:   # a stream of its own, so the geometry of a seed stays the same
        scene.materials = scene.materials.with_flat(np.random.default_rng([int(seed), 7007]), flat_fraction)
    return scene
