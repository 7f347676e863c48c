"""ESPnet's vocoder face, shared by the Vocos teacher and the Spiking Vocos student.

A mel vocoder is a backbone (log-mel -> frame features) followed by an ISTFT head.
ESPnet's ``joint_text2wav`` calls ``forward(c: (B, C, L)) -> (B, 1, L * hop)`` while
training, ``inference(c: (L, C)) -> (L * hop, 1)`` while decoding, and checks
``upsample_factor`` against the feature extractor's hop. A head with the reference's
``padding: center`` returns ``(L - 1) * hop`` samples instead (see
:class:`~espnet2_spiking.gan_vocoder.istft_head.ISTFT`): it decodes, but ESPnet's joint
text-to-wav training needs "same".
"""

import inspect
from typing import Any, Dict, List, Optional, Tuple

import torch
from espnet2.layers.global_mvn import GlobalMVN

from espnet2_spiking.gan_vocoder.istft_head import ISTFTHead


def init_weights(module: torch.nn.Module):
    """Vocos initialisation: truncated normal (std 0.02) weights, zero biases."""
    if isinstance(module, (torch.nn.Conv1d, torch.nn.Linear)):
        torch.nn.init.trunc_normal_(module.weight, std=0.02)
        torch.nn.init.constant_(module.bias, 0)


def check_mel(c: torch.Tensor, in_channels: int, rank: int = 3, name: str = "The vocoder"):
    """The input checks of every decoding path (PyTorch, chunked, ONNX, text-to-speech).

    Refuses a log-mel of the wrong rank or mel count, without frames, or with NaN or
    infinite values, saying what was expected.

    Args:
        c: log-mel, (B, in_channels, L) for ``rank=3`` or (L, in_channels) for ``rank=2``;
            a tensor or a numpy array.
        in_channels: The mel bins the vocoder was built for.
        name: The vocoder, for messages.
    """
    expected = f"(B, {in_channels}, frames)" if rank == 3 else f"(frames, {in_channels})"
    shape = tuple(c.shape)
    if len(shape) != rank:
        raise ValueError(f"{name} expects a log-mel of shape {expected}, got shape {shape}.")
    bins, frames = shape[1], shape[-1 if rank == 3 else 0]
    if bins != in_channels:
        raise ValueError(
            f"{name} expects a log-mel of shape {expected}, got shape {shape}: {bins} mel bins "
            f"where the vocoder was built with in_channels={in_channels}. Extract features "
            f"with n_mels={in_channels}, or build the vocoder with in_channels={bins}."
        )
    if frames == 0:
        raise ValueError(f"{name} got a log-mel with no frames (shape {shape}).")
    finite = torch.isfinite(torch.as_tensor(c))
    if not finite.all():
        raise ValueError(
            f"{name} got a log-mel with {int((~finite).sum())} NaN or infinite values (shape {shape}); "
            "the features should be log(clamp(mel, 1e-7)), so check the feature extraction upstream."
        )


def constructor_settings(generator: torch.nn.Module, arguments: Dict[str, Any]) -> Dict[str, Any]:
    """The arguments ``generator`` was built with, picked by its constructor's signature.

    Args:
        generator: The generator being built.
        arguments: ``locals()`` of its ``__init__`` before any other local is set.
    """
    names = list(inspect.signature(type(generator).__init__).parameters)[1:]
    return {name: arguments[name] for name in names}


class MelVocoder(torch.nn.Module):
    """Base class: ``self.backbone`` maps a log-mel to features, ``self.head`` makes audio.

    Subclasses set ``backbone``, whose ``forward(mel (B, C, L))`` returns the final
    features (B, L, dim) and the list of per-block hidden states, call
    ``super().__init__(in_channels, dim, n_fft, hop_length, padding, stats_file)`` and then keep
    their own constructor arguments in ``self.settings`` (:func:`constructor_settings`):
    the one place where distillation, energy counting and benchmarking read a
    generator's shape (``in_channels``, ``dim``, ``intermediate_dim``, ``num_layers``,
    ``kernel_size``, ``n_fft``, ``hop_length``, ``padding``, and ``time_steps`` for a spiking one).

    ``stats_file``: the ``feats_stats.npz`` of an ESPnet text-to-mel model trained with
    ``normalize: global_mvn``. ``joint_text2wav`` hands such a model's normalised output
    to the vocoder; with the file, the vocoder undoes the normalisation first, so a
    vocoder trained on raw log-mels decodes it.
    """

    def __init__(
        self,
        in_channels: int,
        dim: int,
        n_fft: int,
        hop_length: int,
        padding: str = "same",
        stats_file: Optional[str] = None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.upsample_factor = hop_length
        self.head = ISTFTHead(dim, n_fft, hop_length, padding)
        self.normalize = GlobalMVN(stats_file) if stats_file is not None else None
        self.settings: Dict[str, Any] = {}

    def check_mel(self, c: torch.Tensor, rank: int = 3):
        """:func:`check_mel` for this vocoder."""
        check_mel(c, self.in_channels, rank, type(self).__name__)

    def hidden_states(self, c: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """The backbone's output and every block's hidden state (the head's input, not ESPnet's "feats").

        Args:
            c: log-mel (B, in_channels, L).

        Returns:
            The backbone's output (B, L, dim) and one hidden state per block: (B, dim, L)
            for the teacher, membrane streams (T, B, dim, L) for the spiking student.
        """
        self.check_mel(c)
        if self.normalize is not None:  # GlobalMVN.inverse works in place: keep the caller's mel
            c = self.normalize.inverse(c.transpose(1, 2).clone())[0].transpose(1, 2)
        return self.backbone(c)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        """Args: c: log-mel (B, in_channels, L). Returns: waveform (B, 1, L * upsample_factor)
        ("same" padding; ``(L - 1) * upsample_factor`` with "center")."""
        x, _ = self.hidden_states(c)
        return self.head(x).unsqueeze(1)

    def inference(self, c: torch.Tensor) -> torch.Tensor:
        """Args: c: log-mel (L, in_channels). Returns: waveform (L * upsample_factor, 1)
        ("same" padding; ``(L - 1) * upsample_factor`` with "center")."""
        self.check_mel(c, rank=2)
        return self.forward(c.transpose(0, 1).unsqueeze(0)).view(-1, 1)
