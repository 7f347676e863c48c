"""Checkpoints of the reference Spiking Vocos (pymaster17/Spiking-Vocos) converted and decoded here.

Each test writes a tiny checkpoint in the reference's format: its Lightning layout, its key
names and module structure, and its Lightning-CLI config.yaml one folder above the
checkpoint's folder. The converted model must hold exactly those weights and decode the
waveform that the reference's forward pass gives, written below from torch primitives,
spikingjelly's ParametricLIFNode and ``torch.istft(center=True)`` (the reference's modules).
"""

import copy

import pytest
import torch
import torch.nn.functional as F
import torchaudio
import yaml
from spikingjelly.activation_based import monitor, neuron

from espnet2_spiking.bin.convert_spiking_vocos import main
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.vocoder import Vocoder, pack_vocoder
from tests.helpers import shift_channel_by_channel

# Sizes of the reference-format checkpoints: TINY for the tests; FULL, the reference's configs
# (configs/vocos*.yaml), for measurements (docs/reference_equivalence.py).
TINY = dict(sample_rate=8000, n_fft=64, hop_length=16, n_mels=16, dim=12, intermediate_dim=24, num_layers=2,
            snn_timestep=3, channel_folding_factor=6)  # 12 channels in 6 groups of 2: not quarters
FULL = dict(sample_rate=24000, n_fft=1024, hop_length=256, n_mels=100, dim=512, intermediate_dim=1536, num_layers=8,
            snn_timestep=4, channel_folding_factor=32)
VARIANTS = {  # run name: (experiment class, backbone class)
    "vocos": ("vocos.experiment.VocosExp", "vocos.models.VocosBackbone"),
    "spikingv3": ("vocos.experiment.VocosExp", "vocos.spiking_modelsv3.SpikingVocosBackbone"),
    "spikingv3-distill": (
        "vocos.experiment_distill.VocosDistillExp",
        "vocos.spiking_modelsv3_distill.SpikingVocosBackbone",
    ),
    "spikingv3-TSM": ("vocos.experiment.VocosExp", "vocos.spiking_modelsv3_TSM.SpikingVocosBackbone"),
    "spikingv3-TSM-distill": (
        "vocos.experiment_TSM_distill.VocosDistillExp",
        "vocos.spiking_modelsv3_TSM_distill.SpikingVocosBackbone",
    ),
}


def lightning_config(variant, size=TINY):
    """The Lightning CLI's config.yaml of a reference training run (trimmed to what matters here)."""
    experiment, backbone_class = VARIANTS[variant]
    features = {k: size[k] for k in ("sample_rate", "n_fft", "hop_length", "n_mels")}
    backbone = dict(input_channels=size["n_mels"], dim=size["dim"], intermediate_dim=size["intermediate_dim"],
                    num_layers=size["num_layers"], layer_scale_init_value=None, adanorm_num_embeddings=None)
    if variant != "vocos":
        backbone["snn_timestep"] = size["snn_timestep"]
    if "TSM" in variant:
        backbone.update(channel_folding_factor=size["channel_folding_factor"], tsm_penalty_factor=0.5)
    head = dict(dim=size["dim"], n_fft=size["n_fft"], hop_length=size["hop_length"], padding="center")
    init_args = dict(
        feature_extractor=dict(class_path="vocos.feature_extractors.MelSpectrogramFeatures",
                               init_args=dict(features, padding="center")),
        backbone=dict(class_path=backbone_class, init_args=backbone),
        head=dict(class_path="vocos.heads.ISTFTHead", init_args=head),
        sample_rate=size["sample_rate"],
        initial_learning_rate=0.0005,
        mel_loss_coeff=45.0,
        mrd_loss_coeff=0.1,
    )
    if "distill" in variant:
        init_args.update(teacher_model_path="logs/vocos/version_0", feature_distill_coeff=40.0)
    return dict(
        seed_everything=4444,
        trainer=dict(logger=dict(class_path="pytorch_lightning.loggers.TensorBoardLogger"), max_steps=2000000),
        model=dict(class_path=experiment, init_args=init_args),
        data=dict(class_path="vocos.dataset.VocosDataModule"),
    )


def reference_state_dict(variant, size=TINY):
    """Random weights under the reference's names (its modules' structure), with its other parts."""
    spiking, tsm = variant != "vocos", "TSM" in variant
    dim, inner, mels, bins = size["dim"], size["intermediate_dim"], size["n_mels"], size["n_fft"] // 2 + 1
    r = lambda *shape, std=0.3: std * torch.randn(shape)  # noqa: E731
    sd = {
        "feature_extractor.mel_spec.spectrogram.window": torch.hann_window(size["n_fft"]),
        "feature_extractor.mel_spec.mel_scale.fb": torch.rand(bins, mels),
        "backbone.embed.weight": r(dim, mels, 7, std=0.3 * (16 / mels) ** 0.5),
        "backbone.embed.bias": r(dim),
    }
    if not spiking:
        sd.update({"backbone.norm.weight": 1 + r(dim, std=0.1), "backbone.norm.bias": r(dim, std=0.1)})
    for i in range(size["num_layers"]):
        p = f"backbone.convnext.{i}."
        if tsm:
            sd[p + "alpha"] = torch.tensor(0.5) + r(std=0.2)
        sd.update({p + "dwconv.weight": r(dim, 1, 7), p + "dwconv.bias": r(dim, std=0.1)})
        sd.update({p + "norm.weight": 1.5 + r(dim, std=0.1), p + "norm.bias": r(dim, std=0.1)})
        if spiking:
            sd[p + "neuron1.w"] = r(std=0.5)
        # wide enough for the second neuron layer to fire on the first layer's sparse spikes
        sd.update({p + "pwconv1.weight": r(inner, dim, std=(12 / dim) ** 0.5), p + "pwconv1.bias": 1 + r(inner)})
        if spiking:
            sd[p + "neuron2.w"] = r(std=0.5)
        sd.update({p + "pwconv2.weight": r(dim, inner, std=0.3 * (24 / inner) ** 0.5), p + "pwconv2.bias": r(dim)})
        sd[p + "gamma"] = r(dim, std=0.5)
    sd.update({"backbone.final_layer_norm.weight": 1 + r(dim, std=0.1), "backbone.final_layer_norm.bias": r(dim)})
    sd.update({"head.out.weight": r(2 * bins, dim, std=0.3 * (12 / dim) ** 0.5), "head.out.bias": r(2 * bins)})
    sd["head.istft.window"] = torch.hann_window(size["n_fft"])
    # what the generator leaves out: the experiment's STFT and loss buffers, the discriminators,
    # and for a distilled student the teacher and the feature adapters
    sd["stft.window"] = torch.hann_window(size["n_fft"])
    sd["melspec_loss.mel_spec.mel_scale.fb"] = torch.rand(bins, mels)
    sd.update({"multiperioddisc.discriminators.0.convs.0.weight": r(32, 1, 5, 1)})
    sd.update({"multiresddisc.discriminators.0.convs.0.weight": r(32, 1, 3, 9)})
    if "distill" in variant:
        sd.update({"teacher_model.backbone.embed.weight": r(dim, mels, 7), "teacher_model.head.out.bias": r(2 * bins)})
        sd.update({"feature_adapters.1.conv1x1.weight": r(dim, dim, 1), "feature_adapters.1.norm.weight": r(dim)})
    return sd


def write_run(root, variant, state_dict=None, config=None, size=TINY):
    """logs/<run>/version_0/{config.yaml, checkpoints/last.ckpt}, as the reference's training leaves them."""
    run = root / "logs" / variant / "version_0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config or lightning_config(variant, size)))
    state_dict = state_dict if state_dict is not None else reference_state_dict(variant, size)
    checkpoint = {
        "epoch": 3,
        "global_step": 2000,
        "pytorch-lightning_version": "1.8.6",
        "state_dict": state_dict,
        "loops": {"fit_loop": {"epoch_loop.state_dict": {"_batches_that_stepped": 1000}}},
        "callbacks": {"ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min'}": {"best_model_score": torch.tensor(3.1)}},
        "optimizer_states": [
            {"state": {0: {"step": torch.tensor(1000.0)}}, "param_groups": [{"lr": 5e-4, "params": [0]}]}
        ],
        "lr_schedulers": [{"base_lrs": [5e-4], "last_epoch": 1000, "lr_lambdas": [{}]}],
        "hparams_name": "kwargs",
        "hyper_parameters": {"sample_rate": size["sample_rate"], "initial_learning_rate": 5e-4},
    }
    torch.save(checkpoint, run / "checkpoints" / "last.ckpt")
    return run / "checkpoints" / "last.ckpt", state_dict


def reference_features(audio, size=TINY):
    """The reference's MelSpectrogramFeatures (centred frames): log(clamp(mel magnitude, 1e-7))."""
    mel = torchaudio.transforms.MelSpectrogram(
        size["sample_rate"], n_fft=size["n_fft"], hop_length=size["hop_length"], n_mels=size["n_mels"], power=1
    )
    return torch.log(torch.clamp(mel(audio), min=1e-7))


def reference_decode(sd, variant, mel, size=TINY):
    """The reference's backbone and ISTFT head from its weights: mel (B, n_mels, L) -> waveform (B, (L - 1) * hop)."""
    dim, steps, n_fft, hop = size["dim"], size["snn_timestep"], size["n_fft"], size["hop_length"]
    ln = lambda x, name: F.layer_norm(x, (dim,), sd[name + ".weight"], sd[name + ".bias"], eps=1e-6)  # noqa: E731
    x = F.conv1d(mel, sd["backbone.embed.weight"], sd["backbone.embed.bias"], padding=3)
    if variant == "vocos":  # ConvNeXt blocks
        x = ln(x.transpose(1, 2), "backbone.norm").transpose(1, 2)
        for i in range(size["num_layers"]):
            p = f"backbone.convnext.{i}."
            y = F.conv1d(x, sd[p + "dwconv.weight"], sd[p + "dwconv.bias"], padding=3, groups=dim)
            y = F.gelu(F.linear(ln(y.transpose(1, 2), p + "norm"), sd[p + "pwconv1.weight"], sd[p + "pwconv1.bias"]))
            y = sd[p + "gamma"] * F.linear(y, sd[p + "pwconv2.weight"], sd[p + "pwconv2.bias"])
            x = x + y.transpose(1, 2)
    else:  # Spiking ConvNeXt blocks on the membrane potential (T, B, C, L)
        B, _, L = x.shape
        factor = size["channel_folding_factor"]  # groups of dim // factor channels: factor // 4 move, then factor // 2
        groups = (factor // 4 * (dim // factor), factor // 2 * (dim // factor))
        u = x.unsqueeze(0).repeat(steps, 1, 1, 1)
        for i in range(size["num_layers"]):
            p = f"backbone.convnext.{i}."
            x_in = u + sd[p + "alpha"] * shift_channel_by_channel(u, *groups) if "TSM" in variant else u
            xc = F.conv1d(x_in.flatten(0, 1), sd[p + "dwconv.weight"], sd[p + "dwconv.bias"], padding=3, groups=dim)
            xc = ln(xc.transpose(1, 2), p + "norm")  # (T * B, L, C)
            lif1, lif2 = (neuron.ParametricLIFNode(v_threshold=1.0, step_mode="m") for _ in range(2))
            lif1.w.data.copy_(sd[p + "neuron1.w"])
            lif2.w.data.copy_(sd[p + "neuron2.w"])
            s1 = lif1(xc.reshape(steps, B, L, dim)).flatten(0, 1)
            h = F.gelu(F.linear(s1, sd[p + "pwconv1.weight"], sd[p + "pwconv1.bias"]))
            s2 = lif2(h.reshape(steps, B, L, -1)).flatten(0, 1)
            y = F.linear(s2, sd[p + "pwconv2.weight"], sd[p + "pwconv2.bias"])
            u = u + (sd[p + "gamma"] * (y * xc)).transpose(1, 2).reshape(steps, B, dim, L)
        x = (u * 0.9 ** torch.arange(steps - 1, -1, -1.0).view(-1, 1, 1, 1)).sum(0)
    spec = F.linear(ln(x.transpose(1, 2), "backbone.final_layer_norm"), sd["head.out.weight"], sd["head.out.bias"])
    log_mag, phase = spec.transpose(1, 2).chunk(2, dim=1)
    mag = torch.exp(log_mag).clip(max=1e2)
    window = torch.hann_window(n_fft)
    return torch.istft(mag * (torch.cos(phase) + 1j * torch.sin(phase)), n_fft, hop, n_fft, window, center=True)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_converted_checkpoint_holds_the_weights_and_decodes_as_the_reference(variant, tmp_path):
    checkpoint, sd = write_run(tmp_path, variant)
    main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "exp" / "converted")])

    config = yaml.safe_load((tmp_path / "exp" / "converted" / "config.yaml").read_text())
    assert config["feats_extract"] == "vocos_mel"
    assert config["feats_extract_conf"] == dict(fs=8000, n_fft=64, hop_length=16, n_mels=16)
    vocoder = Vocoder.from_pretrained(tmp_path / "exp" / "converted")
    generator = vocoder.generator
    assert type(generator) is (VocosGenerator if variant == "vocos" else SpikingVocosGenerator)
    assert generator.head.istft.padding == "center"
    if variant != "vocos":
        assert generator.backbone.time_steps == TINY['snn_timestep']
        tsm = generator.backbone.convnext[0].tsm
        assert (tsm is not None) == ("TSM" in variant)
        if tsm is not None:
            assert (tsm.folding_factor, tsm.direction) == (TINY['channel_folding_factor'], "reference")

    # every weight of the generator is the checkpoint's, under the plugin's names
    ours = generator.state_dict()
    renames = {"neuron1": "lif1", "neuron2": "lif2", "alpha": "tsm.alpha"}
    mapped = {}
    for key, value in sd.items():
        if key.startswith(("backbone.", "head.out.")):
            parts = key.split(".")
            if len(parts) > 3:
                parts[3] = renames.get(parts[3], parts[3])
            mapped[".".join(parts)] = value
    assert set(ours) == set(mapped)
    assert all(torch.equal(ours[k], v) for k, v in mapped.items())

    # and it decodes the reference's waveform for the same audio
    audio = 0.3 * torch.randn(1603)
    expected = reference_decode(sd, variant, reference_features(audio[None]))[0]
    spikes = monitor.OutputMonitor(generator, neuron.BaseNode)
    wav = vocoder.copy_synthesis(audio)
    assert wav.shape == expected.shape == (1600,)  # 101 frames, (101 - 1) * hop samples
    assert expected.abs().max() > 0.05
    assert torch.allclose(wav, expected, atol=1e-5)
    rates = [s.float().mean().item() for s in spikes.records]
    assert len(rates) == (0 if variant == "vocos" else 2 * TINY['num_layers'])
    assert all(0 < rate < 0.9 for rate in rates)  # every neuron layer fires, and not always


def test_packed_conversion_decodes_the_same(tmp_path):
    checkpoint, _ = write_run(tmp_path, "spikingv3-TSM-distill")
    out = tmp_path / "converted"
    main(["--checkpoint_path", str(checkpoint), "--out_dir", str(out)])
    archive = pack_vocoder(out / "model.pth", tmp_path / "sv.tar.gz")
    audio = 0.3 * torch.randn(800)
    assert torch.equal(
        Vocoder.from_pretrained(archive, unpack_dir=tmp_path / "unpacked").copy_synthesis(audio),
        Vocoder.from_pretrained(out).copy_synthesis(audio),
    )


def test_config_lookup(tmp_path):
    """config.yaml one folder up, else hparams.yaml there (the reference's inference.py), else --config."""
    checkpoint, _ = write_run(tmp_path, "spikingv3")
    run = checkpoint.parent.parent
    (run / "config.yaml").rename(tmp_path / "elsewhere.yaml")
    with pytest.raises(FileNotFoundError, match=r"version_0/config\.yaml.*version_0/hparams\.yaml.*--config"):
        main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "a")])
    main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "a"),
          "--config", str(tmp_path / "elsewhere.yaml")])
    assert Vocoder.from_pretrained(tmp_path / "a").generator.backbone.time_steps == TINY['snn_timestep']

    # Lightning's own hparams.yaml: flat, and without the modules (the experiment ignores them)
    (run / "hparams.yaml").write_text(yaml.safe_dump({"sample_rate": 8000, "initial_learning_rate": 5e-4}))
    with pytest.raises(ValueError, match=r"hparams\.yaml has no `feature_extractor.*sample_rate"):
        main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "b")])
    flat = lightning_config("spikingv3")["model"]["init_args"]
    (run / "hparams.yaml").write_text(yaml.safe_dump(flat))
    main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "b")])
    assert (tmp_path / "b" / "model.pth").is_file()
    with pytest.raises(FileExistsError, match="--overwrite"):
        main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "b")])


def test_refusals_say_what_was_found_and_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.ckpt does not exist"):
        main(["--checkpoint_path", str(tmp_path / "missing.ckpt"), "--out_dir", str(tmp_path / "o")])

    config = lightning_config("spikingv3")
    config["model"]["init_args"]["backbone"]["class_path"] = "vocos.spiking_modelsv2.SpikingVocosBackbone"
    checkpoint, _ = write_run(tmp_path / "unknown", "spikingv3", config=config)
    expected = r"spiking_modelsv2\.SpikingVocosBackbone.*expected vocos\.models\.VocosBackbone or"
    with pytest.raises(ValueError, match=expected):
        main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "o")])

    config = lightning_config("spikingv3")
    config["model"]["init_args"]["backbone"]["init_args"]["num_layers"] = 3
    checkpoint, _ = write_run(tmp_path / "deeper", "spikingv3", config=config)
    with pytest.raises(ValueError, match=r"do not fit the SpikingVocosGenerator.*Missing key.*convnext\.2"):
        main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "o")])

    config = lightning_config("spikingv3-TSM")
    del config["model"]["init_args"]["backbone"]["init_args"]["snn_timestep"]
    config["model"]["init_args"]["backbone"]["init_args"]["spike_fn"] = "heaviside"
    checkpoint, _ = write_run(tmp_path / "settings", "spikingv3-TSM", config=config)
    with pytest.raises(ValueError, match="unknown settings spike_fn; missing settings snn_timestep"):
        main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "o")])

    config = copy.deepcopy(lightning_config("vocos"))
    config["model"]["init_args"]["feature_extractor"]["init_args"]["padding"] = "same"
    checkpoint, _ = write_run(tmp_path / "same", "vocos", config=config)
    with pytest.raises(ValueError, match="feature_extractor padding is 'same'"):
        main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "o")])

    # a checkpoint whose loading would run code (here an object of an arbitrary class) is not read
    checkpoint, _ = write_run(tmp_path / "code", "vocos")
    content = torch.load(checkpoint, weights_only=True)
    content["hyper_parameters"] = {"data": torch.nn.Identity()}
    torch.save(content, checkpoint)
    with pytest.raises(ValueError, match=r"Refusing to load.*torch\.nn\.modules.*save them alone.*state_dict"):
        main(["--checkpoint_path", str(checkpoint), "--out_dir", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()
