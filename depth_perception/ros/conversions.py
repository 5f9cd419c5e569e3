"""sensor_msgs / nav_msgs / tf2_msgs <-> numpy, with strict validation of incoming messages.

Incoming data is never trusted: every check raises `ConversionError` with a reason the node
logs before dropping the message. Outgoing large fields are filled with `bytes`
(`ndarray.tobytes()`), the only fast path in rclpy (ndarray/memoryview are 100x slower).
"""
from __future__ import annotations

import sys

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import TransformStamped
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header

from ..geometry import quaternion_xyzw_from_matrix
from ..odometry import OdometryState
from ..pointcloud import PackedCloud

HOST_BIG_ENDIAN = sys.byteorder == 'big'

# encoding -> (channels, dtype); 8-bit colour encodings are endian-free.
COLOR_ENCODINGS = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1}
DEPTH_ENCODINGS = {'32FC1': np.float32, '16UC1': np.uint16}


# Bounds on what a camera can send: 16384 px per side, 64 Mpx. Larger claims are refused
# before anything is allocated (a camera_info claiming 2^31 x 2^16 would otherwise pass).
MAX_IMAGE_SIDE_PX = 16384
MAX_IMAGE_PIXELS = 64 * 1024 * 1024
# Focal lengths from 1/1000 to 1000 times the larger image side cover 179.9 deg fisheyes to 0.06 deg
# telephotos; the principal point may lie off the image (crops) but within one image size.
FOCAL_PER_SIZE_RANGE = (1e-3, 1e3)


class ConversionError(ValueError):
    """A message that cannot be converted; the reason is meant for a log line."""


def check_image_size(width: int, height: int, what: str) -> None:
    w, h = int(width), int(height)
    if w <= 0 or h <= 0:
        raise ConversionError(f'{what} has zero size {w}x{h}')
    if w > MAX_IMAGE_SIDE_PX or h > MAX_IMAGE_SIDE_PX or w * h > MAX_IMAGE_PIXELS:
        raise ConversionError(f'{what} size {w}x{h} exceeds {MAX_IMAGE_SIDE_PX} px per side '
                              f'or {MAX_IMAGE_PIXELS // (1024 * 1024)} Mpx')


def stamp_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def _checked_rows(msg: Image, bytes_per_pixel: int) -> np.ndarray:
    """uint8 [H, W*bpp] view of the pixel bytes after checking size, step and data length."""
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    check_image_size(w, h, f'{msg.encoding} image')
    if step < w * bytes_per_pixel:
        raise ConversionError(f'step {step} < width {w} x {bytes_per_pixel} bytes per pixel')
    if len(msg.data) != step * h:
        raise ConversionError(f'data size {len(msg.data)} != step {step} x height {h}')
    rows = np.frombuffer(msg.data, np.uint8).reshape(h, step)
    return rows[:, :w * bytes_per_pixel]


def image_to_rgb(msg: Image) -> np.ndarray:
    """Colour/mono image -> [H,W,3] uint8 RGB (a view where possible, else a copy)."""
    enc = msg.encoding
    if enc not in COLOR_ENCODINGS:
        raise ConversionError(f'unsupported image encoding {enc!r} '
                              f'(supported: {", ".join(COLOR_ENCODINGS)})')
    channels = COLOR_ENCODINGS[enc]
    px = _checked_rows(msg, channels).reshape(int(msg.height), int(msg.width), channels)
    # Contiguous output: OpenCV rejects negative strides. rgb8 with a packed step is a view.
    if enc == 'rgb8':
        return np.ascontiguousarray(px)
    if enc == 'bgr8':
        return np.ascontiguousarray(px[..., ::-1])
    if enc == 'rgba8':
        return np.ascontiguousarray(px[..., :3])
    if enc == 'bgra8':
        return np.ascontiguousarray(px[..., 2::-1])
    return np.repeat(px, 3, axis=2)  # mono8


def depth_image_to_m(msg: Image) -> np.ndarray:
    """32FC1 metres or 16UC1 millimetres (0 = invalid) -> [H,W] float32 metres, NaN invalid."""
    enc = msg.encoding
    if enc not in DEPTH_ENCODINGS:
        raise ConversionError(f'unsupported depth encoding {enc!r} (supported: 32FC1, 16UC1)')
    dtype = np.dtype(DEPTH_ENCODINGS[enc]).newbyteorder('>' if msg.is_bigendian else '<')
    rows = _checked_rows(msg, dtype.itemsize)
    values = np.ascontiguousarray(rows).view(dtype).astype(np.float32)
    if enc == '16UC1':
        values = np.where(values > 0, values * np.float32(1e-3), np.float32(np.nan))
    return values


def rgb_to_image(rgb: np.ndarray, header: Header, encoding: str = 'rgb8') -> Image:
    """[H,W,3] uint8 RGB -> Image (rgb8 or bgr8)."""
    if encoding not in ('rgb8', 'bgr8'):
        raise ValueError(f'cannot publish encoding {encoding!r}')
    px = rgb if encoding == 'rgb8' else rgb[..., ::-1]
    px = np.ascontiguousarray(px, dtype=np.uint8)
    msg = Image(header=header, height=px.shape[0], width=px.shape[1], encoding=encoding,
                is_bigendian=0, step=px.shape[1] * 3)
    msg.data = px.tobytes()
    return msg


def depth_m_to_image(depth_m: np.ndarray, header: Header) -> Image:
    """[H,W] float32 metres (NaN invalid) -> 32FC1 Image (REP 118), host byte order."""
    d = np.ascontiguousarray(depth_m, dtype=np.float32)
    msg = Image(header=header, height=d.shape[0], width=d.shape[1], encoding='32FC1',
                is_bigendian=int(HOST_BIG_ENDIAN), step=d.shape[1] * 4)
    msg.data = d.tobytes()
    return msg


def camera_info_to_K(msg: CameraInfo) -> np.ndarray:
    """Validated 3x3 K of a CameraInfo: finite, a pinhole matrix, plausible for its image size."""
    check_image_size(msg.width, msg.height, 'camera_info')
    K = np.asarray(msg.k, dtype=np.float64)
    if K.size != 9:
        raise ConversionError(f'camera_info K has {K.size} values')
    K = K.reshape(3, 3)
    if not np.all(np.isfinite(K)):
        raise ConversionError(f'camera_info K is not finite: {K.ravel().tolist()}')
    if K[0, 0] <= 0 or K[1, 1] <= 0 or K[1, 0] != 0 or not np.allclose(K[2], [0, 0, 1]):
        raise ConversionError(f'camera_info K is not a pinhole matrix: {K.ravel().tolist()}')
    w, h = int(msg.width), int(msg.height)
    lo, hi = FOCAL_PER_SIZE_RANGE
    for name, value, size in (('fx', K[0, 0], max(w, h)), ('fy', K[1, 1], max(w, h))):
        if not lo * size <= value <= hi * size:
            raise ConversionError(f'camera_info {name} = {value:g} px is implausible for a {w}x{h} image '
                                  f'(allowed {lo * size:g} .. {hi * size:g})')
    for name, value, size in (('cx', K[0, 2], w), ('cy', K[1, 2], h)):
        if not -size <= value <= 2 * size:
            raise ConversionError(f'camera_info {name} = {value:g} px lies far outside the {w}x{h} image')
    if abs(K[0, 1]) > K[0, 0]:
        raise ConversionError(f'camera_info skew {K[0, 1]:g} exceeds fx {K[0, 0]:g}')
    return K


def make_camera_info(header: Header, width: int, height: int, K: np.ndarray) -> CameraInfo:
    """Distortion-free CameraInfo for an image of width x height with intrinsics K.

    P = [K | 0] because image_geometry (and so depth_image_proc) reads fx/fy/cx/cy from P.
    """
    K = np.asarray(K, dtype=np.float64).reshape(3, 3)
    P = np.zeros((3, 4))
    P[:, :3] = K
    return CameraInfo(header=header, width=int(width), height=int(height),
                      distortion_model='plumb_bob', d=[0.0] * 5,
                      k=K.ravel().tolist(), r=np.eye(3).ravel().tolist(), p=P.ravel().tolist())


def cloud_to_msg(cloud: PackedCloud, header: Header) -> PointCloud2:
    msg = PointCloud2(header=header, height=cloud.height, width=cloud.width,
                      fields=[PointField(name=n, offset=o, datatype=t, count=c)
                              for n, o, t, c in cloud.fields],
                      is_bigendian=HOST_BIG_ENDIAN, point_step=cloud.point_step,
                      row_step=cloud.row_step, is_dense=cloud.is_dense)
    msg.data = cloud.data.tobytes()
    return msg


def cloud_msg_to_xyz(msg: PointCloud2) -> np.ndarray:
    """[N,3] float32 x, y, z of a float32 cloud (reads offsets from the fields)."""
    offsets = {f.name: f.offset for f in msg.fields}
    if not {'x', 'y', 'z'} <= set(offsets) or msg.point_step % 4:
        raise ConversionError('cloud lacks float32 x, y, z fields')
    n = int(msg.width) * int(msg.height)
    if len(msg.data) != n * int(msg.point_step):
        raise ConversionError(f'cloud data size {len(msg.data)} != {n} x {msg.point_step}')
    table = np.frombuffer(msg.data, np.float32).reshape(n, msg.point_step // 4)
    return table[:, [offsets['x'] // 4, offsets['y'] // 4, offsets['z'] // 4]]


def _fill_pose(pose, T: np.ndarray) -> None:
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in T[:3, 3])
    q = quaternion_xyzw_from_matrix(T[:3, :3])
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = (float(v) for v in q)


def odometry_msg(state: OdometryState, stamp: Time, odom_frame: str, base_frame: str) -> Odometry:
    msg = Odometry()
    msg.header.stamp = stamp
    msg.header.frame_id = odom_frame
    msg.child_frame_id = base_frame
    _fill_pose(msg.pose.pose, state.T_odom_base)
    msg.pose.covariance = [float(v) for v in state.pose_covariance.ravel()]
    lin, ang = msg.twist.twist.linear, msg.twist.twist.angular
    lin.x, lin.y, lin.z = (float(v) for v in state.linear_velocity_mps)
    ang.x, ang.y, ang.z = (float(v) for v in state.angular_velocity_radps)
    msg.twist.covariance = [float(v) for v in state.twist_covariance.ravel()]
    return msg


def transform_stamped(T_parent_child: np.ndarray, stamp: Time, parent: str, child: str) -> TransformStamped:
    """tf2 transform parent -> child: the pose of `child` expressed in `parent`."""
    msg = TransformStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = parent
    msg.child_frame_id = child
    t = msg.transform.translation
    t.x, t.y, t.z = (float(v) for v in T_parent_child[:3, 3])
    q = quaternion_xyzw_from_matrix(T_parent_child[:3, :3])
    r = msg.transform.rotation
    r.x, r.y, r.z, r.w = (float(v) for v in q)
    return msg


def tf_message(transforms):
    from tf2_msgs.msg import TFMessage
    return TFMessage(transforms=list(transforms))
