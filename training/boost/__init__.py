"""Training Boosting's merge network (pix2pix, Miangoleh et al. 2021) on synthetic pairs.

`pairs` (the dataset builder: an estimator at low and high resolution on synthetic-engine
frames, the engine's exact depth as target), `config` (YAML with `method: boost_merge`),
`networks` (the PatchGAN discriminator), `loss` (L1 x 1000 + vanilla GAN), `run` (the loop
behind `depth-perception train --config boost/merge`), `evaluate` (depth error at edges).
"""
