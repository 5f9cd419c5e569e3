"""depth_perception.latest_frame: single-slot semantics, drop counting, worker robustness."""
import threading
import time

from depth_perception.latest_frame import LatestFrameSlot, LatestFrameWorker


def test_slot_keeps_only_the_newest_and_counts_drops():
    slot = LatestFrameSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.take(0.1) == 3
    assert slot.take(0.01) is None          # nothing queued behind the newest
    assert (slot.received, slot.dropped) == (3, 2)


def test_close_wakes_a_waiting_taker():
    slot = LatestFrameSlot()
    out = []
    t = threading.Thread(target=lambda: out.append(slot.take()))
    t.start()
    time.sleep(0.05)
    slot.close()
    t.join(1.0)
    assert not t.is_alive() and out == [None]


def test_slow_worker_processes_newest_frames_in_order_and_drops_the_rest():
    done = []
    gate = threading.Event()

    def slow(item):
        gate.wait(1.0)
        done.append(item)
        time.sleep(0.02)

    worker = LatestFrameWorker(slow)
    for i in range(50):               # burst much faster than the consumer
        worker.submit(i)
    gate.set()
    deadline = time.monotonic() + 5
    while 49 not in done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.stop()
    s = worker.stats()
    assert done[-1] == 49                       # the latest frame is always served
    assert done == sorted(done)                 # never an older frame after a newer one
    assert len(done) <= 3                       # first taken, maybe one more, then the newest
    assert s['received'] == 50 and s['dropped'] == 50 - len(done) and s['processed'] == len(done)


def test_worker_survives_exceptions_and_reports_them():
    errors = []
    seen = []

    def flaky(item):
        if item == 'bad':
            raise RuntimeError('boom')
        seen.append(item)

    worker = LatestFrameWorker(flaky, on_error=errors.append)
    worker.submit('bad')
    time.sleep(0.1)
    worker.submit('good')
    deadline = time.monotonic() + 2
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert seen == ['good'] and [str(e) for e in errors] == ['boom']
    assert worker.stats()['failed'] == 1
