"""The GAN vocoder task through its real entry point, on a data directory written here."""


import kaldiio
import numpy as np
import pytest
import soundfile
import torch

from espnet2_spiking.bin import gan_vocoder_inference, gan_vocoder_train
from espnet2_spiking.layers.mel import VocosLogMel
from espnet2_spiking.vocoder import Vocoder
from tests.conftest import TINY_MEL, write_wav_scp
from tests.helpers import FS, train_cmd, write_config

HOP = TINY_MEL["hop_length"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    # one clip shorter than the training segment (1024 samples): padded, not a crash
    train = write_wav_scp(root / "train", FS, {"utt1": 0.5, "utt2": 0.3, "short": 0.05})
    dev = write_wav_scp(root / "dev", FS, {"dev1": 0.25})
    return root, train, dev


@pytest.fixture(scope="module")
def teacher(data, tmp_path_factory):
    exp = tmp_path_factory.mktemp("exp")
    gan_vocoder_train.main(train_cmd(data, write_config(exp / "vocos.yaml", "vocos"), exp / "vocos"))
    return exp / "vocos"


def test_collect_stats_writes_shapes(data, tmp_path):
    config = write_config(tmp_path / "conf.yaml", "vocos")
    gan_vocoder_train.main(train_cmd(data, config, tmp_path / "stats", "--collect_stats", "true"))
    shapes = dict(line.split() for line in (tmp_path / "stats/train/speech_shape").read_text().splitlines())
    assert shapes == {"utt1": str(FS // 2), "utt2": str(int(FS * 0.3)), "short": str(int(FS * 0.05))}
    assert (tmp_path / "stats/valid/speech_shape").is_file()


def test_teacher_run_leaves_checkpoints(teacher):
    assert (teacher / "config.yaml").is_file()
    assert (teacher / "1epoch.pth").is_file()
    assert (teacher / "valid.mel_loss.best.pth").exists()
    state = torch.load(teacher / "1epoch.pth", weights_only=False)
    assert any(k.startswith("generator.backbone.") for k in state)
    assert any(k.startswith("discriminator.") for k in state)


@pytest.mark.parametrize("variant", ["standard", "tsm", "distill", "tsm_distill"])
def test_student_variants_train(variant, data, teacher, tmp_path):
    extra = ["--teacher_model_file", str(teacher / "valid.mel_loss.best.pth")] if "distill" in variant else []
    out = tmp_path / variant
    gan_vocoder_train.main(train_cmd(data, write_config(tmp_path / "conf.yaml", variant), out, *extra))
    state = torch.load(out / "1epoch.pth", weights_only=False)
    assert any(".lif1.w" in k for k in state if k.startswith("generator."))
    assert any(k.endswith("tsm.alpha") for k in state) == ("tsm" in variant)
    if "distill" in variant:
        # the frozen teacher inside the student's checkpoint is the teacher, bit for bit
        teacher_state = torch.load(teacher / "valid.mel_loss.best.pth", weights_only=False)
        copied = {k[len("distillation.teacher.") :]: v for k, v in state.items() if k.startswith("distillation.teacher.")}
        originals = {k[len("generator.") :]: v for k, v in teacher_state.items() if k.startswith("generator.")}
        assert copied.keys() == originals.keys()
        assert all(torch.equal(copied[k], originals[k]) for k in originals)
        assert not any("adapter" in k for k in state if k.startswith("generator."))


def test_resume_continues_from_saved_epoch(data, tmp_path):
    config = write_config(tmp_path / "conf.yaml", "standard")
    out = tmp_path / "exp"
    gan_vocoder_train.main(train_cmd(data, config, out, "--max_epoch", "1"))
    first = (out / "1epoch.pth").stat().st_mtime_ns
    gan_vocoder_train.main(train_cmd(data, config, out, "--max_epoch", "2", "--resume", "true"))
    assert (out / "2epoch.pth").is_file()
    assert (out / "1epoch.pth").stat().st_mtime_ns == first  # epoch 1 was not trained again
    assert torch.load(out / "checkpoint.pth", weights_only=False)["reporter"]["epoch"] == 2


def test_distill_without_teacher_says_what_to_pass(data, tmp_path):
    config = write_config(tmp_path / "conf.yaml", "distill")
    with pytest.raises(ValueError, match="--teacher_model_file"):
        gan_vocoder_train.main(train_cmd(data, config, tmp_path / "exp"))


def test_generator_contradicting_features_is_refused(data, tmp_path):
    config = write_config(tmp_path / "conf.yaml", "vocos")
    with pytest.raises(ValueError, match=r"generator_conf.in_channels=80 contradicts the features' n_mels=16"):
        gan_vocoder_train.main(train_cmd(data, config, tmp_path / "exp", "--generator_conf", "in_channels=80"))


@pytest.mark.parametrize(
    "problem, message",
    [
        ("rate", r"bad\.wav \(bad\) is sampled at 16000 Hz, but the features are configured for fs=8000"),
        ("stereo", r"bad\.wav \(bad\) has 2 channels; the vocoder needs mono"),
        ("missing", r"audio file of bad does not exist: .*bad\.wav"),
        ("corrupt", r"cannot read the audio file of bad: .*bad\.wav"),
    ],
)
def test_bad_audio_is_named_before_training(problem, message, data, tmp_path):
    root, _, dev = data
    bad_dir = tmp_path / "bad"
    if problem == "rate":
        scp = write_wav_scp(bad_dir, 16000, {"bad": 0.2})
    elif problem == "stereo":
        scp = write_wav_scp(bad_dir, FS, {"bad": 0.2}, channels=2)
    else:
        bad_dir.mkdir()
        if problem == "corrupt":
            (bad_dir / "bad.wav").write_bytes(b"not a wav file at all")
        scp = bad_dir / "wav.scp"
        scp.write_text(f"bad {bad_dir / 'bad.wav'}\n")
    config = write_config(tmp_path / "conf.yaml", "vocos")
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        gan_vocoder_train.main(train_cmd((root, scp, dev), config, tmp_path / "exp"))
    assert not (tmp_path / "exp" / "1epoch.pth").exists()


def test_vocoder_api(teacher, data):
    vocoder = Vocoder.from_pretrained(teacher / "valid.mel_loss.best.pth")
    assert vocoder.fs == FS and vocoder.generator_type == "vocos"
    speech, _ = soundfile.read(data[1].parent / "utt1.wav", dtype="float32")
    assert vocoder.copy_synthesis(speech).shape == speech.shape
    mel = VocosLogMel(**TINY_MEL).mel(torch.from_numpy(speech)[None])[0].T
    assert vocoder.decode(mel).shape == (mel.shape[0] * HOP,)
    with pytest.raises(ValueError, match="mono"):
        vocoder.copy_synthesis(np.zeros((100, 2), dtype=np.float32))


def test_vocoder_api_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.pth does not exist. Train the model first"):
        Vocoder(tmp_path / "nope.pth")


def test_inference_cli_from_wav_and_from_feats(teacher, data, tmp_path):
    _, train, _ = data
    model = str(teacher / "valid.mel_loss.best.pth")
    gan_vocoder_inference.main(
        ["--model_file", model, "--data_path_and_name_and_type", f"{train},speech,sound", "--output_dir", str(tmp_path / "wav_in")]
    )
    scp = dict(line.split() for line in (tmp_path / "wav_in/wav.scp").read_text().splitlines())
    assert set(scp) == {"utt1", "utt2", "short"}
    out, fs = soundfile.read(scp["utt1"])
    assert fs == FS and out.shape == (FS // 2,)

    feats = VocosLogMel(**TINY_MEL)
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/feats.ark,{tmp_path}/feats.scp") as writer:
        speech, _ = soundfile.read(train.parent / "utt2.wav", dtype="float32")
        mel = feats.mel(torch.from_numpy(speech)[None])[0].T.numpy()
        writer("utt2", mel)
    gan_vocoder_inference.main(
        ["--model_file", model, "--data_path_and_name_and_type", f"{tmp_path}/feats.scp,feats,kaldi_ark", "--output_dir", str(tmp_path / "mel_in")]
    )
    out, _ = soundfile.read(tmp_path / "mel_in/wav/utt2.wav")
    assert out.shape == (mel.shape[0] * HOP,)


def test_fine_tuning_from_a_checkpoint_on_teacher_forced_feats(data, teacher, tmp_path):
    """Stage 7's training: from the teacher's weights, on (feats, speech) pairs, feats written
    as tts_inference writes them (npy scp); stand-in mels: the audio's own, slightly off."""
    from espnet2.fileio.npy_scp import NpyScpWriter
    from espnet2.fileio.sound_scp import SoundScpReader

    mel = VocosLogMel(**TINY_MEL)
    scps = {}
    for name, wav_scp in (("train", data[1]), ("dev", data[2])):
        scps[name] = tmp_path / name / "feats.scp"
        with NpyScpWriter(tmp_path / name, scps[name]) as writer:
            for utt, (_, wav) in SoundScpReader(str(wav_scp), dtype="float32").items():
                writer[utt] = (mel.mel(torch.from_numpy(wav)).T + 0.1).numpy()  # (frames, n_mels)
    out = tmp_path / "ft"
    command = train_cmd(data, write_config(tmp_path / "conf.yaml", "vocos"), out,
        "--init_param", str(teacher / "valid.mel_loss.best.pth"),
        "--model_conf", "random_gain_db=null",
        "--train_data_path_and_name_and_type", f"{scps['train']},feats,npy",
        "--valid_data_path_and_name_and_type", f"{scps['dev']},feats,npy",
    )  # fmt: skip
    gan_vocoder_train.main(command)
    before = torch.load(teacher / "valid.mel_loss.best.pth", weights_only=True)
    after = torch.load(out / "valid.mel_loss.best.pth", weights_only=True)
    generator = [k for k in before if k.startswith("generator.")]
    assert generator and any(not torch.equal(before[k], after[k]) for k in generator)
    assert int(after["num_train_steps"]) == int(before["num_train_steps"]) + 1  # continued, not restarted
