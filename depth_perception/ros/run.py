"""`main()` of every depth node: one line for start-up errors, quiet Ctrl-C, exit codes.

- Any error while the node starts (parameter, checkpoint file, device) -> one line
  `cannot start: <cause>` through the ROS logger (console and ROS log alike), exit code 1,
  no traceback.
- SIGINT / SIGTERM, at any point, -> no traceback, no ERROR line, exit code 0.

Why the node handles the signals itself (issue 9 defect 5, `terminate called without an
active exception`, exit -6): with rclpy's own handlers, a signal shuts the context down from
rclpy's signal thread while our worker thread may be inside torch or a publish, and the
interpreter could finalise with that worker still running (its join had a short timeout).
A thread that re-takes the GIL during finalisation is ended by pthread_exit, whose forced
unwinding through C++ noexcept frames calls std::terminate. So the order is fixed here:
the signal only sets a flag; the main thread leaves the spin loop, stops and joins the
worker (it abandons its frame), destroys the node, and only then shuts rclpy down and lets
Python exit. If the worker cannot be joined, the process leaves with os._exit (no
finalisation, so nothing can abort) after saying so.
"""
from __future__ import annotations

import os
import signal
import sys

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions

SPIN_PERIOD_S = 0.1     # how soon the spin loop notices a stop request


class StopRequest:
    """SIGINT/SIGTERM handler: before spinning it aborts start-up, afterwards it sets a flag."""

    def __init__(self):
        self.requested = False
        self.spinning = False

    def __call__(self, signum, frame) -> None:
        self.requested = True
        if not self.spinning:
            raise KeyboardInterrupt

    def install(self) -> None:
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)


def run(node_class, args=None) -> int:
    name = getattr(node_class, 'default_name', node_class.__name__)
    node = executor = None
    initialised = started = False
    stop = StopRequest()
    stop.install()
    try:
        # NO: rclpy's handlers would shut the context down under our worker (see above)
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        initialised = True
        node = node_class()
        started = True
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        stop.spinning = True
        while not stop.requested and rclpy.ok():
            executor.spin_once(timeout_sec=SPIN_PERIOD_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as exc:  # noqa: BLE001 - any failure becomes one line, not a traceback
        if not initialised:        # rclpy.init itself failed (bad --ros-args): no ROS logger yet
            print(f'[FATAL] [{name}]: cannot start: {one_line(exc)}', file=sys.stderr)
            return 1
        if rclpy.ok() and not stop.requested:   # else we are stopping anyway: not an error
            rclpy.logging.get_logger(name).fatal(f'{"stopped" if started else "cannot start"}: {one_line(exc)}')
            return 1
    finally:
        stop.spinning = True       # a second Ctrl-C while closing must not interrupt the close
        close(node, name, executor)
    return 0


def close(node, name: str, executor=None) -> None:
    """Join the node's threads, destroy it, shut rclpy down; never leave a thread running."""
    try:
        if executor is not None:
            # its guard conditions go while the context lives: left to garbage collection after
            # rclpy.shutdown, Executor.__del__ printed an InvalidHandle traceback on exit
            executor.shutdown(timeout_sec=0)
        if node is not None:
            node.destroy_node()
            if not getattr(node, 'threads_stopped', True):
                rclpy.logging.get_logger(name).warning(
                    'the inference thread did not stop in time; leaving without cleanup')
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)
        if rclpy.ok():
            rclpy.shutdown()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


def one_line(exc: BaseException) -> str:
    text = ' '.join(str(exc).split()) or type(exc).__name__
    if type(exc).__name__ == 'UnknownROSArgsError':
        text = f'unknown ROS arguments {text}'
    return text if len(text) <= 500 else text[:497] + '...'


def exit_with(node_class, args=None) -> None:
    sys.exit(run(node_class, args))
