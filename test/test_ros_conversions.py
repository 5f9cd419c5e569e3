"""depth_perception.ros.conversions: message <-> numpy, strict validation (no DDS needed)."""
import numpy as np
import pytest

pytest.importorskip('rclpy')
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from depth_perception.odometry import OdometryIntegrator  # noqa: E402
from depth_perception.geometry import make_T, matrix_from_quaternion_xyzw  # noqa: E402
from depth_perception.pointcloud import depth_to_cloud, pack_cloud, unpack_rgb_from_float  # noqa: E402
from depth_perception.ros import conversions as C  # noqa: E402

RGB = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
K = np.array([[50.0, 0, 2.0], [0, 40.0, 1.5], [0, 0, 1]])


def image(pixels, enc, pad=0, **overrides):
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1)
    if pad:
        rows = np.concatenate([rows, np.zeros((h, pad), rows.dtype)], 1)
    msg = Image(height=h, width=w, encoding=enc, step=rows.shape[1], is_bigendian=0)
    msg.data = rows.tobytes()
    for k, v in overrides.items():
        setattr(msg, k, v)
    return msg


@pytest.mark.parametrize('encoding,pixels', [
    ('rgb8', RGB), ('bgr8', RGB[..., ::-1]),
    ('rgba8', np.dstack([RGB, np.full((4, 5), 7, np.uint8)])),
    ('bgra8', np.dstack([RGB[..., ::-1], np.full((4, 5), 7, np.uint8)])),
])
@pytest.mark.parametrize('pad', [0, 3])
def test_colour_encodings_decode_to_rgb(encoding, pixels, pad):
    out = C.image_to_rgb(image(np.ascontiguousarray(pixels), encoding, pad))
    np.testing.assert_array_equal(out, RGB)
    assert out.flags.c_contiguous


def test_mono8_becomes_grey_rgb():
    mono = RGB[..., 0]
    out = C.image_to_rgb(image(np.ascontiguousarray(mono), 'mono8'))
    assert out.shape == (4, 5, 3) and (out == mono[..., None]).all()


@pytest.mark.parametrize('overrides,reason', [
    ({'encoding': 'yuv422'}, 'unsupported'),
    ({'step': 10}, 'step'),
    ({'height': 5}, 'data size'),
    ({'width': 0}, 'zero size'),
    ({'data': b''}, 'data size'),
])
def test_bad_images_are_rejected_with_a_reason(overrides, reason):
    with pytest.raises(C.ConversionError, match=reason):
        C.image_to_rgb(image(RGB, 'rgb8', **overrides))


def test_depth_round_trip_and_16uc1_big_endian():
    d = np.array([[1.5, np.nan], [0.25, 3.0]], np.float32)
    msg = C.depth_m_to_image(d, Header(frame_id='cam'))
    assert (msg.encoding, msg.step, msg.header.frame_id) == ('32FC1', 8, 'cam')
    np.testing.assert_array_equal(C.depth_image_to_m(msg), d)
    mm = np.array([[1500, 0], [250, 3000]], '>u2')
    msg16 = image(mm.view(np.uint8).reshape(2, 4), '16UC1', is_bigendian=1, width=2)
    np.testing.assert_allclose(C.depth_image_to_m(msg16), d, rtol=1e-6)
    with pytest.raises(C.ConversionError):
        C.depth_image_to_m(image(RGB, 'rgb8'))


def test_rgb_to_image_both_orders():
    for enc in ('rgb8', 'bgr8'):
        msg = C.rgb_to_image(RGB, Header(), enc)
        assert msg.step == 15
        np.testing.assert_array_equal(C.image_to_rgb(msg), RGB)


def camera_info(k, width=5, height=4):
    return CameraInfo(width=width, height=height, k=list(map(float, k)))


def test_camera_info_validation_and_outgoing_info():
    np.testing.assert_array_equal(C.camera_info_to_K(camera_info(K.ravel())), K)
    bad = K.ravel().copy()
    bad[0] = np.nan
    for info in (camera_info(bad), camera_info(K.ravel(), width=0),
                 camera_info(np.zeros(9)), camera_info([1, 0, 0, 0, 1, 0, 0, 0, 2])):
        with pytest.raises(C.ConversionError):
            C.camera_info_to_K(info)
    out = C.make_camera_info(Header(frame_id='cam'), 5, 4, K)
    P = np.asarray(out.p).reshape(3, 4)
    np.testing.assert_array_equal(P[:, :3], K)
    np.testing.assert_array_equal(P[:, 3], 0)
    np.testing.assert_array_equal(np.asarray(out.k).reshape(3, 3), K)
    assert (out.width, out.height, list(out.d)) == (5, 4, [0.0] * 5)


def test_cloud_message_layout():
    d = np.full((4, 5), 2.0, np.float32)
    d[0, 0] = np.nan
    msg = C.cloud_to_msg(pack_cloud(*depth_to_cloud(d, K, RGB)), Header(frame_id='cam'))
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (4, 5, 16, 80)
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ('x', 0, 7, 1), ('y', 4, 7, 1), ('z', 8, 7, 1), ('rgb', 12, 7, 1)]
    xyz = C.cloud_msg_to_xyz(msg)
    assert xyz.shape == (20, 3) and np.isnan(xyz[0]).all() and np.isfinite(xyz[1:]).all()
    rgb = unpack_rgb_from_float(np.frombuffer(msg.data, np.float32).reshape(20, 4)[:, 3])
    np.testing.assert_array_equal(rgb, RGB.reshape(-1, 3))


def test_odometry_and_tf_messages():
    odo = OdometryIntegrator()
    odo.update(None, 0)
    state = odo.update(make_T(np.eye(3), [0, 0, 1.0]), 1_000_000_000)
    stamp = C.Header().stamp
    stamp.sec = 7
    msg = C.odometry_msg(state, stamp, 'odom', 'camera_link')
    assert (msg.header.frame_id, msg.child_frame_id, msg.header.stamp.sec) == ('odom', 'camera_link', 7)
    assert msg.pose.pose.position.x == pytest.approx(1.0) and msg.twist.twist.linear.x == pytest.approx(1.0)
    assert len(msg.pose.covariance) == 36 and msg.pose.covariance[0] > 0
    T = make_T(matrix_from_quaternion_xyzw([0.1, 0.2, 0.3, 0.9]), [1, 2, 3])
    tf = C.transform_stamped(T, stamp, 'a', 'b')
    r = tf.transform.rotation
    np.testing.assert_allclose(matrix_from_quaternion_xyzw([r.x, r.y, r.z, r.w]), T[:3, :3], atol=1e-12)
    assert (tf.header.frame_id, tf.child_frame_id, tf.transform.translation.z) == ('a', 'b', 3.0)
    assert len(C.tf_message([tf]).transforms) == 1


def info_msg(w, h, k):
    return CameraInfo(width=w, height=h, k=[float(v) for v in np.ravel(k)])


@pytest.mark.parametrize('k,field', [
    ([1e-300, 0, 320, 0, 500, 240, 0, 0, 1], 'fx'),
    ([500, 0, 1e300, 0, 500, 240, 0, 0, 1], 'cx'),
    ([500, 0, 320, 0, 1e7, 240, 0, 0, 1], 'fy'),
    ([500, 0, 320, 0, 500, -481, 0, 0, 1], 'cy'),
    ([500, 1e4, 320, 0, 500, 240, 0, 0, 1], 'skew'),
    ([500, 0, 320, 3, 500, 240, 0, 0, 1], 'pinhole'),
])
def test_intrinsics_are_checked_against_the_image_size(k, field):
    with pytest.raises(C.ConversionError, match=field):
        C.camera_info_to_K(info_msg(640, 480, k))


def test_plausible_intrinsics_pass_including_wide_narrow_and_off_centre():
    for k in ([0.7, 0, 320, 0, 0.7, 240, 0, 0, 1],          # 179.9 deg wide: fx > W/1000
              [6e5, 0, 320, 0, 4.5e5, 240, 0, 0, 1],         # telephoto, fx < 1000 W
              [500, 0, -600, 0, 500, 900, 0, 0, 1]):         # crop: principal point off the image
        np.testing.assert_array_equal(C.camera_info_to_K(info_msg(640, 480, k)), np.reshape(k, (3, 3)))


@pytest.mark.parametrize('w,h,ok', [(16384, 1, True), (16385, 1, False), (8192, 8192, True),
                                    (8192, 8193, False), (2147483648, 65536, False)])
def test_size_limits_apply_to_images_and_camera_info(w, h, ok):
    info = info_msg(w, h, [0.5 * w, 0, w / 2, 0, 0.5 * w, h / 2, 0, 0, 1])
    img = Image(width=w, height=h, encoding='rgb8', step=3 * w)     # no pixel data: checked first
    if ok:
        C.camera_info_to_K(info)
        with pytest.raises(C.ConversionError, match='data size'):
            C.image_to_rgb(img)
    else:
        for call, msg in ((C.camera_info_to_K, info), (C.image_to_rgb, img)):
            with pytest.raises(C.ConversionError, match='exceeds 16384 px per side or 64 Mpx'):
                call(msg)
