"""`main()` of every depth node: one line for start-up errors, quiet Ctrl-C, exit codes.

- Any error while the node starts (parameter, checkpoint file, device) -> one line
  `cannot start: <cause>` through the ROS logger (console and ROS log alike), exit code 1,
  no traceback.
- SIGINT / SIGTERM, at any point, -> no traceback, no ERROR line, exit code 0: rclpy's signal
  handler shuts the context down, the node's worker then abandons its frame silently.
"""
from __future__ import annotations

import sys

import rclpy
from rclpy.executors import ExternalShutdownException


def run(node_class, args=None) -> int:
    name = getattr(node_class, 'default_name', node_class.__name__)
    node = None
    initialised = started = False
    try:
        rclpy.init(args=args)
        initialised = True
        node = node_class()
        started = True
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as exc:  # noqa: BLE001 - any failure becomes one line, not a traceback
        if not initialised:        # rclpy.init itself failed (bad --ros-args): no ROS logger yet
            print(f'[FATAL] [{name}]: cannot start: {one_line(exc)}', file=sys.stderr)
            return 1
        if rclpy.ok():             # else a signal shut the context down meanwhile: not an error
            rclpy.logging.get_logger(name).fatal(f'{"stopped" if started else "cannot start"}: {one_line(exc)}')
            return 1
    finally:
        try:
            if node is not None:
                node.destroy_node()
            if rclpy.ok():
                rclpy.shutdown()
        except (KeyboardInterrupt, ExternalShutdownException):   # a second Ctrl-C while closing
            pass
    return 0


def one_line(exc: BaseException) -> str:
    text = ' '.join(str(exc).split()) or type(exc).__name__
    if type(exc).__name__ == 'UnknownROSArgsError':
        text = f'unknown ROS arguments {text}'
    return text if len(text) <= 500 else text[:497] + '...'


def exit_with(node_class, args=None) -> None:
    sys.exit(run(node_class, args))
