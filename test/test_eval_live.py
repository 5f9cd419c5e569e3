"""Live mode (bag -> DDS -> SCDepthNode -> recorder) agrees with offline mode on the same bag."""
from pathlib import Path

import pytest

pytest.importorskip('rclpy')
pytest.importorskip('tf2_msgs')

from depth_perception.evaluation.config import EvalConfig  # noqa: E402
from depth_perception.evaluation.offline import run_offline  # noqa: E402
from depth_perception.evaluation.sample_bag import write_sample_bag  # noqa: E402


@pytest.mark.ros
@pytest.mark.slow
def test_live_matches_offline(tmp_path):
    from depth_perception.evaluation.live import run_live
    bag = write_sample_bag(tmp_path / 'in', n_frames=5)
    kw = dict(bag=bag, resolution_hw=(64, 64), preset='tum', plots=False, progress=False)
    off = run_offline(EvalConfig(out_dir=tmp_path / 'off', **kw))
    live = run_live(EvalConfig(out_dir=tmp_path / 'live', live=True, **kw))
    # paced playback is lossless: every image came back with its own stamp
    assert live['frames']['dropped'] == 0 and live['live']['node']['dropped'] == 0
    assert live['frames']['evaluated'] == off['frames']['evaluated'] == 5
    for k, v in off['depth']['metrics'].items():
        assert live['depth']['metrics'][k] == pytest.approx(v, rel=1e-6, abs=1e-9), k
    assert [f['stamp_ns'] for f in live['depth']['per_frame']] == [f['stamp_ns'] for f in off['depth']['per_frame']]
    assert live['trajectory']['ate_m']['rmse'] == pytest.approx(off['trajectory']['ate_m']['rmse'], rel=1e-6, abs=1e-9)
    assert (Path(live['output_bag']) / 'metadata.yaml').exists()
