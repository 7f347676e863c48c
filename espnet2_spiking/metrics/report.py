"""Markdown report of a benchmark (``report.md``), and appending it to a recipe's RESULTS.md.

:func:`render_report` writes one section per part of ``benchmark.json``: quality, energy
(energy by part, firing rates), speed (one training step) and pictures. Every table of the
project's reports is a :func:`markdown_table` of :func:`format_cell` cells.
"""

import json
import math
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_spiking.metrics.energy import FREE_OPS
from espnet2_spiking.utils.files import write_text

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


def format_cell(value, spec: str = "{:.3f}") -> str:
    """A table cell: ``value`` formatted by ``spec``, or ``-`` when it is missing (None) or NaN."""
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
        [name]
        + [format_cell(m.get(key), spec) for key, _, spec in QUALITY_COLUMNS]
        + [str(m.get("num_utts", "-"))]
        for name, m in quality.items()
    ]
    return ["### Quality", "", markdown_table(header, rows), ""]


ENERGY_NOTE = (
    "Counted while the model runs (spikingjelly op counter), 4.6 pJ per MAC and 0.9 pJ per AC. "
    "*Reference convention*: ConvNeXt blocks only (depthwise conv as MACs, T times in the student; "
    "pointwise layers as MACs in the teacher, SynOps in the student). *Complete count*: every "
    "arithmetic operation of the forward pass. Operation counts are for the complete count."
)
CONVENTIONS = ("reference", "complete")


def _energy_section(results: dict) -> List[str]:
    """Energy per system, the student's share, the published formula, energy by part, what is not counted."""
    energy = results["energy"]
    per = next(iter(energy.values()))["per_frames"]
    out = [f"### Energy per {per} frames", "", ENERGY_NOTE, "", _energy_table(energy, per), ""]
    out += _energy_share(energy)
    out += _reference_formula(results.get("reference_energy", {}))
    out += _energy_by_part(energy, per)
    out += _not_counted(energy)
    return out


def _energy_table(energy: Dict[str, dict], per: int) -> str:
    """One row per system: energy in both conventions, operations per ``per`` frames, firing rate."""
    header = ["system", "reference convention (mJ)", "complete count (mJ)", "MACs", "ACs", "of which SynOps"]
    rows = [
        [name]
        + [f"{e['energy_mj'][conv]:.2f}" for conv in CONVENTIONS]
        + [f"{e['ops']['complete'][op] * per / e['frames']:.3e}" for op in ("mac", "ac", "synop")]
        + [format_cell(e["global_firing_rate"])]
        for name, e in energy.items()
    ]
    return markdown_table(header + ["firing rate"], rows)


def _energy_share(energy: Dict[str, dict]) -> List[str]:
    """Of two systems, the second's energy as a share of the first's, in both conventions."""
    if len(energy) != 2:
        return []
    (a, ea), (b, eb) = ((n, e["energy_mj"]) for n, e in energy.items())
    return [
        f"{b} / {a}: **{100 * eb['reference'] / ea['reference']:.2f} %** in the reference convention, "
        f"**{100 * eb['complete'] / ea['complete']:.2f} %** in the complete count.",
        "",
    ]


def _reference_formula(reference_energy: Dict[str, dict]) -> List[str]:
    """The published closed form (:func:`energy.reference_energy`), one line per set of inputs."""
    out = [
        f"- Reference formula, {label} (firing rate {ref['firing_rate']:.3f}, T={ref['time_steps']}, "
        f"{ref['num_frames']} frames): SNN {ref['snn_mj']:.2f} mJ vs ANN {ref['ann_mj']:.2f} mJ = "
        f"{100 * ref['ratio']:.2f} %."
        for label, ref in reference_energy.items()
    ]
    if len(reference_energy) > 1:
        out += [
            "",
            "The formula applies one global firing rate to both pointwise layers; the measured reference "
            "convention above counts each layer's own spikes times its fan-out, so the two differ when the "
            "layers fire at different rates.",
        ]
    return out


def _energy_by_part(energy: Dict[str, dict], per: int) -> List[str]:
    """Energy of each part of the vocoder, per system and convention; the parts only the complete count has."""
    names = list(energy)
    parts = list(dict.fromkeys(p for e in energy.values() for p in e["components"]))
    header = ["part"] + [f"{n} {conv}" for n in names for conv in CONVENTIONS]
    rows = [
        [part]
        + [format_cell(energy[n]["components"].get(part, {}).get(conv)) for n in names for conv in CONVENTIONS]
        for part in parts
    ]
    out = ["", f"#### Energy by part (mJ per {per} frames)", "", markdown_table(header, rows), ""]
    added = [p for p in parts if not any(energy[n]["components"].get(p, {}).get("reference") for n in names)]
    if added:
        out += [f"The complete count adds what the reference convention leaves out: {'; '.join(added)}.", ""]
    return out


def _not_counted(energy: Dict[str, dict]) -> List[str]:
    """The aten operations without a counting rule: free ones (copies, views, casts) and arithmetic left out."""
    uncounted = sorted({op for e in energy.values() for op in e["not_counted"]})
    free = [f"`{op}`" for op in uncounted if op in FREE_OPS]
    left_out = [f"`{op}`" for op in uncounted if op not in FREE_OPS]
    out = []
    if free:
        out += [f"Not counted (no arithmetic: copies, views, casts): {', '.join(free)}.", ""]
    if left_out:
        out += [f"**Arithmetic without a counting rule, left out:** {', '.join(left_out)}.", ""]
    return out


def _firing_section(energy: Dict[str, dict]) -> List[str]:
    out = []
    for name, e in energy.items():
        if e["firing_rates"]:
            rows = [[layer, f"{rate:.4f}"] for layer, rate in e["firing_rates"].items()]
            out += [f"#### Firing rates: {name}", "", markdown_table(["layer", "firing rate"], rows), ""]
    return out


SPEED_NOTE = (
    "Same machine, same run, the systems timed in turn, call by call; RTF = median seconds per call / "
    "seconds of audio. Peak memory: "
    "the most that the call's PyTorch tensors held at once, weights excluded (not seen for onnxruntime)."
)
SPEED_COLUMNS = [  # header, cell of one run of :func:`speed.real_time_factors`
    ("runtime", lambda r: r.get("runtime", "pytorch")),
    ("device", lambda r: r["device"]),
    ("threads", lambda r: r["threads"]),
    ("batch", lambda r: r["batch_size"]),
    ("audio per call (s)", lambda r: f"{r['audio_s']:.2f}"),
    ("median (s)", lambda r: f"{r['median_s']:.4f}"),
    ("RTF", lambda r: f"{r['rtf']:.4f}"),
    ("x real time", lambda r: f"{r['speed_x']:.1f}"),
    ("peak memory (MB)", lambda r: format_cell(r.get("peak_memory_mb"), "{:.0f}")),
    ("warm-up / repeats", lambda r: f"{r['warmup']} / {r['repeats']}"),
]
TRAINING_NOTE = (
    "Forward, L1 loss on the waveform, backward (the discriminators left out), the systems timed "
    "in turn, step by step; ratio to the first system."
)


def _speed_section(speed: Dict[str, List[dict]], training: Optional[Dict[str, dict]] = None) -> List[str]:
    """Decoding speed of every run; the time of one training step when ``training`` is given."""
    header = ["system"] + [label for label, _ in SPEED_COLUMNS]
    rows = [[name] + [cell(r) for _, cell in SPEED_COLUMNS] for name, runs in speed.items() for r in runs]
    out = ["### Speed", "", SPEED_NOTE, "", markdown_table(header, rows), ""]
    if training:
        out += ["#### One generator training step", "", TRAINING_NOTE, "", _training_table(training), ""]
    return out


def _training_table(training: Dict[str, dict]) -> str:
    """One row per system of :func:`speed.training_steps`, with its time as a ratio to the first's."""
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
    return markdown_table(header, rows)


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


def read_quality(entries: List[str]) -> Dict[str, dict]:
    """The quality of each system for the report's Quality section.

    Args:
        entries: ``NAME=path/to/metrics.json`` each (``bin/benchmark --quality``), the
            ``metrics.json`` of ``espnet2_spiking.bin.evaluate``.

    Returns:
        Name -> its metrics.
    """
    quality = {}
    for entry in entries:
        name, sep, path = entry.partition("=")
        if not sep or not name:
            raise ValueError(f"--quality expects NAME=path/to/metrics.json, got {entry!r}")
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"--quality {entry}: {path} not found (run espnet2_spiking.bin.evaluate first)"
            )
        quality[name] = json.loads(Path(path).read_text())
    return quality


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
    before = results_md.read_text(encoding="utf-8") if results_md.exists() else ""
    return write_text(results_md, before + ("\n" if before else "") + text.rstrip("\n") + "\n")
