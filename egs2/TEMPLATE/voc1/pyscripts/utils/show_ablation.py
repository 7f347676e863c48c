#!/usr/bin/env python3
"""Write the ablation's RESULTS.md: one row per student (and its teacher), from the
``benchmark.json`` that stage 5 leaves in each student's ``benchmark_<test>_<model>/``.

    pyscripts/utils/show_ablation.py --out exp/RESULTS.md exp/voc_ablation_*

Columns: PESQ-wb, STOI, periodicity RMSE, V/UV F1 (copy synthesis of the test set), the
lowest and mean firing rate over the spiking layers, the student's energy as a share of
the teacher's in the reference convention (ConvNeXt blocks only) and in the complete count,
and the decode speed (times real time, CPU, batch 1).
"""

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from show_voc_result import environment

from espnet2_spiking.metrics.report import format_cell, markdown_table


def _speed(runs: List[dict]) -> Optional[float]:
    return next((r["speed_x"] for r in runs if r["device"] == "cpu" and r["batch_size"] == 1), None)


def rows_of(student: Path, model_name: str) -> List[List[str]]:
    """The rows of the teacher and of ``student`` from each of its benchmarks (one per test set).

    Args:
        student: Experiment directory holding ``benchmark_<test set>_<model_name>/benchmark.json``.
        model_name: The decoded checkpoint's name without ``.pth`` (voc.sh's ``inference_model``).
    """
    rows = []
    for path in sorted(student.glob(f"benchmark_*_{model_name}/benchmark.json")):
        bench = json.loads(path.read_text())
        energy, quality, speed = bench["energy"], bench.get("quality", {}), bench["speed"]
        test_set = path.parent.name[len("benchmark_") : -len(model_name) - 1]
        for name in ("teacher", "student"):
            if name not in energy:
                continue
            q = quality.get(name, {})
            rates = list(energy[name]["firing_rates"].values())
            ratio = {
                c: energy[name]["energy_mj"][c] / energy["teacher"]["energy_mj"][c]
                for c in ("reference", "complete")
            }
            label = "teacher (ANN)" if name == "teacher" else student.name
            rows.append(
                [
                    label,
                    test_set,
                    format_cell(q.get("pesq_wb")),
                    format_cell(q.get("stoi")),
                    format_cell(q.get("periodicity_rmse")),
                    format_cell(q.get("vuv_f1")),
                    format_cell(min(rates) if rates else None, "{:.4f}"),
                    format_cell(sum(rates) / len(rates) if rates else None, "{:.4f}"),
                    format_cell(100 * ratio["reference"], "{:.1f} %"),
                    format_cell(100 * ratio["complete"], "{:.1f} %"),
                    format_cell(_speed(speed[name]), "{:.1f}x"),
                ]
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="the RESULTS.md to write")
    parser.add_argument(
        "--inference_model", default="valid.mel_loss.best.pth", help="the checkpoint stage 5 benchmarked"
    )
    parser.add_argument("students", type=Path, nargs="+", help="student experiment directories")
    args = parser.parse_args(argv)
    model_name = args.inference_model.removesuffix(".pth").replace("/", "_")
    rows, seen = [], set()
    for student in args.students:
        found = rows_of(student, model_name)
        if not found:
            sys.exit(
                f"{student} has no benchmark_*_{model_name}/benchmark.json: run its stage 5 (./run.sh --stage 5)."
            )
        for row in found:
            if row[0].startswith("teacher"):  # every student's benchmark repeats the teacher
                if tuple(row[:2]) in seen:
                    continue
                seen.add(tuple(row[:2]))
            rows.append(row)
    header = [
        "system",
        "test set",
        "PESQ-wb",
        "STOI",
        "periodicity RMSE",
        "V/UV F1",
        "lowest firing rate",
        "mean firing rate",
        "energy vs ANN (reference)",
        "energy vs ANN (complete)",
        "decode speed (CPU, batch 1)",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = environment() + "\n## Ablation\n\n" + markdown_table(header, rows) + "\n"
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
