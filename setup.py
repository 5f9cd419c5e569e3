"""ament_python build for depth_perception (also installable with plain pip)."""
import os
from glob import glob

from setuptools import find_packages, setup
from setuptools.command.install_scripts import install_scripts

PACKAGE = 'depth_perception'
TRAINING = 'depth_perception_training'
USER_COMMANDS = ('depth-perception',)   # also on PATH after `source install/setup.bash`


class InstallScripts(install_scripts):
    """ament_python puts every console script into lib/<package> (setup.cfg), where `ros2 run`
    looks; the user-facing CLI is also copied to <prefix>/bin, which install/setup.bash puts
    on PATH. Wheels (pip) are left alone: the installer writes bin/ from entry_points."""

    def run(self):
        super().run()
        if self.no_ep:
            return
        bin_dir = os.path.join(self.get_finalized_command('install').install_base, 'bin')
        if os.path.normpath(bin_dir) == os.path.normpath(self.install_dir):
            return
        for script in list(self.outfiles):
            if os.path.basename(script) in USER_COMMANDS:
                self.mkpath(bin_dir)
                target = os.path.join(bin_dir, os.path.basename(script))
                self.copy_file(script, target)
                self.outfiles.append(target)   # listed in --record, so colcon can clean it


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
        (f'share/{PACKAGE}/config', glob('config/*.yaml') + glob('config/*.rviz') + glob('config/*.xml')),
        (f'share/{PACKAGE}/config/training/v1', glob('training/configs/v1/*.yaml')),
        (f'share/{PACKAGE}/config/training/v2', glob('training/configs/v2/*.yaml')),
        (f'share/{PACKAGE}/config/training/v3', glob('training/configs/v3/*.yaml')),
        (f'share/{PACKAGE}/config/training/depthnet', glob('training/configs/depthnet/*.yaml')),
        (f'share/{PACKAGE}/config/training/boost', glob('training/configs/boost/*.yaml')),
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='depth_perception maintainers',
    maintainer_email='depth-perception@example.org',
    description='Learned monocular depth, point clouds and ego-motion for ROS 2 '
                '(SC-Depth V1/V2/V3 and friends), with training and bag evaluation.',
    license='GPL-3.0-only',
    # colcon test runs pytest only for packages that declare it as a test dependency
    # (tests_require is ignored by current setuptools).
    extras_require={'test': ['pytest']},
    cmdclass={'install_scripts': InstallScripts},
    entry_points={
        'console_scripts': [
            'depth-perception = depth_perception.cli.main:main',
            'scdepth_node = depth_perception.ros.scdepth_node:main',
            'boosted_depth_node = depth_perception.ros.boosted_node:main',
            'depthnet_node = depth_perception.ros.depthnet_node:main',
        ],
    },
)
