"""Fourier head shared by the teacher and the student: features -> complex spectrum -> ISTFT."""

from typing import Tuple

import torch
import torch.nn.functional as F

PADDINGS = ("same", "center")


class ISTFT(torch.nn.Module):
    """Inverse STFT by windowed overlap-add, with Vocos's two paddings.

    - ``"same"`` (the public Vocos models, and this plugin's default): ``(win - hop) / 2``
      samples are trimmed at each end, leaving exactly ``L * hop`` samples, the length
      ESPnet expects from a vocoder with ``upsample_factor = hop`` (joint text-to-wav
      training cuts its waveform segments by it).
    - ``"center"`` (every config of the reference Spiking Vocos): ``n_fft // 2`` samples are
      trimmed at each end, leaving ``(L - 1) * hop`` (plus one for an odd ``n_fft``), the
      samples of ``torch.istft(center=True)``. Frame k is then centred on sample
      ``k * hop``, as in the centred features; with "same" it lies ``hop / 2`` samples later.

    The two differ by that half-hop shift and the length, so a model decodes correctly
    only with the padding it was trained with. Written with ``fold`` rather than
    ``torch.istft`` so that it exports to ONNX (``Col2Im``).

    Args:
        n_fft: FFT size (also the window length).
        hop_length: Frame shift in samples.
        padding: ``"same"`` or ``"center"``.
    """

    def __init__(self, n_fft: int, hop_length: int, padding: str = "same"):
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, got {padding!r}.")
        if padding == "same" and (n_fft - hop_length) % 2:
            raise ValueError(f"n_fft - hop_length must be even, got n_fft={n_fft}, hop={hop_length}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.padding = padding
        self.trim = n_fft // 2 if padding == "center" else (n_fft - hop_length) // 2  # samples cut per end
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def num_samples(self, num_frames: int) -> int:
        """Samples decoded from L frames: ``L * hop`` ("same"), ``(L - 1) * hop`` ("center", even n_fft)."""
        return (num_frames - 1) * self.hop_length + self.n_fft - 2 * self.trim

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """Args: spec: complex spectrum (B, n_fft // 2 + 1, L). Returns: waveform (B, :meth:`num_samples`)."""
        num_frames = spec.size(-1)
        kept = slice(self.trim, self.trim + self.num_samples(num_frames))
        frames = torch.fft.irfft(spec, self.n_fft, dim=1, norm="backward")
        frames = frames * self.window[None, :, None]
        fold = dict(
            output_size=(1, (num_frames - 1) * self.hop_length + self.n_fft),
            kernel_size=(1, self.n_fft),
            stride=(1, self.hop_length),
        )
        wav = F.fold(frames, **fold)[:, 0, 0, kept]
        window_sq = self.window.square()[None, :, None].expand(1, -1, num_frames)
        envelope = F.fold(window_sq, **fold)[0, 0, 0, kept]
        return wav / envelope


class ISTFTHead(torch.nn.Module):
    """Linear projection to log-magnitude and phase, then inverse STFT.

    Args:
        dim: Backbone channels.
        n_fft: FFT size; the projection has ``n_fft + 2`` outputs.
        hop_length: Frame shift in samples.
        padding: ``"same"`` or ``"center"`` (see :class:`ISTFT`).
        max_magnitude: Magnitudes are clipped to this after ``exp``.
    """

    def __init__(self, dim: int, n_fft: int, hop_length: int, padding: str = "same", max_magnitude: float = 1e2):
        super().__init__()
        self.out = torch.nn.Linear(dim, n_fft + 2)
        self.istft = ISTFT(n_fft, hop_length, padding)
        self.max_magnitude = max_magnitude

    def spectrum(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args: x: features (B, L, dim). Returns: log-magnitude and phase, each (B, n_fft // 2 + 1, L)."""
        log_mag, phase = self.out(x).transpose(1, 2).chunk(2, dim=1)
        return log_mag, phase

    def synthesize(self, log_mag: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """Args: log_mag, phase: (B, n_fft // 2 + 1, L). Returns: waveform (B, ``istft.num_samples(L)``)."""
        mag = torch.clip(torch.exp(log_mag), max=self.max_magnitude)
        return self.istft(torch.polar(mag, phase))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: features (B, L, dim). Returns: waveform (B, ``istft.num_samples(L)``)."""
        return self.synthesize(*self.spectrum(x))
