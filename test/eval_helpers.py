"""Shared set-up of the evaluation tests: a small, fast EvalConfig and parsed `eval` arguments."""
from __future__ import annotations

import argparse
from pathlib import Path

from depth_perception.cli import eval as eval_cli
from depth_perception.evaluation.config import EvalConfig


def small_eval_config(bag, out, **kw) -> EvalConfig:
    """64x64 network input, TUM caps, no plots or progress bars: what the tests need, fast."""
    base = dict(bag=Path(bag), out_dir=Path(out), resolution_hw=(64, 64), preset='tum', plots=False,
                progress=False)
    base.update(kw)
    return EvalConfig(**base)


def eval_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    eval_cli.add_arguments(p)
    return p.parse_args(argv)
