"""Latest-frame semantics between a fast producer (camera callback) and a slow consumer.

A single slot holds at most one pending item: putting a new item replaces (drops) the one
not yet taken, so memory is bounded by one frame and latency never grows with a queue.
`LatestFrameWorker` runs the consumer on its own thread, so a slow model never blocks the
ROS executor that delivers images.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

log = logging.getLogger(__name__)


class LatestFrameSlot:
    """Thread-safe single-slot buffer that counts the items it overwrote."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item: Any = None
        self._has_item = False
        self._closed = False
        self.received = 0
        self.dropped = 0

    def put(self, item: Any) -> bool:
        """Store `item`; returns True if it replaced an untaken (now dropped) item."""
        with self._cond:
            replaced = self._has_item
            self.received += 1
            if replaced:
                self.dropped += 1
            self._item, self._has_item = item, True
            self._cond.notify()
            return replaced

    def take(self, timeout_s: float | None = None) -> Any:
        """Wait for and remove the newest item; None on timeout or once closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._has_item or self._closed, timeout_s):
                return None
            if not self._has_item:
                return None
            item, self._item, self._has_item = self._item, None, False
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._item, self._has_item = None, False
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class LatestFrameWorker:
    """Runs `process(item)` on a daemon thread for the newest item only.

    Exceptions from `process` are counted and reported through `on_error` (default: log)
    so one bad frame never kills the worker.
    """

    def __init__(self, process: Callable[[Any], None], name: str = 'latest-frame-worker',
                 on_error: Callable[[BaseException], None] | None = None):
        self.slot = LatestFrameSlot()
        self._process = process
        self._on_error = on_error or (lambda exc: log.exception('frame processing failed: %s', exc))
        self.processed = 0
        self.failed = 0
        self.busy_s = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: Any) -> bool:
        """Offer a new item; returns True if a pending older item was dropped."""
        return self.slot.put(item)

    def _run(self) -> None:
        while True:
            item = self.slot.take()
            if item is None:
                if self.slot.closed:
                    return
                continue
            t0 = time.perf_counter()
            try:
                self._process(item)
                self.processed += 1
            except Exception as exc:  # noqa: BLE001 - keep serving later frames
                self.failed += 1
                self._on_error(exc)
            finally:
                self.busy_s += time.perf_counter() - t0

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Close the slot and join; returns True if the thread ended in time."""
        self.slot.close()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def stats(self) -> dict:
        return {'received': self.slot.received, 'dropped': self.slot.dropped,
                'processed': self.processed, 'failed': self.failed, 'busy_s': self.busy_s}
