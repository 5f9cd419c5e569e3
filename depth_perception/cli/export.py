"""`depth-perception export`: a checkpoint as an sc_depth_pl .ckpt, or its networks as ONNX files."""
from __future__ import annotations

from pathlib import Path

from ..checkpoints import export_sc_depth_pl, read_scdepth_checkpoint

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
                        help='onnx: which kind of checkpoint --checkpoint is (depthnet needs --checkpoint)')
    parser.add_argument('--checkpoint', type=Path, default=None,
                        help='input checkpoint (required for ckpt; onnx default: the packaged model)')
    parser.add_argument('--pose-checkpoint', type=Path, default=None,
                        help='separate pose network file (SC-SfMLearner releases)')
    parser.add_argument('--output', required=True, type=Path,
                        help='output .ckpt path (ckpt) or folder (onnx)')


def run(args) -> int:
    if args.format == 'onnx':
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


def _scdepth_networks(args):
    from ..checkpoints import load_strict
    from ..estimators.scdepth import SCDepthConfig, SCDepthEstimator
    from ..models import RectifyNet
    # the estimator's own loader, so the files hold exactly the weights it would run
    est = SCDepthEstimator(SCDepthConfig(checkpoint=str(args.checkpoint or ''), device='cpu',
                                         pose_checkpoint=str(args.pose_checkpoint or '')))
    rectify = None
    if est.weights is not None and est.weights.rectify_state:
        rectify = RectifyNet().eval()
        load_strict(rectify, est.weights.rectify_state, est.weights.source, 'RectifyNet')
    return {'disp': est.depth_net, 'pose': est.pose_net, 'rectify': rectify}, est.weights_description
