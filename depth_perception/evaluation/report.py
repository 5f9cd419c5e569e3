"""Write the report folder: metrics.json (everything, machine-readable), report.md (the
answer for a human) and the figures."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from .depth_metrics import METRIC_NAMES
from .verdict import scale_stability_line, verdict_line

log = logging.getLogger(__name__)


def _fmt(v, nd=4) -> str:
    return '–' if v is None else (f'{v:.{nd}f}' if isinstance(v, float) else str(v))


def _depth_md(d: dict) -> list[str]:
    if 'skipped' in d:
        return [f'Depth metrics skipped: {d["skipped"]}.', '']
    lines = [f'Preset **{d["preset"]}** (depth in ({d["min_depth_m"]}, {d["max_depth_m"]}) m), '
             f'scaling **{d["scaling"]}**'
             + (f' (sequence ratio {d["sequence_ratio"]:.4f})' if d.get('sequence_ratio') else '')
             + f'; {d["frames_evaluated"]} images evaluated (mean over images). The constant '
               f'baseline is one depth per image, median scaled per image (an oracle scale).', '']
    lines += ['| prediction | region | ' + ' | '.join(METRIC_NAMES) + ' |',
              '|---' * (len(METRIC_NAMES) + 2) + '|']
    base = d.get('baseline_constant') or {}
    for who, block in (('model', d), ('constant depth', base)):
        for region in ('metrics', 'metrics_static', 'metrics_dynamic'):
            m = block.get(region)
            if m:
                name = region.replace('metrics_', '') if region != 'metrics' else 'all'
                lines.append(f'| {who} | {name} | ' + ' | '.join(_fmt(m[k]) for k in METRIC_NAMES) + ' |')
    rho = d.get('spearman')
    lines += ['', f'Spearman rank correlation per image (prediction vs GT): median '
                  f'{_fmt(rho["median"], 3) if rho else "–"} over {rho["frames"] if rho else 0} images '
                  f'(1 = same depth order, 0 = none; a constant has no order).']
    r = d.get('median_ratio')
    if r:
        lines += ['', f'median(gt)/median(pred) per image: mean {r["mean"]:.4f}, std {r["std"]:.4f}.']
    stab = scale_stability_line(d)
    if stab:
        lines += ['', stab[0].upper() + stab[1:] + '.']
    if d.get('frames_skipped'):
        lines += ['', 'Skipped images: ' + ', '.join(f'{n} ({why})' for why, n in d['frames_skipped'].items())]
    return lines + ['']


def _val(block: dict | None, *keys, nd=4) -> str:
    for k in keys:
        block = block.get(k) if isinstance(block, dict) else None
    return _fmt(block, nd)


def _traj_md(t: dict) -> list[str]:
    if 'skipped' in t or 'error' in t:
        return [f'Trajectory metrics not computed: {t.get("skipped") or t.get("error")}.', '']
    a = t['association']
    k = t['kitti']
    rd = t['rpe_per_distance']
    b = t.get('baselines') or {}
    z, c = b.get('zero_motion'), b.get('constant_velocity')
    rows = [('ATE RMSE [m]', ('ate_m', 'rmse'), 4),
            ('ATE mean / max [m]', None, 4),
            ('RPE per frame, trans RMSE [m]', ('rpe_per_frame', 'trans_m', 'rmse'), 4),
            ('RPE per frame, rot RMSE [deg]', ('rpe_per_frame', 'rot_deg', 'rmse'), 3),
            (f'RPE per {rd["delta_m"]:.3g} m (GT distance), trans RMSE [m]', ('rpe_per_distance', 'trans_m', 'rmse'), 4),
            (f'RPE per {rd["delta_m"]:.3g} m (GT distance), rot RMSE [deg]', ('rpe_per_distance', 'rot_deg', 'rmse'), 3),
            ('orientation drift after aligning the first pose, RMSE [deg]', ('orientation_drift_deg', 'rmse'), 3)]
    lines = [
        f'{a["matched"]} of {a["estimated"]} estimated poses matched ground truth within '
        f'{a["tolerance_ms"]:g} ms (largest difference {a["max_diff_ms"]:.3f} ms); GT path '
        f'{t["gt_path_length_m"]:.3f} m.', '',
        f'Alignment: {t.get("alignment_note", t["alignment"])}; scale {t["sim3_scale"]:.4f}. '
        f'Baselines use the same alignment mode: zero motion (standing still) and a constant-velocity '
        f'straight line (the GT\'s mean velocity, no rotation).', '',
        '| metric | model | zero motion | constant velocity |', '|---|---|---|---|']
    for label, keys, nd in rows:
        if keys is None:
            vals = [f'{_val(x, "ate_m", "mean")} / {_val(x, "ate_m", "max")}' for x in (t, z, c)]
        else:
            vals = [_val(x, *keys, nd=nd) for x in (t, z, c)]
        lines.append(f'| {label} | ' + ' | '.join(vals) + ' |')
    lines += ['', 'Rotation error is the per-frame relative rotation (RPE) and the orientation drift '
                  'relative to the first pose; an orientation error after a position-only fit is not '
                  'reported (its rotation is arbitrary for straight or planar paths).']
    for name, x in (('zero motion', z), ('constant velocity', c)):
        if x and x.get('alignment_fallback_reason') and x['alignment_method'] != t.get('alignment_method'):
            lines.append(f'{name.capitalize()} baseline alignment: {x["alignment_note"]}.')
    if rd.get('note'):
        lines += ['', f'RPE per distance: {rd["note"]}.']
    if k.get('meaningful', k['segment_mode'] == 'kitti'):
        lines += ['', f'KITTI t_err {_fmt(k["t_err_pct"], 3)} %, r_err {_fmt(k["r_err_deg_per_100m"], 3)} '
                      f'deg/100 m over {k["segments"]} segments (100..800 m, step 10 frames).']
    else:
        lines += ['', f'KITTI t_err / r_err: {k.get("note") or "not meaningful on paths below 100 m"}.']
    return lines + ['']


def _bad_md(result: dict) -> list[str]:
    bad = result.get('bad_messages') or {}
    if not bad.get('count'):
        return []
    lines = ['## Partial result', '',
             f'**{bad["count"]} bad message(s) were skipped**; the numbers above cover the rest.', '',
             '| topic | index on topic | stamp [s] | problem |', '|---|---|---|---|']
    for it in bad['items'][:50]:
        st = '–' if it['stamp_ns'] is None else f'{it["stamp_ns"] / 1e9:.6f}'
        lines.append(f'| {it["topic"]} | {it["index"]} | {st} | {it["problem"]} |')
    if bad['count'] > 50:
        lines.append(f'| … | | | {bad["count"] - 50} more in metrics.json |')
    return lines + ['']


def write_report(out_dir: Path, result: dict, figures: list[Path]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    clean = json.loads(json.dumps(result, default=str))
    if isinstance(clean.get('trajectory'), dict):
        clean['trajectory'].pop('_plot', None)
    (out_dir / 'metrics.json').write_text(json.dumps(clean, indent=2) + '\n')
    f = result['frames']
    partial = bool((result.get('bad_messages') or {}).get('count'))
    lines = [f'# Evaluation of {result["bag"]}' + (' (PARTIAL: bad messages skipped)' if partial else ''), '',
             f'Mode **{result["mode"]}**; estimator: {result["estimator"]}.', '',
             f'**{verdict_line(result.get("depth"), result.get("trajectory"))}**', '',
             f'Topics: {result["topics"]}.', '',
             f'Frames: {f["images_in_bag"]} images in the bag, {f["evaluated"]} evaluated, '
             f'{f["with_gt_depth"]} with GT depth, {f["without_gt_depth"]} without, '
             + (f'{f["dropped"]} dropped by the ROS path, ' if 'dropped' in f else '')
             + f'{f.get("not_evaluated", 0)} not evaluated (--max-frames).', '',
             ] + _bad_md(result) + ['## Depth', ''] + _depth_md(result['depth']) + ['## Ego-motion', ''] + _traj_md(result['trajectory'])
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
