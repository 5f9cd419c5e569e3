"""Align an estimated trajectory to ground truth (positions only), without ever failing.

Umeyama's least-squares similarity/rigid fit is used when it is well posed. It is not when
the positions are (nearly) collinear or one of the paths does not move: then the rotation
about the path, or the scale, is not determined by the data (evo raises 'Degenerate
covariance rank' there). Instead of losing the evaluation, such cases fall back to the
*first-pose* alignment: rotation from the first ground-truth and estimated orientations,
then the least-squares translation (and scale, for sim3) given that rotation. The result
says which method was used and why, so a report never hides the fallback.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALIGNMENTS = ('sim3', 'se3', 'none')
# Second singular value of the cross-covariance below this fraction of the first: the
# positions are collinear for the fit's purposes and the rotation about the line is noise.
COLLINEAR_RATIO = 1e-3
# A path whose RMS spread is below this fraction of the other's is "not moving".
STILL_RATIO = 1e-6


@dataclass
class Alignment:
    R: np.ndarray          # 3x3
    t: np.ndarray          # 3
    scale: float
    method: str            # 'umeyama', 'first_pose', 'none'
    reason: str = ''       # why Umeyama was not used ('' when it was, or for 'none')

    def apply(self, T_list) -> list[np.ndarray]:
        """T_world_cam list -> aligned copies (positions scaled, rotated, shifted)."""
        out = []
        for T in T_list:
            A = np.eye(4)
            A[:3, :3] = self.R @ T[:3, :3]
            A[:3, 3] = self.scale * (self.R @ T[:3, 3]) + self.t
            out.append(A)
        return out

    def describe(self, mode: str) -> str:
        if self.method == 'none':
            return 'none (poses compared as they are)'
        what = {'umeyama': f'{mode} Umeyama (least squares over all positions)',
                'first_pose': f'{mode} fallback: rotation of the first pose, least-squares '
                              f'translation{" and scale" if mode == "sim3" else ""}'}[self.method]
        return what + (f' because {self.reason}' if self.reason else '')


def _first_pose_fit(g: np.ndarray, e: np.ndarray, R: np.ndarray, with_scale: bool,
                    reason: str) -> Alignment:
    gc, ec = g - g.mean(0), e - e.mean(0)
    scale = 1.0
    if with_scale:
        den = float((ec ** 2).sum())
        if den > 0:
            scale = float(np.einsum('ij,ij->', gc, ec @ R.T)) / den
            if scale <= 0:
                reason += '; the estimate moves against the ground truth, best scale 0'
                scale = 0.0
        else:
            reason += '; scale undetermined (the estimate does not move), 1 used'
    t = g.mean(0) - scale * (R @ e.mean(0))
    return Alignment(R, t, scale, 'first_pose', reason)


def align(gt_T, est_T, mode: str = 'sim3') -> Alignment:
    """Alignment that maps est_T onto gt_T (both lists of 4x4 T_world_cam, associated)."""
    if mode not in ALIGNMENTS:
        raise ValueError(f'unknown alignment {mode!r}; choose one of {ALIGNMENTS}')
    if mode == 'none':
        return Alignment(np.eye(3), np.zeros(3), 1.0, 'none')
    g = np.array([T[:3, 3] for T in gt_T], dtype=np.float64)
    e = np.array([T[:3, 3] for T in est_T], dtype=np.float64)
    R0 = gt_T[0][:3, :3] @ est_T[0][:3, :3].T
    with_scale = mode == 'sim3'
    gc, ec = g - g.mean(0), e - e.mean(0)
    var_g, var_e = float((gc ** 2).sum(1).mean()), float((ec ** 2).sum(1).mean())
    if var_g <= 0 or var_e <= STILL_RATIO ** 2 * var_g:
        who = 'the ground truth' if var_g <= 0 else 'the estimate'
        return _first_pose_fit(g, e, R0, with_scale, f'{who} does not move')
    C = gc.T @ ec / len(g)
    U, D, Vt = np.linalg.svd(C)
    if D[1] < COLLINEAR_RATIO * D[0]:
        return _first_pose_fit(g, e, R0, with_scale,
                               'the positions are (nearly) collinear, so the rotation about the '
                               'path is not determined by them')
    S = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        S[2, 2] = -1.0
    R = U @ S @ Vt
    scale = float(np.trace(np.diag(D) @ S) / var_e) if with_scale else 1.0
    t = g.mean(0) - scale * (R @ e.mean(0))
    return Alignment(R, t, scale, 'umeyama')
