"""Turn DepthNet training checkpoints into one shippable model file (fp16 allowed).

    python -m depth_perception_training.depthnet.finalise --checkpoint RUN/epochs/a.pth.tar b.pth.tar \
        --output depthnet_default.pt --half

Several checkpoints of one run (e.g. the epochs after the last lr drop) are averaged weight by
weight, BatchNorm statistics included: with a small constant lr, Adam's iterates wander around
a minimum and their mean sits nearer it than any one of them. The file is written in the
project's own 'current' DepthNet layout with the sources and the training provenance of the
last input, so it says where it came from.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from depth_perception.checkpoints_depthnet import build_depthnet, read_depthnet_checkpoint, save_depthnet_checkpoint


def average_checkpoints(paths: list[str | Path]):
    """(DepthNet with the mean of every float tensor of the files, the last file's weights record)."""
    if not paths:
        raise ValueError('no checkpoint given')
    records = [read_depthnet_checkpoint(p) for p in paths]
    first = records[0]
    for r in records[1:]:
        same = (r.batch_norm, r.with_confidence, r.activation, r.clamp, set(r.state_dict)) == \
               (first.batch_norm, first.with_confidence, first.activation, first.clamp, set(first.state_dict))
        if not same:
            raise ValueError(f'{r.source}: not the same DepthNet variant as {first.source}; cannot average')
    mean = {}
    for k, v in first.state_dict.items():
        if v.is_floating_point():
            mean[k] = torch.stack([r.state_dict[k].double() for r in records]).mean(0).float()
        else:
            mean[k] = records[-1].state_dict[k]
    last = records[-1]
    last.state_dict = mean
    return build_depthnet(last), last


def finalise(paths: list[str | Path], output: str | Path, half: bool = False) -> Path:
    net, record = average_checkpoints(paths)
    provenance = dict(record.metadata.get('provenance') or {})
    provenance['finalised_from'] = [str(p) for p in paths]
    provenance['half'] = bool(half)
    return save_depthnet_checkpoint(output, net, epoch=int(record.metadata.get('epoch') or 0),
                                    best_error=record.best_error, training_width_px=record.training_width_px,
                                    training_focal_px=record.training_focal_px, provenance=provenance, half=half)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', nargs='+', required=True, help='one file, or several to average')
    parser.add_argument('--output', required=True)
    parser.add_argument('--half', action='store_true', help='store float tensors as fp16 (half the size)')
    args = parser.parse_args(argv)
    try:
        path = finalise(args.checkpoint, args.output, args.half)
    except (ValueError, FileNotFoundError) as exc:
        print(f'finalise: error: {exc}', file=sys.stderr)
        return 2
    print(f'{path}: {path.stat().st_size / 2 ** 20:.1f} MiB from {len(args.checkpoint)} checkpoint(s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
