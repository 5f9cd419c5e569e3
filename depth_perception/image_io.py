"""Reading image files into the RGB uint8 arrays the estimators take.

The size in a file's header is checked before anything is decoded: a header may claim any
size (a 100-byte PNG can announce 60000x60000), and decoding trusts it.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.ppm', '.tif', '.tiff')
# Largest side decoded (8192 px: 256 MB as 16-bit RGBA) and smallest usable (a depth network
# needs at least 2x2 to resize from).
MAX_IMAGE_SIDE = 8192
MIN_IMAGE_SIDE = 2


def list_images(folder: Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f'{folder}: no such folder')
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f'{folder}: no images ({", ".join(IMAGE_SUFFIXES)})')
    return images


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header, without decoding the pixels."""
    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')          # Pillow's own bomb warning: we decide below
            with Image.open(path) as im:
                return im.size
    except Image.DecompressionBombError as exc:
        pixels = re.search(r'\((\d+) pixels\)', str(exc))
        claim = f'{int(pixels.group(1))} pixels' if pixels else 'too many pixels'
        raise ValueError(f'{path}: header claims {claim}, more than {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE}; '
                         'not decoded') from None
    except UnidentifiedImageError:
        raise ValueError(f'{path}: not a readable image (unrecognised or damaged header)') from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f'{path}: not a readable image ({exc})') from None


def check_image_size(path: Path) -> tuple[int, int]:
    width, height = image_size(path)
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        raise ValueError(f'{path}: header claims {width}x{height} pixels, more than '
                         f'{MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE}; not decoded')
    if width < MIN_IMAGE_SIDE or height < MIN_IMAGE_SIDE:
        raise ValueError(f'{path}: image of {width}x{height} pixels is too small '
                         f'(at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE})')
    return width, height


def read_rgb(path: Path) -> np.ndarray:
    """Any 8/16-bit grey, RGB or RGBA image file -> [H,W,3] uint8 RGB; ValueError naming the
    file for anything else (too large or small by its header, undecodable, odd pixel type)."""
    width, height = check_image_size(path)
    try:
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ValueError(f'{path}: not a readable image ({str(exc).strip().splitlines()[-1]})') from None
    if raw is None:
        raise ValueError(f'{path}: not a readable image')
    if raw.shape[:2] != (height, width):
        raise ValueError(f'{path}: decoded {raw.shape[1]}x{raw.shape[0]} pixels but the header says '
                         f'{width}x{height}')
    if raw.dtype == np.uint16:
        raw = (raw >> 8).astype(np.uint8)
    elif raw.dtype != np.uint8:
        raise ValueError(f'{path}: unsupported pixel type {raw.dtype}')
    if raw.ndim == 2:
        return cv2.cvtColor(raw, cv2.COLOR_GRAY2RGB)
    if raw.shape[2] == 4:
        return cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)
    if raw.shape[2] != 3:
        raise ValueError(f'{path}: unsupported channel count {raw.shape[2]}')
    return cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
