"""Synthetic ground truth: procedural scenes ray-cast with open3d (CPU), exact depth and poses.

Main entry points:
    make_sequence(SequenceConfig(...) | **fields) -> SyntheticSequence (iterate -> Frame)
    SequenceStream(config, seeds) -> many sequences, built one at a time
    default_sequence(), default_sequence_bag(cache_dir=None) -> the demo/eval input
    write_sc_depth / write_stillbox / write_bag -> WriteSummary
Conventions: depth_m is z along the optical axis (float32, NaN = no hit); T_world_cam is
camera-to-world in the optical frame (x right, y down, z forward); K uses pixel centres.
"""
from .default import (DEFAULT_CONFIG, DEFAULT_TOPICS, cache_root, default_sequence,
                      default_sequence_bag)
from .renderer import Frame, Renderer
from .scenes import SCENES, Scene, build_scene
from .sequence import (SCENE_DEFAULTS, SequenceConfig, SequenceConfigError, SequenceStream,
                       SyntheticSequence, make_sequence)
from .trajectories import TRAJECTORIES, Trajectory, make_trajectory
from .writers import (DEPTH_PNG_SCALE, BagTopics, WriteSummary, write_bag, write_sc_depth,
                      write_stillbox)

__all__ = ['DEFAULT_CONFIG', 'DEFAULT_TOPICS', 'cache_root', 'default_sequence',
           'default_sequence_bag', 'Frame', 'Renderer', 'SCENES', 'Scene', 'build_scene',
           'SCENE_DEFAULTS', 'SequenceConfig', 'SequenceConfigError', 'SequenceStream',
           'SyntheticSequence', 'make_sequence',
           'TRAJECTORIES', 'Trajectory', 'make_trajectory', 'DEPTH_PNG_SCALE', 'BagTopics',
           'WriteSummary', 'write_bag', 'write_sc_depth', 'write_stillbox']
