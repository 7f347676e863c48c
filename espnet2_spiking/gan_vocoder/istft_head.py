"""Fourier head shared by the teacher and the student: features -> complex spectrum -> ISTFT."""

from typing import Tuple

import torch
import torch.nn.functional as F


class ISTFT(torch.nn.Module):
    """Inverse STFT with "same" padding, as in Vocos.

    ``torch.istft`` with ``center=True`` returns ``(L - 1) * hop`` samples; this overlap-add
    trims ``(win - hop) / 2`` samples at each end instead and returns exactly ``L * hop``,
    the length ESPnet expects from a vocoder with ``upsample_factor = hop``.

    Args:
        n_fft: FFT size (also the window length).
        hop_length: Frame shift in samples.
    """

    def __init__(self, n_fft: int, hop_length: int):
        super().__init__()
        if (n_fft - hop_length) % 2:
            raise ValueError(f"n_fft - hop_length must be even, got n_fft={n_fft}, hop={hop_length}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """Args: spec: complex spectrum (B, n_fft // 2 + 1, L). Returns: waveform (B, L * hop)."""
        num_frames = spec.size(-1)
        pad = (self.n_fft - self.hop_length) // 2
        frames = torch.fft.irfft(spec, self.n_fft, dim=1, norm="backward")
        frames = frames * self.window[None, :, None]
        fold = dict(
            output_size=(1, (num_frames - 1) * self.hop_length + self.n_fft),
            kernel_size=(1, self.n_fft),
            stride=(1, self.hop_length),
        )
        wav = F.fold(frames, **fold)[:, 0, 0, pad : pad + num_frames * self.hop_length]
        window_sq = self.window.square()[None, :, None].expand(1, -1, num_frames)
        envelope = F.fold(window_sq, **fold)[0, 0, 0, pad : pad + num_frames * self.hop_length]
        return wav / envelope


class ISTFTHead(torch.nn.Module):
    """Linear projection to log-magnitude and phase, then inverse STFT.

    Args:
        dim: Backbone channels.
        n_fft: FFT size; the projection has ``n_fft + 2`` outputs.
        hop_length: Frame shift in samples.
        max_magnitude: Magnitudes are clipped to this after ``exp``.
    """

    def __init__(self, dim: int, n_fft: int, hop_length: int, max_magnitude: float = 1e2):
        super().__init__()
        self.out = torch.nn.Linear(dim, n_fft + 2)
        self.istft = ISTFT(n_fft, hop_length)
        self.max_magnitude = max_magnitude

    def spectrum(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args: x: features (B, L, dim). Returns: log-magnitude and phase, each (B, n_fft // 2 + 1, L)."""
        log_mag, phase = self.out(x).transpose(1, 2).chunk(2, dim=1)
        return log_mag, phase

    def synthesize(self, log_mag: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """Args: log_mag, phase: (B, n_fft // 2 + 1, L). Returns: waveform (B, L * hop)."""
        mag = torch.clip(torch.exp(log_mag), max=self.max_magnitude)
        return self.istft(torch.polar(mag, phase))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: features (B, L, dim). Returns: waveform (B, L * hop)."""
        return self.synthesize(*self.spectrum(x))
