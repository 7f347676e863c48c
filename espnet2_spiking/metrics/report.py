"""Markdown report of a benchmark (``report.md``), and appending it to a recipe's RESULTS.md."""

import math
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_spiking.metrics.energy import FREE_OPS

QUALITY_COLUMNS = [
    ("pesq_wb", "PESQ-wb", "{:.3f}"),
    ("stoi", "STOI", "{:.3f}"),
    ("periodicity_rmse", "periodicity RMSE", "{:.3f}"),
    ("vuv_f1", "V/UV F1", "{:.3f}"),
    ("pitch_rmse_cents", "pitch RMSE (cents)", "{:.1f}"),
    ("mel_l1", "log-mel L1", "{:.3f}"),
    ("mcd", "MCD (dB)", "{:.2f}"),
    ("utmos", "UTMOS", "{:.3f}"),
]


def _fmt(value, spec: str = "{:.3f}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return spec.format(value)


def markdown_table(header: Sequence[str], rows: List[Sequence[str]]) -> str:
    """A GitHub markdown table; the first column is left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _quality_section(quality: Dict[str, dict]) -> List[str]:
    header = ["system"] + [label for _, label, _ in QUALITY_COLUMNS] + ["utterances"]
    rows = [
        [name] + [_fmt(m.get(key), spec) for key, _, spec in QUALITY_COLUMNS] + [str(m.get("num_utts", "-"))]
        for name, m in quality.items()
    ]
    return ["### Quality", "", markdown_table(header, rows), ""]


def _energy_section(results: dict) -> List[str]:
    energy = results["energy"]
    per = next(iter(energy.values()))["per_frames"]
    rows = []
    for name, e in energy.items():
        ops = e["ops"]["complete"]
        rows.append(
            [
                name,
                f"{e['energy_mj']['reference']:.2f}",
                f"{e['energy_mj']['complete']:.2f}",
                f"{ops['mac'] * per / e['frames']:.3e}",
                f"{ops['ac'] * per / e['frames']:.3e}",
                f"{ops['synop'] * per / e['frames']:.3e}",
                _fmt(e["global_firing_rate"]),
            ]
        )
    header = [
        "system",
        "reference convention (mJ)",
        "complete count (mJ)",
        "MACs",
        "ACs",
        "of which SynOps",
        "firing rate",
    ]
    out = [
        f"### Energy per {per} frames",
        "",
        "Counted while the model runs (spikingjelly op counter), 4.6 pJ per MAC and 0.9 pJ per AC. "
        "*Reference convention*: ConvNeXt blocks only (depthwise conv as MACs, T times in the student; "
        "pointwise layers as MACs in the teacher, SynOps in the student). *Complete count*: every "
        "arithmetic operation of the forward pass. Operation counts are for the complete count.",
        "",
        markdown_table(header, rows),
        "",
    ]
    names = list(energy)
    if len(names) == 2:
        (a, ea), (b, eb) = ((n, energy[n]["energy_mj"]) for n in names)
        out += [
            f"{b} / {a}: **{100 * eb['reference'] / ea['reference']:.2f} %** in the reference convention, "
            f"**{100 * eb['complete'] / ea['complete']:.2f} %** in the complete count.",
            "",
        ]
    for label, ref in results.get("reference_energy", {}).items():
        out += [
            f"- Reference formula, {label} (firing rate {ref['firing_rate']:.3f}, T={ref['time_steps']}, "
            f"{ref['num_frames']} frames): SNN {ref['snn_mj']:.2f} mJ vs ANN {ref['ann_mj']:.2f} mJ = "
            f"{100 * ref['ratio']:.2f} %."
        ]
    if len(results.get("reference_energy", {})) > 1:
        out += [
            "",
            "The formula applies one global firing rate to both pointwise layers; the measured reference "
            "convention above counts each layer's own spikes times its fan-out, so the two differ when the "
            "layers fire at different rates.",
        ]
    out += ["", f"#### Energy by part (mJ per {per} frames)", ""]
    parts = list(dict.fromkeys(p for e in energy.values() for p in e["components"]))
    header = ["part"] + [f"{n} {conv}" for n in names for conv in ("reference", "complete")]
    rows = [
        [part]
        + [
            _fmt(energy[n]["components"].get(part, {}).get(conv), "{:.3f}")
            for n in names
            for conv in ("reference", "complete")
        ]
        for part in parts
    ]
    out += [markdown_table(header, rows), ""]
    added = [p for p in parts if not any(energy[n]["components"].get(p, {}).get("reference") for n in names)]
    if added:
        out += [f"The complete count adds what the reference convention leaves out: {'; '.join(added)}.", ""]
    uncounted = sorted({op for e in energy.values() for op in e["not_counted"]})
    free = [op for op in uncounted if op in FREE_OPS]
    left_out = [op for op in uncounted if op not in FREE_OPS]
    if free:
        out += [
            f"Not counted (no arithmetic: copies, views, casts): {', '.join(f'`{op}`' for op in free)}.",
            "",
        ]
    if left_out:
        out += [
            f"**Arithmetic without a counting rule, left out:** {', '.join(f'`{op}`' for op in left_out)}.",
            "",
        ]
    return out


def _firing_section(energy: Dict[str, dict]) -> List[str]:
    out = []
    for name, e in energy.items():
        if e["firing_rates"]:
            rows = [[layer, f"{rate:.4f}"] for layer, rate in e["firing_rates"].items()]
            out += [f"#### Firing rates: {name}", "", markdown_table(["layer", "firing rate"], rows), ""]
    return out


def _speed_section(speed: Dict[str, List[dict]], training: Optional[Dict[str, dict]] = None) -> List[str]:
    header = [
        "system",
        "runtime",
        "device",
        "threads",
        "batch",
        "audio per call (s)",
        "median (s)",
        "RTF",
        "x real time",
        "peak memory (MB)",
        "warm-up / repeats",
    ]
    rows = [
        [
            name,
            r.get("runtime", "pytorch"),
            r["device"],
            r["threads"],
            r["batch_size"],
            f"{r['audio_s']:.2f}",
            f"{r['median_s']:.4f}",
            f"{r['rtf']:.4f}",
            f"{r['speed_x']:.1f}",
            "-" if r.get("peak_memory_mb") is None else f"{r['peak_memory_mb']:.0f}",
            f"{r['warmup']} / {r['repeats']}",
        ]
        for name, runs in speed.items()
        for r in runs
    ]
    out = [
        "### Speed",
        "",
        "Same machine, same run, the systems timed in turn, call by call; RTF = median seconds per call / "
        "seconds of audio. Peak memory: "
        "the most that the call's PyTorch tensors held at once, weights excluded (not seen for onnxruntime).",
        "",
        markdown_table(header, rows),
        "",
    ]
    if training:
        first = next(iter(training.values()))["median_s"]
        header = ["system", "device", "threads", "batch x frames", "median (s)", "ratio", "peak memory (MB)"]
        rows = [
            [
                name,
                r["device"],
                r["threads"],
                f"{r['batch_size']} x {r['frames']}",
                f"{r['median_s']:.3f}",
                f"{r['median_s'] / first:.2f}",
                f"{r['peak_memory_mb']:.0f}",
            ]
            for name, r in training.items()
        ]
        out += [
            "#### One generator training step",
            "",
            "Forward, L1 loss on the waveform, backward (the discriminators left out), the systems timed "
            "in turn, step by step; ratio to the first system.",
            "",
            markdown_table(header, rows),
            "",
        ]
    return out


def render_report(results: dict, title: str = "Benchmark") -> str:
    """Markdown for a benchmark's results (the structure ``benchmark.json`` holds).

    Args:
        results: ``systems`` (name -> description), ``input`` (text), ``energy`` (name ->
            :meth:`EnergyCount.summary`), optional ``reference_energy``, ``speed`` and optional ``speed_onnx`` (name ->
            list of :func:`real_time_factor` results), optional ``training_step`` (name ->
            one system of :func:`training_steps`), ``quality`` (name -> evaluate's
            metrics.json) and ``pictures`` (caption -> PNG path relative to the report).
        title: Heading of the report.
    """
    out = [f"## {title}", ""]
    out += [f"- **{name}**: {desc}" for name, desc in results.get("systems", {}).items()]
    if "input" in results:
        out += [f"- **input**: {results['input']}"]
    out += [""]
    if results.get("quality"):
        out += _quality_section(results["quality"])
    if results.get("energy"):
        out += _energy_section(results)
        out += _firing_section(results["energy"])
    if results.get("speed"):
        speed = {**results["speed"], **{f"{n} (ONNX)": r for n, r in results.get("speed_onnx", {}).items()}}
        out += _speed_section(speed, results.get("training_step"))
    if results.get("pictures"):
        out += ["### Pictures", ""]
        out += [f"![{caption}]({png})" for caption, png in results["pictures"].items()]
        out += [""]
    return "\n".join(out)


def append_report(report_md, results_md) -> Path:
    """Append a report to a RESULTS.md, re-pointing its image links to stay valid from there.

    Args:
        report_md: The benchmark's ``report.md``.
        results_md: The file to append to (created if missing).
    """
    report_md, results_md = Path(report_md), Path(results_md)
    if not report_md.exists():
        raise FileNotFoundError(f"{report_md} not found: run espnet2_spiking.bin.benchmark first")
    base = os.path.abspath(results_md.parent)

    def relink(match):
        target = match.group(2)
        if re.match(r"^[a-z]+://|^/", target):
            return match.group(0)
        return f"![{match.group(1)}]({os.path.relpath(os.path.abspath(report_md.parent / target), base)})"

    text = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", relink, report_md.read_text())
    results_md.parent.mkdir(parents=True, exist_ok=True)
    with open(results_md, "a") as f:
        f.write(
            ("\n" if results_md.exists() and results_md.stat().st_size else "") + text.rstrip("\n") + "\n"
        )
    return results_md
