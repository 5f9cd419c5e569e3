"""The second thread of a depth node: builds and publishes a frame's messages while the
inference thread already runs the next frame (message building stays off the inference path).

A hand-off of one, not a latest-frame slot: the inference thread waits while the previous
frame's messages are still going out, so outputs leave in order and none is skipped
(odometry integrates every pose it is given).

`threaded=False` handles each item on the caller's thread instead: on a CPU-bound machine
the extra thread competes with inference for the cores (bench/README.md: on 2 cores with
bf16 the node's throughput fell to 0.85x), so the node uses it only where it pays.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable

_STOP = object()


class OutputStage:
    def __init__(self, handle: Callable[[Any], None], on_error: Callable[[BaseException], None],
                 name: str = 'outputs', threaded: bool = True):
        self._handle = handle
        self._on_error = on_error
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self.done = 0       # items handled without an exception
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True) if threaded else None
        if self._thread is not None:
            self._thread.start()

    @property
    def threaded(self) -> bool:
        return self._thread is not None

    def put(self, item: Any, stopping: threading.Event, poll_s: float = 0.1) -> bool:
        """Hand `item` over (waits while the previous one is handled); False if stopping first."""
        if self._thread is None:
            if stopping.is_set():
                return False
            self._handle_one(item)
            return True
        while not stopping.is_set():
            try:
                self._queue.put(item, timeout=poll_s)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            self._handle_one(item)

    def _handle_one(self, item: Any) -> None:
        try:
            self._handle(item)
            self.done += 1
        except Exception as exc:  # noqa: BLE001 - one bad frame never stops the outputs
            self.failed += 1
            self._on_error(exc)

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Call once nothing puts any more; returns True if the thread ended in time."""
        if self._thread is None:
            return True
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            return False
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
        return not self._thread.is_alive()
