"""The ablation's RESULTS.md table (``pyscripts/utils/show_ablation.py``) from stage 5's benchmark.json files."""

import json
import subprocess
import sys
from pathlib import Path

RECIPE = Path(__file__).resolve().parents[1] / "egs2" / "libritts" / "voc1"


def write_benchmark(student: Path, stoi: float, rates: dict, student_mj: float):
    bench = dict(
        energy=dict(
            teacher=dict(energy_mj=dict(reference=10.0, complete=20.0), firing_rates={}),
            student=dict(energy_mj=dict(reference=student_mj, complete=2 * student_mj), firing_rates=rates),
        ),
        quality=dict(
            teacher=dict(pesq_wb=1.5, stoi=0.9, periodicity_rmse=0.2, vuv_f1=0.9),
            student=dict(pesq_wb=1.4, stoi=stoi, periodicity_rmse=0.25, vuv_f1=0.85),
        ),
        speed=dict(
            teacher=[dict(device="cpu", batch_size=1, speed_x=40.0)],
            student=[dict(device="cpu", batch_size=1, speed_x=10.0)],
        ),
    )
    out = student / "benchmark_mini_test_clean_valid.mel_loss.best"
    out.mkdir(parents=True)
    (out / "benchmark.json").write_text(json.dumps(bench))


def show(out: Path, *students: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "pyscripts/utils/show_ablation.py", "--out", str(out), *map(str, students)],
        cwd=RECIPE,
        capture_output=True,
        text=True,
    )


def test_one_row_per_student_and_one_teacher_row(tmp_path):
    a, b = tmp_path / "voc_ablation_standard_T4", tmp_path / "voc_ablation_tsm_T1"
    write_benchmark(a, 0.8, {"lif1": 0.1, "lif2": 0.02}, 1.0)
    write_benchmark(b, 0.7, {"lif1": 0.2, "lif2": 0.0}, 2.5)
    out = tmp_path / "RESULTS.md"
    assert show(out, a, b).returncode == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and "---" not in line]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows[1:]]
    assert [c[0] for c in cells] == ["teacher (ANN)", "voc_ablation_standard_T4", "voc_ablation_tsm_T1"]
    standard, tsm = cells[1], cells[2]
    assert standard[1:4] == ["mini_test_clean", "1.400", "0.800"]
    assert standard[6:] == [
        "0.0200",
        "0.0600",
        "10.0 %",
        "10.0 %",
        "10.0x",
    ]  # min, mean rate; energy ratios; speed
    assert tsm[6:9] == ["0.0000", "0.1000", "25.0 %"]
    assert cells[0][6:8] == ["-", "-"]  # an ANN has no firing rates


def test_a_student_without_benchmark_is_named(tmp_path):
    result = show(tmp_path / "RESULTS.md", tmp_path / "voc_ablation_tsm_T2")
    assert (
        result.returncode != 0
        and "voc_ablation_tsm_T2 has no benchmark_*_valid.mel_loss.best/benchmark.json" in result.stderr
    )
    assert not (tmp_path / "RESULTS.md").exists()
