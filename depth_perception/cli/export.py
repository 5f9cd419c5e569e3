"""`depth-perception export`: a checkpoint as an sc_depth_pl .ckpt, or its networks as ONNX files."""
from __future__ import annotations

from pathlib import Path

from ..checkpoints import export_sc_depth_pl, read_scdepth_checkpoint
from .common import resolution_arg, resolution_option

NAME = 'export'
HELP = ('Convert a checkpoint (ours, sc_depth_pl or SC-SfMLearner) into an sc_depth_pl .ckpt '
        '(state_dict with depth_net./pose_net./rectify_net. prefixes, hparams Namespace), or '
        '(--format onnx) write its networks (SC-Depth depth, pose and V2 rectify; or DepthNet with '
        '--method depthnet) as ONNX files for backend onnxruntime.')


def add_arguments(parser) -> None:
    parser.add_argument('--format', default='ckpt', choices=['ckpt', 'onnx'],
                        help='ckpt: sc_depth_pl checkpoint file; onnx: a folder with '
                             'scdepth_disp.onnx, scdepth_pose.onnx [, scdepth_rectify.onnx] or '
                             'depthnet.onnx (dynamic height/width)')
    parser.add_argument('--method', default='scdepth', choices=['scdepth', 'depthnet'],
                        help='onnx: which kind of checkpoint --checkpoint is')
    parser.add_argument('--checkpoint', type=Path, default=None,
                        help='input checkpoint (required for ckpt; onnx default: the packaged model)')
    parser.add_argument('--pose-checkpoint', type=Path, default=None,
                        help='separate pose network file (SC-SfMLearner releases)')
    parser.add_argument('--output', required=True, type=Path,
                        help='output .ckpt path (ckpt) or folder (onnx)')
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'int8'],
                        help='onnx: int8 writes scdepth_disp_int8.onnx and scdepth_pose_int8.onnx, statically '
                             'quantized for ONNX Runtime on CPU (SC-Depth only; see backends/quantize.py)')
    parser.add_argument('--calibration', type=Path, default=None, metavar='DIR',
                        help="int8: folder of images (name order = frame order) to calibrate on; default: "
                             "a fixed set of the synthetic engine's hand-held room/corridor frames")
    parser.add_argument('--resolution', type=resolution_arg, default=None, metavar='HxW',
                        help="int8: network input size to calibrate at (default: the checkpoint's "
                             'training size, which the estimator runs unless told otherwise)')


def run(args) -> int:
    if args.format != 'onnx' and (args.precision != 'fp32' or args.calibration or args.resolution):
        raise ValueError('--precision, --calibration and --resolution apply to --format onnx only')
    if args.format == 'onnx' and args.precision == 'int8':
        return _run_int8(args)
    if args.format == 'onnx':
        if args.calibration or args.resolution:
            raise ValueError('--calibration and --resolution apply to --precision int8 only')
        return _run_onnx(args)
    if args.checkpoint is None:
        raise ValueError('--checkpoint is required for --format ckpt')
    weights = read_scdepth_checkpoint(args.checkpoint, args.pose_checkpoint)
    if weights.depth_state is None:
        raise ValueError(f'{args.checkpoint}: holds no depth network; sc_depth_pl checkpoints need one')
    path = export_sc_depth_pl(weights, args.output)
    parts = [name for name, part in (('depth', weights.depth_state), ('pose', weights.pose_state),
                                     ('rectify', weights.rectify_state)) if part]
    print(f'wrote {Path(path)} ({"+".join(parts)}, model_version {weights.model_version}, '
          f'R{weights.num_layers})')
    return 0


def _run_onnx(args) -> int:
    from ..backends.onnx import export_networks, weights_fingerprint
    if args.method == 'depthnet':
        from ..estimators.depthnet_runner import DepthNetRunner
        runner = DepthNetRunner(args.checkpoint or '', 'cpu')
        nets, source = {'depthnet': runner.net}, f'DepthNet checkpoint {runner.weights.source}'
    else:
        nets, source = _scdepth_networks(args)
    paths = export_networks(nets, args.output)
    first = next(iter(nets.values()))
    print(f'wrote {", ".join(str(p) for p in paths)} from {source} '
          f'(weights sha256 {weights_fingerprint(first)[:12]})')
    return 0


def _scdepth_networks(args, resolution_hw=None):
    from ..checkpoints import load_strict
    from ..estimators.scdepth import SCDepthConfig, SCDepthEstimator
    from ..models import RectifyNet
    # the estimator's own loader, so the files hold exactly the weights it would run
    est = SCDepthEstimator(SCDepthConfig(checkpoint=str(args.checkpoint or ''), device='cpu',
                                         pose_checkpoint=str(args.pose_checkpoint or ''),
                                         resolution_hw=resolution_hw))
    if args.precision == 'int8':
        return {'disp': est.depth_net, 'pose': est.pose_net, 'hw': est.resolution_hw}, est.weights_description
    rectify = None
    if est.weights is not None and est.weights.rectify_state:
        rectify = RectifyNet().eval()
        load_strict(rectify, est.weights.rectify_state, est.weights.source, 'RectifyNet')
    return {'disp': est.depth_net, 'pose': est.pose_net, 'rectify': rectify}, est.weights_description


def _run_int8(args) -> int:
    import time

    from ..backends.onnx import save_model, weights_fingerprint
    from ..backends.quantize import INT8_FILES, folder_calibration, quantize_network, synthetic_calibration
    if args.method != 'scdepth':
        raise ValueError('--precision int8 is available for --method scdepth only')
    resolution = resolution_option(args)
    nets, source = _scdepth_networks(args, resolution)
    hw = nets.pop('hw')
    calibration = folder_calibration(args.calibration) if args.calibration else synthetic_calibration()
    args.output.mkdir(parents=True, exist_ok=True)
    for kind in ('disp', 'pose'):
        if nets[kind] is None:
            continue
        t0 = time.perf_counter()
        path = save_model(quantize_network(nets[kind], kind, calibration, hw), args.output / INT8_FILES[kind])
        print(f'wrote {path} ({time.perf_counter() - t0:.0f} s)')
    print(f'int8 from {source} (weights sha256 {weights_fingerprint(nets["disp"])[:12]}), calibrated on '
          f'{calibration.description} at {hw[0]}x{hw[1]}')
    return 0
