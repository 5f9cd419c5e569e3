"""Shared test set-up: isolated DDS, fixture paths, and the `slow` marker."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

# DDS: stay on loopback, on a domain of our own, with the transport MB-sized messages need.
# These must be set before any rclpy context exists, i.e. at conftest import.
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(20, 99)))
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA')
os.environ.setdefault('MPLBACKEND', 'Agg')

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = Path(os.environ.get('DP_SHARED_FIXTURES', REPO_ROOT.parent / 'shared' / 'fixtures'))


def shared_fixture(relative: str) -> Path:
    """Path of a third-party fixture in ../shared/fixtures, or skip the test with the reason.

    In CI (CI=true) a missing fixture is a failure: a silently skipped suite proves nothing.
    """
    path = SHARED_FIXTURES / relative
    if not path.exists():
        message = f'fixture {path} is absent (it ships only beside the project checkout)'
        if os.environ.get('CI', '').strip().lower() in ('1', 'true', 'yes'):
            pytest.fail(f'{message}; CI=true requires it', pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture
def fixtures_dir() -> Path:
    return SHARED_FIXTURES
