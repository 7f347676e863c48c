"""The vocoder losses that ESPnet lacks: masked log-mel L1 and anti-wrapping phase losses.

The adversarial and feature-matching losses are ESPnet's own
(``espnet2.gan_tts.hifigan.loss``). Every loss here averages over valid frames only, so
padded frames of a batch of whole utterances do not count.
"""

import math
from typing import Optional, Tuple

import torch

from espnet2_spiking.layers.mel import AnyMelFeatures, VocosLogMel


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


def mel_loss_features(feats_extract: AnyMelFeatures) -> VocosLogMel:
    """The log-mel that the mel loss compares: Vocos's, on the frames of the input features.

    ``vocos_mel`` inputs are their own loss features (the reference). For other inputs
    (ESPnet's ``fbank``) the loss uses Vocos's full-band natural-log mel (100 HTK mels, 0 Hz
    to Nyquist) with the input's ``fs``, ``n_fft``, hop and window, as ESPnet's HiFiGAN
    computes its mel loss on its own full-band features whatever it decodes: fbank's band
    (80-7600 Hz) would leave the top third of a 22.05 or 24 kHz spectrum to the
    discriminators alone, and its log10 would shrink the loss 2.3 times against a
    ``lambda_mel`` tuned for the reference; with the same loss features, ``mel_loss`` of
    both kinds of vocoder is on one scale.

    Args:
        feats_extract: The features the vocoder decodes.
    """
    if isinstance(feats_extract, VocosLogMel):
        return feats_extract
    settings = feats_extract.settings
    return VocosLogMel(
        fs=settings["fs"],
        n_fft=settings["n_fft"],
        hop_length=settings["hop_length"],
        win_length=settings["win_length"],
    )


def log_mel_l1_loss(
    feats_extract: AnyMelFeatures,
    speech_hat: torch.Tensor,
    mel: torch.Tensor,
    frame_lengths: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """L1 distance between the log-mel of generated speech and a reference log-mel.

    Args:
        feats_extract: The loss features (:func:`mel_loss_features`).
        speech_hat: Generated waveform (B, N).
        mel: Their log-mel of the target waveform (B, n_mels, N // hop + 1).
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
