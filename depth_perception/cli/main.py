"""`depth-perception` command: each subcommand is a thin shell over an importable function.

Every module in COMMANDS provides `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS = ('demo', 'infer', 'synth', 'eval', 'train', 'export', 'orbslam_settings', 'boost', 'leres_depth')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='depth-perception',
        description='Learned monocular depth, point clouds and ego-motion: offline tools.')
    parser.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for name in COMMANDS:
        module = importlib.import_module(f'depth_perception.cli.{name}')
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format='%(levelname)s %(name)s: %(message)s')
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        if args.verbose:
            raise
        from ..checkpoints import CheckpointError
        kind = '' if isinstance(exc, (CheckpointError, FileNotFoundError, ValueError)) else f'{type(exc).__name__}: '
        print(f'depth-perception {args.command}: error: {kind}{exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
