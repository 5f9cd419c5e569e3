"""Boosting stages with hand-computed answers (reference-systems.md §4.1 and §7)."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from depth_perception.boosting.bases import BoostBase, MidasBase, multiple_of_32_upper_bound
from depth_perception.boosting.blend import blend_into, blend_mask
from depth_perception.boosting.fit import apply_degree1, fit_degree1
from depth_perception.boosting.local import boost_factor, target_size
from depth_perception.boosting.merge import double_estimate, merge
from depth_perception.boosting.output import depth_to_inferno, write_depth_png
from depth_perception.boosting.patches import grid, select_patches
from depth_perception.boosting.pipeline import BoostConfig, boost, map_onto_base
from depth_perception.boosting.resolution import edge_map, max_pool, processing_resolution
from depth_perception.models.midas import MidasNet
from depth_perception.models.pix2pix_unet import UnetGenerator


# ------------------------------------------------------------------- resolution search
def _three_lines():
    """360x360 black with 1-px white lines at columns 0, 180, 359.

    Sobel marks columns 1, 179, 181, 358 (reflect-101 border: none at 0 and 359). The loop
    tries p = 12, 18, 24, 30 (3 x 360 = 1080 px limit); 360 / p is an integer block size, so
    pooling lands exactly on p x p. Pooled columns at p = 30 (blocks of 12): 0, 14, 15, 29.
    The 12 x 12 dilation (anchor 6) covers c-5..c+6: columns 7, 8, 22, 23 stay uncovered,
    4/30 = 0.133 (> 0 stops R0 at p = 24 -> 768 px; <= 0.2 lets R20 reach 30 -> 960 px).
    At p <= 24 everything is covered. K: the 3 x 3 dilation of the p = 30 map covers
    columns 0-1, 13-16, 28-29: 8/30.
    """
    img = np.zeros((360, 360, 3))
    img[:, [0, 180, 359]] = 1.0
    return img


def test_resolution_search_on_constructed_lines():
    r0 = processing_resolution(_three_lines(), 384, 0.0)
    r20 = processing_resolution(_three_lines(), 384, 0.2)
    assert r0.resolution == 768 and r20.resolution == 960
    assert [p for p, _ in r20.tried] == [12, 18, 24, 30]
    assert r20.tried[-1][1] == pytest.approx(4 / 30)
    assert r0.patch_scale == pytest.approx(8 / 30) and r20.patch_scale == pytest.approx(8 / 30)


def test_resolution_search_flat_image_is_all_edges():
    # A flat image has max == min gradient: the reference's threshold makes every pixel an
    # edge, so nothing is ever uncovered and R runs to the last size below 3000 px: 90 * 32.
    r = processing_resolution(np.full((1000, 1000, 3), 0.5), 384, 0.0)
    assert r.resolution == 2880 and r.patch_scale == 1.0


def test_edge_map_resize_is_the_reference_positional_call():
    # The reference: cv2.resize(grad, (d, d), cv2.INTER_AREA): the flag lands in `dst`.
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.random((90, 140, 3)), (0, 0), 3)
    gray = np.dot(img, [0.2989, 0.5870, 0.1140])
    grad = np.abs(cv2.Sobel(gray, cv2.CV_64F, 0, 1, ksize=3)) + np.abs(cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3))
    ref = cv2.resize(grad, (90, 90), cv2.INTER_AREA)
    area = cv2.resize(grad, (90, 90), interpolation=cv2.INTER_AREA)
    mid = lambda g: g.min() + 0.4 * (g.max() - g.min())
    assert np.array_equal(edge_map(img), (ref >= mid(ref)).astype(float))
    assert not np.array_equal(edge_map(img), (area >= mid(area)).astype(float))


def test_max_pool_pads_with_zeros_at_the_end():
    a = np.arange(25, dtype=float).reshape(5, 5)
    assert max_pool(a, 2).tolist() == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]


def test_too_small_image_is_refused_clearly():
    with pytest.raises(ValueError, match='too small for a 384 px receptive field'):
        processing_resolution(np.zeros((100, 130, 3)), 384, 0.2)


# ----------------------------------------------------------------- sizes and factors
def test_midas_input_size_upper_bound_multiple_of_32():
    assert multiple_of_32_upper_bound(480, 640, 384) == (288, 384)
    assert multiple_of_32_upper_bound(1216, 1936, 1568) == (992, 1568)
    assert multiple_of_32_upper_bound(100, 100, 50) == (32, 32)   # round gives 64 > 50: floor


def test_factor_and_target_size():
    assert boost_factor(0.3, 960) == pytest.approx(0.384)
    assert boost_factor(1.0, 2880) == 1 and boost_factor(0.01, 384) == 0.2
    assert target_size(480, 640, 960, 0.5, math.inf) == (2880, 3840)
    assert target_size(640, 480, 960, 0.5, math.inf) == (3840, 2880)
    assert target_size(480, 640, 960, 0.5, 2000) == (1500, 2000)
    # Python's round (half to even): 2 * 5 * 1 / 4 = 2.5 -> 2, 10 / 1 -> 10
    assert target_size(1, 4, 5, 1.0, math.inf) == (2, 10)


# ----------------------------------------------------------------------------- patches
def test_grid_order_is_x_outer_y_inner():
    assert grid(1200, 1600, 384, 288) == [(0, 0, 768, 768), (0, 288, 768, 768),
                                          (288, 0, 768, 768), (288, 288, 768, 768),
                                          (576, 0, 768, 768), (576, 288, 768, 768)]


def test_patch_selection_growth_and_order_on_one_textured_region():
    """Flat 1200x1600 image, texture in x 1150..1250, y 450..550.

    Only the grid patches at x = 576 contain it (y = 0 and y = 288). (576, 0) cannot grow
    (y - 16 < 0). (576, 288) grows by 32 (x, y -= 16) while inside: y + size < 1201 allows
    9 steps -> (432, 144, 1056, 1056), still denser than the image (1056^2 < 1200 * 1600).
    Largest first.
    """
    rng = np.random.default_rng(1)
    img = np.full((1200, 1600, 3), 0.5)
    img[450:550, 1150:1250] = rng.random((100, 100, 3))
    patches = select_patches(img, 384, factor=1.0)
    assert [(p.id, p.rect) for p in patches] == [(1, (432, 144, 1056, 1056)), (0, (576, 0, 768, 768))]


def test_patch_sort_is_stable_for_equal_sizes():
    rng = np.random.default_rng(2)
    img = np.full((1200, 1600, 3), 0.5)
    img[:, :] += 0.3 * rng.random((1200, 1600, 1))   # texture everywhere: every patch dense?
    patches = select_patches(img, 384, factor=1.0)
    sizes = [p.size for p in patches]
    assert sizes == sorted(sizes, reverse=True)
    for a, b in zip(patches, patches[1:]):
        if a.size == b.size:
            assert a.id < b.id


# --------------------------------------------------------------------------- the fit
def test_degree1_fit_recovers_scale_and_shift():
    rng = np.random.default_rng(3)
    x = rng.random((64, 64)).astype(np.float32)
    coef = fit_degree1(x, 2.5 * x.astype(np.float64) - 0.7)
    assert coef == pytest.approx((2.5, -0.7), abs=1e-9)
    y = apply_degree1(x, coef)
    assert y.dtype == np.float64 and y.shape == (64, 64)
    np.testing.assert_allclose(y, 2.5 * x - 0.7, atol=1e-6)


def test_map_onto_base_recovers_the_base_depth():
    rng = np.random.default_rng(4)
    depth = rng.uniform(1.0, 5.0, (30, 40)).astype(np.float32)
    relative = 0.3 / depth + 0.1          # any affine function of the disparity
    np.testing.assert_allclose(map_onto_base(relative, depth), depth, rtol=1e-5)


# ----------------------------------------------------------------------- blend mask
def _reference_mask(size):
    m = np.zeros((size, size), np.float32)
    lo = int(0.15 * size)
    m[lo:size - lo, lo:size - lo] = 1
    k = int(2 * np.ceil(2 * int(size / 16)) + 1)
    m = cv2.GaussianBlur(m, (k, k), int(size / 16))
    return ((m - m.min()) / (m.max() - m.min())).astype(np.float32)


def test_blend_mask_values_at_known_points():
    m = blend_mask(3000, 3000)
    # Centre: the whole 749-tap kernel lies on ones; corner: it lies on zeros.
    assert m[1500, 1500] == pytest.approx(1.0, abs=1e-6) and m[0, 0] == pytest.approx(0.0, abs=1e-6)
    # First pixel of the inner square (450): half the kernel plus half its centre tap.
    g = np.exp(-np.arange(-374, 375) ** 2 / (2 * 187.0 ** 2))
    u450 = 0.5 + 0.5 * (1 / g.sum())
    assert m[1500, 450] == pytest.approx(u450, abs=1e-6)
    assert m[450, 450] == pytest.approx(u450 ** 2, abs=1e-6)
    assert m[1500, 75] == pytest.approx(0.0, abs=1e-7)     # 450 - 374 = 76 is the first > 0


def test_blend_mask_equals_the_2d_construction_reduced_size():
    ref = _reference_mask(300)
    for h, w in [(300, 300), (77, 77), (120, 95)]:
        want = ref if (h, w) == (300, 300) else cv2.resize(ref, (w, h), interpolation=cv2.INTER_LINEAR)
        assert np.abs(blend_mask(h, w, size=300) - want).max() <= 1e-5


@pytest.mark.slow
def test_blend_mask_equals_the_reference_3000_construction():
    ref = _reference_mask(3000)
    for h, w in [(768, 768), (184, 184), (1056, 1056), (431, 560)]:
        want = cv2.resize(ref, (w, h), interpolation=cv2.INTER_LINEAR)
        assert np.abs(blend_mask(h, w) - want).max() <= 1e-5


def test_blend_into_uses_the_mask():
    est = np.zeros((40, 50), np.float32)
    merged = np.ones((20, 30))
    blend_into(est, merged, (5, 10, 30, 20))
    np.testing.assert_allclose(est[10:30, 5:35], blend_mask(20, 30), atol=1e-6)
    assert est[:10].max() == 0 and est[:, :5].max() == 0


# ---------------------------------------------------------------------------- writer
def test_uint16_writer_truncates(tmp_path):
    depth = np.array([[0.0, 0.5, 1.0, 0.25]], np.float32)
    path = write_depth_png(tmp_path / 'x', depth)
    back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    assert back.tolist() == [[0, 32767, 65535, 16383]]   # 32767.5 -> 32767, 16383.75 -> 16383
    flat = write_depth_png(tmp_path / 'flat', np.ones((3, 3), np.float32))
    assert cv2.imread(str(flat), cv2.IMREAD_UNCHANGED).max() == 0


def test_inferno_colourisation(tmp_path):
    depth = np.array([[0.0, 0.5, 1.0]], np.float32)
    lut = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[None], cv2.COLORMAP_INFERNO)[0]
    assert depth_to_inferno(depth)[0].tolist() == [lut[0].tolist(), lut[127].tolist(), lut[255].tolist()]
    path = write_depth_png(tmp_path / 'c', depth, colorize=True)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape == (1, 3, 3)


# ------------------------------------------------------------------- merge and double
class _PickChannel(torch.nn.Module):
    """A real 1x1 convolution that outputs tanh^-1-free channel c (for the input order)."""

    def __init__(self, c):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 1, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, c] = 1.0

    def forward(self, x):
        return self.conv(x)


def test_merge_feeds_low_resolution_first_normalised_to_minus1_1():
    low = np.linspace(2, 4, 16, dtype=np.float32).reshape(4, 4)
    high = np.linspace(-1, 0, 16, dtype=np.float32).reshape(4, 4)[::-1].copy()
    np.testing.assert_allclose(merge(_PickChannel(0), low, high), (low - 2) / 2, atol=1e-6)
    np.testing.assert_allclose(merge(_PickChannel(1), low, high), high + 1, atol=1e-6)


def _small_midas():
    torch.manual_seed(0)
    net = MidasNet(features=8, layers=(1, 1, 1, 1), groups=2, width_per_group=2, base_planes=8)
    with torch.no_grad():
        net.scratch.output_conv[4].bias.fill_(0.5)   # keep the final ReLU open
    return net.eval()


class _Ramp(BoostBase):
    """A base whose estimate is a horizontal ramp; it remembers the sizes it was asked for."""

    def __init__(self):
        super().__init__(None)
        self.sizes = []

    def estimate(self, rgb, msize):
        self.sizes.append(msize)
        return np.tile(np.linspace(0, 1, rgb.shape[1], dtype=np.float32), (rgb.shape[0], 1))


def test_double_estimate_estimates_each_size_once_and_clamps():
    rgb = np.zeros((100, 120, 3))
    base = _Ramp()
    out = double_estimate(rgb, base, _PickChannel(1), 384, 384, pix2pixsize=64)
    assert base.sizes == [384]                        # equal sizes: one network run
    ramp = cv2.resize(np.tile(np.linspace(0, 1, 120, dtype=np.float32), (100, 1)), (64, 64),
                      interpolation=cv2.INTER_CUBIC)
    want = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    np.testing.assert_allclose(out, want, atol=1e-5)  # tanh-free pick, (x+1)/2, min-max
    base = _Ramp()
    double_estimate(rgb, base, _PickChannel(1), 384, 2112, pix2pixsize=64)
    assert base.sizes == [384, 1568]                  # R20 above 1568 is clamped


def test_midas_base_records_its_network_input():
    base = MidasBase(_small_midas())
    base.record = []
    out = base.estimate(np.random.default_rng(5).random((100, 120, 3)), 160)
    assert out.shape == (100, 120) and out.min() == 0 and out.max() == pytest.approx(1)
    assert base.record[0][0] == 160 and base.record[0][1].shape == (1, 3, 128, 160)


class _SmallRFMidas(MidasBase):
    receptive_field = 128


@pytest.mark.slow
def test_final_pipeline_runs_patches_at_input_resolution():
    rng = np.random.default_rng(6)
    img = np.full((96, 128, 3), 90, np.uint8)
    img[20:60, 30:80] = rng.integers(0, 255, (40, 50, 3))
    torch.manual_seed(1)
    net = UnetGenerator(ngf=2, num_downs=6)
    seen = []
    res = boost(img, _SmallRFMidas(_small_midas()), net, BoostConfig(mode='Final', pix2pixsize=64, max_res=480),
                on_patch=lambda i, info, est: seen.append(info))
    assert res.depth.shape == (96, 128) and res.depth.dtype == np.float32
    assert np.isfinite(res.depth).all()
    assert res.target_hw == (360, 480) and len(res.patches) == 6
    assert res.merge_scale == pytest.approx(96 / res.target_hw[0])
    assert len(seen) == len(res.patches) > 0
    sizes = [p['rect_target'][2] for p in res.patches]
    assert sizes == sorted(sizes, reverse=True)
    for p in res.patches:
        x, y, w, h = p['rect_output']
        assert (x, y, w, h) == tuple(int(v) for v in np.round(np.array(p['rect_target']) * res.merge_scale))
    batched = boost(img, _SmallRFMidas(_small_midas()), net,
                    BoostConfig(mode='Final', pix2pixsize=64, max_res=480, batch_size=4))
    assert [(p['id'], p['rect_output']) for p in batched.patches] == \
        [(p['id'], p['rect_output']) for p in res.patches]
    assert np.abs(batched.depth - res.depth).max() <= 1e-5 * np.abs(res.depth).max()
    r20 = boost(img, _SmallRFMidas(_small_midas()), net, BoostConfig(mode='R20', pix2pixsize=64))
    assert r20.resolution == res.resolution
    capped = boost(img, _SmallRFMidas(_small_midas()), net,
                   BoostConfig(mode='Final', pix2pixsize=64, max_res=res.resolution - 1))
    assert capped.patches == [] and np.array_equal(capped.depth, r20.depth)


def test_leres_base_feeds_bgr_square_and_returns_unnormalised_depth():
    from depth_perception.boosting.bases import LeresBase
    from depth_perception.models.leres import RelDepthModel
    torch.manual_seed(2)
    base = LeresBase(RelDepthModel(mid_channels=(8, 8, 8, 8), layers=(1, 1, 1, 1), groups=2,
                                   width_per_group=2, base_planes=8).eval())
    base.record = []
    rgb = np.zeros((60, 90, 3))
    rgb[..., 0], rgb[..., 2] = 1.0, 0.25          # red image, a little blue
    out = base.estimate(rgb, 64)
    msize, net_in, net_out = base.record[0]
    assert net_in.shape == (1, 3, 64, 64)          # square, aspect not kept
    # Channel 0 carries blue (0.25) normalised with the *red* mean/std: the BGR quirk.
    np.testing.assert_allclose(net_in[0, 0], (0.25 - 0.485) / 0.229, rtol=1e-6)
    np.testing.assert_allclose(net_in[0, 2], (1.0 - 0.406) / 0.225, rtol=1e-6)
    assert net_out.min() == pytest.approx(0.01, abs=1e-6)   # depth - min + 0.01, no min-max
    assert out.shape == (60, 90)


@pytest.fixture(scope='module')
def mask3000():
    return _reference_mask(3000)


def _straight_final(img_u8, base, net, pix2pix, max_res, mask_org):
    """The reference's --Final loop written out plainly (one image, one patch at a time,
    2-D 3000x3000 mask), from reference-systems.md §4.1; patch selection from `select_patches`
    (checked on its own above)."""
    rgb = img_u8 / 255.0
    H, W = rgb.shape[:2]
    rf = base.receptive_field
    s = processing_resolution(rgb, rf, 0.2)
    R = s.resolution

    def single(im, size):
        return base.estimate(im, min(size, 1568))

    def netrun(outer, inner):
        t = lambda a: torch.from_numpy(a.astype(np.float32))[None, None]
        o, i = t(outer), t(inner)
        o = (o - o.min()) / (o.max() - o.min()) * 2 - 1
        i = (i - i.min()) / (i.max() - i.min()) * 2 - 1
        with torch.no_grad():
            return ((net(torch.cat((o, i), 1)) + 1) / 2).squeeze().numpy()

    def double(im, s1, s2):
        e1 = cv2.resize(single(im, s1), (pix2pix, pix2pix), interpolation=cv2.INTER_CUBIC)
        e2 = cv2.resize(single(im, s2), (pix2pix, pix2pix), interpolation=cv2.INTER_CUBIC)
        p = netrun(e1, e2)
        return (p - p.min()) / (p.max() - p.min())

    whole = double(rgb, rf, R)
    factor = max(min(1, 4 * s.patch_scale * R / 3000), 0.2)
    if H > W:
        a, b = 2 * R, round(2 * R * W / H)
    else:
        a, b = round(2 * R * H / W), 2 * R
    b, a = int(round(b / factor)), int(round(a / factor))
    if max(a, b) > max_res:
        a, b = (max_res, round(max_res * W / H)) if H > W else (round(max_res * H / W), max_res)
    target = cv2.resize(rgb, (int(b), int(a)), interpolation=cv2.INTER_CUBIC)
    patches = select_patches(target, rf, factor)
    scale = H / target.shape[0]
    size = (round(target.shape[1] * scale), round(target.shape[0] * scale))
    small_rgb = cv2.resize(target, size, interpolation=cv2.INTER_CUBIC)
    base_est = cv2.resize(whole, size, interpolation=cv2.INTER_CUBIC)
    updated = base_est.copy()
    for p in patches:
        x, y, w, h = np.round(np.array(p.rect) * scale).astype(int)
        crop_b = base_est[y:y + h, x:x + w]
        est = double(small_rgb[y:y + h, x:x + w], rf, 2 * rf)
        b1024 = cv2.resize(crop_b, (pix2pix, pix2pix), interpolation=cv2.INTER_CUBIC)
        mapped = netrun(b1024, est)
        coef = np.polyfit(mapped.reshape(-1), b1024.reshape(-1), deg=1)
        merged = cv2.resize(np.polyval(coef, mapped.reshape(-1)).reshape(mapped.shape),
                            (crop_b.shape[1], crop_b.shape[0]), interpolation=cv2.INTER_CUBIC)
        m = cv2.resize(mask_org, (crop_b.shape[1], crop_b.shape[0]), interpolation=cv2.INTER_LINEAR)
        updated[y:y + h, x:x + w] = updated[y:y + h, x:x + w] * (1 - m) + merged * m
    return cv2.resize(updated, (W, H), interpolation=cv2.INTER_CUBIC), len(patches)


@pytest.mark.slow
def test_final_equals_a_straight_per_patch_implementation(mask3000):
    rng = np.random.default_rng(7)
    img = np.full((96, 128, 3), 120, np.uint8)
    img[10:50, 60:110] = rng.integers(0, 255, (40, 50, 3))
    img[60:90, 10:40] = rng.integers(0, 255, (30, 30, 3))
    torch.manual_seed(3)
    net = UnetGenerator(ngf=2, num_downs=6).eval()
    base = _SmallRFMidas(_small_midas())
    want, n = _straight_final(img, base, net, 64, 480, mask3000)
    got = boost(img, base, net, BoostConfig(mode='Final', pix2pixsize=64, max_res=480, batch_size=3))
    assert n == len(got.patches) > 1
    assert np.abs(got.depth - want).max() <= 1e-4 * np.abs(want).max()
