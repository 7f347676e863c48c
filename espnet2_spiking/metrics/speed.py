"""Decoding speed: real-time factor of a vocoder's forward pass."""

import statistics
import time
from typing import Dict

import torch


def _synchronize(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def real_time_factor(
    generator: torch.nn.Module, mel: torch.Tensor, fs: int, warmup: int = 1, repeats: int = 5
) -> Dict[str, float]:
    """Time ``generator(mel)`` and compare with the duration of the audio it makes.

    The generator and the mel must be on the same device; CUDA work is synchronised
    before every clock reading. ``RTF = median seconds per call / seconds of audio``
    (below 1 is faster than real time); ``speed_x`` is its inverse.

    Args:
        generator: A mel vocoder with ``upsample_factor``, in eval mode.
        mel: Log-mel (B, C, L).
        fs: Output sample rate.
        warmup: Calls not timed.
        repeats: Timed calls.

    Returns:
        ``rtf``, ``speed_x``, ``median_s``, ``min_s``, ``max_s`` (seconds per call),
        ``batch_size``, ``audio_s`` (seconds of audio per call), ``warmup``,
        ``repeats``, ``threads`` (CPU threads of torch) and ``device``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    audio_s = mel.size(0) * mel.size(-1) * generator.upsample_factor / fs
    times = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            _synchronize(mel.device)
            start = time.perf_counter()
            generator(mel)
            _synchronize(mel.device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return dict(
        rtf=median / audio_s,
        speed_x=audio_s / median,
        median_s=median,
        min_s=min(times),
        max_s=max(times),
        batch_size=mel.size(0),
        audio_s=audio_s,
        warmup=warmup,
        repeats=repeats,
        threads=torch.get_num_threads(),
        device=str(mel.device),
    )
