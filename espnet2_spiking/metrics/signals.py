"""Synthetic test signals: a voiced, speech-like input when no recordings are at hand."""

import numpy as np


def harmonic_glide(
    fs: int,
    seconds: float,
    f0_start: float = 120.0,
    f0_end: float = 240.0,
    num_harmonics: int = 8,
    silence: float = 0.25,
    amplitude: float = 0.3,
) -> np.ndarray:
    """A harmonic tone whose f0 glides linearly, framed by silence.

    The voiced middle part has ``num_harmonics`` harmonics with 1/k amplitudes (those
    below Nyquist) and 10 ms raised-cosine edges; ``silence`` seconds of zeros sit at
    each end, so that a signal has voiced and unvoiced (silent) frames.

    Args:
        fs: Sample rate in Hz.
        seconds: Total duration.
        f0_start: Fundamental at the start of the voiced part, in Hz.
        f0_end: Fundamental at its end, in Hz.
        num_harmonics: Number of harmonics.
        silence: Seconds of silence at each end.
        amplitude: Peak amplitude of the fundamental.

    Returns:
        Waveform (round(seconds * fs),) float32.
    """
    total = int(round(seconds * fs))
    edge = int(round(silence * fs))
    voiced = total - 2 * edge
    if voiced <= 0:
        raise ValueError(f"{seconds} s is too short for {silence} s of silence at each end")
    f0 = np.linspace(f0_start, f0_end, voiced)
    phase = 2 * np.pi * np.cumsum(f0) / fs
    k = np.arange(1, num_harmonics + 1)[:, None]
    partials = np.where(k * f0[None] < fs / 2, np.sin(k * phase[None]) / k, 0.0)
    tone = amplitude * partials.sum(0)
    ramp = min(int(0.01 * fs), voiced // 2)
    fade = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    tone[:ramp] *= fade
    tone[voiced - ramp :] *= fade[::-1]
    out = np.zeros(total, dtype=np.float32)
    out[edge : edge + voiced] = tone
    return out
