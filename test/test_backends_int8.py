"""precision int8 (SC-Depth statically quantized for ONNX Runtime's CPU provider) stays within
its stated tolerances of the eager fp32 path and of the synthetic engine's ground truth, on
frames of sequences the calibration never saw; broken quantization fails the same checks;
bad configurations fail in one line.

Tolerances (the shipped default model at its 96x128 training size, synthetic hand-held room
and corridor frames, calibration on the default synthetic set):
  depth   per frame, median relative error vs eager fp32 after median scaling: median over
          frames <= 3 %, worst frame <= 5 %; mean abs_rel vs ground truth (median-scaled)
          <= fp32's + 0.02
  pose    vs eager fp32: translation direction <= 2 deg median, <= 10 deg worst pair;
          |t| ratio within 5 % median; rotation difference <= 0.2 deg worst pair
"""
import os

import numpy as np
import pytest
import torch

from depth_perception.backends import BackendError, resolve_backend
from depth_perception.backends.onnx import DEPTH_FILE, FINGERPRINT_KEY, _providers
from depth_perception.backends.quantize import (CALIBRATION_KEY, INT8_FILES, PRECISION_KEY,
                                                SYNTHETIC_SEQUENCES, folder_calibration)
from depth_perception.cli.main import main
from depth_perception.estimators import create_estimator
from depth_perception.geometry import pose_vec_to_T_np
from depth_perception.synthetic import SequenceConfig, make_sequence

torch.set_num_threads(1)
RES = (96, 128)           # the shipped model's training size: what the estimator runs by default
EVAL_SEQUENCES = (('indoor', 1), ('indoor', 2), ('corridor', 3), ('corridor', 4))
FRAMES = 6

DEPTH_MEDIAN, DEPTH_WORST, ABS_REL_MARGIN = 0.03, 0.05, 0.02
TDIR_MEDIAN_DEG, TDIR_WORST_DEG, TNORM_MEDIAN, ROT_WORST_DEG = 2.0, 10.0, 0.05, 0.2


@pytest.fixture(scope='module')
def eval_frames():
    """(rgb, ground-truth depth) per sequence, rendered at the network size (no resizing)."""
    assert not set(EVAL_SEQUENCES) & set(SYNTHETIC_SEQUENCES)    # unseen by the calibration
    out = []
    for scene, seed in EVAL_SEQUENCES:
        seq = make_sequence(SequenceConfig(scene=scene, seed=seed, frames=FRAMES, height=RES[0], width=RES[1]))
        out.append([(f.rgb, f.depth_m) for f in seq])
    return out


@pytest.fixture(scope='module')
def int8_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp('int8')
    assert main(['export', '--format', 'onnx', '--precision', 'int8', '--output', str(out)]) == 0
    return out


def outputs(est, sequences):
    """Depth (model units) per frame, pose T_prev_curr per consecutive pair within a sequence."""
    depths, poses = [], []
    for seq in sequences:
        xs = [est.backend.prepare(est.preprocess(rgb)) for rgb, _ in seq]
        depths += [1.0 / est.backend.disparity(x)[0, 0].numpy() for x in xs]
        poses += [pose_vec_to_T_np(est.backend.pose(xs[i], xs[i - 1])[0].numpy()) for i in range(1, len(xs))]
    return depths, poses


@pytest.fixture(scope='module')
def fp32(eval_frames):
    est = create_estimator('scdepth', device='cpu', resolution_hw=RES)
    assert est.backend.name == 'eager' and est.backend.precision == 'fp32'
    return outputs(est, eval_frames)


def angle_deg(cos):
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def rotation_angle_deg(R):
    return angle_deg((np.trace(R) - 1.0) / 2.0)


def abs_rel(depth, gt):
    ok = np.isfinite(gt) & (gt > 0)
    scaled = depth[ok] * np.median(gt[ok]) / np.median(depth[ok])
    return float(np.mean(np.abs(scaled - gt[ok]) / gt[ok]))


def errors(depths, poses, ref_depths, ref_poses, gts):
    """The figures the tolerances bound, computed independently of the backends (numpy only)."""
    depth_rel = []
    for d, r in zip(depths, ref_depths):
        s = np.median(r) / np.median(d)
        depth_rel.append(float(np.median(np.abs(d * s - r) / r)))
    tdir, tnorm, rot = [], [], []
    for T, R in zip(poses, ref_poses):
        t, tr = T[:3, 3], R[:3, 3]
        tdir.append(angle_deg(t @ tr / (np.linalg.norm(t) * np.linalg.norm(tr))))
        tnorm.append(abs(np.linalg.norm(t) / np.linalg.norm(tr) - 1.0))
        rot.append(rotation_angle_deg(R[:3, :3].T @ T[:3, :3]))
    return {'depth_median': np.median(depth_rel), 'depth_worst': max(depth_rel),
            'abs_rel': np.mean([abs_rel(d, g) for d, g in zip(depths, gts)]),
            'abs_rel_fp32': np.mean([abs_rel(d, g) for d, g in zip(ref_depths, gts)]),
            'tdir_median': np.median(tdir), 'tdir_worst': max(tdir), 'tnorm_median': np.median(tnorm),
            'rot_worst': max(rot)}


def within_tolerance(e) -> bool:
    return (e['depth_median'] <= DEPTH_MEDIAN and e['depth_worst'] <= DEPTH_WORST
            and e['abs_rel'] <= e['abs_rel_fp32'] + ABS_REL_MARGIN
            and e['tdir_median'] <= TDIR_MEDIAN_DEG and e['tdir_worst'] <= TDIR_WORST_DEG
            and e['tnorm_median'] <= TNORM_MEDIAN and e['rot_worst'] <= ROT_WORST_DEG)


def ground_truth(eval_frames):
    return [gt for seq in eval_frames for _, gt in seq]


# ------------------------------------------------------------------ refusals (no export)

@pytest.mark.parametrize('backend', ['eager', 'torch'])
def test_int8_outside_onnxruntime_is_refused(backend):
    with pytest.raises(BackendError, match='precision int8 runs with backend onnxruntime only') as info:
        create_estimator('scdepth', device='cpu', resolution_hw=RES, backend=backend, precision='int8')
    assert '\n' not in str(info.value)


def test_int8_on_cuda_and_for_depthnet_is_refused_and_auto_means_onnxruntime():
    with pytest.raises(BackendError, match='int8 runs on the CPU only'):
        _providers(torch.device('cuda'), 'int8', '')
    assert _providers(torch.device('cpu'), 'int8', '') == ['CPUExecutionProvider']
    from depth_perception.backends.depthnet import make_depthnet_backend
    from depth_perception.models.depthnet import DepthNet
    with pytest.raises(BackendError, match='int8 is available for SC-Depth only'):
        make_depthnet_backend('onnxruntime', 'int8', DepthNet().eval(), torch.device('cpu'))
    assert resolve_backend('auto', '', 'int8', 'cpu') == 'onnxruntime'
    assert resolve_backend('auto', '/x', 'int8', 'cpu') == 'onnxruntime'


def test_missing_int8_files_name_the_export_command(tmp_path):
    with pytest.raises(BackendError, match='ONNX file not found') as info:
        create_estimator('scdepth', device='cpu', resolution_hw=RES, backend='onnxruntime',
                         precision='int8', onnx_dir=str(tmp_path))
    msg = str(info.value)
    assert msg.startswith(str(tmp_path / INT8_FILES['disp'])) and '--precision int8' in msg and '\n' not in msg


def test_unusable_calibration_folders_give_one_line(tmp_path):
    import cv2
    with pytest.raises(BackendError, match='no such folder'):
        folder_calibration(tmp_path / 'absent')
    with pytest.raises(BackendError, match='no images'):
        folder_calibration(tmp_path)
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(BackendError, match='1 image; at least 2'):
        folder_calibration(tmp_path)
    (tmp_path / 'b.png').write_bytes(b'not a png')
    with pytest.raises(BackendError, match='b.png: not a readable image'):
        folder_calibration(tmp_path)


@pytest.mark.parametrize('argv,match', [
    (['--format', 'onnx', '--precision', 'int8', '--method', 'depthnet'], 'for --method scdepth only'),
    (['--format', 'ckpt', '--precision', 'int8', '--checkpoint', 'x'], 'apply to --format onnx only'),
    (['--format', 'onnx', '--resolution', '96x128'], 'apply to --precision int8 only'),
])
def test_export_refuses_int8_options_it_cannot_honour(argv, match, tmp_path, capsys):
    assert main(['export', *argv, '--output', str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]


# ------------------------------------------------------------------ the quantized networks

@pytest.mark.slow
def test_export_writes_quantized_networks_with_their_provenance(int8_dir):
    import onnx
    for kind, kept_fp32 in (('disp', 1), ('pose', 2)):
        model = onnx.load(str(int8_dir / INT8_FILES[kind]))
        meta = {p.key: p.value for p in model.metadata_props}
        assert meta[PRECISION_KEY] == 'int8' and len(meta[FINGERPRINT_KEY]) == 64
        assert meta[CALIBRATION_KEY].startswith('synthetic indoor:101') and meta[CALIBRATION_KEY].endswith('96x128')
        int8_weights = {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8}
        dequantized = {n.output[0] for n in model.graph.node
                       if n.op_type == 'DequantizeLinear' and n.input[0] in int8_weights}
        convs = [n for n in model.graph.node if n.op_type == 'Conv']
        quantized = [n for n in convs if n.input[1] in dequantized]
        # every convolution but the ones the recipe keeps in fp32 reads int8 weights
        assert len(quantized) == len(convs) - kept_fp32 and convs[-1] not in quantized
        assert (kind == 'pose') == (convs[0] not in quantized)
    # fp32 is not int8: the fp32 names stay unwritten, and renaming a file does not fool the loader
    assert not (int8_dir / DEPTH_FILE).exists()


@pytest.mark.slow
def test_int8_depth_and_pose_within_tolerance_of_fp32_and_ground_truth(int8_dir, eval_frames, fp32):
    est = create_estimator('scdepth', device='cpu', resolution_hw=RES, backend='onnxruntime',
                           precision='int8', onnx_dir=str(int8_dir))
    assert est.backend.name == 'onnxruntime' and est.backend.precision == 'int8'
    assert 'calibrated on synthetic' in est.describe()
    depths, poses = outputs(est, eval_frames)
    e = errors(depths, poses, *fp32, ground_truth(eval_frames))
    print(e)
    assert within_tolerance(e), e
    # and the quantized path really is not the fp32 one
    assert e['depth_median'] > 1e-4 and e['rot_worst'] > 0


@pytest.mark.slow
def test_broken_quantization_fails_the_tolerance(int8_dir, eval_frames, fp32, tmp_path):
    """Activation scales off by a factor (what a calibration bug gives) must be caught."""
    import onnx
    from onnx import numpy_helper
    for kind in ('disp', 'pose'):
        model = onnx.load(str(int8_dir / INT8_FILES[kind]))
        scales = {n.input[1] for n in model.graph.node if n.op_type == 'QuantizeLinear'}
        for t in model.graph.initializer:
            if t.name in scales:
                t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * np.float32(0.2), t.name))
        onnx.save_model(model, str(tmp_path / INT8_FILES[kind]))
    est = create_estimator('scdepth', device='cpu', resolution_hw=RES, backend='onnxruntime',
                           precision='int8', onnx_dir=str(tmp_path))
    e = errors(*outputs(est, eval_frames), *fp32, ground_truth(eval_frames))
    print(e)
    assert not within_tolerance(e), e


@pytest.mark.slow
def test_int8_files_of_other_weights_or_precision_are_refused(int8_dir, tmp_path):
    from depth_perception import checkpoints
    from depth_perception.models import DispResNet, PoseResNet
    from random_weights import randomized
    ckpt = checkpoints.save_own_checkpoint(tmp_path / 'random.pt', randomized(DispResNet(18), 1),
                                           randomized(PoseResNet(), 2), training_resolution_hw=RES)
    with pytest.raises(BackendError, match='exported from other weights'):
        create_estimator('scdepth', checkpoint=str(ckpt), device='cpu', resolution_hw=RES,
                         backend='onnxruntime', precision='int8', onnx_dir=str(int8_dir))
    renamed = tmp_path / 'renamed'
    renamed.mkdir()
    os.symlink(int8_dir / INT8_FILES['disp'], renamed / DEPTH_FILE)
    with pytest.raises(BackendError, match='holds the network in int8, but precision fp32 was asked for'):
        create_estimator('scdepth', device='cpu', resolution_hw=RES, backend='onnxruntime',
                         onnx_dir=str(renamed), estimate_motion=False)


@pytest.mark.slow
def test_calibration_folder_and_in_memory_quantization(eval_frames, fp32, tmp_path):
    import cv2
    images = tmp_path / 'calib'
    images.mkdir()
    for j, (scene, seed) in enumerate((('indoor', 7), ('corridor', 8))):
        seq = make_sequence(SequenceConfig(scene=scene, seed=seed, frames=12, height=RES[0], width=RES[1]))
        for i in range(0, 12, 2):
            cv2.imwrite(str(images / f'{j}{i:03d}.png'), cv2.cvtColor(seq.render(i).rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / 'int8'
    assert main(['export', '--format', 'onnx', '--precision', 'int8', '--calibration', str(images),
                 '--resolution', '96x128', '--output', str(out)]) == 0
    est = create_estimator('scdepth', device='cpu', resolution_hw=RES, backend='onnxruntime',
                           precision='int8', onnx_dir=str(out))
    assert f'12 images from {images}' in est.describe()
    e = errors(*outputs(est, eval_frames), *fp32, ground_truth(eval_frames))
    print(e)
    assert within_tolerance(e), e
    # without onnx_dir: exported and quantized at start, calibrated at the estimator's size
    est = create_estimator('scdepth', device='cpu', resolution_hw=RES, backend='onnxruntime',
                           precision='int8', estimate_motion=False)
    assert 'quantized in memory' in est.describe() and 'at 96x128' in est.describe()
    depths = [1.0 / est.backend.disparity(est.backend.prepare(est.preprocess(rgb)))[0, 0].numpy()
              for seq in eval_frames for rgb, _ in seq]
    rel = [np.median(np.abs(d * np.median(r) / np.median(d) - r) / r) for d, r in zip(depths, fp32[0])]
    assert np.median(rel) <= DEPTH_MEDIAN and max(rel) <= DEPTH_WORST
