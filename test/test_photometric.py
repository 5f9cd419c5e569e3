"""SSIM and the SC-Depth photometric error (depth_perception.photometric)."""
import torch

from depth_perception.photometric import (SSIM_C1, SSIM_C2, mean_abs_difference, photometric_error,
                                          ssim_dissimilarity)

torch.set_num_threads(1)


def _img(seed=0, shape=(2, 3, 20, 24)):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def test_identical_images_have_zero_error():
    x = _img()
    assert ssim_dissimilarity(x, x).abs().max() < 1e-6
    assert photometric_error(x, x).abs().max() < 1e-6
    assert photometric_error(x, x, use_ssim=False).abs().max() == 0


def test_ssim_matches_direct_formula_at_an_interior_pixel():
    x, y = _img(1), _img(2)
    i, j = 9, 11                                    # 7x7 window fully inside: no padding involved
    wx, wy = x[0, 0, i - 3:i + 4, j - 3:j + 4], y[0, 0, i - 3:i + 4, j - 3:j + 4]
    mx, my = wx.mean(), wy.mean()
    vx, vy = (wx ** 2).mean() - mx ** 2, (wy ** 2).mean() - my ** 2
    cxy = (wx * wy).mean() - mx * my
    ssim = ((2 * mx * my + SSIM_C1) * (2 * cxy + SSIM_C2)) / ((mx ** 2 + my ** 2 + SSIM_C1) * (vx + vy + SSIM_C2))
    expected = torch.clamp((1 - ssim) / 2, 0, 1)
    assert torch.isclose(ssim_dissimilarity(x, y)[0, 0, i, j], expected, atol=1e-5)


def test_output_keeps_size_and_reflection_pads_borders():
    x, y = _img(1), _img(2)
    d = ssim_dissimilarity(x, y)
    assert d.shape == x.shape
    # Mirror-symmetric inputs give mirror-symmetric SSIM at the borders (reflection padding).
    xs = torch.cat([x, x.flip(-1)], -1)
    ys = torch.cat([y, y.flip(-1)], -1)
    ds = ssim_dissimilarity(xs, ys)
    assert torch.allclose(ds, ds.flip(-1), atol=1e-6)


def test_photometric_error_weights_and_l1_clamp():
    x = torch.zeros(1, 3, 8, 8)
    y = torch.full((1, 3, 8, 8), 3.0)                  # |diff| = 3, clamped to 1
    err = photometric_error(x, y)
    expected = 0.15 * 1.0 + 0.85 * ssim_dissimilarity(x, y)[:, :1]
    assert torch.allclose(err, expected, atol=1e-6)
    assert err.shape == (1, 1, 8, 8)
    assert torch.allclose(photometric_error(x, y, use_ssim=False), torch.ones(1, 1, 8, 8))
    assert torch.allclose(mean_abs_difference(x, y), torch.full((1, 1, 8, 8), 3.0))
