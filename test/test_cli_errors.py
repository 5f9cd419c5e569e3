"""`infer` skips bad images by name and goes on (issue 9, defect 20); model options fail in one
line (defect 22)."""
import logging
import struct
import zlib

import cv2
import numpy as np
import pytest
import torch

from depth_perception import checkpoints
from depth_perception.cli.main import main
from depth_perception.image_io import read_rgb
from depth_perception.models import DispResNet, PoseResNet


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp('ckpt') / 'model.pt'
    return checkpoints.save_own_checkpoint(path, DispResNet(18), PoseResNet(), training_resolution_hw=(64, 64))


def png_claiming(path, width, height):
    """A valid 8x8 PNG whose IHDR (with a correct CRC) claims another size."""
    data = bytearray(cv2.imencode('.png', np.full((8, 8, 3), 100, np.uint8))[1].tobytes())
    assert data[12:16] == b'IHDR'
    data[16:24] = struct.pack('>II', width, height)
    data[29:33] = struct.pack('>I', zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def test_image_headers_are_checked_before_decoding(tmp_path):
    with pytest.raises(ValueError, match=r'huge\.png: header claims 3600000000 pixels, more than 8192x8192; '
                                         r'not decoded'):
        read_rgb(png_claiming(tmp_path / 'huge.png', 60000, 60000))
    with pytest.raises(ValueError, match=r'wide\.png: header claims 9000x8 pixels, more than 8192x8192'):
        read_rgb(png_claiming(tmp_path / 'wide.png', 9000, 8))
    cv2.imwrite(str(tmp_path / 'tiny.png'), np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(ValueError, match=r'tiny\.png: image of 1x1 pixels is too small \(at least 2x2\)'):
        read_rgb(tmp_path / 'tiny.png')
    with pytest.raises(ValueError, match=r'liar\.png: not a readable image$'):   # truncated pixel data
        read_rgb(png_claiming(tmp_path / 'liar.png', 16, 16))


def test_infer_skips_bad_images_by_name_and_goes_on(tmp_path, checkpoint, caplog):
    inputs = tmp_path / 'in'
    inputs.mkdir()
    png_claiming(inputs / 'a_huge.png', 60000, 60000)
    cv2.imwrite(str(inputs / 'b_tiny.png'), np.zeros((1, 1, 3), np.uint8))
    (inputs / 'c_noise.jpg').write_bytes(bytes(range(256)) * 4)
    for name in ('d_good.png', 'e_good.jpg'):
        cv2.imwrite(str(inputs / name), np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8))
    out = tmp_path / 'out'
    with caplog.at_level(logging.INFO):
        code = main(['infer', '--checkpoint', str(checkpoint), '--input', str(inputs), '--output', str(out),
                     '--device', 'cpu', '--no-vis'])
    assert code == 1
    assert sorted(p.name for p in (out / 'depth').iterdir()) == ['d_good.npy', 'e_good.npy']
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3 and all('\n' not in e for e in errors)
    assert errors[0].startswith(f'{inputs / "a_huge.png"}: header claims 3600000000 pixels')
    assert errors[1].startswith(f'{inputs / "b_tiny.png"}: image of 1x1 pixels is too small')
    assert errors[2].startswith(f'{inputs / "c_noise.jpg"}: not a readable image')
    assert any('wrote 2 depth maps' in r.getMessage() and '3 of 5 images skipped' in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize('resolution,message', [
    ('2147483648x64', '--resolution 2147483648x64: each side must be 2..8192 px'),
    ('abc', "--resolution must look like 256x320 (HxW), got 'abc'"),
    ('64x1', '--resolution 64x1: each side must be 2..8192 px'),
    ('32x64', 'network resolution 32x64 must be multiples of 32, at least 64x64'),
])
def test_bad_resolution_is_one_line(tmp_path, checkpoint, capsys, resolution, message):
    inputs = tmp_path / 'in'
    inputs.mkdir()
    cv2.imwrite(str(inputs / 'a.png'), np.zeros((32, 32, 3), np.uint8))
    code = main(['infer', '--checkpoint', str(checkpoint), '--input', str(inputs), '--output',
                 str(tmp_path / 'o'), '--device', 'cpu', '--resolution', resolution])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [f'depth-perception infer: error: {message}']


def test_checkpoint_that_is_json_or_a_loop_is_named_in_one_line(tmp_path, capsys):
    inputs = tmp_path / 'in'
    inputs.mkdir()
    cv2.imwrite(str(inputs / 'a.png'), np.zeros((32, 32, 3), np.uint8))
    (tmp_path / 'model.ckpt').write_text('{"weights": [1, 2, 3]}')
    loop = tmp_path / 'loop.ckpt'
    loop.symlink_to(loop)
    for ckpt, message in ((tmp_path / 'model.ckpt', 'not a torch checkpoint: a JSON file'),
                          (loop, 'symbolic link loop')):
        code = main(['infer', '--checkpoint', str(ckpt), '--input', str(inputs), '--output',
                     str(tmp_path / 'o'), '--device', 'cpu'])
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f'depth-perception infer: error: {ckpt}: {message}')
