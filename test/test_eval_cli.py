"""`depth-perception eval` argument handling and a full CLI run on a tiny bag."""
import argparse
import json

from depth_perception.cli import eval as eval_cli
from depth_perception.evaluation.sample_bag import write_sample_bag


def _parse(argv):
    p = argparse.ArgumentParser()
    eval_cli.add_arguments(p)
    return p.parse_args(argv)


def test_cli_offline_run(tmp_path, capsys):
    bag = write_sample_bag(tmp_path / 'in', n_frames=3)
    args = _parse(['--bag', str(bag), '--out', str(tmp_path / 'rep'), '--resolution', '64x64',
                   '--preset', 'tum', '--no-plots', '--no-progress', '--gt-pose-frame', 'optical'])
    assert args.resolution == (64, 64) and eval_cli.NAME == 'eval'
    assert eval_cli.run(args) == 0
    out = capsys.readouterr().out
    assert 'frames: 3 in bag, 3 evaluated' in out and 'abs_rel' in out
    assert json.loads((tmp_path / 'rep' / 'metrics.json').read_text())['frames']['evaluated'] == 3
