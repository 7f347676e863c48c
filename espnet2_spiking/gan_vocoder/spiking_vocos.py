"""Spiking Vocos: the SNN student (Spiking ConvNeXt backbone + the teacher's ISTFT head).

Tensors inside the backbone are (T, B, C, L): SNN time steps, batch, channels, frames.
Every layer but the neurons runs on all T steps at once (T folded into the batch); the
ParametricLIF neurons (:mod:`espnet2_spiking.gan_vocoder.plif`) integrate over T in
multi-step mode. What is the same at every step is computed once: before the first
temporal shift or neuron, the stream is the embedded mel, kept as one (1, B, C, L) copy.
"""

from typing import List, Optional, Tuple

import torch
from spikingjelly.activation_based import functional
from typeguard import typechecked

from espnet2_spiking.gan_vocoder.mel_vocoder import MelVocoder, constructor_settings, init_weights
from espnet2_spiking.gan_vocoder.plif import FusedParametricLIF
from espnet2_spiking.gan_vocoder.temporal_shift import TemporalShift


def readout_weights(time_steps: int, decay: float, like: torch.Tensor) -> torch.Tensor:
    """Fixed read-out weights ``decay ** (T - 1 - t)`` for t = 0..T-1, shaped (T, 1, 1, 1)."""
    exponents = torch.arange(time_steps - 1, -1, -1, dtype=like.dtype, device=like.device)
    return (decay**exponents).view(-1, 1, 1, 1)


def fuse_time_steps(u: torch.Tensor, decay: float = 0.9) -> torch.Tensor:
    """Weighted sum over SNN time steps (the membrane read-out).

    Args:
        u: (T, B, C, L).
        decay: Weight of a step relative to the next one.

    Returns:
        (B, C, L).
    """
    return (readout_weights(u.size(0), decay, u) * u).sum(0)


class SpikingConvNeXtBlock(torch.nn.Module):
    """Spiking ConvNeXt block with the amplitude shortcut.

    ``x_c = LN(dwconv(u))``; ``y = Linear(PLIF(GELU(Linear(PLIF(x_c)))))``;
    ``u <- u + gamma * (y * x_c)``. The residual stream u stays analog; with a temporal
    shift, the dwconv reads ``u + alpha * shift(u)`` instead of u.

    Args:
        dim: Channels.
        intermediate_dim: Hidden channels of the pointwise MLP.
        layer_scale_init_value: Initial per-channel gamma.
        kernel_size: Depthwise kernel (odd).
        use_tsm: Whether to apply the Temporal Shift Module first.
        tsm_alpha_init: Initial TSM scale alpha.
        tsm_channel_folding_factor: Channel groups of the shift (see
            :func:`~espnet2_spiking.gan_vocoder.temporal_shift.channel_groups`).
        tsm_direction: ``"reference"`` or ``"mirrored"`` (see
            :func:`~espnet2_spiking.gan_vocoder.temporal_shift.temporal_shift`).
        init_tau: Initial PLIF time constant.
        v_threshold: PLIF firing threshold.
        surrogate_alpha: Slope of the sigmoid surrogate gradient.
        init_firing_rate: Firing rate assumed for the spikes into ``pwconv1`` and
            ``pwconv2`` at initialisation: their weights start with std
            ``1 / sqrt(fan_in * init_firing_rate)``, so that their outputs start with unit
            variance and ``lif2`` can reach its threshold. ``None``: Vocos's std 0.02, the
            reference's initialisation, under which ``lif2`` starts silent (see the recipe README).
    """

    def __init__(
        self,
        dim: int,
        intermediate_dim: int,
        layer_scale_init_value: float,
        *,
        kernel_size: int = 7,
        use_tsm: bool = False,
        tsm_alpha_init: float = 0.5,
        tsm_channel_folding_factor: int = 32,
        tsm_direction: str = "reference",
        init_tau: float = 2.0,
        v_threshold: float = 1.0,
        surrogate_alpha: float = 4.0,
        init_firing_rate: Optional[float] = None,
    ):
        super().__init__()
        self.tsm = (
            TemporalShift(tsm_alpha_init, tsm_channel_folding_factor, tsm_direction) if use_tsm else None
        )
        self.dwconv = torch.nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = torch.nn.LayerNorm(dim, eps=1e-6)
        self.lif1 = FusedParametricLIF(init_tau, v_threshold, surrogate_alpha)
        self.pwconv1 = torch.nn.Linear(dim, intermediate_dim)
        self.act = torch.nn.GELU()
        self.lif2 = FusedParametricLIF(init_tau, v_threshold, surrogate_alpha)
        self.pwconv2 = torch.nn.Linear(intermediate_dim, dim)
        self.gamma = torch.nn.Parameter(torch.full((dim,), layer_scale_init_value))
        self.init_firing_rate = init_firing_rate

    def init_synapses(self):
        """Scale the pointwise layers for binary inputs (see ``init_firing_rate``); no-op if None."""
        if self.init_firing_rate is None:
            return
        for layer in (self.pwconv1, self.pwconv2):
            torch.nn.init.normal_(layer.weight, std=(layer.in_features * self.init_firing_rate) ** -0.5)

    def forward(self, u: torch.Tensor, time_steps: int) -> torch.Tensor:
        """Run the block on all T steps; what is the same at every step is computed once.

        Args:
            u: Membrane stream (T, B, dim, L), or (1, B, dim, L) when it is the same at every
                step (the direct encoding before block 0): then, without TSM, the dwconv,
                the LayerNorm and ``gamma * x_c`` run once, and ``lif1`` reads the one
                ``x_c`` at every step (a broadcast view, no copy).
            time_steps: SNN time steps T.

        Returns:
            Updated stream (T, B, dim, L).
        """
        x = self.tsm(u.expand(time_steps, -1, -1, -1)) if self.tsm is not None else u
        steps, batch, dim, frames = x.shape
        x_c = self.norm(self.dwconv(x.flatten(0, 1)).transpose(1, 2)).view(steps, batch, frames, dim)
        s1 = self.lif1(x_c.expand(time_steps, -1, -1, -1))
        y = self.pwconv2(self.lif2(self.act(self.pwconv1(s1))))  # (T, B, L, dim)
        return u + (y * (self.gamma * x_c)).transpose(2, 3)


class SpikingVocosBackbone(torch.nn.Module):
    """Direct encoding -> Spiking ConvNeXt blocks -> membrane read-out -> LayerNorm.

    Args:
        input_channels: Mel bins.
        dim: Channels of the residual stream.
        intermediate_dim: Hidden channels of each block's MLP.
        num_layers: Number of blocks.
        time_steps: SNN time steps T.
        layer_scale_init_value: Initial gamma (default ``1 / num_layers``).
        readout_decay: Read-out weight ratio between consecutive time steps.
        **block_settings: Keyword settings of every :class:`SpikingConvNeXtBlock`
            (``kernel_size``, ``use_tsm``, ``tsm_alpha_init``, ``tsm_channel_folding_factor``,
            ``tsm_direction``, ``init_tau``, ``v_threshold``, ``surrogate_alpha``,
            ``init_firing_rate``).
    """

    def __init__(
        self,
        input_channels: int,
        dim: int,
        intermediate_dim: int,
        num_layers: int,
        time_steps: int = 4,
        layer_scale_init_value: Optional[float] = None,
        readout_decay: float = 0.9,
        **block_settings,
    ):
        super().__init__()
        if time_steps < 1:
            raise ValueError(f"time_steps must be at least 1, got {time_steps}")
        scale = layer_scale_init_value or 1 / num_layers
        self.time_steps = time_steps
        self.readout_decay = readout_decay
        self.embed = torch.nn.Conv1d(input_channels, dim, kernel_size=7, padding=3)
        self.convnext = torch.nn.ModuleList(
            [SpikingConvNeXtBlock(dim, intermediate_dim, scale, **block_settings) for _ in range(num_layers)]
        )
        self.final_layer_norm = torch.nn.LayerNorm(dim, eps=1e-6)
        self.apply(init_weights)
        for block in self.convnext:
            block.init_synapses()

    def forward(self, mel: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Args: mel: (B, input_channels, L).

        Returns:
            Features (B, L, dim) and every block's membrane stream, each (T, B, dim, L).
        """
        functional.reset_net(self)  # neuron states never carry across calls
        u = self.embed(mel).unsqueeze(0)  # direct encoding: the same potential at every step
        hiddens = []
        for block in self.convnext:
            u = block(u, self.time_steps)
            hiddens.append(u)
        x = fuse_time_steps(u, self.readout_decay)
        return self.final_layer_norm(x.transpose(1, 2)), hiddens


class SpikingVocosGenerator(MelVocoder):
    """Spiking Vocos vocoder (the student); same face and head as :class:`VocosGenerator`.

    Args:
        in_channels: Mel bins.
        dim: Backbone channels.
        intermediate_dim: Hidden channels of each block's MLP.
        num_layers: Number of Spiking ConvNeXt blocks.
        time_steps: SNN time steps T.
        use_tsm: Temporal Shift Module in every block.
        tsm_alpha_init: Initial TSM scale (the reference's ``tsm_penalty_factor``).
        tsm_channel_folding_factor: Channel groups of the shift (the reference's
            ``channel_folding_factor``): the first ``factor // 4`` groups and the next
            ``factor // 2 - factor // 4`` move; 32 gives a quarter and a quarter.
        tsm_direction: ``"reference"`` (the reference's shift: the first group reads the next
            SNN time step, the second the previous one) or ``"mirrored"`` (the other way,
            for checkpoints trained with it).
        init_tau: Initial PLIF time constant.
        v_threshold: PLIF firing threshold.
        surrogate_alpha: Slope of the sigmoid surrogate gradient.
        init_firing_rate: Input firing rate the pointwise layers are initialised for
            (see :class:`SpikingConvNeXtBlock`); ``None``: the reference's std 0.02.
        readout_decay: Read-out weight ratio between consecutive time steps.
        layer_scale_init_value: Initial gamma (default ``1 / num_layers``).
        kernel_size: Depthwise kernel of the blocks.
        n_fft: FFT size of the ISTFT head.
        hop_length: Frame shift; also ``upsample_factor``.
        padding: ISTFT padding, ``"same"`` (default: the length ESPnet expects) or
            ``"center"`` (the reference's heads); see :class:`~espnet2_spiking.gan_vocoder.istft_head.ISTFT`.
        stats_file: Global-MVN statistics of a normalising text-to-mel model (see ``MelVocoder``).
    """

    @typechecked
    def __init__(
        self,
        in_channels: int = 100,
        dim: int = 512,
        intermediate_dim: int = 1536,
        num_layers: int = 8,
        time_steps: int = 4,
        use_tsm: bool = False,
        tsm_alpha_init: float = 0.5,
        tsm_channel_folding_factor: int = 32,
        tsm_direction: str = "reference",
        init_tau: float = 2.0,
        v_threshold: float = 1.0,
        surrogate_alpha: float = 4.0,
        init_firing_rate: Optional[float] = 0.05,
        readout_decay: float = 0.9,
        layer_scale_init_value: Optional[float] = None,
        kernel_size: int = 7,
        n_fft: int = 1024,
        hop_length: int = 256,
        padding: str = "same",
        stats_file: Optional[str] = None,
    ):
        super().__init__(in_channels, dim, n_fft, hop_length, padding, stats_file)
        self.settings = constructor_settings(self, locals())
        self.backbone = SpikingVocosBackbone(
            in_channels,
            dim,
            intermediate_dim,
            num_layers,
            time_steps=time_steps,
            layer_scale_init_value=layer_scale_init_value,
            readout_decay=readout_decay,
            kernel_size=kernel_size,
            use_tsm=use_tsm,
            tsm_alpha_init=tsm_alpha_init,
            tsm_channel_folding_factor=tsm_channel_folding_factor,
            tsm_direction=tsm_direction,
            init_tau=init_tau,
            v_threshold=v_threshold,
            surrogate_alpha=surrogate_alpha,
            init_firing_rate=init_firing_rate,
        )
