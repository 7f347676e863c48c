import pytest
import torch
from spikingjelly.activation_based import monitor, neuron

from espnet2_spiking.gan_vocoder.convert import generator_weights
from espnet2_spiking.gan_vocoder.istft_head import ISTFT
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator, fuse_time_steps
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from tests.conftest import make_spiking_vocos_args, make_vocos_args

GENERATORS = [
    (VocosGenerator, make_vocos_args()),
    (SpikingVocosGenerator, make_spiking_vocos_args()),
    (SpikingVocosGenerator, make_spiking_vocos_args(use_tsm=True, time_steps=4)),
]
IDS = ["vocos", "spiking_vocos", "spiking_vocos_tsm"]


@pytest.mark.parametrize("cls, args", GENERATORS, ids=IDS)
@pytest.mark.parametrize("batch, frames", [(1, 1), (2, 7), (3, 40)])
def test_shapes(cls, args, batch, frames):
    gen = cls(**args).eval()
    assert gen.upsample_factor == 16
    with torch.no_grad():
        wav = gen(torch.randn(batch, 16, frames))
        single = gen.inference(torch.randn(frames, 16))
    assert wav.shape == (batch, 1, frames * 16)
    assert single.shape == (frames * 16, 1)
    assert torch.isfinite(wav).all()


@pytest.mark.parametrize("cls, args", GENERATORS, ids=IDS)
def test_inference_equals_forward(cls, args):
    gen = cls(**args).eval()
    mel = torch.randn(16, 12)
    with torch.no_grad():
        assert torch.allclose(gen.inference(mel.T)[:, 0], gen(mel[None])[0, 0])


def test_reference_size():
    """The default teacher is Vocos "mel 24 kHz": 13,531,650 parameters."""
    assert sum(p.numel() for p in VocosGenerator().parameters()) == 13_531_650


@pytest.mark.parametrize("padding", ["same", "center"])
def test_teacher_matches_upstream_vocos(padding):
    """Loading the public vocos model's weights gives the same waveform for the same mel,
    with either ISTFT padding (upstream's "center" is ``torch.istft(center=True)``)."""
    vocos = pytest.importorskip("vocos")
    from vocos.feature_extractors import MelSpectrogramFeatures
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    upstream = vocos.Vocos(
        feature_extractor=MelSpectrogramFeatures(sample_rate=8000, n_fft=64, hop_length=16, n_mels=16),
        backbone=VocosBackbone(input_channels=16, dim=32, intermediate_dim=48, num_layers=2),
        head=ISTFTHead(dim=32, n_fft=64, hop_length=16, padding=padding),
    ).eval()
    for p in upstream.parameters():  # random weights everywhere, not the zero-init biases
        torch.nn.init.normal_(p, std=0.1)
    teacher = VocosGenerator(**make_vocos_args(padding=padding)).eval()
    teacher.load_state_dict(generator_weights(upstream.state_dict())[0])
    mel = torch.randn(2, 16, 30)
    with torch.no_grad():
        wav = teacher(mel)[:, 0]
        assert wav.shape == (2, (30 if padding == "same" else 29) * 16)
        assert torch.allclose(wav, upstream.decode(mel), atol=1e-5)


def test_teacher_loads_full_size_upstream_state_dict():
    vocos = pytest.importorskip("vocos")
    from vocos.feature_extractors import MelSpectrogramFeatures
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    upstream = vocos.Vocos(
        MelSpectrogramFeatures(),
        VocosBackbone(input_channels=100, dim=512, intermediate_dim=1536, num_layers=8),
        ISTFTHead(dim=512, n_fft=1024, hop_length=256, padding="same"),
    ).eval()
    teacher = VocosGenerator().eval()
    teacher.load_state_dict(generator_weights(upstream.state_dict())[0])
    mel = torch.randn(1, 100, 20)
    with torch.no_grad():
        assert torch.allclose(teacher(mel)[:, 0], upstream.decode(mel), atol=1e-5)


@pytest.mark.parametrize("n_fft, hop", [(64, 16), (1024, 256), (20, 8), (21, 8)])
@pytest.mark.parametrize("frames", [2, 9])
def test_centred_istft_is_torch_istft(n_fft, hop, frames):
    """padding "center": the length and samples of ``torch.istft(center=True)`` with a Hann
    window; "same": the same overlap-add, half a hop later and one hop longer."""
    spec = torch.polar(torch.rand(3, n_fft // 2 + 1, frames) + 0.1, 6 * torch.rand(3, n_fft // 2 + 1, frames))
    expected = torch.istft(spec, n_fft, hop, n_fft, torch.hann_window(n_fft), center=True)
    centred = ISTFT(n_fft, hop, padding="center")
    wav = centred(spec)
    assert wav.shape == expected.shape == (3, (frames - 1) * hop + n_fft % 2) == (3, centred.num_samples(frames))
    assert torch.allclose(wav, expected, atol=1e-6)
    if (n_fft - hop) % 2 == 0:
        same = ISTFT(n_fft, hop, padding="same")(spec)
        assert same.shape == (3, frames * hop)
        assert torch.allclose(same[:, hop // 2 : hop // 2 + wav.size(1)], wav, atol=1e-6)


def test_bad_padding_is_refused():
    with pytest.raises(ValueError, match="padding must be one of same, center, got 'valid'"):
        VocosGenerator(**make_vocos_args(padding="valid"))


def test_spikes_are_binary():
    gen = SpikingVocosGenerator(**make_spiking_vocos_args()).eval()
    mon = monitor.OutputMonitor(gen, neuron.ParametricLIFNode)
    with torch.no_grad():
        gen(3 * torch.randn(2, 16, 25))
    assert len(mon.records) == 2 * 2  # two neuron layers per block, two blocks
    for spikes in mon.records:
        assert spikes.shape[0] == 3  # recorded over the T time steps
        assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert sum(s.sum() for s in mon.records) > 0  # the neurons do fire
    mon.remove_hooks()


@pytest.mark.parametrize("use_tsm", [False, True])
def test_student_is_deterministic(use_tsm):
    """Neuron states are reset on every call: the same input gives the same output."""
    gen = SpikingVocosGenerator(**make_spiking_vocos_args(use_tsm=use_tsm)).eval()
    mel = torch.randn(2, 16, 20)
    with torch.no_grad():
        first = gen(mel)
        gen(torch.randn(2, 16, 20))  # another utterance in between
        assert torch.equal(gen(mel), first)


@pytest.mark.parametrize("cls, args", GENERATORS, ids=IDS)
def test_gradients_reach_every_parameter(cls, args):
    gen = cls(**args).train()
    # At Vocos initialisation (std 0.02) the second neuron layer of a tiny student
    # rarely fires, which zeroes the gradient of gamma until the biases move; larger
    # weights make every path carry gradient at once.
    for m in gen.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, std=0.5)
    gen(2 * torch.randn(2, 16, 30)).square().mean().backward()
    for name, p in gen.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_plif_time_constants_and_tsm_scale_are_learnable():
    gen = SpikingVocosGenerator(**make_spiking_vocos_args(use_tsm=True))
    names = {n for n, _ in gen.named_parameters()}
    for i in range(2):
        assert {f"backbone.convnext.{i}.lif1.w", f"backbone.convnext.{i}.lif2.w"} <= names
        assert f"backbone.convnext.{i}.tsm.alpha" in names
    plif = gen.backbone.convnext[0].lif1
    assert abs(1.0 / plif.w.sigmoid().item() - 2.0) < 1e-6  # init tau 2.0


def test_student_hidden_states():
    gen = SpikingVocosGenerator(**make_spiking_vocos_args())
    x, hiddens = gen.hidden_states(torch.randn(2, 16, 11))
    assert x.shape == (2, 11, 32)
    assert [h.shape for h in hiddens] == [(3, 2, 32, 11)] * 2
    assert torch.allclose(x, gen.backbone.final_layer_norm(fuse_time_steps(hiddens[-1]).transpose(1, 2)))


def test_readout_weights():
    u = torch.ones(4, 1, 1, 1)
    assert torch.allclose(fuse_time_steps(u), torch.tensor(0.9**3 + 0.9**2 + 0.9 + 1.0))
    u = torch.zeros(4, 1, 1, 1)
    u[0] = 1.0
    assert torch.allclose(fuse_time_steps(u), torch.tensor(0.9**3))


def test_student_time_steps_change_the_output():
    mel = torch.randn(1, 16, 10)
    torch.manual_seed(1)
    g1 = SpikingVocosGenerator(**make_spiking_vocos_args(time_steps=1)).eval()
    torch.manual_seed(1)
    g4 = SpikingVocosGenerator(**make_spiking_vocos_args(time_steps=4)).eval()
    assert g1.backbone.time_steps == 1 and g4.backbone.time_steps == 4
    with torch.no_grad():
        assert not torch.allclose(g1(mel), g4(mel))


@pytest.mark.parametrize("cls, args", GENERATORS, ids=IDS)
def test_bad_mel_is_refused(cls, args):
    gen = cls(**args)
    with pytest.raises(
        ValueError, match=r"expects a log-mel of shape \(B, 16, frames\).*80 mel bins.*n_mels=16"
    ):
        gen(torch.randn(1, 80, 10))
    with pytest.raises(
        ValueError, match=r"expects a log-mel of shape \(B, 16, frames\), got shape \(16, 10\)"
    ):
        gen(torch.randn(16, 10))
    with pytest.raises(ValueError, match=r"expects a log-mel of shape \(frames, 16\)"):
        gen.inference(torch.randn(1, 16, 10))
    with pytest.raises(ValueError, match=r"\(frames, 16\).*80 mel bins"):
        gen.inference(torch.randn(10, 80))
    mel = torch.randn(1, 16, 10)
    mel[0, 3, 4] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        gen(mel)
    with pytest.raises(ValueError, match="no frames"):
        gen(torch.randn(1, 16, 0))


def test_invalid_time_steps():
    with pytest.raises(ValueError, match="time_steps"):
        SpikingVocosGenerator(**make_spiking_vocos_args(time_steps=0))


def _lif2_rates(gen, mel):
    mon = monitor.OutputMonitor(gen, neuron.ParametricLIFNode)
    with torch.no_grad():
        gen(mel)
    mon.remove_hooks()
    return [mon[name][0].mean().item() for name in mon.monitored_layers if name.endswith("lif2")]


def test_pointwise_layers_are_initialised_for_binary_inputs():
    """Default: std 1/sqrt(fan_in * 0.05), and every lif2 fires from the first step;
    init_firing_rate=None: the reference's std 0.02, under which lif2 is silent."""
    scaled = SpikingVocosGenerator(**make_spiking_vocos_args(dim=128, intermediate_dim=384))
    reference = SpikingVocosGenerator(
        **make_spiking_vocos_args(dim=128, intermediate_dim=384, init_firing_rate=None)
    )
    for block, ref_block in zip(scaled.backbone.convnext, reference.backbone.convnext):
        for name, fan_in in (("pwconv1", 128), ("pwconv2", 384)):
            assert getattr(block, name).weight.std().item() == pytest.approx(
                (fan_in * 0.05) ** -0.5, rel=0.05
            )
            assert getattr(ref_block, name).weight.std().item() == pytest.approx(0.02, rel=0.05)
        assert block.dwconv.weight.std().item() == pytest.approx(0.02, rel=0.1)  # the rest stays Vocos's
    mel = torch.log(torch.rand(2, 16, 200) + 1e-3)
    assert min(_lif2_rates(scaled.eval(), mel)) > 0.01
    assert max(_lif2_rates(reference.eval(), mel)) == 0.0


def test_student_learns_at_default_initialisation():
    """No weight surgery: every parameter, gamma and pwconv2 included, gets gradient at once."""
    gen = SpikingVocosGenerator(**make_spiking_vocos_args(use_tsm=True)).train()
    gen(torch.log(torch.rand(2, 16, 60) + 1e-3)).square().mean().backward()
    for name, p in gen.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
