"""Build rosbags message objects from numpy arrays (and decode them back).

One typestore for the whole package: `Stores.ROS2_HUMBLE`. Its RIHS01 type hashes for the
types used here are identical in Humble, Jazzy, Kilted and rosbags' LATEST, e.g.
  sensor_msgs/msg/Image          RIHS01_d31d41a9a4c4bc8eae9be757b0beed306564f7526c88ea6a4588fb9582527d47
  sensor_msgs/msg/CameraInfo     RIHS01_b3dfd68ff46c9d56c80fd3bd4ed22c7a4ddce8c8348f2f59c299e73118e7e275
  geometry_msgs/msg/PoseStamped  RIHS01_10f3786d7d40fd2b54367835614bff85d4ad3b5dab62bf8bca0cc232d73b4cd8
  tf2_msgs/msg/TFMessage         RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087
so bags written with it are readable by any of those distributions.

Conventions: stamps are integer nanoseconds; `T_parent_child` 4x4 maps child-frame points into
the parent frame (a PoseStamped in frame `world` of camera `cam` carries T_world_cam).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from rosbags.typesys import Stores, get_typestore

from ..geometry import matrix_from_quaternion_xyzw, quaternion_xyzw_from_matrix

TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)
_T = TYPESTORE.types

# numpy layout -> sensor_msgs encoding; (dtype, channels) per encoding for decoding.
_ENCODINGS = {
    'rgb8': (np.uint8, 3), 'bgr8': (np.uint8, 3), 'mono8': (np.uint8, 1),
    'rgba8': (np.uint8, 4), 'bgra8': (np.uint8, 4),
    '8UC1': (np.uint8, 1), '8UC3': (np.uint8, 3),
    'mono16': (np.uint16, 1), '16UC1': (np.uint16, 1),
    '32FC1': (np.float32, 1),
}


def time_msg(t_ns: int) -> Any:
    """builtin_interfaces/Time from integer nanoseconds."""
    t_ns = int(t_ns)
    return _T['builtin_interfaces/msg/Time'](sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000)


def stamp_to_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def header_msg(t_ns: int, frame_id: str) -> Any:
    return _T['std_msgs/msg/Header'](stamp=time_msg(t_ns), frame_id=frame_id)


def _default_encoding(array: np.ndarray) -> str:
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3:
        return 'rgb8'
    if array.dtype == np.uint8 and array.ndim == 2:
        return 'mono8'
    if array.dtype == np.uint16 and array.ndim == 2:
        return '16UC1'
    if array.dtype == np.float32 and array.ndim == 2:
        return '32FC1'
    raise ValueError(f'no default image encoding for dtype {array.dtype} shape {array.shape}; '
                     f'pass encoding= explicitly')


def image_msg(array: np.ndarray, t_ns: int, frame_id: str, encoding: str | None = None) -> Any:
    """sensor_msgs/Image from an [H,W] or [H,W,C] array (little-endian, tightly packed).

    Default encodings: uint8 HxWx3 -> rgb8 (the array must already be RGB), uint8 HxW -> mono8,
    uint16 HxW -> 16UC1 (e.g. depth in mm), float32 HxW -> 32FC1 (e.g. depth in metres, NaN
    for invalid). A boolean mask is not accepted: convert it to uint8 (0/255) first.
    """
    array = np.asarray(array)
    encoding = encoding or _default_encoding(array)
    if encoding not in _ENCODINGS:
        raise ValueError(f'unsupported image encoding {encoding!r}; known: {sorted(_ENCODINGS)}')
    dtype, channels = _ENCODINGS[encoding]
    if array.dtype != dtype or (array.shape[2] if array.ndim == 3 else 1) != channels:
        raise ValueError(f'encoding {encoding} needs {channels} channel(s) of {np.dtype(dtype)}, '
                         f'got dtype {array.dtype} shape {array.shape}')
    array = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder('<'))
    height, width = array.shape[:2]
    return _T['sensor_msgs/msg/Image'](
        header=header_msg(t_ns, frame_id), height=height, width=width, encoding=encoding,
        is_bigendian=0, step=width * channels * array.itemsize,
        data=array.view(np.uint8).reshape(-1))


def decode_image(msg: Any) -> np.ndarray:
    """sensor_msgs/Image -> numpy [H,W] or [H,W,C] (copy; respects step and endianness)."""
    if msg.encoding not in _ENCODINGS:
        raise ValueError(f'unsupported image encoding {msg.encoding!r}')
    dtype, channels = _ENCODINGS[msg.encoding]
    dt = np.dtype(dtype).newbyteorder('>' if msg.is_bigendian else '<')
    row_bytes = msg.width * channels * dt.itemsize
    raw = np.frombuffer(np.asarray(msg.data, dtype=np.uint8).tobytes(), dtype=np.uint8)
    rows = raw.reshape(msg.height, msg.step)[:, :row_bytes]
    out = np.ascontiguousarray(rows).view(dt).astype(dtype)
    shape = (msg.height, msg.width) if channels == 1 else (msg.height, msg.width, channels)
    return out.reshape(shape)


def camera_info_msg(K: np.ndarray, width: int, height: int, t_ns: int, frame_id: str,
                    D: Sequence[float] | None = None, distortion_model: str = 'plumb_bob') -> Any:
    """sensor_msgs/CameraInfo of a pinhole camera: K and P = [K | 0] filled, R = I, D zeros.

    `K` uses the pixel-centre convention (pixel (u, v) is the centre of column u, row v), which
    is also what ROS image_geometry assumes.
    """
    K = np.asarray(K, dtype=np.float64).reshape(3, 3)
    P = np.zeros((3, 4))
    P[:, :3] = K
    d = np.zeros(5) if D is None else np.asarray(D, dtype=np.float64)
    return _T['sensor_msgs/msg/CameraInfo'](
        header=header_msg(t_ns, frame_id), height=int(height), width=int(width),
        distortion_model=distortion_model, d=d, k=K.reshape(-1), r=np.eye(3).reshape(-1),
        p=P.reshape(-1), binning_x=0, binning_y=0,
        roi=_T['sensor_msgs/msg/RegionOfInterest'](x_offset=0, y_offset=0, height=0, width=0,
                                                   do_rectify=False))


def _pose(T: np.ndarray) -> Any:
    T = np.asarray(T, dtype=np.float64)
    q = quaternion_xyzw_from_matrix(T[:3, :3])
    return _T['geometry_msgs/msg/Pose'](
        position=_T['geometry_msgs/msg/Point'](x=T[0, 3], y=T[1, 3], z=T[2, 3]),
        orientation=_T['geometry_msgs/msg/Quaternion'](x=q[0], y=q[1], z=q[2], w=q[3]))


def pose_stamped_msg(T_frame_body: np.ndarray, t_ns: int, frame_id: str) -> Any:
    """geometry_msgs/PoseStamped: the pose of a body in `frame_id`, i.e. T_frame_body."""
    return _T['geometry_msgs/msg/PoseStamped'](header=header_msg(t_ns, frame_id),
                                               pose=_pose(T_frame_body))


def transform_stamped_msg(T_parent_child: np.ndarray, t_ns: int, parent_frame: str,
                          child_frame: str) -> Any:
    """geometry_msgs/TransformStamped parent -> child (as published on /tf)."""
    T = np.asarray(T_parent_child, dtype=np.float64)
    q = quaternion_xyzw_from_matrix(T[:3, :3])
    transform = _T['geometry_msgs/msg/Transform'](
        translation=_T['geometry_msgs/msg/Vector3'](x=T[0, 3], y=T[1, 3], z=T[2, 3]),
        rotation=_T['geometry_msgs/msg/Quaternion'](x=q[0], y=q[1], z=q[2], w=q[3]))
    return _T['geometry_msgs/msg/TransformStamped'](
        header=header_msg(t_ns, parent_frame), child_frame_id=child_frame, transform=transform)


def tf_message(transforms: Sequence[Any]) -> Any:
    """tf2_msgs/TFMessage from TransformStamped objects."""
    return _T['tf2_msgs/msg/TFMessage'](transforms=list(transforms))


def _T_from(position: Any, q: Any) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = matrix_from_quaternion_xyzw([q.x, q.y, q.z, q.w])
    T[:3, 3] = [position.x, position.y, position.z]
    return T


def T_from_pose_msg(msg: Any) -> np.ndarray:
    """4x4 from a Pose or PoseStamped."""
    pose = getattr(msg, 'pose', msg)
    return _T_from(pose.position, pose.orientation)


def T_from_transform_msg(msg: Any) -> np.ndarray:
    """4x4 T_parent_child from a Transform or TransformStamped."""
    tf = getattr(msg, 'transform', msg)
    return _T_from(tf.translation, tf.rotation)


def camera_info_to_K(msg: Any) -> np.ndarray:
    return np.asarray(msg.k, dtype=np.float64).reshape(3, 3)


def serialize(msg: Any) -> bytes:
    """CDR bytes of a message object (its type comes from the object itself)."""
    return bytes(TYPESTORE.serialize_cdr(msg, msg.__msgtype__))
