"""Synthetic writers: SC-Depth folders, Still Box, rosbag2 (MCAP + sqlite3), default bag, CLI."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from depth_perception.bags import TYPESTORE, T_from_pose_msg, T_from_transform_msg, decode_image
import argparse

from depth_perception.cli import synth as synth_cli
from depth_perception.synthetic import (DEFAULT_TOPICS, DEPTH_PNG_SCALE, make_sequence, write_bag,
                                        write_sc_depth, write_stillbox)
from depth_perception.synthetic.default import default_sequence_bag
from depth_perception.synthetic.writers.images import read_depth_png
from depth_perception.synthetic.writers.sc_depth import dynamic_colour


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def test_sc_depth_layout_and_values(tmp_path):
    seqs = [make_sequence(scene='indoor', frames=3, width=64, height=48, seed=s, dynamic_objects=2)
            for s in (1, 2)]
    summary = write_sc_depth(seqs, tmp_path / 'ds', progress=False)
    root = tmp_path / 'ds'
    assert summary.frames == 6 and summary.files == len(_tree_bytes(root))
    train = (root / 'training' / 'train.txt').read_text().split()
    val = (root / 'training' / 'val.txt').read_text().split()
    assert train == ['indoor_handheld_s0001'] and val == ['indoor_handheld_s0002']
    for seq, name in zip(seqs, train + val):
        d = root / 'training' / name
        np.testing.assert_allclose(np.loadtxt(d / 'cam.txt'), seq.K, atol=1e-7)
        np.testing.assert_allclose(np.loadtxt(d / 'poses.txt').reshape(-1, 3, 4), seq.T_world_cam[:, :3], atol=1e-8)
        for i, frame in enumerate(seq):
            assert cv2.imread(str(d / f'{i:06d}.jpg')).shape == (48, 64, 3)
            depth = read_depth_png(d / 'depth' / f'{i:06d}.png', DEPTH_PNG_SCALE)
            np.testing.assert_allclose(depth, frame.depth_m, atol=0.5 / DEPTH_PNG_SCALE + 1e-6)
    # testing/ holds the validation scene, with seg masks coloured by dynamic_colors.txt.
    colours = {tuple(map(int, line.split())) for line in (root / 'testing' / 'dynamic_colors.txt').read_text().splitlines()}
    assert colours == {dynamic_colour(1), dynamic_colour(2)}
    for i, frame in enumerate(seqs[1]):
        seg = cv2.imread(str(root / 'testing' / 'seg_mask' / f'{val[0]}_{i:06d}.png'))[..., ::-1]
        is_dyn = np.zeros(frame.dynamic_mask.shape, bool)
        for c in colours:
            is_dyn |= np.all(seg == c, axis=-1)
        np.testing.assert_array_equal(is_dyn, frame.dynamic_mask)
        assert (root / 'testing' / 'color' / f'{val[0]}_{i:06d}.jpg').is_file()
        assert (root / 'testing' / 'depth' / f'{val[0]}_{i:06d}.png').is_file()
    info = json.loads((root / 'synthetic.json').read_text())
    assert info['depth_png_scale'] == 1000.0
    with pytest.raises(FileExistsError):
        write_sc_depth(seqs, root, progress=False)


def test_same_seed_gives_byte_identical_files(tmp_path):
    def write(folder):
        seq = make_sequence(scene='street', frames=2, width=48, height=32, seed=5, dynamic_objects=1)
        write_sc_depth(seq, folder / 'sc', progress=False)
        write_bag(seq, folder / 'bag', storage='mcap', progress=False)
        write_bag(seq, folder / 'db', storage='sqlite3', progress=False)
        return folder
    a, b = _tree_bytes(write(tmp_path / 'a')), _tree_bytes(write(tmp_path / 'b'))
    assert a.keys() == b.keys() and len(a) > 10
    different = [k for k in a if a[k] != b[k]]
    assert different == []


def test_stillbox_layout(tmp_path):
    seq = make_sequence(scene='stillbox', frames=3, width=64, height=64, hfov_deg=90.0, seed=2, speed_mps=2.0)
    write_stillbox(seq, tmp_path / 'sb', progress=False)
    meta = json.loads((tmp_path / 'sb' / 'metadata.json').read_text())
    scene = meta['scenes'][0]
    assert len(scene['imgs']) == len(scene['depth']) == 3
    assert scene['time_step'] == pytest.approx(0.1)
    assert np.linalg.norm(scene['speed']) == pytest.approx(2.0)
    for i, frame in enumerate(seq):
        np.testing.assert_array_equal(np.load(tmp_path / 'sb' / scene['depth'][i]), frame.depth_m)
        assert cv2.imread(str(tmp_path / 'sb' / scene['imgs'][i])).shape == (64, 64, 3)
    with pytest.raises(ValueError, match='90 deg'):
        write_stillbox(make_sequence(scene='stillbox', frames=1, width=64, height=64, hfov_deg=60.0),
                       tmp_path / 'bad', progress=False)


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_engine_bag_reads_back(tmp_path, storage):
    seq = make_sequence(scene='indoor', frames=3, width=40, height=32, seed=6, dynamic_objects=1)
    write_bag(seq, tmp_path / 'bag', storage=storage, progress=False)
    t = DEFAULT_TOPICS
    seen = {}
    with AnyReader([tmp_path / 'bag'], default_typestore=TYPESTORE) as reader:
        for conn, t_ns, raw in reader.messages():
            msg = reader.deserialize(raw, conn.msgtype)
            seen.setdefault(conn.topic, []).append((conn.msgtype, t_ns, msg))
    assert set(seen) == {t.image, t.camera_info, t.depth, t.pose, t.tf, t.dynamic_mask}
    for topic, items in seen.items():
        assert [ts for _, ts, _ in items] == list(seq.stamps_ns)
    for i, frame in enumerate(seq):
        _, _, img = seen[t.image][i]
        assert img.encoding == 'rgb8' and img.header.frame_id == t.camera_frame
        np.testing.assert_array_equal(decode_image(img), frame.rgb)
        _, _, dep = seen[t.depth][i]
        assert dep.encoding == '32FC1'
        np.testing.assert_array_equal(decode_image(dep), frame.depth_m)
        msgtype, _, info = seen[t.camera_info][i]
        assert msgtype == 'sensor_msgs/msg/CameraInfo'
        np.testing.assert_allclose(info.k.reshape(3, 3), seq.K)
        msgtype, stamp, pose = seen[t.pose][i]
        assert msgtype == 'geometry_msgs/msg/PoseStamped' and pose.header.frame_id == t.world_frame
        np.testing.assert_allclose(T_from_pose_msg(pose), frame.T_world_cam, atol=1e-9)
        msgtype, _, tf = seen[t.tf][i]
        assert msgtype == 'tf2_msgs/msg/TFMessage'
        tr = tf.transforms[0]
        assert (tr.header.frame_id, tr.child_frame_id) == (t.world_frame, t.camera_frame)
        np.testing.assert_allclose(T_from_transform_msg(tr), frame.T_world_cam, atol=1e-9)
        _, _, mask = seen[t.dynamic_mask][i]
        np.testing.assert_array_equal(decode_image(mask) == 255, frame.dynamic_mask)


def test_default_sequence_bag_is_cached(tmp_path):
    path = default_sequence_bag(cache_dir=tmp_path)
    assert (path / 'metadata.yaml').is_file() and (path / f'{path.name}.mcap').is_file()
    mtime = (path / 'metadata.yaml').stat().st_mtime_ns
    assert default_sequence_bag(cache_dir=tmp_path) == path
    assert (path / 'metadata.yaml').stat().st_mtime_ns == mtime  # reused, not rewritten
    with AnyReader([path], default_typestore=TYPESTORE) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        assert counts == {DEFAULT_TOPICS.image: 30, DEFAULT_TOPICS.camera_info: 30, DEFAULT_TOPICS.depth: 30,
                          DEFAULT_TOPICS.pose: 30, DEFAULT_TOPICS.tf: 30}
        assert reader.duration == pytest.approx(2.9e9, rel=1e-3)


def _synth(argv):
    # The synth module alone (cli.main imports every command, some owned by other modules).
    parser = argparse.ArgumentParser()
    synth_cli.add_arguments(parser)
    return synth_cli.run(parser.parse_args(argv))


def test_cli_synth_writes_bag(tmp_path, capsys):
    out = tmp_path / 'cli_bag'
    rc = _synth(['--scene', 'street', '--frames', '2', '--size', '48x32', '--seed', '3',
                 '--format', 'bag-sqlite3', '--output', str(out), '--no-progress'])
    assert rc == 0
    assert 'bag-sqlite3: 2 frames' in capsys.readouterr().out
    with AnyReader([out], default_typestore=TYPESTORE) as reader:
        assert reader.message_count == 10
    with pytest.raises(FileExistsError):
        _synth(['--format', 'bag-sqlite3', '--output', str(out), '--frames', '1', '--no-progress'])
