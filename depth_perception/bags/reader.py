"""Read any rosbag2 (MCAP or sqlite3) with clear errors, and turn messages into numpy.

    with BagReader('my_bag') as bag:
        print(bag.summary())
        for topic, t_ns, msg in bag.messages(['/camera/image_raw']):
            rgb = image_to_rgb(msg)

Message definitions embedded in the bag (MCAP schemas, sqlite3 `message_definitions`) are
used when present; otherwise types come from the typestore of the named distribution
(humble, jazzy, kilted). Every converter validates what it reads (sizes, steps, encodings,
finiteness) and raises `BagError` naming the topic/field that is wrong, so bad data never
turns into silent zeros downstream.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

from ..geometry import matrix_from_quaternion_xyzw
from .messages import stamp_to_ns

log = logging.getLogger(__name__)

TYPESTORES = {'humble': Stores.ROS2_HUMBLE, 'jazzy': Stores.ROS2_JAZZY,
              'kilted': Stores.ROS2_KILTED, 'latest': Stores.LATEST}

IMAGE = 'sensor_msgs/msg/Image'
CAMERA_INFO = 'sensor_msgs/msg/CameraInfo'
POSE_STAMPED = 'geometry_msgs/msg/PoseStamped'
POSE_COV_STAMPED = 'geometry_msgs/msg/PoseWithCovarianceStamped'
ODOMETRY = 'nav_msgs/msg/Odometry'
TF_MESSAGE = 'tf2_msgs/msg/TFMessage'

# encoding -> (dtype, channels), little-endian unless the message says otherwise.
IMAGE_ENCODINGS = {
    'rgb8': (np.uint8, 3), 'bgr8': (np.uint8, 3), 'rgba8': (np.uint8, 4),
    'bgra8': (np.uint8, 4), 'mono8': (np.uint8, 1), '8UC1': (np.uint8, 1),
    '8UC3': (np.uint8, 3), 'mono16': (np.uint16, 1), '16UC1': (np.uint16, 1),
    '32FC1': (np.float32, 1),
}
MM_PER_M = 1000.0
UINT16_INVALID = 65535  # Kinect/RealSense "no measurement" in 16UC1 depth


class BagError(ValueError):
    """The bag cannot be read or does not hold what was asked for (message says what)."""


@dataclass(frozen=True)
class TopicInfo:
    name: str
    msgtype: str
    count: int


class BagReader:
    """A rosbag2 folder (or a bare .mcap/.db3 file) opened for reading."""

    def __init__(self, path: str | Path, typestore: str = 'kilted'):
        self.path = Path(path)
        if typestore not in TYPESTORES:
            raise BagError(f'unknown typestore {typestore!r}; choose one of {sorted(TYPESTORES)}')
        self.typestore_name = typestore
        self._typestore = get_typestore(TYPESTORES[typestore])
        self._reader: AnyReader | None = None
        self.topics: dict[str, TopicInfo] = {}

    # ------------------------------------------------------------------------ lifecycle
    def open(self) -> 'BagReader':
        if not self.path.exists():
            raise BagError(f'bag {self.path} does not exist')
        if self.path.is_dir() and not any(self.path.iterdir()):
            raise BagError(f'bag folder {self.path} is empty')
        if self.path.suffix == '.bag':
            log.info('%s looks like a ROS 1 bag; rosbags reads it but ROS 1 types are not '
                     'supported by the evaluation (convert with rosbags-convert)', self.path)
        try:
            self._reader = AnyReader([self.path], default_typestore=self._typestore)
            self._reader.open()
        except Exception as exc:  # rosbags raises several types; one clear message here
            self._reader = None
            raise BagError(f'cannot open bag {self.path}: {type(exc).__name__}: {exc} '
                           f'(is it a rosbag2 folder with metadata.yaml, a .mcap or a .db3 '
                           f'file, and complete?)') from exc
        self._recounted: dict[int, int] = {}
        self._trust_storage()
        counts: dict[str, int] = {}
        types: dict[str, str] = {}
        for conn in self._reader.connections:
            n = self._recounted.get(conn.id, int(conn.msgcount or 0))
            counts[conn.topic] = counts.get(conn.topic, 0) + n
            types[conn.topic] = conn.msgtype
        self.topics = {t: TopicInfo(t, types[t], counts[t]) for t in sorted(types)}
        if not self.topics or sum(counts.values()) == 0:
            self.close()
            raise BagError(f'bag {self.path} holds no messages (topics: '
                           f'{self.describe_topics() or "none"})')
        return self

    def _trust_storage(self) -> None:
        """metadata.yaml is a summary that other tools write (and get wrong: counts 0, a wrong
        type). The storage is the truth: MCAP files carry their own topics, schemas and counts,
        so a folder whose metadata disagrees with them is read from the files, with a warning;
        zero counts in any other storage are recounted from the messages."""
        meta = {(c.topic, c.msgtype, int(c.msgcount or 0)) for c in self._reader.connections}
        files = sorted(self.path.glob('*.mcap')) if self.path.is_dir() else []
        if files:
            try:
                direct = AnyReader(files, default_typestore=self._typestore)
                direct.open()
            except Exception as exc:  # noqa: BLE001 - keep the metadata reader then
                log.debug('reading %s without metadata.yaml failed: %s', self.path, exc)
                return
            truth = {(c.topic, c.msgtype, int(c.msgcount or 0)) for c in direct.connections}
            if truth != meta:
                log.warning('%s: metadata.yaml disagrees with the MCAP storage (metadata: %s; storage: %s); '
                            'trusting the storage', self.path, _topics_text(meta), _topics_text(truth))
                self._reader.close()
                self._reader = direct
            else:
                direct.close()
            return
        zero = [c for c in self._reader.connections if not c.msgcount]
        if zero:
            counts: dict[int, int] = {}
            for conn, _, _ in self._reader.messages(connections=zero):
                counts[conn.id] = counts.get(conn.id, 0) + 1
            found = {c.topic: counts.get(c.id, 0) for c in zero if counts.get(c.id)}
            if found:
                log.warning('%s: metadata.yaml says 0 messages on %s; the storage holds %s: trusting the storage',
                            self.path, ', '.join(sorted(c.topic for c in zero)),
                            ', '.join(f'{t} x{n}' for t, n in sorted(found.items())))
                self._recounted = {c.id: counts[c.id] for c in zero if counts.get(c.id)}

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> 'BagReader':
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --------------------------------------------------------------------------- queries
    @property
    def duration_ns(self) -> int:
        return int(self._reader.duration) if self._reader else 0

    @property
    def start_ns(self) -> int:
        return int(self._reader.start_time) if self._reader else 0

    def describe_topics(self) -> str:
        return ', '.join(f'{t.name} [{t.msgtype}] x{t.count}' for t in self.topics.values())

    def summary(self) -> str:
        return (f'{self.path}: {sum(t.count for t in self.topics.values())} messages, '
                f'{self.duration_ns / 1e9:.2f} s, topics: {self.describe_topics()}')

    def topics_of_type(self, *msgtypes: str) -> list[str]:
        return [t.name for t in self.topics.values() if t.msgtype in msgtypes]

    def require(self, topic: str, *msgtypes: str) -> TopicInfo:
        """The topic's info, or a BagError listing what the bag has instead."""
        info = self.topics.get(topic)
        if info is None:
            raise BagError(f'topic {topic} is not in {self.path}; the bag has: {self.describe_topics()}')
        if msgtypes and info.msgtype not in msgtypes:
            raise BagError(f'topic {topic} carries {info.msgtype}, expected {" or ".join(msgtypes)}')
        if info.count == 0:
            raise BagError(f'topic {topic} has no messages in {self.path}')
        return info

    # ------------------------------------------------------------------------- iteration
    def _connections(self, topics: Iterable[str]) -> list:
        wanted = set(topics)
        for t in wanted:
            self.require(t)
        return [c for c in self._reader.connections if c.topic in wanted]

    def raw_messages(self, topics: Iterable[str]) -> Iterator[tuple[Any, int, bytes]]:
        """(connection, bag time ns, CDR bytes) in bag-time order, without deserializing."""
        if self._reader is None:
            raise BagError('bag is not open')
        conns = self._connections(topics)
        try:
            yield from self._reader.messages(connections=conns)
        except Exception as exc:
            raise BagError(f'{self.path} is truncated or corrupt: {type(exc).__name__}: {exc}') from exc

    def deserialize(self, raw: bytes, msgtype: str, topic: str = '') -> Any:
        try:
            return self._reader.deserialize(raw, msgtype)
        except Exception as exc:
            raise BagError(f'cannot decode a {msgtype} message on {topic or "?"}: '
                           f'{type(exc).__name__}: {exc}') from exc

    def messages(self, topics: Iterable[str]) -> Iterator[tuple[str, int, Any]]:
        """(topic, bag time ns, message object) in bag-time order."""
        for conn, t_ns, raw in self.raw_messages(topics):
            yield conn.topic, t_ns, self.deserialize(raw, conn.msgtype, conn.topic)


def _topics_text(conns) -> str:
    return ', '.join(f'{t} [{ty}] x{n}' for t, ty, n in sorted(conns))


# ------------------------------------------------------------------------- conversions
def image_to_numpy(msg: Any, topic: str = '') -> np.ndarray:
    """sensor_msgs/Image -> [H,W] or [H,W,C] native-endian array (a copy), strictly checked."""
    where = f' on {topic}' if topic else ''
    enc = str(msg.encoding)
    if enc not in IMAGE_ENCODINGS:
        raise BagError(f'unsupported image encoding {enc!r}{where}; supported: {sorted(IMAGE_ENCODINGS)}')
    dtype, channels = IMAGE_ENCODINGS[enc]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = w * channels * np.dtype(dtype).itemsize
    if h <= 0 or w <= 0:
        raise BagError(f'image{where} has size {w}x{h}')
    if step < row_bytes:
        raise BagError(f'image{where}: step {step} is smaller than width*pixel size {row_bytes} ({enc})')
    data = np.asarray(msg.data, dtype=np.uint8).reshape(-1)
    if data.size != h * step:
        raise BagError(f'image{where}: data has {data.size} bytes, expected height*step = {h * step}')
    dt = np.dtype(dtype).newbyteorder('>' if msg.is_bigendian else '<')
    rows = data.reshape(h, step)[:, :row_bytes]
    out = np.ascontiguousarray(rows).view(dt).astype(dtype, copy=True)
    return out.reshape((h, w) if channels == 1 else (h, w, channels))


def image_to_rgb(msg: Any, topic: str = '') -> np.ndarray:
    """Any colour/mono 8-bit image -> [H,W,3] uint8 RGB."""
    arr = image_to_numpy(msg, topic)
    enc = msg.encoding
    if arr.dtype != np.uint8:
        raise BagError(f'image on {topic or "?"} is {enc}, not an 8-bit colour image')
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if enc in ('bgr8', 'bgra8'):
        arr = arr[:, :, 2::-1]
    return np.ascontiguousarray(arr[:, :, :3])


def image_to_depth_m(msg: Any, topic: str = '', mm_per_m: float = MM_PER_M) -> np.ndarray:
    """Depth image -> float32 metres, NaN where invalid.

    32FC1 is metres (NaN, inf and <= 0 invalid); 16UC1/mono16 is millimetres (0 and 65535
    invalid).
    """
    arr = image_to_numpy(msg, topic)
    if msg.encoding == '32FC1':
        depth = arr.astype(np.float32, copy=False)
        return np.where(np.isfinite(depth) & (depth > 0), depth, np.nan).astype(np.float32)
    if msg.encoding in ('16UC1', 'mono16'):
        valid = (arr != 0) & (arr != UINT16_INVALID)
        return np.where(valid, arr.astype(np.float32) / np.float32(mm_per_m), np.nan).astype(np.float32)
    raise BagError(f'depth image on {topic or "?"} has encoding {msg.encoding!r}; expected 32FC1 '
                   f'(metres) or 16UC1 (millimetres)')


def image_to_mask(msg: Any, topic: str = '') -> np.ndarray:
    """Single-channel mask image -> bool [H,W] (non-zero = set)."""
    arr = image_to_numpy(msg, topic)
    if arr.ndim != 2:
        raise BagError(f'mask on {topic or "?"} must be single-channel, got {msg.encoding}')
    return arr != 0


def camera_info_to_K(msg: Any, topic: str = '') -> tuple[np.ndarray, tuple[int, int]]:
    """(K 3x3, (height, width)) from sensor_msgs/CameraInfo, validated."""
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0 or K[2, 2] != 1.0:
        raise BagError(f'camera_info on {topic or "?"} has an invalid K {K.reshape(-1).tolist()} '
                       f'(an uncalibrated camera publishes zeros)')
    return K, (int(msg.height), int(msg.width))


def _T(position: Any, q: Any, what: str) -> np.ndarray:
    qv = np.array([q.x, q.y, q.z, q.w], dtype=np.float64)
    p = np.array([position.x, position.y, position.z], dtype=np.float64)
    n = np.linalg.norm(qv)
    if not (np.all(np.isfinite(qv)) and np.all(np.isfinite(p))) or abs(n - 1.0) > 1e-3:
        raise BagError(f'{what}: invalid pose (position {p.tolist()}, quaternion xyzw '
                       f'{qv.tolist()}, |q|={n:.6f})')
    T = np.eye(4)
    T[:3, :3] = matrix_from_quaternion_xyzw(qv)
    T[:3, 3] = p
    return T


@dataclass(frozen=True)
class StampedPose:
    """T_parent_child at `stamp_ns` (header stamp)."""

    stamp_ns: int
    parent: str
    child: str
    T: np.ndarray


def pose_from_message(msg: Any, msgtype: str, topic: str = '') -> list[StampedPose]:
    """Poses carried by a PoseStamped / PoseWithCovarianceStamped / Odometry / TFMessage."""
    what = f'{msgtype} on {topic or "?"}'
    if msgtype == POSE_STAMPED:
        return [StampedPose(stamp_to_ns(msg.header.stamp), msg.header.frame_id, '',
                            _T(msg.pose.position, msg.pose.orientation, what))]
    if msgtype in (POSE_COV_STAMPED, ODOMETRY):
        pose = msg.pose.pose
        child = getattr(msg, 'child_frame_id', '')
        return [StampedPose(stamp_to_ns(msg.header.stamp), msg.header.frame_id, child,
                            _T(pose.position, pose.orientation, what))]
    if msgtype == TF_MESSAGE:
        return [StampedPose(stamp_to_ns(tf.header.stamp), tf.header.frame_id.lstrip('/'),
                            tf.child_frame_id.lstrip('/'),
                            _T(tf.transform.translation, tf.transform.rotation, what))
                for tf in msg.transforms]
    raise BagError(f'{topic or "?"} carries {msgtype}, which holds no pose '
                   f'(use PoseStamped, PoseWithCovarianceStamped, Odometry or TFMessage)')


POSE_TYPES = (POSE_STAMPED, POSE_COV_STAMPED, ODOMETRY)
