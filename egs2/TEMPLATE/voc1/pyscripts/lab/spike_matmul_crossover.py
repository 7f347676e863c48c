#!/usr/bin/env python3
"""Dense against event-driven pointwise layers on binary spikes: does sparsity pay on this CPU?

A pointwise layer of the student multiplies binary spikes (N, in) by its weight. At firing
rate r an event-driven layer only adds the weight columns of the r * N * in spikes that
fired; here that is PyTorch's sparse CSR product (the spikes converted to CSR, then
``torch.sparse.mm``; the conversion is timed too, as the neurons emit dense tensors). Prints a
markdown table of both times per rate for the student's two pointwise layers at the published
size (N = T x frames rows) and the highest rate at which the event-driven path is faster.

    python pyscripts/lab/spike_matmul_crossover.py --rates 0.01 0.05 0.1 0.2 --threads 2
"""

import argparse
import statistics
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence

import torch


def dense_linear(spikes: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``nn.Linear`` as the student runs it. Args: spikes (N, in), weight (out, in). Returns (N, out)."""
    return torch.addmm(bias, spikes, weight.T)


def event_driven_linear(spikes: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The same layer summing only the weight columns of the spikes that fired (CSR)."""
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
        warnings.simplefilter("ignore", UserWarning)
        csr = spikes.to_sparse_csr()
    return torch.sparse.mm(csr, weight.T) + bias


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def crossover(
    rates: Sequence[float], rows: int, layers: Dict[str, tuple], repeats: int, seed: int = 0
) -> List[dict]:
    """Times of both paths per layer and rate; each row also says whether the outputs agree."""
    generator = torch.Generator().manual_seed(seed)
    results = []
    for name, (fan_in, fan_out) in layers.items():
        weight = torch.randn(fan_out, fan_in, generator=generator) / fan_in**0.5
        bias = torch.randn(fan_out, generator=generator)
        for rate in rates:
            spikes = (torch.rand(rows, fan_in, generator=generator) < rate).float()
            dense = median_seconds(lambda: dense_linear(spikes, weight, bias), repeats)
            sparse = median_seconds(lambda: event_driven_linear(spikes, weight, bias), repeats)
            same = torch.allclose(
                dense_linear(spikes, weight, bias), event_driven_linear(spikes, weight, bias), atol=1e-4
            )
            results.append(
                dict(layer=name, rate=rate, dense_ms=1e3 * dense, event_ms=1e3 * sparse, same=same)
            )
    return results


def highest_winning_rate(results: List[dict], layer: str) -> Optional[float]:
    """The highest rate at which the event-driven path was faster for ``layer`` (None: at no rate)."""
    wins = [r["rate"] for r in results if r["layer"] == layer and r["event_ms"] < r["dense_ms"]]
    return max(wins) if wins else None


def main(cmd=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3])
    parser.add_argument("--dim", type=int, default=512, help="Channels of the residual stream")
    parser.add_argument("--intermediate_dim", type=int, default=1536, help="Hidden channels of the MLP")
    parser.add_argument("--time_steps", type=int, default=4, help="SNN time steps T")
    parser.add_argument("--frames", type=int, default=938, help="Frames (938: 10 s at 24 kHz, hop 256)")
    parser.add_argument("--repeats", type=int, default=10, help="Timed calls per measurement (median)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of torch (default: torch's)")
    args = parser.parse_args(cmd)
    if args.threads:
        torch.set_num_threads(args.threads)
    layers = {
        "pwconv1": (args.dim, args.intermediate_dim),
        "pwconv2": (args.intermediate_dim, args.dim),
    }
    rows = args.time_steps * args.frames
    results = crossover(args.rates, rows, layers, args.repeats)
    print(f"{rows} rows (T={args.time_steps} x {args.frames} frames), {torch.get_num_threads()} threads\n")
    print("| layer | firing rate | dense (ms) | event-driven (ms) | event / dense | same output |")
    print("|:---|---:|---:|---:|---:|:---:|")
    for r in results:
        ratio = r["event_ms"] / r["dense_ms"]
        print(
            f"| {r['layer']} | {r['rate']:g} | {r['dense_ms']:.2f} | {r['event_ms']:.2f} | {ratio:.2f} | "
            f"{'yes' if r['same'] else 'NO'} |"
        )
    for layer in layers:
        rate = highest_winning_rate(results, layer)
        print(
            f"\n{layer}: event-driven faster " + (f"up to rate {rate:g}" if rate else "at no rate measured")
        )
    return results


if __name__ == "__main__":
    main()
