"""`depth-perception demo`: the main job on the embedded default input.

Runs the SC-Depth pipeline over the package's default sequence (a synthetic indoor
hand-held bag with exact ground truth, generated once and cached) and writes depth maps,
PLY point clouds, TUM trajectories, an evaluation report and an output bag.
"""
from __future__ import annotations

import logging
from pathlib import Path

NAME = 'demo'
HELP = ('Run SC-Depth on the embedded default sequence; write depth, PLY clouds, TUM '
        'trajectory, an MCAP output bag and an evaluation report.')
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument('--output', type=Path, default=Path('out/demo'), help='output folder')
    parser.add_argument('--checkpoint', default='', help='model weights (default: the packaged model)')
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    from .eval import non_negative_int
    parser.add_argument('--frames', type=non_negative_int, default=0,
                        help='evaluate only the first N frames (0 = all)')
    parser.add_argument('--cache-dir', default=None,
                        help='where the default sequence is cached (default ~/.cache/depth_perception)')


def run(args) -> int:
    from ..evaluation.config import EvalConfig
    from ..evaluation.offline import run_offline
    from ..synthetic.default import DEFAULT_CONFIG, default_sequence_bag

    from ..estimators.scdepth import default_checkpoint

    # Said before anything runs, so a user knows at once which model the figures belong to.
    log.info('weights: %s', args.checkpoint or f'the packaged default model {default_checkpoint()}')
    cfg = DEFAULT_CONFIG
    bag = default_sequence_bag(cache_dir=args.cache_dir, progress=True)
    log.info('input: embedded default sequence (synthetic %s %s, %d frames %dx%d at %g Hz, '
             'seed %d): %s', cfg.scene, cfg.trajectory, cfg.frames, cfg.width, cfg.height,
             cfg.fps, cfg.seed, bag)
    from ..evaluation.report_folder import staged_folder
    # A rerun replaces the previous demo output, but only once the new one is complete.
    with staged_folder(args.output, replace_reports=True) as staging:
        result = run_offline(EvalConfig(
            bag=bag, out_dir=staging, final_dir=args.output, checkpoint=args.checkpoint,
            device=args.device, preset='tum', max_frames=args.frames, export_frames=True))
    print(summary(result, args.output))
    return 0


def summary(result: dict, out_dir: Path) -> str:
    depth, traj, ex = result.get('depth', {}), result.get('trajectory', {}), result.get('exports') or {}
    lines = [f'weights: {result["estimator"]}',
             f'frames: {result["frames"].get("images_in_bag")} in, '
             f'{result["timing"]["frames"]} evaluated at {result["timing"]["fps"]:.1f} frames/s']
    m = depth.get('metrics') or {}
    if 'abs_rel' in m:
        c = (depth.get('baseline_constant') or {}).get('metrics') or {}
        rho = (depth.get('spearman') or {}).get('median')
        lines.append(f'depth ({depth.get("scaling")} scaling, {depth.get("frames_evaluated")} frames): '
                     f'abs_rel {m["abs_rel"]:.3f}, rmse {m["rmse"]:.3f} m, a1 {m["a1"]:.3f}, Spearman '
                     f'{"–" if rho is None else f"{rho:+.2f}"}'
                     + (f' | constant depth: abs_rel {c["abs_rel"]:.3f}, rmse {c["rmse"]:.3f} m, a1 {c["a1"]:.3f}'
                        if c else ''))
    if 'ate_m' in traj:
        b = traj.get('baselines') or {}
        zm, cv = b.get('zero_motion') or {}, b.get('constant_velocity') or {}
        lines.append(f'trajectory ({traj.get("alignment")} aligned, {traj["association"]["matched"]} '
                     f'poses): ATE RMSE {traj["ate_m"]["rmse"]:.3f} m over a '
                     f'{traj["gt_path_length_m"]:.2f} m path | zero motion {zm["ate_m"]["rmse"]:.3f} m, '
                     f'constant velocity {cv["ate_m"]["rmse"]:.3f} m')
    if result.get('verdict'):
        lines.append(result['verdict'])
    lines += [f'depth maps:  {ex.get("depth_dir")}', f'point clouds: {ex.get("clouds_dir")}',
              f'trajectory:  {ex.get("trajectory_tum")}', f'output bag:  {result.get("output_bag")}',
              f'report:      {out_dir / "report.md"}']
    return '\n'.join(lines)
