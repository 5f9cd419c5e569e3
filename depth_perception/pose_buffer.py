"""Stamped poses and a transform tree, looked up at an image's stamp (ROS-free; thread-safe).

Why not tf2: tf2_ros is not installable everywhere this package runs (pip-only installs), and
DepthNet needs little of it: a pose per image, from one odometry stream or one chain of
frames. Lookup at stamp t: interpolate between the poses just before and after t (position
linear, rotation slerp); with only earlier poses, the latest one if it is at most `max_age_ns`
old; else unknown (None) with the reason.
"""
from __future__ import annotations

import bisect
import threading

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

MAX_POSES = 2000   # per stream: > 60 s of 30 Hz odometry


def interpolate_T(T0: np.ndarray, T1: np.ndarray, a: float) -> np.ndarray:
    """Pose a of the way from T0 to T1 (0 <= a <= 1)."""
    rots = Rotation.from_matrix(np.stack([T0[:3, :3], T1[:3, :3]]))
    T = np.eye(4)
    T[:3, :3] = Slerp([0.0, 1.0], rots)([a]).as_matrix()[0]
    T[:3, 3] = (1 - a) * T0[:3, 3] + a * T1[:3, 3]
    return T


class PoseBuffer:
    """Poses of one moving frame, by stamp (ns)."""

    def __init__(self, max_poses: int = MAX_POSES):
        self._stamps: list[int] = []
        self._poses: list[np.ndarray] = []
        self._max = max_poses
        self._lock = threading.Lock()

    def add(self, stamp_ns: int, T: np.ndarray) -> None:
        with self._lock:
            i = bisect.bisect_right(self._stamps, stamp_ns)
            if i > 0 and self._stamps[i - 1] == stamp_ns:
                self._poses[i - 1] = T          # a repeated stamp replaces its pose
                return
            self._stamps.insert(i, stamp_ns)
            self._poses.insert(i, T)
            if len(self._stamps) > self._max:
                del self._stamps[0], self._poses[0]

    def clear(self) -> None:
        with self._lock:
            self._stamps.clear()
            self._poses.clear()

    def newest_ns(self) -> int | None:
        with self._lock:
            return self._stamps[-1] if self._stamps else None

    def lookup(self, stamp_ns: int, max_age_ns: int) -> tuple[np.ndarray | None, str]:
        """(pose at stamp_ns or None, '' or why not)."""
        with self._lock:
            if not self._stamps:
                return None, 'no pose received yet'
            i = bisect.bisect_left(self._stamps, stamp_ns)
            if i < len(self._stamps) and self._stamps[i] == stamp_ns:
                return self._poses[i].copy(), ''
            if i == 0:
                return None, f'every pose is later than the image (first at {self._stamps[0]} ns)'
            if i < len(self._stamps):
                t0, t1 = self._stamps[i - 1], self._stamps[i]
                return interpolate_T(self._poses[i - 1], self._poses[i], (stamp_ns - t0) / (t1 - t0)), ''
            age = stamp_ns - self._stamps[-1]
            if age <= max_age_ns:
                return self._poses[-1].copy(), ''
            return None, f'newest pose is {age * 1e-9:.3f} s older than the image'


class TransformTree:
    """Static and moving parent -> child transforms (T_parent_child); chains to an ancestor."""

    def __init__(self):
        self._parent: dict[str, str] = {}
        self._static: dict[str, np.ndarray] = {}
        self._moving: dict[str, PoseBuffer] = {}
        self._lock = threading.Lock()

    def set_transform(self, parent: str, child: str, stamp_ns: int, T_parent_child: np.ndarray,
                      static: bool) -> None:
        with self._lock:
            self._parent[child] = parent      # tf: a frame has one parent; the latest wins
            if static:
                self._static[child] = T_parent_child
                self._moving.pop(child, None)
                return
            self._static.pop(child, None)
            buffer = self._moving.setdefault(child, PoseBuffer())
        buffer.add(stamp_ns, T_parent_child)

    def knows(self, frame: str) -> bool:
        with self._lock:
            return frame in self._parent

    def clear_moving(self) -> None:
        with self._lock:
            for buffer in self._moving.values():
                buffer.clear()

    def _chain(self, target: str, source: str) -> tuple[list[str] | None, str]:
        """Frames from source up to (not including) target, or None with the reason."""
        chain, frame = [], source
        with self._lock:
            while frame != target:
                if frame in chain:
                    return None, f'tf has a cycle at {frame!r}'
                if frame not in self._parent:
                    return None, f'no transform from {target!r} to {source!r} (the chain ends at {frame!r})'
                chain.append(frame)
                frame = self._parent[frame]
        return chain, ''

    def newest_complete_ns(self, target: str, source: str) -> int | None:
        """Latest stamp at which every moving link of the chain has a pose (None: none/unknown)."""
        chain, _ = self._chain(target, source)
        if chain is None:
            return None
        newest = [self._moving[f].newest_ns() for f in chain if f in self._moving]
        if any(n is None for n in newest):
            return None
        return min(newest) if newest else 2 ** 63 - 1    # all static: any stamp is covered

    def lookup(self, target: str, source: str, stamp_ns: int, max_age_ns: int) -> tuple[np.ndarray | None, str]:
        """(T_target_source at stamp_ns or None, '' or why not)."""
        chain, why = self._chain(target, source)
        if chain is None:
            return None, why
        T = np.eye(4)
        for frame in chain:      # source upwards: T_target_source = ... T_grand_parent @ T_parent_source
            with self._lock:
                static, moving, parent = self._static.get(frame), self._moving.get(frame), self._parent[frame]
            if static is not None:
                link = static
            else:
                link, why = moving.lookup(stamp_ns, max_age_ns)
                if link is None:
                    return None, f'{parent} -> {frame}: {why}'
            T = link @ T
        return T, ''
