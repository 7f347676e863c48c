import pytest
import torch

from espnet2_spiking.gan_vocoder.distillation import Distillation
from espnet2_spiking.gan_vocoder.espnet_model import (
    ESPnetGANVocoderModel,
    random_aligned_segments,
    random_peak_gain,
    random_segments,
)
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.layers.mel import VocosLogMel
from tests.conftest import TINY_DISCRIMINATOR, TINY_MEL, make_spiking_vocos_args, make_vocos_args

SEGMENT = 512  # 32 frames of hop 16
VARIANTS = {
    "vocos": (VocosGenerator, make_vocos_args(), None),
    "spiking_vocos": (SpikingVocosGenerator, make_spiking_vocos_args(), None),
    "spiking_vocos_tsm": (SpikingVocosGenerator, make_spiking_vocos_args(use_tsm=True), None),
    "spiking_vocos_tsm_distill": (SpikingVocosGenerator, make_spiking_vocos_args(use_tsm=True), {}),
    # as the reference's TSM-distill: centred ISTFT, each block's mixed input distilled
    "spiking_vocos_tsm_distill_reference": (
        SpikingVocosGenerator,
        make_spiking_vocos_args(use_tsm=True, padding="center"),
        dict(student_hidden="tsm_input"),
    ),
}
GENERATOR_STATS = {"generator_loss", "mel_loss", "generator_adv_loss", "generator_feat_match_loss"}
DISCRIMINATOR_STATS = {"discriminator_loss", "discriminator_real_loss", "discriminator_fake_loss"}
DISTILL_STATS = {"distill_feature_loss", "distill_output_loss"}
# two blocks in make_vocos_args
FIRING_STATS = {f"firing_rate_{b}_lif{n}" for b in (0, 1) for n in (1, 2)} | {
    "firing_rate_min",
    "firing_rate_mean",
}


def make_model(variant="spiking_vocos", **kwargs):
    cls, args, distill = VARIANTS[variant]
    distillation = Distillation(VocosGenerator(**make_vocos_args()), **distill) if distill is not None else None
    conf = dict(segment_size=SEGMENT, discriminator_params=TINY_DISCRIMINATOR)
    conf.update(kwargs)
    return ESPnetGANVocoderModel(VocosLogMel(**TINY_MEL), cls(**args), distillation, **conf)


def make_batch():
    """Two utterances of 1200 and 300 samples (the second shorter than a segment)."""
    speech = 0.1 * torch.randn(2, 1200)
    speech[1, 300:] = 0.0
    return dict(speech=speech, speech_lengths=torch.tensor([1200, 300]))


def grads(module):
    return [p.grad for p in module.parameters()]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_one_generator_and_one_discriminator_turn(variant):
    model = make_model(variant).train()
    batch = make_batch()

    out = model(forward_generator=True, **batch)
    assert out["optim_idx"] == 0 and out["weight"].item() == 2
    expected = GENERATOR_STATS | (DISTILL_STATS if "distill" in variant else set())
    assert set(out["stats"]) == expected | (FIRING_STATS if "spiking" in variant else set())
    assert torch.isfinite(out["loss"]).all()
    out["loss"].backward()
    assert all(g is not None for g in grads(model.generator))
    assert sum(g.abs().sum() for g in grads(model.generator)) > 0
    assert all(g is None for g in grads(model.discriminator))  # the generator turn leaves D alone
    if model.distillation is not None:
        assert all(g is not None for g in grads(model.distillation.adapters))
        assert all(g is None for g in grads(model.distillation.teacher))
    model.zero_grad(set_to_none=True)

    out = model(forward_generator=False, **batch)
    assert out["optim_idx"] == 1 and set(out["stats"]) == DISCRIMINATOR_STATS
    assert torch.isfinite(out["loss"]).all()
    out["loss"].backward()
    assert all(g is not None for g in grads(model.discriminator))
    assert all(g is None for g in grads(model.generator))  # and the discriminator turn leaves G alone
    if model.distillation is not None:
        assert all(g is None for g in grads(model.distillation))

    stats = {**model(forward_generator=True, **batch)["stats"]}
    for value in stats.values():
        assert value.shape == (1,) and not value.requires_grad and torch.isfinite(value).all()


@pytest.mark.parametrize("variant", ["vocos", "spiking_vocos_tsm_distill", "spiking_vocos_tsm_distill_reference"])
def test_validation_turns(variant):
    """Whole utterances; mel_loss in the generator turn; no key in both turns (ESPnet's reporter)."""
    model = make_model(variant).eval()
    mels = []
    hook = model.generator.backbone.register_forward_pre_hook(lambda m, args: mels.append(args[0]))
    batch = make_batch()
    with torch.no_grad():
        gen = model(forward_generator=True, **batch)
        disc = model(forward_generator=False, **batch)
    hook.remove()
    assert [m.shape for m in mels] == [(2, 16, 1200 // 16 + 1)]  # decoded whole, once for both turns
    assert "mel_loss" in gen["stats"] and not set(gen["stats"]) & set(disc["stats"])

    # samples beyond an utterance's length are ignored
    noisy = dict(batch, speech=batch["speech"].clone())
    noisy["speech"][1, 300:] = torch.randn(900)
    with torch.no_grad():
        assert torch.equal(
            model(forward_generator=True, **noisy)["stats"]["mel_loss"], gen["stats"]["mel_loss"]
        )


def test_centred_head_validates_any_length():
    """A "center" head decodes (L - 1) * hop samples, short of a length that is no multiple of
    the hop: the rest is zero-padded, so the losses see the utterance's length."""
    model = make_model("spiking_vocos_tsm_distill_reference").eval()
    speech = 0.1 * torch.randn(2, 1203)
    out = model._generate(speech, torch.tensor([1203, 700]))
    assert out.speech_hat.shape == out.speech.shape == (2, 1, 1203)
    assert torch.equal(out.speech_hat[0, 0, 1200:], torch.zeros(3))  # 76 frames: 1200 samples decoded
    assert torch.equal(out.speech_hat[1, 0, 700:], torch.zeros(503))
    stats = model(forward_generator=True, speech=speech, speech_lengths=torch.tensor([1203, 700]))["stats"]
    assert torch.isfinite(stats["mel_loss"]).all()


def test_training_decodes_random_segments():
    model = make_model().train()
    inputs = []
    model.generator.backbone.register_forward_pre_hook(lambda m, args: inputs.append(args[0]))
    model(forward_generator=True, **make_batch())
    assert inputs[0].shape == (2, 16, SEGMENT // 16 + 1)


@pytest.mark.parametrize("generator_first", [True, False])
def test_generator_runs_once_per_batch(generator_first):
    """The second turn of a batch reuses the first turn's generator output; a new batch does not."""
    model = make_model().train()
    calls = []
    model.generator.backbone.register_forward_pre_hook(lambda m, args: calls.append(1))
    for batch in [make_batch(), make_batch()]:
        for turn in [generator_first, not generator_first]:
            model(forward_generator=turn, **batch)["loss"].backward()
    assert len(calls) == 2


def test_teacher_is_bit_identical_after_a_distillation_step():
    model = make_model("spiking_vocos_tsm_distill").train()
    assert not model.distillation.teacher.training
    teacher = {k: v.clone() for k, v in model.distillation.teacher.state_dict().items()}
    student = {k: v.clone() for k, v in model.generator.state_dict().items()}
    adapters = {k: v.clone() for k, v in model.distillation.adapters.state_dict().items()}
    # even an optimizer over every parameter, with weight decay, must leave the teacher alone
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    for forward_generator in [True, False]:
        model(forward_generator=forward_generator, **make_batch())["loss"].backward()
        optimizer.step()
        optimizer.zero_grad()
    after = model.distillation.teacher.state_dict()
    assert all(torch.equal(teacher[k], after[k]) for k in teacher)
    assert any(not torch.equal(student[k], v) for k, v in model.generator.state_dict().items())
    assert any(not torch.equal(adapters[k], v) for k, v in model.distillation.adapters.state_dict().items())


def test_exported_generator_holds_no_adapter_or_teacher():
    model = make_model("spiking_vocos_tsm_distill")
    state = model.state_dict()
    generator_keys = [k for k in state if k.startswith("generator.")]
    assert not [k for k in generator_keys if "adapter" in k or "teacher" in k]
    assert any(k.startswith("distillation.adapters.") for k in state)
    fresh = SpikingVocosGenerator(**make_spiking_vocos_args(use_tsm=True))
    fresh.load_state_dict({k[len("generator.") :]: state[k] for k in generator_keys})  # strict

    params = list(model.generator_parameters())
    expected = list(model.generator.parameters()) + list(model.distillation.adapters.parameters())
    assert len(params) == len(expected) and all(p is q for p, q in zip(params, expected))


def test_random_segments():
    speech = torch.arange(1.0, 21.0).repeat(3, 1)  # (3, 20), values 1..20
    lengths = torch.tensor([20, 12, 5])
    segments, valid = random_segments(speech, lengths, 8)
    assert segments.shape == (3, 8) and valid.tolist() == [8, 8, 5]
    for segment, length in zip(segments, lengths):
        start = int(segment[0]) - 1  # a contiguous piece that fits in the utterance
        assert torch.equal(segment, torch.arange(start + 1.0, start + 9.0))
        assert start + min(8, length) <= length
    assert segments[2, :5].tolist() == [1, 2, 3, 4, 5]  # a short utterance is taken whole

    short, valid = random_segments(speech[:, :5], torch.tensor([5, 5, 3]), 8)  # batch shorter than a segment
    assert short.shape == (3, 8) and valid.tolist() == [5, 5, 3]
    assert short[0].tolist() == [1, 2, 3, 4, 5, 0, 0, 0]


def test_aligned_segments_start_on_a_frame_within_samples_and_frames():
    hop, size = 4, 8
    speech = torch.arange(1.0, 41.0).repeat(3, 1)  # (3, 40), values 1..40
    lengths = torch.tensor([40, 40, 6])
    feats = torch.arange(11.0)[None, :, None].repeat(3, 1, 2)  # frame i holds i: (3, 11, 2)
    feats_lengths = torch.tensor([11, 4, 2])  # the second has fewer frames than its samples
    for _ in range(20):
        segments, valid, mels = random_aligned_segments(speech, lengths, feats, feats_lengths, size, hop)
        assert segments.shape == (3, size) and mels.shape == (3, 2, size // hop + 1)
        start = segments[:2, 0].long() - 1
        assert (start % hop == 0).all()
        assert torch.equal(mels[:2, 0], (start // hop)[:, None] + torch.arange(3.0))  # frame = sample / hop
        assert int(start[1]) in (0, hop)  # 4 frames hold a segment (3 frames) from frame 0 or 1 only
    assert valid[2] == 6 and segments[2, :6].tolist() == [1, 2, 3, 4, 5, 6]


def test_fine_tuning_on_aligned_feats_decodes_them_and_learns():
    """A fine-tuning step on (feats, speech) pairs: the generator decodes the given features,
    cut at the same place as the waveform target; stand-in teacher-forced mels (the waveform's
    own log-mel, offset by a constant) line up with the target's log-mel frame by frame."""
    model = make_model("vocos", discriminator_train_start_steps=0).train()
    batch = make_batch()
    feats, feats_lengths = model.feats_extract(batch["speech"], batch["speech_lengths"])
    inputs = []
    model.generator.backbone.register_forward_pre_hook(lambda m, args: inputs.append(args[0]))
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    optimizer = torch.optim.AdamW(model.generator.parameters(), lr=1e-2)
    out = model(forward_generator=True, feats=feats + 0.5, feats_lengths=feats_lengths, **batch)
    target = model._cache[1]
    assert inputs[0].shape == target.mel.shape == (2, 16, SEGMENT // 16 + 1)
    # frames away from the segment's edges see the same samples in both: aligned
    edge = TINY_MEL["n_fft"] // TINY_MEL["hop_length"]
    torch.testing.assert_close(inputs[0][0, :, edge:-edge] - 0.5, target.mel[0, :, edge:-edge], atol=1e-4, rtol=0)
    out["loss"].backward()
    optimizer.step()
    assert any(not torch.equal(before[k], v) for k, v in model.generator.state_dict().items())
    # the discriminator turn of the same batch reuses the decoding
    assert torch.isfinite(model(forward_generator=False, feats=feats, feats_lengths=feats_lengths, **batch)["loss"])
    assert len(inputs) == 1


def test_validation_decodes_given_feats_with_fewer_frames_than_the_waveform():
    model = make_model("vocos").eval()
    batch = make_batch()
    feats, feats_lengths = model.feats_extract(batch["speech"], batch["speech_lengths"])
    with torch.no_grad():
        out = model(forward_generator=True, feats=feats[:, :-3], feats_lengths=feats_lengths - 3, **batch)
    assert torch.isfinite(out["stats"]["mel_loss"])


def test_feats_refused_with_random_gain_and_with_the_wrong_mel_count():
    batch = make_batch()
    with pytest.raises(ValueError, match="random_gain_db: null"):
        make_model("vocos", random_gain_db=[-6, -1]).train()(
            feats=torch.zeros(2, 76, 16), feats_lengths=torch.tensor([76, 19]), **batch
        )
    with pytest.raises(ValueError, match=r"Expected feats \(B, frames, 16\)"):
        make_model("vocos")(feats=torch.zeros(2, 76, 80), feats_lengths=torch.tensor([76, 19]), **batch)


def test_short_clips_are_padded():
    """Utterances shorter than a segment are taken whole and zero-padded to one segment; the
    generated audio is silent beyond each length too, and both turns give finite losses."""
    model = make_model().train()
    speech = 0.1 * torch.randn(2, 200)
    speech[1, 120:] = 0.0
    lengths = [200, 120]  # both shorter than SEGMENT
    seen, mels = [], []  # what the discriminators judge and what the generator decodes
    model.discriminator.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    model.generator.backbone.register_forward_pre_hook(lambda m, args: mels.append(args[0]))
    for forward_generator in [True, False]:
        loss = model(forward_generator=forward_generator, speech=speech, speech_lengths=torch.tensor(lengths))["loss"]
        assert torch.isfinite(loss).all()
    assert len(mels) == 1 and mels[0].shape == (2, TINY_MEL["n_mels"], SEGMENT // TINY_MEL["hop_length"] + 1)
    speech_hat, target = seen[0], seen[1]  # the generator turn judges the generated audio first
    assert speech_hat.shape == target.shape == (2, 1, SEGMENT)
    for i, n in enumerate(lengths):
        assert torch.equal(target[i, 0, :n], speech[i, :n]) and not target[i, 0, n:].any()
        assert speech_hat[i, 0, :n].abs().sum() > 0 and not speech_hat[i, 0, n:].any()


def test_collect_feats():
    model = make_model()
    feats = model.collect_feats(**make_batch())
    assert feats["feats"].shape == (2, 1200 // 16 + 1, 16)
    assert feats["feats_lengths"].tolist() == [76, 19]


def test_bad_settings_are_refused():
    with pytest.raises(
        ValueError, match="segment_size must be a positive multiple of the hop length 16, got 500"
    ):
        make_model(segment_size=500)
    with pytest.raises(ValueError, match=r"in_channels=16.*n_mels=80"):
        ESPnetGANVocoderModel(VocosLogMel(**{**TINY_MEL, "n_mels": 80}), VocosGenerator(**make_vocos_args()), None)
    distillation = Distillation(VocosGenerator(**make_vocos_args()))
    with pytest.raises(ValueError, match="spiking_vocos student"):
        ESPnetGANVocoderModel(
            VocosLogMel(**TINY_MEL), VocosGenerator(**make_vocos_args()), distillation, segment_size=512
        )
    model = make_model()
    with pytest.raises(ValueError, match=r"mono waveforms \(B, N\)"):
        model(speech=torch.randn(2, 1200, 2), speech_lengths=torch.tensor([1200, 1200]))


def test_firing_rates_are_statistics_of_every_spiking_layer():
    model = make_model().eval()
    spikes = {}
    for i, block in enumerate(model.generator.backbone.convnext):
        for name in ("lif1", "lif2"):
            getattr(block, name).register_forward_hook(
                lambda m, x, s, key=f"firing_rate_{i}_{name}": spikes.__setitem__(key, s.mean())
            )
    with torch.no_grad():
        stats = model(forward_generator=True, **make_batch())["stats"]
    assert set(spikes) | {"firing_rate_min", "firing_rate_mean"} == FIRING_STATS
    for key, rate in spikes.items():
        assert torch.allclose(stats[key], rate.reshape(1))
    rates = torch.stack(list(spikes.values()))
    assert torch.allclose(stats["firing_rate_min"], rates.min()) and torch.allclose(
        stats["firing_rate_mean"], rates.mean()
    )
    # records are cleared after every pass: a second batch reports its own rates
    with torch.no_grad():
        again = model(forward_generator=True, **make_batch())["stats"]
    assert torch.allclose(again["firing_rate_0_lif1"], spikes["firing_rate_0_lif1"].reshape(1))
    assert not FIRING_STATS & set(make_model("vocos")(forward_generator=True, **make_batch())["stats"])


def test_discriminators_rest_for_the_first_training_steps():
    model = make_model(discriminator_train_start_steps=2).train()
    for step in range(3):
        batch = make_batch()
        disc = model(forward_generator=False, **batch)
        disc["loss"].backward()
        gen = model(forward_generator=True, **batch)
        if step < 2:  # mel loss alone; the discriminators neither run nor learn
            assert disc["loss"].item() == 0 and disc["stats"]["discriminator_loss"].isnan().all()
            assert all(g is None for g in grads(model.discriminator))
            assert "generator_adv_loss" not in gen["stats"]
            assert torch.allclose(gen["loss"], 45.0 * gen["stats"]["mel_loss"])
        else:
            assert set(disc["stats"]) == DISCRIMINATOR_STATS
            assert all(g is not None for g in grads(model.discriminator))
            assert {"generator_adv_loss", "generator_feat_match_loss"} <= set(gen["stats"])
        model.zero_grad(set_to_none=True)
    assert model.state_dict()["num_train_steps"].item() == 3  # kept in checkpoints, for --resume
    with torch.no_grad():  # validation scores the discriminators once they have joined
        model.eval()
        assert "generator_adv_loss" in model(forward_generator=True, **make_batch())["stats"]
        fresh = make_model(discriminator_train_start_steps=2).eval()
        assert "generator_adv_loss" not in fresh(forward_generator=True, **make_batch())["stats"]
        assert fresh(forward_generator=False, **make_batch())["stats"]["discriminator_loss"].isnan().all()
        fresh.num_train_steps.fill_(2)  # trained up to their start, not a step beyond: still untrained
        assert "generator_adv_loss" not in fresh(forward_generator=True, **make_batch())["stats"]


def test_random_peak_gain():
    speech = torch.zeros(3, 100)
    speech[0, :50] = 0.01 * torch.randn(50)
    speech[1, :80] = 2.0 * torch.randn(80)
    scaled = random_peak_gain(speech, -6.0, -1.0)
    peaks_db = 20 * torch.log10(scaled[:2].abs().amax(dim=1))
    assert ((peaks_db >= -6.0 - 1e-4) & (peaks_db <= -1.0 + 1e-4)).all()
    assert torch.allclose(
        scaled[0] / scaled[0].abs().max(), speech[0] / speech[0].abs().max()
    )  # a gain, no more
    assert torch.equal(scaled[2], speech[2])  # silence stays silent
    model = make_model(random_gain_db=[-6.0, -1.0]).train()
    seen = []
    model.generator.backbone.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    model(forward_generator=True, **make_batch())
    assert not torch.equal(
        seen[0], make_model().train().feats_extract.mel(make_batch()["speech"][:, :SEGMENT])
    )
    with pytest.raises(ValueError, match="random_gain_db must be"):
        make_model(random_gain_db=[-1.0, -6.0])


def test_vocos_gan_losses():
    """The reference's generator hinge and feature-matching layers, against a direct computation."""
    model = make_model(gan_loss_style="vocos").train()
    out = model._generate(**make_batch())
    mpd_hat, mrd_hat = model.discriminator(out.speech_hat)
    mpd, mrd = model.discriminator(out.speech)

    def hinge(outputs):
        return sum(torch.relu(1 - o[-1]).mean() for o in outputs) / len(outputs)

    def feat_match(hat, real, skip):  # every layer but those skipped, score map included; sum over layers
        return sum(
            sum((h - r).abs().mean() for i, (h, r) in enumerate(zip(hs, rs)) if i not in skip)
            for hs, rs in zip(hat, real)
        ) / len(hat)

    mpd_first = {0}  # each MPD sub-discriminator's first layer; each MRD band's first (5 layers a band)
    mrd_first = set(range(0, len(mrd[0]) - 1, 5))

    loss, stats = model._generator_loss(out)
    assert torch.allclose(stats["generator_adv_loss"], hinge(mpd_hat) + 0.1 * hinge(mrd_hat))
    assert torch.allclose(
        stats["generator_feat_match_loss"],
        feat_match(mpd_hat, mpd, mpd_first) + 0.1 * feat_match(mrd_hat, mrd, mrd_first),
    )
    with pytest.raises(ValueError, match="gan_loss_style must be 'espnet' or 'vocos'"):
        make_model(gan_loss_style="hifigan")
