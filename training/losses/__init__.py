"""SC-Depth training losses (reference-systems.md §1.5-1.6), one concept per module."""
from .mask_ranking import mask_ranking_loss
from .normal_ranking import edge_guided_normal_ranking_loss
from .photo_geometry import LossOptions, PhotoGeometryLoss, photo_and_geometry_loss
from .rectify import RectifyLosses, rectify_references, rotation_warp
from .smoothness import edge_aware_smoothness
from .supervised import depth_supervision_loss, pose_supervision_loss

__all__ = ['LossOptions', 'PhotoGeometryLoss', 'photo_and_geometry_loss', 'edge_aware_smoothness',
           'RectifyLosses', 'rectify_references', 'rotation_warp', 'mask_ranking_loss',
           'edge_guided_normal_ranking_loss', 'depth_supervision_loss', 'pose_supervision_loss']
