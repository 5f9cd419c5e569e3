"""Issue 9 defect 19: `eval` on ordinary, imperfect bags. Bad messages are skipped, named and
counted (report marked partial); the report folder only appears when complete; a lying
metadata.yaml only warns; --max-frames must be >= 0. Each test failed on the old code."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from depth_perception.bags.messages import camera_info_msg, image_msg, pose_stamped_msg
from depth_perception.bags.reader import BagReader
from depth_perception.bags.writer import BagWriter
from depth_perception.cli import eval as eval_cli
from depth_perception.evaluation.config import EvalConfig
from depth_perception.evaluation.offline import run_offline
from depth_perception.evaluation.recorded import run_recorded
from depth_perception.evaluation.sample_bag import (FRAME_PERIOD_NS, START_NS, sample_gt_pose,
                                                    write_sample_bag)
from eval_helpers import small_eval_config as _cfg, eval_args as _args

REPO = Path(__file__).resolve().parents[1]
IMG, INFO, DEPTH, POSE = ('/camera/color/image_raw', '/camera/color/camera_info', '/camera/depth/image_raw',
                          '/ground_truth/camera_pose')


def write_bag_with_bad_messages(path, n=7):
    """Like sample_bag, but image 2 has a wrong step, camera_info 3 a NaN K, pose 4 a
    non-unit quaternion and image 5 is not CDR at all."""
    h, w = 48, 64
    K = np.array([[0.8 * w, 0, (w - 1) / 2], [0, 0.8 * w, (h - 1) / 2], [0, 0, 1]])
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    with BagWriter(path) as bag:
        for i in range(n):
            t = START_NS + i * FRAME_PERIOD_NS
            img = image_msg(np.roll(base, i, axis=1), t, 'cam')
            if i == 2:
                img.step = w * 3 - 5
            if i == 5:
                bag.write_raw(IMG, 'sensor_msgs/msg/Image', b'\x00\x01garbage', t)
            else:
                bag.write(IMG, img, t)
            info = camera_info_msg(K.copy(), w, h, t, 'cam')     # k may be a view of K
            if i == 3:
                info.k[0] = np.nan
            bag.write(INFO, info, t)
            bag.write(DEPTH, image_msg((1.0 + 0.02 * xx + 0.05 * i).astype(np.float32), t, 'cam', '32FC1'), t)
            pose = pose_stamped_msg(sample_gt_pose(i), t, 'world')
            if i == 4:
                pose.pose.orientation.w = 2.0
            bag.write(POSE, pose, t)
    return Path(path)


def test_bad_messages_are_skipped_named_counted_and_flag_the_report(tmp_path):
    bag = write_bag_with_bad_messages(tmp_path / 'in')
    r = run_offline(_cfg(bag, tmp_path / 'rep'))
    assert r['frames']['evaluated'] == 5 and r['partial'] is True
    bad = r['bad_messages']
    got = sorted((b['topic'], b['index'], b['stamp_ns']) for b in bad['items'])
    assert got == sorted([(IMG, 2, START_NS + 2 * FRAME_PERIOD_NS), (INFO, 3, START_NS + 3 * FRAME_PERIOD_NS),
                          (POSE, 4, START_NS + 4 * FRAME_PERIOD_NS), (IMG, 5, START_NS + 5 * FRAME_PERIOD_NS)])
    problems = {(b['topic'], b['index']): b['problem'] for b in bad['items']}
    assert 'step' in problems[(IMG, 2)] and 'invalid K' in problems[(INFO, 3)]
    assert bad['count'] == 4 and r['trajectory']['association']['matched'] == 5 - 1   # no GT for frame 4
    md = (tmp_path / 'rep' / 'report.md').read_text()
    assert 'PARTIAL' in md and '4 bad message(s) were skipped' in md and f'| {IMG} | 2 |' in md
    with BagReader(tmp_path / 'rep' / 'output_bag') as ob:
        assert ob.topics['/depth/image'].count == 5


def test_bad_messages_scored_from_recorded_predictions(tmp_path):
    bag = write_bag_with_bad_messages(tmp_path / 'in')
    r = run_recorded(_cfg(bag, tmp_path / 'rep'), bag, DEPTH, POSE, pose_frame='optical')
    assert r['depth']['frames_evaluated'] == 5 and r['depth']['metrics']['abs_rel'] == pytest.approx(0, abs=1e-7)
    # the same bag is the prediction bag: its bad pose is named there too
    assert r['partial'] and r['bad_messages']['count'] == 5
    assert r['bad_messages']['by_topic'][f'{POSE} (predictions)'] == 1


def test_cli_failure_leaves_no_report_folder_and_rerun_works(tmp_path):
    bag = write_sample_bag(tmp_path / 'in', n_frames=3)
    out = tmp_path / 'rep'
    bad_ckpt = tmp_path / 'broken.pt'
    bad_ckpt.write_bytes(b'not a checkpoint')
    with pytest.raises(Exception):
        eval_cli.run(_args(['--bag', str(bag), '--out', str(out), '--checkpoint', str(bad_ckpt),
                            '--no-progress', '--no-plots']))
    assert sorted(os.listdir(tmp_path)) == ['broken.pt', 'in']          # nothing half-written
    assert eval_cli.run(_args(['--bag', str(bag), '--out', str(out), '--resolution', '64x64',
                               '--no-progress', '--no-plots'])) == 0
    assert (out / 'report.md').is_file() and sorted(os.listdir(tmp_path)) == ['broken.pt', 'in', 'rep']


@pytest.mark.slow
def test_ctrl_c_removes_the_half_written_folder(tmp_path):
    bag = write_sample_bag(tmp_path / 'in', n_frames=400, hw=(96, 128))
    out = tmp_path / 'rep'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO)] + sys.path))
    proc = subprocess.Popen([sys.executable, '-m', 'depth_perception.cli.main', 'eval', '--bag', str(bag),
                             '--out', str(out), '--resolution', '64x64', '--no-progress', '--no-plots'],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            # a shell's background job (no job control) ignores SIGINT, and a child
                            # inherits that: give the eval a terminal's Ctrl-C whatever ran pytest
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # wait until frames are being written (an output bag exists somewhere under tmp_path)
        for _ in range(1200):
            if list(tmp_path.glob('*/output_bag')) or list(tmp_path.glob('.*/output_bag')):
                break
            assert proc.poll() is None, proc.stdout.read().decode()
            time.sleep(0.1)
        else:
            pytest.fail('eval never started writing')
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert sorted(os.listdir(tmp_path)) == ['in']        # neither 'rep' nor a hidden leftover


def _metadata_lie(src: Path, dst: Path, how: str) -> Path:
    import shutil
    shutil.copytree(src, dst)
    meta = dst / 'metadata.yaml'
    text = meta.read_text()
    if how == 'counts':
        text = re.sub(r'message_count: \d+', 'message_count: 0', text)
    else:
        text = text.replace('type: sensor_msgs/msg/Image\n', 'type: sensor_msgs/msg/CompressedImage\n', 1)
    meta.write_text(text)
    return dst


@pytest.mark.parametrize('how', ['counts', 'type'])
def test_lying_metadata_only_warns(tmp_path, how, caplog):
    good = write_sample_bag(tmp_path / 'good', n_frames=4)
    bag = _metadata_lie(good, tmp_path / 'lie', how)
    r = run_recorded(_cfg(bag, tmp_path / 'rep'), bag, DEPTH, POSE, pose_frame='optical')
    assert r['frames']['evaluated'] == 4 and r['depth']['metrics']['abs_rel'] == pytest.approx(0, abs=1e-7)
    assert 'trusting the storage' in caplog.text


def test_sqlite_bag_with_zero_counts_in_metadata(tmp_path, caplog):
    good = write_sample_bag(tmp_path / 'good', n_frames=3, storage='sqlite3')
    bag = _metadata_lie(good, tmp_path / 'lie', 'counts')
    with BagReader(bag) as b:
        assert b.topics[IMG].count == 3
    assert 'trusting the storage' in caplog.text


def test_negative_max_frames_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _args(['--bag', 'x', '--max-frames', '-3'])
    assert "--max-frames: must be >= 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match='max_frames must be a whole number >= 0'):
        EvalConfig(bag=Path('x'), out_dir=tmp_path, max_frames=-3)


def test_metrics_json_lists_bad_messages(tmp_path):
    bag = write_bag_with_bad_messages(tmp_path / 'in', n=4)
    run_recorded(_cfg(bag, tmp_path / 'rep'), bag, DEPTH, POSE, pose_frame='optical')
    saved = json.loads((tmp_path / 'rep' / 'metrics.json').read_text())
    assert saved['partial'] is True and saved['bad_messages']['by_topic'] == {IMG: 1, INFO: 1}


def test_staged_folder_publishes_only_complete_reports(tmp_path):
    from depth_perception.evaluation.report_folder import staged_folder
    final = tmp_path / 'rep'
    with pytest.raises(RuntimeError):
        with staged_folder(final) as st:
            (st / 'output_bag').mkdir()
            raise RuntimeError('boom')
    assert os.listdir(tmp_path) == []
    with staged_folder(final) as st:
        assert st.name.startswith('.rep.partial-') and not final.exists()
        (st / 'metrics.json').write_text('{}')
    assert os.listdir(tmp_path) == ['rep']
    with pytest.raises(FileExistsError, match='exists and is not empty'):   # eval never overwrites
        with staged_folder(final):
            pass
    with staged_folder(final, replace_reports=True) as st:                   # demo replaces its last run
        (st / 'metrics.json').write_text('{"new": 1}')
    assert json.loads((final / 'metrics.json').read_text()) == {'new': 1} and os.listdir(tmp_path) == ['rep']
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'notes.txt').write_text('x')
    with pytest.raises(FileExistsError):                                      # not a report: left alone
        with staged_folder(tmp_path / 'mine', replace_reports=True):
            pass
