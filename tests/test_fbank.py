"""Spiking Vocos behind ESPnet TTS models on ESPnet's own ``fbank`` features, through ESPnet's
own entry points (``espnet2.bin.tts_train``, ``tts_inference``, ``gan_tts_train``), started as
``tts.sh`` starts them (:func:`run_espnet`).
"""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile
import torch
import yaml
from espnet2.bin import tts_train as espnet_tts_train
from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank

from espnet2_spiking.bin import gan_vocoder_train
from espnet2_spiking.layers.mel import Fbank, VocosLogMel
from espnet2_spiking.registry import register_tts_tasks
from espnet2_spiking.text2mel import complete_joint_config
from espnet2_spiking.utils.checkpoint import safe_load
from espnet2_spiking.vocoder import Vocoder
from tests.conftest import TINY_DISCRIMINATOR, TINY_TACOTRON2, harmonic_tone
from tests.helpers import (
    ROOT,
    TINY_TRAIN,
    TINY_TTS_TRAIN,
    recipe_env,
    tiny_joint_conf,
    train_cmd,
    tts_data_args,
    write_tts_corpus,
)

FS, N_FFT, HOP, N_MELS = 22050, 1024, 256, 80
FBANK = dict(fs=FS, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)  # ESPnet's LJSpeech setting
TTS = dict(
    TINY_TTS_TRAIN,
    tts="tacotron2",
    tts_conf=TINY_TACOTRON2,
    feats_extract="fbank",
    feats_extract_conf=FBANK,
    optim="adam",
    optim_conf=dict(lr=1e-3),
)
# A stock ESPnet joint_text2wav config (as egs2/ljspeech/tts1/conf/tuning/train_joint_*.yaml),
# tiny, naming the spiking vocoder and nothing of its frames (no in_channels, no hop).
JOINT = dict(
    TTS,
    tts="joint_text2wav",
    tts_conf=tiny_joint_conf(FBANK),
    optim2="adam",
    optim2_conf=dict(lr=1e-4),
)


def run_espnet(module: str, *args):
    """``python -m espnet2.bin.<module> args`` in a new process, exactly as tts.sh starts it:
    no import of the plugin, which ESPnet's TTS modules load themselves (espnet2_spiking_autoload)."""
    command = [sys.executable, "-m", f"espnet2.bin.{module}", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, env=recipe_env(), capture_output=True, text=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_tts_corpus(tmp_path_factory.mktemp("fbank"), FS)


@pytest.fixture(scope="module")
def fbank_vocoder(corpus, tmp_path_factory):
    """A tiny Spiking Vocos trained one step on fbank features by ``gan_vocoder_train``."""
    exp = tmp_path_factory.mktemp("voc")
    _, scp, _, _ = corpus
    conf = dict(
        TINY_TRAIN,
        feats_extract="fbank",
        feats_extract_conf=FBANK,
        generator="spiking_vocos",
        generator_conf=dict(dim=32, intermediate_dim=48, num_layers=2, time_steps=2),
        model_conf=dict(segment_size=4 * HOP, discriminator_params=TINY_DISCRIMINATOR),
    )
    (exp / "voc.yaml").write_text(yaml.safe_dump(conf))
    gan_vocoder_train.main(train_cmd(corpus[:2] + (scp,), exp / "voc.yaml", exp / "voc"))
    return exp / "voc"


def test_spiking_vocoder_trains_on_espnet_fbank(fbank_vocoder, corpus):
    config = yaml.safe_load((fbank_vocoder / "config.yaml").read_text())
    assert config["feats_extract"] == "fbank" and config["feats_extract_conf"] == FBANK
    state = torch.load(fbank_vocoder / "1epoch.pth", weights_only=True)
    # built for the features: 80 mel channels in, a head whose FFT is the features' window
    assert state["generator.backbone.embed.weight"].shape[1] == N_MELS
    assert state["generator.head.out.weight"].shape[0] == N_FFT + 2
    assert any(".lif1." in k for k in state)
    # the mel loss is on Vocos's full-band log-mel, not on the band-limited log10 input
    assert state["loss_feats.mel_spec.mel_scale.fb"].shape == (N_FFT // 2 + 1, 100)
    stats = safe_load(fbank_vocoder / "checkpoint.pth")["reporter"]["stats"]
    assert np.isfinite(stats[1]["valid"]["mel_loss"])

    # it decodes what ESPnet's own LogMelFbank makes of the audio, one hop per frame
    vocoder = Vocoder.from_pretrained(fbank_vocoder / "1epoch.pth")
    assert isinstance(vocoder.feats_extract, Fbank) and vocoder.fs == FS
    speech, _ = soundfile.read(corpus[1].parent / "a.wav", dtype="float32")
    feats, _ = LogMelFbank(**FBANK)(torch.from_numpy(speech)[None])
    assert torch.equal(vocoder.mel(speech)[0].T, feats[0])
    assert vocoder.decode(feats[0]).shape == (feats.shape[1] * HOP,)


@pytest.fixture(scope="module")
def fbank_tts(corpus, tmp_path_factory):
    """A tiny fbank Tacotron 2 (global MVN, as ESPnet's recipes) trained one step by ESPnet's own tts_train."""
    exp = tmp_path_factory.mktemp("tts")
    (exp / "tts.yaml").write_text(yaml.safe_dump(TTS))
    cmd = ["--config", str(exp / "tts.yaml"), *tts_data_args(corpus)]
    espnet_tts_train.main([*cmd, "--collect_stats", "true", "--output_dir", str(exp / "stats")])
    stats = exp / "stats/train/feats_stats.npz"
    cmd += ["--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats}"]
    espnet_tts_train.main([*cmd, "--output_dir", str(exp / "tts")])
    return exp / "tts"


def test_espnet_tts_inference_with_the_fbank_vocoder_file(fbank_tts, fbank_vocoder, corpus, tmp_path):
    _, _, text, _ = corpus
    out = tmp_path / "decode"
    result = run_espnet(
        "tts_inference", "--train_config", fbank_tts / "config.yaml", "--model_file", fbank_tts / "1epoch.pth",
        "--vocoder_file", fbank_vocoder / "1epoch.pth", "--output_dir", out,
        "--data_path_and_name_and_type", f"{text},text,text", "--maxlenratio", "3", "--ngpu", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    vocoder = Vocoder.from_pretrained(fbank_vocoder / "1epoch.pth")
    for utt in ("a", "b"):
        # ESPnet handed the vocoder the denormalised features (ESPnet's convention for --vocoder_file)
        mel = np.load(out / "denorm" / f"{utt}.npy")
        wav, fs = soundfile.read(out / "wav" / f"{utt}.wav", dtype="float32")
        assert fs == FS and wav.shape == (mel.shape[0] * HOP,)
        expected = vocoder.decode(mel).clamp(-1, 32767 / 32768).numpy()
        assert np.allclose(wav, expected, atol=2 / 32768), utt


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(fs=24000), r"fs: text-to-mel 24000 vs vocoder 22050"),
        (dict(n_fft=2048), r"n_fft: text-to-mel 2048 vs vocoder 1024"),
        (dict(hop_length=300), r"hop_length: text-to-mel 300 vs vocoder 256"),
        (dict(win_length=800), r"win_length: text-to-mel 800 vs vocoder 1024"),
        (dict(window="hamming"), r"window: text-to-mel hamming vs vocoder hann"),
        (dict(n_mels=100), r"n_mels: text-to-mel 100 vs vocoder 80"),
        (dict(fmin=0), r"fmin: text-to-mel 0 vs vocoder 80"),
        (dict(fmax=None), r"fmax: text-to-mel None vs vocoder 7600"),
        (dict(log_base=None), r"log_base: text-to-mel None vs vocoder 10.0"),
        (dict(htk=True), r"htk: text-to-mel True vs vocoder False"),
        ("vocos_mel", r"feats_extract: text-to-mel vocos_mel vs vocoder fbank"),
        ("utterance_mvn", r"normalize: UtteranceMVN, which the vocoder cannot undo"),
    ],
)
def test_vocoder_file_with_other_features_is_refused_by_name(fbank_vocoder, change, message):
    """ESPnet's TTSTask.build_vocoder_from_file (tts_inference --vocoder_file) checks every setting."""
    from espnet2.layers.utterance_mvn import UtteranceMVN
    from espnet2.tasks.tts import TTSTask

    register_tts_tasks()
    if change == "vocos_mel":
        model = SimpleNamespace(feats_extract=VocosLogMel(fs=FS, n_mels=N_MELS), normalize=None)
    elif change == "utterance_mvn":
        model = SimpleNamespace(feats_extract=LogMelFbank(**FBANK), normalize=UtteranceMVN())
    else:
        model = SimpleNamespace(feats_extract=LogMelFbank(**dict(FBANK, **change)), normalize=None)
    with pytest.raises(ValueError, match=message):
        TTSTask.build_vocoder_from_file(None, fbank_vocoder / "1epoch.pth", model)


def test_espnet_gan_tts_train_with_a_stock_fbank_joint_config(corpus, tmp_path):
    """ESPnet's own gan_tts_train, a joint_text2wav config with vocoder_type: spiking_vocos and no
    in_channels: the vocoder takes the mel count from the text-to-mel side, as ESPnet's own vocoders."""
    config = tmp_path / "joint.yaml"
    config.write_text(yaml.safe_dump(JOINT))
    out = tmp_path / "exp"
    result = run_espnet("gan_tts_train", "--config", config, "--output_dir", out, *tts_data_args(corpus))
    assert result.returncode == 0, result.stderr[-3000:]
    saved = yaml.safe_load((out / "config.yaml").read_text())["tts_conf"]["vocoder_params"]
    assert (saved["in_channels"], saved["hop_length"], saved["n_fft"]) == (N_MELS, HOP, N_FFT)
    state = torch.load(out / "1epoch.pth", weights_only=True)
    assert state["tts.generator.vocoder.backbone.embed.weight"].shape[1] == N_MELS
    assert any(k.startswith("tts.generator.vocoder.backbone.convnext.0.lif1") for k in state)


@pytest.mark.parametrize(
    "vocoder_params, message",
    [
        (dict(hop_length=300), r"tts_conf.vocoder_params.hop_length=300 contradicts the features' hop_length=256"),
        (dict(in_channels=100), r"tts_conf.vocoder_params.in_channels=100 contradicts the features' n_mels=80"),
    ],
)
def test_joint_config_contradicting_the_features_is_refused(vocoder_params, message):
    from espnet2.tasks.gan_tts import GANTTSTask

    register_tts_tasks()
    args = SimpleNamespace(
        tts="joint_text2wav",
        feats_extract="fbank",
        feats_extract_conf=FBANK,
        tts_conf=dict(JOINT["tts_conf"], vocoder_params=vocoder_params),
    )
    with pytest.raises(ValueError, match=message):
        GANTTSTask.build_model(args)
    with pytest.raises(ValueError, match=r"sampling_rate=24000 contradicts the features' fs=22050"):
        complete_joint_config("fbank", FBANK, dict(JOINT["tts_conf"], sampling_rate=24000))


@pytest.mark.parametrize("kind", ["vocos_mel", "fbank"])
def test_griffin_lim_gives_the_level_of_the_speech(kind):
    """tts_inference without --vocoder_file: Griffin-Lim at the level of the speech the features
    came from (ESPnet's own, on vocos_mel, would be thousands of times too loud)."""
    from espnet2.tasks.tts import TTSTask

    register_tts_tasks()
    features = VocosLogMel(fs=FS, n_mels=N_MELS) if kind == "vocos_mel" else Fbank(**FBANK)
    model = SimpleNamespace(feats_extract=features, normalize=None)
    griffin_lim = TTSTask.build_vocoder_from_file(None, None, model)
    speech = torch.from_numpy(harmonic_tone(FS, 0.5))
    wav = griffin_lim(features.mel(speech).T)
    assert abs(wav.numel() - speech.numel()) <= HOP
    level = wav.pow(2).mean().sqrt() / speech.pow(2).mean().sqrt()
    assert 0.7 < level < 1.4, level
