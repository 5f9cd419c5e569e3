"""Inference backends give the eager fp32 answer within their stated tolerances, on the shipped
default model and on a random-weight checkpoint file; bad configurations fail in one line.

Tolerances (relative to the eager fp32 estimator, same frames):
  torch fp32          depth: max relative error <= 1e-4;  pose: max |error| <= 1e-4 * max |pose|
  onnxruntime fp32    depth: max relative error <= 1e-3;  pose: <= 1e-3 * max |pose|
  torch bf16 / fp16   depth: median relative error <= 1e-2 / 5e-3, 99th pct <= 5e-2 / 2e-2;
                      pose: <= 5e-2 / 2e-2 * max |pose|
"""
import numpy as np
import pytest
import torch
from torch import nn

from depth_perception import checkpoints
from depth_perception.backends import (BACKENDS, PRECISIONS, BackendError, backend_config,
                                       resolve_backend)
from depth_perception.backends.onnx import DEPTH_FILE, POSE_FILE, FINGERPRINT_KEY
from depth_perception.backends.torch_fast import FullResolutionDisparity, fold_batchnorm
from depth_perception.cli.main import build_parser, main
from depth_perception.estimators import CameraFrame, create_estimator
from depth_perception.estimators.scdepth import default_checkpoint
from depth_perception.models import DispResNet, PoseResNet
from random_weights import randomized
from reference_forward import depth_forward

torch.set_num_threads(1)
RES = (96, 128)

# (backend, precision) -> (depth: statistic, bound; 99th-percentile bound or None; pose bound)
TOLERANCES = {
    ('torch', 'fp32'): ('max', 1e-4, None, 1e-4),
    ('onnxruntime', 'fp32'): ('max', 1e-3, None, 1e-3),
    ('torch', 'bf16'): ('median', 1e-2, 5e-2, 5e-2),
    ('torch', 'fp16'): ('median', 5e-3, 2e-2, 2e-2),
}


@pytest.fixture(scope='module')
def random_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('ckpt') / 'random.pt'
    return str(checkpoints.save_own_checkpoint(path, randomized(DispResNet(18), 11),
                                               randomized(PoseResNet(), 12),
                                               training_resolution_hw=RES))


@pytest.fixture(scope='module')
def onnx_random_dir(tmp_path_factory, random_ckpt):
    out = tmp_path_factory.mktemp('onnx')
    assert main(['export', '--format', 'onnx', '--checkpoint', random_ckpt, '--output', str(out)]) == 0
    return out


def frames(n=3):
    rng = np.random.default_rng(5)
    # smooth-ish images (a ramp plus noise): random weights then give a non-trivial depth range
    ramp = np.linspace(0, 200, 160)[None, :, None]
    return [np.clip(ramp + rng.normal(0, 40, (120, 160, 3)), 0, 255).astype(np.uint8) for _ in range(n)]


def run(checkpoint, **options):
    """model_depth of every frame and the pose vectors between consecutive frames."""
    est = create_estimator('scdepth', checkpoint=checkpoint, device='cpu', resolution_hw=RES, **options)
    depths, poses, xs = [], [], []
    for rgb in frames():
        r = est.estimate(CameraFrame(rgb))
        depths.append(r.model_depth)
        xs.append(est.backend.prepare(est.preprocess(rgb)))
        if r.T_prev_curr is not None:
            poses.append(est.backend.pose(xs[-1], xs[-2])[0].numpy())
    return est, np.stack(depths), np.stack(poses)


@pytest.fixture(scope='module')
def reference():
    """Eager fp32 outputs per checkpoint ('' = the shipped default model)."""
    cache = {}

    def get(checkpoint):
        if checkpoint not in cache:
            est, d, p = run(checkpoint)
            assert est.backend.name == 'eager' and est.backend.precision == 'fp32'
            cache[checkpoint] = (d, p)
        return cache[checkpoint]
    return get


def assert_within(backend, precision, depth, pose, ref_depth, ref_pose):
    stat, bound, p99, pose_bound = TOLERANCES[(backend, precision)]
    rel = np.abs(depth - ref_depth) / np.abs(ref_depth)
    value = rel.max() if stat == 'max' else np.median(rel)
    assert value <= bound, f'{backend} {precision}: depth {stat} relative error {value:.2e} > {bound}'
    if p99 is not None:
        assert np.percentile(rel, 99) <= p99
    err = np.abs(pose - ref_pose).max()
    assert err <= pose_bound * np.abs(ref_pose).max(), f'pose error {err:.2e}'
    return rel


def test_default_model_is_shipped_and_eager_is_the_default():
    assert default_checkpoint() is not None
    est = create_estimator('scdepth', device='cpu', resolution_hw=RES)
    assert est.backend.name == 'eager' and est.backend.precision == 'fp32'
    # eager runs the loaded modules themselves: no copy, no folding
    assert est.backend.depth_net is est.depth_net


@pytest.mark.parametrize('which', ['default', 'random'])
@pytest.mark.parametrize('backend,precision', [('torch', 'fp32'), ('torch', 'bf16'), ('torch', 'fp16')])
def test_torch_backend_matches_eager(which, backend, precision, random_ckpt, reference):
    ckpt = '' if which == 'default' else random_ckpt
    ref_depth, ref_pose = reference(ckpt)
    assert np.ptp(ref_depth) > 1e-3 * ref_depth.mean() and np.abs(ref_pose).max() > 0
    est, depth, pose = run(ckpt, backend=backend, precision=precision)
    assert est.backend.name == backend and est.backend.dtype == {
        'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}[precision]
    rel = assert_within(backend, precision, depth, pose, ref_depth, ref_pose)
    if precision != 'fp32':   # reduced precision really runs: it is measurably not fp32
        assert np.median(rel) > 1e-6


def test_fold_batchnorm_leaves_no_batchnorm_and_matches_functional_reference():
    net = randomized(DispResNet(18), 3)
    folded = FullResolutionDisparity(fold_batchnorm(net)).eval()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 20   # original untouched
    x = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        disp = folded(x)
    # the independent functional forward from reference_forward.py (BatchNorm applied explicitly)
    ref = 1.0 / depth_forward(x, net.state_dict(), 'bilinear')
    assert torch.max(torch.abs(disp - ref) / ref) <= 1e-4


@pytest.mark.slow
def test_onnx_files_from_export_match_eager(onnx_random_dir, random_ckpt, reference):
    assert (onnx_random_dir / DEPTH_FILE).is_file() and (onnx_random_dir / POSE_FILE).is_file()
    ref_depth, ref_pose = reference(random_ckpt)
    est, depth, pose = run(random_ckpt, backend='onnxruntime', onnx_dir=str(onnx_random_dir))
    assert est.backend.name == 'onnxruntime' and str(onnx_random_dir) in est.describe()
    assert_within('onnxruntime', 'fp32', depth, pose, ref_depth, ref_pose)
    # auto picks ONNX Runtime when files are configured
    assert resolve_backend('auto', str(onnx_random_dir)) == 'onnxruntime'


@pytest.mark.slow
def test_onnx_in_memory_export_of_default_model_matches_eager(reference):
    ref_depth, ref_pose = reference('')
    est, depth, pose = run('', backend='onnxruntime')
    assert 'exported in memory' in est.describe()
    assert_within('onnxruntime', 'fp32', depth, pose, ref_depth, ref_pose)


@pytest.mark.slow
def test_onnx_files_of_other_weights_are_refused(onnx_random_dir, tmp_path, capsys):
    with pytest.raises(BackendError, match='exported from other weights') as info:
        create_estimator('scdepth', device='cpu', resolution_hw=RES, backend='onnxruntime',
                         onnx_dir=str(onnx_random_dir))
    assert str(onnx_random_dir / DEPTH_FILE) in str(info.value) and '\n' not in str(info.value)
    # the same through the CLI: one line, exit code 2
    import cv2
    cv2.imwrite(str(tmp_path / 'a.png'), frames(1)[0])
    code = main(['infer', '--input', str(tmp_path), '--output', str(tmp_path / 'o'),
                 '--device', 'cpu', '--backend', 'onnxruntime', '--onnx-dir', str(onnx_random_dir)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and 'exported from other weights' in err[0]


@pytest.mark.slow
def test_onnx_file_without_fingerprint_is_refused(onnx_random_dir, random_ckpt, tmp_path):
    import onnx
    model = onnx.load(str(onnx_random_dir / DEPTH_FILE))
    kept = [p for p in model.metadata_props if p.key != FINGERPRINT_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save_model(model, str(tmp_path / DEPTH_FILE))
    with pytest.raises(BackendError, match='fingerprint missing'):
        create_estimator('scdepth', checkpoint=random_ckpt, device='cpu', resolution_hw=RES,
                         backend='onnxruntime', onnx_dir=str(tmp_path), estimate_motion=False)


def test_missing_and_corrupt_onnx_files_give_one_line(tmp_path):
    with pytest.raises(BackendError, match='ONNX file not found') as info:
        create_estimator('scdepth', device='cpu', resolution_hw=RES, backend='onnxruntime',
                         onnx_dir=str(tmp_path))
    msg = str(info.value)
    assert msg.startswith(str(tmp_path / DEPTH_FILE)) and 'export --format onnx' in msg and '\n' not in msg
    (tmp_path / DEPTH_FILE).write_bytes(b'this is not an onnx model')
    with pytest.raises(BackendError, match='not a loadable ONNX model') as info:
        create_estimator('scdepth', device='cpu', resolution_hw=RES, backend='onnxruntime',
                         onnx_dir=str(tmp_path))
    assert '\n' not in str(info.value)


@pytest.mark.parametrize('options,match', [
    ({'backend': 'tensorrt'}, "backend 'tensorrt' is not one of eager, torch, onnxruntime, auto"),
    ({'precision': 'int4'}, "precision 'int4' is not one of fp32, fp16, bf16, int8"),
    ({'precision': 'int8'}, 'precision int8 runs with backend onnxruntime only'),
    ({'backend': 'onnxruntime', 'precision': 'bf16'}, 'onnxruntime on CPU runs fp32 only'),
])
def test_bad_backend_configuration_is_refused(options, match):
    with pytest.raises(BackendError, match=match):
        create_estimator('scdepth', device='cpu', resolution_hw=RES, **options)


def test_backend_config_maps_parameters_and_validates():
    assert backend_config('torch', 'bf16', '/x') == {'backend': 'torch', 'precision': 'bf16', 'onnx_dir': '/x'}
    assert backend_config() == {'backend': 'eager', 'precision': 'fp32', 'onnx_dir': ''}
    with pytest.raises(BackendError, match="backend 'fast'"):
        backend_config('fast')
    assert resolve_backend('auto') == 'torch' and resolve_backend('eager', '/x') == 'eager'
    assert resolve_backend('auto', '/x', 'bf16', 'cpu') == 'torch'
    assert resolve_backend('auto', '/x', 'fp16', 'cuda') == 'onnxruntime'


def test_cli_offers_exactly_the_backends_and_refuses_others(capsys):
    parser = build_parser()
    args = parser.parse_args(['infer', '--input', 'a', '--output', 'b', '--backend', 'torch',
                              '--precision', 'bf16', '--onnx-dir', 'd'])
    assert (args.backend, args.precision, args.onnx_dir) == ('torch', 'bf16', 'd')
    assert parser.parse_args(['eval', '--bag', 'b', '--backend', 'auto']).backend == 'auto'
    infer = parser._subparsers._group_actions[0].choices['infer']
    choices = {a.dest: tuple(a.choices) for a in infer._actions if a.dest in ('backend', 'precision')}
    assert choices == {'backend': BACKENDS, 'precision': PRECISIONS}
    with pytest.raises(SystemExit):
        parser.parse_args(['infer', '--input', 'a', '--output', 'b', '--backend', 'tvm'])
    assert "invalid choice: 'tvm'" in capsys.readouterr().err


def test_infer_with_torch_backend_writes_the_eager_depth(tmp_path, random_ckpt):
    import cv2
    inputs = tmp_path / 'in'
    inputs.mkdir()
    rgb = frames(1)[0]
    cv2.imwrite(str(inputs / 'a.png'), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert main(['infer', '--checkpoint', random_ckpt, '--input', str(inputs), '--output',
                 str(tmp_path / 'out'), '--device', 'cpu', '--backend', 'torch', '--no-vis']) == 0
    depth = np.load(tmp_path / 'out' / 'depth' / 'a.npy')
    eager = create_estimator('scdepth', checkpoint=random_ckpt, device='cpu', estimate_motion=False)
    ref = eager.estimate(CameraFrame(rgb)).model_depth
    assert depth.shape == ref.shape and np.max(np.abs(depth - ref) / ref) <= 1e-4


def test_export_ckpt_format_still_needs_a_checkpoint(tmp_path, capsys):
    assert main(['export', '--output', str(tmp_path / 'x.ckpt')]) == 2
    assert capsys.readouterr().err.strip() == \
        'depth-perception export: error: --checkpoint is required for --format ckpt'


def test_bench_script_prints_a_ratio_row_per_configuration():
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / 'bench' / 'backends.py'
    out = subprocess.run([sys.executable, str(script), '--threads', '1', '--rounds', '1', '--iters', '1',
                          '--resolutions', '64x96', '--configs', 'torch:fp32,torch:bf16',
                          '--depthnet-sizes', '64', '--depthnet-configs', 'torch:fp32'],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    for label, configs in (('64x96', [('eager', 'fp32'), ('torch', 'fp32'), ('torch', 'bf16')]),
                           ('DepthNet 64x64', [('eager', 'fp32'), ('torch', 'fp32')])):
        rows = [r.split('|')[1:-1] for r in out.splitlines() if r.startswith(f'| {label} |')]
        assert [(r[1].strip(), r[2].strip()) for r in rows] == configs
        assert rows[0][4].strip() == '1.00x' and all(float(r[3]) > 0 for r in rows)
