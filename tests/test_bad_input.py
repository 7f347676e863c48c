"""Bad audio and bad lists, each through its entry point: the message names the utterance and the
file, at the first place the problem can be seen, and nothing already written changes."""

import errno
import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile
import torch

from espnet2_spiking.bin import evaluate, format_wav_scp, gan_vocoder_inference, gan_vocoder_train
from espnet2_spiking.metrics.signals import harmonic_glide
from espnet2_spiking.utils import audio as audio_lib
from tests.conftest import harmonic_tone, write_wav_scp
from tests.helpers_untrusted import run_holding, save_vocoder, snapshot
from tests.helpers import FS, train_cmd, write_config

RECIPE = Path(__file__).parents[1] / "egs2" / "libritts" / "voc1"


def data_dir(root: Path, audio: dict, subtype: str = "FLOAT") -> Path:
    """data/<set>/wav.scp of float WAV files: ``{utt_id: samples}``."""
    root.mkdir(parents=True)
    for utt, samples in audio.items():
        soundfile.write(root / f"{utt}.wav", samples, FS, subtype=subtype)
    (root / "wav.scp").write_text("".join(f"{utt} {root / utt}.wav\n" for utt in audio))
    return root


def format_cmd(in_dir, out_dir):
    return ["--fs", str(FS), "--in_dir", str(in_dir), "--out_dir", str(out_dir)]


def test_format_names_every_bad_utterance_formats_the_rest_and_writes_no_wav_scp(tmp_path):
    nan, inf = harmonic_tone(FS, 0.3), harmonic_tone(FS, 0.3)
    nan[100], inf[5] = np.nan, np.inf
    in_dir = data_dir(tmp_path / "data", {"nan": nan, "good": harmonic_tone(FS, 0.3), "inf": inf})
    with pytest.raises(SystemExit) as error:
        format_wav_scp.main(format_cmd(in_dir, tmp_path / "dump"))
    message = str(error.value)
    assert "2 of 3 utterances of" in message and "wav.scp was not written" in message
    assert f"the audio of nan ({in_dir / 'nan.wav'}) has 1 NaN or infinite samples" in message
    assert f"the audio of inf ({in_dir / 'inf.wav'}) has 1 NaN or infinite samples" in message
    assert not (tmp_path / "dump" / "wav.scp").exists()
    assert "the audio of good" not in message
    # the good clip needs no change (mono, at fs, wav): it is not copied, and nothing is half-written
    assert list((tmp_path / "dump" / "wav").iterdir()) == []


def test_format_scales_audio_above_full_scale_with_a_warning(tmp_path, caplog):
    loud = 1.6 * harmonic_tone(FS, 0.3) / np.abs(harmonic_tone(FS, 0.3)).max()
    in_dir = data_dir(tmp_path / "data", {"loud": loud})
    with caplog.at_level(logging.WARNING):
        format_wav_scp.main(format_cmd(in_dir, tmp_path / "dump"))
    assert f"loud: peak 1.600 is above full scale in {in_dir / 'loud.wav'}" in caplog.text
    written, _ = soundfile.read(tmp_path / "dump" / "wav" / "loud.wav")
    np.testing.assert_allclose(written, loud / 1.6, atol=1e-4)  # scaled, not clipped


@pytest.mark.parametrize(
    "scp, message",
    [
        ("a {wav}\nb {wav}\na {wav}\n", "a is duplicated .*wav.scp:3.*Remove or rename"),
        ("../escape {wav}\n", "utterance id '../escape' cannot be used as a file name"),
        ("a {wav}\n\nb {wav}\n", "has a blank line"),
    ],
)
def test_format_refuses_bad_lists_before_writing(scp, message, tmp_path):
    in_dir = data_dir(tmp_path / "data", {"x": harmonic_tone(FS, 0.3)})
    (in_dir / "wav.scp").write_text(scp.format(wav=in_dir / "x.wav"))
    with pytest.raises(SystemExit, match=message):
        format_wav_scp.main(format_cmd(in_dir, tmp_path / "dump"))
    assert not (tmp_path / "dump").exists()


def test_training_refuses_a_dev_clip_shorter_than_the_fft(tmp_path):
    train = write_wav_scp(tmp_path / "train", FS, {"utt1": 0.5})
    dev = write_wav_scp(tmp_path / "dev", FS, {"dev1": 0.25, "tiny": 40 / FS})  # n_fft is 64
    config = write_config(tmp_path / "conf.yaml", "vocos")
    with pytest.raises(
        ValueError, match=f"{tmp_path / 'dev' / 'tiny.wav'} \\(tiny\\) has 40 samples, fewer than the 64"
    ):
        gan_vocoder_train.main(train_cmd((tmp_path, train, dev), config, tmp_path / "exp"))
    assert not (tmp_path / "exp").exists()


def decode_cmd(model, scp, out):
    return [
        "--model_file",
        str(model),
        "--data_path_and_name_and_type",
        f"{scp},speech,sound",
        "--output_dir",
        str(out),
    ]


def test_decoding_refuses_non_finite_output_and_removes_the_earlier_list(tmp_path):
    model = save_vocoder(tmp_path / "exp")
    scp = write_wav_scp(tmp_path / "test", FS, {"utt1": 0.2, "utt2": 0.2})
    gan_vocoder_inference.main(decode_cmd(model, scp, tmp_path / "decode"))
    before = snapshot(tmp_path / "decode")
    state = torch.load(model)
    state["generator.head.out.bias"][:] = float("nan")
    torch.save(state, model)
    with pytest.raises(ValueError, match="2 of 2 utterances could not be decoded") as error:
        gan_vocoder_inference.main(decode_cmd(model, scp, tmp_path / "decode"))
    for utt in ("utt1", "utt2"):
        assert f"{utt} (from {scp}): the generated audio has 1600 NaN or infinite samples" in str(error.value)
    # no wav.scp that lists the earlier model's files beside this run's; those files are untouched
    del before["wav.scp"]
    assert snapshot(tmp_path / "decode") == before


def test_decoding_refuses_keys_that_are_not_file_names(tmp_path):
    model = save_vocoder(tmp_path / "exp")
    scp = write_wav_scp(tmp_path / "test", FS, {"utt1": 0.2})
    scp.write_text(f"../../outside {tmp_path / 'test' / 'utt1.wav'}\n")
    with pytest.raises(ValueError, match="utterance id '../../outside' cannot be used as a file name"):
        gan_vocoder_inference.main(decode_cmd(model, scp, tmp_path / "decode"))
    assert not (tmp_path / "decode").exists()


def test_evaluation_skips_bad_utterances_and_scores_the_rest(tmp_path, caplog):
    fs = 16000
    ref = harmonic_glide(fs, 1.5)
    for name, audio in dict(ref=ref, good=ref, silent=np.zeros_like(ref)).items():
        soundfile.write(tmp_path / f"{name}.wav", audio, fs)
    (tmp_path / "ref.scp").write_text("".join(f"{u} {tmp_path}/ref.wav\n" for u in ("u1", "u2", "u3")))
    (tmp_path / "gen.scp").write_text(
        f"u1 {tmp_path}/good.wav\nu2 {tmp_path}/silent.wav\nu3 {tmp_path}/gone.wav\n"
    )
    cmd = ["--ref_scp", str(tmp_path / "ref.scp"), "--gen_scp", str(tmp_path / "gen.scp"), "--out_dir",
           str(tmp_path / "eval"), "--crepe_model", "tiny", "--pitch_cache_dir", str(tmp_path / "cache")]  # fmt: skip
    with caplog.at_level(logging.WARNING):
        evaluate.main(cmd)
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["num_utts"] == 1 and metrics["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert set(metrics["skipped_utts"]) == {"u2", "u3"}
    assert f"{tmp_path}/silent.wav is silent" in metrics["skipped_utts"]["u2"]
    assert f"{tmp_path}/gone.wav does not exist" in metrics["skipped_utts"]["u3"]
    assert f"skipped utterance u2 of {tmp_path / 'gen.scp'}" in caplog.text


def run_recipe(tmp_path, *args):
    """voc.sh in a fresh recipe folder (the corpus recipe's path.sh, cmd.sh and helpers)."""
    for name in ("path.sh", "cmd.sh", "utils", "voc.sh"):
        if not (tmp_path / name).exists():
            os.symlink(RECIPE / name, tmp_path / name)
    cmd = ["./voc.sh", "--train_set", "tr", "--dev_set", "dv", "--test_sets", "ts", "--teacher_config", "t.yaml",
           "--student_config", "s.yaml", *args]  # fmt: skip
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--stage", "9"], "Error: --stage 9: the stages are 1-8"),
        (["--stop_stage", "0"], "Error: --stop_stage 0: the stages are 1-8"),
        (
            ["--stage", "3"],
            "Error: stage 3 needs dump/raw/tr/wav.scp, which does not exist: run stage 2 first",
        ),
        (["--stage", "2"], "Error: stage 2 needs data/tr/wav.scp, which does not exist: run stage 1 first"),
        (["--stage", "6"], "Error: stage 6 needs dump/raw/ts/text, which does not exist: run stage 2 first"),
    ],
)
def test_recipe_names_the_stage_to_run_first(args, message, tmp_path):
    out = run_recipe(tmp_path, *args)
    assert out.returncode != 0
    assert message in out.stdout + out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmd.sh", "path.sh", "utils", "voc.sh"]


def test_recipe_names_a_set_name_with_a_space(tmp_path):
    for name in ("tr", "dv", "my test"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "wav.scp").write_text("")
    out = run_recipe(tmp_path, "--stage", "2", "--stop_stage", "2", "--test_sets", "my test")
    assert out.returncode != 0
    assert "'data/my test' has a space in its name, but set names cannot hold spaces" in out.stdout + out.stderr
    assert "mv 'data/my test' 'data/my_test'" in out.stdout + out.stderr


def test_recipe_stage_5_needs_the_trained_student(tmp_path):
    for name in ("wav.scp", "feats.scp"):
        (tmp_path / "dump" / "raw" / "ts").mkdir(parents=True, exist_ok=True)
        (tmp_path / "dump" / "raw" / "ts" / name).write_text("")
    (tmp_path / "exp" / "voc_t").mkdir(parents=True)
    (tmp_path / "exp" / "voc_t" / "valid.mel_loss.best.pth").write_text("")
    out = run_recipe(tmp_path, "--stage", "5")
    assert "needs exp/voc_s/valid.mel_loss.best.pth, which does not exist: run stage 4 first" in out.stdout


@pytest.mark.parametrize("samples", [1, 10, 32])
def test_decoding_refuses_clips_shorter_than_the_model_needs_before_writing(samples, tmp_path):
    model = save_vocoder(tmp_path / "exp")  # n_fft 64: the log-mel needs 33 samples
    scp = write_wav_scp(tmp_path / "test", FS, {"utt1": 0.2, "tiny": samples / FS})
    with pytest.raises(ValueError, match=f"{tmp_path / 'test' / 'tiny.wav'} \\(tiny\\) has {samples} samples, fewer than the 33"):
        gan_vocoder_inference.main(decode_cmd(model, scp, tmp_path / "decode"))
    assert not (tmp_path / "decode").exists()


def write_feats(directory: Path, feats: dict) -> Path:
    """feats.ark/feats.scp of ``{utt_id: (frames, n_mels) array}``."""
    directory.mkdir(parents=True)
    with kaldiio.WriteHelper(f"ark,scp:{directory / 'feats.ark'},{directory / 'feats.scp'}") as writer:
        for utt, mel in feats.items():
            writer(utt, mel.astype(np.float32))
    return directory / "feats.scp"


def test_decoding_names_a_bad_utterance_and_file_and_finishes_the_rest(tmp_path):
    model = save_vocoder(tmp_path / "exp")
    nan = np.random.default_rng(0).standard_normal((20, 16))
    nan[3, 5] = np.nan
    scp = write_feats(tmp_path / "feats", {"good1": np.zeros((20, 16)), "nan": nan, "good2": np.ones((9, 16))})
    cmd = ["--model_file", str(model), "--data_path_and_name_and_type", f"{scp},feats,kaldi_ark",
           "--output_dir", str(tmp_path / "decode")]  # fmt: skip
    with pytest.raises(ValueError, match="1 of 3 utterances could not be decoded") as error:
        gan_vocoder_inference.main(cmd)
    assert f"nan (from {scp}): VocosGenerator got a log-mel with 1 NaN or infinite values" in str(error.value)
    assert sorted(p.name for p in (tmp_path / "decode").iterdir()) == ["wav"]  # no wav.scp, no .lock
    assert sorted(p.name for p in (tmp_path / "decode" / "wav").iterdir()) == ["good1.wav", "good2.wav"]


def test_a_full_disk_while_decoding_leaves_no_truncated_file(tmp_path, monkeypatch):
    model = save_vocoder(tmp_path / "exp")
    scp = write_wav_scp(tmp_path / "test", FS, {"utt1": 0.2})

    def write_half_then_fail(path, audio, fs, subtype, format):
        Path(path).write_bytes(b"RIFF" + bytes(100))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(audio_lib.soundfile, "write", write_half_then_fail)
    out = tmp_path / "decode" / "wav" / "utt1.wav"
    with pytest.raises(OSError, match=f"cannot write {out}: No space left on device; nothing was written there. Fix: free disk space"):
        gan_vocoder_inference.main(decode_cmd(model, scp, tmp_path / "decode"))
    assert list((tmp_path / "decode" / "wav").iterdir()) == []


def test_a_second_decoding_into_the_same_folder_is_refused(tmp_path):
    model = save_vocoder(tmp_path / "exp")
    scp = write_wav_scp(tmp_path / "test", FS, {"utt1": 0.2})
    with run_holding(tmp_path / "decode"), pytest.raises(RuntimeError, match="is being written by another gan_vocoder_inference run \\(.*otherhost 12345\\)"):
        gan_vocoder_inference.main(decode_cmd(model, scp, tmp_path / "decode"))
    assert [p.name for p in (tmp_path / "decode").iterdir()] == [".lock"]


@pytest.mark.parametrize("name, kind", [("speech", "sound"), ("feats", "kaldi_ark")])
def test_decoding_refuses_shell_commands_in_its_lists(name, kind, tmp_path):
    model = save_vocoder(tmp_path / "exp")
    wav = write_wav_scp(tmp_path / "test", FS, {"utt1": 0.2}).parent / "utt1.wav"
    scp = tmp_path / "list.scp"
    scp.write_text(f"utt1 touch {tmp_path / 'ran'}; cat {wav} |\n")
    cmd = ["--model_file", str(model), "--data_path_and_name_and_type", f"{scp},{name},{kind}",
           "--output_dir", str(tmp_path / "decode")]  # fmt: skip
    with pytest.raises(ValueError, match=f"{scp}: the .* of utt1 is a shell command .*format_wav_scp"):
        gan_vocoder_inference.main(cmd)
    assert not (tmp_path / "ran").exists() and not (tmp_path / "decode").exists()
    if kind == "kaldi_ark":  # a list you trust: kaldiio runs it
        kaldiio.save_mat(str(tmp_path / "utt1.mat"), np.zeros((9, 16), np.float32))
        scp.write_text(f"utt1 touch {tmp_path / 'ran'}; cat {tmp_path / 'utt1.mat'} |\n")
        gan_vocoder_inference.main([*cmd, "--allow_pipes", "true"])
        assert (tmp_path / "ran").exists() and (tmp_path / "decode" / "wav.scp").exists()


def test_entry_points_start_without_dependency_noise(tmp_path):
    """ESPnet's import of g2p_en tried to download NLTK data (8 error lines offline) and printed a
    Flash Attention notice, at every start of every entry point."""
    out = subprocess.run(
        [sys.executable, "-m", "espnet2_spiking.bin.format_wav_scp", "--in_dir", str(tmp_path / "none"),
         "--out_dir", str(tmp_path / "out"), "--fs", "8000"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.splitlines()[-1] == f"format_wav_scp: {tmp_path / 'none' / 'wav.scp'} does not exist: prepare {tmp_path / 'none'} first (the recipe's stage 1, local/data.sh)."
    assert "nltk" not in out.stderr.lower() and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "entry, args, message",
    [
        ("benchmark", ["--out_dir", "b", "--batch_sizes", "1", "0"], "--batch_sizes: expected a whole number >= 1, got '0'"),
        ("evaluate", ["--ref_scp", "r", "--gen_scp", "g", "--out_dir", "e", "--nj", "-2"], "--nj: expected a whole number >= 1, got '-2'"),
        ("evaluate", ["--ref_scp", "r", "--gen_scp", "g", "--out_dir", "e", "--max_length_diff", "nan"], "--max_length_diff: expected a finite number >= 0, got 'nan'"),
        ("export_onnx", ["--out", "x.onnx", "--opset", "12"], "--opset 12: the vocoder's inverse STFT needs opset 18 or newer"),
        ("format_wav_scp", ["--in_dir", "d", "--out_dir", "o", "--fs", "0"], "--fs must be a positive whole number of Hz, got 0"),
        ("format_wav_scp", ["--in_dir", "d", "--out_dir", "o", "--fs", "8000", "--min_duration", "-1"], "--min_duration must be a number of seconds >= 0, got -1.0"),
        ("format_wav_scp", ["--in_dir", "d", "--out_dir", "o", "--fs", "8000", "--min_duration", "3", "--max_duration", "2"], "--min_duration 3.0 s is above max_duration 2.0 s"),
    ],
)  # fmt: skip
def test_entry_points_refuse_numbers_out_of_range_naming_the_option(entry, args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the relative output paths would be written here
    module = importlib.import_module(f"espnet2_spiking.bin.{entry}")
    with pytest.raises(SystemExit) as exit_:
        module.main(args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
