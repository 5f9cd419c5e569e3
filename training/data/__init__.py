"""SC-Depth dataset layout, augmentation and a resumable, step-indexed sampler."""
