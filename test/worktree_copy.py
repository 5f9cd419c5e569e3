"""Copy of the working tree (tracked and new files, not ignored ones) for build tests.

Builds write build/, *.egg-info and install/ next to setup.py; doing that in a copy keeps the
checkout clean and tests exactly what a clone with the current changes would hold.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Used when the checkout is not a git work tree (e.g. an unpacked archive).
IGNORED = shutil.ignore_patterns('.git', '.venv', '.dev', 'build', 'install', 'log', 'out', 'runs',
                                 '__pycache__', '*.egg-info', '.pytest_cache', '.whl')


def working_tree_files(root: Path = REPO_ROOT) -> list[str] | None:
    try:
        out = subprocess.run(['git', '-C', str(root), 'ls-files', '-z', '--cached', '--others',
                              '--exclude-standard'], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [f for f in out.decode().split('\0') if f and (root / f).is_file()]


def copy_working_tree(dest: Path, root: Path = REPO_ROOT) -> Path:
    files = working_tree_files(root)
    if files is None:
        shutil.copytree(root, dest, ignore=IGNORED, symlinks=True)
        return dest
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target, follow_symlinks=False)
    return dest
