"""The adversarial study's table and curves (``pyscripts/utils/show_gan_study.py``) from
stage 5's files and ESPnet's ``train.log``."""

import json
import subprocess
import sys
from pathlib import Path

import matplotlib.image

RECIPE = Path(__file__).resolve().parents[1] / "egs2" / "libritts" / "voc1"
DECODE = "decode_mini_test_clean_valid.mel_loss.best"
PREFIX = "[vm] 2026-11-30 08:40:16,232 (gan_trainer:321) INFO: "


def interval(epoch: int, start: int, end: int, mel: float, adversarial: bool) -> str:
    stats = f"iter_time=0.026, discriminator_loss={'1.900' if adversarial else 'nan'}, "
    if adversarial:
        stats += "discriminator_real_loss=0.950, discriminator_fake_loss=0.950, generator_adv_loss=1.200, "
        stats += "generator_feat_match_loss=2.500, "
    # ESPnet's reporter sometimes loses a comma between two keys: the parser must cope
    stats += f"generator_loss=20.0, mel_loss={mel}, generator_optim_step_time=0.017optim0_lr0=5.000e-04, train_time=0.3"
    return f"{PREFIX}{epoch}epoch:train:{start}-{end}batch: {stats}"


def write_exp(exp: Path, pesq: float, mels, adversarial: bool, rates=None):
    """An experiment of 2 epochs, logged every 10 steps up to step 20 of each (mels: the 4 train mel losses)."""
    (exp / DECODE / "eval").mkdir(parents=True)
    metrics = dict(pesq_wb=pesq, stoi=0.9, periodicity_rmse=0.2, vuv_f1=0.91, mel_l1=0.4)
    (exp / DECODE / "eval" / "metrics.json").write_text(json.dumps(metrics))
    utts = ["pesq_wb\tstoi\tmel_l1\tperiodicity_rmse\tvuv_f1"]  # as evaluate writes them, utt_id first
    utts += [f"{pesq + d}\t0.9\t0.4\t{0.2 - d if d else 'nan'}\t0.91" for d in (0.0, 0.1, 0.2)]
    text = "utt_id\t" + utts[0] + "\tsamples\tfs\n"
    text += "".join(f"u{i}\t{line}\t24000\t24000\n" for i, line in enumerate(utts[1:]))
    (exp / DECODE / "eval" / "utt_metrics.tsv").write_text(text)
    lines = [
        interval(1, 1, 10, mels[0], adversarial),
        interval(1, 11, 20, mels[1], adversarial),
        f"{PREFIX}1epoch results: [train] mel_loss={mels[1]}, [valid] mel_loss=0.5, time=1.5 seconds, [att_plot] time=0",
        interval(2, 1, 10, mels[2], adversarial),
        interval(2, 11, 20, mels[3], adversarial),
        f"{PREFIX}2epoch results: [train] mel_loss={mels[3]}, [valid] mel_loss=0.45, time=1.5 seconds",
    ]
    (exp / "train.log").write_text("\n".join(lines) + "\n")
    (exp / "config.yaml").write_text("num_iters_per_epoch: 25\n")  # 25 steps an epoch, the last 5 not logged
    if rates is not None:
        bench = exp / "benchmark_mini_test_clean_valid.mel_loss.best"
        bench.mkdir()
        (bench / "benchmark.json").write_text(json.dumps(dict(energy=dict(student=dict(firing_rates=rates)))))


def test_table_rows_and_curves(tmp_path):
    exps = {}
    for objective, adversarial in (("mel", False), ("gan", True)):
        exps[objective] = (tmp_path / f"teacher_{objective}", tmp_path / f"student_{objective}")
        write_exp(exps[objective][0], 1.5 + adversarial, [0.6, 0.5, 0.45, 0.4], adversarial)
        write_exp(exps[objective][1], 1.4, [0.7, 0.6, 0.5, 0.48], adversarial, rates={"lif1": 0.1, "lif2": 0.04})
    out = tmp_path / "gan_study"
    pairs = [f"{o}={t},{s}" for o, (t, s) in exps.items()]
    result = subprocess.run(
        [sys.executable, "pyscripts/utils/show_gan_study.py", "--out_dir", str(out), *pairs],
        cwd=RECIPE,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    text = (out / "RESULTS.md").read_text()
    table, paired = text.split("## gan - mel")
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows[1:]]
    assert [c[:2] for c in cells] == [["teacher", "mel"], ["teacher", "gan"], ["student", "mel"], ["student", "gan"]]
    assert cells[1][2:7] == ["2.500", "0.900", "0.200", "0.910", "0.400"]  # PESQ-wb ... log-mel L1
    assert cells[0][7:9] == ["-", "-"]  # a teacher has no firing rates
    assert cells[3][7:9] == ["0.0400", "0.0700"]
    # steps, last train mel loss, last valid mel loss, adversarial, feature matching, discriminator
    assert cells[1][9:] == ["50", "0.400", "0.450", "1.200", "2.500", "1.900"]
    assert cells[0][12:] == ["-", "-", "-"]  # the discriminators rested
    # per utterance, gan - mel: the teacher's PESQ is 1.0 higher on each of 3 utterances;
    # periodicity is nan on the first, so 2 pairs remain (equal: not better)
    rows = [line for line in paired.splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows[1:]]
    assert cells[0][:4] == ["teacher", "3", "+1.000 ± 0.000 (3/3)", "+0.000 ± 0.000 (0/3)"]
    assert cells[0][4] == "+0.000 ± 0.000 (0/2)"
    assert cells[1][:3] == ["student", "3", "+0.000 ± 0.000 (0/3)"]
    for model in ("teacher", "student"):
        image = matplotlib.image.imread(str(out / f"{model}.png"))
        assert image.shape[1] > 600 and image[..., :3].std() > 0.01


def test_missing_scores_name_the_stage(tmp_path):
    teacher, student = tmp_path / "t", tmp_path / "s"
    teacher.mkdir(), student.mkdir()
    result = subprocess.run(
        [sys.executable, "pyscripts/utils/show_gan_study.py", "--out_dir", str(tmp_path / "o"), f"mel={teacher},{student}"],
        cwd=RECIPE,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "run its stage 5" in result.stderr
