"""The real ROS 2 user tools (colcon, ros2 launch, ros2cli) against one colcon build per session.

`../shared/ros2-tools/install.sh` puts launch/launch_ros/ros2cli and a venv-aware colcon into a
cached prefix; the package is built from a copy of the working tree in a temporary workspace;
every command then runs as a user's shell would after `source install/setup.bash`. These tools
never enter this pytest process's sys.path (their pytest plugins break pytest 9): they live only
in the environment of the subprocesses started here.

Skipped with the reason where ../shared/ros2-tools is absent; failed instead when CI=true.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from worktree_copy import REPO_ROOT

HERE = Path(__file__).resolve().parent
ROS2_TOOLS = Path(os.environ.get('DP_ROS2_TOOLS', REPO_ROOT.parent / 'shared' / 'ros2-tools'))
FAKE_CAMERA = HERE / 'fake_camera.py'
STARTED = re.compile(r'\[INFO\] \[(?P<name>[\w.-]+)\]: process started with pid \[(?P<pid>\d+)\]')
FINISHED = re.compile(r'\[(?P<name>[\w.-]+)\]: process has finished cleanly \[pid (?P<pid>\d+)\]')
DIED = re.compile(r'\[(?P<name>[\w.-]+)\]: process has died \[pid (?P<pid>\d+), exit code (?P<code>-?\d+)')


def require_ros2_tools() -> Path:
    if (ROS2_TOOLS / 'install.sh').is_file():
        return ROS2_TOOLS
    reason = f'{ROS2_TOOLS} is absent: the real ROS 2 tools (ros2 launch, ros2cli, colcon) ship only beside the checkout'
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(reason + ' (CI=true: these tests must run)', pytrace=False)
    pytest.skip(reason)


def tools_prefix(tools: Path) -> Path:
    """One cached install per venv and install.sh version (the script is a no-op when present)."""
    override = os.environ.get('DP_ROS2_TOOLS_PREFIX')
    if override:
        return Path(override)
    key = hashlib.sha256(sys.prefix.encode() + (tools / 'install.sh').read_bytes()).hexdigest()[:12]
    return Path.home() / '.cache' / 'depth_perception' / f'ros2-tools-{key}'


def run_install(tools: Path, prefix: Path) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with open(prefix.parent / f'{prefix.name}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # parallel sessions share the cache
        run = subprocess.run(['bash', str(tools / 'install.sh'), sys.prefix, str(prefix)],
                             capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f'install.sh failed:\n{run.stderr[-3000:]}'


def sourced_env(*scripts: Path, base: dict) -> dict:
    """The environment after `source`-ing the scripts in bash (as a user's shell)."""
    sources = '; '.join(f'source {s}' for s in scripts)
    out = subprocess.run(['bash', '-c', f'set +u; {sources} >/dev/null; env -0'], env=base,
                         capture_output=True, check=True, timeout=60).stdout
    return dict(item.split('=', 1) for item in out.decode().split('\0') if '=' in item)


class LaunchRun:
    """`ros2 launch ...` in its own process group, output in a file."""

    def __init__(self, args: list[str], env: dict, cwd: Path, log: Path):
        self.args, self.log = args, log
        self._out = open(log, 'w')
        # Background processes started from scripts may inherit an ignored SIGINT: reset it.
        self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors='replace')

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output())
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f'{pattern!r} not seen in {" ".join(self.args)}:\n{self.output()[-4000:]}')

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'{" ".join(self.args)} still running after {timeout} s:\n'
                                 f'{self.output()[-4000:]}') from None

    def interrupt(self, timeout: float = 90) -> int:
        """Ctrl-C in the launch's terminal: SIGINT to its whole process group."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        return self.wait(timeout)

    def started(self) -> dict[str, int]:
        return {m['name']: int(m['pid']) for m in STARTED.finditer(self.output())}

    def exit_codes(self) -> dict[str, int]:
        """Exit code of every process the launch started, from its own report."""
        text = self.output()
        codes = {m['name']: 0 for m in FINISHED.finditer(text)}
        codes.update({m['name']: int(m['code']) for m in DIED.finditer(text)})
        return codes

    def lines_of(self, name: str) -> list[str]:
        return [line for line in self.output().splitlines() if line.startswith(f'[{name}]')]

    def leftover_pids(self) -> list[int]:
        """Started processes still alive (zombies do not count)."""
        alive = []
        for pid in self.started().values():
            try:
                state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
            except (FileNotFoundError, IndexError):
                continue
            if state != 'Z':
                alive.append(pid)
        return alive

    def kill(self) -> None:
        if self._out.closed:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in self.leftover_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)
        self._out.close()


class RealTools:
    def __init__(self, prefix: Path, workspace: Path, env: dict, build_log: str):
        self.prefix, self.ws, self.env, self.build_log = prefix, workspace, env, build_log
        self.install = workspace / 'install' / 'depth_perception'
        self._runs: list[LaunchRun] = []
        self._procs: list[subprocess.Popen] = []
        self._count = 0

    def run(self, args, timeout: float = 120, cwd=None, env=None) -> subprocess.CompletedProcess:
        shell = isinstance(args, str)
        return subprocess.run(['bash', '-c', args] if shell else args, env=env or self.env,
                              cwd=cwd or self.ws, capture_output=True, text=True, timeout=timeout)

    def colcon(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """colcon as install.sh sets it up (`colcon_venv`, a shell function of env.sh)."""
        return self.run(['bash', '-c', f'set +u; source {self.prefix}/env.sh; colcon_venv "$@"', 'colcon', *args],
                        timeout=timeout)

    def ros2(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return self.run(['ros2', *args], timeout=timeout)

    def param(self, verb: str, node: str, *args: str) -> subprocess.CompletedProcess:
        """`ros2 param VERB`, asked again while discovery has not yet found the node."""
        for _ in range(3):
            result = self.ros2('param', verb, '--no-daemon', '--spin-time', '3', node, *args)
            if 'Node not found' not in result.stdout + result.stderr:
                break
        return result

    def node_list(self, expect: tuple[str, ...] = ()) -> list[str]:
        """`ros2 node list`, asked again while discovery has not yet found every expected node
        (on a loaded machine a node with many endpoints can take longer than one spin)."""
        for spin_s in (3, 5, 8, 12):
            names = self.ros2('node', 'list', '--no-daemon', '--spin-time', str(spin_s)).stdout.split()
            if names and set(expect) <= set(names):
                break
        return names

    def launch(self, launch_file: str, *args: str, env: dict | None = None) -> LaunchRun:
        self._count += 1
        run = LaunchRun(['ros2', 'launch', 'depth_perception', launch_file, *args], env or self.env,
                        self.ws, self.ws / f'launch-{self._count}.log')
        self._runs.append(run)
        return run

    def camera(self, *prefixes: str, rate: float = 4.0, extra: tuple[str, ...] = ()) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, str(FAKE_CAMERA), *prefixes, '--rate', str(rate), *extra],
                                env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def cleanup(self) -> None:
        for proc in self._procs:
            self.stop(proc)
        for run in self._runs:
            run.kill()


class TopicProbe:
    """Subscriber in this process (real DDS): counts sensor_msgs/Image per topic."""

    def __init__(self, topics: list[str]):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        self._rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('real_tools_probe', context=self.context)
        self.seen: dict[str, list[tuple]] = {t: [] for t in topics}
        self._lock = threading.Lock()
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        for topic in topics:
            self.node.create_subscription(Image, topic, lambda msg, t=topic: self._on(t, msg), qos)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self):
        # spin_once in a loop that close() ends, rather than spin(): shutting the executor and
        # context down under a spinning thread once left that thread looping with the GIL, and
        # the main thread (and pytest's timeout) never ran again
        try:
            while not self._stop.is_set():
                self.executor.spin_once(timeout_sec=0.1)
        except Exception:  # noqa: BLE001 - context shut down under it
            pass

    def _on(self, topic, msg):
        import numpy as np
        finite = None
        if msg.encoding == '32FC1':
            depth = np.frombuffer(bytes(msg.data), dtype=np.float32)
            finite = float(np.isfinite(depth).mean()) if depth.size else 0.0
        with self._lock:
            self.seen[topic].append((msg.encoding, msg.width, msg.height, finite))

    def wait(self, topic: str, count: int, timeout: float, launch: LaunchRun | None = None) -> list[tuple]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.seen[topic]) >= count:
                    return list(self.seen[topic])
            time.sleep(0.2)
        log = launch.output()[-4000:] if launch else ''
        raise AssertionError(f'{len(self.seen[topic])} of {count} messages on {topic} within {timeout} s\n{log}')

    def close(self):
        self._stop.set()
        self._thread.join(timeout=10)
        self.executor.shutdown(timeout_sec=5)
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)
