"""Keep freed tensor memory in the process between frames (glibc malloc).

Each forward allocates and frees the same few hundred MB of activations. With glibc's
defaults, blocks above the (dynamic) mmap threshold are mmap'd and unmapped, and the heap
top is trimmed back to the OS, so the next frame page-faults the memory in again: measured
10-19k minor faults and 35-57 ms of kernel time per SC-Depth eager frame at 256x320 (1
thread), 5-15 % of the frame's CPU time. Fixed thresholds keep that memory mapped: 0 faults,
the same peak RSS. No-op where glibc's mallopt is not available.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD_BYTES = 512 << 20   # free memory at the heap top kept before trimming
MMAP_THRESHOLD_BYTES = 32 << 20    # glibc's ceiling for this setting on 64-bit


def keep_freed_memory() -> bool:
    """True when both thresholds were set (glibc); call once, early in a process that runs models."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)) and \
        bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
