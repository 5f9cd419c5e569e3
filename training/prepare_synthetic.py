"""Render synthetic sequences (depth_perception.synthetic) into the SC-Depth dataset layout.

    python -m depth_perception_training.prepare_synthetic OUT --train 24 --val 2 --test 4 --frames 100 --fps 20 --blur 2

Writes OUT/training/<scene>/{000000.jpg.., cam.txt, depth/*.png (uint16 mm), poses.txt},
OUT/training/train.txt and val.txt, and held-out OUT/testing/<scene>/ in the same form (never
seen in training, for the final evaluation). poses.txt holds T_world_cam (camera-to-world,
optical frame) as 12 row-major floats per line, one line per frame.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

DEPTH_PNG_SCALE = 1000.0   # uint16 millimetres, like TUM/Bonn


def write_sequence(folder: Path, seq, jpeg_quality: int = 95, blur_px: float = 0.0) -> None:
    (folder / 'depth').mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / 'cam.txt', seq.K, fmt='%.9f')
    rows = []
    for i in range(len(seq)):
        frame = seq.render(i)
        rgb = cv2.GaussianBlur(frame.rgb, (0, 0), blur_px) if blur_px > 0 else frame.rgb
        cv2.imwrite(str(folder / f'{i:06d}.jpg'), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        depth_mm = np.nan_to_num(frame.depth_m * DEPTH_PNG_SCALE, nan=0.0)
        cv2.imwrite(str(folder / 'depth' / f'{i:06d}.png'), np.clip(np.round(depth_mm), 0, 65535).astype(np.uint16))
        rows.append(seq.T_world_cam[i][:3].reshape(-1))
    np.savetxt(folder / 'poses.txt', np.array(rows), fmt='%.9f')


def prepare(out: Path, n_train: int, n_val: int, n_test: int, frames: int, width: int, height: int,
            speed_mps: float, seed: int, scenes=('indoor', 'corridor'), fps: float = 10.0,
            blur_px: float = 0.0, trajectory: str | None = None) -> None:
    from depth_perception.synthetic.sequence import make_sequence
    splits = {'train': n_train, 'val': n_val, 'test': n_test}
    index = 0
    for split, count in splits.items():
        names = []
        for k in range(count):
            kind = scenes[k % len(scenes)]
            name = f'{split}_{kind}_{k:03d}'
            # Disjoint seeds per split: held-out rooms and paths are never seen in training.
            seq = make_sequence(scene=kind, frames=frames, width=width, height=height,
                                speed_mps=speed_mps, fps=fps, seed=seed * 10_000 + index,
                                trajectory=trajectory)
            index += 1
            root = out / ('testing' if split == 'test' else 'training')
            write_sequence(root / name, seq, blur_px=blur_px)
            names.append(name)
            print(f'{split}: {name}', flush=True)
        if split != 'test':
            (out / 'training').mkdir(parents=True, exist_ok=True)
            (out / 'training' / f'{split}.txt').write_text('\n'.join(names) + '\n')
        else:
            (out / 'testing').mkdir(parents=True, exist_ok=True)
            (out / 'testing' / 'test.txt').write_text('\n'.join(names) + '\n')


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out', type=Path)
    p.add_argument('--train', type=int, default=24)
    p.add_argument('--val', type=int, default=3)
    p.add_argument('--test', type=int, default=4)
    p.add_argument('--frames', type=int, default=100)
    p.add_argument('--width', type=int, default=320)
    p.add_argument('--height', type=int, default=256)
    p.add_argument('--speed', type=float, default=0.8, help='camera speed, m/s (10 fps)')
    p.add_argument('--fps', type=float, default=10.0,
                   help='frame rate: higher means less motion between frames (rotation and translation)')
    p.add_argument('--blur', type=float, default=0.0, metavar='SIGMA_PX',
                   help='Gaussian blur of the stored frames. The procedural textures carry energy up to '
                        'the pixel scale, which aliases at small training sizes and leaves the '
                        'photometric loss a convergence basin of about one pixel; blurring widens it')
    p.add_argument('--trajectory', default=None, choices=['handheld', 'driving', 'uav'],
                   help="camera path (default: the scene's own). 'uav' is pure translation: all image "
                        'motion is parallax, so depth is observable from the first step')
    p.add_argument('--seed', type=int, default=1)
    a = p.parse_args(argv)
    prepare(a.out, a.train, a.val, a.test, a.frames, a.width, a.height, a.speed, a.seed, fps=a.fps, blur_px=a.blur, trajectory=a.trajectory)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
