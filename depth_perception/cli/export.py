"""`depth-perception export`: write any SC-Depth checkpoint in the sc_depth_pl Lightning layout."""
from __future__ import annotations

from pathlib import Path

from ..checkpoints import export_sc_depth_pl, read_scdepth_checkpoint

NAME = 'export'
HELP = ('Convert a checkpoint (ours, sc_depth_pl or SC-SfMLearner) into an sc_depth_pl .ckpt '
        '(state_dict with depth_net./pose_net./rectify_net. prefixes, hparams Namespace).')


def add_arguments(parser) -> None:
    parser.add_argument('--checkpoint', required=True, type=Path, help='input checkpoint')
    parser.add_argument('--pose-checkpoint', type=Path, default=None,
                        help='separate pose network file (SC-SfMLearner releases)')
    parser.add_argument('--output', required=True, type=Path, help='output .ckpt path')


def run(args) -> int:
    weights = read_scdepth_checkpoint(args.checkpoint, args.pose_checkpoint)
    if weights.depth_state is None:
        raise ValueError(f'{args.checkpoint}: holds no depth network; sc_depth_pl checkpoints need one')
    path = export_sc_depth_pl(weights, args.output)
    parts = [name for name, part in (('depth', weights.depth_state), ('pose', weights.pose_state),
                                     ('rectify', weights.rectify_state)) if part]
    print(f'wrote {Path(path)} ({"+".join(parts)}, model_version {weights.model_version}, '
          f'R{weights.num_layers})')
    return 0
