#!/usr/bin/env python3
"""The dense floor of the student's speed: how much of a call is matrix products?

Profiles decoding (batch 1) and one generator training step (forward, L1 loss, backward) of
the teacher and of the student at the published size, and sums the time of the matrix
products (``aten::mm``, ``addmm``, ``bmm``, ``baddbmm``: the pointwise layers and their
gradients). At T time steps the student does T times the teacher's pointwise MACs, so on
dense hardware its matrix products alone bound how close to the teacher it can come:
the last column is the student's matrix-product time divided by the teacher's whole call.
Prints a markdown table.

    python pyscripts/lab/matmul_floor.py --time_steps 4 --threads 2
"""

import argparse
import time
from typing import Callable, Dict, Tuple

import torch
from torch.profiler import ProfilerActivity, profile

MATMUL_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}


def matmul_seconds(fn: Callable[[], object], calls: int) -> Tuple[float, float]:
    """Seconds per call of ``fn``, and the part of them spent in matrix products (profiled)."""
    fn()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        total = time.perf_counter() - start
    matmul_us = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in MATMUL_OPS)
    return total / calls, matmul_us / 1e6 / calls


def workloads(generator: torch.nn.Module, mel: torch.Tensor, batch: torch.Tensor) -> Dict[str, Callable]:
    """Decoding of ``mel`` (1, C, L) and the benchmark's training step on ``batch`` (B, C, L)."""
    from espnet2_spiking.metrics.speed import generator_training_step

    def decode():
        with torch.no_grad():
            generator.eval()(mel)

    return {"decoding": decode, "training step": lambda: generator_training_step(generator.train(), batch)}


def floor_table(generators: Dict[str, torch.nn.Module], mel: torch.Tensor, batch: torch.Tensor, calls: int):
    """Rows (system, work, seconds per call, matrix-product seconds) and each work's floor ratio.

    Returns:
        The rows, and work -> the last system's matrix-product seconds over the first's whole call.
    """
    rows = []
    for name, generator in generators.items():
        for work, fn in workloads(generator, mel, batch).items():
            rows.append((name, work, *matmul_seconds(fn, calls)))
    first, last = list(generators)[0], list(generators)[-1]
    whole = {work: s for name, work, s, _ in rows if name == first}
    floor = {work: mm / whole[work] for name, work, _, mm in rows if name == last}
    return rows, floor


def main(cmd=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--time_steps", type=int, default=4, help="Student's SNN time steps T")
    parser.add_argument("--dim", type=int, default=512, help="Channels of the residual stream")
    parser.add_argument("--intermediate_dim", type=int, default=1536, help="Hidden channels of the MLP")
    parser.add_argument("--num_layers", type=int, default=8, help="Blocks")
    parser.add_argument("--frames", type=int, default=938, help="Decoded frames (938: 10 s at 24 kHz)")
    parser.add_argument("--segments", type=int, default=16, help="Training batch: segments")
    parser.add_argument("--segment_frames", type=int, default=64, help="Training batch: frames each")
    parser.add_argument("--calls", type=int, default=3, help="Profiled calls of each")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(cmd)
    from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
    from espnet2_spiking.gan_vocoder.vocos import VocosGenerator

    if args.threads:
        torch.set_num_threads(args.threads)
    size = dict(dim=args.dim, intermediate_dim=args.intermediate_dim, num_layers=args.num_layers)
    generators = {
        "teacher": VocosGenerator(**size),
        f"student T={args.time_steps}": SpikingVocosGenerator(**size, time_steps=args.time_steps),
    }
    generator = torch.Generator().manual_seed(0)
    mel = 2 * torch.randn(1, 100, args.frames, generator=generator)
    batch = 2 * torch.randn(args.segments, 100, args.segment_frames, generator=generator)
    rows, floor = floor_table(generators, mel, batch, args.calls)
    print(
        f"dim {args.dim}, intermediate {args.intermediate_dim}, {args.num_layers} blocks, "
        f"{torch.get_num_threads()} threads; decoding 1 x {args.frames} frames, "
        f"training {args.segments} x {args.segment_frames} frames\n"
    )
    print("| system | work | s per call | in matrix products (s) | share |")
    print("|---|---|---:|---:|---:|")
    for name, work, seconds, mm in rows:
        print(f"| {name} | {work} | {seconds:.3f} | {mm:.3f} | {mm / seconds:.0%} |")
    print()
    for work, ratio in floor.items():
        print(f"{work}: the student's matrix products alone take {ratio:.2f}x the teacher's whole call")
    return rows, floor


if __name__ == "__main__":
    main()
