"""Publish a report folder only when it is complete.

Everything is written into a hidden sibling `.<name>.partial-XXXX` and renamed to `<name>`
at the end, so a crash or Ctrl-C never leaves a folder that looks like a finished report
(the staging folder is removed on any failure) and never blocks a rerun into the same --out.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)


def check_target(final: Path, replace_reports: bool = False) -> None:
    """Refuse a non-empty target, unless `replace_reports` and it is a previous report."""
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise FileExistsError(f'report folder {final} exists and is a file; choose another --out')
    if final.is_dir() and any(final.iterdir()):
        if replace_reports and (final / 'metrics.json').is_file():
            return
        raise FileExistsError(f'report folder {final} exists and is not empty; choose another --out')


@contextlib.contextmanager
def staged_folder(final: Path, replace_reports: bool = False) -> Iterator[Path]:
    final = Path(final).resolve()      # '.', 'a/..' have no usable name of their own
    check_target(final, replace_reports)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{final.name}.partial-', dir=final.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        if final.is_dir():
            if any(final.iterdir()):   # only a previous report (checked above) gets here
                old = Path(tempfile.mkdtemp(prefix=f'.{final.name}.old-', dir=final.parent))
                final.rename(old / 'r')
                shutil.rmtree(old, ignore_errors=True)
            else:
                final.rmdir()
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.debug('report folder published: %s', final)
