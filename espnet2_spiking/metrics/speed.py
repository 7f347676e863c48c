"""Speed and peak memory: real-time factor of decoding, time of one training step.

Peak memory is the most memory that tensors allocated during one call held at once,
beyond what existed before it (weights and inputs are not counted): on CPU from the
PyTorch profiler's allocation events, on CUDA from the allocator's peak statistics.
Memory that a runtime allocates outside PyTorch (onnxruntime's arena) is not seen.
"""

import json
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Callable, Dict, List

import torch
from torch.profiler import ProfilerActivity, profile


def _synchronize(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_mb(fn: Callable[[], object], device: torch.device) -> float:
    """Call ``fn`` once; the peak of the memory its tensors held at once, in MB (1e6 bytes)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - start) / 1e6
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    with tempfile.NamedTemporaryFile(suffix=".json") as trace:
        prof.export_chrome_trace(trace.name)
        events = json.loads(Path(trace.name).read_text())["traceEvents"]
    # "Total Allocated" counts from the start of profiling
    return max([0] + [e["args"]["Total Allocated"] for e in events if e.get("name") == "[memory]"]) / 1e6


def _times(fns: Dict[str, Callable[[], object]], device: torch.device, warmup: int, repeats: int):
    """Seconds of each of ``repeats`` calls of every function after ``warmup`` untimed ones.

    The functions are called in turn, call by call, so that a change of the machine's
    speed during the measurement (other jobs, clock) touches them all alike.

    Returns:
        Name -> ``repeats`` durations.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    times = {name: [] for name in fns}
    for i in range(warmup + repeats):
        for name, fn in fns.items():
            _synchronize(device)
            start = time.perf_counter()
            fn()
            _synchronize(device)
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def _summary(times: List[float], warmup: int, repeats: int, device: torch.device) -> Dict[str, object]:
    """What every timing reports: ``median_s``, ``min_s``, ``max_s``, ``warmup``, ``repeats``,
    ``threads`` (CPU threads of torch) and ``device``."""
    return dict(
        median_s=statistics.median(times),
        min_s=min(times),
        max_s=max(times),
        warmup=warmup,
        repeats=repeats,
        threads=torch.get_num_threads(),
        device=str(device),
    )


def real_time_factors(
    generators: Dict[str, Callable[[torch.Tensor], torch.Tensor]],
    mels: Dict[str, torch.Tensor],
    fs: int,
    warmup: int = 2,
    repeats: int = 5,
    runtime: str = "pytorch",
) -> Dict[str, Dict[str, float]]:
    """Time several vocoders side by side (in turn, call by call) on the same device.

    Args:
        generators: Name -> a mel vocoder with ``upsample_factor``, in eval mode (a module,
            or another runtime's decoder with the same call, e.g. ``OnnxVocoder``).
        mels: Name -> its log-mel (B, C, L), on the generators' device.
        fs: Output sample rate.
        warmup: Calls of each not timed.
        repeats: Timed calls of each.
        runtime: What runs the generators, for the report.

    Returns:
        Name -> what :func:`real_time_factor` returns.
    """
    device = next(iter(mels.values())).device
    calls = {name: partial(generator, mels[name]) for name, generator in generators.items()}
    with torch.no_grad():
        times = _times(calls, device, warmup, repeats)
        peaks = {
            n: peak_memory_mb(call, device) if runtime == "pytorch" else None for n, call in calls.items()
        }
    results = {}
    for name, generator in generators.items():
        mel = mels[name]
        audio_s = mel.size(0) * mel.size(-1) * generator.upsample_factor / fs
        summary = _summary(times[name], warmup, repeats, device)
        results[name] = dict(
            rtf=summary["median_s"] / audio_s,
            speed_x=audio_s / summary["median_s"],
            **summary,
            batch_size=mel.size(0),
            audio_s=audio_s,
            runtime=runtime,
            peak_memory_mb=peaks[name],
        )
    return results


def real_time_factor(
    generator: Callable[[torch.Tensor], torch.Tensor],
    mel: torch.Tensor,
    fs: int,
    warmup: int = 2,
    repeats: int = 5,
    runtime: str = "pytorch",
) -> Dict[str, float]:
    """Time ``generator(mel)`` and compare with the duration of the audio it makes.

    The generator and the mel must be on the same device; CUDA work is synchronised
    before every clock reading. ``RTF = median seconds per call / seconds of audio``
    (below 1 is faster than real time); ``speed_x`` is its inverse.

    Args:
        generator: A mel vocoder with ``upsample_factor``, in eval mode (a module, or
            another runtime's decoder with the same call, e.g. ``OnnxVocoder``).
        mel: Log-mel (B, C, L).
        fs: Output sample rate.
        warmup: Calls not timed.
        repeats: Timed calls.
        runtime: What runs the generator, for the report.

    Returns:
        ``rtf``, ``speed_x``, ``median_s``, ``min_s``, ``max_s`` (seconds per call),
        ``batch_size``, ``audio_s`` (seconds of audio per call), ``warmup``,
        ``repeats``, ``threads`` (CPU threads of torch), ``device``, ``runtime`` and
        ``peak_memory_mb`` of one more call (:func:`peak_memory_mb`; None for a runtime
        other than PyTorch, whose memory the profiler does not see).
    """
    return real_time_factors({"": generator}, {"": mel}, fs, warmup, repeats, runtime)[""]


def generator_training_step(generator: torch.nn.Module, mel: torch.Tensor) -> None:
    """One generator training step as the benchmark times it: forward, L1 loss, backward.

    The L1 loss on the waveform stands in for the GAN step's losses; the discriminators, the
    same for teacher and student, are left out, so this is the generator's share of a step.

    Args:
        generator: A mel vocoder in train mode, on ``mel``'s device; its gradients are reset first.
        mel: Log-mel batch (B, C, L).
    """
    generator.zero_grad(set_to_none=True)
    generator(mel).abs().mean().backward()


def training_steps(
    generators: Dict[str, torch.nn.Module], mels: Dict[str, torch.Tensor], warmup: int = 1, repeats: int = 3
) -> Dict[str, Dict[str, float]]:
    """Time one generator training step of several vocoders side by side (in turn, step by step).

    A step is :func:`generator_training_step`. Each generator is in train mode while timed
    and put back in its mode after.

    Args:
        generators: Name -> a mel vocoder, on its mel's device.
        mels: Name -> its log-mel batch (B, C, L), e.g. 16 segments of 64 frames (16384
            samples at hop 256).
        warmup: Steps of each not timed.
        repeats: Timed steps of each.

    Returns:
        Name -> ``median_s``, ``min_s``, ``max_s`` (seconds per step), ``batch_size``,
        ``frames``, ``warmup``, ``repeats``, ``threads``, ``device`` and ``peak_memory_mb`` of
        one more step.
    """
    modes = {name: generator.training for name, generator in generators.items()}
    calls = {
        name: partial(generator_training_step, generator.train(), mels[name])
        for name, generator in generators.items()
    }
    device = next(iter(mels.values())).device
    times = _times(calls, device, warmup, repeats)
    results = {}
    for name, generator in generators.items():
        peak = peak_memory_mb(calls[name], device)
        generator.zero_grad(set_to_none=True)
        generator.train(modes[name])
        results[name] = dict(
            **_summary(times[name], warmup, repeats, device),
            batch_size=mels[name].size(0),
            frames=mels[name].size(-1),
            peak_memory_mb=peak,
        )
    return results
