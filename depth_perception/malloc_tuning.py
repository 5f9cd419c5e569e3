"""Keep freed tensor memory in the process between frames (glibc malloc).

Each forward allocates and frees the same few hundred MB of activations. With glibc's
defaults, blocks above the (dynamic) mmap threshold are mmap'd and unmapped, and the heap
top is trimmed back to the OS, so the next frame page-faults the memory in again: measured
10-19k minor faults and 35-57 ms of kernel time per SC-Depth eager frame at 256x320 (1
thread), 5-15 % of the frame's CPU time. Fixed thresholds keep that memory mapped: 0 faults,
the same peak RSS. No-op where glibc's mallopt is not available.

Blocks above 32 MB (the most the mmap threshold can be set to) are still mmap'd and unmapped
every time; boosting's 1024x1024 merge-net and 768x768 patch activations are 40-70 MB each.
`all_from_one_heap` serves them from the heap too, and every thread from the main arena: a
worker thread's arena is built of 64 MB mmap'd heaps, so above that size its blocks are
mmap'd whatever the settings. Measured on boosting's Final (reduced networks, 320x240 image,
28 patches, 2 threads): 33.2 -> 20.4 s on the main thread, 34.3 -> 21.8 s in a worker thread;
the bench run around it (Final at 1 and 4 patches per call) 67 -> 6 s of kernel time, peak RSS
3.8 -> 4.4 GB. Every node process uses it (depth_perception.ros): their models run in a worker
thread, whose arena re-faulted 17-24k pages a frame for SC-Depth at 256x832 (0 with one heap;
400 vs 454 ms a frame, peak RSS 721 vs 837 MB, 1 thread).
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
M_ARENA_MAX = -8
TRIM_THRESHOLD_BYTES = 512 << 20   # free memory at the heap top kept before trimming
MMAP_THRESHOLD_BYTES = 32 << 20    # glibc's ceiling for this setting on 64-bit


def keep_freed_memory(all_from_one_heap: bool = False) -> bool:
    """True when the settings were made (glibc). Call once, early in a process that runs
    models; with `all_from_one_heap`, before the threads that run them start."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    done = bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)) and \
        bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    if all_from_one_heap:
        done = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_ARENA_MAX, 1)) and done
    return done
