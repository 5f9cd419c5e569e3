"""Arguments shared by the commands that run a depth model."""
from __future__ import annotations

# Network input sides: at most 8192 (beyond it one frame's activations exceed any device). Each
# method adds its own rule (SC-Depth: multiples of 32, at least 64), checked by its estimator.
MIN_SIDE, MAX_SIDE = 2, 8192


def parse_resolution(text: str) -> tuple[int, int]:
    """'256x320' -> (256, 320); ValueError (one line, naming the option) otherwise."""
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise ValueError(f'--resolution must look like 256x320 (HxW), got {text!r}') from None
    if not all(MIN_SIDE <= v <= MAX_SIDE for v in (h, w)):
        raise ValueError(f'--resolution {text}: each side must be {MIN_SIDE}..{MAX_SIDE} px')
    return h, w


class InvalidOption(str):
    """The error text of an option value argparse must not refuse itself (it would print the
    whole usage before the error); the command raises it as one line when it reads the option."""


def resolution_arg(text: str):
    """argparse type for --resolution: (h, w), or an InvalidOption carrying the error line."""
    try:
        return parse_resolution(text)
    except ValueError as exc:
        return InvalidOption(str(exc))


def add_model_arguments(parser, methods: tuple[str, ...] = ('scdepth',)) -> None:
    parser.add_argument('--method', default='scdepth', choices=list(methods), help='depth method')
    parser.add_argument('--checkpoint', default='',
                        help='model file (sc_depth_pl .ckpt, SC-SfMLearner .pth.tar or ours); '
                             'default: the packaged model')
    parser.add_argument('--pose-checkpoint', default='',
                        help='separate pose network file (SC-SfMLearner releases)')
    parser.add_argument('--resolution', type=resolution_arg, default=None, metavar='HxW',
                        help='network input size (default: the checkpoint\'s training size)')
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--depth-scale', type=float, default=1.0, help='metres per model unit')
    parser.add_argument('--backend', default='eager', choices=['eager', 'torch', 'onnxruntime', 'auto'],
                        help='inference backend (eager = exact fp32 reference path; see depth_perception.backends)')
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'fp16', 'bf16', 'int8'],
                        help='network precision (int8: SC-Depth with backend onnxruntime on CPU)')
    parser.add_argument('--onnx-dir', default='', help="backend onnxruntime: folder written by `export --format onnx`")


def resolution_option(args) -> tuple[int, int] | None:
    """args.resolution as (h, w); ValueError (one line) for a value the parser marked invalid."""
    if isinstance(args.resolution, InvalidOption):
        raise ValueError(str(args.resolution))
    if isinstance(args.resolution, str):        # set by a caller, not by the parser
        args.resolution = parse_resolution(args.resolution)
    return args.resolution


def model_options(args) -> dict:
    resolution = resolution_option(args)
    return {'checkpoint': args.checkpoint, 'pose_checkpoint': args.pose_checkpoint,
            'resolution_hw': resolution, 'device': args.device, 'depth_scale': args.depth_scale,
            'backend': args.backend, 'precision': args.precision, 'onnx_dir': args.onnx_dir}
