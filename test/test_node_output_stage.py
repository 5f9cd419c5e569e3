"""The node's output thread: every handed-over frame is handled, in order, one at a time;
a failing frame is counted and does not stop later ones; stop() joins the thread; a producer
waiting on a busy stage gives up once stopping is set. Unthreaded, items are handled on the
caller's thread with the same counting."""
from __future__ import annotations

import threading
import time

from depth_perception.ros.output_stage import OutputStage


def test_items_are_handled_in_order_none_lost_and_errors_counted():
    seen, errors = [], []

    def handle(i):
        time.sleep(0.002 * (i % 3))       # uneven work: order must not depend on it
        if i == 7:
            raise RuntimeError('bad frame 7')
        seen.append(i)

    stage = OutputStage(handle, errors.append)
    stopping = threading.Event()
    for i in range(20):
        assert stage.put(i, stopping)
    assert stage.stop(10)
    assert seen == [i for i in range(20) if i != 7]
    assert stage.done == 19 and stage.failed == 1
    assert [str(e) for e in errors] == ['bad frame 7']


def test_handoff_holds_one_item_and_producer_waits_until_taken():
    release = threading.Event()
    started = threading.Event()

    def handle(i):
        started.set()
        release.wait(10)

    stage = OutputStage(handle, lambda exc: None)
    stopping = threading.Event()
    assert stage.put(0, stopping)          # taken by the thread, which now blocks
    assert started.wait(10)
    assert stage.put(1, stopping)          # fills the hand-off of one
    finished = []
    producer = threading.Thread(target=lambda: finished.append(stage.put(2, stopping)))
    producer.start()
    producer.join(0.5)
    assert producer.is_alive() and not finished      # waits: item 1 not taken yet
    release.set()
    producer.join(10)
    assert finished == [True]
    assert stage.stop(10) and stage.done == 3


def test_waiting_producer_gives_up_when_stopping():
    release = threading.Event()
    stage = OutputStage(lambda i: release.wait(10), lambda exc: None)
    stopping = threading.Event()
    stage.put(0, stopping)
    stage.put(1, stopping)
    result = []
    producer = threading.Thread(target=lambda: result.append(stage.put(2, stopping, poll_s=0.01)))
    producer.start()
    stopping.set()
    producer.join(10)
    assert result == [False]
    release.set()
    assert stage.stop(10)
    assert stage.done == 2


def test_unthreaded_stage_handles_on_the_callers_thread():
    threads, errors = [], []

    def handle(i):
        if i == 1:
            raise ValueError('bad')
        threads.append(threading.current_thread())

    stage = OutputStage(handle, errors.append, threaded=False)
    stopping = threading.Event()
    assert not stage.threaded
    assert stage.put(0, stopping) and stage.put(1, stopping) and stage.put(2, stopping)
    assert threads == [threading.current_thread()] * 2
    assert stage.done == 2 and stage.failed == 1 and len(errors) == 1
    stopping.set()
    assert stage.put(3, stopping) is False and stage.done == 2
    assert stage.stop(1)
