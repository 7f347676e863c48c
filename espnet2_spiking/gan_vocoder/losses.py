"""The vocoder losses that ESPnet lacks: masked log-mel L1 and anti-wrapping phase losses.

The adversarial and feature-matching losses are ESPnet's own
(``espnet2.gan_tts.hifigan.loss``). Every loss here averages over valid frames only, so
padded frames of a batch of whole utterances do not count.
"""

import math
from typing import Optional, Tuple

import torch

from espnet2_spiking.layers.mel import VocosLogMel


def masked_mean(x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean of ``x`` over its valid frames.

    Args:
        x: (B, ..., L), frames last.
        lengths: Valid frames per item (B,); ``None`` means all ``L`` frames are valid.

    Returns:
        Scalar: the sum over valid positions divided by their number.
    """
    if lengths is None:
        return x.mean()
    mask = torch.arange(x.size(-1), device=x.device) < lengths[:, None]  # (B, L)
    mask = mask.view(x.size(0), *([1] * (x.dim() - 2)), x.size(-1)).to(x.dtype)
    count = mask.sum() * math.prod(x.shape[1:-1])
    return (x * mask).sum() / count.clamp(min=1)


def log_mel_l1_loss(
    feats_extract: VocosLogMel,
    speech_hat: torch.Tensor,
    mel: torch.Tensor,
    frame_lengths: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """L1 distance between the log-mel of generated speech and a reference log-mel.

    Args:
        feats_extract: The features the vocoder decodes (its ``mel``).
        speech_hat: Generated waveform (B, N).
        mel: Reference log-mel of the target waveform (B, n_mels, N // hop + 1).
        frame_lengths: Valid frames per item (B,).

    Returns:
        Scalar loss.
    """
    return masked_mean((feats_extract.mel(speech_hat) - mel).abs(), frame_lengths)


def anti_wrapping(x: torch.Tensor) -> torch.Tensor:
    """``|x - 2 pi round(x / 2 pi)|``: the distance of a phase difference to 0 on the circle."""
    return (x - 2 * math.pi * torch.round(x / (2 * math.pi))).abs()


def phase_losses(
    phase_hat: torch.Tensor, phase: torch.Tensor, frame_lengths: Optional[torch.Tensor] = None
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Anti-wrapping phase losses of APNet (Ai & Ling, 2023).

    Args:
        phase_hat: Predicted phase (B, F, L), frequency bins by frames.
        phase: Reference phase (B, F, L).
        frame_lengths: Valid frames per item (B,).

    Returns:
        Instantaneous-phase loss (the phases themselves), group-delay loss (their
        differences between neighbouring bins) and phase-time-difference loss (between
        neighbouring frames), each a scalar.
    """
    delta = phase_hat - phase
    ip = masked_mean(anti_wrapping(delta), frame_lengths)
    gd = masked_mean(anti_wrapping(torch.diff(delta, dim=1)), frame_lengths)
    ptd_lengths = None if frame_lengths is None else frame_lengths - 1
    ptd = masked_mean(anti_wrapping(torch.diff(delta, dim=2)), ptd_lengths)
    return ip, gd, ptd


def vocos_generator_hinge_loss(outputs) -> torch.Tensor:
    """Vocos's generator hinge ``mean(relu(1 - D(G(x))))``, averaged over discriminators.

    Args:
        outputs: Per discriminator, its list of layer outputs (the score map last), as
            ESPnet's discriminators return them.

    Returns:
        Scalar loss.
    """
    return torch.stack([torch.relu(1 - feats[-1]).mean() for feats in outputs]).mean()
