"""Energy, speed, pictures and report of vocoders: the library behind ``bin/benchmark``.

:func:`benchmark` counts the operations and energy of each system on the inputs, times
it on each device and batch size, draws the energy, firing-rate and spike pictures and
writes ``benchmark.json``, ``energy_layers.tsv`` and ``report.md``. Systems are loaded
vocoders (:class:`espnet2_spiking.vocoder.Vocoder`); :func:`teacher_like` builds an
untrained teacher of a student's shape.
"""

import copy
import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.metrics import plots
from espnet2_spiking.metrics.energy import EnergyCount, component, count_energy, reference_energy
from espnet2_spiking.metrics.report import render_report
from espnet2_spiking.metrics.signals import harmonic_glide
from espnet2_spiking.metrics.spikes import record_spikes
from espnet2_spiking.metrics.speed import real_time_factors, training_steps
from espnet2_spiking.utils.audio_check import load_wav
from espnet2_spiking.utils.scp import read_scp
from espnet2_spiking.vocoder import Vocoder

# the generator settings a teacher shares with its student
TEACHER_SHAPE = ("in_channels", "dim", "intermediate_dim", "num_layers", "kernel_size", "n_fft", "hop_length")
# the generator settings that the published energy formula reads
ENERGY_SHAPE = ("dim", "intermediate_dim", "num_layers", "kernel_size", "time_steps")


def teacher_like(student: Vocoder) -> Vocoder:
    """An untrained Vocos teacher of the student's shape and features (for energy and speed)."""
    shape = {k: student.generator.settings[k] for k in TEACHER_SHAPE}
    return Vocoder.from_generator(
        VocosGenerator(**shape),
        student.feats_extract,
        device=student.device,
        origin="untrained, the student's shape",
    )


def load_inputs(data: Optional[str], num_utts: int, fs: int, hop_length: int) -> Dict[str, np.ndarray]:
    """Waveforms to benchmark on: utt_id -> (N,) at ``fs``."""
    if data is None:
        return {"synthetic": harmonic_glide(fs, 999 * hop_length / fs)}  # 1000 frames
    inputs = {}
    for utt, path in list(read_scp(data).items())[:num_utts]:
        audio, rate = load_wav(path)
        if rate != fs:
            raise ValueError(f"{data}: {path} is {rate} Hz but the model runs at {fs} Hz; resample the data")
        inputs[utt] = audio
    return inputs


def speed_inputs(audio: np.ndarray, seconds: float, fs: int) -> np.ndarray:
    """``seconds`` of audio: the waveform repeated (or cut) to that length."""
    n = int(round(seconds * fs))
    return np.resize(audio, n).astype(np.float32)


def benchmark(
    systems: Dict[str, Vocoder],
    inputs: Dict[str, np.ndarray],
    out_dir: str,
    batch_sizes: List[int] = (1, 16),
    speed_seconds: float = 10.0,
    warmup: int = 2,
    repeats: int = 5,
    devices: Optional[List[str]] = None,
    raster_layers: str = r"lif1$",
    quality: Optional[Dict[str, dict]] = None,
    input_description: str = "",
    title: str = "Benchmark",
    onnx: bool = True,
    training_batch: Optional[Tuple[int, int]] = (16, 64),
) -> dict:
    """Count energy, time speed, draw pictures and write the report of ``systems``.

    Besides PyTorch's decoding speed (``speed``), on CPU: the decoding speed of each system
    exported to ONNX and run by onnxruntime (``speed_onnx``; when ``onnx`` and onnxruntime
    is installed; the files are kept in ``<out_dir>/onnx/``), and the time and peak memory
    of one generator training step on ``training_batch`` = (segments, frames) of the first
    input, the systems in turn (``training_steps``; none when None).

    Returns:
        The results, also written to ``<out_dir>/benchmark.json``.
    """
    rates = {name: s.fs for name, s in systems.items()}
    if len(set(rates.values())) > 1:
        raise ValueError(f"The systems compared must decode at one sample rate, got {rates}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    devices = devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    results = dict(systems={n: s.description for n, s in systems.items()}, input=input_description)

    counts: Dict[str, EnergyCount] = {}
    for name, system in systems.items():
        logging.info(f"counting operations of {name} on {len(inputs)} input(s)")
        counts[name] = sum(
            (count_energy(system.generator, system.mel(a)) for a in inputs.values()), EnergyCount()
        )
    results["energy"] = {name: c.summary() for name, c in counts.items()}
    results["reference_energy"] = {"published inputs": reference_energy()}
    for name, system in systems.items():
        if system.is_spiking:
            shape = {k: system.generator.settings[k] for k in ENERGY_SHAPE}
            results["reference_energy"][f"this {name}'s shape and global firing rate"] = reference_energy(
                **shape, firing_rate=counts[name].global_firing_rate
            )
    _write_layer_table(out / "energy_layers.tsv", counts)

    first = next(iter(inputs.values()))
    fs = next(iter(systems.values())).fs
    speed_mels = {name: s.mel(speed_inputs(first, speed_seconds, fs)) for name, s in systems.items()}

    def timed_side_by_side(generators, device, runtime="pytorch"):
        """Name -> one timing per batch size, the systems in turn call by call."""
        runs = {name: [] for name in generators}
        for batch in batch_sizes:
            logging.info(f"timing {', '.join(generators)} in turn with {runtime} on {device}, batch {batch}")
            mels = {n: speed_mels[n].to(device).expand(batch, -1, -1) for n in generators}
            for name, run in real_time_factors(generators, mels, fs, warmup, repeats, runtime).items():
                runs[name].append(run)
        return runs

    results["speed"] = {name: [] for name in systems}
    for device in devices:
        generators = {n: copy.deepcopy(s.generator).to(device).eval() for n, s in systems.items()}
        for name, runs in timed_side_by_side(generators, device).items():
            results["speed"][name] += runs
    if onnx and "cpu" in devices and importlib.util.find_spec("onnxruntime"):
        from espnet2_spiking.gan_vocoder.onnx_export import OnnxVocoder, export_onnx

        (out / "onnx").mkdir(exist_ok=True)
        decoders = {}
        for name, system in systems.items():
            if system.generator.normalize is not None:
                logging.warning(f"{name}: no ONNX timing, a vocoder with stats_file is not exported")
                continue
            logging.info(f"exporting {name} to ONNX")
            decoders[name] = OnnxVocoder(
                export_onnx(copy.deepcopy(system.generator).cpu(), out / "onnx" / f"{name}.onnx")
            )
        results["speed_onnx"] = timed_side_by_side(decoders, "cpu", "onnxruntime") if decoders else {}
    if training_batch:
        segments, frames = training_batch
        logging.info(f"timing a training step of {', '.join(systems)} in turn, {segments} x {frames} frames")
        mels = {
            n: s.mel(speed_inputs(first, speed_seconds, s.fs))[..., :frames]
            .repeat(segments, 1, 1)
            .to(devices[0])
            for n, s in systems.items()
        }
        generators = {n: copy.deepcopy(s.generator).to(devices[0]) for n, s in systems.items()}
        results["training_step"] = training_steps(generators, mels, warmup, max(1, repeats // 2))

    pictures = {
        "energy by part": plots.plot_energy(
            {n: c.components() for n, c in counts.items()}, out / "energy.png"
        )
    }
    for name, system in systems.items():
        if counts[name].spikes:
            pictures[f"firing rates: {name}"] = plots.plot_firing_rates(
                counts[name].firing_rates,
                out / f"firing_rates_{name}.png",
                f"Firing rate per spiking layer: {name}",
            )
            spikes = record_spikes(system.generator, system.mel(first), raster_layers)
            if spikes:
                pictures[f"spikes: {name}"] = plots.plot_spike_raster(
                    {k: v.cpu().numpy() for k, v in spikes.items()}, out / f"spikes_{name}.png"
                )
    results["pictures"] = {caption: path.name for caption, path in pictures.items()}
    if quality:
        results["quality"] = quality

    (out / "benchmark.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "report.md").write_text(render_report(results, title))
    logging.info(f"wrote {out / 'report.md'}")
    return results


def _write_layer_table(path: Path, counts: Dict[str, EnergyCount]):
    lines = ["system\tlayer\tpart\tmac\tac\tsynop\tenergy_mj_per_1000_frames\tfiring_rate"]
    for name, c in counts.items():
        for layer, ops in c.layers.items():
            rate = c.firing_rates.get(layer)
            lines.append(
                f"{name}\t{layer or '(generator)'}\t{component(layer)}\t{ops.mac}\t{ops.ac}\t{ops.synop}\t"
                f"{c.energy_mj(ops):.6g}\t{'' if rate is None else f'{rate:.6g}'}"
            )
    path.write_text("\n".join(lines) + "\n")


def read_quality(entries: List[str]) -> Dict[str, dict]:
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

