"""LightningModule for SC-Depth V1/V2/V3: networks, the per-version loss, validation and logging."""
from __future__ import annotations

import logging
import math

import numpy as np
import pytorch_lightning as pl
import torch

from depth_perception.evaluation.baselines import constant_depth_errors, spearman
from depth_perception.evaluation.depth_metrics import frame_errors, get_preset, valid_pixels
from depth_perception.evaluation.verdict import depth_verdict
from depth_perception.models import DispResNet, PoseResNet, RectifyNet
from depth_perception.normals import depth_to_normals

from .config import TrainConfig
from .losses import (LossOptions, edge_aware_smoothness, edge_guided_normal_ranking_loss, mask_ranking_loss,
                     photo_and_geometry_loss, rectify_references, depth_supervision_loss, pose_supervision_loss)
from .visualise import depth_to_colour, denormalise


log = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """Raised by the NaN/Inf guard; the message names the step and the offending terms."""


class SCDepthModule(pl.LightningModule):
    def __init__(self, config: dict):
        super().__init__()
        self.save_hyperparameters({'config': config})
        self.cfg = TrainConfig(**config)
        self.depth_net = DispResNet(self.cfg.resnet_layers)
        self.pose_net = PoseResNet()
        self.rectify_net = RectifyNet() if self.cfg.model_version == 'v2' else None
        self.loss_options = LossOptions.from_config(self.cfg)
        self._val_outputs: list[dict] = []
        self.val_verdict: str | None = None     # the last validation's verdict line (depth mode)

    # ------------------------------------------------------------------ helpers
    def step_generator(self) -> torch.Generator:
        """RNG for the random parts of the losses, a function of (seed, global step, rank)."""
        g = torch.Generator(device='cpu')
        g.manual_seed((self.cfg.seed * 1_000_003 + self.global_step) * 131 + self.global_rank)
        return g

    def predict_depth(self, img: torch.Tensor) -> torch.Tensor:
        return 1.0 / self.depth_net(img)

    def configure_optimizers(self):
        params = [{'params': self.depth_net.parameters(), 'lr': self.cfg.lr},
                  {'params': self.pose_net.parameters(), 'lr': self.cfg.lr}]
        if self.rectify_net is not None:
            params.append({'params': self.rectify_net.parameters(), 'lr': self.cfg.lr})
        return torch.optim.Adam(params)

    # ------------------------------------------------------------------ training
    def compute_losses(self, batch: dict) -> dict[str, torch.Tensor]:
        cfg, gen = self.cfg, self.step_generator()
        tgt, K = batch['tgt'], batch['K']
        refs = list(batch['refs'].unbind(1))
        out: dict[str, torch.Tensor] = {}
        if cfg.model_version == 'v2':
            rect = rectify_references(self.rectify_net, tgt, refs, K, generator=gen)
            refs = rect.warped_refs
            out.update(rot_triplet=rect.triplet, rot_consistency=rect.consistency,
                       rot_before=rect.rot_before, rot_after=rect.rot_after)
        # One forward per frame set, as the reference: train-mode BatchNorm statistics are per call.
        tgt_depth = self.predict_depth(tgt)
        # A purely supervised run (photo and geometry weights 0) skips the warps and the inverse
        # poses (references before and after the target already give both directions of motion).
        warps = cfg.photo_weight > 0 or cfg.geometry_weight > 0 or cfg.model_version == 'v3'
        ref_depths = [self.predict_depth(r) for r in refs] if warps else None
        poses = [self.pose_net(tgt, r) for r in refs]
        poses_inv = [self.pose_net(r, tgt) for r in refs] if warps else None
        total = tgt_depth.new_zeros(())
        pg = None
        if warps:
            pg = photo_and_geometry_loss(tgt, refs, tgt_depth, ref_depths, poses, poses_inv, K, self.loss_options)
            out.update(photo=pg.photo, geometry=pg.geometry)
            total = total + cfg.photo_weight * pg.photo + cfg.geometry_weight * pg.geometry
        if cfg.depth_supervision_weight > 0 and 'gt_depth_m' in batch:
            out['depth_supervised'] = depth_supervision_loss(tgt_depth, batch['gt_depth_m'], cfg.supervision_metres_per_unit,
                                                            cfg.supervision_depth_scale_weight)
            total = total + cfg.depth_supervision_weight * out['depth_supervised']
        if cfg.pose_supervision_weight > 0 and 'gt_T_ref_tgt' in batch:
            T_gt = batch['gt_T_ref_tgt']                       # [B, n_refs, 4, 4] T_ref_tgt
            terms = [pose_supervision_loss(pose, T_gt[:, k], cfg.supervision_metres_per_unit,
                                           cfg.supervision_rotation_weight) for k, pose in enumerate(poses)]
            out['pose_supervised'] = torch.stack(terms).mean()
            total = total + cfg.pose_supervision_weight * out['pose_supervised']
        if cfg.model_version in ('v1', 'v2'):
            out['smooth'] = edge_aware_smoothness(tgt_depth, tgt)
            total = total + cfg.smooth_weight * out['smooth']
        if cfg.model_version == 'v2':
            total = total + cfg.rot_c_weight * out['rot_consistency'] + cfg.rot_t_weight * out['rot_triplet']
        if cfg.model_version == 'v3':
            pseudo = batch['pseudo_depth']
            normals = depth_to_normals(tgt_depth, K)
            pseudo_normals = depth_to_normals(pseudo, K)
            out['normal_matching'] = (normals - pseudo_normals).abs().mean()
            out['mask_ranking'] = mask_ranking_loss(tgt_depth, pseudo, pg.dynamic_mask, generator=gen)
            out['normal_ranking'] = edge_guided_normal_ranking_loss(pseudo, tgt, normals, pseudo_normals, generator=gen)
            total = (total + cfg.normal_matching_weight * out['normal_matching']
                     + cfg.mask_rank_weight * out['mask_ranking'] + cfg.normal_rank_weight * out['normal_ranking'])
        out['total'] = total
        out['_tgt_depth'] = tgt_depth.detach()
        return out

    def training_step(self, batch, batch_idx):
        losses = self.compute_losses(batch)
        check_finite(losses, self.global_step)
        for name, value in losses.items():
            if not name.startswith('_'):
                tag = f'train/{name}' if name in ('rot_before', 'rot_after') else f'train/{name}_loss'
                self.log(tag, value, prog_bar=name == 'total', batch_size=batch['tgt'].shape[0])
        every = self.cfg.image_log_every_n_steps
        if every and self.global_step % every == 0:
            self._log_images('train/img_depth', batch['tgt'][0], losses['_tgt_depth'][0, 0], self.global_step)
        return losses['total']

    # ------------------------------------------------------------------ validation
    def validation_step(self, batch, batch_idx):
        if self.cfg.val_mode == 'depth':
            depth = self.predict_depth(batch['tgt'])
            preset = get_preset(self.cfg.dataset_name if self.cfg.dataset_name in
                                ('kitti', 'nyu', 'ddad', 'tum', 'bonn') else 'generic',
                                max_depth_m=self.cfg.max_depth_m or None)
            for i in range(depth.shape[0]):
                gt = batch['gt_depth_m'][i].cpu().numpy()
                pix = valid_pixels(gt, depth[i, 0].float().cpu().numpy(), preset)
                if pix.gt_m.size == 0:
                    continue
                errs = frame_errors(pix, pix.median_ratio, preset)['all']
                errs['scale_ratio'] = pix.median_ratio
                # the same baselines as every evaluation report (evaluation/baselines.py)
                errs['abs_rel_constant'] = constant_depth_errors(pix, preset)['all']['abs_rel']
                rho = spearman(pix.gt_m, pix.pred_m)
                errs['spearman'] = float('nan') if rho is None else rho
                self._val_outputs.append(errs)
        else:
            losses = self.compute_losses(batch)
            depth = losses['_tgt_depth']
            self._val_outputs.append({'photo_loss': float(losses['photo']), 'geometry_loss': float(losses['geometry'])})
        if batch_idx < 3:
            self._log_images(f'val/img_depth_{batch_idx}', batch['tgt'][0], depth[0, 0], self.global_step)

    def on_validation_epoch_end(self):
        outs, self._val_outputs = self._val_outputs, []
        if not outs:
            return
        mean = {k: float(np.nanmean([o[k] for o in outs])) for k in outs[0]}
        if self.cfg.val_mode == 'depth':
            self.log('val_loss', mean['abs_rel'], prog_bar=True, sync_dist=True)
            for k in ('abs_diff', 'abs_rel', 'a1', 'a2', 'a3', 'scale_ratio', 'abs_rel_constant', 'spearman'):
                self.log(f'val/{k}', mean[k], sync_dist=True)
            self.val_verdict = depth_verdict(mean['abs_rel'], mean['abs_rel_constant'], mean['spearman'])
            if self.global_rank == 0:
                log.info('validation (step %d): %s', self.global_step, self.val_verdict)
        else:
            self.log('val_loss', mean['photo_loss'], prog_bar=True, sync_dist=True)
            self.log('val/geometry_loss', mean['geometry_loss'], sync_dist=True)

    # ------------------------------------------------------------------ logging
    def _log_images(self, tag: str, img: torch.Tensor, depth: torch.Tensor, step: int) -> None:
        logger = self.logger
        experiment = getattr(logger, 'experiment', None)
        if experiment is None or not hasattr(experiment, 'add_image') or self.global_rank != 0:
            return
        stacked = np.concatenate([denormalise(img), depth_to_colour(depth)], axis=0)  # [2H,W,3]
        experiment.add_image(tag, stacked, step, dataformats='HWC')


def check_finite(losses: dict[str, torch.Tensor], step: int) -> None:
    """Stop training with a clear message as soon as any loss term is NaN or infinite."""
    bad = {k: float(v) for k, v in losses.items()
           if not k.startswith('_') and not math.isfinite(float(v.detach()))}
    if bad:
        terms = ', '.join(f'{k}={v}' for k, v in bad.items())
        raise NonFiniteLossError(
            f'non-finite loss at global step {step} ({terms}); training stopped. The last periodic '
            f'checkpoint is intact: lower lr, check the data (constant or corrupt frames, wrong cam.txt) '
            f'and resume with --resume.')
