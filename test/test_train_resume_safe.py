"""`train --resume` reads Lightning checkpoints through the package's safe loader (issue 9, defect 21)."""
import os

import pytest
import torch
import yaml

from depth_perception.checkpoints import CheckpointError
from depth_perception.cli.main import main
from depth_perception_training.analytic_scene import write_plane_dataset
from depth_perception_training.config import load_config
from depth_perception_training.run import build_trainer, train

torch.set_num_threads(1)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def _values(tmp_path):
    data = write_plane_dataset(tmp_path / 'data', frames=6)
    return dict(dataset_dir=str(data), dataset_name='synthetic', img_height=64, img_width=64, batch_size=2,
                epoch_size=2, num_epochs=1, num_workers=0, accelerator='cpu', devices='1',
                val_max_batches=1, output_dir=str(tmp_path / 'runs'), exp_name='r')


@pytest.fixture
def cfg(tmp_path):
    cfg = load_config(None, [], **_values(tmp_path))
    (cfg.run_dir / 'checkpoints').mkdir(parents=True)
    return cfg


def test_trainer_loads_checkpoints_with_the_safe_plugin(cfg):
    from depth_perception_training.safe_resume import SafeCheckpointIO
    assert isinstance(build_trainer(cfg, enable_progress_bar=False).strategy.checkpoint_io, SafeCheckpointIO)


def test_resume_refuses_a_checkpoint_that_would_run_code(cfg, tmp_path, monkeypatch):
    """Lightning's loader passes weights_only=None, so this variable (or an older torch) turns
    it into a full unpickler; the safe plugin always passes weights_only=True."""
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {}, 'epoch': 0, 'payload': _Exploit(marker)},
               cfg.run_dir / 'checkpoints' / 'last.ckpt')
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(CheckpointError, match=r'last\.ckpt: refused to load: the file references .*system'):
        train(cfg, resume=True, enable_progress_bar=False)
    assert not marker.exists()


def test_resume_refuses_a_zero_stride_tensor(cfg):
    path = cfg.run_dir / 'checkpoints' / 'last.ckpt'
    key = 'depth_net.encoder.encoder.conv1.weight'
    torch.save({'state_dict': {key: torch.zeros(1).expand(64, 3, 7, 7)}, 'epoch': 0, 'global_step': 0}, path)
    with pytest.raises(CheckpointError, match=rf'last\.ckpt: tensor state_dict/{key} \(64x3x7x7, strides '
                                              r'\(0, 0, 0, 0\)\) repeats its bytes'):
        train(cfg, resume=True, enable_progress_bar=False)


def test_cli_resume_errors_are_one_line(tmp_path, capsys):
    values = _values(tmp_path)
    config = tmp_path / 'cfg.yaml'
    config.write_text(yaml.safe_dump(values))
    loop = tmp_path / 'loop.ckpt'
    os.symlink(loop, loop)
    assert main(['train', '--config', str(config), '--no-progress', '--resume', str(loop)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'depth-perception train: error: {loop}: symbolic link loop (the link points back at itself)']
    nan = tmp_path / 'nan.ckpt'
    torch.save({'state_dict': {'depth_net.w': torch.tensor([1.0, float('nan')])}}, nan)
    assert main(['train', '--config', str(config), '--no-progress', '--resume', str(nan)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(f'{nan}: tensor state_dict/depth_net.w holds 1 NaN/Inf values; '
                                             'refused (a diverged or damaged model)')
