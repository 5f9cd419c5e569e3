"""`depth-perception eval`: how good are depth and ego-motion on a recorded bag?

    depth-perception eval --bag BAG --checkpoint CKPT [--preset tum] [--out DIR]
    depth-perception eval --bag BAG --live ...            # through the ROS node
    depth-perception eval --bag BAG --predictions OUT_BAG # score an already recorded output bag
"""
from __future__ import annotations

import logging
from pathlib import Path

from .common import add_model_arguments, model_options

NAME = 'eval'
HELP = ('Evaluate depth (SC-Depth metrics) and ego-motion (ATE/RPE/KITTI) on a rosbag2; '
        'writes a report folder and an output bag.')

log = logging.getLogger(__name__)


def add_arguments(p) -> None:
    from ..evaluation.depth_metrics import PRESETS, SCALINGS
    from ..evaluation.trajectory import ALIGNMENTS
    from ..bags.reader import TYPESTORES
    p.add_argument('--bag', required=True, type=Path, help='rosbag2 folder, .mcap or .db3 file')
    p.add_argument('--out', type=Path, default=None, help='report folder (default: eval_<bag name>)')
    add_model_arguments(p)
    g = p.add_argument_group('topics (empty = auto-detect by type)')
    g.add_argument('--image-topic', default='')
    g.add_argument('--camera-info-topic', default='')
    g.add_argument('--gt-depth-topic', default='', help='GT depth: 32FC1 metres or 16UC1 millimetres')
    g.add_argument('--gt-pose-topic', default='', help='PoseStamped, PoseWithCovarianceStamped or Odometry')
    g.add_argument('--gt-tf', nargs=2, metavar=('PARENT', 'CHILD'), default=None,
                   help='take GT poses from /tf (or --gt-pose-topic) for this transform pair')
    g.add_argument('--gt-pose-frame', choices=('optical', 'body'), default='optical',
                   help='GT pose is of the camera optical frame, or of a REP 103 body frame at the '
                        'camera (x forward, z up)')
    g.add_argument('--mask-topic', default='', help='dynamic-object mask (mono8, non-zero = dynamic)')
    g.add_argument('--typestore', choices=sorted(TYPESTORES), default='kilted',
                   help='message types for bags without embedded definitions')
    d = p.add_argument_group('depth metrics')
    d.add_argument('--preset', choices=sorted(PRESETS), default='generic',
                   help='caps/crop: kitti (80 m, Garg crop), nyu (10 m, crop), ddad (200 m), tum/bonn (10 m), '
                        'generic (100 m)')
    d.add_argument('--min-depth', type=float, default=None, help='override the preset minimum [m]')
    d.add_argument('--max-depth', type=float, default=None, help='override the preset maximum [m]')
    d.add_argument('--scaling', choices=SCALINGS, default='median',
                   help='median: per image (SC-Depth); sequence: one ratio for the run; none: metric')
    d.add_argument('--gt-depth-mm-per-m', type=float, default=1000.0, help='16UC1 GT units per metre')
    t = p.add_argument_group('trajectory metrics')
    t.add_argument('--alignment', choices=ALIGNMENTS, default='sim3')
    t.add_argument('--max-time-diff-ms', type=float, default=10.0, help='association tolerance')
    o = p.add_argument_group('outputs')
    o.add_argument('--no-output-bag', action='store_true')
    o.add_argument('--output-storage', choices=('mcap', 'sqlite3'), default='mcap')
    o.add_argument('--cloud-stride', type=int, default=4, help='point cloud pixel step')
    o.add_argument('--no-plots', action='store_true')
    o.add_argument('--samples', type=int, default=4, help='side-by-side sample frames')
    o.add_argument('--max-frames', type=int, default=0, help='evaluate only the first N images')
    o.add_argument('--no-progress', action='store_true')
    m = p.add_argument_group('modes')
    m.add_argument('--live', action='store_true', help='replay the bag through the ROS node (rclpy)')
    m.add_argument('--live-rate', type=float, default=0.0,
                   help='live: 0 = wait for each output (lossless), R = play at R x real time (drops counted)')
    m.add_argument('--predictions', type=Path, default=None,
                   help='score this recorded output bag (/depth/image, /odom) instead of running a model')


def config_from_args(args):
    from ..evaluation.config import EvalConfig
    out = args.out or Path(f'eval_{Path(args.bag).name.replace(".", "_")}')
    return EvalConfig(
        bag=Path(args.bag), out_dir=Path(out), method=args.method, **model_options(args),
        image_topic=args.image_topic, camera_info_topic=args.camera_info_topic,
        gt_depth_topic=args.gt_depth_topic, gt_pose_topic=args.gt_pose_topic,
        gt_tf=tuple(args.gt_tf) if args.gt_tf else None, mask_topic=args.mask_topic,
        gt_pose_frame=args.gt_pose_frame, typestore=args.typestore, preset=args.preset,
        min_depth_m=args.min_depth, max_depth_m=args.max_depth, scaling=args.scaling,
        gt_depth_mm_per_m=args.gt_depth_mm_per_m, alignment=args.alignment,
        max_time_diff_ms=args.max_time_diff_ms, output_bag=not args.no_output_bag,
        output_storage=args.output_storage, cloud_stride=args.cloud_stride, plots=not args.no_plots,
        n_sample_frames=args.samples, max_frames=args.max_frames, progress=not args.no_progress,
        live=args.live, live_rate=args.live_rate)


def _summary(result: dict) -> str:
    lines = []
    f = result['frames']
    lines.append(f'frames: {f["images_in_bag"]} in bag, {f["evaluated"]} evaluated'
                 + (f', {f["dropped"]} dropped' if 'dropped' in f else ''))
    m = result['depth'].get('metrics')
    if m:
        lines.append('depth: ' + ', '.join(f'{k} {m[k]:.4f}' for k in ('abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'a1')))
    t = result['trajectory']
    if 'ate_m' in t:
        k = t['kitti']
        lines.append(f'ego-motion: ATE RMSE {t["ate_m"]["rmse"]:.4f} m ({t["alignment"]}), t_err '
                     f'{k["t_err_pct"] if k["t_err_pct"] is None else round(k["t_err_pct"], 3)} %, r_err '
                     f'{k["r_err_deg_per_100m"] if k["r_err_deg_per_100m"] is None else round(k["r_err_deg_per_100m"], 3)} deg/100m '
                     f'({k["segment_mode"]} segments)')
    else:
        lines.append(f'ego-motion: {t.get("skipped") or t.get("error")}')
    return '\n'.join(lines)


def run(args) -> int:
    cfg = config_from_args(args)
    if cfg.out_dir.exists() and any(cfg.out_dir.iterdir()):
        raise FileExistsError(f'report folder {cfg.out_dir} exists and is not empty; choose another --out')
    if args.predictions:
        from ..evaluation.recorded import run_recorded
        result = run_recorded(cfg, args.predictions)
    elif cfg.live:
        from ..evaluation.live import run_live
        result = run_live(cfg)
    else:
        from ..evaluation.offline import run_offline
        result = run_offline(cfg)
    print(_summary(result))
    print(f'report: {cfg.out_dir / "report.md"}')
    return 0
