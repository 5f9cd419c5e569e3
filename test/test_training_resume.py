"""A run killed mid-epoch and resumed ends with exactly the weights of an uninterrupted run."""
import pytorch_lightning as pl
import pytest
import torch

from depth_perception.checkpoints import read_scdepth_checkpoint
from depth_perception_training.analytic_scene import write_plane_dataset
from depth_perception_training.config import load_config
from depth_perception_training.run import train

torch.set_num_threads(1)


class Interrupted(RuntimeError):
    pass


class KillAtStep(pl.Callback):
    """Simulates a crash: raises before training batch `step` (after last.ckpt at an earlier step)."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if trainer.global_step == self.step:
            raise Interrupted(f'killed at step {self.step}')


def _config(data, out, name):
    return load_config(None, [], dataset_dir=str(data), dataset_name='synthetic', img_height=64, img_width=64,
                       batch_size=2, epoch_size=3, num_epochs=2, seed=3, num_workers=0, accelerator='cpu',
                       devices='1', checkpoint_every_n_steps=2, val_max_batches=2, image_log_every_n_steps=2,
                       log_every_n_steps=1, output_dir=str(out), exp_name=name, lr=1e-3)


def _weights(run_dir):
    w = read_scdepth_checkpoint(run_dir / 'scdepth_last.pt')
    return {**{'d.' + k: v for k, v in w.depth_state.items()}, **{'p.' + k: v for k, v in w.pose_state.items()}}


@pytest.mark.slow   # three short Lightning runs: ~35-50 s on 2 cores
def test_killed_mid_epoch_and_resumed_matches_uninterrupted(tmp_path):
    data = write_plane_dataset(tmp_path / 'data', frames=6)
    full = train(_config(data, tmp_path, 'full'), enable_progress_bar=False)
    assert full.global_step == 6

    cfg = _config(data, tmp_path, 'killed')
    with pytest.raises(Interrupted):
        train(cfg, callbacks=[KillAtStep(3)], enable_progress_bar=False)
    ckpt = torch.load(tmp_path / 'killed' / 'checkpoints' / 'last.ckpt', weights_only=False)
    assert ckpt['global_step'] == 2 and ckpt['epoch'] == 0            # mid-epoch (epoch_size 3)
    resumed = train(cfg, resume=True, enable_progress_bar=False)
    assert resumed.global_step == 6

    a, b = _weights(full.run_dir), _weights(resumed.run_dir)
    assert a.keys() == b.keys()
    diffs = {k: (a[k] - b[k]).abs().max().item() for k in a}
    assert max(diffs.values()) == 0, sorted(diffs.items(), key=lambda kv: -kv[1])[:3]
    # ...and the comparison is meaningful: the steps after the kill point still changed the weights.
    at_kill = ckpt['state_dict']['depth_net.decoder.dispconvs.0.conv.weight']
    assert (at_kill - a['d.decoder.dispconvs.0.conv.weight']).abs().max() > 0
