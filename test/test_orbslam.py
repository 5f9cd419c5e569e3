"""ORB-SLAM2 settings: values, OpenCV FileStorage readability, the CLI command."""
import argparse

import cv2
import numpy as np
import pytest

from depth_perception.cli import orbslam_settings as cmd
from depth_perception.orbslam import OrbSlamSettings, camera_info_from_yaml, settings_yaml

K = np.array([[525.0, 0, 319.5], [0, 525.0, 239.5], [0, 0, 1]])


def read_fs(path):
    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    assert fs.isOpened()
    return fs


def test_settings_are_opencv_readable_with_expected_values(tmp_path):
    text = settings_yaml(OrbSlamSettings.from_K(K, 640, 480, fps=15, baseline_m=0.1, trusted_depth_m=4.0))
    assert text.startswith('%YAML:1.0\n')
    path = tmp_path / 's.yaml'
    path.write_text(text)
    fs = read_fs(path)
    assert fs.getNode('Camera.fx').real() == 525.0 and fs.getNode('Camera.cx').real() == 319.5
    assert fs.getNode('Camera.width').real() == 640 and fs.getNode('Camera.height').real() == 480
    assert fs.getNode('Camera.fps').real() == 15
    assert fs.getNode('Camera.bf').real() == pytest.approx(52.5)
    assert fs.getNode('ThDepth').real() == pytest.approx(40.0)
    assert fs.getNode('DepthMapFactor').real() == 1.0
    assert fs.getNode('Camera.RGB').real() == 1
    for key in ('k1', 'k2', 'p1', 'p2', 'k3'):
        assert fs.getNode(f'Camera.{key}').real() == 0.0
    for key in ('nFeatures', 'scaleFactor', 'nLevels', 'iniThFAST', 'minThFAST'):
        assert not fs.getNode(f'ORBextractor.{key}').empty()
    assert not fs.getNode('Viewer.ViewpointF').empty()


def test_invalid_settings_raise():
    with pytest.raises(ValueError):
        settings_yaml(OrbSlamSettings(fx=np.nan, fy=1, cx=1, cy=1, width=4, height=4))
    with pytest.raises(ValueError):
        settings_yaml(OrbSlamSettings(fx=1, fy=1, cx=1, cy=1, width=0, height=4))


def parse(argv):
    parser = argparse.ArgumentParser()
    cmd.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_from_camera_info_yaml(tmp_path):
    info = tmp_path / 'cam.yaml'
    info.write_text('image_width: 640\nimage_height: 480\ncamera_name: cam\n'
                    'camera_matrix:\n  rows: 3\n  cols: 3\n'
                    '  data: [525.0, 0.0, 319.5, 0.0, 520.0, 239.5, 0.0, 0.0, 1.0]\n')
    out = tmp_path / 'orb.yaml'
    assert cmd.run(parse(['--camera-info', str(info), '-o', str(out), '--bgr'])) == 0
    fs = read_fs(out)
    assert fs.getNode('Camera.fy').real() == 520.0 and fs.getNode('Camera.RGB').real() == 0
    K2, w, h = camera_info_from_yaml(info)
    assert (w, h) == (640, 480) and K2[1, 1] == 520.0


def test_cli_from_options_and_missing_options(tmp_path, capsys):
    assert cmd.run(parse('--fx 100 --fy 100 --cx 50 --cy 40 --width 100 --height 80'.split())) == 0
    assert capsys.readouterr().out.startswith('%YAML:1.0')
    with pytest.raises(ValueError, match='--cy'):
        cmd.run(parse('--fx 100 --fy 100 --cx 50 --width 100 --height 80'.split()))
    assert cmd.NAME == 'orbslam-settings'
