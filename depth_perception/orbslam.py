"""ORB-SLAM2 RGB-D settings file for the node's pseudo-RGB-D output.

The node publishes rectified RGB and 32FC1 depth in metres at the camera resolution, so:
- Camera.fx/fy/cx/cy are the image's K, distortion k1 k2 p1 p2 k3 = 0 (the node's output
  CameraInfo is distortion-free by construction);
- DepthMapFactor = 1.0 (ORB-SLAM2 divides depth by it; 32FC1 metres need no scaling);
- there is no real baseline: ORB-SLAM2 only uses `bf` to turn depth into a virtual right
  coordinate and `ThDepth * b` as the close/far threshold. We choose a virtual baseline
  `baseline_m` (default 0.08 m, like a Kinect) and derive `ThDepth = trusted_depth_m /
  baseline_m`, so points up to `trusted_depth_m` (default 5 m) count as "close" (reliable).
The file is OpenCV FileStorage YAML (`%YAML:1.0` first line), which ORB-SLAM2 reads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BASELINE_M = 0.08
DEFAULT_TRUSTED_DEPTH_M = 5.0


@dataclass
class OrbSlamSettings:
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    fps: float = 30.0
    baseline_m: float = DEFAULT_BASELINE_M        # virtual stereo baseline, see module doc
    trusted_depth_m: float = DEFAULT_TRUSTED_DEPTH_M  # close-point limit = ThDepth * baseline
    rgb_order: bool = True                        # Camera.RGB: 1 = images arrive as RGB
    n_features: int = 1000
    scale_factor: float = 1.2
    n_levels: int = 8
    ini_th_fast: int = 20
    min_th_fast: int = 7

    def validate(self) -> None:
        for name in ('fx', 'fy', 'cx', 'cy', 'fps', 'baseline_m', 'trusted_depth_m', 'scale_factor'):
            value = getattr(self, name)
            if not np.isfinite(value):
                raise ValueError(f'{name} must be finite, got {value}')
        for name in ('fx', 'fy', 'fps', 'baseline_m', 'trusted_depth_m'):
            if getattr(self, name) <= 0:
                raise ValueError(f'{name} must be positive, got {getattr(self, name)}')
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f'image size {self.width}x{self.height} must be positive')

    @property
    def bf(self) -> float:
        return self.baseline_m * self.fx

    @property
    def th_depth(self) -> float:
        return self.trusted_depth_m / self.baseline_m

    @classmethod
    def from_K(cls, K, width: int, height: int, **options) -> 'OrbSlamSettings':
        K = np.asarray(K, dtype=np.float64).reshape(3, 3)
        return cls(fx=K[0, 0], fy=K[1, 1], cx=K[0, 2], cy=K[1, 2], width=int(width),
                   height=int(height), **options)


def _f(value: float) -> str:
    # OpenCV FileStorage needs a decimal point to read a float as real.
    text = repr(float(value))
    return text if ('.' in text or 'e' in text) else text + '.0'


def settings_yaml(s: OrbSlamSettings) -> str:
    """The settings file text (OpenCV FileStorage YAML)."""
    s.validate()
    return '\n'.join([
        '%YAML:1.0',
        '# ORB-SLAM2 RGB-D settings for depth_perception pseudo-RGB-D (learned depth).',
        '# Topics: /camera/rgb/image_raw and /camera/depth_registered/image_raw (32FC1 m).',
        '',
        '# Camera intrinsics of the published (rectified, distortion-free) images [px]',
        f'Camera.fx: {_f(s.fx)}',
        f'Camera.fy: {_f(s.fy)}',
        f'Camera.cx: {_f(s.cx)}',
        f'Camera.cy: {_f(s.cy)}',
        '',
        'Camera.k1: 0.0',
        'Camera.k2: 0.0',
        'Camera.p1: 0.0',
        'Camera.p2: 0.0',
        'Camera.k3: 0.0',
        '',
        f'Camera.width: {int(s.width)}',
        f'Camera.height: {int(s.height)}',
        '',
        '# Camera frames per second',
        f'Camera.fps: {_f(s.fps)}',
        '',
        f'# Virtual baseline ({s.baseline_m} m) times fx: learned depth has no real baseline',
        f'Camera.bf: {_f(s.bf)}',
        '',
        '# Color order of the images (0: BGR, 1: RGB)',
        f'Camera.RGB: {1 if s.rgb_order else 0}',
        '',
        f'# Close/far threshold in baselines: points nearer than {s.trusted_depth_m} m are "close"',
        f'ThDepth: {_f(s.th_depth)}',
        '',
        '# Depth image scale: 32FC1 metres need none',
        'DepthMapFactor: 1.0',
        '',
        '# ORB extractor',
        f'ORBextractor.nFeatures: {int(s.n_features)}',
        f'ORBextractor.scaleFactor: {_f(s.scale_factor)}',
        f'ORBextractor.nLevels: {int(s.n_levels)}',
        f'ORBextractor.iniThFAST: {int(s.ini_th_fast)}',
        f'ORBextractor.minThFAST: {int(s.min_th_fast)}',
        '',
        '# Viewer (ORB-SLAM2 defaults)',
        'Viewer.KeyFrameSize: 0.05',
        'Viewer.KeyFrameLineWidth: 1',
        'Viewer.GraphLineWidth: 0.9',
        'Viewer.PointSize: 2',
        'Viewer.CameraSize: 0.08',
        'Viewer.CameraLineWidth: 3',
        'Viewer.ViewpointX: 0',
        'Viewer.ViewpointY: -0.7',
        'Viewer.ViewpointZ: -1.8',
        'Viewer.ViewpointF: 500',
        '',
    ])


def camera_info_from_yaml(path) -> tuple[np.ndarray, int, int]:
    """(K, width, height) from a camera_info YAML (camera_calibration_parsers layout:
    image_width, image_height, camera_matrix.data; or a CameraInfo message dump with k)."""
    import yaml
    from pathlib import Path
    data = yaml.safe_load(Path(path).read_text()) or {}
    if 'camera_matrix' in data:
        K = np.asarray(data['camera_matrix']['data'], dtype=np.float64)
        width, height = data.get('image_width'), data.get('image_height')
    else:
        K = np.asarray(data.get('k', data.get('K')), dtype=np.float64)
        width, height = data.get('width'), data.get('height')
    if K.size != 9 or width is None or height is None:
        raise ValueError(f'{path}: need image_width, image_height and a 3x3 camera_matrix')
    K = K.reshape(3, 3)
    if not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f'{path}: invalid camera matrix {K.tolist()}')
    return K, int(width), int(height)
