"""The merge-network training loop behind `depth-perception train --config boost/merge`.

pix2pix order per batch: the generator's output, one discriminator step (real and fake pairs,
lr_d), one generator step (GAN + lambda_L1 * L1, lr_g), Adam for both. tqdm progress,
TensorBoard scalars (RUN/tensorboard), a NaN/Inf guard (a non-finite loss skips the step;
max_nonfinite_steps in a row abort), resume from RUN/resume.pt. The generator is written as
a plain state dict `RUN/latest_net_G.pth` (and `best_net_G.pth`, lowest validation L1), the
layout of the reference's merge model, which `boosting.weights.read_merge_net` reads. Every
file is written beside and renamed, so an interrupted write never leaves a broken one.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from depth_perception.checkpoint_io import safe_load
from depth_perception.estimators.scdepth import pick_device
from depth_perception.models.pix2pix_unet import UnetGenerator

from .config import MergeTrainConfig
from .data import MergePairs, list_pairs, split_pairs
from .loss import discriminator_loss, generator_loss
from .networks import PatchDiscriminator

log = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    pass


@dataclass
class MergeTrainResult:
    run_dir: Path
    generator: Path
    best_generator: Path | None
    steps: int
    history: list = field(default_factory=list)   # per validation: step, epoch, train and val losses
    net: UnetGenerator | None = None              # the trained generator, in memory


def build_networks(cfg: MergeTrainConfig) -> tuple[UnetGenerator, PatchDiscriminator]:
    return (UnetGenerator(2, 1, cfg.num_downs, cfg.ngf),
            PatchDiscriminator(3, cfg.ndf, cfg.d_layers))


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + '.tmp')
    torch.save(obj, tmp)
    tmp.replace(path)


def train_step(G, D, opt_g, opt_d, x, y, lambda_l1: float) -> dict | None:
    """One pix2pix step; None (nothing updated) when a loss is not finite."""
    fake = G(x)
    for p in D.parameters():
        p.requires_grad_(True)
    loss_d = discriminator_loss(D(torch.cat([x, y], 1)), D(torch.cat([x, fake.detach()], 1)))
    for p in D.parameters():
        p.requires_grad_(False)   # G's step must not accumulate into D's gradients
    loss_g, gan, l1 = generator_loss(D(torch.cat([x, fake], 1)), fake, y, lambda_l1)
    if not (torch.isfinite(loss_d) and torch.isfinite(loss_g)):
        return None
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {'loss_G': loss_g.item(), 'loss_G_GAN': gan.item(), 'loss_G_L1': l1.item(),
            'loss_D': loss_d.item()}


@torch.no_grad()
def validate(G, loader, device) -> float:
    """Mean L1 (in the [-1, 1] units of the target) of the generator on held-out pairs."""
    if loader is None:
        return float('nan')
    G.eval()
    total, n = 0.0, 0
    for x, y in loader:
        total += float((G(x.to(device)) - y.to(device)).abs().mean()) * x.shape[0]
        n += x.shape[0]
    G.train()
    return total / n if n else float('nan')


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:   # optional: training works without it
        return None
    return SummaryWriter(str(run_dir / 'tensorboard'))


def train(cfg: MergeTrainConfig, resume: str | None = None, enable_progress_bar: bool = True
          ) -> MergeTrainResult:
    """Train; `resume` = 'auto' (RUN/resume.pt) or a resume.pt path."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    if not cfg.dataset_dir:
        raise ValueError('dataset_dir is not set (write pairs with '
                         '`python -m depth_perception_training.boost.pairs --out DIR`)')
    train_files, val_files = split_pairs(list_pairs(cfg.dataset_dir), cfg.val_fraction)
    if not train_files:
        raise ValueError(f'{cfg.dataset_dir}: no pairs left for training after the validation split')
    train_loader = DataLoader(MergePairs(train_files, cfg.input_size_px, cfg.flip, cfg.seed),
                              cfg.batch_size, shuffle=True)
    val_loader = (DataLoader(MergePairs(val_files, cfg.input_size_px), cfg.batch_size)
                  if val_files else None)
    log.info('%d training pairs, %d held out', len(train_files), len(val_files))

    G, D = build_networks(cfg)
    G, D = G.to(device).train(), D.to(device).train()
    betas = tuple(float(b) for b in cfg.betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=betas)
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / 'config.json').write_text(json.dumps(cfg.to_dict(), indent=1, default=str) + '\n')
    step, epoch, best, history = 0, 0, math.inf, []
    if resume:
        path = run_dir / 'resume.pt' if resume == 'auto' else Path(resume)
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(f'{path}: nothing to resume from')
        state = safe_load(path, allowed_globals=(), check_finite='model')
        keys = {'model', 'discriminator', 'opt_g', 'opt_d', 'step', 'epoch'}
        if not isinstance(state, dict) or not keys <= set(state):
            raise ValueError(f'{path}: not a merge-training resume file (expected {sorted(keys)})')
        G.load_state_dict(state['model'])
        D.load_state_dict(state['discriminator'])
        opt_g.load_state_dict(state['opt_g'])
        opt_d.load_state_dict(state['opt_d'])
        step, epoch = int(state['step']), int(state['epoch'])
        best, history = float(state.get('best', math.inf)), list(state.get('history', []))
        log.info('resumed %s at step %d (epoch %d)', path, step, epoch)

    writer = _tensorboard(run_dir)
    last_path, best_path = run_dir / 'latest_net_G.pth', run_dir / 'best_net_G.pth'
    started = time.monotonic()
    recent: list[dict] = []
    saved_at = step if resume else -1     # a resumed run's files already hold this step

    def checkpoint(epoch_done: int) -> None:
        nonlocal best, saved_at
        saved_at = step
        val = validate(G, val_loader, device)
        mean = {k: sum(r[k] for r in recent) / len(recent) for k in recent[0]} if recent else {}
        history.append({'step': step, 'epoch': epoch_done, 'val_L1': val, **mean})
        if writer:
            writer.add_scalar('val/L1', val, step)
        save_atomic(G.state_dict(), last_path)
        if math.isfinite(val) and val < best:
            best = val
            save_atomic(G.state_dict(), best_path)
        # Beside and renamed: a resumed run's tensors may still map the old resume.pt.
        save_atomic({'model': G.state_dict(), 'discriminator': D.state_dict(),
                     'opt_g': opt_g.state_dict(), 'opt_d': opt_d.state_dict(), 'step': step,
                     'epoch': epoch_done, 'best': best, 'history': history}, run_dir / 'resume.pt')
        log.info('step %d: validation L1 %.4f', step, val)
        recent.clear()

    def out_of_time() -> bool:
        return ((cfg.max_steps and step >= cfg.max_steps)
                or (cfg.max_minutes and time.monotonic() - started >= 60 * cfg.max_minutes))

    bad_in_a_row = 0
    while epoch < cfg.epochs and not out_of_time():
        bar = tqdm(train_loader, desc=f'epoch {epoch + 1}/{cfg.epochs}', leave=False,
                   disable=not enable_progress_bar)
        for x, y in bar:
            losses = train_step(G, D, opt_g, opt_d, x.to(device), y.to(device), cfg.lambda_l1)
            if losses is None:
                bad_in_a_row += 1
                log.warning('non-finite loss at step %d (%d in a row); step skipped', step, bad_in_a_row)
                if bad_in_a_row >= cfg.max_nonfinite_steps:
                    raise NonFiniteLossError(f'{bad_in_a_row} non-finite losses in a row at step '
                                             f'{step}; lower the learning rates or check the pairs')
                continue
            bad_in_a_row = 0
            step += 1
            recent.append(losses)
            if writer:
                for k, v in losses.items():
                    writer.add_scalar(f'train/{k}', v, step)
            bar.set_postfix(G=f'{losses["loss_G"]:.2f}', D=f'{losses["loss_D"]:.3f}')
            if step % cfg.save_every_n_steps == 0:
                checkpoint(epoch)
            if out_of_time():
                break
        else:
            epoch += 1
    if saved_at != step:
        checkpoint(epoch)
    if writer:
        writer.close()
    (run_dir / 'history.json').write_text(json.dumps(history, indent=1) + '\n')
    return MergeTrainResult(run_dir, last_path, best_path if best_path.is_file() else None, step,
                            history, G)


def run_cli(args) -> int:
    """`depth-perception train` for configs with `method: boost_merge`."""
    import shlex
    import sys

    from .config import load_config
    cfg = load_config(args.config, args.overrides)
    cfg.notes.setdefault('command', 'depth-perception ' + ' '.join(shlex.quote(a) for a in sys.argv[1:]))
    result = train(cfg, resume=args.resume, enable_progress_bar=not args.no_progress)
    print(f'run folder: {result.run_dir}')
    print(f'merge model for `depth-perception boost --merge-checkpoint`: '
          f'{result.best_generator or result.generator}')
    return 0
