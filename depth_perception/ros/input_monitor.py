"""Input bookkeeping without ROS: frames lost before the node, throttled warnings, health window.

Frames lost before the node (in DDS, the network or the driver) leave gaps in the image
stamps. The camera period is learnt as the smallest positive stamp step seen recently (the
true period shows whenever two consecutive frames arrive); a step of n periods means n - 1
frames never arrived. Steps longer than PAUSE_S are pauses of the stream, not losses, and a
step back in time restarts the bookkeeping. These counts are separate from frames the node
itself replaced in its one-frame slot (`dropped`).
"""
from __future__ import annotations

import time
from collections import deque

PAUSE_S = 5.0


class StampGapCounter:
    def __init__(self, window: int = 100):
        self._steps_ns: deque[int] = deque(maxlen=window)
        self._last_ns: int | None = None
        self.lost = 0           # frames estimated never to have arrived
        self.pauses = 0
        self.backwards = 0

    @property
    def period_ns(self) -> int | None:
        return min(self._steps_ns) if self._steps_ns else None

    def add(self, stamp_ns: int) -> int:
        """Record an arriving stamp; returns the frames estimated lost just before it."""
        last, self._last_ns = self._last_ns, stamp_ns
        if last is None or stamp_ns == last:
            return 0
        step = stamp_ns - last
        if step < 0:
            self.backwards += 1
            return 0
        if step > PAUSE_S * 1e9:
            self.pauses += 1
            return 0
        period = self.period_ns
        self._steps_ns.append(step)
        if period is None or step < period:
            return 0
        lost = max(0, round(step / period) - 1)
        self.lost += lost
        return lost


class Throttle:
    """Per-key log throttling that counts what it suppressed (rclpy throttles per call site)."""

    def __init__(self, period_s: float):
        self.period_s = period_s
        self._state: dict[str, tuple[float, int]] = {}

    def admit(self, key: str) -> tuple[bool, int]:
        """(log now?, messages suppressed since the last logged one)."""
        now = time.monotonic()
        last_s, suppressed = self._state.get(key, (-float('inf'), 0))
        if now - last_s < self.period_s:
            self._state[key] = (last_s, suppressed + 1)
            return False, suppressed + 1
        self._state[key] = (now, 0)
        return True, suppressed


class HealthWindow:
    """Counters as deltas since the previous report: health reflects the last period only."""

    WATCHED = ('failed', 'rejected', 'lost_before_node')

    def __init__(self):
        self._previous: dict[str, float] = {}

    def problems(self, totals: dict) -> dict[str, int]:
        deltas = {k: int(totals.get(k, 0) - self._previous.get(k, 0)) for k in self.WATCHED}
        self._previous = {k: totals.get(k, 0) for k in self.WATCHED}
        return {k: v for k, v in deltas.items() if v > 0}
