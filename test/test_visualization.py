"""depth_perception.visualization: colours in RGB order, NaN black, robust range."""
import numpy as np

from depth_perception.visualization import colorize_depth, robust_range_m


def test_near_is_red_far_is_blue_in_rgb_order_and_invalid_is_black():
    d = np.tile(np.linspace(1.0, 10.0, 50, dtype=np.float32), (4, 1))
    d[0, 0] = np.nan
    d[0, 1] = 0.0
    rgb = colorize_depth(d, near_m=1.0, far_m=10.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (4, 50, 3)
    near, far = rgb[2, 2].astype(int), rgb[2, -1].astype(int)
    assert near[0] > near[2] + 50          # red channel dominates up close
    assert far[2] > far[0] and far[2] > far[1]   # blue channel dominates far away (dark blue)
    assert (rgb[0, 0] == 0).all() and (rgb[0, 1] == 0).all()


def test_robust_range_ignores_outliers_and_degenerate_inputs():
    d = np.full(1000, 5.0, np.float32)
    d[:5] = 1e6
    lo, hi = robust_range_m(d)
    assert lo == 5.0 and 5.0 < hi < 5.1
    assert robust_range_m(np.full((3, 3), np.nan)) is None
    assert (colorize_depth(np.full((3, 3), np.nan, np.float32)) == 0).all()
    assert colorize_depth(np.full((3, 3), 2.0, np.float32)).any()
