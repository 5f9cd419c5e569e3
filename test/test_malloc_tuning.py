"""keep_freed_memory(): a process that runs the same forward frame after frame stops
page-faulting the freed activations in again (counted by the kernel: minor faults, not time).
DispResNet-18 at 256x320, measured here: 22-30k faults in 3 forwards by default (0 in about 1 run
of 4), 0-640 tuned; on a later AVX-512 machine 5.8k by default, 0-924 tuned."""
import statistics
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import resource, sys, threading
    import torch
    from depth_perception.malloc_tuning import keep_freed_memory
    mode, workload = sys.argv[1:3]
    if mode == 'tuned':
        assert keep_freed_memory()
    elif mode == 'one_heap':
        assert keep_freed_memory(all_from_one_heap=True)
    elif mode == 'ros':      # what every node process imports first
        import depth_perception.ros  # noqa: F401
    torch.set_num_threads(1)
    if workload == 'dispresnet':
        from depth_perception.models import DispResNet
        net, x = DispResNet(18).eval(), torch.randn(1, 3, 256, 320)
    else:   # a 67 MB output: above any mmap threshold
        net, x = torch.nn.Conv2d(3, 64, 3, padding=1), torch.randn(1, 3, 512, 512)
    faults = []

    def work():
        with torch.inference_mode():
            net(x)
            net(x)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(3):
                net(x)
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    if workload == 'big_block_in_thread':   # as boosted_depth_node runs its estimator
        t = threading.Thread(target=work)
        t.start()
        t.join()
    else:
        work()
    print(faults[0])
""")


def faults(mode, workload='dispresnet'):
    out = subprocess.run([sys.executable, '-c', PROBE, mode, workload], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc')
def test_repeated_forwards_reuse_freed_memory_without_page_faults():
    # glibc's default is not deterministic: its dynamic mmap threshold sometimes settles during the
    # warm-up forwards (0 faults), more often not (~20-30k). Seen here: 0 in about 1 run of 4.
    # So the default is sampled until it shows the problem, and the tuned process must never show it.
    defaults = []
    for _ in range(5):
        defaults.append(faults('default'))
        if defaults[-1] > 5000:
            break
    else:
        pytest.skip(f'glibc here did not re-fault freed memory in {len(defaults)} runs: {defaults}')
    tuned = [faults('tuned') for _ in range(3)]
    ros = [faults('ros') for _ in range(3)]
    # 3 forwards re-fault >= 5000 pages (20 MB) with glibc's defaults; tuned, under 2000 (8 MB: the
    # activations are not handed back and faulted in again) and well under the default's count.
    # Judged on the median of 3: a tuned process re-faults 0-640 pages as a rule, but one run in a
    # few dozen (seen in CI) faults 2.5k during the timed forwards for reasons outside malloc.
    bound = min(2000, defaults[-1] / 2.5)
    assert statistics.median(tuned) < bound and statistics.median(ros) < bound, (defaults, tuned, ros)


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc')
def test_blocks_above_32_mb_in_a_worker_thread_are_kept_with_one_heap():
    # A 67 MB block is mmap'd and unmapped on every forward (16.4k pages) whatever the
    # thresholds; served from the one heap it is reused.
    tuned, one_heap = faults('tuned', 'big_block_in_thread'), faults('one_heap', 'big_block_in_thread')
    assert tuned > 3 * 16000 * 0.9, tuned
    assert one_heap < 2000, one_heap
