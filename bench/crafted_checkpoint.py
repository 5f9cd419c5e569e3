"""Peak memory of reading a crafted checkpoint: unchecked loading vs the package's safe loader.

    python bench/crafted_checkpoint.py [--log2-elements 29] [--dtype float16]

The file is tiny (a ~1.7 kB torch.save of one zero-stride tensor: 2^N elements over 2 bytes).
"unchecked" is what the readers did before issue 9 (torch.load(weights_only=True), then every
floating tensor converted with .float() before the shape check); "safe" is
`depth_perception.checkpoints.read_scdepth_checkpoint` (checkpoint_io.safe_load: storage checks
before any conversion). Each runs in a fresh subprocess; the figure is the growth of the peak
RSS (ru_maxrss) over the process's state just before the read.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import torch

KEY = 'depth_net.encoder.encoder.conv1.weight'

UNCHECKED = '''
state = torch.load(PATH, map_location='cpu', weights_only=True)['state_dict']
state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
result = 'loaded (a {}-element tensor in memory)'.format(next(iter(state.values())).numel())
'''
SAFE = '''
from depth_perception.checkpoints import CheckpointError, read_scdepth_checkpoint
try:
    read_scdepth_checkpoint(PATH)
    result = 'loaded'
except CheckpointError as exc:
    result = 'refused: ' + str(exc)[:120] + '...'
'''


def measure(body: str, path: Path) -> tuple[float, str]:
    script = textwrap.dedent(f'''
        import resource, torch
        import depth_perception.checkpoints  # imported before the baseline, as in a real process
        PATH = {str(path)!r}
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ''') + textwrap.dedent(body) + textwrap.dedent('''
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(growth)
        print(result)
    ''')
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                         env={**os.environ, 'OMP_NUM_THREADS': '1'})
    if out.returncode != 0:
        return float('nan'), f'process failed (rc {out.returncode}): {out.stderr.strip().splitlines()[-1:]}'
    growth_kb, result = out.stdout.strip().splitlines()[-2:]
    return int(growth_kb) / 1024.0, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--log2-elements', type=int, default=29)
    parser.add_argument('--dtype', default='float16', choices=['float16', 'bfloat16', 'float32'])
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'crafted.ckpt'
        tensor = torch.zeros(1, dtype=dtype).expand(2 ** args.log2_elements)
        torch.save({'state_dict': {KEY: tensor}}, path)
        print(f'crafted file: {path.stat().st_size} bytes, one {args.dtype} tensor of '
              f'2^{args.log2_elements} elements with stride 0 '
              f'(as float32: {4 * 2 ** args.log2_elements / 2 ** 30:.2f} GiB)')
        for name, body in (('unchecked', UNCHECKED), ('safe', SAFE)):
            growth, result = measure(body, path)
            print(f'{name:>9}: peak RSS growth {growth:8.1f} MB  {result}')


if __name__ == '__main__':
    main()
