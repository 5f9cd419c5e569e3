"""Offline self-supervised training of SC-Depth V1/V2/V3 (PyTorch Lightning).

Reuses `depth_perception.models` (networks), `depth_perception.geometry` (warping),
`depth_perception.photometric` (SSIM) and `depth_perception.normals`; adds the data
pipeline (`depth_perception_training.data`), the losses (`depth_perception_training.losses`), the Lightning module and the
`train` entry point used by `depth-perception train`.
"""
