"""Everything an evaluation run needs to know, as one dataclass (the CLI fills it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class EvalConfig:
    bag: Path
    out_dir: Path
    # estimator
    method: str = 'scdepth'
    checkpoint: str = ''
    pose_checkpoint: str = ''
    device: str = 'auto'
    resolution_hw: tuple[int, int] | None = None
    depth_scale: float = 1.0
    backend: str = 'eager'          # see depth_perception.backends
    precision: str = 'fp32'
    onnx_dir: str = ''
    pose_refinement: bool = True                   # SC-Depth: refine motion against the depth
    # topics ('' = auto-detect by type; see topics.py)
    image_topic: str = ''
    camera_info_topic: str = ''
    gt_depth_topic: str = ''
    gt_pose_topic: str = ''
    gt_tf: tuple[str, str] | None = None          # (parent, child) on /tf
    mask_topic: str = ''
    gt_pose_frame: str = 'optical'                 # 'optical' or 'body' (REP 103 x-forward)
    typestore: str = 'kilted'
    # depth metrics
    preset: str = 'generic'
    min_depth_m: float | None = None
    max_depth_m: float | None = None
    scaling: str = 'median'
    gt_depth_mm_per_m: float = 1000.0             # 16UC1 GT units
    # trajectory metrics
    alignment: str = 'sim3'
    max_time_diff_ms: float = 10.0
    # outputs
    output_bag: bool = True
    output_storage: str = 'mcap'
    cloud_stride: int = 4
    odom_frame: str = 'odom'
    base_frame: str = 'camera_link'
    plots: bool = True
    n_sample_frames: int = 4
    max_frames: int = 0                            # 0 = all
    export_frames: bool = False                    # depth .npy/.png, PLY clouds, TUM files
    save_depth: bool = False                       # depth/<stamp>.npy only (eval --save-depth)
    # where out_dir will be once complete (the CLI writes into a hidden staging folder and
    # renames it; paths in the report name the final place). None = out_dir itself.
    final_dir: Path | None = None
    export_ply_every: int = 5
    progress: bool = True
    # live mode
    live: bool = False
    live_rate: float = 0.0                         # 0 = paced by the node (lossless), else x real time
    live_timeout_s: float = 30.0                   # give up on a frame after this long
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.max_frames, bool) or not isinstance(self.max_frames, int) or self.max_frames < 0:
            raise ValueError(f'max_frames must be a whole number >= 0 (0 = all), got {self.max_frames!r}')

    @property
    def shown_dir(self) -> Path:
        return Path(self.final_dir) if self.final_dir is not None else Path(self.out_dir)

    @property
    def tolerance_ns(self) -> int:
        return int(round(self.max_time_diff_ms * 1e6))
