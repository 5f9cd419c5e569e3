"""`depth-perception train`: self-supervised SC-Depth training (thin shell over `depth_perception_training.run.train`)."""
from __future__ import annotations

import shlex
import sys

NAME = 'train'
HELP = ('Train SC-Depth V1/V2/V3 on videos in the SC-Depth dataset layout, or DepthNet on Still Box '
        '(configs with method: depthnet), or Boosting\'s merge network (boost/merge). '
        'Example: depth-perception train --config v1/nyu dataset_dir=/data/nyu lr=2e-4')


def add_arguments(parser) -> None:
    parser.add_argument('--config', required=True,
                        help='YAML config file, or the short name of a shipped one: v{1,2,3}/<dataset> '
                             '(e.g. v1/nyu, v3/kitti_raw, depthnet/64, boost/merge; found in the installed package)')
    parser.add_argument('overrides', nargs='*', metavar='KEY=VALUE',
                        help='config overrides, values parsed as YAML (e.g. batch_size=8 no_ssim=true)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                        help="continue an interrupted run: its checkpoints/last.ckpt, or the given Lightning .ckpt")
    parser.add_argument('--no-progress', action='store_true', help='no tqdm progress bar (for log files)')


def run(args) -> int:
    from depth_perception_training.config import resolve_config
    from depth_perception_training.depthnet.config import is_depthnet_config
    # a path as given, or a shipped config by short name (v1/nyu, depthnet/64), installed or not
    args.config = str(resolve_config(args.config))
    from depth_perception_training.boost.config import is_merge_config
    try:
        depthnet = is_depthnet_config(args.config)   # `method: depthnet` in the YAML
        merge = is_merge_config(args.config)         # `method: boost_merge`
    except Exception:  # noqa: BLE001 - unreadable YAML: load_config below says why, in one line
        depthnet = merge = False
    if merge:
        from depth_perception_training.boost.run import run_cli as run_merge
        return run_merge(args)
    if depthnet:
        from depth_perception_training.depthnet.run import run_cli
        return run_cli(args)
    from depth_perception_training.config import load_config
    from depth_perception_training.run import train
    cfg = load_config(args.config, args.overrides)
    cfg.notes.setdefault('command', 'depth-perception ' + ' '.join(shlex.quote(a) for a in sys.argv[1:]))
    result = train(cfg, resume=args.resume, enable_progress_bar=not args.no_progress)
    print(f'run folder: {result.run_dir}')
    print(f'model for the nodes / infer: {result.own_checkpoint}')
    if result.last_checkpoint:
        print(f'resume checkpoint: {result.last_checkpoint}')
    return 0
