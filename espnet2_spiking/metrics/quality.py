"""Signal-level quality of a generated waveform against its reference.

Wideband PESQ (ITU-T P.862.2, at 16 kHz), STOI, log-mel L1 with the vocoder's features,
mel-cepstral distortion, and UTMOS from a local TorchScript checkpoint. Every function
takes 1-D float waveforms of the same length at the same sample rate (see :func:`align`).
"""

import math
from functools import lru_cache
from typing import Optional, Tuple

import numpy as np
import torch

from espnet2_spiking.utils.audio import resample

PESQ_FS = 16000


def align(ref: np.ndarray, gen: np.ndarray, max_diff: int, what: str = "") -> Tuple[np.ndarray, np.ndarray]:
    """Trim two start-aligned waveforms to the shorter length.

    A vocoder returns ``frames * hop`` samples, which differs from the recording by less
    than a hop; differences up to ``max_diff`` samples are trimmed, larger ones refused.

    Args:
        ref, gen: (N_ref,), (N_gen,).
        max_diff: Largest length difference, in samples, that is trimmed.
        what: Names the pair in the error message (e.g. the two file paths).

    Returns:
        Both waveforms cut to ``min(N_ref, N_gen)``.
    """
    diff = len(gen) - len(ref)
    if abs(diff) > max_diff:
        raise ValueError(
            f"{what}: lengths differ by {abs(diff)} samples (reference {len(ref)}, generated "
            f"{len(gen)}), more than the {max_diff} samples that are trimmed. Check that the "
            "two files are the same utterance, or raise --max_length_diff."
        )
    n = min(len(ref), len(gen))
    return ref[:n], gen[:n]


def pesq_wb(ref: np.ndarray, gen: np.ndarray, fs: int) -> float:
    """Wideband PESQ (MOS-LQO, 1.04 to 4.64) after resampling both signals to 16 kHz.

    Raises:
        ValueError: PESQ cannot score the pair (e.g. it detects no speech in the reference).
    """
    from pesq import PesqError, pesq

    try:
        return float(pesq(PESQ_FS, resample(ref, fs, PESQ_FS), resample(gen, fs, PESQ_FS), "wb"))
    except PesqError as e:
        reason = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(f"PESQ cannot score it: {reason}") from None


def stoi(ref: np.ndarray, gen: np.ndarray, fs: int) -> float:
    """Short-time objective intelligibility (0 to 1); pystoi resamples to 10 kHz itself."""
    from pystoi import stoi as _stoi

    return float(_stoi(ref.astype(np.float64), gen.astype(np.float64), fs, extended=False))


def mel_l1(ref: np.ndarray, gen: np.ndarray, feats_extract: torch.nn.Module) -> float:
    """Mean absolute difference of log-mel features.

    Args:
        ref, gen: (N,) at ``feats_extract.fs``.
        feats_extract: A :class:`~espnet2_spiking.layers.mel.VocosLogMel`.
    """
    with torch.no_grad():
        mels = feats_extract.mel(torch.from_numpy(np.stack([ref, gen]).astype(np.float32)))
    return float((mels[0] - mels[1]).abs().mean())


def all_pass_alpha(fs: int, num_points: int = 1000) -> float:
    """All-pass constant whose frequency warping best fits the mel scale at ``fs``.

    Grid search (step 0.001) minimising the RMS distance between the normalised warped
    frequency axis and the normalised mel scale, as SPTK's ``mcepalpha`` does
    (0.410 at 16 kHz, 0.466 at 24 kHz).
    """
    freq = np.arange(num_points) * (fs / 2) / num_points
    mel = np.log1p(freq / 1000.0)
    mel /= mel[-1]
    alphas = np.arange(0.0, 1.0, 0.001)[:, None]
    omega = np.arange(num_points)[None] * np.pi / num_points
    warped = np.arctan2((1 - alphas**2) * np.sin(omega), (1 + alphas**2) * np.cos(omega) - 2 * alphas)
    warped = np.where(warped < 0, warped + np.pi, warped)
    warped /= warped[:, -1:]
    return float(alphas[np.argmin(np.sqrt(((warped - mel) ** 2).mean(1))), 0])


def mcep_order(fs: int) -> int:
    """Mel-cepstrum order by sample rate, as ESPnet's ``evaluate_mcd`` chooses it."""
    return 23 if fs <= 16000 else 34 if fs <= 24000 else 39


@lru_cache(maxsize=8)
def _mel_cepstrum_matrix(n_bins: int, order: int, alpha: float) -> torch.Tensor:
    """(order + 1, n_bins): linear-frequency log spectrum -> mel-cepstrum.

    Samples the log spectrum at the frequencies that the all-pass warping maps to a
    uniform grid (linear interpolation between FFT bins), then takes the cosine
    transform of that even spectrum; coefficients m >= 1 are doubled, the convention of
    a causal cepstrum ``log H(z) = sum_m c(m) z~^-m`` that MCD assumes.
    """
    theta = torch.linspace(0, math.pi, n_bins, dtype=torch.float64)
    omega = theta - 2 * torch.atan2(alpha * torch.sin(theta), 1 + alpha * torch.cos(theta))
    pos = (omega / math.pi * (n_bins - 1)).clamp(0, n_bins - 1)
    low = pos.floor().long().clamp(max=n_bins - 2)
    frac = pos - low
    interp = torch.zeros(n_bins, n_bins, dtype=torch.float64)
    rows = torch.arange(n_bins)
    interp[rows, low] = 1 - frac
    interp[rows, low + 1] += frac
    m = torch.arange(order + 1, dtype=torch.float64)[:, None]
    weights = torch.full((n_bins,), 2.0, dtype=torch.float64)
    weights[[0, -1]] = 1.0
    dct = weights * torch.cos(m * theta[None]) / (2 * (n_bins - 1))
    dct[1:] *= 2
    return (dct @ interp).float()


def mel_cepstrum(
    audio: torch.Tensor,
    fs: int,
    order: Optional[int] = None,
    alpha: Optional[float] = None,
    n_fft: int = 1024,
    hop_length: int = 256,
) -> torch.Tensor:
    """Mel-cepstra of Hann-windowed frames (frequency-warped cepstrum of the log amplitude).

    Args:
        audio: (B, N).
        fs: Sample rate (chooses ``order`` and ``alpha`` when they are None).
        order: Highest coefficient index.
        alpha: All-pass constant.
        n_fft: Frame length and FFT size.
        hop_length: Frame shift.

    Returns:
        (B, N // hop_length + 1, order + 1).
    """
    order = mcep_order(fs) if order is None else order
    alpha = all_pass_alpha(fs) if alpha is None else alpha
    spec = torch.stft(
        audio, n_fft, hop_length, window=torch.hann_window(n_fft, device=audio.device), return_complex=True
    )
    log_amp = 0.5 * torch.log(spec.abs().square().clamp(min=1e-10))  # (B, n_fft // 2 + 1, frames)
    matrix = _mel_cepstrum_matrix(n_fft // 2 + 1, order, float(alpha)).to(audio.device)
    return log_amp.transpose(1, 2) @ matrix.T


def mcd(ref: np.ndarray, gen: np.ndarray, fs: int) -> float:
    """Mel-cepstral distortion in dB over time-aligned frames (no DTW), c0 excluded.

    ``MCD = mean_frames (10 / ln 10) * sqrt(2 * sum_{m=1}^{M} (c_m - c'_m)^2)``, with
    the order M and all-pass alpha chosen by ``fs`` (:func:`mcep_order`, :func:`all_pass_alpha`).
    """
    audio = torch.from_numpy(np.stack([ref, gen]).astype(np.float32))
    mc = mel_cepstrum(audio, fs)
    dist = (mc[0, :, 1:] - mc[1, :, 1:]).square().sum(-1).mul(2).sqrt()
    return float(10 / math.log(10) * dist.mean())


class Utmos:
    """UTMOS predicted MOS from a local TorchScript checkpoint.

    The checkpoint is called as ``model(wav (1, N) float32 at 16 kHz)`` and returns a
    score (a tensor of one element). Nothing is downloaded.

    Args:
        path: TorchScript file (``torch.jit.save``).
        device: Where to run it.
    """

    def __init__(self, path: str, device: str = "cpu"):
        self.model = torch.jit.load(path, map_location=device).eval()
        self.device = device

    def __call__(self, audio: np.ndarray, fs: int) -> float:
        wav = torch.from_numpy(resample(audio, fs, PESQ_FS))[None].to(self.device)
        with torch.no_grad():
            return float(self.model(wav).reshape(-1)[0])
