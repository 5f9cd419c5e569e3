"""Supervised DepthNet training on the Still Box layout (Pinard et al. 2017 recipe).

`config` (YAML with `method: depthnet`), `data` (Still Box scenes -> pairs and targets),
`loss` (multi-scale L1 against area-downsampled targets), `run` (the loop behind
`depth-perception train --config training/configs/depthnet/<size>.yaml`).
"""
