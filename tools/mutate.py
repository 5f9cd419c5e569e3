#!/usr/bin/env python3
"""Mutation check: does the suite catch realistic bugs?

Each mutation in tools/mutations.py is one small bug (file, exact old snippet, new snippet,
the tests that should catch it). For every mutation the tool copies the working tree (tracked
and untracked, not ignored files) to a scratch folder, applies that one edit, runs that
mutation's tests there with the copy first on PYTHONPATH, and reports:

  KILLED          the tests failed: the bug is caught
  SURVIVED        the tests passed with the bug in: a hole in the suite
  ERROR           the tests could not run (collection error, usage error, no tests)
  TIMEOUT         the tests ran past --timeout (counted as not caught)
  NOT-APPLICABLE  the old snippet is not in the file (or not exactly once): the code changed
                  since the mutation was written; update the snippet in tools/mutations.py

Before the mutations, the same tests run once on an unmodified copy (skip with
--no-baseline): a test that already fails would "kill" every mutation and prove nothing.

    python tools/mutate.py                 # all mutations, one at a time
    python tools/mutate.py -k odom -k tum  # only ids containing 'odom' or 'tum'
    python tools/mutate.py -j 2            # two mutations at once
    python tools/mutate.py --list          # what would run
    python tools/mutate.py --check         # do the snippets still match the code?

Exit status 0 only when every applicable mutation was killed (and the baseline passed).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutations import MUTATIONS, Mutation  # noqa: E402

# ROS domains for parallel workers, away from 0..99 that people and other sessions use.
DOMAIN_BASE = 150


@dataclass
class Outcome:
    id: str
    status: str
    seconds: float
    detail: str = ''


def tree_files(root: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files (what a clone plus local edits holds)."""
    out = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=root,
                         capture_output=True, check=True).stdout.decode()
    return [p for p in out.split('\0') if p and (root / p).is_file()]


def copy_tree(root: Path, dest: Path) -> None:
    for rel in tree_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target, follow_symlinks=True)
    # The training code imports as depth_perception_training (setup.py maps it): the same
    # trick as env.sh, pointing at the copy.
    (dest / '.dev').mkdir(exist_ok=True)
    (dest / '.dev' / 'depth_perception_training').symlink_to(dest / 'training')


def apply(m: Mutation, dest: Path) -> str | None:
    """Edit the copy; returns why it does not apply, or None when applied."""
    path = dest / m.file
    if not path.is_file():
        return f'{m.file} does not exist'
    text = path.read_text()
    n = text.count(m.old)
    if n != 1:
        return f'old snippet found {n} times in {m.file} (must be exactly once)'
    path.write_text(text.replace(m.old, m.new))
    return None


def run_tests(dest: Path, tests: list[str], timeout_s: float, worker: int) -> tuple[int | None, str]:
    env = os.environ.copy()
    env['PYTHONPATH'] = os.pathsep.join([str(dest), str(dest / '.dev')])
    env['ROS_DOMAIN_ID'] = str(DOMAIN_BASE + worker)
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    env['DEPTH_PERCEPTION_CACHE'] = str(dest / '.cache')
    cmd = [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-x', '--no-header', '-rN',
           '-o', 'addopts=', *tests]
    # Own process group: a timeout ends pytest and whatever it started (ROS nodes) together.
    proc = subprocess.Popen(cmd, cwd=dest, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, ''
    lines = [ln for ln in out.splitlines() if ln.strip()]
    return proc.returncode, lines[-1] if lines else ''


def run_one(m: Mutation, args, worker: int) -> Outcome:
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f'mutate_{m.id}_', dir=args.scratch) as tmp:
        dest = Path(tmp) / 'tree'
        copy_tree(ROOT, dest)
        why = apply(m, dest)
        if why:
            return Outcome(m.id, 'NOT-APPLICABLE', time.monotonic() - start, why)
        rc, last = run_tests(dest, m.tests, args.timeout, worker)
    took = time.monotonic() - start
    if rc is None:
        return Outcome(m.id, 'TIMEOUT', took, f'> {args.timeout:.0f} s')
    if rc == 0:
        return Outcome(m.id, 'SURVIVED', took, last)
    if rc == 1:
        return Outcome(m.id, 'KILLED', took, last)
    return Outcome(m.id, 'ERROR', took, f'pytest exit {rc}: {last}')


def baseline(selected: list[Mutation], args) -> Outcome:
    tests = sorted({t for m in selected for t in m.tests})
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='mutate_baseline_', dir=args.scratch) as tmp:
        dest = Path(tmp) / 'tree'
        copy_tree(ROOT, dest)
        rc, last = run_tests(dest, tests, args.timeout * 4, 0)
    status = 'PASSED' if rc == 0 else ('TIMEOUT' if rc is None else 'FAILED')
    return Outcome('baseline', status, time.monotonic() - start, last)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-k', action='append', default=[], metavar='ID',
                    help='run only mutations whose id contains ID (repeatable)')
    ap.add_argument('-j', type=int, default=1, metavar='N', help='mutations run at once (default 1)')
    ap.add_argument('--timeout', type=float, default=600.0, help='seconds per mutation (default 600)')
    ap.add_argument('--no-baseline', action='store_true', help='skip the run on the unmodified tree')
    ap.add_argument('--list', action='store_true', help='list the selected mutations and exit')
    ap.add_argument('--check', action='store_true',
                    help='only check that every selected snippet applies to the current tree')
    ap.add_argument('--json', type=Path, help='also write the outcomes to this JSON file')
    ap.add_argument('--scratch', default=None, help='folder for the copies (default: the system temp)')
    args = ap.parse_args(argv)

    ids = [m.id for m in MUTATIONS]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        ap.error(f'duplicate mutation ids: {sorted(dupes)}')
    selected = [m for m in MUTATIONS if not args.k or any(k in m.id for k in args.k)]
    if not selected:
        ap.error(f'no mutation id contains {args.k}')
    if args.list:
        for m in selected:
            print(f'{m.id:36s} {m.file}  [{" ".join(m.tests)}]\n{"":36s} {m.why}')
        return 0

    if args.check:
        bad = 0
        for m in selected:
            path = ROOT / m.file
            n = path.read_text().count(m.old) if path.is_file() else 0
            if n != 1:
                bad += 1
                print(f'NOT-APPLICABLE  {m.id:36s} old snippet found {n} times in {m.file}')
        print(f'{len(selected) - bad}/{len(selected)} mutations apply')
        return 1 if bad else 0

    if not args.no_baseline:
        b = baseline(selected, args)
        print(f'baseline: {b.status} in {b.seconds:.0f} s  {b.detail}', flush=True)
        if b.status != 'PASSED':
            print('the tests fail without any mutation: fix them first (or --no-baseline)')
            return 2

    outcomes: list[Outcome] = []
    workers = max(1, args.j)

    def job(item):
        i, m = item
        o = run_one(m, args, i % workers + 1)
        print(f'{o.status:15s} {o.id:36s} {o.seconds:6.1f} s  {o.detail}', flush=True)
        return o

    with ThreadPoolExecutor(workers) as pool:
        outcomes = list(pool.map(job, enumerate(selected)))

    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    applicable = len(outcomes) - counts.get('NOT-APPLICABLE', 0)
    killed = counts.get('KILLED', 0)
    print(f'\n{killed}/{applicable} applicable mutations killed '
          f'({", ".join(f"{k.lower()} {v}" for k, v in sorted(counts.items()))})')
    for status in ('SURVIVED', 'TIMEOUT', 'ERROR', 'NOT-APPLICABLE'):
        for o in outcomes:
            if o.status == status:
                m = next(x for x in selected if x.id == o.id)
                print(f'  {status}: {o.id} ({m.file}): {m.why}  {o.detail}')
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in outcomes], indent=1))
    return 0 if killed == applicable else 1


if __name__ == '__main__':
    sys.exit(main())
