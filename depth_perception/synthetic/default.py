"""The package's built-in demo/evaluation input: a short indoor hand-held sequence with GT.

    seq = default_sequence()            # in memory, ~0.1 s to set up, frames rendered on demand
    bag = default_sequence_bag()        # MCAP rosbag2 folder, generated once and cached

The bag is cached under $DEPTH_PERCEPTION_CACHE, else $XDG_CACHE_HOME/depth_perception, else
~/.cache/depth_perception, in a folder named after a hash of the config and GENERATOR_VERSION
(bump it whenever rendering changes, so stale caches are never reused).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from .sequence import SequenceConfig, SyntheticSequence
from .writers.bag import BagTopics, write_bag

GENERATOR_VERSION = 1
# 3 s at 10 Hz, 320x256, NYU-like 63 deg FOV: ~17 MB as a bag, rendered in well under 10 s.
DEFAULT_CONFIG = SequenceConfig(scene='indoor', trajectory='handheld', frames=30, width=320,
                                height=256, fps=10.0, speed_mps=0.5, hfov_deg=63.0, seed=7,
                                dynamic_objects=0, shading=True)
DEFAULT_TOPICS = BagTopics()


def cache_root(cache_dir: str | Path | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get('DEPTH_PERCEPTION_CACHE'):
        return Path(os.environ['DEPTH_PERCEPTION_CACHE'])
    base = os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache'
    return Path(base) / 'depth_perception'


def default_sequence(**overrides) -> SyntheticSequence:
    """The default sequence (SequenceConfig fields may be overridden, e.g. frames=10)."""
    from dataclasses import replace
    return SyntheticSequence(replace(DEFAULT_CONFIG, **overrides))


def _key(config: SequenceConfig, storage: str) -> str:
    blob = json.dumps({'v': GENERATOR_VERSION, 'cfg': config.resolved().as_dict(), 'storage': storage},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def default_sequence_bag(cache_dir: str | Path | None = None, storage: str = 'mcap',
                         progress: bool = False, **overrides) -> Path:
    """Path of the cached default bag (topics: DEFAULT_TOPICS), generating it if absent.

    Generation writes into a temporary sibling folder and renames it into place, so a
    concurrent or interrupted run never leaves a half-written bag at the returned path.
    """
    seq = default_sequence(**overrides)
    folder = cache_root(cache_dir) / 'synthetic' / f'default_{_key(seq.config, storage)}'
    final = folder / f'bag_{storage}'
    if (final / 'metadata.yaml').exists():
        return final
    # The storage file is named after its folder, so write `<tmp>/bag_<storage>` and move
    # that folder: the bag keeps the final name inside.
    tmp = folder / f'.tmp_{os.getpid()}'
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write_bag(seq, tmp / final.name, storage=storage, progress=progress)
        (tmp / final.name).rename(final)
    except OSError:
        if not (final / 'metadata.yaml').exists():  # not just a lost race: a real failure
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
