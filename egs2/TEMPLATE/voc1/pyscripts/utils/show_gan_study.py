#!/usr/bin/env python3
"""Write the adversarial study's table and loss curves (run_gan_study.sh).

    pyscripts/utils/show_gan_study.py --out_dir exp/gan_study \\
        start=exp/voc_train_vocos_mini,exp/voc_train_spiking_vocos_tsm_distill_mini \\
        mel=exp/voc_gan_study_teacher_mel,exp/voc_gan_study_student_mel \\
        gan=exp/voc_gan_study_teacher_gan,exp/voc_gan_study_student_gan

Each argument names an objective and its teacher and student experiments. Written to
``--out_dir``:

- ``RESULTS.md``: per model and objective, copy synthesis of the test set (PESQ-wb, STOI,
  periodicity RMSE, V/UV F1, log-mel L1 from ``decode_<test>_<model>/eval/metrics.json``),
  the student's lowest and mean firing rate (``benchmark_<test>_<model>/benchmark.json``),
  and from ``train.log`` the steps taken and the last logged training losses;
- in ``RESULTS.md`` also, per model, the paired difference ``gan - mel`` of each score over
  the test utterances (``eval/utt_metrics.tsv``): its mean, standard error and the number of
  utterances on which ``gan`` is better, to tell an effect from noise;
- ``teacher.png``, ``student.png``: mel loss (training, and validation per epoch),
  generator adversarial and feature-matching losses, and discriminator losses against
  training steps, one line per objective.
"""

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import matplotlib
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from show_voc_result import environment  # noqa: E402

from espnet2_spiking.metrics.report import markdown_table  # noqa: E402

_INTERVAL = re.compile(r"(\d+)epoch:train:(\d+)-(\d+)batch: (.*)")
_EPOCH = re.compile(r"(\d+)epoch results: (.*)")
_STAT = re.compile(r"([A-Za-z][\w]*)=([-+]?(?:\d[\d.]*(?:e[-+]?\d+)?|nan|inf))")
QUALITY = [("pesq_wb", "PESQ-wb"), ("stoi", "STOI"), ("periodicity_rmse", "periodicity RMSE"),
           ("vuv_f1", "V/UV F1"), ("mel_l1", "log-mel L1")]
LOWER_IS_BETTER = {"periodicity_rmse", "mel_l1"}
CURVES = [  # panel title, training statistics drawn in it
    ("mel loss (L1 of log-mels)", ["mel_loss"]),
    ("generator: adversarial (solid), feature matching (dashed)",
     ["generator_adv_loss", "generator_feat_match_loss"]),
    ("discriminator: real (solid), fake (dashed)", ["discriminator_real_loss", "discriminator_fake_loss"]),
]


def _stats(text: str) -> Dict[str, float]:
    return {key: float(value) for key, value in _STAT.findall(text)}


def read_train_log(
    path: Path, iters_per_epoch: Optional[int] = None
) -> Tuple[List[Tuple[int, Dict[str, float]]], List[Tuple[int, Dict[str, float]]]]:
    """The statistics an ESPnet ``train.log`` reports, against the step they were logged at.

    Args:
        path: ``train.log`` of a GAN training (``GANTrainer``).
        iters_per_epoch: Its ``num_iters_per_epoch``; None: the last step logged in each epoch.

    Returns:
        ``(train, valid)``: per ``log_interval`` of training, ``(last step of the interval,
        its mean statistics)``; per epoch, ``(last step of the epoch, validation statistics)``.
        Steps count from the start of this training; a resumed epoch's lines replace the
        lines of its first attempt.
    """
    train, valid, steps_per_epoch = {}, {}, {}
    for line in path.read_text(errors="replace").splitlines():
        if match := _INTERVAL.search(line):
            epoch, end = int(match[1]), int(match[3])
            train[(epoch, end)] = _stats(match[4])
            steps_per_epoch[epoch] = max(steps_per_epoch.get(epoch, 0), end)
        elif match := _EPOCH.search(line):
            epoch = int(match[1])
            if "[valid]" in match[2]:
                valid[epoch] = _stats(match[2].split("[valid]", 1)[1].split("[", 1)[0])
    first = {}  # the first step of each epoch
    total = 0
    for epoch in sorted(steps_per_epoch):
        steps_per_epoch[epoch] = iters_per_epoch or steps_per_epoch[epoch]
        first[epoch] = total
        total += steps_per_epoch[epoch]
    train_curve = [(first[e] + end, stats) for (e, end), stats in sorted(train.items())]
    valid_curve = [(first[e] + steps_per_epoch[e], stats) for e, stats in sorted(valid.items()) if e in first]
    return train_curve, valid_curve


def train_curves(exp: Path):
    """:func:`read_train_log` of ``exp``'s ``train.log``, with the epoch length of its ``config.yaml``."""
    config = exp / "config.yaml"
    iters = yaml.safe_load(config.read_text()).get("num_iters_per_epoch") if config.exists() else None
    return read_train_log(exp / "train.log", iters)


def _fmt(value: Optional[float], spec: str = "{:.3f}") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else spec.format(value)


def _one(paths: List[Path], what: str) -> Optional[Path]:
    if len(paths) > 1:
        sys.exit(f"Several {what}: {', '.join(map(str, paths))}; the study scores one test set.")
    return paths[0] if paths else None


def read_utt_metrics(exp: Path, model_name: str) -> Dict[str, Dict[str, float]]:
    """utt_id -> score -> value, from the ``eval/utt_metrics.tsv`` of ``exp``'s decoding."""
    path = _one(sorted(exp.glob(f"decode_*_{model_name}/eval/utt_metrics.tsv")), "scored test sets")
    if path is None:
        sys.exit(f"{exp} has no decode_*_{model_name}/eval/utt_metrics.tsv: run its stage 5 (./run.sh --stage 5).")
    header, *lines = [line.split("\t") for line in path.read_text().splitlines() if line]
    keys = [key for key, _ in QUALITY]
    return {cells[0]: {h: float(v) for h, v in zip(header[1:], cells[1:]) if h in keys} for cells in lines}


def paired_row(model: str, base: Path, other: Path, model_name: str) -> List[str]:
    """Per score: mean and standard error of ``other - base`` over the utterances both scored,
    and on how many ``other`` is better (``+0.012 ± 0.004 (21/30)``)."""
    a, b = read_utt_metrics(base, model_name), read_utt_metrics(other, model_name)
    utts = sorted(set(a) & set(b))
    row = [model, str(len(utts))]
    for key, _ in QUALITY:
        diffs = [b[u][key] - a[u][key] for u in utts if math.isfinite(b[u].get(key, math.nan) - a[u].get(key, math.nan))]
        if len(diffs) < 2:
            row.append("-")
            continue
        mean = sum(diffs) / len(diffs)
        stderr = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1) / len(diffs))
        better = sum(d < 0 if key in LOWER_IS_BETTER else d > 0 for d in diffs)
        row.append(f"{mean:+.3f} ± {stderr:.3f} ({better}/{len(diffs)})")
    return row


def row_of(objective: str, model: str, exp: Path, model_name: str) -> List[str]:
    """One table row: copy-synthesis quality, firing rates, steps and last training losses."""
    metrics_file = _one(sorted(exp.glob(f"decode_*_{model_name}/eval/metrics.json")), "scored test sets")
    if metrics_file is None:
        sys.exit(f"{exp} has no decode_*_{model_name}/eval/metrics.json: run its stage 5 (./run.sh --stage 5).")
    quality = json.loads(metrics_file.read_text())
    rates: List[float] = []
    bench_file = _one(sorted(exp.glob(f"benchmark_*_{model_name}/benchmark.json")), "benchmarks")
    if model == "student" and bench_file is not None:
        rates = list(json.loads(bench_file.read_text())["energy"]["student"]["firing_rates"].values())
    train, valid = train_curves(exp) if (exp / "train.log").exists() else ([], [])
    last = train[-1][1] if train else {}
    return [
        model,
        objective,
        *[_fmt(quality.get(key)) for key, _ in QUALITY],
        _fmt(min(rates) if rates else None, "{:.4f}"),
        _fmt(sum(rates) / len(rates) if rates else None, "{:.4f}"),
        str(valid[-1][0]) if valid else "-",  # the steps of the epochs done
        _fmt(last.get("mel_loss")),
        _fmt(valid[-1][1].get("mel_loss") if valid else None),
        _fmt(last.get("generator_adv_loss")),
        _fmt(last.get("generator_feat_match_loss")),
        _fmt(last.get("discriminator_loss")),
    ]


def plot_curves(exps: Dict[str, Path], title: str, path: Path) -> Path:
    """One figure of the CURVES panels for a model, a line per objective (colour)."""
    fig, axes = plt.subplots(1, len(CURVES), figsize=(6 * len(CURVES), 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (objective, exp), color in zip(exps.items(), colors):
        train, valid = train_curves(exp)
        for ax, (panel, keys) in zip(axes, CURVES):
            for key, style in zip(keys, ("-", "--")):
                points = [(s, st[key]) for s, st in train if not math.isnan(st.get(key, math.nan))]
                if points:
                    ax.plot(*zip(*points), style, color=color, label=f"{objective}: {key}")
            if keys == ["mel_loss"] and valid:
                points = [(s, st["mel_loss"]) for s, st in valid if "mel_loss" in st]
                if points:
                    ax.plot(*zip(*points), "o", color=color, label=f"{objective}: valid mel_loss")
    for ax, (panel, _) in zip(axes, CURVES):
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("training step of the continuation")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out_dir", type=Path, required=True, help="where RESULTS.md and the PNGs go")
    parser.add_argument("--model_file", default="valid.mel_loss.best.pth", help="the checkpoint stage 5 decoded")
    parser.add_argument("pairs", nargs="+", help="<objective>=<teacher exp>,<student exp>")
    args = parser.parse_args(argv)
    model_name = args.model_file.removesuffix(".pth").replace("/", "_")
    exps: Dict[str, Dict[str, Path]] = {"teacher": {}, "student": {}}
    for pair in args.pairs:
        objective, sep, dirs = pair.partition("=")
        teacher, comma, student = dirs.partition(",")
        if not (sep and comma and objective):
            sys.exit(f"Bad pair {pair!r}: expected <objective>=<teacher exp>,<student exp>")
        exps["teacher"][objective], exps["student"][objective] = Path(teacher), Path(student)
    rows = [row_of(o, m, exp, model_name) for m in exps for o, exp in exps[m].items()]
    header = ["model", "objective", *[label for _, label in QUALITY], "lowest firing rate",
              "mean firing rate", "steps", "train mel loss", "valid mel loss", "adversarial loss",
              "feature matching loss", "discriminator loss"]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    text = environment() + "\n## Adversarial study\n\n" + markdown_table(header, rows) + "\n"
    paired = [paired_row(m, o["mel"], o["gan"], model_name) for m, o in exps.items() if {"mel", "gan"} <= set(o)]
    if paired:
        text += (
            "\n## gan - mel, per test utterance\n\nMean difference ± its standard error (utterances on "
            "which gan is better / utterances scored).\n\n"
            + markdown_table(["model", "utterances", *[label for _, label in QUALITY]], paired)
            + "\n"
        )
    (args.out_dir / "RESULTS.md").write_text(text, encoding="utf-8")
    for model, objectives in exps.items():
        continued = {o: e for o, e in objectives.items() if o != "start" and (e / "train.log").exists()}
        if continued:
            plot_curves(continued, f"{model}: continuations of the mel-only checkpoint", args.out_dir / f"{model}.png")


if __name__ == "__main__":
    main()
