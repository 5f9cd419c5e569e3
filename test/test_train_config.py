"""Training configs by short name (issue 9, defect 7) and one-line override errors (defect 22)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from depth_perception.cli.main import main
from depth_perception_training.config import load_config, resolve_config

REPO = Path(__file__).resolve().parents[1]
NYU = REPO / 'training' / 'configs' / 'v1' / 'nyu.yaml'


def test_short_names_resolve_to_the_shipped_configs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                     # not in the checkout: only the package can answer
    assert resolve_config('v1/nyu').resolve() == NYU.resolve()
    assert resolve_config('v1/nyu.yaml').resolve() == NYU.resolve()
    assert resolve_config('training/configs/v3/kitti_raw.yaml').resolve() == \
        (REPO / 'training' / 'configs' / 'v3' / 'kitti_raw.yaml').resolve()
    assert load_config('v2/bonn').use_frame_index is True
    own = tmp_path / 'v1' / 'nyu'                   # a user's file wins over a short name
    own.parent.mkdir()
    own.write_text('dataset_name: tum\n')
    assert load_config('v1/nyu').dataset_name == 'tum'
    assert load_config(str(NYU)).dataset_name == 'nyu'


def test_unknown_config_names_list_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r'config v1/nyuu: no such file, and not a shipped config '
                                                r'\(short names: .*v1/bonn, .*v1/nyu, .*v3/tum\)'):
        resolve_config('v1/nyuu')
    loop = tmp_path / 'loop.yaml'
    loop.symlink_to(loop)
    with pytest.raises(ValueError, match=r'config .*loop\.yaml: symbolic link loop$'):
        resolve_config(loop)


@pytest.mark.parametrize('override,message', [
    ('batch_size=abc', "batch_size must be a whole number, got 'abc'"),
    ('batch_size=2.5', 'batch_size must be a whole number, got 2.5'),
    ('lr=abc', "lr must be a finite number, got 'abc'"),
    ('lr=.nan', 'lr must be a finite number, got nan'),
    ('num_epochs=[3]', 'num_epochs must be a whole number, got [3]'),
    ('exp_name={a: 1}', "exp_name must be text, got {'a': 1}"),
    ('img_height=128', 'img_height and img_width must be set together'),
    ('img_height=2147483648', 'img_height and img_width must be set together'),
    ('num_workers=-1', 'num_workers must be >= 0, got -1'),
])
def test_train_override_errors_are_one_line_naming_the_field(override, message, capsys):
    assert main(['train', '--config', 'v1/nyu', override]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f'depth-perception train: error: {message}'), err


def test_huge_training_size_is_refused():
    with pytest.raises(ValueError, match=r'training size 2147483648x64 must be a multiple of 32 .*64\.\.8192 px'):
        load_config('v1/nyu', ['img_height=2147483648', 'img_width=64'])


def test_broken_yaml_config_is_one_line(tmp_path, capsys):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('batch_size: [1,\n')
    assert main(['train', '--config', str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'depth-perception train: error: {bad}: not a valid YAML config (line 2)']


@pytest.mark.slow   # a real `pip install` of the package (~10-30 s)
def test_short_names_work_in_an_installed_package(tmp_path):
    """README's commands after an install: no checkout on the path, configs from package data."""
    src = tmp_path / 'src'
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        '.git', '.venv', '.dev', 'build', 'install', 'log', 'runs', '*.egg-info', '__pycache__',
        '.pytest_cache', 'test', 'bench'))
    target = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation',
                    '--no-compile', '--target', str(target), str(src)], check=True, timeout=600)
    shutil.rmtree(src)                             # the checkout is gone: only the install remains
    env = {**os.environ, 'PYTHONPATH': str(target)}
    where = subprocess.run(
        [sys.executable, '-c', 'import depth_perception_training.config as c; '
                               'print(c.resolve_config("v1/nyu")); '
                               'print(c.resolve_config("training/configs/v3/tum.yaml"))'],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert where == [str(target / 'depth_perception_training' / 'configs' / 'v1' / 'nyu.yaml'),
                     str(target / 'depth_perception_training' / 'configs' / 'v3' / 'tum.yaml')]
    # the CLI gets past the config (found) to the override check
    run = subprocess.run([sys.executable, '-m', 'depth_perception.cli.main', 'train', '--config', 'v1/nyu',
                          'batch_size=abc'], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip() == "depth-perception train: error: batch_size must be a whole number, got 'abc'"
