"""Boosted high-resolution depth (Miangoleh et al., CVPR 2021), ROS-free.

What it gives: RELATIVE depth. With MiDaS v2 the result is relative inverse depth, with
LeReS relative depth; both are affine-invariant (unknown scale and shift) and normalised,
never metres. With an SC-Depth base the boosted map is fitted (scale and shift, in
disparity) back onto the base's own output, so it is depth up to SC-Depth's one global scale.

One concept per module, each importable with the reference's contract:
`resolution` (R0/R20 search), `bases` (single estimates of each base network), `merge`
(merge net, double estimate), `patches` (grid, selection, growth, order), `fit` (degree-1
fit), `blend` (Gaussian mask, blending), `local` (target size and patch loop), `pipeline`
(R0 / R20 / Final), `output` (uint16 writer, INFERNO), `weights` (checkpoint readers).
"""
