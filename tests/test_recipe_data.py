"""Recipe stages 1-2 (egs2/libritts/voc1): the mini corpus, data preparation, audio
formatting, mel extraction, and the recipe's shell helpers (options, run.pl, slurm.pl)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile
import torch
import torchaudio
import yaml

from espnet2_spiking.bin import extract_mel, format_wav_scp
from espnet2_spiking.layers.mel import Fbank, VocosLogMel, features_from_config
from espnet2_spiking.utils.extract_mel import extract_mel as extract, features_of_configs
from espnet2_spiking.utils.format_data import FormatSettings, format_data_dir
from tests.helpers import RECIPE, TEMPLATE, copy_recipe, needs_synthesizers, read_table, recipe_env, recipe_module

MEL_CONF = dict(fs=8000, n_fft=64, hop_length=16, n_mels=16)
make_mini_corpus = recipe_module("local/make_mini_corpus.py")


def write_config(path: Path, **feats_extract_conf) -> Path:
    path.write_text(yaml.safe_dump(dict(feats_extract="vocos_mel", feats_extract_conf=feats_extract_conf)))
    return path


# ---------------------------------------------------------------- mini corpus


def test_plan_uses_every_sentence_before_repeating_and_splits_by_sentence():
    sentences = [(f"S{i}.", f"s{i}") for i in range(10)]
    voices = ["flite_awb", "flite_rms", "espeak_us"]
    utts = make_mini_corpus.plan(sentences, voices, 25)
    assert [u.normalized for u in utts[:10]] == [f"s{i}" for i in range(10)]
    assert len({u.utt_id for u in utts}) == 25
    # a repeated sentence is spoken by another voice
    assert utts[0].voice != utts[10].voice and utts[10].voice != utts[20].voice
    for u in utts:
        i = int(u.normalized[1:])
        expected = {6: "dev-clean", 7: "test-clean"}.get(i % 8, "train-clean-100")
        assert u.subset == expected
        assert u.utt_id.startswith(make_mini_corpus.VOICES[u.voice].speaker + "_")


def test_read_sentences_keeps_original_and_normalized(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("# comment\nPlain one.\nRoom 12.\tRoom twelve.\n\n")
    assert make_mini_corpus.read_sentences(path) == [
        ("Plain one.", "Plain one."),
        ("Room 12.", "Room twelve."),
    ]
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="holds no sentences"):
        make_mini_corpus.read_sentences(tmp_path / "empty.txt")


def test_missing_synthesizer_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "flite" else "/usr/bin/" + tool)
    with pytest.raises(SystemExit, match="apt-get install flite"):
        make_mini_corpus.check_tools(["espeak_us", "flite_awb"])


@needs_synthesizers
def test_mini_corpus_has_libritts_layout(tmp_path):
    root = tmp_path / "LibriTTS"
    sentences = RECIPE / "local" / "mini_sentences.txt"
    voices = ["festival_slt_hts", "flite_kal", "espeak_gb_f"]
    make_mini_corpus.main(
        [
            "--sentences",
            str(sentences),
            "--num_utts",
            "9",
            "--out_dir",
            str(root),
            "--voices",
            *voices,
            "--fs",
            "24000",
        ]
    )
    wavs = sorted(root.glob("*/*/*/*.wav"))
    assert len(wavs) == 9
    assert {w.relative_to(root).parts[0] for w in wavs} == {"train-clean-100", "dev-clean", "test-clean"}
    for wav in wavs:
        subset, speaker, chapter, name = wav.relative_to(root).parts
        assert name.startswith(f"{speaker}_{chapter}_")
        info = soundfile.info(wav)
        assert (info.samplerate, info.channels, info.subtype) == (24000, 1, "PCM_16")
        assert 0.5 < info.duration < 15
        assert wav.with_suffix(".normalized.txt").read_text().strip()
        assert wav.with_suffix(".original.txt").read_text().strip()
    # sentence 7 ("... 7:45 ...") is a test sentence whose normalized text spells the number
    seven = next(root.glob("test-clean/*/*/*_000007_000000.wav"))
    assert "7:45" in seven.with_suffix(".original.txt").read_text()
    assert "seven forty-five" in seven.with_suffix(".normalized.txt").read_text()
    # a second run keeps the finished utterances
    mtimes = [w.stat().st_mtime_ns for w in wavs]
    make_mini_corpus.main(
        ["--sentences", str(sentences), "--num_utts", "9", "--out_dir", str(root), "--voices", *voices]
    )
    assert [w.stat().st_mtime_ns for w in wavs] == mtimes


@needs_synthesizers
def test_stage1_data_sh_writes_kaldi_data_dirs_and_skips_them_on_rerun(tmp_path):
    recipe = copy_recipe(tmp_path / "voc1")
    command = ["local/data.sh", "--corpus", "mini", "--mini_num_utts", "16", "--nj", "2"]
    out = subprocess.run(command, cwd=recipe, env=recipe_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    sizes = {}
    for name in ("mini_train_clean_100", "mini_dev_clean", "mini_test_clean"):
        data = recipe / "data" / name
        wav_scp, text, utt2spk = (read_table(data / f) for f in ("wav.scp", "text", "utt2spk"))
        assert list(wav_scp) == sorted(wav_scp) and set(text) == set(wav_scp) == set(utt2spk)
        for utt, path in wav_scp.items():
            assert Path(path).is_absolute() and Path(path).is_file()
            assert text[utt] == Path(path).with_suffix(".normalized.txt").read_text().strip()
            assert utt2spk[utt] == utt.split("_")[0]
        spk2utt = read_table(data / "spk2utt")
        assert sorted(u for utts in spk2utt.values() for u in utts.split()) == sorted(wav_scp)
        sizes[name] = len(wav_scp)
    assert sizes == {"mini_train_clean_100": 12, "mini_dev_clean": 2, "mini_test_clean": 2}
    test_text = " ".join(read_table(recipe / "data/mini_test_clean/text").values())
    train_text = " ".join(read_table(recipe / "data/mini_train_clean_100/text").values())
    assert not any(sentence in train_text for sentence in test_text.split(".") if sentence.strip())

    before = (recipe / "data/mini_dev_clean/text").stat().st_mtime_ns
    out = subprocess.run(command, cwd=recipe, env=recipe_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "data/{mini_train_clean_100,mini_dev_clean,mini_test_clean} exist, skipping" in out.stdout
    assert (recipe / "data/mini_dev_clean/text").stat().st_mtime_ns == before

    out = subprocess.run(
        ["local/data.sh", "--corpus", "mini", "--train_set", "train_clean_460"],
        cwd=recipe,
        env=recipe_env(),
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "the mini corpus has only train-clean-100" in out.stdout


def test_stage1_libritts_uses_the_subsets_already_there(tmp_path):
    """No network here: subsets marked complete under ${LIBRITTS} are not downloaded again,
    and train_clean_460 joins train-clean-100 and train-clean-360."""
    recipe = copy_recipe(tmp_path / "voc1")
    root = tmp_path / "corpora" / "LibriTTS"
    for i, subset in enumerate(("train-clean-100", "train-clean-360", "dev-clean", "test-clean")):
        chapter = root / subset / f"{100 + i}" / "7"
        chapter.mkdir(parents=True)
        for j in range(2):
            utt = f"{100 + i}_7_00000{j}_000000"
            soundfile.write(chapter / f"{utt}.wav", np.zeros(2400), 24000)
            (chapter / f"{utt}.normalized.txt").write_text(f"Sentence {j} of {subset}.")
        (root / f".{subset}.complete").touch()
    (recipe / "db.sh").unlink()
    (recipe / "db.sh").write_text(f"LIBRITTS={tmp_path / 'corpora'}\nMINI_LIBRITTS=unused\n")
    out = subprocess.run(
        ["local/data.sh", "--train_set", "train_clean_460", "--data_url", "http://0.0.0.0/nowhere"],
        cwd=recipe,
        env=recipe_env(),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "train-clean-360 is complete, skipping its download" in out.stdout
    train = read_table(recipe / "data" / "train_clean_460" / "text")
    assert train == {
        "100_7_000000_000000": "Sentence 0 of train-clean-100.",
        "100_7_000001_000000": "Sentence 1 of train-clean-100.",
        "101_7_000000_000000": "Sentence 0 of train-clean-360.",
        "101_7_000001_000000": "Sentence 1 of train-clean-360.",
    }
    assert read_table(recipe / "data" / "train_clean_460" / "spk2utt")["101"] == (
        "101_7_000000_000000 101_7_000001_000000"
    )
    assert len(read_table(recipe / "data" / "test_clean" / "wav.scp")) == 2


def test_stage1_libritts_r_layout_and_train_all(tmp_path):
    """LibriTTS-R unpacks its tarballs (train_clean_100.tar.gz, ...) to LibriTTS_R/<subset>;
    subsets unpacked there before (no tarball beside them) are used without a download, and
    train_all joins train-clean-100, train-clean-360 and train-other-500."""
    recipe = copy_recipe(tmp_path / "voc1")
    root = tmp_path / "corpora" / "LibriTTS_R"
    subsets = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "test-clean")
    for i, subset in enumerate(subsets):
        chapter = root / subset / f"{100 + i}" / "7"
        chapter.mkdir(parents=True)
        utt = f"{100 + i}_7_000000_000000"
        soundfile.write(chapter / f"{utt}.wav", np.zeros(2400), 24000)
        (chapter / f"{utt}.normalized.txt").write_text(f"Sentence of {subset}.")
    (recipe / "db.sh").unlink()
    (recipe / "db.sh").write_text(f"LIBRITTS=unused\nLIBRITTS_R={tmp_path / 'corpora'}\nMINI_LIBRITTS=unused\n")
    command = ["local/data.sh", "--corpus", "libritts_r", "--train_set", "train_all", "--data_url", "http://0.0.0.0/x"]
    out = subprocess.run(command, cwd=recipe, env=recipe_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "LibriTTS_R/train-other-500 is there (unpacked before), using it as it is" in out.stdout
    assert "Downloading" not in out.stdout
    train = read_table(recipe / "data" / "libritts_r_train_all" / "wav.scp")
    assert sorted(train) == ["100_7_000000_000000", "101_7_000000_000000", "102_7_000000_000000"]
    assert all(path.startswith(str(root)) for path in train.values())
    assert read_table(recipe / "data" / "libritts_r_test_clean" / "text") == {
        "104_7_000000_000000": "Sentence of test-clean."
    }
    assert all((root / f".{subset}.complete").exists() for subset in subsets)


# ---------------------------------------------------------------- stage 2: audio


def write_data_dir(tmp_path: Path) -> Path:
    """A data dir with a stereo 16 kHz clip, a mono 8 kHz clip, a pipe, a short and a long clip."""
    data = tmp_path / "data"
    audio = tmp_path / "audio"
    audio.mkdir()
    rng = np.random.default_rng(0)
    clips = {
        "spk1_a": (rng.uniform(-0.5, 0.5, (16000, 2)), 16000),  # 1 s stereo at 16 kHz
        "spk1_b": (rng.uniform(-0.5, 0.5, 12000), 8000),  # 1.5 s
        "spk2_c": (rng.uniform(-0.5, 0.5, 800), 8000),  # 0.1 s: too short
        "spk2_d": (rng.uniform(-0.5, 0.5, 8000 * 5), 8000),  # 5 s: too long
        "spk2_e": (rng.uniform(-0.5, 0.5, 9000), 8000),  # read through a pipe
    }
    for utt, (x, fs) in clips.items():
        soundfile.write(audio / f"{utt}.wav", x, fs, subtype="PCM_16")
    data.mkdir()
    scp = {utt: str(audio / f"{utt}.wav") for utt in clips}
    scp["spk2_e"] = f"cat {audio / 'spk2_e.wav'} |"
    (data / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p in scp.items()))
    (data / "text").write_text("".join(f"{u} words of {u}\n" for u in clips))
    (data / "utt2spk").write_text("".join(f"{u} {u.split('_')[0]}\n" for u in clips))
    return data


def test_format_wav_scp_converts_resamples_filters_and_writes_the_data_dir(tmp_path, caplog):
    data = write_data_dir(tmp_path)
    out = tmp_path / "dump" / "set"
    caplog.set_level("INFO")
    settings = FormatSettings(8000, min_duration=0.5, max_duration=4.0)
    kept = format_data_dir(data, out, settings, nj=2)
    assert kept == {"spk1_a": 8000, "spk1_b": 12000, "spk2_e": 9000}
    assert "dropped spk2_c: 0.10 s" in caplog.text and "dropped spk2_d: 5.00 s" in caplog.text
    assert "spk1_a: 2 channels" in caplog.text
    wav_scp = read_table(out / "wav.scp")
    assert list(wav_scp) == ["spk1_a", "spk1_b", "spk2_e"]
    for utt, path in wav_scp.items():
        x, fs = soundfile.read(path)
        assert fs == 8000 and x.ndim == 1 and len(x) == kept[utt]
    # the stereo clip: mono average, then resampled 16 kHz -> 8 kHz
    stereo, _ = soundfile.read(data.parent / "audio" / "spk1_a.wav")
    expected = torchaudio.functional.resample(torch.from_numpy(stereo.mean(1)).float(), 16000, 8000)
    np.testing.assert_allclose(soundfile.read(wav_scp["spk1_a"])[0], expected.numpy(), atol=2 / 32768)
    assert read_table(out / "utt2num_samples") == {"spk1_a": "8000", "spk1_b": "12000", "spk2_e": "9000"}
    assert list(read_table(out / "text")) == list(wav_scp)
    assert read_table(out / "spk2utt") == {"spk1": "spk1_a spk1_b", "spk2": "spk2_e"}
    # what needs no change (mono wav at 8 kHz) is listed where it is; converted clips are copies
    assert wav_scp["spk1_b"] == str((data.parent / "audio" / "spk1_b.wav").resolve())
    assert sorted(p.name for p in (out / "wav").iterdir()) == ["spk1_a.wav", "spk2_e.wav"]
    assert "1 listed where they are" in caplog.text

    # complete: skipped with the same settings, refused with any other (rate or duration limits)
    mtime = (out / "wav.scp").stat().st_mtime_ns
    assert format_data_dir(data, out, settings) == {}
    assert (out / "wav.scp").stat().st_mtime_ns == mtime
    for other in (FormatSettings(16000, 0.5, 4.0), FormatSettings(8000, 0.2, 4.0), FormatSettings(8000, 0.5)):
        with pytest.raises(ValueError, match=f"already formatted, with settings .*'max_duration': 4.0.* asks for {other.record()}"):
            format_data_dir(data, out, other)
    assert (out / "wav.scp").stat().st_mtime_ns == mtime


def test_format_wav_scp_writes_flac_and_copies_what_is_in_another_container(tmp_path):
    """--audio_format flac: every clip is a FLAC file; the mono 8 kHz WAV is copied too (other container)."""
    data = write_data_dir(tmp_path)
    out = tmp_path / "dump" / "set"
    format_wav_scp.main(["--in_dir", str(data), "--out_dir", str(out), "--fs", "8000", "--min_duration", "0.5",
                         "--max_duration", "4", "--audio_format", "flac"])  # fmt: skip
    wav_scp = read_table(out / "wav.scp")
    assert [Path(p).name for p in wav_scp.values()] == ["spk1_a.flac", "spk1_b.flac", "spk2_e.flac"]
    original, _ = soundfile.read(data.parent / "audio" / "spk1_b.wav")
    copy, fs = soundfile.read(wav_scp["spk1_b"])
    assert soundfile.info(wav_scp["spk1_b"]).format == "FLAC" and fs == 8000
    np.testing.assert_array_equal(copy, original)  # 16-bit PCM both: lossless
    assert yaml.safe_load((out / "format.yaml").read_text())["audio_format"] == "flac"
    with pytest.raises(SystemExit):
        format_wav_scp.main(["--in_dir", str(data), "--out_dir", str(tmp_path / "o2"), "--fs", "8000", "--audio_format", "mp3"])


def test_format_wav_scp_names_an_unreadable_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    (data / "wav.scp").write_text(f"utt1 {tmp_path / 'broken.wav'}\n")
    with pytest.raises(SystemExit, match=r"data/wav.scp: the audio of utt1: cannot read .*broken.wav"):
        format_wav_scp.main(["--in_dir", str(data), "--out_dir", str(tmp_path / "out"), "--fs", "8000"])
    assert not (tmp_path / "out" / "wav.scp").exists()
    with pytest.raises(FileNotFoundError, match=r"nowhere/wav.scp does not exist: prepare"):
        format_data_dir(tmp_path / "nowhere", tmp_path / "out2", FormatSettings(8000))


# ---------------------------------------------------------------- stage 2: mel features


def test_extract_mel_writes_the_training_features(tmp_path):
    config = write_config(tmp_path / "train.yaml", **MEL_CONF)
    data = write_data_dir(tmp_path)
    dump = tmp_path / "dump"
    format_data_dir(data, dump, FormatSettings(8000, min_duration=0.5, max_duration=4.0))
    features = features_of_configs([config])
    assert extract(features, dump / "wav.scp", dump) == 3
    feats = dict(kaldiio.load_scp(str(dump / "feats.scp")))
    reference = VocosLogMel(**MEL_CONF)
    for utt, path in read_table(dump / "wav.scp").items():
        x, _ = soundfile.read(path, dtype="float32")
        expected = reference.mel(torch.from_numpy(x)).T.numpy()
        assert feats[utt].shape == (len(x) // 16 + 1, 16)
        np.testing.assert_allclose(feats[utt], expected, rtol=1e-5, atol=1e-5)
    saved = yaml.safe_load((dump / "mel.yaml").read_text())
    assert saved == features.config and saved["feats_extract"] == "vocos_mel"
    assert saved["feats_extract_conf"]["win_length"] == 64 and saved["feats_extract_conf"]["fmax"] == 4000.0

    # complete: skipped with the same settings, refused with others
    assert extract(features, dump / "wav.scp", dump) == 0
    other = features_of_configs([write_config(tmp_path / "other.yaml", **dict(MEL_CONF, n_mels=8))])
    with pytest.raises(ValueError, match="holds features made with"):
        extract(other, dump / "wav.scp", dump)
    # audio at another rate than the config's
    wrong = features_of_configs([write_config(tmp_path / "wrong.yaml", **dict(MEL_CONF, fs=16000))])
    with pytest.raises(ValueError, match=r"spk1_a in .* is 8000 Hz .* need mono 16000 Hz"):
        extract(wrong, dump / "wav.scp", tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError, match=r"missing.scp does not exist: format the audio first"):
        extract(features, dump / "missing.scp", tmp_path / "elsewhere")


def test_extract_mel_writes_espnet_fbank_features(tmp_path):
    """--feats_extract fbank: ESPnet's own LogMelFbank features, bit for bit, and mel.yaml to train a TTS model on."""
    config = write_config(tmp_path / "train.yaml", **MEL_CONF)
    data = write_data_dir(tmp_path)
    dump = tmp_path / "dump"
    format_data_dir(data, dump, FormatSettings(8000, min_duration=0.5, max_duration=4.0))
    extract_mel.main(["--config", str(config), "--feats_extract", "fbank", "--feats_extract_conf", "n_mels=20",
                      "--feats_extract_conf", "fmax=4000", "--wav_scp", str(dump / "wav.scp"), "--out_dir", str(dump)])  # fmt: skip
    from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank

    reference = LogMelFbank(fs=8000, n_fft=64, hop_length=16, n_mels=20, fmax=4000)
    feats = dict(kaldiio.load_scp(str(dump / "feats.scp")))
    for utt, path in read_table(dump / "wav.scp").items():
        x, _ = soundfile.read(path, dtype="float32")
        expected, _ = reference(torch.from_numpy(x)[None])
        np.testing.assert_allclose(feats[utt], expected[0].numpy(), rtol=1e-5, atol=1e-5)
    saved = yaml.safe_load((dump / "mel.yaml").read_text())
    assert saved["feats_extract"] == "fbank"
    assert saved["feats_extract_conf"] == dict(
        fs=8000, n_fft=64, hop_length=16, win_length=64, window="hann", center=True, normalized=False,
        onesided=True, n_mels=20, fmin=80, fmax=4000, htk=False, log_base=10.0,
    )  # fmt: skip
    # what mel.yaml records rebuilds the same features
    assert Fbank(**saved["feats_extract_conf"]).settings == saved["feats_extract_conf"]


def test_mel_conf_comes_from_the_training_config(tmp_path, capsys):
    config = write_config(tmp_path / "train.yaml", **MEL_CONF)
    extract_mel.main(["--config", str(config), "--print_conf", "fs"])
    assert capsys.readouterr().out.strip().splitlines()[-1] == "8000"
    extract_mel.main(["--config", str(config), "--print_conf"])
    printed = yaml.safe_load(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["feats_extract"] == "vocos_mel" and printed["feats_extract_conf"]["hop_length"] == 16
    extract_mel.main(["--config", str(config), "--feats_extract", "fbank", "--print_conf", "feats_extract"])
    assert capsys.readouterr().out.strip().splitlines()[-1] == "fbank"
    # teacher and student configs must agree
    other = write_config(tmp_path / "student.yaml", **dict(MEL_CONF, n_mels=8))
    with pytest.raises(SystemExit, match=r"describe different features \(n_mels: 16 vs 8\)"):
        extract_mel.main(["--config", str(config), "--config", str(other), "--print_conf"])
    # the recipe's own configs: the full-size one has the reference features
    conf = features_from_config(RECIPE / "conf/tuning/train_vocos.yaml").settings
    assert (conf["fs"], conf["n_fft"], conf["hop_length"], conf["n_mels"]) == (24000, 1024, 256, 100)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(dict(feats_extract_conf=dict(fs=8000, hop=16))))
    with pytest.raises(ValueError, match=r"unknown keys \['hop'\] for vocos_mel"):
        features_from_config(bad)
    bad.write_text(yaml.safe_dump(dict(feats_extract="linear_spectrogram")))
    with pytest.raises(ValueError, match="feats_extract is 'linear_spectrogram'; a vocoder's features are one of"):
        features_from_config(bad)


# ---------------------------------------------------------------- shell helpers


def test_parse_options_sets_known_variables_and_refuses_unknown_ones():
    script = f"""set -euo pipefail; stage=1; stop_stage=6; train_args=
        . {TEMPLATE}/utils/parse_options.sh
        echo "$stage|$stop_stage|$train_args|$*" """
    out = subprocess.run(
        [
            "bash",
            "-c",
            script,
            "voc.sh",
            "--stage",
            "3",
            "--stop-stage=4",
            "--train_args",
            "--max_epoch 1",
            "rest",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3|4|--max_epoch 1|rest"
    out = subprocess.run(["bash", "-c", script, "voc.sh", "--stgae", "3"], capture_output=True, text=True)
    assert out.returncode != 0 and "unknown option --stgae" in out.stderr


def test_run_pl_runs_job_arrays_and_names_failed_logs(tmp_path):
    run_pl = TEMPLATE / "utils" / "run.pl"
    out = subprocess.run(
        [str(run_pl), "--gpu", "0", "JOB=1:3", str(tmp_path / "log.JOB"), "echo", "job", "JOB", "a b"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    for j in (1, 2, 3):
        log = (tmp_path / f"log.{j}").read_text()
        assert f"job {j} a b\n" in log and "# Ended (code 0)" in log
    out = subprocess.run(
        [
            str(run_pl),
            "--max_jobs_run",
            "1",
            "JOB=1:3",
            str(tmp_path / "f.JOB.log"),
            "bash",
            "-c",
            "exit $((JOB % 2))",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert f"2 / 3 failed, log is in {tmp_path}/f.1.log, {tmp_path}/f.3.log" in out.stderr
    assert "# Ended (code 1)" in (tmp_path / "f.1.log").read_text()
    out = subprocess.run(
        [str(run_pl), "--num_nodes", "2", str(tmp_path / "x.log"), "true"], capture_output=True, text=True
    )
    assert out.returncode != 0 and "use slurm.pl" in out.stderr


def fake_slurm(tmp_path: Path) -> dict:
    """An environment whose sbatch records its options in <tmp_path>/calls and runs the batch
    script for each array index, and whose srun runs its command once."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sbatch").write_text(
        "#!/bin/bash\n"
        f'echo "$@" >> {tmp_path}/calls\n'
        "script=${@: -1}; array=1-1; rc=0\n"
        'for a in "$@"; do case $a in --array=*) array=${a#--array=}; array=${array%%%*};; esac; done\n'
        'for i in $(seq ${array%-*} ${array#*-}); do SLURM_ARRAY_TASK_ID=$i bash "$script" || rc=1; done\n'
        "exit $rc\n"
    )
    (fake / "srun").write_text('#!/bin/bash\nwhile [[ $1 == --* ]]; do shift; done\nexec "$@"\n')
    for tool in ("sbatch", "srun"):
        (fake / tool).chmod(0o755)
    return dict(os.environ, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}")


def test_slurm_pl_submits_one_array_with_the_configured_options(tmp_path):
    env = fake_slurm(tmp_path)
    slurm_pl = TEMPLATE / "utils" / "slurm.pl"
    command = [
        str(slurm_pl),
        "--config",
        str(RECIPE / "conf" / "slurm.conf"),
        "--gpu",
        "2",
        "--num_threads",
        "2",
        "--num_nodes",
        "2",
        "JOB=1:2",
        str(tmp_path / "log" / "train.JOB.log"),
        "echo",
        "it's",
        "JOB",
    ]
    out = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    call = (tmp_path / "calls").read_text()
    for option in (
        "-p gpu --gres=gpu:2",
        "--nodes 2 --ntasks-per-node 1",
        "--cpus-per-task 2",
        "--wait",
        "--array=1-2",
    ):
        assert option in call
    assert "it's 2\n" in (tmp_path / "log" / "train.2.log").read_text()
    command[-3:] = ["bash", "-c", "exit $((JOB - 1))"]
    out = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 1 and f"1 / 2 failed, log is in {tmp_path}/log/train.2.log" in out.stderr


def test_espnet_launcher_hands_nodes_and_gpus_to_slurm(tmp_path):
    """--num_nodes/--ngpu go through ESPnet's launcher to slurm.pl, which asks Slurm for them."""
    env = fake_slurm(tmp_path)
    command = [sys.executable, "-m", "espnet2.bin.launch",
               "--cmd", f"{TEMPLATE}/utils/slurm.pl --config {RECIPE}/conf/slurm.conf --name exp",
               "--log", str(tmp_path / "exp" / "train.log"), "--ngpu", "1", "--num_nodes", "2", "--",
               sys.executable, "-c", "import sys; print('trainer got', sys.argv[1:])"]  # fmt: skip
    out = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    call = (tmp_path / "calls").read_text()
    for option in ("--job-name exp", "--nodes 2 --ntasks-per-node 1", "-p gpu --gres=gpu:1", "--wait"):
        assert option in call
    log = (tmp_path / "exp" / "train.log").read_text()
    assert "trainer got" in log and "'--dist_launcher', 'slurm'" in log and "'--ngpu', '1'" in log
