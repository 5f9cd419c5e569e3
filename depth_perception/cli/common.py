"""Arguments shared by the commands that run a depth model."""
from __future__ import annotations

import argparse


def parse_resolution(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'must look like 256x320 (HxW), got {text!r}') from None
    return h, w


def add_model_arguments(parser, methods: tuple[str, ...] = ('scdepth',)) -> None:
    parser.add_argument('--method', default='scdepth', choices=list(methods), help='depth method')
    parser.add_argument('--checkpoint', default='',
                        help='model file (sc_depth_pl .ckpt, SC-SfMLearner .pth.tar or ours); '
                             'default: the packaged model')
    parser.add_argument('--pose-checkpoint', default='',
                        help='separate pose network file (SC-SfMLearner releases)')
    parser.add_argument('--resolution', type=parse_resolution, default=None, metavar='HxW',
                        help='network input size; default: the checkpoint\'s training size')
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--depth-scale', type=float, default=1.0, help='metres per model unit')
    parser.add_argument('--backend', default='eager', choices=['eager', 'torch', 'onnxruntime', 'auto'],
                        help='inference backend (eager = exact fp32 reference path; see depth_perception.backends)')
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'fp16', 'bf16'], help='network precision')
    parser.add_argument('--onnx-dir', default='', help="backend onnxruntime: folder written by `export --format onnx`")


def model_options(args) -> dict:
    return {'checkpoint': args.checkpoint, 'pose_checkpoint': args.pose_checkpoint,
            'resolution_hw': args.resolution, 'device': args.device, 'depth_scale': args.depth_scale,
            'backend': args.backend, 'precision': args.precision, 'onnx_dir': args.onnx_dir}
