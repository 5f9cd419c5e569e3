"""ROS 2 adapter: the only package that imports rclpy and message types.

It converts messages to the ROS-free core's numpy objects and back, and wires parameters;
the maths lives in the core (estimators, geometry, pointcloud, odometry).
"""

import os

from ..malloc_tuning import keep_freed_memory

# Every node process imports this package before torch (the estimators import it later).
# torch's OpenMP threads busy-wait between operations by default; on a loaded robot CPU they
# spin against the executor thread and each other, and inference throughput collapses (seen
# in the speed work on a loaded 2-core machine). PASSIVE lets them sleep. It is read when
# torch loads its OpenMP library, so it must be set here; a value the user exported wins.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

# frames re-use the previous frame's freed memory instead of page-faulting it in again
keep_freed_memory()
