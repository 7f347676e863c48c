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
(``--no_teacher`` leaves it out); ``--ngpu 1`` loads them on a GPU. Inputs are the first ``--num_utts`` utterances of
``--data`` (a Kaldi wav.scp at the model's rate) or a synthetic harmonic tone of 1000
frames.

Writes to ``--out_dir``: ``benchmark.json`` (everything), ``energy_layers.tsv`` (per
layer), ``energy.png``, ``firing_rates.png``, ``spikes.png`` and ``report.md``;
``--results_md RESULTS.md`` appends the report there. ``--quality NAME=metrics.json``
adds a system's quality (from ``espnet2_spiking.bin.evaluate``) to the report.
"""

import argparse
import logging
from pathlib import Path

import torch
from espnet2.utils import config_argparse
from espnet2.utils.types import str2bool, str_or_none

from espnet2_spiking.metrics.benchmark import benchmark, load_inputs, teacher_like
from espnet2_spiking.metrics.report import append_report, read_quality
from espnet2_spiking.utils.allocator import keep_freed_memory
from espnet2_spiking.utils.cli import add_log_level_argument, positive_int, setup_logging
from espnet2_spiking.vocoder import Vocoder, add_vocoder_arguments, vocoder_from_args


def get_parser() -> argparse.ArgumentParser:
    parser = config_argparse.ArgumentParser(
        description="Energy, speed and spike pictures of a (spiking) vocoder and its teacher",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_vocoder_arguments(parser)
    parser.add_argument(
        "--teacher_model_file", type=str_or_none, default=None, help="Trained ANN teacher (*.pth)"
    )
    parser.add_argument("--teacher_config", type=str_or_none, default=None, help="The teacher's config.yaml")
    parser.add_argument("--no_teacher", action="store_true", help="Benchmark the model alone")
    parser.add_argument(
        "--data",
        type=str_or_none,
        default=None,
        help="Kaldi wav.scp of inputs at the model's rate, files only (shell commands 'cmd |' are refused) "
        "(default: a synthetic tone)",
    )
    parser.add_argument("--num_utts", type=positive_int, default=10, help="Utterances of --data counted for energy")
    parser.add_argument("--out_dir", required=True, help="Where results, pictures and report.md are written")
    parser.add_argument("--batch_sizes", type=positive_int, nargs="+", default=[1, 16], help="Batch sizes timed")
    parser.add_argument(
        "--speed_seconds", type=float, default=10.0, help="Seconds of audio per utterance timed"
    )
    parser.add_argument("--warmup", type=int, default=2, help="Untimed calls of each system before timing")
    parser.add_argument(
        "--repeats", type=positive_int, default=5, help="Timed calls of each system, in turn (the median is reported)"
    )
    parser.add_argument(
        "--num_threads", type=positive_int, default=None, help="CPU threads of torch (default: torch's)"
    )
    parser.add_argument(
        "--speed_devices", nargs="+", default=None, help="Devices timed (default: cpu, and cuda when present)"
    )
    parser.add_argument(
        "--onnx",
        type=str2bool,
        default=True,
        help="Also export each model to ONNX and time it with onnxruntime (when installed)",
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
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    keep_freed_memory()
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    quality = read_quality(args.quality)
    model = vocoder_from_args(args)
    systems = {}
    if args.teacher_model_file:
        systems["teacher"] = Vocoder.from_pretrained(
            args.teacher_model_file, args.teacher_config, model.device
        )
    elif model.is_spiking and not args.no_teacher:
        systems["teacher"] = teacher_like(model)
    systems["student" if model.is_spiking else "model"] = model
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
        onnx=args.onnx,
    )
    if args.results_md:
        append_report(Path(args.out_dir) / "report.md", args.results_md)
        logging.info(f"appended the report to {args.results_md}")


if __name__ == "__main__":
    main()
