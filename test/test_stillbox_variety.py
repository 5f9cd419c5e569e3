"""Still Box scene variety (issue 11): box sizes, object sizes and distances out to ~100 m."""
import numpy as np
import pytest

from depth_perception.synthetic import make_sequence
from depth_perception.synthetic.scenes import STILLBOX_HALF_SIZE_M, build_scene, still_box


def _box_half_size_m(scene) -> float:
    # The enclosing box's 8 corners are the first vertices; the largest |coordinate| is its half size.
    return float(np.abs(scene.vertices).max())


def test_box_sizes_spread_over_the_range_and_keep_the_camera_clear():
    halves = []
    for seed in range(40):
        scene = build_scene('stillbox', seed)
        half = _box_half_size_m(scene)
        halves.append(half)
        assert STILLBOX_HALF_SIZE_M[0] - 1e-6 <= half <= STILLBOX_HALF_SIZE_M[1] + 1e-6
        # Everything but the box itself stays outside the clear sphere (radius 6 m by default):
        # a box of 2 triangles per face and 8 corner vertices comes first in the soup.
        inner = scene.vertices[8:]
        assert np.linalg.norm(inner, axis=1).min() >= 6.0 - 1e-4
    lo, hi = STILLBOX_HALF_SIZE_M
    # log-uniform: both ends of the range are visited, not one typical size
    assert min(halves) < lo * 1.25 and max(halves) > hi * 0.8


def test_an_explicit_size_is_kept_and_a_long_path_widens_the_box():
    assert _box_half_size_m(still_box(np.random.default_rng(0), half_size_m=50.0)) == pytest.approx(50.0)
    # a 30 m flight needs a 19 m clear radius: the box must leave >= 12 m beyond it
    scene = build_scene('stillbox', 3, path_length_m=30.0)
    assert _box_half_size_m(scene) >= 19.0 + 12.0 - 1e-6


def test_rendered_depth_covers_near_objects_and_far_walls_across_seeds():
    p5, p95 = [], []
    for seed in range(12):
        frame = make_sequence(scene='stillbox', frames=2, seed=seed, width=48, height=48).render(1)
        depth = frame.depth_m
        assert np.isfinite(depth).all()         # a closed box: every ray hits something
        p5.append(np.percentile(depth, 5))
        p95.append(np.percentile(depth, 95))
    assert min(p5) < 15.0                        # near surfaces in some scenes
    assert max(p95) > 55.0                       # far walls/corners in others
    assert max(p95) <= 58.0 * np.sqrt(3) + 1e-3  # never beyond the farthest corner of the largest box
