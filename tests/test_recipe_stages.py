"""The command lines voc.sh builds, checked without running them: a cmd.sh whose train_cmd,
cuda_cmd and decode_cmd record their arguments and return (the GPU commands cannot run on
this CPU). Stages 2-8 on a fake tree of the files each stage requires: --gpu_inference and
--ngpu, the --skip_* flags, stage 2's feature extraction and validation subset."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import copy_recipe, read_table, recipe_env

RECORDER = """#!/usr/bin/env bash
# cmd.sh stand-in: one line per call, "<cmd name> <arguments>", nothing run
echo "$*" >> "${RECORD_LOG}"
"""
TRAIN, DEV, TEST = "tr", "dv", "ts"
MODEL = "valid.mel_loss.best.pth"


@pytest.fixture
def recipe(tmp_path):
    """A recipe copy whose jobs are recorded, with the inputs of stages 3-8 as empty files."""
    recipe = copy_recipe(tmp_path / "voc1")
    recorder = tmp_path / "record.sh"
    recorder.write_text(RECORDER)
    recorder.chmod(0o755)
    (recipe / "cmd.sh").unlink()
    (recipe / "cmd.sh").write_text(
        "".join(f'export {name}_cmd="{recorder} {name}"\n' for name in ("train", "cuda", "decode"))
    )
    files = [
        f"dump/raw/{TRAIN}/wav.scp",
        f"dump/raw/{TRAIN}/text",
        f"dump/raw/{DEV}/wav.scp",
        f"dump/raw/{DEV}/text",
        f"exp/voc_stats_{TRAIN}/train/speech_shape",
        f"exp/voc_stats_{TRAIN}/valid/speech_shape",
        f"exp/voc_teacher/{MODEL}",
        f"exp/voc_student/{MODEL}",
        "exp/tts_given/valid.loss.best.pth",
    ]
    for name in files:
        (recipe / name).parent.mkdir(parents=True, exist_ok=True)
        (recipe / name).touch()
    test = recipe / "dump" / "raw" / TEST
    test.mkdir(parents=True)
    for name in ("wav.scp", "feats.scp", "text"):
        (test / name).write_text("".join(f"utt{i} x\n" for i in range(3)))
    return recipe


def voc_sh(recipe: Path, *options: str) -> subprocess.CompletedProcess:
    command = [
        "./voc.sh", "--train_set", TRAIN, "--dev_set", DEV, "--test_sets", TEST,
        "--teacher_config", "conf/tuning/train_vocos_mini.yaml", "--teacher_tag", "teacher",
        "--student_config", "conf/tuning/train_spiking_vocos_tsm_distill_mini.yaml", "--student_tag", "student",
        "--tts_exp", "exp/tts_given", "--num_valid_utts", "0", "--inference_nj", "2",
        *options,
    ]  # fmt: skip
    env = dict(recipe_env(), RECORD_LOG=str(recipe / "record.log"))
    return subprocess.run(command, cwd=recipe, env=env, capture_output=True, text=True)


def recorded(recipe: Path) -> list:
    log = recipe / "record.log"
    return log.read_text().splitlines() if log.exists() else []


def commands_of(lines: list, tool: str) -> list:
    return [line for line in lines if f" -m {tool} " in line]


def test_gpu_inference_decodes_one_gpu_per_job_through_cuda_cmd(recipe):
    out = voc_sh(recipe, "--stage", "5", "--stop_stage", "6", "--ngpu", "2", "--gpu_inference", "true")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    lines = recorded(recipe)
    decodes = commands_of(lines, "espnet2_spiking.bin.gan_vocoder_inference")
    text_to_wav = commands_of(lines, "espnet2_spiking.bin.tts_inference")
    assert len(decodes) == 2 and len(text_to_wav) == 2  # teacher and student
    for line in decodes + text_to_wav:
        assert line.startswith("cuda --gpu 1 JOB=1:2 ")  # 2 jobs (--inference_nj), 1 GPU each
        assert " --ngpu 1 " in line and "--key_file " in line and "/logdir/keys.JOB.scp" in line
    assert any("--output_dir exp/voc_teacher/inference_valid.mel_loss.best/ts/logdir/output.JOB" in d for d in decodes)
    for tool in ("evaluate", "benchmark"):
        for line in commands_of(lines, f"espnet2_spiking.bin.{tool}"):
            assert line.startswith("cuda --gpu 1 ") and " --ngpu 1 " in line
    assert not [line for line in lines if "--ngpu 2" in line or "--gpu 2" in line]  # --ngpu is for training
    # DNSMOS of the recordings and of both text-to-wav outputs; ONNX on the CPU
    dnsmos = commands_of(lines, "espnet2_spiking.bin.dnsmos")
    assert len(dnsmos) == 3 and all(line.startswith("decode ") for line in dnsmos)
    assert "--wav_scp dump/raw/ts/wav.scp" in dnsmos[0]
    assert "--wav_scp exp/voc_student/joint_tts_given/inference_valid.mel_loss.best/ts/wav/wav.scp" in dnsmos[2]


def test_decoding_runs_on_the_cpu_whatever_ngpu_without_gpu_inference(recipe):
    out = voc_sh(recipe, "--stage", "5", "--stop_stage", "5", "--ngpu", "2", "--inference_tag", "mytag")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    decodes = commands_of(recorded(recipe), "espnet2_spiking.bin.gan_vocoder_inference")
    assert len(decodes) == 2
    for line in decodes:
        assert line.startswith("decode --gpu 0 JOB=1:2 ") and " --ngpu 0 " in line
    assert (recipe / "exp/voc_student/mytag/ts/.done").exists()


def test_training_with_ngpu_2_goes_through_espnets_launcher(recipe):
    out = voc_sh(recipe, "--stage", "3", "--stop_stage", "3", "--ngpu", "2", "--teacher_tag", "new")
    # nothing ran, so the checkpoint is missing: the stage says so, naming the log
    assert out.returncode == 1
    assert f"exp/voc_new/{MODEL} was not written. Read exp/voc_new/train.log" in out.stdout
    (line,) = recorded(recipe)
    assert line.startswith("cuda --name voc_new --gpu 2 exp/voc_new/train.log ")
    assert " -m espnet2_spiking.bin.gan_vocoder_train " in line and line.endswith(
        "--ngpu 2 --multiprocessing_distributed True"
    )
    assert f"--valid_data_path_and_name_and_type dump/raw/{DEV}/wav.scp,speech,sound" in line
    assert " --unused_parameters true " in line  # DDP: each GAN turn leaves the other network idle


@pytest.mark.parametrize(
    "options, stages",
    [
        (["--skip_data_prep", "true", "--skip_train", "true", "--skip_eval", "true", "--skip_packing", "true"], []),
        (["--skip_train", "true", "--stage", "3", "--stop_stage", "5"], [5]),
        (["--skip_eval", "true", "--stage", "5", "--stop_stage", "8", "--skip_packing", "true"], []),
        (["--skip_data_prep", "true", "--stage", "1", "--stop_stage", "2"], []),
    ],
)
def test_skip_flags_leave_their_stages_out(recipe, options, stages):
    out = voc_sh(recipe, *options)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    ran = [int(n) for n in re.findall(r"\) Stage (\d): ", out.stdout)]
    assert ran == stages
    if not stages:
        assert recorded(recipe) == []


def test_skip_train_needs_an_existing_text_to_mel_model(recipe):
    out = voc_sh(recipe, "--stage", "6", "--stop_stage", "6", "--skip_train", "true", "--tts_exp", "",
                 "--tts_config", "conf/tts/train_tacotron2_mini.yaml")  # fmt: skip
    assert out.returncode == 1
    assert "exp/tts_train_tacotron2_mini/valid.loss.best.pth does not exist" in out.stdout
    assert not commands_of(recorded(recipe), "espnet2_spiking.bin.tts_train")


def test_boolean_options_are_checked(recipe):
    out = voc_sh(recipe, "--gpu_inference", "yes")
    assert out.returncode == 2 and "--gpu_inference yes: give true or false" in out.stdout


def test_stage2_extracts_features_of_the_test_sets_only_and_a_fixed_validation_subset(recipe):
    dev = recipe / "dump" / "raw" / DEV
    keys = [f"spk{i % 3}_utt{i:02d}" for i in range(10)]
    for name, value in (("wav.scp", "a.wav"), ("utt2num_samples", "100"), ("text", "Some words.")):
        (dev / name).write_text("".join(f"{k} {value}\n" for k in keys))
    for name in ("train", "dev", "test"):
        (recipe / "data" / {"train": TRAIN, "dev": DEV, "test": TEST}[name]).mkdir(parents=True)
        (recipe / "data" / {"train": TRAIN, "dev": DEV, "test": TEST}[name] / "wav.scp").touch()
    out = voc_sh(recipe, "--stage", "2", "--stop_stage", "2", "--num_valid_utts", "4")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    lines = recorded(recipe)
    assert len(commands_of(lines, "espnet2_spiking.bin.format_wav_scp")) == 3
    (extract,) = commands_of(lines, "espnet2_spiking.bin.extract_mel")
    assert f"--wav_scp dump/raw/{TEST}/wav.scp" in extract  # not the training or dev set
    valid = recipe / "dump" / "raw" / f"{DEV}_valid4"
    picked = [keys[i] for i in (0, 2, 5, 7)]  # spread evenly over the sorted list
    for name in ("wav.scp", "utt2num_samples", "text"):
        assert list(read_table(valid / name)) == picked
    (stats,) = commands_of(lines, "espnet2_spiking.bin.gan_vocoder_train")
    assert f"--valid_data_path_and_name_and_type {valid.relative_to(recipe)}/wav.scp,speech,sound" in stats


def test_help_lists_the_recipe_and_template_options(tmp_path):
    """``run.sh --help`` says what run.sh adds (--corpus, --train_set) and every voc.sh option."""
    recipe = copy_recipe(tmp_path / "voc1")
    out = subprocess.run(["./run.sh", "--help"], cwd=recipe, capture_output=True, text=True, env=recipe_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    for option in ("--corpus", "--train_set", "--skip_train", "--gpu_inference", "--audio_format", "--feats_extract",
                   "--num_valid_utts", "--inference_tag", "--finetune"):  # fmt: skip
        assert option in out.stdout, option
