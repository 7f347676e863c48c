#!/usr/bin/env python3
"""Energy and speed of the spiking student and its ANN teacher, with pictures and a report.

    python -m espnet2_spiking.bin.benchmark --model_file exp/snn/valid.mel_loss.best.pth \\
        --teacher_model_file exp/ann/valid.mel_loss.best.pth --data dump/raw/test/wav.scp --out_dir bench/
    # untrained models of the published size (energy and speed need no trained weights):
    python -m espnet2_spiking.bin.benchmark --generator_type spiking_vocos \\
        --generator_conf time_steps=4 --out_dir bench/

The student is ``--model_file`` (with ``--train_config``, default config.yaml beside it)
or an untrained ``--generator_type``/``--generator_conf``; the teacher is
``--teacher_model_file`` or, for a spiking model, an untrained Vocos of the same shape
(``--no_teacher`` leaves it out). Inputs are the first ``--num_utts`` utterances of
``--data`` (a Kaldi wav.scp at the model's rate) or a synthetic harmonic tone of 1000
frames.

Writes to ``--out_dir``: ``benchmark.json`` (everything), ``energy_layers.tsv`` (per
layer), ``energy.png``, ``firing_rates.png``, ``spikes.png`` and ``report.md``;
``--results_md RESULTS.md`` appends the report there. ``--quality NAME=metrics.json``
adds a system's quality (from ``espnet2_spiking.bin.evaluate``) to the report.
"""

import argparse
import copy
import json
import logging
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Optional

import numpy as np
import torch
from espnet2.utils import config_argparse
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str_or_none
from spikingjelly.activation_based import neuron

from espnet2_spiking.bin.evaluate import load_wav
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.layers.mel import LogMel
from espnet2_spiking.metrics import plots
from espnet2_spiking.metrics.energy import (
    EnergyCount,
    component,
    count_energy,
    record_spikes,
    reference_energy,
)
from espnet2_spiking.metrics.report import append_report, render_report
from espnet2_spiking.metrics.signals import harmonic_glide
from espnet2_spiking.metrics.speed import real_time_factor
from espnet2_spiking.registry import VOCODERS
from espnet2_spiking.utils.cli import setup_logging
from espnet2_spiking.utils.scp import read_scp


def is_spiking(generator: torch.nn.Module) -> bool:
    return any(isinstance(m, neuron.BaseNode) for m in generator.modules())


def describe(generator: torch.nn.Module, origin: str) -> str:
    """One line: class, size, time steps, where the weights come from."""
    params = sum(p.numel() for p in generator.parameters())
    steps = getattr(getattr(generator, "backbone", None), "time_steps", None)
    return (
        f"{type(generator).__name__}, {params:,} parameters"
        + (f", T={steps}" if steps else "")
        + f", {origin}"
    )


def load_vocoder(
    model_file: Optional[str] = None,
    train_config: Optional[str] = None,
    generator_type: str = "spiking_vocos",
    generator_conf: Optional[dict] = None,
    fs: int = 24000,
    device: str = "cpu",
) -> SimpleNamespace:
    """A trained vocoder (``model_file``) or an untrained one (``generator_type`` + ``generator_conf``).

    Returns:
        ``generator`` (eval mode), ``feats_extract`` (LogMel), ``fs`` and ``description``.
    """
    if model_file:
        from espnet2_spiking.bin.gan_vocoder_inference import Vocoder

        vocoder = Vocoder.from_pretrained(model_file, train_config, device=device)
        return SimpleNamespace(
            generator=vocoder.generator.eval(),
            feats_extract=vocoder.feats_extract,
            fs=vocoder.fs,
            description=describe(vocoder.generator, f"trained ({model_file})"),
        )
    generator = VOCODERS[generator_type](**(generator_conf or {})).to(device).eval()
    return SimpleNamespace(
        generator=generator,
        feats_extract=_features_of(generator, fs),
        fs=fs,
        description=describe(generator, "untrained"),
    )


def _features_of(generator: torch.nn.Module, fs: int) -> LogMel:
    """The Vocos features that match a generator's mel bins, FFT size and hop."""
    return LogMel(
        fs=fs,
        n_fft=generator.head.istft.n_fft,
        hop_length=generator.upsample_factor,
        n_mels=generator.in_channels,
    )


def teacher_like(student: SimpleNamespace) -> SimpleNamespace:
    """An untrained Vocos teacher of the student's shape (for energy and speed)."""
    g = student.generator
    block = g.backbone.convnext[0]
    teacher = (
        VocosGenerator(
            in_channels=g.in_channels,
            dim=block.dwconv.in_channels,
            intermediate_dim=block.pwconv1.out_features,
            num_layers=len(g.backbone.convnext),
            kernel_size=block.dwconv.kernel_size[0],
            n_fft=g.head.istft.n_fft,
            hop_length=g.upsample_factor,
        )
        .to(next(g.parameters()).device)
        .eval()
    )
    return SimpleNamespace(
        generator=teacher,
        feats_extract=student.feats_extract,
        fs=student.fs,
        description=describe(teacher, "untrained, the student's shape"),
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


def _mel(system: SimpleNamespace, audio: np.ndarray) -> torch.Tensor:
    device = next(system.generator.parameters()).device
    with torch.no_grad():
        return system.feats_extract.mel(torch.from_numpy(audio)[None].to(device))


def speed_inputs(audio: np.ndarray, seconds: float, fs: int) -> np.ndarray:
    """``seconds`` of audio: the waveform repeated (or cut) to that length."""
    n = int(round(seconds * fs))
    return np.resize(audio, n).astype(np.float32)


def benchmark(
    systems: Dict[str, SimpleNamespace],
    inputs: Dict[str, np.ndarray],
    out_dir: str,
    batch_sizes: List[int] = (1, 16),
    speed_seconds: float = 10.0,
    warmup: int = 1,
    repeats: int = 5,
    devices: Optional[List[str]] = None,
    raster_layers: str = r"lif1$",
    quality: Optional[Dict[str, dict]] = None,
    input_description: str = "",
    title: str = "Benchmark",
) -> dict:
    """Count energy, time speed, draw pictures and write the report of ``systems``.

    Returns:
        The results, also written to ``<out_dir>/benchmark.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    devices = devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    results = dict(systems={n: s.description for n, s in systems.items()}, input=input_description)

    counts: Dict[str, EnergyCount] = {}
    for name, system in systems.items():
        logging.info(f"counting operations of {name} on {len(inputs)} input(s)")
        counts[name] = sum(
            (count_energy(system.generator, _mel(system, a)) for a in inputs.values()), EnergyCount()
        )
    results["energy"] = {name: c.summary() for name, c in counts.items()}
    results["reference_energy"] = {"published inputs": reference_energy()}
    for name, system in systems.items():
        if is_spiking(system.generator):
            g = system.generator
            block = g.backbone.convnext[0]
            results["reference_energy"][f"this {name}'s shape and global firing rate"] = reference_energy(
                dim=block.dwconv.in_channels,
                intermediate_dim=block.pwconv1.out_features,
                num_layers=len(g.backbone.convnext),
                kernel_size=block.dwconv.kernel_size[0],
                time_steps=g.backbone.time_steps,
                firing_rate=counts[name].global_firing_rate,
            )
    _write_layer_table(out / "energy_layers.tsv", counts)

    results["speed"] = {}
    first = next(iter(inputs.values()))
    for name, system in systems.items():
        runs = []
        for device in devices:
            generator = copy.deepcopy(system.generator).to(device).eval()
            mel = _mel(system, speed_inputs(first, speed_seconds, system.fs)).to(device)
            for batch in batch_sizes:
                logging.info(f"timing {name} on {device}, batch {batch}")
                runs.append(
                    real_time_factor(generator, mel.expand(batch, -1, -1), system.fs, warmup, repeats)
                )
        results["speed"][name] = runs

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
            spikes = record_spikes(system.generator, _mel(system, first), raster_layers)
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


def add_model_arguments(parser: argparse.ArgumentParser):
    """Trained (``--model_file``, ``--train_config``) or untrained (``--generator_type``,
    ``--generator_conf``, ``--fs``) model, and ``--device``."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model_file", type=str_or_none, default=None, help="Trained generator checkpoint (*.pth)"
    )
    group.add_argument(
        "--train_config",
        type=str_or_none,
        default=None,
        help="Its config.yaml (default: beside --model_file)",
    )
    group.add_argument(
        "--generator_type",
        choices=sorted(VOCODERS),
        default="spiking_vocos",
        help="Untrained generator to build when no --model_file is given",
    )
    group.add_argument(
        "--generator_conf",
        action=NestedDictAction,
        default=dict(),
        help="Its arguments, e.g. time_steps=4 or '{dim: 512}'",
    )
    group.add_argument("--fs", type=int, default=24000, help="Sample rate of an untrained generator")
    group.add_argument("--device", default="cpu", help="Device the model is loaded on")


def get_parser() -> argparse.ArgumentParser:
    parser = config_argparse.ArgumentParser(
        description="Energy, speed and spike pictures of a (spiking) vocoder and its teacher",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--teacher_model_file", type=str_or_none, default=None, help="Trained ANN teacher (*.pth)"
    )
    parser.add_argument("--teacher_config", type=str_or_none, default=None, help="The teacher's config.yaml")
    parser.add_argument("--no_teacher", action="store_true", help="Benchmark the model alone")
    parser.add_argument(
        "--data",
        type=str_or_none,
        default=None,
        help="Kaldi wav.scp of inputs at the model's rate (default: a synthetic tone)",
    )
    parser.add_argument("--num_utts", type=int, default=10, help="Utterances of --data counted for energy")
    parser.add_argument("--out_dir", required=True, help="Where results, pictures and report.md are written")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 16], help="Batch sizes timed")
    parser.add_argument(
        "--speed_seconds", type=float, default=10.0, help="Seconds of audio per utterance timed"
    )
    parser.add_argument("--warmup", type=int, default=1, help="Untimed calls before timing")
    parser.add_argument("--repeats", type=int, default=5, help="Timed calls (the median is reported)")
    parser.add_argument(
        "--num_threads", type=int, default=None, help="CPU threads of torch (default: torch's)"
    )
    parser.add_argument(
        "--speed_devices", nargs="+", default=None, help="Devices timed (default: cpu, and cuda when present)"
    )
    parser.add_argument(
        "--raster_layers", default=r"lif1$", help="Regex of the spiking layers in spikes_*.png"
    )
    parser.add_argument(
        "--quality",
        action="append",
        default=[],
        metavar="NAME=METRICS_JSON",
        help="Add a system's metrics.json from evaluate to the report (repeatable)",
    )
    parser.add_argument("--title", default="Benchmark", help="Heading of the report")
    parser.add_argument("--results_md", type=str_or_none, default=None, help="Append the report to this file")
    parser.add_argument("--log_level", default="INFO", choices=["ERROR", "WARNING", "INFO", "DEBUG"])
    return parser


def _read_quality(entries: List[str]) -> Dict[str, dict]:
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


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    quality = _read_quality(args.quality)
    model = load_vocoder(
        args.model_file, args.train_config, args.generator_type, args.generator_conf, args.fs, args.device
    )
    systems = {}
    if args.teacher_model_file:
        systems["teacher"] = load_vocoder(args.teacher_model_file, args.teacher_config, device=args.device)
    elif is_spiking(model.generator) and not args.no_teacher:
        systems["teacher"] = teacher_like(model)
    systems["student" if is_spiking(model.generator) else "model"] = model
    hop = model.generator.upsample_factor
    inputs = load_inputs(args.data, args.num_utts, model.fs, hop)
    frames = sum(len(a) // hop + 1 for a in inputs.values())
    source = f"{len(inputs)} utterance(s) of {args.data}" if args.data else "a synthetic harmonic tone"
    benchmark(
        systems,
        inputs,
        args.out_dir,
        batch_sizes=args.batch_sizes,
        speed_seconds=args.speed_seconds,
        warmup=args.warmup,
        repeats=args.repeats,
        devices=args.speed_devices,
        raster_layers=args.raster_layers,
        quality=quality,
        input_description=f"{source}, {frames} frames at {model.fs} Hz; speed on {args.speed_seconds:g} s",
        title=args.title,
    )
    if args.results_md:
        append_report(Path(args.out_dir) / "report.md", args.results_md)
        logging.info(f"appended the report to {args.results_md}")


if __name__ == "__main__":
    main()
