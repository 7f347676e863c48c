import copy

import pytest
import torch
import yaml

from espnet2_spiking.bin.convert_vocos import main
from espnet2_spiking.gan_vocoder.distillation import load_teacher
from espnet2_spiking.layers.mel import VocosLogMel

vocos = pytest.importorskip("vocos")

# A tiny Vocos release, in the layout of the model hub's config.yaml.
HUB_CONFIG = {
    "feature_extractor": {
        "class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
        "init_args": {"sample_rate": 8000, "n_fft": 64, "hop_length": 16, "n_mels": 16, "padding": "center"},
    },
    "backbone": {
        "class_path": "vocos.models.VocosBackbone",
        "init_args": {"input_channels": 16, "dim": 32, "intermediate_dim": 48, "num_layers": 2},
    },
    "head": {
        "class_path": "vocos.heads.ISTFTHead",
        "init_args": {"dim": 32, "n_fft": 64, "hop_length": 16, "padding": "same"},
    },
}


def write_release(directory, config=HUB_CONFIG):
    """Write config.yaml and pytorch_model.bin of a randomly initialised vocos.Vocos."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    upstream = vocos.Vocos.from_hparams(str(directory / "config.yaml")).eval()
    for p in upstream.parameters():
        torch.nn.init.normal_(p, std=0.1)
    torch.save(upstream.state_dict(), directory / "pytorch_model.bin")
    return upstream


def convert(release, output_dir, *extra):
    main(["--vocos_config", str(release / "config.yaml"), "--vocos_checkpoint", str(release / "pytorch_model.bin"),
          "--output_dir", str(output_dir), *extra])


@pytest.mark.parametrize("padding", ["same", "center"])
def test_converted_teacher_decodes_like_upstream(padding, tmp_path):
    hub_config = copy.deepcopy(HUB_CONFIG)
    hub_config["head"]["init_args"]["padding"] = padding
    upstream = write_release(tmp_path / "hub", hub_config)
    convert(tmp_path / "hub", tmp_path / "exp" / "vocos_pretrained")

    config = yaml.safe_load((tmp_path / "exp" / "vocos_pretrained" / "config.yaml").read_text())
    assert config["generator"] == "vocos" and config["feats_extract"] == "vocos_mel"
    assert config["feats_extract_conf"] == dict(fs=8000, n_fft=64, hop_length=16, n_mels=16)
    assert config["generator_conf"] == dict(in_channels=16, dim=32, intermediate_dim=48, num_layers=2,
                                            kernel_size=7, n_fft=64, hop_length=16, padding=padding)
    state = torch.load(tmp_path / "exp" / "vocos_pretrained" / "model.pth", weights_only=True)
    assert state and all(k.startswith("generator.") for k in state)

    teacher = load_teacher(tmp_path / "exp" / "vocos_pretrained" / "model.pth")
    audio = torch.randn(2, 1600)
    features = VocosLogMel(**config["feats_extract_conf"])
    with torch.no_grad():
        mel = features.mel(audio)
        assert torch.allclose(mel, upstream.feature_extractor(audio), atol=1e-5)  # same features
        assert torch.allclose(teacher(mel)[:, 0], upstream.decode(mel), atol=1e-5)  # same waveform


def test_training_config_layout(tmp_path):
    """A Vocos training config (everything under model.init_args) converts as well."""
    release = tmp_path / "hub"
    write_release(release)
    (release / "config.yaml").write_text(yaml.safe_dump({"model": {"init_args": HUB_CONFIG}}))
    convert(release, tmp_path / "out")
    assert load_teacher(tmp_path / "out" / "model.pth").in_channels == 16


def test_refusals(tmp_path):
    release = tmp_path / "hub"
    write_release(release)
    with pytest.raises(FileNotFoundError, match="nothing.bin"):
        main(["--vocos_config", str(release / "config.yaml"), "--vocos_checkpoint", str(tmp_path / "nothing.bin"),
              "--output_dir", str(tmp_path / "out")])

    convert(release, tmp_path / "out")
    with pytest.raises(FileExistsError, match="already exist.*--overwrite"):
        convert(release, tmp_path / "out")
    convert(release, tmp_path / "out", "--overwrite", "true")

    encodec = dict(HUB_CONFIG, feature_extractor={"class_path": "vocos.feature_extractors.EncodecFeatures"})
    (release / "config.yaml").write_text(yaml.safe_dump(encodec))
    with pytest.raises(ValueError, match="EncodecFeatures.*MelSpectrogramFeatures"):
        convert(release, tmp_path / "encodec")

    wider = copy.deepcopy(HUB_CONFIG)  # the config says dim 64, the weights have 32
    wider["backbone"]["init_args"]["dim"] = wider["head"]["init_args"]["dim"] = 64
    (release / "config.yaml").write_text(yaml.safe_dump(wider))
    with pytest.raises(ValueError, match="do not fit the VocosGenerator.*size mismatch"):
        convert(release, tmp_path / "wider")
