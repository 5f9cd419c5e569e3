"""ament_python build for depth_perception (also installable with plain pip)."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'depth_perception'
TRAINING = 'depth_perception_training'

setup(
    name=PACKAGE,
    version='0.1.0',
    # The offline training code lives in training/ at the top of the repository but installs
    # under a name of its own, so it cannot collide with another project's `training`.
    packages=(find_packages(include=[PACKAGE, f'{PACKAGE}.*'])
              + [f'{TRAINING}{p[len("training"):]}' for p in find_packages(include=['training', 'training.*'])]),
    package_dir={TRAINING: 'training'},
    package_data={f'{PACKAGE}.data': ['*.pt'], TRAINING: ['configs/*/*.yaml']},
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        (f'share/{PACKAGE}/launch', glob('launch/*.launch.py')),
        (f'share/{PACKAGE}/config', glob('config/*.yaml') + glob('config/*.rviz')),
        (f'share/{PACKAGE}/config/training/v1', glob('training/configs/v1/*.yaml')),
        (f'share/{PACKAGE}/config/training/v2', glob('training/configs/v2/*.yaml')),
        (f'share/{PACKAGE}/config/training/v3', glob('training/configs/v3/*.yaml')),
        (f'share/{PACKAGE}/config/training/depthnet', glob('training/configs/depthnet/*.yaml')),
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='depth_perception maintainers',
    maintainer_email='depth-perception@example.org',
    description='Learned monocular depth, point clouds and ego-motion for ROS 2 '
                '(SC-Depth V1/V2/V3 and friends), with training and bag evaluation.',
    license='GPL-3.0-only',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'depth-perception = depth_perception.cli.main:main',
            'scdepth_node = depth_perception.ros.scdepth_node:main',
        ],
    },
)
