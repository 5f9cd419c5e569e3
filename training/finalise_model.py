"""Turn a training checkpoint into a shipped model: optional pose-translation gain, fp16.

    python -m depth_perception_training.finalise_model --checkpoint runs/x/scdepth_last.pt \
        --output model.pt --calibrate-on DATA/val_scenes --half
    python -m depth_perception_training.finalise_model --checkpoint a.pt b.pt c.pt --output avg.pt

Several checkpoints of one run (e.g. the last few validations) are averaged weight by weight
(BatchNorm statistics included): with a constant learning rate and batches of 4 the weights
wander around a minimum, and their mean sits nearer it than any one of them.

Depth and pose come from two networks, so nothing forces their scales to agree; a pose
network trained to regress translation also shrinks it towards zero where it is unsure.
`--calibrate-on` measures both scales on sequences with exact depth and poses
(`evaluate_synthetic`: median GT/pred depth ratio, least-squares pose translation scale) and
multiplies the pose translation by their ratio, so that one `depth_scale` makes both metric.
Use validation sequences, never the test set. The gain is exact: the translation outputs are
a linear 1x1 convolution averaged over the image, so scaling its rows scales them, and the
rotation outputs are untouched. The network's gain is fitted on its own motion
(`--no-pose-refinement`); then, with that gain applied, the same is done for the estimator's
photometrically refined motion, whose translation is in the depth's units but weighted by the
textured pixels rather than the median (`refined_translation_gain`, applied by the estimator to
refined translations only). Gains and data are recorded in the checkpoint's provenance.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from depth_perception.checkpoints import load_strict, read_scdepth_checkpoint, save_own_checkpoint
from depth_perception.models import DispResNet, PoseResNet


def apply_translation_gain(pose_net: PoseResNet, gain: float) -> None:
    """Scale the pose network's translation outputs (tx, ty, tz) by `gain`, rotation unchanged."""
    if not gain > 0:
        raise ValueError(f'translation gain must be positive, got {gain}')
    head = pose_net.decoder.convs_pose[-1]
    with torch.no_grad():
        head.weight[:3] *= gain
        head.bias[:3] *= gain


def scale_gain(summary: dict) -> float:
    """Gain that makes the pose scale equal the depth scale (both metres per model unit)."""
    return summary['pose_lsq_scale_m_per_unit'] / summary['median_scale_ratio_m_per_unit']


def average_states(states: list[dict]) -> dict:
    """Weight-by-weight mean of state dicts with the same keys (integer buffers: the first one's)."""
    keys = set(states[0])
    for i, st in enumerate(states[1:], 1):
        if set(st) != keys:
            raise ValueError(f'checkpoint {i} has different weights than checkpoint 0 '
                             f'(differing: {sorted(keys ^ set(st))[:3]})')
    out = {}
    for k, v in states[0].items():
        if v.is_floating_point():
            out[k] = torch.stack([st[k].float() for st in states]).mean(0)
        else:
            out[k] = v
    return out


def finalise(checkpoint: str | Path | list, output: str | Path, gain: float = 1.0, half: bool = True,
             note: str = '', refined_gain: float = 1.0) -> Path:
    paths = list(checkpoint) if isinstance(checkpoint, (list, tuple)) else [checkpoint]
    all_w = [read_scdepth_checkpoint(p) for p in paths]
    w = all_w[-1]
    checkpoint = ', '.join(str(p) for p in paths)
    if any(x.pose_state is None for x in all_w):
        raise ValueError(f'{checkpoint}: no pose network to finalise')
    if len(all_w) > 1:
        w.depth_state = average_states([x.depth_state for x in all_w])
        w.pose_state = average_states([x.pose_state for x in all_w])
    depth_net = DispResNet(w.num_layers, upsample_mode=w.upsample_mode)
    pose_net = PoseResNet()
    load_strict(depth_net, w.depth_state, str(checkpoint), 'DispResNet')
    load_strict(pose_net, w.pose_state, str(checkpoint), 'PoseResNet')
    if gain != 1.0:
        apply_translation_gain(pose_net, gain)
    provenance = dict(w.metadata.get('provenance') or {})
    provenance['finalised_from'] = str(checkpoint)
    provenance['pose_translation_gain'] = float(gain)
    if not refined_gain > 0:
        raise ValueError(f'refined translation gain must be positive, got {refined_gain}')
    provenance['refined_translation_gain'] = float(refined_gain)
    if note:
        provenance['finalise_note'] = note
    resolution = w.metadata.get('training_resolution_hw') or w.hparams.get('training_resolution_hw')
    hw = tuple(resolution) if resolution else ((w.hparams['img_height'], w.hparams['img_width'])
                                               if w.hparams.get('img_height') else None)
    return save_own_checkpoint(output, depth_net, pose_net, model_version=w.model_version, hparams=w.hparams,
                               provenance=provenance, training_resolution_hw=hw, half=half)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--checkpoint', required=True, nargs='+', help='one checkpoint, or several to average')
    p.add_argument('--output', required=True, type=Path)
    g = p.add_mutually_exclusive_group()
    g.add_argument('--gain', type=float, default=None, help='pose translation gain to apply')
    g.add_argument('--calibrate-on', type=Path, default=None, metavar='SCENES',
                   help='folder of validation scenes (evaluate_synthetic layout) to fit the gain on')
    p.add_argument('--refined-gain', type=float, default=1.0,
                   help='gain for refined translations to record (with --gain; --calibrate-on fits it)')
    p.add_argument('--half', action='store_true', help='store fp16 weights')
    a = p.parse_args(argv)
    gain, refined_gain, note = 1.0, a.refined_gain, ''
    if a.gain is not None:
        gain, note = a.gain, f'gain {a.gain} given on the command line'
    elif a.calibrate_on is not None:
        gain, refined_gain, note = calibrate(a.checkpoint, a.calibrate_on, a.output.with_suffix('.uncalibrated.pt'))
    out = finalise(a.checkpoint, a.output, gain, a.half, note, refined_gain)
    print(f'{out}: pose translation gain {gain:.4f}, refined translation gain {refined_gain:.4f}'
          + (f' ({note})' if note else ''))
    return 0


def calibrate(checkpoints: list, scenes: Path, scratch: Path) -> tuple[float, float, str]:
    """(network gain, refined gain, note) fitted on the validation `scenes`; `scratch` holds the
    intermediate model (the average and the network gain applied, fp32)."""
    from .evaluate_synthetic import evaluate
    source = finalise(checkpoints, scratch, 1.0, False)     # calibrate the average, not one of its parts
    net = evaluate(str(source), scenes, pose_refinement=False)['summary']
    gain = scale_gain(net)
    source = finalise(checkpoints, scratch, gain, False)
    refined = evaluate(str(source), scenes)['summary']
    refined_gain = scale_gain(refined)
    note = (f"gains fitted on {scenes}: network pose scale {net['pose_lsq_scale_m_per_unit']:.4f} / depth scale "
            f"{net['median_scale_ratio_m_per_unit']:.4f} m/unit; refined pose scale "
            f"{refined['pose_lsq_scale_m_per_unit']:.4f} / depth scale {refined['median_scale_ratio_m_per_unit']:.4f}")
    return gain, refined_gain, note


if __name__ == '__main__':
    raise SystemExit(main())
