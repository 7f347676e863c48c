import pytest
import torch
import yaml

from espnet2_spiking.gan_vocoder.distillation import Distillation, FeatureAdapter, load_teacher
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator, fuse_time_steps
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from tests.conftest import TINY_MEL, make_spiking_vocos_args, make_vocos_args


def test_feature_adapter():
    adapter = FeatureAdapter(32)
    y = adapter(torch.randn(2, 32, 9))
    assert y.shape == (2, 32, 9)
    # LayerNorm over channels, then GELU: each frame is a normalised vector through GELU
    normed = torch.nn.functional.layer_norm(adapter.conv(torch.ones(1, 32, 1)).transpose(1, 2), (32,))
    assert torch.allclose(adapter(torch.ones(1, 32, 1)), torch.nn.functional.gelu(normed).transpose(1, 2), atol=1e-6)


def test_teacher_is_frozen_and_stays_in_eval_mode():
    distillation = Distillation(VocosGenerator(**make_vocos_args())).train()
    assert not distillation.teacher.training
    assert distillation.adapters.training
    assert all(not p.requires_grad for p in distillation.teacher.parameters())
    assert all(p.requires_grad for p in distillation.adapters.parameters())
    assert len(distillation.adapters) == 2  # one per block


def test_losses():
    teacher = VocosGenerator(**make_vocos_args())
    distillation = Distillation(teacher, lambda_feature=40.0, lambda_output=10.0, lambda_phase=0.05)
    student = SpikingVocosGenerator(**make_spiking_vocos_args())
    mel = torch.randn(2, 16, 12)
    feats, hiddens = student.hidden_states(mel)
    log_mag, phase = student.head.spectrum(feats)
    loss, stats = distillation(mel, hiddens, log_mag, phase)

    with torch.no_grad():
        teacher_feats, teacher_hiddens = teacher.hidden_states(mel)
        teacher_log_mag, teacher_phase = teacher.head.spectrum(teacher_feats)
    feature = sum(
        (a(fuse_time_steps(h)) - t).square().mean() for a, h, t in zip(distillation.adapters, hiddens, teacher_hiddens)
    ) / 2
    assert stats["distill_feature_loss"].item() == pytest.approx(feature.item(), rel=1e-5)
    assert stats["distill_output_loss"].item() > (log_mag - teacher_log_mag).abs().mean().item()
    assert loss.item() == pytest.approx(40 * feature.item() + 10 * stats["distill_output_loss"].item(), rel=1e-5)
    assert not stats["distill_feature_loss"].requires_grad

    # the teacher's own spectrum costs nothing in the output loss
    _, stats = distillation(mel, hiddens, teacher_log_mag, teacher_phase)
    assert stats["distill_output_loss"].item() == 0.0


def test_gradients_reach_student_and_adapters_only():
    teacher = VocosGenerator(**make_vocos_args())
    distillation = Distillation(teacher)
    student = SpikingVocosGenerator(**make_spiking_vocos_args())
    mel = torch.randn(2, 16, 12)
    feats, hiddens = student.hidden_states(mel)
    loss, _ = distillation(mel, hiddens, *student.head.spectrum(feats))
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert all(p.grad is not None for p in distillation.adapters.parameters())
    assert student.backbone.embed.weight.grad.abs().sum() > 0


def test_feature_loss_uses_the_attached_students_readout():
    teacher = VocosGenerator(**make_vocos_args())
    distillation = Distillation(teacher)
    student = SpikingVocosGenerator(**make_spiking_vocos_args(readout_decay=0.5))
    distillation.attach_student(student)
    mel = torch.randn(1, 16, 10)
    feats, hiddens = student.hidden_states(mel)
    _, stats = distillation(mel, hiddens, *student.head.spectrum(feats))
    with torch.no_grad():
        _, teacher_hiddens = teacher.hidden_states(mel)
    feature = sum(
        (a(fuse_time_steps(h, 0.5)) - t).square().mean() for a, h, t in zip(distillation.adapters, hiddens, teacher_hiddens)
    ) / 2
    assert stats["distill_feature_loss"].item() == pytest.approx(feature.item(), rel=1e-5)


def test_tsm_input_pairs_each_blocks_mixed_input_with_the_previous_teacher_block():
    """student_hidden: tsm_input (the reference's TSM-distill): what block i's dwconv reads, against
    teacher block i - 1, for i = 1..N-1; the sum over the N - 1 pairs divided by N."""
    teacher = VocosGenerator(**make_vocos_args(num_layers=3))
    distillation = Distillation(teacher, lambda_feature=1.0, lambda_output=0.0, student_hidden="tsm_input")
    student = SpikingVocosGenerator(**make_spiking_vocos_args(num_layers=3, use_tsm=True))
    distillation.attach_student(student)
    assert len(distillation.adapters) == 2
    dwconv_inputs = []
    hooks = [
        b.dwconv.register_forward_hook(lambda m, i, o: dwconv_inputs.append(i[0])) for b in student.backbone.convnext
    ]
    mel = torch.randn(2, 16, 12)
    feats, hiddens = student.hidden_states(mel)
    for hook in hooks:
        hook.remove()
    _, stats = distillation(mel, hiddens, *student.head.spectrum(feats))

    with torch.no_grad():
        _, teacher_hiddens = teacher.hidden_states(mel)
    feature = 0.0
    for i in (1, 2):
        x_in = dwconv_inputs[i].view(3, 2, 32, 12)  # (T * B, C, L) as the block runs it
        feature += (distillation.adapters[i - 1](fuse_time_steps(x_in)) - teacher_hiddens[i - 1]).square().mean()
    assert stats["distill_feature_loss"].item() == pytest.approx(feature.item() / 3, rel=1e-5)
    assert not {id(p) for p in student.parameters()} & {id(p) for p in distillation.parameters()}
    loss, _ = distillation(mel, hiddens, *student.head.spectrum(feats))
    loss.backward()
    assert student.backbone.convnext[1].tsm.alpha.grad != 0  # the mixed input carries alpha's gradient


def test_tsm_input_needs_the_student_and_a_known_setting():
    teacher = VocosGenerator(**make_vocos_args())
    student = SpikingVocosGenerator(**make_spiking_vocos_args())
    feats, hiddens = student.hidden_states(torch.randn(1, 16, 8))
    with pytest.raises(RuntimeError, match="attach_student"):
        Distillation(teacher, student_hidden="tsm_input")(torch.randn(1, 16, 8), hiddens, *student.head.spectrum(feats))
    with pytest.raises(ValueError, match="student_hidden must be one of output, tsm_input, got 'input'"):
        Distillation(teacher, student_hidden="input")


def test_vocoder_shape_is_read_from_the_generator_settings():
    from espnet2_spiking.gan_vocoder.distillation import vocoder_shape

    shape = vocoder_shape(SpikingVocosGenerator(**make_spiking_vocos_args(dim=24, num_layers=3)))
    assert shape == dict(
        in_channels=16, dim=24, intermediate_dim=48, num_layers=3, kernel_size=7, n_fft=64, hop_length=16
    )


def test_check_student():
    distillation = Distillation(VocosGenerator(**make_vocos_args()))
    distillation.check_student(SpikingVocosGenerator(**make_spiking_vocos_args(use_tsm=True)))
    with pytest.raises(ValueError, match="spiking_vocos student.*VocosGenerator"):
        distillation.check_student(VocosGenerator(**make_vocos_args()))
    with pytest.raises(ValueError, match="dim: student 64, teacher 32; num_layers: student 3, teacher 2"):
        distillation.check_student(SpikingVocosGenerator(**make_spiking_vocos_args(dim=64, num_layers=3)))


def write_checkpoint(exp_dir, generator_name="vocos", generator_conf=None):
    """A checkpoint as gan_vocoder_train leaves it: config.yaml and a whole-model state_dict."""
    exp_dir.mkdir(parents=True, exist_ok=True)
    generator_conf = generator_conf or dict(dim=32, intermediate_dim=48, num_layers=2)
    config = dict(generator=generator_name, generator_conf=generator_conf, feats_extract="vocos_mel",
                  feats_extract_conf=TINY_MEL)
    (exp_dir / "config.yaml").write_text(yaml.safe_dump(config))
    teacher = VocosGenerator(**make_vocos_args())
    state = {f"generator.{k}": v for k, v in teacher.state_dict().items()}
    state["discriminator.mpd.weight"] = torch.zeros(3)  # other parts of the model are ignored
    torch.save(state, exp_dir / "valid.mel_loss.best.pth")
    return teacher, exp_dir / "valid.mel_loss.best.pth"


def test_load_teacher(tmp_path):
    teacher, model_file = write_checkpoint(tmp_path / "exp" / "vocos")
    loaded = load_teacher(model_file)
    assert not loaded.training and all(not p.requires_grad for p in loaded.parameters())
    mel = torch.randn(1, 16, 10)
    with torch.no_grad():
        assert torch.equal(loaded(mel), teacher.eval()(mel))
    # an explicit config file elsewhere
    (tmp_path / "elsewhere.yaml").write_text((model_file.parent / "config.yaml").read_text())
    (model_file.parent / "config.yaml").unlink()
    assert isinstance(load_teacher(model_file, tmp_path / "elsewhere.yaml"), VocosGenerator)


def test_load_teacher_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.pth.*stage 3.*--teacher_model_file"):
        load_teacher(tmp_path / "missing.pth")
    _, model_file = write_checkpoint(tmp_path / "snn", generator_name="spiking_vocos")
    with pytest.raises(ValueError, match="generator: spiking_vocos"):
        load_teacher(model_file)
    _, model_file = write_checkpoint(tmp_path / "wrong", generator_conf=dict(dim=64, num_layers=2))
    with pytest.raises(ValueError, match="do not fit"):
        load_teacher(model_file)
    (model_file.parent / "config.yaml").unlink()
    with pytest.raises(FileNotFoundError, match=r"config\.yaml.*--teacher_model_file"):
        load_teacher(model_file)
