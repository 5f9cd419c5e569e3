"""What a writer produced: frames, files, bytes and wall time."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class WriteSummary:
    kind: str
    path: Path
    frames: int
    files: int
    bytes: int
    seconds: float

    @staticmethod
    def of(kind: str, path: Path, frames: int, started: float) -> 'WriteSummary':
        files = [p for p in Path(path).rglob('*') if p.is_file()] if Path(path).is_dir() else [Path(path)]
        return WriteSummary(kind, Path(path), frames, len(files), sum(p.stat().st_size for p in files),
                            time.perf_counter() - started)

    def __str__(self) -> str:
        rate = self.frames / self.seconds if self.seconds > 0 else float('inf')
        return (f'{self.kind}: {self.frames} frames, {self.files} files, {self.bytes / 1e6:.1f} MB '
                f'in {self.seconds:.1f} s ({rate:.0f} frames/s) -> {self.path}')


def require_new_dir(path: Path) -> Path:
    """Create an output folder, refusing to write into an existing non-empty one."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f'output {path} already exists and is not empty; refusing to overwrite')
    path.mkdir(parents=True, exist_ok=True)
    return path
