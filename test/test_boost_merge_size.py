"""The size the merge net runs at follows the net (2**down-samplings) unless asked, and sizes
the net cannot take are refused before any frame (CLI, estimator; the node in test_boosted_node)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from depth_perception.boosting.merge import merge_size_px
from depth_perception.cli.main import main
from depth_perception.estimators.boosted import BoostedConfig, BoostedEstimator
from depth_perception.models.pix2pix_unet import UnetGenerator


@pytest.mark.parametrize('num_downs,requested,expected', [
    (10, 0, 1024), (10, 2048, 2048), (7, 0, 128), (7, 256, 256), (5, 0, 32), (5, 96, 96)])
def test_merge_size_is_the_nets_own_or_a_multiple_of_it(num_downs, requested, expected):
    assert merge_size_px(UnetGenerator(num_downs=num_downs, ngf=2), requested) == expected


@pytest.mark.parametrize('num_downs,requested', [(10, 512), (7, 192), (5, 16), (5, 100)])
def test_sizes_the_net_cannot_take_are_refused(num_downs, requested):
    with pytest.raises(ValueError, match=f'merge size {requested} px'):
        merge_size_px(UnetGenerator(num_downs=num_downs, ngf=2), requested)


@pytest.fixture
def reduced_net(tmp_path):
    path = tmp_path / 'best_net_G.pth'
    torch.save(UnetGenerator(num_downs=7, ngf=2).state_dict(), path)   # as `train --config boost/merge` saves
    return path


def test_the_estimator_runs_a_reduced_net_at_its_training_size(reduced_net):
    est = BoostedEstimator(BoostedConfig(base='scdepth', merge_checkpoint=str(reduced_net), mode='R0',
                                         device='cpu'))
    assert est.boost_config().pix2pixsize == 128
    with pytest.raises(ValueError, match='runs at multiples of 128 px'):
        BoostedEstimator(BoostedConfig(base='scdepth', merge_checkpoint=str(reduced_net), merge_size=100,
                                       device='cpu'))


def test_cli_refuses_a_size_the_net_cannot_take_in_one_line(reduced_net, tmp_path, capsys):
    (tmp_path / 'images').mkdir()
    cv2.imwrite(str(tmp_path / 'images' / 'a.png'), np.full((64, 80, 3), 128, np.uint8))
    rc = main(['boost', '--base', 'scdepth', '--merge-checkpoint', str(reduced_net), '--merge-size', '192',
               '--mode', 'R20',
               '--input', str(tmp_path / 'images'), '--output', str(tmp_path / 'out'), '--device', 'cpu'])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and any('merge size 192 px' in line for line in err), err
