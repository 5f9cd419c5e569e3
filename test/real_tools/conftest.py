"""Session fixture `ros2_tools`: the real ROS 2 tools and one colcon build (see real_tools_support)."""
from __future__ import annotations

import os
import subprocess

import pytest

from real_tools_support import RealTools, require_ros2_tools, run_install, sourced_env, tools_prefix
from worktree_copy import copy_working_tree


@pytest.fixture(scope='session')
def ros2_tools(tmp_path_factory):
    tools = require_ros2_tools()
    prefix = tools_prefix(tools)
    run_install(tools, prefix)
    ws = tmp_path_factory.mktemp('colcon_ws')
    copy_working_tree(ws / 'src' / 'depth_perception')
    # A user's shell: no checkout on PYTHONPATH (the install must be what runs), private DDS domain.
    base = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'AMENT_PREFIX_PATH',
                                                             'COLCON_PREFIX_PATH', 'PYTEST_ADDOPTS')}
    base.update(ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', FASTDDS_BUILTIN_TRANSPORTS='LARGE_DATA',
                ROS_DOMAIN_ID=os.environ['ROS_DOMAIN_ID'], ROS_LOG_DIR=str(ws / 'ros_log'),
                PYTHONUNBUFFERED='1', RCUTILS_COLORIZED_OUTPUT='0')
    tools_env = sourced_env(prefix / 'env.sh', base=base)
    build = subprocess.run(['bash', '-c', f'set +u; source {prefix}/env.sh; colcon_venv build '
                            '--event-handlers console_direct+'], env=base, cwd=ws,
                           capture_output=True, text=True, timeout=900)
    build_log = build.stdout + build.stderr
    assert build.returncode == 0, f'colcon build failed:\n{build_log[-4000:]}'
    env = sourced_env(prefix / 'env.sh', ws / 'install' / 'setup.bash', base=base)
    assert tools_env['PATH'] != env['PATH']
    real = RealTools(prefix, ws, env, build_log)
    yield real
    real.cleanup()
