"""`train(config)`: the whole training run (the `depth-perception train` command is a thin shell over it).

Outputs under `<output_dir>/<exp_name>/`:
- `checkpoints/last.ckpt` (Lightning, every `checkpoint_every_n_steps`; what --resume uses),
  `checkpoints/{epoch}-{val_loss}.ckpt` (top 3 by val_loss);
- `scdepth_last.pt`, `scdepth_best.pt`: this project's checkpoints (nodes, `infer`, `export`);
- `tb/` TensorBoard logs (losses, validation metrics, depth images), `csv/part*/metrics.csv`
  (one part per start or resume);
- `config.yaml`: the resolved configuration.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import yaml
from pytorch_lightning.callbacks import ModelCheckpoint, TQDMProgressBar
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

from depth_perception.checkpoint_io import check_file
from depth_perception.checkpoints import load_strict, read_scdepth_checkpoint

from .callbacks import ExportOwnCheckpoint
from .config import TrainConfig
from .datamodule import SCDepthDataModule
from .module import SCDepthModule
from .safe_resume import SafeCheckpointIO

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    run_dir: Path
    last_checkpoint: Path | None
    own_checkpoint: Path
    global_step: int


def resolve_resume(cfg: TrainConfig, resume) -> str | None:
    """None/False: fresh run; True/'auto': the run's last.ckpt; a path: that checkpoint."""
    if not resume:
        return None
    if resume is True or resume == 'auto':
        path = cfg.run_dir / 'checkpoints' / 'last.ckpt'
        if not path.is_file():
            raise FileNotFoundError(f'--resume: no {path} (was the run started with this exp_name/output_dir?)')
        return str(path)
    check_file(Path(resume))   # one line for missing files, folders, links to nowhere, loops
    return str(resume)


def load_initial_weights(module: SCDepthModule, path: str) -> None:
    w = read_scdepth_checkpoint(path)
    if w.depth_state:
        log.info('initial depth weights from %s: %s', path,
                 load_strict(module.depth_net, w.depth_state, path, 'DispResNet').summary())
    if w.pose_state:
        load_strict(module.pose_net, w.pose_state, path, 'PoseResNet')
    if w.rectify_state and module.rectify_net is not None:
        load_strict(module.rectify_net, w.rectify_state, path, 'RectifyNet')


def _next_csv_version(run_dir: Path) -> str:
    """CSVLogger rewrites its folder; every (re)start of a run therefore gets its own part."""
    k = 0
    while (run_dir / 'csv' / f'part{k}').exists():
        k += 1
    return f'part{k}'


def build_trainer(cfg: TrainConfig, callbacks=(), enable_progress_bar: bool = True, **overrides) -> pl.Trainer:
    run_dir = cfg.run_dir
    ckpt_dir = run_dir / 'checkpoints'
    last = ModelCheckpoint(dirpath=ckpt_dir, save_top_k=0, save_last=True,
                           every_n_train_steps=cfg.checkpoint_every_n_steps)
    best = ModelCheckpoint(dirpath=ckpt_dir, filename='{epoch}-{val_loss:.4f}', monitor='val_loss',
                           mode='min', save_top_k=3, save_last=False)
    all_callbacks = [last, best, ExportOwnCheckpoint(run_dir, half=cfg.export_half), *callbacks]
    if enable_progress_bar:
        all_callbacks.append(TQDMProgressBar(refresh_rate=1))
    loggers = [TensorBoardLogger(str(run_dir), name='tb', version='', default_hp_metric=False),
               CSVLogger(str(run_dir), name='csv', version=_next_csv_version(run_dir))]
    kwargs = dict(max_epochs=cfg.num_epochs, accelerator=cfg.accelerator, devices=_devices(cfg.devices),
                  precision=cfg.precision, logger=loggers, callbacks=all_callbacks,
                  log_every_n_steps=cfg.log_every_n_steps, num_sanity_val_steps=0,
                  check_val_every_n_epoch=cfg.val_every_n_epochs,
                  use_distributed_sampler=False, enable_progress_bar=enable_progress_bar,
                  enable_model_summary=False, default_root_dir=str(run_dir),
                  plugins=[SafeCheckpointIO()])
    kwargs.update(overrides)
    return pl.Trainer(**kwargs)


def _devices(value: str):
    text = str(value)
    return int(text) if text.isdigit() else text


def train(cfg: TrainConfig, resume=None, callbacks=(), enable_progress_bar: bool = True,
          **trainer_overrides) -> TrainResult:
    """Train SC-Depth as configured; returns where the results are."""
    ckpt = resolve_resume(cfg, resume)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / 'config.yaml').write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    module = SCDepthModule(cfg.to_dict())
    if cfg.ckpt_path and ckpt is None:
        load_initial_weights(module, cfg.ckpt_path)
    data = SCDepthDataModule(cfg)
    trainer = build_trainer(cfg, callbacks, enable_progress_bar, **trainer_overrides)
    with warnings.catch_warnings():
        # The loader is single-process by choice on small machines; Lightning's advice does not apply.
        warnings.filterwarnings('ignore', message='.*does not have many workers.*')
        trainer.fit(module, datamodule=data, ckpt_path=ckpt)
    last = run_dir / 'checkpoints' / 'last.ckpt'
    return TrainResult(run_dir, last if last.is_file() else None, run_dir / 'scdepth_last.pt', int(trainer.global_step))
