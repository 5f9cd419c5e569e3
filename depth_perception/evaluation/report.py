"""Write the report folder: metrics.json (everything, machine-readable), report.md (the
answer for a human) and the figures."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from .depth_metrics import METRIC_NAMES

log = logging.getLogger(__name__)


def _fmt(v, nd=4) -> str:
    return '–' if v is None else (f'{v:.{nd}f}' if isinstance(v, float) else str(v))


def _depth_md(d: dict) -> list[str]:
    if 'skipped' in d:
        return [f'Depth metrics skipped: {d["skipped"]}.', '']
    lines = [f'Preset **{d["preset"]}** (depth in ({d["min_depth_m"]}, {d["max_depth_m"]}) m), '
             f'scaling **{d["scaling"]}**'
             + (f' (sequence ratio {d["sequence_ratio"]:.4f})' if d.get('sequence_ratio') else '')
             + f'; {d["frames_evaluated"]} images evaluated (mean over images).', '']
    lines += ['| region | ' + ' | '.join(METRIC_NAMES) + ' |', '|---' * (len(METRIC_NAMES) + 1) + '|']
    for region in ('metrics', 'metrics_static', 'metrics_dynamic'):
        m = d.get(region)
        if m:
            name = region.replace('metrics_', '') if region != 'metrics' else 'all'
            lines.append(f'| {name} | ' + ' | '.join(_fmt(m[k]) for k in METRIC_NAMES) + ' |')
    r = d.get('median_ratio')
    if r:
        lines += ['', f'median(gt)/median(pred) per image: mean {r["mean"]:.4f}, std {r["std"]:.4f} '
                      f'(a small std means a stable scale).']
    if d.get('frames_skipped'):
        lines += ['', 'Skipped images: ' + ', '.join(f'{n} ({why})' for why, n in d['frames_skipped'].items())]
    return lines + ['']


def _traj_md(t: dict) -> list[str]:
    if 'skipped' in t or 'error' in t:
        return [f'Trajectory metrics not computed: {t.get("skipped") or t.get("error")}.', '']
    a = t['association']
    k = t['kitti']
    rf, rd = t['rpe_per_frame'], t['rpe_per_distance']
    seg = ('KITTI lengths 100..800 m, step 10 frames' if k['segment_mode'] == 'kitti' else
           f'trajectory shorter than 100 m: proportional lengths '
           f'{", ".join(f"{x:.3g}" for x in k["segment_lengths_m"])} m (0.1..0.8 x GT path), step '
           f'{k["step_frames"]} frame; NOT comparable with KITTI leaderboards')
    return [
        f'{a["matched"]} of {a["estimated"]} estimated poses matched ground truth within '
        f'{a["tolerance_ms"]:g} ms (largest difference {a["max_diff_ms"]:.3f} ms). '
        f'Alignment **{t["alignment"]}**, scale {t["sim3_scale"]:.4f}; GT path {t["gt_path_length_m"]:.3f} m.', '',
        '| metric | value |', '|---|---|',
        f'| ATE RMSE [m] | {_fmt(t["ate_m"]["rmse"])} |',
        f'| ATE mean / max [m] | {_fmt(t["ate_m"]["mean"])} / {_fmt(t["ate_m"]["max"])} |',
        f'| ATE rotation RMSE [deg] | {_fmt(t["ate_rot_deg"]["rmse"], 3)} |',
        f'| RPE per frame, trans RMSE [m] | {_fmt((rf["trans_m"] or {}).get("rmse"))} |',
        f'| RPE per frame, rot RMSE [deg] | {_fmt((rf["rot_deg"] or {}).get("rmse"), 3)} |',
        f'| RPE per {rd["delta_m"]:.3g} m, trans RMSE [m] | {_fmt((rd["trans_m"] or {}).get("rmse"))} |',
        f'| RPE per {rd["delta_m"]:.3g} m, rot RMSE [deg] | {_fmt((rd["rot_deg"] or {}).get("rmse"), 3)} |',
        f'| t_err [%] | {_fmt(k["t_err_pct"], 3)} |',
        f'| r_err [deg/100 m] | {_fmt(k["r_err_deg_per_100m"], 3)} |',
        '', f'Segments: {k["segments"]} ({seg}).', '']


def write_report(out_dir: Path, result: dict, figures: list[Path]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    clean = json.loads(json.dumps(result, default=str))
    if isinstance(clean.get('trajectory'), dict):
        clean['trajectory'].pop('_plot', None)
    (out_dir / 'metrics.json').write_text(json.dumps(clean, indent=2) + '\n')
    f = result['frames']
    lines = [f'# Evaluation of {result["bag"]}', '',
             f'Mode **{result["mode"]}**; estimator: {result["estimator"]}.', '',
             f'Topics: {result["topics"]}.', '',
             f'Frames: {f["images_in_bag"]} images in the bag, {f["evaluated"]} evaluated, '
             f'{f["with_gt_depth"]} with GT depth, {f["without_gt_depth"]} without, '
             + (f'{f["dropped"]} dropped by the ROS path, ' if 'dropped' in f else '')
             + f'{f.get("not_evaluated", 0)} not evaluated (--max-frames).', '',
             '## Depth', ''] + _depth_md(result['depth']) + ['## Ego-motion', ''] + _traj_md(result['trajectory'])
    if result.get('timing'):
        t = result['timing']
        lines += ['## Timing', '', f'{t["frames"]} frames in {t["total_s"]:.2f} s '
                  f'({t["fps"]:.2f} frames/s); estimator {t["estimator_s"]:.2f} s, bag read/convert '
                  f'{t["read_s"]:.2f} s, metrics {t["metrics_s"]:.2f} s, output bag {t["output_bag_s"]:.2f} s, '
                  f'report {t.get("report_s", 0):.2f} s.', '']
    if result.get('output_bag'):
        lines += ['## Outputs', '', f'Output bag: `{result["output_bag"]}` (depth, camera_info, points, '
                  'odom, tf; play it with `ros2 bag play --clock` or open it in Foxglove).', '']
    if figures:
        lines += ['## Figures', ''] + [f'![{p.stem}]({p.name})' for p in figures] + ['']
    path = out_dir / 'report.md'
    path.write_text('\n'.join(lines))
    return path
