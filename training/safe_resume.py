"""Lightning checkpoints read through the package's safe loader (what `--resume` loads).

Lightning's own `TorchCheckpointIO` calls `torch.load(weights_only=None)`, which is safe only
while the installed torch defaults to weights_only (2.6+) and nobody sets
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD. This plugin always goes through
`depth_perception.checkpoint_io.safe_load`: weights_only=True, mmap, and the storage, size and
NaN checks, so a crafted or damaged last.ckpt is refused with one line before Lightning
restores anything. Saving is unchanged.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from pytorch_lightning.plugins.io import TorchCheckpointIO

from depth_perception.checkpoint_io import CheckpointError, safe_load

# Lightning 2.x checkpoints of this project hold only plain data (hparams are a dict);
# Namespace keeps sc_depth_pl-style hparams readable.
RESUME_ALLOWED_GLOBALS = (argparse.Namespace,)


class SafeCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO whose loading never executes or expands anything from the file."""

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        # map_location / weights_only from Lightning are ignored on purpose: always CPU, always safe.
        # NaN/Inf only refused in the weights: callback state (ModelCheckpoint's kth_value) is inf.
        obj = safe_load(Path(path), RESUME_ALLOWED_GLOBALS, check_finite='state_dict')
        if not isinstance(obj, dict) or 'state_dict' not in obj:
            raise CheckpointError(f'{path}: not a Lightning training checkpoint (no state_dict); '
                                  '--resume needs a checkpoints/*.ckpt of a training run')
        return obj
