"""Model files from anyone: loading never runs code in them; truncated, foreign and mismatched
files are refused naming the file; a finished training is never started over by accident."""

import shutil
import subprocess
import sys

import pytest
import torch
import yaml

from espnet2_spiking import text2mel
from espnet2_spiking.bin import gan_vocoder_inference, gan_vocoder_train, make_joint_text2wav, tts_inference
from espnet2_spiking.vocoder import Vocoder
from tests.conftest import write_wav_scp
from tests.helpers_untrusted import save_malicious, save_vocoder, snapshot, vocoder_config
from tests.helpers import FS, train_cmd, write_config


@pytest.fixture
def malicious(tmp_path):
    """exp/evil/{model.pth,config.yaml}: a vocoder config beside a model file that runs code."""
    model = save_vocoder(tmp_path / "evil")
    save_malicious(model, tmp_path / "code_ran")
    return model, tmp_path / "code_ran"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return (
        root,
        write_wav_scp(root / "train", FS, {"utt1": 0.5, "utt2": 0.3}),
        write_wav_scp(root / "dev", FS, {"dev1": 0.25}),
    )


def save_tts(directory):
    """A text-to-mel experiment (config.yaml + model file of tts.* weights) on the tiny vocoder's features."""
    directory.mkdir(parents=True, exist_ok=True)
    mel = vocoder_config()["feats_extract_conf"]
    conf = dict(
        tts="tacotron2", tts_conf={}, feats_extract="vocos_mel", feats_extract_conf=mel, normalize=None
    )
    (directory / "config.yaml").write_text(yaml.safe_dump(conf))
    torch.save({"tts.encoder.embed.weight": torch.zeros(3, 2)}, directory / "model.pth")
    return directory / "model.pth"


ENTRY_POINTS = {
    "Vocoder.from_pretrained": lambda model, tmp: Vocoder.from_pretrained(model),
    "gan_vocoder_inference": lambda model, tmp: gan_vocoder_inference.main(
        ["--model_file", str(model), "--output_dir", str(tmp / "out"),
         "--data_path_and_name_and_type", f"{write_wav_scp(tmp / 'wav', FS, {'u': 0.2})},speech,sound"]
    ),  # fmt: skip
    "make_joint_text2wav vocoder": lambda model, tmp: make_joint_text2wav.main(
        ["--tts_model_file", str(save_tts(tmp / "tts")), "--vocoder_model_file", str(model),
         "--output_dir", str(tmp / "joint")]
    ),  # fmt: skip
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_model_file_that_runs_code_is_refused(entry, malicious, tmp_path):
    model, marker = malicious
    with pytest.raises(ValueError, match=f"Refusing to load {model}: it holds Python objects"):
        ENTRY_POINTS[entry](model, tmp_path)
    assert not marker.exists()
    assert not (tmp_path / "out" / "wav.scp").exists() and not (tmp_path / "joint").exists()
    torch.load(model, weights_only=False)  # the payload is live: loading it the old way runs it
    assert marker.exists()


def test_teacher_model_file_that_runs_code_is_refused(malicious, data, tmp_path):
    model, marker = malicious
    config = write_config(tmp_path / "conf.yaml", "distill")
    with pytest.raises(ValueError, match=f"Refusing to load {model}"):
        gan_vocoder_train.main(train_cmd(data, config, tmp_path / "exp", "--teacher_model_file", str(model)))
    assert not marker.exists()
    assert not list((tmp_path / "exp").glob("*.pth"))


def test_text_to_mel_model_file_that_runs_code_is_refused(malicious, tmp_path):
    model, marker = malicious
    vocoder = save_vocoder(tmp_path / "voc")
    tts = save_tts(tmp_path / "tts").parent
    shutil.copy(model, tts / "model.pth")
    with pytest.raises(ValueError, match=f"Refusing to load {tts / 'model.pth'}"):
        make_joint_text2wav.main(["--tts_model_file", str(tts / "model.pth"), "--vocoder_model_file", str(vocoder),
                                  "--output_dir", str(tmp_path / "joint")])  # fmt: skip
    assert not marker.exists() and not (tmp_path / "joint").exists()


def test_joint_model_file_that_runs_code_is_refused_before_espnet_opens_it(malicious, tmp_path):
    model, marker = malicious
    text = tmp_path / "text"
    text.write_text("utt1 hello\n")
    with pytest.raises(ValueError, match=f"Refusing to load {model}: it holds Python objects"):
        tts_inference.main(["--train_config", str(model.parent / "config.yaml"), "--model_file", str(model),
                            "--data_path_and_name_and_type", f"{text},text,text",
                            "--output_dir", str(tmp_path / "decode")])  # fmt: skip
    assert not marker.exists() and not (tmp_path / "decode").exists()


def test_truncated_model_file_is_refused(tmp_path):
    model = save_vocoder(tmp_path / "exp")
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with pytest.raises(ValueError, match=f"{model} is not a readable PyTorch model file .* truncated"):
        Vocoder.from_pretrained(model)


def test_model_file_of_another_task_is_refused(tmp_path):
    model = save_vocoder(tmp_path / "exp")
    torch.save({"tts.encoder.embed.weight": torch.zeros(3, 2), "tts.decoder.w": torch.zeros(1)}, model)
    with pytest.raises(ValueError, match=f"{model} holds no generator.* weights \\(its weights are tts\\)"):
        Vocoder.from_pretrained(model)
    torch.save([1, 2, 3], model)
    with pytest.raises(ValueError, match=f"{model} holds a list that is not a state dict"):
        Vocoder.from_pretrained(model)


def test_config_of_another_task_is_refused(tmp_path):
    model = save_vocoder(tmp_path / "exp")
    (tmp_path / "exp" / "config.yaml").write_text(
        yaml.safe_dump(dict(tts="tacotron2", feats_extract="fbank"))
    )
    with pytest.raises(ValueError, match="config.yaml is not a config of gan_vocoder_train .*tts_inference"):
        Vocoder.from_pretrained(model)


def test_config_edited_to_another_size_is_refused(tmp_path):
    model = save_vocoder(tmp_path / "exp", dim=32)
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(vocoder_config(dim=48)))
    with pytest.raises(
        ValueError,
        match=f"weights in {model} do not fit the VocosGenerator that {edited} describes .*size mismatch",
    ):
        Vocoder.from_pretrained(model, edited)
    with pytest.raises(ValueError, match=f"weights in {model} do not fit"):
        text2mel.make_joint_text2wav(
            None, save_tts(tmp_path / "tts"), model, tmp_path / "joint", edited
        )
    assert not (tmp_path / "joint").exists()


def edit_config(model, section, **settings):
    """Change settings of the config.yaml beside ``model`` (``None`` removes nothing, it sets null)."""
    config = model.parent / "config.yaml"
    conf = yaml.safe_load(config.read_text())
    conf[section] = dict(conf[section], **settings)
    config.write_text(yaml.safe_dump(conf))
    return config


@pytest.mark.parametrize(
    "generator, section, settings, message",
    [
        ("spiking_vocos", "generator_conf", dict(time_steps=1_000_000),
         r"generator_conf \(time_steps=1000000, dim=32, .*\): decoding 1 s of audio at once would take about "
         r"[\d,.]+ GiB \([\d,]+ MiB per second of audio\), more than this machine's [\d.]+ GiB. Not even one second fits"),
        ("vocos", "generator_conf", dict(dimm=32), r"generator_conf.dimm is not a setting of VocosGenerator. Did you mean dim\?"),
        ("vocos", "generator_conf", dict(num_layers="2"), r"generator_conf.num_layers is '2' \(str\), but it must be int"),
        ("vocos", "generator_conf", dict(dim=-32), r"generator_conf.dim is -32; it must be at least 1"),
        ("vocos", "generator_conf", dict(kernel_size=6), r"generator_conf.kernel_size is 6; it must be odd"),
        ("spiking_vocos", "generator_conf", dict(init_tau=0.5), r"generator_conf.init_tau is 0.5; it must be above 1"),
        ("vocos", "feats_extract_conf", dict(hop_lenght=16), r"feats_extract_conf.hop_lenght is not a setting of VocosLogMel. Did you mean hop_length\?"),
        ("vocos", "feats_extract_conf", dict(n_fft=64.0), r"feats_extract_conf.n_fft is 64.0 \(float\), but it must be int"),
        ("vocos", "feats_extract_conf", dict(hop_length=128), r"feats_extract_conf.hop_length is 128; it must be at most n_fft=64"),
        ("vocos", "feats_extract_conf", dict(n_mels=40), r"feats_extract_conf.n_mels is 40; it must be at most the 33 FFT bins of n_fft=64"),
        ("vocos", "feats_extract_conf", dict(fs=-8000), r"feats_extract_conf.fs is -8000; it must be at least 1"),
        ("vocos", "feats_extract_conf", dict(fmax=6000.0), r"feats_extract_conf.fmax is 6000.0; it must be at most fs / 2 = 4000.0"),
    ],
    ids=["time_steps", "typo", "type", "negative", "even_kernel", "tau", "feats_typo", "feats_type", "n_fft<hop",
         "mels>bins", "negative_fs", "fmax>nyquist"],
)  # fmt: skip
def test_config_that_lies_is_refused_naming_key_and_file(generator, section, settings, message, tmp_path):
    model = save_vocoder(tmp_path / "exp", generator)
    config = edit_config(model, section, **settings)
    with pytest.raises(ValueError, match=f"^{config}: {message}"):
        Vocoder.from_pretrained(model)


def test_training_refuses_a_config_that_lies_before_writing(data, tmp_path):
    config = write_config(tmp_path / "conf.yaml", "vocos")
    conf = yaml.safe_load(config.read_text())
    conf["feats_extract_conf"]["n_mels"] = 100
    config.write_text(yaml.safe_dump(conf))
    with pytest.raises(ValueError, match=f"^{config}: feats_extract_conf.n_mels is 100; it must be at most"):
        gan_vocoder_train.main(train_cmd(data, config, tmp_path / "exp"))
    assert not (tmp_path / "exp").exists()


def test_chunks_longer_than_the_memory_allows_are_refused_with_the_longest_that_fits(tmp_path):
    model = save_vocoder(tmp_path / "exp", "spiking_vocos")
    edit_config(model, "generator_conf", time_steps=500)  # about 0.6 GiB per second of audio at 8 kHz
    with pytest.raises(ValueError, match=r"SpikingVocosGenerator \(time_steps=500, .*\): decoding 1e\+06 s of audio at once .*Decode in chunks of at most \d+ s \(--chunk_seconds\)"):
        Vocoder.from_pretrained(model, chunk_seconds=1e6)


@pytest.mark.parametrize("seconds", [-5.0, float("nan"), float("inf")])
def test_chunk_seconds_out_of_range_is_refused(seconds, tmp_path, capsys):
    model = save_vocoder(tmp_path / "exp")
    with pytest.raises(ValueError, match=f"chunk_seconds must be a finite number of seconds >= 0 .*got {seconds}"):
        Vocoder.from_pretrained(model, chunk_seconds=seconds)
    with pytest.raises(SystemExit):
        gan_vocoder_inference.get_parser().parse_args(
            ["--model_file", "m", "--output_dir", "o", "--data_path_and_name_and_type", "a,b,c", "--chunk_seconds", str(seconds)]
        )  # fmt: skip
    assert f"--chunk_seconds: expected a finite number >= 0, got '{seconds}'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    exp = tmp_path_factory.mktemp("exp")
    gan_vocoder_train.main(train_cmd(data, write_config(exp / "vocos.yaml", "vocos"), exp / "vocos"))
    return exp / "vocos"


def test_resume_file_loads_safely(trained):
    """ESPnet's checkpoint.pth (optimizer states, reporter statistics) loads with weights_only."""
    vocoder = Vocoder.from_pretrained(trained / "checkpoint.pth", trained / "config.yaml")
    best = Vocoder.from_pretrained(trained / "valid.mel_loss.best.pth")
    assert all(torch.equal(a, b) for a, b in zip(vocoder.generator.parameters(), best.generator.parameters()))


def test_training_again_into_a_finished_folder_is_refused(trained, data):
    before = snapshot(trained)
    config = trained.parent / "vocos.yaml"
    with pytest.raises(SystemExit, match=f"{trained} already holds a trained model .*Pass --resume true"):
        gan_vocoder_train.main(train_cmd(data, config, trained))
    assert snapshot(trained) == before


def test_resume_file_that_runs_code_is_refused_before_espnet_opens_it(data, tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    save_malicious(exp / "checkpoint.pth", tmp_path / "code_ran")
    before = snapshot(exp)
    config = write_config(tmp_path / "conf.yaml", "vocos")
    with pytest.raises(ValueError, match=f"Refusing to load {exp / 'checkpoint.pth'}"):
        gan_vocoder_train.main(train_cmd(data, config, exp, "--resume", "true"))
    assert not (tmp_path / "code_ran").exists()
    assert snapshot(exp) == before


def test_training_log_shows_espnet_lines(data, tmp_path):
    """The audio pre-flight must not configure logging before ESPnet does (ESPnet's INFO lines)."""
    config = write_config(tmp_path / "conf.yaml", "vocos")
    cmd = [
        sys.executable,
        "-m",
        "espnet2_spiking.bin.gan_vocoder_train",
        *train_cmd(data, config, tmp_path / "exp"),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "1/1epoch started" in out.stderr and "1epoch results" in out.stderr
