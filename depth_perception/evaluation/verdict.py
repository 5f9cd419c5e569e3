"""One plain line saying which baselines the model beats, and by how much.

Used by `eval`, `demo`, `training/evaluate_synthetic.py` and the training validation, so the
same numbers mean the same words everywhere. "Beats" means strictly lower error (higher for
Spearman); the margin is the relative difference to the baseline.
"""
from __future__ import annotations

# Spearman rho: below this the depth order barely follows the ground truth.
RHO_WEAK = 0.3
RHO_GOOD = 0.6


def compare(name: str, model: float | None, baseline: float | None, unit: str = '',
            nd: int = 3) -> str | None:
    """'beats X (a vs b, 22% lower)' / 'loses to X (a vs b, 1.4x)'; None when not comparable."""
    if model is None or baseline is None:
        return None
    pair = f'{model:.{nd}f}{unit} vs {baseline:.{nd}f}{unit}'
    if model < baseline:
        pct = 100.0 * (baseline - model) / baseline if baseline > 0 else 0.0
        return f'beats {name} ({pair}, {pct:.{0 if pct >= 1 else 1}f}% lower)'
    if model == baseline:
        return f'ties with {name} ({pair})'
    if baseline <= 1e-9 * max(abs(model), 1e-300):
        return f'loses to {name} ({pair}: the baseline is exact on this path)'
    return f'loses to {name} ({pair}, {model / baseline:.2f}x)'


def rho_words(rho: float | None) -> str:
    if rho is None or rho != rho:
        return 'depth order: undefined (constant prediction)'
    if rho >= RHO_GOOD:
        q = 'follows the ground truth'
    elif rho >= RHO_WEAK:
        q = 'follows the ground truth weakly'
    else:
        q = 'barely follows the ground truth'
    return f'depth order {q} (median Spearman {rho:+.2f}; 1 = same order, 0 = none)'


def depth_verdict(abs_rel: float | None, abs_rel_constant: float | None, rho: float | None) -> str | None:
    c = compare('constant depth', abs_rel, abs_rel_constant)
    if c is None:
        return None
    return f'depth abs_rel {c}; {rho_words(rho)}'


def _get(d: dict | None, *keys):
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def trajectory_verdict(traj: dict) -> str | None:
    if not traj or 'ate_m' not in traj:
        return None
    b = traj.get('baselines') or {}
    parts = []
    ate = _get(traj, 'ate_m', 'rmse')
    for key, name in (('zero_motion', 'zero motion'), ('constant_velocity', 'constant velocity')):
        c = compare(name, ate, _get(b, key, 'ate_m', 'rmse'), ' m')
        if c:
            parts.append(c)
    out = 'ATE ' + '; '.join(parts) if parts else ''
    rpe = compare('standing still', _get(traj, 'rpe_per_frame', 'trans_m', 'rmse'),
                  _get(b, 'zero_motion', 'rpe_per_frame', 'trans_m', 'rmse'), ' m', 4)
    if rpe:
        out += f'{"; " if out else ""}per-frame translation RPE {rpe}'
    rot = compare('no rotation', _get(traj, 'rpe_per_frame', 'rot_deg', 'rmse'),
                  _get(b, 'zero_motion', 'rpe_per_frame', 'rot_deg', 'rmse'), ' deg')
    if rot:
        out += f'; per-frame rotation RPE {rot}'
    return out or None


def verdict_line(depth: dict | None, traj: dict | None) -> str:
    """The line for reports and the console, from the `depth` and `trajectory` result blocks."""
    parts = []
    if depth and depth.get('metrics'):
        v = depth_verdict(_get(depth, 'metrics', 'abs_rel'), _get(depth, 'baseline_constant', 'metrics', 'abs_rel'),
                          _get(depth, 'spearman', 'median'))
        if v:
            parts.append(v)
    t = trajectory_verdict(traj or {})
    if t:
        parts.append('ego-motion ' + t)
    if not parts:
        return 'verdict: nothing to compare (no ground truth evaluated)'
    return 'verdict: ' + ' | '.join(parts)


def scale_stability_line(depth: dict) -> str | None:
    s = depth.get('scale_stability') if depth else None
    if not s or s.get('model_cv') is None or s.get('constant_cv') is None:
        return None
    m, c = s['model_cv'], s['constant_cv']
    word = 'more stable than' if m < c else 'no more stable than'
    return (f'scale stability: per-image median(gt)/median(pred) varies by {100 * m:.1f}% (std/mean); '
            f'a constant prediction\'s by {100 * c:.1f}% (the GT\'s own median depth): the model\'s scale '
            f'is {word} a constant\'s')
