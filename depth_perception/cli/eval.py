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
    o.add_argument('--max-frames', type=non_negative_int, default=0,
                   help='evaluate only the first N images (0 = all)')
    o.add_argument('--no-pose-refinement', action='store_true',
                   help="SC-Depth: score the pose network's motion alone, without photometric refinement")
    o.add_argument('--save-depth', action='store_true',
                   help='write every predicted depth map as OUT/depth/<stamp ns>.npy '
                        '(float32 metres, NaN invalid, prediction resolution), as demo does')
    o.add_argument('--no-progress', action='store_true')
    m = p.add_argument_group('modes')
    m.add_argument('--live', action='store_true', help='replay the bag through the ROS node (rclpy)')
    m.add_argument('--live-rate', type=float, default=0.0,
                   help='live: 0 = wait for each output (lossless), R = play at R x real time (drops counted)')
    m.add_argument('--predictions', type=Path, default=None,
                   help='score this recorded output bag (/depth/image, /odom) instead of running a model')


def non_negative_int(text: str) -> int:
    import argparse
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'must be a whole number >= 0, got {text!r}') from None
    if v < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0 (0 = all frames), got {v}')
    return v


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
        live=args.live, live_rate=args.live_rate, save_depth=args.save_depth,
        pose_refinement=not args.no_pose_refinement)


def _summary(result: dict) -> str:
    from ..evaluation.verdict import scale_stability_line
    lines = []
    f = result['frames']
    lines.append(f'frames: {f["images_in_bag"]} in bag, {f["evaluated"]} evaluated'
                 + (f', {f["dropped"]} dropped' if 'dropped' in f else ''))
    bad = result.get('bad_messages') or {}
    if bad.get('count'):
        lines.append(f'PARTIAL: {bad["count"]} bad message(s) skipped ('
                     + ', '.join(f'{n} on {t}' for t, n in bad['by_topic'].items()) + '); see the report')
    d = result['depth']
    m = d.get('metrics')
    if m:
        c = (d.get('baseline_constant') or {}).get('metrics') or {}
        rho = (d.get('spearman') or {}).get('median')
        lines.append('depth: ' + ', '.join(f'{k} {m[k]:.4f}' for k in ('abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'a1'))
                     + f', Spearman {"–" if rho is None else f"{rho:+.3f}"}')
        if c:
            lines.append('constant depth: ' + ', '.join(f'{k} {c[k]:.4f}' for k in ('abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'a1')))
        stab = scale_stability_line(d)
        if stab:
            lines.append(stab)
    t = result['trajectory']
    if 'ate_m' in t:
        b = t.get('baselines') or {}
        def ate(x):
            return f'{x["ate_m"]["rmse"]:.4f} m' if x else '–'
        def rpe(x):
            r = ((x or {}).get('rpe_per_frame') or {}).get('trans_m')
            return f'{r["rmse"]:.4f} m' if r else '–'
        lines.append(f'ego-motion ({t.get("alignment_note", t["alignment"])}): ATE RMSE {ate(t)} '
                     f'(zero motion {ate(b.get("zero_motion"))}, constant velocity {ate(b.get("constant_velocity"))}); '
                     f'per-frame RPE {rpe(t)} (standing still {rpe(b.get("zero_motion"))})')
        k = t['kitti']
        if k.get('meaningful'):
            lines.append(f'KITTI: t_err {k["t_err_pct"]:.3f} %, r_err {k["r_err_deg_per_100m"]:.3f} deg/100m')
        else:
            lines.append(f'KITTI t_err/r_err: {k.get("note")}')
    else:
        lines.append(f'ego-motion: {t.get("skipped") or t.get("error")}')
    lines.append(result.get('verdict') or '')
    return '\n'.join(lines)


def run(args) -> int:
    from ..evaluation.report_folder import staged_folder
    cfg = config_from_args(args)
    final = cfg.out_dir
    # Written under a hidden temporary name and renamed when complete (removed on failure
    # or Ctrl-C), so no half-written folder looks like a report or blocks a rerun.
    with staged_folder(final) as staging:
        cfg.out_dir, cfg.final_dir = staging, final
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
    print(f'report: {final / "report.md"}')
    return 0
