"""`depth-perception boost`: boosted high-resolution depth for every image of a folder.

Output is RELATIVE (MiDaS: inverse depth, LeReS: depth; unknown scale and shift), written as
the reference does: `<output>/<stem>.png`, uint16 min-max (or 8-bit INFERNO with
--colorize). With an SC-Depth (or other package estimator) base the boosted map is also fitted
back onto the base's own depth: `<output>/<stem>_depth.npy`, float32, on the base's scale
(SC-Depth: up to one global scale, times --depth-scale).
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

from ..boosted_params import BOOST_BACKENDS

NAME = 'boost'
HELP = ('Boosted high-resolution depth (Miangoleh et al. 2021) for a folder of images: '
        'relative depth (unknown scale and shift) as 16-bit PNGs.')
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument('--base', required=True,
                        help="base network: 'midas' (MiDaS v2 model.pt), 'leres' (res101.pth), "
                             "'scdepth' or another package estimator")
    parser.add_argument('--checkpoint', default='',
                        help='base weights (required for midas/leres; scdepth: default packaged model)')
    parser.add_argument('--merge-checkpoint', required=True, type=Path,
                        help='merge network latest_net_G.pth (pix2pix unet_1024)')
    parser.add_argument('--mode', required=True, choices=['R0', 'R20', 'Final'])
    parser.add_argument('--input', required=True, type=Path, help='folder of .png/.jpg images')
    parser.add_argument('--output', required=True, type=Path, help='output folder')
    parser.add_argument('--max-res', type=float, default=math.inf,
                        help='cap on the Final target resolution (px); below R20: no local boosting')
    parser.add_argument('--colorize', action='store_true', help='8-bit INFERNO PNGs instead of uint16')
    parser.add_argument('--save-whole', action='store_true',
                        help='Final: also write the whole-image estimate to <output>_wholeimage/')
    parser.add_argument('--save-patches', action='store_true',
                        help='Final: write each patch estimate to <output>_patchest/<stem>_NNNN.png')
    parser.add_argument('--dump', type=Path, default=None,
                        help='write every stage per image to DIR/<stem>/ (npy + stages.json)')
    parser.add_argument('--receptive-field', type=int, default=0,
                        help='base receptive field in px (default: 384 MiDaS, 448 LeReS, the '
                             "estimator's network size otherwise)")
    parser.add_argument('--depth-scale', type=float, default=1.0,
                        help='scdepth base: metres per model unit')
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--merge-size', type=int, default=0,
                        help='square size (px) the merge net runs at; default: the net\'s own '
                             '(2**down-samplings: 1024 for the reference unet_1024, input_size_px '
                             'for a reduced net from `train --config boost/merge`)')
    parser.add_argument('--backend', default='eager', choices=BOOST_BACKENDS,
                        help='onnxruntime: the MiDaS base and the merge net run in ONNX Runtime '
                             '(exported in memory at start; within 1e-3 of eager); eager is the exact mode')
    parser.add_argument('--batch', type=int, default=1,
                        help='Final: patches per network call (same result within float '
                             'rounding, faster on a GPU; memory grows with it)')


def build_base(name: str, checkpoint: str, device, receptive_field: int = 0, depth_scale: float = 1.0):
    """The boosting base for `name`, with its weights loaded."""
    from ..boosting import bases, weights
    if name in ('midas', 'leres'):
        if not checkpoint:
            raise ValueError(f'--base {name} needs --checkpoint '
                             f'({"model.pt" if name == "midas" else "res101.pth"})')
        if name == 'midas':
            base = bases.MidasBase(weights.read_midas(checkpoint), device)
        else:
            base = bases.LeresBase(weights.read_leres(checkpoint), device)
        if receptive_field:
            base.receptive_field = receptive_field
        return base, None
    from ..estimators import create_estimator
    if name == 'scdepth':
        est = create_estimator('scdepth', checkpoint=checkpoint, device=str(device),
                               estimate_motion=False, depth_scale=depth_scale)
        return bases.SCDepthBase(est, receptive_field=receptive_field or None), est
    if name == 'depthnet':
        raise ValueError('--base depthnet is not supported: DepthNet needs a pair of frames with '
                         'known motion, boosting works on single images')
    est = create_estimator(name, checkpoint=checkpoint, device=str(device))
    if not receptive_field:
        raise ValueError(f'--base {name} needs --receptive-field (its network input size in px)')
    return bases.EstimatorBase(est, receptive_field), est


def run(args) -> int:
    from ..malloc_tuning import keep_freed_memory
    keep_freed_memory(all_from_one_heap=True)   # every patch allocates 40-70 MB blocks anew
    import torch

    from ..boosting.output import write_depth_png
    from ..boosting.merge import merge_size_px
    from ..boosting.ort import use_onnxruntime
    from ..boosting.pipeline import BoostConfig, boost, map_onto_base
    from ..boosting.weights import read_merge_net
    from ..estimators import CameraFrame
    from ..estimators.scdepth import pick_device
    from ..image_io import list_images, read_rgb

    images = list_images(args.input)
    device = pick_device(args.device)
    net = read_merge_net(args.merge_checkpoint).to(device)
    cfg = BoostConfig(mode=args.mode, max_res=args.max_res, batch_size=args.batch,
                      pix2pixsize=merge_size_px(net, args.merge_size))
    base, estimator = build_base(args.base, args.checkpoint, device, args.receptive_field,
                                 args.depth_scale)
    if args.backend == 'onnxruntime':
        net = use_onnxruntime(base, net, device)
    log.info('boosting with %s base (receptive field %d px), mode %s, %s; output is %s',
             base.name, base.receptive_field, args.mode, args.backend, base.kind)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / 'boost.json').write_text(json.dumps({
        'base': base.name, 'mode': args.mode, 'receptive_field_px': base.receptive_field,
        'png': f'{base.kind}: min-max normalised per image, '
               f'{"8-bit INFERNO" if args.colorize else "uint16"}; NOT metres',
        'npy': ('<stem>_depth.npy: boosted depth fitted (scale and shift, in disparity) onto the '
                'base estimator\'s own depth; same units as the base' if estimator else None)},
        indent=2) + '\n')
    failed = 0
    for path in images:
        try:
            rgb = read_rgb(path)
        except ValueError as exc:
            log.error('%s', exc)
            failed += 1
            continue
        stem = path.stem
        dump_dir = args.dump / stem if args.dump else None
        base.record = [] if dump_dir else None
        kept = {}

        def on_patch(index, info, estimate, stem=stem, kept=kept):
            if base.record is not None:   # keep only the whole-image network runs for the dump
                kept['record'], base.record = base.record, None
            if args.save_patches:
                write_depth_png(Path(f'{args.output}_patchest') / f'{stem}_{info["id"]:04d}',
                                estimate, args.colorize)
        with torch.inference_mode():
            result = boost(rgb, base, net, cfg, on_patch=on_patch)
        write_depth_png(args.output / stem, result.depth, args.colorize)
        if args.save_whole and args.mode == 'Final':
            import cv2
            whole = cv2.resize(result.whole, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_CUBIC)
            write_depth_png(Path(f'{args.output}_wholeimage') / stem, whole, args.colorize)
        if estimator is not None:
            estimator.reset()
            base_depth = estimator.estimate(CameraFrame(rgb)).depth_m
            np.save(args.output / f'{stem}_depth.npy', map_onto_base(result.depth, base_depth))
        if dump_dir:
            whole_runs = 1 if result.singles['low'] is result.singles['high'] else 2
            _dump(dump_dir, kept.get('record', base.record)[:whole_runs], result)
        log.info('%s: R=%d px, %d patches, %.1f s', stem, result.resolution, len(result.patches),
                 sum(result.timings_s.values()))
    log.info('wrote %d boosted maps (%s) to %s', len(images) - failed, base.kind, args.output)
    return 1 if failed else 0


def _dump(folder: Path, record: list, result) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for msize, net_in, net_out in record:
        np.save(folder / f'base_input_{msize}.npy', net_in)
        np.save(folder / f'base_output_{msize}.npy', net_out)
    for key, value in result.singles.items():
        np.save(folder / f'single_{key}.npy', value)
    np.save(folder / 'whole.npy', result.whole)
    np.save(folder / 'result.npy', result.depth)
    (folder / 'stages.json').write_text(json.dumps(result.summary(), indent=2) + '\n')
