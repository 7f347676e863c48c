"""Spiking Vocos behind ESPnet text-to-mel models: joint_text2wav training and tts_inference."""

import numpy as np
import pytest
import soundfile
import torch
import yaml

from espnet2_spiking.bin import gan_tts_train, gan_vocoder_train, make_joint_text2wav, tts_inference, tts_train
from espnet2_spiking.vocoder import Vocoder
from tests.conftest import TINY_MEL, TINY_TACOTRON2, write_wav_scp
from tests.helpers import TINY_TRAIN

FS, HOP = TINY_MEL["fs"], TINY_MEL["hop_length"]
COMMON = dict(
    token_type="char",
    cleaner=None,
    g2p=None,
    feats_extract="vocos_mel",
    feats_extract_conf=TINY_MEL,
    normalize=None,
    batch_type="unsorted",
    batch_size=1,  # Tacotron 2 packs sequences and wants length-sorted batches
    num_iters_per_epoch=1,
    max_epoch=1,
    num_workers=0,
    best_model_criterion=[["train", "total_count", "max"]],
    seed=0,
    use_matplotlib=False,  # loss curves and attention plots cost seconds per run on this CPU
    use_tensorboard=False,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("tts")
    scp = write_wav_scp(root / "wav", FS, {"a": 0.4, "b": 0.5})
    text = root / "text"
    text.write_text("a hello world\nb spiking vocos\n")
    tokens = root / "tokens.txt"
    chars = sorted(set("hello world spiking vocos".replace(" ", "")))
    tokens.write_text("\n".join(["<blank>", "<unk>", "<space>", *chars, "<sos/eos>"]) + "\n")
    return root, scp, text, tokens


def data_args(corpus):
    root, scp, text, tokens = corpus
    return [
        "--token_list", str(tokens),
        "--train_data_path_and_name_and_type", f"{text},text,text",
        "--train_data_path_and_name_and_type", f"{scp},speech,sound",
        "--valid_data_path_and_name_and_type", f"{text},text,text",
        "--valid_data_path_and_name_and_type", f"{scp},speech,sound",
        "--train_shape_file", str(scp),
        "--valid_shape_file", str(scp),
        "--ngpu", "0",
    ]  # fmt: skip


def synthesize(corpus, config, model, out):
    _, _, text, _ = corpus
    tts_inference.main(
        ["--train_config", str(config), "--model_file", str(model), "--output_dir", str(out),
         "--data_path_and_name_and_type", f"{text},text,text", "--maxlenratio", "3"]
    )  # fmt: skip
    shapes = (out / "speech_shape/speech_shape").read_text().splitlines()
    assert len(shapes) == 2
    for line in shapes:
        utt, shape = line.split()
        num_frames = int(shape.split(",")[0])
        wav, fs = soundfile.read(out / "wav" / f"{utt}.wav")
        assert fs == FS
        assert wav.shape == (num_frames * HOP,)


def joint_config(tmp_path, **vocoder_params):
    conf = dict(COMMON)
    conf.update(
        tts="joint_text2wav",
        tts_conf=dict(
            text2mel_type="tacotron2",
            text2mel_params=TINY_TACOTRON2,
            vocoder_type="spiking_vocos",
            vocoder_params=dict(dim=32, intermediate_dim=48, num_layers=2, time_steps=2, **vocoder_params),
            segment_size=8,
            sampling_rate=FS,
            discriminator_type="hifigan_multi_period_discriminator",
            discriminator_params=dict(periods=[2, 3], discriminator_params=dict(channels=4, max_downsample_channels=8)),
            mel_loss_params=dict(fs=FS, n_fft=TINY_MEL["n_fft"], hop_length=HOP, n_mels=TINY_MEL["n_mels"]),
        ),
        optim="adam",
        optim_conf=dict(lr=1e-4),
        optim2="adam",
        optim2_conf=dict(lr=1e-4),
    )
    path = tmp_path / "joint.yaml"
    path.write_text(yaml.safe_dump(conf))
    return path


def test_gan_tts_trains_joint_text2wav_with_spiking_vocos(corpus, tmp_path):
    out = tmp_path / "exp"
    gan_tts_train.main(["--config", str(joint_config(tmp_path)), "--output_dir", str(out), *data_args(corpus)])
    config = yaml.safe_load((out / "config.yaml").read_text())
    # the vocoder's frame settings were taken from the features
    assert config["tts_conf"]["vocoder_params"]["in_channels"] == TINY_MEL["n_mels"]
    assert config["tts_conf"]["vocoder_params"]["hop_length"] == HOP
    state = torch.load(out / "1epoch.pth", weights_only=False)
    assert any(k.startswith("tts.generator.vocoder.backbone.convnext.0.lif1") for k in state)
    synthesize(corpus, out / "config.yaml", out / "1epoch.pth", tmp_path / "decode")


def test_gan_tts_refuses_vocoder_that_contradicts_features(corpus, tmp_path):
    with pytest.raises(ValueError, match=r"tts_conf.vocoder_params.in_channels=80 contradicts the features' n_mels=16"):
        gan_tts_train.main(
            ["--config", str(joint_config(tmp_path, in_channels=80)), "--output_dir", str(tmp_path / "exp"), *data_args(corpus)]
        )


@pytest.fixture(scope="module", params=[None, "global_mvn"])
def trained_pair(request, corpus, tmp_path_factory):
    """A tiny Tacotron 2 (TTSTask; raw or global-MVN-normalised targets) and a tiny
    Spiking Vocos (GANVocoderTask), trained separately."""
    exp = tmp_path_factory.mktemp("pair")
    tts_conf = dict(COMMON, tts="tacotron2", tts_conf=TINY_TACOTRON2, optim="adam", optim_conf=dict(lr=1e-3))
    (exp / "tts.yaml").write_text(yaml.safe_dump(tts_conf))
    tts_cmd = ["--config", str(exp / "tts.yaml"), *data_args(corpus)]
    if request.param == "global_mvn":
        tts_train.main([*tts_cmd, "--collect_stats", "true", "--output_dir", str(exp / "tts_stats")])
        stats = exp / "tts_stats/train/feats_stats.npz"
        tts_cmd += ["--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats}"]
    tts_train.main([*tts_cmd, "--output_dir", str(exp / "tts")])

    _, scp, _, _ = corpus
    voc_conf = dict(TINY_TRAIN, generator="spiking_vocos")
    (exp / "voc.yaml").write_text(yaml.safe_dump(voc_conf))
    gan_vocoder_train.main(
        ["--config", str(exp / "voc.yaml"), "--output_dir", str(exp / "voc"), "--ngpu", "0",
         "--train_data_path_and_name_and_type", f"{scp},speech,sound", "--train_shape_file", str(scp),
         "--valid_data_path_and_name_and_type", f"{scp},speech,sound", "--valid_shape_file", str(scp)]
    )  # fmt: skip
    return exp


def test_make_joint_text2wav_then_tts_inference(corpus, trained_pair, tmp_path):
    exp = trained_pair
    config, model = make_joint_text2wav.make_joint_text2wav(
        tts_train_config=exp / "tts/config.yaml",
        tts_model_file=exp / "tts/1epoch.pth",
        vocoder_model_file=exp / "voc/1epoch.pth",
        output_dir=tmp_path / "joint",
    )
    joint = yaml.safe_load(config.read_text())
    assert joint["tts"] == "joint_text2wav" and joint["tts_conf"]["vocoder_type"] == "spiking_vocos"
    # the joint model holds exactly the separately trained weights
    state = torch.load(model, weights_only=False)
    vocoder_state = torch.load(exp / "voc/1epoch.pth", weights_only=False)
    assert torch.equal(state["tts.generator.vocoder.head.out.weight"], vocoder_state["generator.head.out.weight"])
    tts = torch.load(exp / "tts/1epoch.pth", weights_only=False)
    assert torch.equal(state["tts.generator.text2mel.enc.embed.weight"], tts["tts.enc.embed.weight"])

    out = tmp_path / "decode"
    synthesize(corpus, config, model, out)
    # the joint waveform is the vocoder's decoding of the text-to-mel output in raw
    # log-mel units: a normalising text-to-mel model's output is denormalised first
    feats_dir = "denorm" if joint.get("normalize") == "global_mvn" else "norm"
    vocoder = Vocoder(exp / "voc/1epoch.pth")
    for utt in ("a", "b"):
        mel = np.load(out / feats_dir / f"{utt}.npy")
        wav, _ = soundfile.read(out / "wav" / f"{utt}.wav", dtype="float32")
        expected = vocoder.decode(mel).clamp(-1, 32767 / 32768).numpy()
        assert np.allclose(wav, expected, atol=2 / 32768), utt  # PCM_16 rounding


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(n_mels=20), r"n_mels: text-to-mel 20 vs vocoder 16"),
        (dict(hop_length=32), r"n_shift: text-to-mel 32 vs vocoder 16"),
        (dict(fs=16000), r"fs: text-to-mel 16000 vs vocoder 8000"),
    ],
)
def test_make_joint_refuses_mismatched_features(trained_pair, tmp_path, change, message):
    exp = trained_pair
    config = yaml.safe_load((exp / "tts/config.yaml").read_text())
    config["feats_extract_conf"] = dict(config["feats_extract_conf"], **change)
    (tmp_path / "tts.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match=message):
        make_joint_text2wav.make_joint_text2wav(
            tts_train_config=tmp_path / "tts.yaml",
            tts_model_file=exp / "tts/1epoch.pth",
            vocoder_model_file=exp / "voc/1epoch.pth",
            output_dir=tmp_path / "joint",
        )
    assert not (tmp_path / "joint").exists()


def test_tts_inference_with_a_separately_trained_vocoder_file(corpus, trained_pair, tmp_path):
    """ESPnet's way to attach a vocoder: --vocoder_file (config.yaml beside it) and the check."""
    exp = trained_pair
    _, _, text, _ = corpus
    out = tmp_path / "decode"
    tts_inference.main(
        ["--train_config", str(exp / "tts/config.yaml"), "--model_file", str(exp / "tts/1epoch.pth"),
         "--vocoder_file", str(exp / "voc/1epoch.pth"), "--output_dir", str(out),
         "--data_path_and_name_and_type", f"{text},text,text", "--maxlenratio", "3"]
    )  # fmt: skip
    vocoder = Vocoder.from_pretrained(exp / "voc/1epoch.pth")
    feats_dir = "denorm" if (out / "denorm").is_dir() else "norm"
    for utt in ("a", "b"):
        mel = np.load(out / feats_dir / f"{utt}.npy")
        wav, fs = soundfile.read(out / "wav" / f"{utt}.wav", dtype="float32")
        assert fs == FS
        expected = vocoder.decode(mel).clamp(-1, 32767 / 32768).numpy()
        assert np.allclose(wav, expected, atol=2 / 32768), utt

    config = yaml.safe_load((exp / "voc/config.yaml").read_text())
    config["feats_extract_conf"] = dict(config["feats_extract_conf"], fs=16000)
    (tmp_path / "voc.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match=r"fs: text-to-mel 8000 vs vocoder 16000"):
        tts_inference.main(
            ["--train_config", str(exp / "tts/config.yaml"), "--model_file", str(exp / "tts/1epoch.pth"),
             "--vocoder_file", str(exp / "voc/1epoch.pth"), "--vocoder_config", str(tmp_path / "voc.yaml"),
             "--output_dir", str(tmp_path / "refused"), "--data_path_and_name_and_type", f"{text},text,text"]
        )  # fmt: skip
