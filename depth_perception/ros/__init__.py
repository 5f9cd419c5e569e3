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

# Frames re-use the previous frame's freed memory instead of page-faulting it in again. One
# heap: the model runs in the node's worker thread, whose own arena maps and unmaps large blocks
# every frame (SC-Depth at 256x832: 17k page faults a frame there, ~0 with one heap).
keep_freed_memory(all_from_one_heap=True)
