"""The one way this package reads a torch file: nothing executed, nothing allocated on trust.

`safe_load(path)` is `torch.load(weights_only=True, mmap=True)` wrapped in the checks that
make it safe against crafted files, not only against code execution:

- before loading: the path is a readable regular file; content that is not a torch file at
  all (JSON, YAML, text, images, NumPy, HDF5, random bytes...) is named for what it is; a zip
  must hold a `data.pkl`, store its entries uncompressed (as `torch.save` does) and not claim
  more bytes than the file has (no zip bombs);
- after loading, before anything is converted or copied: every tensor is a plain CPU tensor
  whose elements each have their own bytes in the file (no zero or overlapping strides, which
  let a 2 kB file describe a 1 GiB tensor that `.float()` then materialises), the tensors
  together describe at most a small multiple of the file size, and floating-point values are
  finite (a NaN weight fails every frame later; here the tensor is named).

With mmap the tensors are views of the file while they are checked, so a refused file costs
no allocation. A file that passes is copied into ordinary memory (each storage once, views kept):
mapped tensors would crash the process with SIGBUS if the file were rewritten in place while they
are alive, e.g. when a training run saves over the checkpoint it resumed from. Every failure is a `CheckpointError` whose one-line message names the file and the problem.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import pickle
import re
import stat
import zipfile
from pathlib import Path

import torch

# A legitimate file stores every tensor byte once; views that share a storage (tied weights)
# may describe a little more. Anything beyond this multiple of the file size is a crafted
# expansion and is refused before it can be materialised.
MAX_EXPANSION = 4
EXPANSION_SLACK_BYTES = 1 << 20
DEFAULT_ALLOWED_GLOBALS = (argparse.Namespace,)
_ALLOWED_DTYPES = {torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.uint8,
                   torch.int8, torch.int16, torch.int32, torch.int64, torch.bool}
# pickle of the magic number that starts a legacy (pre-zip) torch.save file
_LEGACY_MAGIC = b'\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19'
_SNIFF_BYTES = 4096
_TEXT_PARSE_LIMIT = 16 << 20


class CheckpointError(Exception):
    """A checkpoint file cannot be used; the message names the file and the problem."""


# --------------------------------------------------------------------------- the file
def check_file(path: Path) -> int:
    """Size of the regular file at `path`, or a CheckpointError saying why it is not one."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CheckpointError(f'{path}: symbolic link loop (the link points back at itself)') from None
        if exc.errno == errno.ENOENT:
            if os.path.islink(path):
                raise CheckpointError(f'{path}: broken symbolic link to {os.readlink(path)} '
                                      '(target does not exist)') from None
            raise CheckpointError(f'{path}: file not found') from None
        if exc.errno == errno.EACCES:
            raise CheckpointError(f'{path}: permission denied') from None
        if exc.errno == errno.ENOTDIR:
            raise CheckpointError(f'{path}: file not found (a parent is not a folder)') from None
        raise CheckpointError(f'{path}: cannot open ({os.strerror(exc.errno or 0)})') from None
    if stat.S_ISDIR(st.st_mode):
        raise CheckpointError(f'{path}: is a folder, not a checkpoint file')
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f'{path}: not a regular file')
    if st.st_size == 0:
        raise CheckpointError(f'{path}: file is empty')
    try:
        with open(path, 'rb'):
            pass
    except PermissionError:
        raise CheckpointError(f'{path}: permission denied') from None
    return st.st_size


def _describe_text(path: Path, head: bytes, size: int) -> str | None:
    """'a JSON file' etc. when the head is text, else None."""
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the sniff window is still text
        if exc.start < len(head) - 4:
            return None
        text = head[:exc.start].decode('utf-8')
    printable = sum(c.isprintable() or c in '\r\n\t' for c in text)
    if not text or printable < 0.95 * len(text):
        return None
    if text.startswith('version https://git-lfs'):
        return 'a Git LFS pointer, not the file itself (fetch it with `git lfs pull`)'
    if size <= _TEXT_PARSE_LIMIT:
        full = path.read_bytes().decode('utf-8', errors='replace')
        stripped = full.lstrip()
        if stripped[:1] in '{[':
            try:
                json.loads(full)
                return 'a JSON file'
            except ValueError:
                pass
        try:
            import yaml
            loaded = yaml.safe_load(full)
            if isinstance(loaded, (dict, list)):
                return 'a YAML file'
        except Exception:  # noqa: BLE001 - not YAML: it is plain text then
            pass
    return 'a text file'


_BINARY_KINDS = (
    (b'\x89PNG\r\n\x1a\n', 'a PNG image'), (b'\xff\xd8\xff', 'a JPEG image'),
    (b'\x93NUMPY', 'a NumPy .npy array'), (b'\x89HDF\r\n\x1a\n', 'an HDF5 file (Keras/h5py?)'),
    (b'\x1f\x8b', 'a gzip archive'), (b'BZh', 'a bzip2 archive'), (b'\x28\xb5\x2f\xfd', 'a zstd archive'),
    (b'\x7fELF', 'an executable (ELF)'), (b'SQLite format 3\x00', 'an SQLite database (a rosbag2 .db3?)'),
    (b'\x89MCAP', 'an MCAP file (a rosbag2 .mcap?)'), (b'GIF8', 'a GIF image'),
)


def _sniff(path: Path, size: int) -> str:
    """'zip' or 'legacy' for torch files; otherwise a CheckpointError naming what the file is."""
    with open(path, 'rb') as f:
        head = f.read(_SNIFF_BYTES)
    if head.startswith(b'PK\x03\x04'):
        return 'zip'
    if head.startswith(_LEGACY_MAGIC):
        return 'legacy'
    what = None
    if head[:1] == b'\x80' and len(head) > 1 and 2 <= head[1] <= 5:
        what = 'a plain Python pickle, not a torch.save file (refused: pickles can run code)'
    for magic, kind in _BINARY_KINDS:
        if head.startswith(magic):
            what = kind
    if what is None and len(head) >= 10:
        n = int.from_bytes(head[:8], 'little')
        if 2 <= n < size and head[8:10] == b'{"':
            what = 'a safetensors file (not supported; this loader reads torch.save files)'
    if what is None and len(head) > 262 and head[257:262] == b'ustar':
        what = 'a tar archive'
    if what is None:
        what = _describe_text(path, head, size)
    if what is None:
        what = ('unrecognised binary content (first bytes: '
                + ' '.join(f'{b:02x}' for b in head[:8]) + ')')
    raise CheckpointError(f'{path}: not a torch checkpoint: {what}')


def _check_zip(path: Path, size: int) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CheckpointError(f'{path}: not a readable torch checkpoint (truncated or corrupt zip: {exc})') from None
    if any(i.filename == 'constants.pkl' or i.filename.endswith('/constants.pkl') for i in infos):
        raise CheckpointError(f'{path}: a TorchScript archive (torch.jit.save), not a checkpoint of '
                              'weights; save the model\'s state_dict with torch.save instead')
    if not any(i.filename == 'data.pkl' or i.filename.endswith('/data.pkl') for i in infos):
        raise CheckpointError(f'{path}: a zip archive but not a torch checkpoint (no data.pkl inside)')
    compressed = [i.filename for i in infos if i.compress_type != zipfile.ZIP_STORED]
    if compressed:
        raise CheckpointError(f'{path}: zip entries are compressed ({compressed[0]}); torch.save '
                              'never compresses, so this file was not written by it')
    claimed = sum(i.file_size for i in infos)
    if claimed > size:
        raise CheckpointError(f'{path}: zip entries claim {claimed} bytes in a {size}-byte file '
                              '(overlapping entries: crafted file)')


# ------------------------------------------------------------------------ the content
def _walk(obj):
    """(name, tensor) for every tensor in nested dicts/lists/tuples/Namespaces (iteratively:
    a crafted pickle can nest deeper than Python's recursion limit)."""
    stack = [('', obj)]
    seen: set[int] = set()
    while stack:
        name, item = stack.pop()
        if torch.is_tensor(item):
            yield name, item
            continue
        if isinstance(item, argparse.Namespace):
            item = vars(item)
        if isinstance(item, dict):
            if id(item) in seen:
                continue
            seen.add(id(item))
            for k, v in item.items():
                stack.append((f'{name}/{k}' if name else str(k), v))
        elif isinstance(item, (list, tuple)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            for i, v in enumerate(item):
                stack.append((f'{name}[{i}]', v))


def _has_own_bytes(t: torch.Tensor) -> bool:
    """Every element at its own storage location: sorted by stride, each dimension steps over
    the whole extent of the smaller ones (sufficient for no overlap, true of any tensor that
    torch.save wrote from a real layout, contiguous or transposed)."""
    dims = sorted((st, sz) for sz, st in zip(t.shape, t.stride()) if sz > 1)
    extent = 1
    for st, sz in dims:
        if st < extent:
            return False
        extent = st * sz
    return True


def check_tensors(obj, path: Path, size: int, *, check_finite: bool | str = True) -> None:
    """Refuse tensors without real storage behind them, too many bytes, or NaN/Inf values
    (in every tensor, or with `check_finite='state_dict'` only in that subtree: training state
    such as ModelCheckpoint's kth_value is legitimately inf)."""
    total = 0
    limit = MAX_EXPANSION * size + EXPANSION_SLACK_BYTES
    for name, t in _walk(obj):
        shape = 'x'.join(map(str, t.shape)) or 'scalar'
        if t.layout != torch.strided:
            raise CheckpointError(f'{path}: tensor {name} has layout {t.layout}; only dense tensors are accepted')
        if t.device.type != 'cpu':
            raise CheckpointError(f'{path}: tensor {name} ({shape}) has no data in the file (device {t.device.type})')
        if t.dtype not in _ALLOWED_DTYPES:
            raise CheckpointError(f'{path}: tensor {name} has unsupported type {t.dtype}')
        if not _has_own_bytes(t):
            raise CheckpointError(
                f'{path}: tensor {name} ({shape}, strides {tuple(t.stride())}) repeats its bytes: '
                f'{t.numel()} elements over a {t.untyped_storage().nbytes()}-byte storage; '
                'refused (crafted file: it would expand when converted)')
        total += t.numel() * t.element_size()
        if total > limit:
            raise CheckpointError(
                f'{path}: tensors describe more than {total} bytes in a {size}-byte file '
                f'(at {name}); refused (crafted file: shared storages expanded)')
    if check_finite is not False:
        prefix = '' if check_finite is True else f'{check_finite}/'
        for name, t in _walk(obj):
            if name.startswith(prefix) and t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all()):
                bad = int((~torch.isfinite(t)).sum())
                raise CheckpointError(f'{path}: tensor {name} holds {bad} NaN/Inf values; '
                                      'refused (a diverged or damaged model)')


MAX_NESTING = 200


def _materialize(obj, copies: dict, path: Path, depth: int = 0):
    """`obj` with every tensor moved off the file mapping; storages shared stay shared."""
    if depth > MAX_NESTING:
        raise CheckpointError(f'{path}: containers nested deeper than {MAX_NESTING} levels; refused')
    if torch.is_tensor(obj):
        storage = obj.untyped_storage()
        new = copies.get(storage.data_ptr())
        if new is None:
            new = copies[storage.data_ptr()] = storage.clone()
        out = torch.empty(0, dtype=obj.dtype).set_(new, obj.storage_offset(), obj.size(), obj.stride())
        if isinstance(obj, torch.nn.Parameter):
            out = torch.nn.Parameter(out, requires_grad=obj.requires_grad)
        return out
    if isinstance(obj, dict):
        for k in list(obj):
            obj[k] = _materialize(obj[k], copies, path, depth + 1)
        return obj
    if isinstance(obj, list):
        for i, v in enumerate(obj):
            obj[i] = _materialize(v, copies, path, depth + 1)
        return obj
    if isinstance(obj, tuple):
        items = [_materialize(v, copies, path, depth + 1) for v in obj]
        return type(obj)(*items) if hasattr(obj, '_fields') else tuple(items)
    if isinstance(obj, argparse.Namespace):
        for k, v in vars(obj).items():
            setattr(obj, k, _materialize(v, copies, path, depth + 1))
    return obj


# --------------------------------------------------------------------------- loading
def safe_load(path: str | Path, allowed_globals=DEFAULT_ALLOWED_GLOBALS, *,
              check_finite: bool | str = True) -> object:
    """Read a torch.save file without executing or expanding anything from it (module docstring)."""
    path = Path(path)
    size = check_file(path)
    kind = _sniff(path, size)
    if kind == 'zip':
        _check_zip(path, size)
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            # mmap only for the zip format (torch cannot map legacy files); a legacy file's
            # storages are read at their recorded sizes, which torch checks against the file.
            obj = torch.load(path, map_location='cpu', weights_only=True, mmap=kind == 'zip')
    except pickle.UnpicklingError as exc:
        text = str(exc)
        reason = re.search(r'WeightsUnpickler error: ([^\n]*)', text)
        reason = reason.group(1).strip() if reason else _first_line(text)
        found = re.search(r'GLOBAL ([\w.]+)', text)
        if found or 'Can only' in reason:
            what = found.group(1) if found else 'a Python object that is not plain data'
            raise CheckpointError(
                f'{path}: refused to load: the file references {what}, which is not on the '
                f'allow-list of plain data types; nothing in it was executed') from None
        raise CheckpointError(f'{path}: not a readable torch checkpoint (corrupt pickle: {reason})') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError,
            IndexError, TypeError, AttributeError, MemoryError) as exc:
        raise CheckpointError(f'{path}: not a readable torch checkpoint (truncated or corrupt: '
                              f'{_first_line(str(exc)) or type(exc).__name__})') from None
    check_tensors(obj, path, size, check_finite=check_finite)
    return _materialize(obj, {}, path) if kind == 'zip' else obj


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ''
