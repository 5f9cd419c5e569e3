"""`depth-perception orbslam-settings`: write the ORB-SLAM2 RGB-D settings for pseudo-RGB-D."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = 'orbslam-settings'
HELP = ('write an ORB-SLAM2 RGB-D settings YAML (DepthMapFactor 1.0 for the node\'s 32FC1 '
        'metres) from a camera_info YAML or from fx/fy/cx/cy/width/height')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..orbslam import DEFAULT_BASELINE_M, DEFAULT_TRUSTED_DEPTH_M
    parser.add_argument('--camera-info', type=Path,
                        help='camera_info YAML (camera_calibration_parsers layout or a CameraInfo dump)')
    for name in ('fx', 'fy', 'cx', 'cy'):
        parser.add_argument(f'--{name}', type=float, help=f'{name} in pixels (instead of --camera-info)')
    parser.add_argument('--width', type=int, help='image width in pixels')
    parser.add_argument('--height', type=int, help='image height in pixels')
    parser.add_argument('--fps', type=float, default=30.0, help='camera frame rate [Hz] (default 30)')
    parser.add_argument('--baseline-m', type=float, default=DEFAULT_BASELINE_M,
                        help=f'virtual baseline for Camera.bf [m] (default {DEFAULT_BASELINE_M})')
    parser.add_argument('--trusted-depth-m', type=float, default=DEFAULT_TRUSTED_DEPTH_M,
                        help=f'depth up to which points are "close" (sets ThDepth) [m] '
                             f'(default {DEFAULT_TRUSTED_DEPTH_M})')
    parser.add_argument('--bgr', action='store_true', help='images are BGR (Camera.RGB: 0)')
    parser.add_argument('--features', type=int, default=1000, help='ORBextractor.nFeatures (default 1000)')
    parser.add_argument('-o', '--output', type=Path, help='output file (default: stdout)')


def run(args: argparse.Namespace) -> int:
    from ..orbslam import OrbSlamSettings, camera_info_from_yaml, settings_yaml
    options = dict(fps=args.fps, baseline_m=args.baseline_m, trusted_depth_m=args.trusted_depth_m,
                   rgb_order=not args.bgr, n_features=args.features)
    if args.camera_info is not None:
        K, width, height = camera_info_from_yaml(args.camera_info)
        settings = OrbSlamSettings.from_K(K, width, height, **options)
    else:
        needed = {n: getattr(args, n) for n in ('fx', 'fy', 'cx', 'cy', 'width', 'height')}
        missing = [n for n, v in needed.items() if v is None]
        if missing:
            raise ValueError('give --camera-info or all of --fx --fy --cx --cy --width --height '
                             f'(missing: {", ".join("--" + m for m in missing)})')
        settings = OrbSlamSettings(**needed, **options)
    text = settings_yaml(settings)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f'wrote {args.output}', file=sys.stderr)
    return 0
