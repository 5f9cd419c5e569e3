"""Plot the loss and validation curves of a run from its TensorBoard logs into one PNG.

    python -m depth_perception_training.plot_curves runs/synthetic_v1 [--out curves.png]
"""
from __future__ import annotations

import argparse
from pathlib import Path


def read_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag of `<run_dir>/tb` -> [(step, value)], sorted by step (resumed parts merged)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    out: dict[str, dict[int, float]] = {}
    for events in sorted((Path(run_dir) / 'tb').glob('events.out.tfevents.*')):
        acc = EventAccumulator(str(events), size_guidance={'scalars': 0})
        acc.Reload()
        for tag in acc.Tags()['scalars']:
            for e in acc.Scalars(tag):
                out.setdefault(tag, {})[e.step] = e.value      # a resumed part overwrites repeated steps
    return {tag: sorted(v.items()) for tag, v in out.items()}


def plot(run_dir: Path, out: Path) -> Path:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    s = read_scalars(run_dir)
    loss_tags = [t for t in s if t.startswith('train/') and t.endswith('_loss')]
    val_tags = [t for t in ('val/abs_rel', 'val/a1', 'val_loss') if t in s]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for tag in loss_tags:
        steps, values = zip(*s[tag])
        axes[0].plot(steps, values, label=tag.split('/')[1], lw=1)
    axes[0].set_xlabel('global step')
    axes[0].set_ylabel('loss')
    axes[0].set_yscale('log')
    axes[0].legend(fontsize=8)
    axes[0].set_title('training losses')
    for tag in val_tags:
        if tag == 'val_loss' and 'val/abs_rel' in s:
            continue
        steps, values = zip(*s[tag])
        axes[1].plot(steps, values, 'o-', label=tag)
    axes[1].set_xlabel('global step')
    axes[1].set_title('validation (median-scaled)')
    axes[1].legend(fontsize=8)
    axes[1].grid(alpha=0.3)
    fig.suptitle(str(run_dir))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('run_dir', type=Path)
    p.add_argument('--out', type=Path, default=None)
    a = p.parse_args(argv)
    print(plot(a.run_dir, a.out or a.run_dir / 'curves.png'))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
