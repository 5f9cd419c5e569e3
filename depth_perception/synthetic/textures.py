"""View-independent procedural surface appearance.

Colour is a function of the surface point (in the object's own frame) and its normal only, so
the same point has the same colour from every view - what photometric losses assume.

How: one tileable multi-scale noise atlas (1/f spectrum, synthesised by inverse FFT so it wraps
seamlessly) is sampled by planar projection along the dominant axis of the surface normal
("box mapping"). For axis-aligned faces this is an exact 2-D parametrisation of the surface;
for curved primitives it switches plane along fixed seams, still independent of the viewer.
The sampling is one `cv2.remap` (bilinear, wrap-around) for the whole image, which is what
makes texturing cost ~1 ms per frame instead of per-octave noise evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np

ATLAS_SIZE_PX = 1024
ATLAS_PERIOD_M = 4.0  # one atlas tile covers 4 m x 4 m at texture scale 1 (~4 mm per texel)
# Band limit in cycles per texel: the shortest wavelength is 1/0.08 = 12.5 texels = 4.9 cm at
# texture scale 1. Texture finer than ~2-3 pixel footprints aliases, and aliased texture does
# not survive resampling, so view synthesis would show errors that are not geometric. Scenes
# therefore pick texture scales from their typical distance (pixel footprint = depth / f).
CUTOFF_CYCLES_PER_TEXEL = 0.08


@lru_cache(maxsize=2)
def noise_atlas(size_px: int = ATLAS_SIZE_PX, seed: int = 12345) -> np.ndarray:
    """Tileable RGB noise [size, size, 3] float32, mean ~1, with texture at every scale.

    Amplitude ~ f^-0.75 (flatter than natural 1/f) keeps contrast at fine scales, which the
    SSIM term of photometric losses needs; a shared luminance component dominates and a weaker
    per-channel component adds colour variation.
    """
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size_px)[:, None]
    fx = np.fft.rfftfreq(size_px)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amp = f ** -0.75
    amp[0, 0] = 0.0
    amp[f > CUTOFF_CYCLES_PER_TEXEL] = 0.0

    def field() -> np.ndarray:
        spec = amp * (rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape))
        x = np.fft.irfft2(spec, s=(size_px, size_px))
        return (x / x.std()).astype(np.float32)

    lum = field()
    chans = [0.8 * lum + 0.35 * field() for _ in range(3)]
    atlas = np.stack(chans, -1)
    atlas = 1.0 + 0.28 * np.tanh(atlas / 1.5) / np.tanh(1.0)  # soft clip, range ~[0.62, 1.38]
    return atlas.astype(np.float32)


@dataclass
class MaterialTable:
    """Per-material appearance: base colour (linear 0-1 RGB), texture scale and atlas offset."""
    base_rgb: np.ndarray       # [M,3] float32
    texture_scale: np.ndarray  # [M] float32, >1 = larger texture features
    offset_m: np.ndarray       # [M,2] float32 shift into the atlas, metres
    # [M] float32 texture contrast, 1 = the atlas as it is, 0 = the plain base colour; None = all 1
    contrast: np.ndarray | None = None

    def with_flat(self, rng: np.random.Generator, fraction: float) -> 'MaterialTable':
        """A copy in which each material is untextured (contrast 0) with probability `fraction`.

        Real rooms are full of plain walls, doors and cabinet fronts where no texture gives
        parallax; a depth-from-motion network that never saw one fills it with noise.
        """
        flat = rng.random(len(self.texture_scale)) < fraction
        return replace(self, contrast=np.where(flat, 0.0, 1.0).astype(np.float32))

    def appended(self, rgb, scale: float, offset_m) -> 'MaterialTable':
        """A copy with one more (fully textured) material at the end."""
        contrast = None if self.contrast is None else np.append(self.contrast, np.float32(1.0))
        return MaterialTable(np.vstack([self.base_rgb, np.asarray(rgb, np.float32)[None]]),
                             np.append(self.texture_scale, np.float32(scale)),
                             np.vstack([self.offset_m, np.asarray(offset_m, np.float32).reshape(1, 2)]), contrast)

    @staticmethod
    def random(rng: np.random.Generator, count: int, palette: np.ndarray | None = None,
               scale_range: tuple[float, float] = (0.5, 2.0)) -> 'MaterialTable':
        if palette is None:
            base = rng.uniform(0.25, 0.9, size=(count, 3))
        else:
            base = palette[rng.integers(0, len(palette), count)] * rng.uniform(0.8, 1.1, (count, 1))
        scale = np.exp(rng.uniform(np.log(scale_range[0]), np.log(scale_range[1]), count))
        offset = rng.uniform(0, ATLAS_PERIOD_M, size=(count, 2))
        return MaterialTable(np.clip(base, 0.05, 1.0).astype(np.float32),
                             scale.astype(np.float32), offset.astype(np.float32))


def surface_colour(points_m: np.ndarray, normals: np.ndarray, material: np.ndarray,
                   materials: MaterialTable, scale_multiplier: float = 1.0) -> np.ndarray:
    """Linear RGB [N,3] float32 of surface points [N,3] (object frame) with normals [N,3].

    `material` [N] indexes `materials`; `scale_multiplier` enlarges all textures (the renderer
    sets it from the focal length so texture stays band-limited in pixels at any resolution). The projection plane is chosen per point from the
    normal's dominant axis; each of the 3 planes gets its own atlas offset so neighbouring faces
    of a box do not show the same pattern.
    """
    n = points_m.shape[0]
    # Dominant normal axis with column compares and np.where: ~5x cheaper than argmax plus
    # fancy indexing on [N,3] arrays (this function sits on the per-frame hot path).
    px, py, pz = points_m[:, 0], points_m[:, 1], points_m[:, 2]
    ax, ay, az = np.abs(normals[:, 0]), np.abs(normals[:, 1]), np.abs(normals[:, 2])
    is_x = (ax >= ay) & (ax >= az)
    is_y = ~is_x & (ay >= az)
    u = np.where(is_x, py, np.where(is_y, pz, px))
    v = np.where(is_x, pz, np.where(is_y, px, py))
    plane_off = np.where(is_x, np.float32(0.0), np.where(is_y, np.float32(1.37), np.float32(2.74)))
    texel_per_m = np.float32(ATLAS_SIZE_PX / ATLAS_PERIOD_M)
    scale = np.take(texel_per_m / (materials.texture_scale * np.float32(scale_multiplier)), material)
    map_x = (u + np.take(materials.offset_m[:, 0], material) + plane_off) * scale
    map_y = (v + np.take(materials.offset_m[:, 1], material) + plane_off) * scale
    # remap wants 2-D maps narrower than 32767: fold the N points into rows of 512 (padded).
    # Coordinates are wrapped first (x - floor(x/P)*P; np.mod is ~20x slower) because
    # BORDER_WRAP only covers one period.
    period = np.float32(ATLAS_SIZE_PX)
    rows_n = -(-n // 512)
    mx = np.zeros(rows_n * 512, np.float32)
    my = np.zeros(rows_n * 512, np.float32)
    mx[:n] = map_x - np.floor(map_x * np.float32(1 / ATLAS_SIZE_PX)) * period
    my[:n] = map_y - np.floor(map_y * np.float32(1 / ATLAS_SIZE_PX)) * period
    tex = cv2.remap(noise_atlas(), mx.reshape(rows_n, 512), my.reshape(rows_n, 512),
                    interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    tex = tex.reshape(-1, 3)[:n]
    if materials.contrast is not None:
        c = np.take(materials.contrast, material)[:, None]
        tex = np.float32(1.0) + c * (tex - np.float32(1.0))
    return tex * np.take(materials.base_rgb, material, axis=0)


def lambert_shade(normals: np.ndarray, light_dir: np.ndarray, ambient: float = 0.55) -> np.ndarray:
    """View-independent two-sided Lambertian factor [N] for a fixed directional light.

    |n . l| rather than max(n . l, 0): mesh normal signs are arbitrary (the room is seen from
    inside its box), and a two-sided term stays a property of the surface, not of the viewer.
    """
    l = np.asarray(light_dir, np.float32)
    l = l / np.linalg.norm(l)
    # Elementwise, not normals @ l: a BLAS call here spins OpenBLAS threads (see renderer).
    dot = normals[:, 0] * l[0] + normals[:, 1] * l[1] + normals[:, 2] * l[2]
    return np.float32(ambient) + np.float32(1 - ambient) * np.abs(dot)


_SRGB_LUT_SIZE = 4096
_SRGB_LUT = (np.linspace(0.0, 1.0, _SRGB_LUT_SIZE) ** (1 / 2.2) * 255.0 + 0.5).astype(np.uint8)


def to_srgb8(linear_rgb: np.ndarray) -> np.ndarray:
    """Linear [.., 3] in 0-1 -> uint8 with a 1/2.2 gamma, via a 4096-entry table (a float pow
    per channel costs ~4 ms per 320x256 frame; the table lookup ~0.3 ms)."""
    idx = (np.clip(linear_rgb, 0.0, 1.0) * np.float32(_SRGB_LUT_SIZE - 1) + np.float32(0.5)).astype(np.int16)
    return np.take(_SRGB_LUT, idx)
