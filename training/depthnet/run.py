"""The DepthNet training loop behind `depth-perception train --config .../depthnet/<size>.yaml`.

Plain PyTorch: SGD + MultiStepLR per epoch, tqdm progress, TensorBoard scalars, a NaN/Inf
guard (a non-finite loss skips the step; too many in a row abort with a clear error), and
resume from RUN/resume.pt (model, optimiser, scheduler, epoch, history). Models are written
in the 'current' DepthNet layout (RUN/depthnet_last.pth.tar, RUN/depthnet_best.pth.tar) that
`infer --method depthnet` and the estimator read.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from depth_perception.checkpoint_io import safe_load
from depth_perception.checkpoints_depthnet import load_depthnet, save_depthnet_checkpoint
from depth_perception.estimators.scdepth import pick_device
from depth_perception.models.depthnet import DepthNet

from .config import DepthNetTrainConfig
from .data import StillBoxTrainPairs, StillBoxValPairs, read_stillbox, split_scenes, training_focal_px
from .loss import depth_error_m, multiscale_l1

log = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    pass


@dataclass
class DepthNetTrainResult:
    run_dir: Path
    best_model: Path | None
    last_model: Path
    history: list = field(default_factory=list)   # per epoch: {'epoch', 'train_loss', 'val_error_m', 'lr'}


def raw_for_depth(depth_m: float, activation: str | None) -> float:
    """The raw head output whose activated depth is depth_m (inverse of ELU(x) + 1)."""
    if activation == 'elu':
        return depth_m - 1.0 if depth_m >= 1.0 else math.log(depth_m)
    return depth_m


def start_at_constant(net: DepthNet, depth_m: float) -> None:
    """Every prediction head outputs depth_m everywhere: zero weights, bias through the activation.

    The features still get gradients after the first step (through the heads' weights), so
    nothing is frozen; the network just skips the phase of climbing from ~1 m to the scene scale.
    """
    raw = raw_for_depth(depth_m, net.depth_activation)
    with torch.no_grad():
        for level in range(2, 7):
            head = getattr(net, f'predict_depth{level}')
            head.weight.zero_()
            head.bias[0] = raw


def make_optimizer(cfg: DepthNetTrainConfig, params) -> torch.optim.Optimizer:
    if cfg.optimizer == 'adam':
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                           dampening=cfg.dampening, weight_decay=cfg.weight_decay)


def build_model(cfg: DepthNetTrainConfig) -> DepthNet:
    if cfg.pretrained:
        net, weights = load_depthnet(cfg.pretrained)
        if weights.batch_norm != cfg.bn:
            raise ValueError(f'{cfg.pretrained}: bn={weights.batch_norm} but the config says bn={cfg.bn}')
        # The reference takes clamp and activation from the new run, the layers from the file.
        net.clamp, net.depth_activation = cfg.clamp, cfg.activation_function or None
        log.info('starting from %s (%s layout)', cfg.pretrained, weights.layout)
        return net
    net = DepthNet(batch_norm=cfg.bn, clamp=cfg.clamp, depth_activation=cfg.activation_function or None)
    if cfg.init_depth_m > 0:
        start_at_constant(net, cfg.init_depth_m)
    return net


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional: training works without it
        return None
    return SummaryWriter(str(run_dir / 'tensorboard'))


@torch.no_grad()
def validate(net: DepthNet, loader: DataLoader, device, max_batches: int = 0) -> float:
    net.eval()
    total, count = 0.0, 0
    for n, (x, target, _) in enumerate(loader):
        if max_batches and n >= max_batches:
            break
        depth2 = net(x.to(device))
        total += float(depth_error_m(depth2, target.to(device))) * x.shape[0]
        count += x.shape[0]
    return total / count if count else float('nan')


def train(cfg: DepthNetTrainConfig, resume: str | None = None, enable_progress_bar: bool = True,
          max_steps: int = 0) -> DepthNetTrainResult:
    """Train; `resume` = 'auto' (RUN/resume.pt) or a resume.pt path; max_steps > 0 stops early."""
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    if not cfg.dataset_dir:
        raise ValueError('dataset_dir is not set (a Still Box folder, e.g. from '
                         '`depth-perception synth --scene stillbox --format stillbox`)')
    scenes = read_stillbox(cfg.dataset_dir)
    focal_px = training_focal_px(scenes, cfg.img_size)
    train_scenes, val_scenes = split_scenes(scenes, cfg.split, cfg.seed)
    train_set = StillBoxTrainPairs(train_scenes, cfg.img_size, cfg.shift, cfg.max_depth_m,
                                   nominal_displacement_m=cfg.nominal_displacement_m)
    val_set = StillBoxValPairs(val_scenes, cfg.img_size, cfg.shift, cfg.max_depth_m,
                               nominal_displacement_m=cfg.nominal_displacement_m)
    log.info('%d scenes: %d train (%d anchors), %d validation (%d pairs)', len(scenes),
             len(train_scenes), len(train_set), len(val_scenes), len(val_set))
    # BatchNorm in training mode needs >= 2 samples (conv6 is 1x1 at 64 px): drop a last batch of 1.
    drop_last = len(train_set) % cfg.batch_size == 1
    train_loader = DataLoader(train_set, cfg.batch_size, shuffle=True, num_workers=cfg.num_workers,
                              drop_last=drop_last, persistent_workers=False)
    val_loader = DataLoader(val_set, cfg.batch_size, shuffle=False, num_workers=cfg.num_workers)

    net = build_model(cfg).to(device)
    optimizer = make_optimizer(cfg, net.parameters())
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(cfg.milestones), cfg.gamma)
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / 'config.json').write_text(json.dumps(cfg.to_dict(), indent=1, default=str) + '\n')
    start_epoch, best, history, step = 0, math.inf, [], 0
    if resume:
        path = run_dir / 'resume.pt' if resume == 'auto' else Path(resume)
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(f'{path}: nothing to resume from')
        # The package's safe loader: weights_only, storage checks, NaN refused in the weights.
        state = safe_load(path, allowed_globals=(), check_finite='model')
        if not isinstance(state, dict) or not {'model', 'optimizer', 'scheduler', 'epoch'} <= set(state):
            raise ValueError(f'{path}: not a DepthNet resume file (expected model, optimizer, scheduler, epoch)')
        net.load_state_dict(state['model'])
        optimizer.load_state_dict(state['optimizer'])
        scheduler.load_state_dict(state['scheduler'])
        start_epoch, best, history, step = state['epoch'], state['best'], state['history'], state['step']
        log.info('resumed %s at epoch %d', path, start_epoch)

    writer = _tensorboard(run_dir)
    best_path, last_path = run_dir / 'depthnet_best.pth.tar', run_dir / 'depthnet_last.pth.tar'
    provenance = {'config': cfg.to_dict(), 'dataset_dir': str(cfg.dataset_dir),
                  'command': cfg.notes.get('command', '')}
    stop = False
    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        losses, bad_in_a_row = [], 0
        n_iter = min(len(train_loader), cfg.epoch_size) if cfg.epoch_size else len(train_loader)
        bar = tqdm(train_loader, total=n_iter, desc=f'epoch {epoch + 1}/{cfg.epochs}',
                   disable=not enable_progress_bar, leave=False)
        for i, (x, target, _) in enumerate(bar):
            if i >= n_iter:
                break
            outputs = net(x.to(device))
            loss = multiscale_l1(outputs, target.to(device), cfg.loss_weights)
            optimizer.zero_grad(set_to_none=True)
            if not torch.isfinite(loss):
                bad_in_a_row += 1
                log.warning('non-finite loss at step %d (%d in a row); step skipped', step, bad_in_a_row)
                if bad_in_a_row >= cfg.max_nonfinite_steps:
                    raise NonFiniteLossError(f'{bad_in_a_row} non-finite losses in a row at step {step}; '
                                             'lower lr or check the data')
                continue
            bad_in_a_row = 0
            loss.backward()
            if step < cfg.warmup_steps:
                # Ramp the scheduler's lr for this step only, and put it back: MultiStepLR
                # multiplies the group's current lr at its milestones.
                scheduled = [g['lr'] for g in optimizer.param_groups]
                for g in optimizer.param_groups:
                    g['lr'] *= (step + 1) / cfg.warmup_steps
                optimizer.step()
                for g, lr in zip(optimizer.param_groups, scheduled):
                    g['lr'] = lr
            else:
                optimizer.step()
            losses.append(loss.item())
            if writer:
                writer.add_scalar('train/loss', losses[-1], step)
                error = depth_error_m(outputs[0].detach(), target.to(device))
                writer.add_scalar('train/depth_error_m', float(error), step)
            bar.set_postfix(loss=f'{losses[-1]:.3f}')
            step += 1
            if max_steps and step >= max_steps:
                stop = True
                break
        scheduler.step()
        val_error = validate(net, val_loader, device, cfg.val_max_batches)
        entry = {'epoch': epoch + 1, 'train_loss': sum(losses) / max(len(losses), 1),
                 'val_error_m': val_error, 'lr': optimizer.param_groups[0]['lr'], 'steps': step}
        history.append(entry)
        log.info('epoch %d: train loss %.4f, validation depth error %.3f m', epoch + 1,
                 entry['train_loss'], val_error)
        if writer:
            writer.add_scalar('val/depth_error_m', val_error, epoch + 1)
        meta = dict(epoch=epoch + 1, training_width_px=cfg.img_size, training_focal_px=focal_px,
                    half=cfg.export_half)
        save_depthnet_checkpoint(last_path, net, best_error=val_error,
                                 provenance={**provenance, 'history': history}, **meta)
        if math.isfinite(val_error) and val_error < best:
            best = val_error
            save_depthnet_checkpoint(best_path, net, best_error=val_error,
                                     provenance={**provenance, 'history': history}, **meta)
        # Written beside and renamed: a resumed run's optimiser state may still be a memory map
        # of the old resume.pt (safe_load maps files), which an in-place rewrite would break.
        tmp = run_dir / 'resume.pt.tmp'
        torch.save({'model': net.state_dict(), 'optimizer': optimizer.state_dict(),
                    'scheduler': scheduler.state_dict(), 'epoch': epoch + 1, 'best': best,
                    'history': history, 'step': step}, tmp)
        tmp.replace(run_dir / 'resume.pt')
        if stop:
            break
    if writer:
        writer.close()
    (run_dir / 'history.json').write_text(json.dumps(history, indent=1) + '\n')
    return DepthNetTrainResult(run_dir, best_path if best_path.exists() else None, last_path, history)


def run_cli(args) -> int:
    """`depth-perception train` for configs with `method: depthnet`."""
    import shlex
    import sys

    from .config import load_config
    cfg = load_config(args.config, args.overrides)
    cfg.notes.setdefault('command', 'depth-perception ' + ' '.join(shlex.quote(a) for a in sys.argv[1:]))
    result = train(cfg, resume=args.resume, enable_progress_bar=not args.no_progress)
    print(f'run folder: {result.run_dir}')
    print(f'model for infer / the estimator: {result.best_model or result.last_model}')
    return 0
