"""The whole recipe: ``./run.sh --corpus mini`` through its stages on the smallest configs
(a dozen synthesized utterances, two steps per model), the files each stage must leave, a
re-run that skips everything finished, and a failure that names step and log."""

import json
import subprocess
from pathlib import Path

import kaldiio
import pytest
import soundfile
import yaml

from espnet2_spiking.vocoder import Vocoder
from tests.helpers import RECIPE, copy_recipe, needs_synthesizers, read_table, recipe_env

FS, HOP, N_MELS = 8000, 64, 20
TEST_SET = "mini_test_clean"
MODEL = "valid.mel_loss.best"
TAG = f"inference_{MODEL}"  # the decoding directories: <exp>/<TAG>/<set>


def tiny(config: str, **updates) -> dict:
    """A recipe config shrunk to seconds of CPU: 8 kHz features, tiny generator and
    discriminators, two steps."""
    conf = yaml.safe_load((RECIPE / config).read_text())
    conf.update(updates)
    return conf


def write_configs(root: Path) -> dict:
    vocoder = dict(
        feats_extract_conf=dict(fs=FS, n_fft=256, hop_length=HOP, n_mels=N_MELS),
        batch_size=2,
        num_iters_per_epoch=2,
        max_epoch=1,
        num_workers=0,
        keep_nbest_models=1,
    )
    small_d = dict(
        periods=[2, 3],
        period_discriminator_params=dict(channels=4, max_downsample_channels=8, downsample_scales=[3, 1]),
        fft_sizes=[256],
        channels=4,
    )
    teacher = tiny("conf/tuning/train_vocos_mini.yaml", **vocoder)
    student = tiny("conf/tuning/train_spiking_vocos_tsm_distill_mini.yaml", **vocoder)
    for conf in (teacher, student):
        conf["generator_conf"].update(dim=16, intermediate_dim=24, num_layers=1)
        # the discriminators join after the first of the two steps, so both phases run
        conf["model_conf"].update(
            segment_size=16 * HOP, discriminator_params=small_d, discriminator_train_start_steps=1
        )
        for key in ("scheduler_conf", "scheduler2_conf"):
            conf[key] = dict(T_max=1)
    student["generator_conf"]["time_steps"] = 2
    tts = tiny("conf/tts/train_tacotron2_mini.yaml", max_epoch=1, num_iters_per_epoch=2, batch_size=2)
    paths = {}
    for name, conf in dict(teacher=teacher, student=student, tts=tts).items():
        paths[name] = root / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(conf, sort_keys=False))
    return paths


def run_sh(recipe: Path, configs: dict, *options: str) -> subprocess.CompletedProcess:
    command = [
        "./run.sh", "--corpus", "mini", "--nj", "1",
        "--local_data_opts", "--corpus mini --mini_num_utts 12",
        "--teacher_config", str(configs["teacher"]), "--student_config", str(configs["student"]),
        "--tts_config", str(configs["tts"]),
        "--evaluate_args", "--crepe_model tiny --pitch_cache_dir none",
        "--benchmark_args", "--batch_sizes 1 --repeats 1 --warmup 0 --speed_seconds 0.5 --num_utts 1",
        "--tts_inference_args", "--maxlenratio 2.0",
        *options,
    ]  # fmt: skip
    return subprocess.run(command, cwd=recipe, env=recipe_env(), capture_output=True, text=True)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipe")
    recipe = copy_recipe(root / "voc1")
    configs = write_configs(root)
    out = run_sh(recipe, configs)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    return recipe, configs, out.stdout


pytestmark = needs_synthesizers


def test_stage1_data_dirs(recipe):
    recipe, _, _ = recipe
    sizes = {
        n: len(read_table(recipe / "data" / n / "wav.scp"))
        for n in ("mini_train_clean_100", "mini_dev_clean", TEST_SET)
    }
    assert sizes == {"mini_train_clean_100": 10, "mini_dev_clean": 1, TEST_SET: 1}


def test_stage2_formatted_audio_test_set_features_and_statistics(recipe, monkeypatch):
    recipe, _, log = recipe
    monkeypatch.chdir(recipe)  # the scp files hold paths relative to the recipe
    assert f"Features: {{feats_extract: vocos_mel, feats_extract_conf: {{fmax: {FS / 2}, fmin: 0.0, fs: {FS}, hop_length: {HOP}" in log
    for name in ("mini_train_clean_100", "mini_dev_clean", TEST_SET):
        dump = recipe / "dump" / "raw" / name
        for f in ("wav.scp", "utt2num_samples", "text", "utt2spk", "spk2utt"):
            assert (dump / f).is_file(), dump / f
        num_samples = read_table(dump / "utt2num_samples")
        for utt, path in read_table(dump / "wav.scp").items():
            info = soundfile.info(path)
            assert (info.samplerate, info.channels, info.frames) == (FS, 1, int(num_samples[utt]))
    # features only where stage 5 decodes them: none for training (computed from the audio)
    assert not list((recipe / "dump" / "raw" / "mini_train_clean_100").glob("feats.*"))
    assert not list((recipe / "dump" / "raw" / "mini_dev_clean").glob("feats.*"))
    test = recipe / "dump" / "raw" / TEST_SET
    feats = dict(kaldiio.load_scp(str(test / "feats.scp")))
    for utt, frames in read_table(test / "utt2num_samples").items():
        assert feats[utt].shape == (int(frames) // HOP + 1, N_MELS)  # 24 kHz resampled to 8 kHz
    # validation: the fixed subset (--num_valid_utts 200 holds the whole one-utterance dev set)
    valid = recipe / "dump" / "raw" / "mini_dev_clean_valid200"
    assert read_table(valid / "wav.scp") == read_table(recipe / "dump/raw/mini_dev_clean/wav.scp")
    stats = recipe / "exp" / "voc_stats_mini_train_clean_100"
    shapes = read_table(stats / "train" / "speech_shape")
    assert shapes.keys() == read_table(recipe / "dump/raw/mini_train_clean_100/wav.scp").keys()
    assert read_table(stats / "valid" / "speech_shape").keys() == read_table(valid / "wav.scp").keys()


def test_stages3_4_teacher_and_distilled_student(recipe):
    recipe, _, _ = recipe
    teacher, student = recipe / "exp" / "voc_teacher", recipe / "exp" / "voc_student"
    for exp, generator in ((teacher, "vocos"), (student, "spiking_vocos")):
        assert (exp / f"{MODEL}.pth").exists() and (exp / ".done").exists()
        assert "# Ended (code 0)" in (exp / "train.log").read_text()
        config = yaml.safe_load((exp / "config.yaml").read_text())
        assert config["generator"] == generator and config["resume"] is True
        assert config["train_data_path_and_name_and_type"] == [
            ["dump/raw/mini_train_clean_100/wav.scp", "speech", "sound"]
        ]
        assert config["valid_data_path_and_name_and_type"] == [
            ["dump/raw/mini_dev_clean_valid200/wav.scp", "speech", "sound"]
        ]
    config = yaml.safe_load((student / "config.yaml").read_text())
    assert config["distill"] is True and config["generator_conf"]["time_steps"] == 2
    assert config["teacher_model_file"] == f"exp/voc_teacher/{MODEL}.pth"


def test_stage5_copy_synthesis_scores_and_results(recipe, monkeypatch):
    recipe, _, _ = recipe
    monkeypatch.chdir(recipe)
    for exp in ("voc_teacher", "voc_student"):
        decode = recipe / "exp" / exp / TAG / TEST_SET
        wavs = read_table(decode / "wav" / "wav.scp")
        assert wavs.keys() == read_table(recipe / "dump/raw" / TEST_SET / "wav.scp").keys()
        feats = dict(kaldiio.load_scp(str(recipe / "dump/raw" / TEST_SET / "feats.scp")))
        for utt, path in wavs.items():
            info = soundfile.info(path)
            assert info.samplerate == FS and info.frames == len(feats[utt]) * HOP  # decoded from the mels
        metrics = json.loads((decode / "eval" / "metrics.json").read_text())
        assert metrics["num_utts"] == 1 and "pesq_wb" in metrics and "mel_l1" in metrics
    report = recipe / "exp" / "voc_student" / f"benchmark_{TEST_SET}_{MODEL}" / "report.md"
    results = (recipe / "exp" / "RESULTS.md").read_text()
    assert results.startswith("# RESULTS") and "espnet version" in results
    assert report.read_text().strip().splitlines()[0] in results
    assert "| teacher |" in results and "| student |" in results


def test_stage6_text_to_wav_through_teacher_and_student_scored_with_dnsmos(recipe, monkeypatch):
    recipe, _, _ = recipe
    monkeypatch.chdir(recipe)  # the scp files hold paths relative to the recipe
    tts = recipe / "exp" / "tts_tts"
    assert (tts / "valid.loss.best.pth").exists()
    tts_config = yaml.safe_load((tts / "config.yaml").read_text())
    assert tts_config["feats_extract"] == "vocos_mel"
    assert (
        tts_config["feats_extract_conf"]["n_mels"] == N_MELS and tts_config["feats_extract_conf"]["fs"] == FS
    )
    results = (recipe / "exp" / "RESULTS.md").read_text()
    assert "## Text to wav: DNSMOS (no reference)" in results and "never replaces" in results
    recordings = json.loads((recipe / "exp/dnsmos_recordings" / TEST_SET / "dnsmos.json").read_text())
    assert f"| {TEST_SET} | recordings | 1 | {recordings['p808_mos']:.3f} |" in results
    for exp, vocoder_type in (("voc_teacher", "vocos"), ("voc_student", "spiking_vocos")):
        joint = recipe / "exp" / exp / "joint_tts_tts"
        config = yaml.safe_load((joint / "config.yaml").read_text())
        assert config["tts"] == "joint_text2wav" and config["tts_conf"]["vocoder_type"] == vocoder_type
        decode = joint / TAG / TEST_SET
        wavs = read_table(decode / "wav" / "wav.scp")  # ESPnet's layout, merged from the jobs
        assert list(wavs) == list(read_table(recipe / "dump/raw" / TEST_SET / "text"))
        for path in wavs.values():
            info = soundfile.info(path)
            assert info.samplerate == FS and info.frames > 0 and info.frames % HOP == 0
        scores = json.loads((decode / "dnsmos" / "dnsmos.json").read_text())
        assert scores["num_utts"] == 1 and 1.0 <= scores["ovrl_mos"] <= 5.0
        assert f"| {TEST_SET} | {exp}/joint_tts_tts | 1 | {scores['p808_mos']:.3f} |" in results


def test_stage8_packs_archives_that_load_and_an_upload_folder(recipe):
    recipe, _, log = recipe
    upload = recipe / "exp" / "upload"
    card = (upload / "README.md").read_text()
    for exp in ("voc_teacher", "voc_student"):
        archive = upload / f"{exp}.tar.gz"
        vocoder = Vocoder.from_pretrained(archive, unpack_dir=recipe / "unpacked" / exp)
        assert vocoder.fs == FS and vocoder.generator.upsample_factor == HOP
        assert f"## {exp}.tar.gz" in card
        metrics = json.loads((recipe / "exp" / exp / TAG / TEST_SET / "eval" / "metrics.json").read_text())
        assert f"| pesq_wb | {metrics['pesq_wb']:.4g} |" in card  # stage 5's scores in the model card
    assert "## Results" in card and "huggingface-cli upload <user>/<repo> exp/upload" in log


def test_rerun_skips_finished_work_and_keeps_it(recipe):
    recipe, configs, _ = recipe
    kept = [
        recipe / "exp/voc_teacher" / f"{MODEL}.pth",
        recipe / "exp/voc_student" / f"{MODEL}.pth",
        recipe / "exp/voc_student" / TAG / TEST_SET / "wav" / "wav.scp",
        recipe / "exp/voc_student" / TAG / TEST_SET / "eval" / "metrics.json",
        recipe / "exp/voc_student/joint_tts_tts/model.pth",
        recipe / "exp/voc_student/joint_tts_tts" / TAG / TEST_SET / "dnsmos" / "dnsmos.json",
        recipe / "exp/upload/voc_student.tar.gz",
    ]
    mtimes = [p.resolve().stat().st_mtime_ns for p in kept]
    out = run_sh(recipe, configs, "--stage", "3")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    for what in ("teacher training: exp/voc_teacher is complete, skipping",
                 "student training: exp/voc_student is complete, skipping",
                 "text-to-mel training: exp/tts_tts is complete, skipping",
                 f"exp/voc_student/{TAG}/{TEST_SET} is complete, skipping its decoding",
                 f"exp/voc_student/joint_tts_tts/{TAG}/{TEST_SET} is complete, skipping its decoding",
                 "dnsmos/dnsmos.json exists, skipping its DNSMOS",
                 "exp/voc_student/packed/voc_student.tar.gz is newer than",
                 "eval/metrics.json exists, skipping its evaluation",
                 "report.md exists, skipping the benchmark",
                 "joint_tts_tts/model.pth exists, skipping the joint model"):  # fmt: skip
        assert what in out.stdout, what
    assert [p.resolve().stat().st_mtime_ns for p in kept] == mtimes


def test_failed_stage_names_the_step_and_its_log(recipe):
    recipe, configs, _ = recipe
    out = run_sh(recipe, configs, "--stage", "2", "--stop_stage", "2", "--dumpdir", "dump_failed",
                 "--min_wav_duration", "19")  # fmt: skip  (every mini clip is shorter)
    assert out.returncode != 0
    dump = "dump_failed/raw/mini_dev_clean"
    log = f"{dump}/logs/format_wav_scp.log"
    assert (
        f"Error: stage 2 failed at: format data/mini_dev_clean at {FS} Hz into {dump}. Read {log}"
        in out.stdout
    )
    assert "every utterance of data/mini_dev_clean was dropped" in (recipe / log).read_text()
    assert not (recipe / dump / "wav.scp").exists()
