"""Energy, speed, pictures and report of vocoders: the library behind ``bin/benchmark``.

:func:`benchmark` runs one step per section of the report (:mod:`report`): energy
(:func:`count_energies`, :func:`reference_energies`), speed (:func:`time_decoding`,
:func:`time_onnx_decoding`, :func:`time_training_steps`) and pictures
(:func:`draw_pictures`), and writes ``benchmark.json``, ``energy_layers.tsv`` and
``report.md``. Systems are loaded vocoders (:class:`espnet2_spiking.vocoder.Vocoder`);
:func:`teacher_like` builds an untrained teacher of a student's shape, :func:`load_inputs`
reads the inputs.
"""

import copy
import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from espnet2_spiking.gan_vocoder.distillation import TEACHER_SHAPE
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.metrics import plots
from espnet2_spiking.metrics.energy import EnergyCount, component, count_energy, reference_energy
from espnet2_spiking.metrics.report import render_report
from espnet2_spiking.metrics.signals import harmonic_glide
from espnet2_spiking.metrics.spikes import record_spikes
from espnet2_spiking.metrics.speed import real_time_factors, training_steps
from espnet2_spiking.utils.audio import load_wav
from espnet2_spiking.utils.files import write_text
from espnet2_spiking.utils.scp import read_scp
from espnet2_spiking.vocoder import Vocoder

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


@dataclass
class Timing:
    """How decoding is timed: the batch sizes, and untimed and timed calls of each system."""

    batch_sizes: Sequence[int]
    warmup: int
    repeats: int


def benchmark(
    systems: Dict[str, Vocoder],
    inputs: Dict[str, np.ndarray],
    out_dir: str,
    batch_sizes: Sequence[int] = (1, 16),
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

    The steps are the report's sections: energy (:func:`count_energies` on ``inputs``),
    speed (:func:`time_decoding` on ``speed_seconds`` of the first input, on each of
    ``devices``, default cpu and cuda when present; on CPU also :func:`time_onnx_decoding`
    when ``onnx`` and onnxruntime is installed, the files kept in ``<out_dir>/onnx/``; and
    :func:`time_training_steps` on ``training_batch`` = (segments, frames), none when None)
    and pictures (:func:`draw_pictures`); ``quality`` (name -> evaluate's metrics.json) is
    reported as given.

    Returns:
        The results, also written to ``<out_dir>/benchmark.json``, with ``energy_layers.tsv``
        and ``report.md`` (titled ``title``) beside it.
    """
    rates = {name: s.fs for name, s in systems.items()}
    if len(set(rates.values())) > 1:
        raise ValueError(f"The systems compared must decode at one sample rate, got {rates}")
    fs = next(iter(rates.values()))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    devices = devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    first = next(iter(inputs.values()))
    results = dict(systems={n: s.description for n, s in systems.items()}, input=input_description)

    counts = count_energies(systems, inputs)
    results["energy"] = {name: c.summary() for name, c in counts.items()}
    results["reference_energy"] = reference_energies(systems, counts)
    _write_layer_table(out / "energy_layers.tsv", counts)

    timing = Timing(batch_sizes, warmup, repeats)
    mels = {name: s.mel(speed_inputs(first, speed_seconds, fs)) for name, s in systems.items()}
    results["speed"] = time_decoding(systems, mels, fs, devices, timing)
    if onnx and "cpu" in devices and importlib.util.find_spec("onnxruntime"):
        results["speed_onnx"] = time_onnx_decoding(systems, mels, fs, out / "onnx", timing)
    if training_batch:
        results["training_step"] = time_training_steps(
            systems, mels, training_batch, devices[0], warmup, max(1, repeats // 2)
        )

    results["pictures"] = draw_pictures(systems, counts, first, out, raster_layers)
    if quality:
        results["quality"] = quality
    write_text(out / "benchmark.json", json.dumps(results, indent=2) + "\n")
    write_text(out / "report.md", render_report(results, title))
    logging.info(f"wrote {out / 'report.md'}")
    return results


def count_energies(systems: Dict[str, Vocoder], inputs: Dict[str, np.ndarray]) -> Dict[str, EnergyCount]:
    """Operations and spikes of each system, summed over ``inputs`` (utt_id -> waveform (N,))."""
    counts = {}
    for name, system in systems.items():
        logging.info(f"counting operations of {name} on {len(inputs)} input(s)")
        counts[name] = sum(
            (count_energy(system.generator, system.mel(a)) for a in inputs.values()), EnergyCount()
        )
    return counts


def reference_energies(systems: Dict[str, Vocoder], counts: Dict[str, EnergyCount]) -> Dict[str, dict]:
    """The published formula on its published inputs, and on each spiking system's shape and firing rate."""
    energies = {"published inputs": reference_energy()}
    for name, system in systems.items():
        if system.is_spiking:
            shape = {k: system.generator.settings[k] for k in ENERGY_SHAPE}
            energies[f"this {name}'s shape and global firing rate"] = reference_energy(
                **shape, firing_rate=counts[name].global_firing_rate
            )
    return energies


def _write_layer_table(path: Path, counts: Dict[str, EnergyCount]):
    """``energy_layers.tsv``: the operations, energy and firing rate of every layer of every system."""
    lines = ["system\tlayer\tpart\tmac\tac\tsynop\tenergy_mj_per_1000_frames\tfiring_rate"]
    for name, c in counts.items():
        for layer, ops in c.layers.items():
            rate = c.firing_rates.get(layer)
            lines.append(
                f"{name}\t{layer or '(generator)'}\t{component(layer)}\t{ops.mac}\t{ops.ac}\t{ops.synop}\t"
                f"{c.energy_mj(ops):.6g}\t{'' if rate is None else f'{rate:.6g}'}"
            )
    write_text(path, "\n".join(lines) + "\n")


def time_decoding(
    systems: Dict[str, Vocoder], mels: Dict[str, torch.Tensor], fs: int, devices: List[str], timing: Timing
) -> Dict[str, List[dict]]:
    """PyTorch decoding speed of each system on each device, the systems in turn.

    Args:
        mels: Name -> the log-mel (1, C, L) timed, repeated to each batch size.

    Returns:
        Name -> one :func:`real_time_factors` run per device and batch size.
    """
    speed = {name: [] for name in systems}
    for device in devices:
        generators = {n: copy.deepcopy(s.generator).to(device).eval() for n, s in systems.items()}
        for name, runs in _time_in_turn(generators, mels, fs, device, timing).items():
            speed[name] += runs
    return speed


def time_onnx_decoding(
    systems: Dict[str, Vocoder], mels: Dict[str, torch.Tensor], fs: int, onnx_dir: Path, timing: Timing
) -> Dict[str, List[dict]]:
    """Decoding speed on CPU of each system exported to ``<onnx_dir>/<name>.onnx`` and run by
    onnxruntime (as :func:`time_decoding`); a system with a ``stats_file`` is not exported."""
    from espnet2_spiking.gan_vocoder.onnx_export import OnnxVocoder, export_onnx

    onnx_dir.mkdir(exist_ok=True)
    decoders = {}
    for name, system in systems.items():
        if system.generator.normalize is not None:
            logging.warning(f"{name}: no ONNX timing, a vocoder with stats_file is not exported")
            continue
        logging.info(f"exporting {name} to ONNX")
        path = export_onnx(copy.deepcopy(system.generator).cpu(), onnx_dir / f"{name}.onnx")
        decoders[name] = OnnxVocoder(path)
    return _time_in_turn(decoders, mels, fs, "cpu", timing, "onnxruntime") if decoders else {}


def _time_in_turn(
    generators: Dict[str, Callable],
    mels: Dict[str, torch.Tensor],
    fs: int,
    device: str,
    timing: Timing,
    runtime: str = "pytorch",
) -> Dict[str, List[dict]]:
    """Name -> one timing per batch size, the systems in turn call by call."""
    runs = {name: [] for name in generators}
    for batch in timing.batch_sizes:
        logging.info(f"timing {', '.join(generators)} in turn with {runtime} on {device}, batch {batch}")
        batch_mels = {n: mels[n].to(device).expand(batch, -1, -1) for n in generators}
        for name, run in real_time_factors(
            generators, batch_mels, fs, timing.warmup, timing.repeats, runtime
        ).items():
            runs[name].append(run)
    return runs


def time_training_steps(
    systems: Dict[str, Vocoder],
    mels: Dict[str, torch.Tensor],
    training_batch: Tuple[int, int],
    device: str,
    warmup: int,
    repeats: int,
) -> Dict[str, dict]:
    """Time and peak memory of one generator training step of each system, in turn.

    Args:
        mels: Name -> a log-mel (1, C, L); its first frames, repeated, are the batch.
        training_batch: (segments, frames) of the batch.

    Returns:
        Name -> :func:`training_steps`'s result.
    """
    segments, frames = training_batch
    logging.info(f"timing a training step of {', '.join(systems)} in turn, {segments} x {frames} frames")
    batches = {n: mels[n][..., :frames].repeat(segments, 1, 1).to(device) for n in systems}
    generators = {n: copy.deepcopy(s.generator).to(device) for n, s in systems.items()}
    return training_steps(generators, batches, warmup, repeats)


def draw_pictures(
    systems: Dict[str, Vocoder], counts: Dict[str, EnergyCount], audio: np.ndarray, out: Path, raster_layers: str
) -> Dict[str, str]:
    """``energy.png``; of each spiking system ``firing_rates_<name>.png`` and, decoding
    ``audio``, ``spikes_<name>.png`` (the layers matching ``raster_layers``).

    Returns:
        Caption -> file name in ``out``.
    """
    pictures = {
        "energy by part": plots.plot_energy({n: c.components() for n, c in counts.items()}, out / "energy.png")
    }
    for name, system in systems.items():
        if counts[name].spikes:
            pictures[f"firing rates: {name}"] = plots.plot_firing_rates(
                counts[name].firing_rates,
                out / f"firing_rates_{name}.png",
                f"Firing rate per spiking layer: {name}",
            )
            spikes = record_spikes(system.generator, system.mel(audio), raster_layers)
            if spikes:
                pictures[f"spikes: {name}"] = plots.plot_spike_raster(
                    {k: v.cpu().numpy() for k, v in spikes.items()}, out / f"spikes_{name}.png"
                )
    return {caption: path.name for caption, path in pictures.items()}
