"""Vocos: the ANN teacher (ConvNeXt backbone + ISTFT head).

Module names match the public ``vocos`` package, so its backbone and head weights load
as they are (:func:`espnet2_spiking.gan_vocoder.convert.generator_weights`).
"""

from typing import List, Optional, Tuple

import torch
from typeguard import typechecked

from espnet2_spiking.gan_vocoder.mel_vocoder import MelVocoder, constructor_settings, init_weights


class ConvNeXtBlock(torch.nn.Module):
    """ConvNeXt block: dwconv -> LayerNorm -> Linear -> GELU -> Linear -> layer scale -> residual.

    Args:
        dim: Channels.
        intermediate_dim: Hidden channels of the pointwise MLP.
        layer_scale_init_value: Initial value of the per-channel scale gamma.
        kernel_size: Depthwise convolution kernel (odd).
    """

    def __init__(self, dim: int, intermediate_dim: int, layer_scale_init_value: float, kernel_size: int = 7):
        super().__init__()
        self.dwconv = torch.nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = torch.nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = torch.nn.Linear(dim, intermediate_dim)
        self.act = torch.nn.GELU()
        self.pwconv2 = torch.nn.Linear(intermediate_dim, dim)
        self.gamma = torch.nn.Parameter(torch.full((dim,), layer_scale_init_value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: (B, dim, L). Returns: (B, dim, L)."""
        y = self.norm(self.dwconv(x).transpose(1, 2))
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(y)))
        return x + y.transpose(1, 2)


class VocosBackbone(torch.nn.Module):
    """Conv1d embed -> LayerNorm -> ConvNeXt blocks -> final LayerNorm.

    Args:
        input_channels: Mel bins.
        dim: Channels of the residual stream.
        intermediate_dim: Hidden channels of each block's MLP.
        num_layers: Number of ConvNeXt blocks.
        layer_scale_init_value: Initial gamma (default ``1 / num_layers``).
        kernel_size: Depthwise kernel of the blocks.
    """

    def __init__(
        self,
        input_channels: int,
        dim: int,
        intermediate_dim: int,
        num_layers: int,
        layer_scale_init_value: Optional[float] = None,
        kernel_size: int = 7,
    ):
        super().__init__()
        scale = layer_scale_init_value or 1 / num_layers
        self.embed = torch.nn.Conv1d(input_channels, dim, kernel_size=7, padding=3)
        self.norm = torch.nn.LayerNorm(dim, eps=1e-6)
        self.convnext = torch.nn.ModuleList(
            [ConvNeXtBlock(dim, intermediate_dim, scale, kernel_size) for _ in range(num_layers)]
        )
        self.final_layer_norm = torch.nn.LayerNorm(dim, eps=1e-6)
        self.apply(init_weights)

    def forward(self, mel: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Args: mel: (B, input_channels, L).

        Returns:
            Features (B, L, dim) and the output of every block, each (B, dim, L).
        """
        x = self.norm(self.embed(mel).transpose(1, 2)).transpose(1, 2)
        hiddens = []
        for block in self.convnext:
            x = block(x)
            hiddens.append(x)
        return self.final_layer_norm(x.transpose(1, 2)), hiddens


class VocosGenerator(MelVocoder):
    """ANN Vocos vocoder (the teacher). Defaults are Vocos "mel 24 kHz" (13,531,650 parameters).

    Args:
        in_channels: Mel bins.
        dim: Backbone channels.
        intermediate_dim: Hidden channels of each block's MLP.
        num_layers: Number of ConvNeXt blocks.
        layer_scale_init_value: Initial gamma (default ``1 / num_layers``).
        kernel_size: Depthwise kernel of the blocks.
        n_fft: FFT size of the ISTFT head.
        hop_length: Frame shift; also ``upsample_factor``.
        padding: ISTFT padding, ``"same"`` (the public Vocos models) or ``"center"`` (the
            reference Spiking Vocos's teacher); see :class:`~espnet2_spiking.gan_vocoder.istft_head.ISTFT`.
        stats_file: Global-MVN statistics of a normalising text-to-mel model (see ``MelVocoder``).
    """

    @typechecked
    def __init__(
        self,
        in_channels: int = 100,
        dim: int = 512,
        intermediate_dim: int = 1536,
        num_layers: int = 8,
        layer_scale_init_value: Optional[float] = None,
        kernel_size: int = 7,
        n_fft: int = 1024,
        hop_length: int = 256,
        padding: str = "same",
        stats_file: Optional[str] = None,
    ):
        super().__init__(in_channels, dim, n_fft, hop_length, padding, stats_file)
        self.settings = constructor_settings(self, locals())
        self.backbone = VocosBackbone(
            in_channels, dim, intermediate_dim, num_layers, layer_scale_init_value, kernel_size
        )
