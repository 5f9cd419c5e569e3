"""`depth-perception export`: a checkpoint as an sc_depth_pl .ckpt, or its networks as ONNX files."""
from __future__ import annotations

from pathlib import Path

from ..checkpoints import export_sc_depth_pl, read_scdepth_checkpoint

NAME = 'export'
HELP = ('Convert a checkpoint (ours, sc_depth_pl or SC-SfMLearner) into an sc_depth_pl .ckpt '
        '(state_dict with depth_net./pose_net./rectify_net. prefixes, hparams Namespace), or '
        '(--format onnx) write its depth and pose networks as ONNX files for backend onnxruntime.')


def add_arguments(parser) -> None:
    parser.add_argument('--format', default='ckpt', choices=['ckpt', 'onnx'],
                        help='ckpt: sc_depth_pl checkpoint file; onnx: a folder with '
                             'scdepth_disp.onnx and scdepth_pose.onnx (dynamic height/width)')
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
    from ..backends.onnx import export_onnx, weights_fingerprint
    from ..estimators.scdepth import SCDepthConfig, SCDepthEstimator
    # the estimator's own loader, so the files hold exactly the weights it would run
    est = SCDepthEstimator(SCDepthConfig(checkpoint=str(args.checkpoint or ''), device='cpu',
                                         pose_checkpoint=str(args.pose_checkpoint or '')))
    paths = export_onnx(est.depth_net, est.pose_net, args.output)
    print(f'wrote {", ".join(str(p) for p in paths)} from {est.weights_description} '
          f'(weights sha256 {weights_fingerprint(est.depth_net)[:12]})')
    return 0
