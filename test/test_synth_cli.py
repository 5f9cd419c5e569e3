"""`synth` streams sequences and refuses impossible values in one line (issue 9, defect 18)."""
import weakref

import pytest

from depth_perception.cli.main import main
from depth_perception.synthetic import (SequenceConfig, SequenceConfigError, SequenceStream, make_sequence,
                                        write_sc_depth, write_stillbox)


class WatchedStream(SequenceStream):
    """Records how many of its sequences are alive whenever a new one has just been built."""

    def __iter__(self):
        self.refs, self.max_alive = [], 0
        for seq in super().__iter__():
            self.refs.append(weakref.ref(seq))
            self.max_alive = max(self.max_alive, sum(r() is not None for r in self.refs))
            yield seq
            del seq


@pytest.mark.parametrize('writer,config', [
    (write_sc_depth, SequenceConfig(scene='indoor', frames=2, width=16, height=16, dynamic_objects=1)),
    (write_stillbox, SequenceConfig(scene='stillbox', frames=2, width=64, height=64, hfov_deg=90.0)),
])
def test_writers_hold_one_sequence_at_a_time(tmp_path, writer, config):
    stream = WatchedStream(config, seeds=range(6))
    writer(stream, tmp_path / 'out', progress=False)
    assert len(stream.refs) == 6           # all six were built and written...
    assert stream.max_alive == 1           # ...never two scenes in memory at once
    assert all(r() is None for r in stream.refs)


def test_stream_writes_the_same_files_as_a_list(tmp_path):
    config = SequenceConfig(scene='street', frames=2, width=24, height=16, dynamic_objects=1)
    write_sc_depth(SequenceStream(config, seeds=[3, 4, 5]), tmp_path / 'stream', progress=False)
    write_sc_depth([make_sequence(config, seed=s) for s in (3, 4, 5)], tmp_path / 'list', progress=False)
    a = {p.relative_to(tmp_path / 'stream'): p.read_bytes() for p in (tmp_path / 'stream').rglob('*') if p.is_file()}
    b = {p.relative_to(tmp_path / 'list'): p.read_bytes() for p in (tmp_path / 'list').rglob('*') if p.is_file()}
    assert a.keys() == b.keys() and len(a) > 20 and all(a[k] == b[k] for k in a)


@pytest.mark.parametrize('args,message', [
    (['--speed', 'nan'], '--speed must be a finite number in [0, 1000] m/s, got nan'),
    (['--speed', '-1'], '--speed must be a finite number in [0, 1000] m/s, got -1.0'),
    (['--hfov', '180'], '--hfov must be a finite number in [1, 170] deg, got 180.0'),
    (['--hfov', '1000'], '--hfov must be a finite number in [1, 170] deg, got 1000.0'),
    (['--hfov', '-90'], '--hfov must be a finite number in [1, 170] deg, got -90.0'),
    (['--hfov', '0'], '--hfov must be a finite number in [1, 170] deg, got 0.0'),
    (['--fps', 'nan'], '--fps must be a finite number in (0, 1000] Hz, got nan'),
    (['--fps', 'inf'], '--fps must be a finite number in (0, 1000] Hz, got inf'),
    (['--fps', '0'], '--fps must be a finite number in (0, 1000] Hz, got 0.0'),
    (['--dynamic-objects', '-3'], '--dynamic-objects must be a whole number in 0..100, got -3'),
    (['--frames', '1e6'], "--frames must be a whole number, got '1e6'"),
    (['--frames', '1000000'], '--frames must be a whole number in 1..100000, got 1000000'),
    (['--frames', '0'], '--frames must be a whole number in 1..100000, got 0'),
    (['--sequences', '0'], '--sequences must be in 1..100000, got 0'),
    (['--size', '1x64'], '--size must be a whole number in 2..8192, got 1'),
    (['--size', 'big'], "--size must look like 320x256 (WxH), got 'big'"),
    (['--seed', '-1'], '--seed/--sequences: seeds must stay in 0..4294967295, got -1'),
    (['--flat-materials', '1.5'], '--flat-materials must be a finite number in [0, 1], got 1.5'),
    (['--flat-materials', 'half'], "--flat-materials must be a number, got 'half'"),
    (['--format', 'bag-mcap', '--sequences', '2'], '--sequences: bag formats take one sequence'),
])
def test_impossible_values_are_refused_in_one_line_before_anything_is_written(tmp_path, capsys, args, message):
    out = tmp_path / 'out'
    assert main(['synth', '--output', str(out), '--no-progress', '--size', '16x16', '--frames', '2', *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f'depth-perception synth: error: {message}'), err
    assert not out.exists()


def test_explicit_zero_is_refused_not_replaced_by_the_default():
    with pytest.raises(SequenceConfigError, match=r'fps must be a finite number in \(0, 1000\] Hz, got 0'):
        make_sequence(scene='indoor', frames=1, width=8, height=8, fps=0)
    assert make_sequence(scene='indoor', frames=1, width=8, height=8).config.fps == 10.0   # None: default


@pytest.mark.slow   # ~10-20 s on 2 cores: 1030 scenes built and written one after another
def test_a_thousand_sequences_stream_to_disk(tmp_path, capsys):
    out = tmp_path / 'many'
    assert main(['synth', '--sequences', '1030', '--frames', '1', '--size', '8x8', '--output', str(out),
                 '--no-progress']) == 0
    names = (out / 'training' / 'train.txt').read_text().split() + (out / 'training' / 'val.txt').read_text().split()
    assert len(names) == 1030 and len(set(names)) == 1030
    assert all((out / 'training' / n / '000000.jpg').is_file() for n in names)
    assert 'seed 0..1029' in capsys.readouterr().out
