"""Crafted and foreign files are refused by `safe_load` before anything is expanded (issue 9, 15/22)."""
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import cv2
import numpy as np
import pytest
import torch

from depth_perception import checkpoints
from depth_perception.checkpoints import CheckpointError, read_scdepth_checkpoint, safe_load
from depth_perception.models import DispResNet, PoseResNet

KEY = 'depth_net.encoder.encoder.conv1.weight'


def own_checkpoint(path, **kwargs):
    torch.manual_seed(0)
    return checkpoints.save_own_checkpoint(path, DispResNet(18), PoseResNet(), **kwargs)


def save_state(path, state, **extra):
    torch.save({'state_dict': state, **extra}, path)
    return path


# ---------------------------------------------------------------- crafted expansions (15)
def test_zero_stride_tensor_is_refused_with_bounded_memory(tmp_path):
    """1.6 kB file, one fp16 tensor of 2^29 elements over 2 bytes: refused, peak RSS growth
    stays far below the 1 GiB (fp16) / 2 GiB (fp32) that converting it would take."""
    path = save_state(tmp_path / 'crafted.ckpt', {KEY: torch.zeros(1, dtype=torch.float16).expand(2 ** 29)})
    assert path.stat().st_size < 4096
    script = textwrap.dedent(f'''
        import resource, torch
        from depth_perception.checkpoints import read_scdepth_checkpoint, CheckpointError
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            read_scdepth_checkpoint({str(path)!r})
            print('LOADED')
        except CheckpointError as exc:
            print('REFUSED', exc)
        print('GROWTH_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    ''')
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, 'OMP_NUM_THREADS': '1'})
    lines = out.stdout.strip().splitlines()
    assert lines and lines[0].startswith('REFUSED'), out.stdout + out.stderr
    assert 'crafted.ckpt' in lines[0] and f'tensor state_dict/{KEY}' in lines[0]
    assert 'repeats its bytes' in lines[0] and '536870912 elements over a 2-byte storage' in lines[0]
    growth_mb = int(lines[-1].split()[1]) / 1024
    assert growth_mb < 200, f'peak RSS grew by {growth_mb:.0f} MB'


def test_overlapping_strides_are_refused(tmp_path):
    base = torch.arange(4096, dtype=torch.float32)
    overlapping = base.as_strided((2048, 2048), (1, 1))   # 4M elements over 8 kB
    save_state(tmp_path / 'o.ckpt', {KEY: overlapping})
    with pytest.raises(CheckpointError, match=r'o\.ckpt: tensor .*conv1\.weight \(2048x2048, strides \(1, 1\)\) '
                                              r'repeats its bytes'):
        read_scdepth_checkpoint(tmp_path / 'o.ckpt')


def test_transposed_and_sliced_views_still_load(tmp_path):
    """Real layouts that are not contiguous are not mistaken for crafted ones."""
    t = torch.randn(8, 4)
    path = tmp_path / 'views.pt'
    torch.save({'a': t.t(), 'b': t[::2], 'c': t[:, 1]}, path)
    obj = safe_load(path)
    assert torch.equal(obj['a'], t.t()) and torch.equal(obj['b'], t[::2]) and torch.equal(obj['c'], t[:, 1])


def test_many_views_of_one_storage_are_refused(tmp_path):
    storage = torch.ones(1 << 18)                       # 1 MiB of real data
    path = tmp_path / 'shared.pt'
    torch.save({f'w{i}': storage.view(512, 512) for i in range(64)}, path)   # 64 MiB described
    with pytest.raises(CheckpointError, match=r'shared\.pt: tensors describe more than \d+ bytes in a '
                                              r'\d+-byte file .*shared storages'):
        safe_load(path)


def test_legacy_file_claiming_a_huge_storage_is_refused(tmp_path):
    path = tmp_path / 'legacy.pt'
    torch.save({'w': torch.zeros(3, dtype=torch.float16)}, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    # the storage's element count in the pickle: BININT1 3 -> BININT 2^30 (2 GiB of fp16)
    marker = b"X\x03\x00\x00\x00cpu"
    at = data.index(marker) + len(marker) + 1           # skip the BINPUT memo index
    at = data.index(b'K\x03', at - 1)
    crafted = data[:at] + b'J' + (2 ** 30).to_bytes(4, 'little') + data[at + 2:]
    path.write_bytes(crafted)
    with pytest.raises(CheckpointError, match=r'legacy\.pt: not a readable torch checkpoint'):
        safe_load(path)


def test_legacy_format_checkpoints_still_load(tmp_path):
    """Pre-1.6 torch files (SC-SfMLearner era) cannot be memory-mapped but are read all the same."""
    net = DispResNet(18)
    path = tmp_path / 'dispnet_model_best.pth.tar'
    torch.save({'epoch': 3, 'state_dict': {'depth_net.' + k: v for k, v in net.state_dict().items()}},
               path, _use_new_zipfile_serialization=False)
    w = read_scdepth_checkpoint(path)
    assert torch.equal(w.depth_state['decoder.dispconvs.0.conv.weight'],
                       net.state_dict()['decoder.dispconvs.0.conv.weight'])


# -------------------------------------------------------------------------- metadata (15)
@pytest.mark.parametrize('value,shown', [([32768, 32768], '32768x32768'), ([0, 64], '0x64'),
                                         ([64, '64'], '64x64'), ([64], '64'), ('big', "'big'")])
def test_absurd_training_resolution_is_refused(tmp_path, value, shown):
    path = own_checkpoint(tmp_path / 'own.pt', training_resolution_hw=(64, 96))
    obj = torch.load(path, weights_only=True)
    obj['training_resolution_hw'] = value
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match=rf'own\.pt: training_resolution_hw must be \[height, width\] '
                                              rf'with each side 1\.\.8192 px, got {shown}$'):
        read_scdepth_checkpoint(path)


def test_absurd_architecture_metadata_is_refused(tmp_path):
    path = own_checkpoint(tmp_path / 'own.pt')
    obj = torch.load(path, weights_only=True)
    obj['model']['num_layers'] = 10 ** 9
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match=r'num_layers must be one of \(18, 50\), got 1000000000'):
        read_scdepth_checkpoint(path)


def test_shapes_are_checked_before_conversion(tmp_path):
    """A tensor of the wrong shape is refused by the reader itself (architecture on the meta device)."""
    state = {'depth_net.' + k: v for k, v in DispResNet(18).state_dict().items()}
    state[KEY] = torch.zeros(64, 3, 7, 8, dtype=torch.float16)
    save_state(tmp_path / 'shape.ckpt', state)
    with pytest.raises(CheckpointError, match=r'shape\.ckpt: weights do not fit DispResNet-18: 1 shape '
                                              r'mismatches \(encoder\.encoder\.conv1\.weight \(64, 3, 7, 8\) '
                                              r'vs \(64, 3, 7, 7\)\)'):
        read_scdepth_checkpoint(tmp_path / 'shape.ckpt')


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, bad):
    net = DispResNet(18)
    state = {'depth_net.' + k: v.clone() for k, v in net.state_dict().items()}
    state['depth_net.decoder.dispconvs.0.conv.weight'][0, 0, 0, 0] = bad
    save_state(tmp_path / 'nan.ckpt', state)
    with pytest.raises(CheckpointError, match=r'nan\.ckpt: tensor state_dict/depth_net\.decoder\.dispconvs\.0\.'
                                              r'conv\.weight holds 1 NaN/Inf values'):
        read_scdepth_checkpoint(tmp_path / 'nan.ckpt')


# ---------------------------------------------------------------- what a file is (22)
def _one_line(exc_info):
    text = str(exc_info.value)
    assert '\n' not in text
    return text


def test_random_bytes_are_unrecognised_binary_not_a_python_object(tmp_path):
    data = bytes(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8))
    assert data[:1] not in (b'\x80', b'P', b'{', b'[')
    (tmp_path / 'noise.ckpt').write_bytes(data)
    with pytest.raises(CheckpointError) as info:
        read_scdepth_checkpoint(tmp_path / 'noise.ckpt')
    text = _one_line(info)
    assert 'noise.ckpt: not a torch checkpoint: unrecognised binary content (first bytes: ' in text
    assert 'Python object' not in text


@pytest.mark.parametrize('name,content,kind', [
    ('model.ckpt', json.dumps({'state_dict': {'w': [1, 2]}}), 'a JSON file'),
    ('model.pt', 'state_dict:\n  w: [1, 2]\nepoch: 3\n', 'a YAML file'),
    ('notes.pt', 'these are not weights, just a note', 'a text file'),
    ('lfs.ckpt', 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n', 'a Git LFS pointer'),
])
def test_text_files_are_named_for_what_they_are(tmp_path, name, content, kind):
    (tmp_path / name).write_text(content)
    with pytest.raises(CheckpointError) as info:
        safe_load(tmp_path / name)
    assert _one_line(info).startswith(f'{tmp_path / name}: not a torch checkpoint: {kind}')


def test_images_plain_pickles_and_foreign_zips_are_named(tmp_path):
    (tmp_path / 'img.pt').write_bytes(cv2.imencode('.png', np.zeros((4, 4, 3), np.uint8))[1].tobytes())
    with pytest.raises(CheckpointError, match=r'img\.pt: not a torch checkpoint: a PNG image$'):
        safe_load(tmp_path / 'img.pt')
    np.save(tmp_path / 'arr.npy', np.zeros(3))
    with pytest.raises(CheckpointError, match=r'arr\.npy: not a torch checkpoint: a NumPy \.npy array$'):
        safe_load(tmp_path / 'arr.npy')
    (tmp_path / 'plain.pkl').write_bytes(pickle.dumps({'w': [1.0]}, protocol=4))
    with pytest.raises(CheckpointError, match=r'plain\.pkl: not a torch checkpoint: a plain Python pickle'):
        safe_load(tmp_path / 'plain.pkl')
    with zipfile.ZipFile(tmp_path / 'other.zip', 'w') as z:
        z.writestr('readme.txt', 'hello')
    with pytest.raises(CheckpointError, match=r'other\.zip: a zip archive but not a torch checkpoint'):
        safe_load(tmp_path / 'other.zip')


def test_torchscript_archive_is_named(tmp_path):
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(tmp_path / 'scripted.pt'))
    with pytest.raises(CheckpointError, match=r'scripted\.pt: a TorchScript archive \(torch\.jit\.save\)'):
        safe_load(tmp_path / 'scripted.pt')


def test_compressed_zip_bomb_is_refused_before_loading(tmp_path):
    good = tmp_path / 'good.pt'
    torch.save({'w': torch.zeros(1 << 20)}, good)          # 4 MiB of zeros
    bomb = tmp_path / 'bomb.pt'
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, 'w', zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    assert bomb.stat().st_size < good.stat().st_size // 50
    with pytest.raises(CheckpointError, match=r'bomb\.pt: zip entries are compressed'):
        safe_load(bomb)


def test_paths_that_are_not_files(tmp_path):
    loop = tmp_path / 'loop.ckpt'
    os.symlink(loop, loop)
    with pytest.raises(CheckpointError, match=r'loop\.ckpt: symbolic link loop'):
        read_scdepth_checkpoint(loop)
    dangling = tmp_path / 'dangling.ckpt'
    os.symlink(tmp_path / 'gone.ckpt', dangling)
    with pytest.raises(CheckpointError, match=r'dangling\.ckpt: broken symbolic link to .*gone\.ckpt'):
        read_scdepth_checkpoint(dangling)
    with pytest.raises(CheckpointError, match=r'is a folder, not a checkpoint file'):
        read_scdepth_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r'nope\.ckpt: file not found$'):
        read_scdepth_checkpoint(tmp_path / 'nope.ckpt')


def test_loaded_tensors_survive_the_file_being_rewritten_in_place(tmp_path):
    """Checked through a file mapping, returned as ordinary memory: a run that saves over the
    checkpoint it loaded (truncating it) must not crash with SIGBUS. In a subprocess, because
    a SIGBUS would take pytest down with it."""
    path = tmp_path / 'resume.pt'
    script = textwrap.dedent(f'''
        import torch
        from depth_perception.checkpoint_io import safe_load
        path = {str(path)!r}
        w = torch.arange(1 << 20, dtype=torch.float32)
        torch.save({{'w': w, 'view': w[::2]}}, path)
        obj = safe_load(path)
        with open(path, 'wb') as f:      # rewritten in place, as torch.save(obj, same_path) does
            f.write(b'x')
        assert torch.equal(obj['w'], w) and torch.equal(obj['view'], w[::2])
        # views of one storage stay views of one (copied) storage
        assert obj['view'].untyped_storage().data_ptr() == obj['w'].untyped_storage().data_ptr()
        print('OK')
    ''')
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == 'OK', (out.returncode, out.stderr[-500:])
