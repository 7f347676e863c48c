"""Spikes of a vocoder's neuron layers: recording them, their firing rates, and pictures.

A spiking layer is a spikingjelly neuron (``neuron.BaseNode``); its output is its spikes,
(T, B, L, C) with values 0 and 1. They are watched with spikingjelly's
``monitor.OutputMonitor`` (:func:`spike_monitor`), by

- the energy count (:func:`espnet2_spiking.metrics.energy.count_energy`): spikes per layer;
- :func:`record_spikes`: the spikes of one forward pass, for pictures;
- :class:`FiringRates`: every layer's firing rate per training step, as statistics of the
  GAN vocoder model;
- the recipe's firing diagnosis (``pyscripts/lab/diagnose_firing.py``).

:func:`plot_spikes` draws a vocoder decoding one recording (``bin/plot_spikes``).
"""

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict

import torch
from spikingjelly.activation_based import monitor, neuron

if TYPE_CHECKING:  # the vocoder's loader imports the task, whose model imports this module
    from espnet2_spiking.vocoder import Vocoder


def spike_monitor(generator: torch.nn.Module, function_on_output: Callable = lambda spikes: spikes):
    """spikingjelly's ``OutputMonitor`` on every spiking layer of ``generator``, in network order.

    Args:
        generator: Any module; an ANN has no spiking layers (nothing is recorded).
        function_on_output: Applied to each layer's spikes (T, B, L, C) before they are kept
            (default: kept as they are).

    Returns:
        The monitor: ``monitor[name]`` lists one record per forward pass of layer ``name``;
        use it as a context manager, which removes its hooks on exit.
    """
    return monitor.OutputMonitor(generator, neuron.BaseNode, function_on_output)


def record_spikes(generator: torch.nn.Module, mel: torch.Tensor, layers: str = "") -> Dict[str, torch.Tensor]:
    """Spikes of one utterance, for pictures.

    Args:
        generator: A spiking vocoder, in eval mode.
        mel: Log-mel (1, C, L).
        layers: Regular expression; only spiking layers whose name it matches are kept.

    Returns:
        Layer name -> spikes (T, L, C), in network order.
    """
    with torch.no_grad(), spike_monitor(generator) as spikes:
        generator(mel)
        return {name: spikes[name][0][:, 0] for name in spikes.monitored_layers if re.search(layers, name)}


class FiringRates:
    """Firing rate of every spiking layer of a generator, per forward pass; an ANN generator has none.

    Args:
        generator: The generator to watch.
    """

    def __init__(self, generator: torch.nn.Module):
        self.monitor = spike_monitor(generator, lambda spikes: spikes.detach().float().mean())

    def pop(self) -> Dict[str, torch.Tensor]:
        """Rates of the passes since the last call, as statistics: ``firing_rate_<block>_<layer>``
        for every neuron layer (e.g. ``firing_rate_0_lif2``), their ``firing_rate_min`` and
        ``firing_rate_mean``; empty for an ANN."""
        stats = {}
        for name in self.monitor.monitored_layers:
            records = self.monitor[name]
            if records:
                block, layer = name.split(".")[-2:]
                stats[f"firing_rate_{block}_{layer}"] = torch.stack(records).mean()
        self.monitor.clear_recorded_data()
        if stats:
            rates = torch.stack(list(stats.values()))
            stats.update(firing_rate_min=rates.min(), firing_rate_mean=rates.mean())
        return stats


def plot_spikes(
    vocoder: "Vocoder", wav: str, out: str, layers: str = r"lif1$", max_channels: int = 64
) -> Dict[str, Path]:
    """Draw the spike raster, the firing rates and the mels of ``vocoder`` decoding ``wav``.

    Args:
        vocoder: A loaded (spiking) vocoder.
        wav: Mono audio file; at another rate than the vocoder's, it is resampled.
        out: Raster PNG; ``<out>_firing_rates.png`` and ``<out>_mel.png`` are written beside it.
        layers: Regex of the spiking layers in the raster.
        max_channels: Channels per layer in the raster.

    Returns:
        Picture name (``spikes``, ``firing_rates``, ``mel``) -> path.
    """
    # imported here: training imports this module for FiringRates, and needs neither
    # matplotlib nor audio files
    from espnet2_spiking.metrics import plots
    from espnet2_spiking.utils.audio import load_wav, resample

    if not vocoder.spiking_layers:
        raise ValueError(f"{type(vocoder.generator).__name__} has no spiking layers to draw")
    if not any(re.search(layers, name) for name in vocoder.spiking_layers):
        raise ValueError(
            f"no spiking layer matches --layers {layers!r}; the layers are {', '.join(vocoder.spiking_layers)}"
        )
    audio, fs = load_wav(wav)
    if fs != vocoder.fs:
        logging.info(f"resampling {wav} from {fs} Hz to the model's {vocoder.fs} Hz")
        audio = resample(audio, fs, vocoder.fs)
    mel = vocoder.mel(audio)
    with torch.no_grad():
        spikes = record_spikes(vocoder.generator, mel)
        output_mel = vocoder.feats_extract.mel(vocoder.generator(mel)[:, 0, : len(audio)])
    stem = Path(out).with_suffix("")
    raster = {name: s.cpu().numpy() for name, s in spikes.items() if re.search(layers, name)}
    rates = {name: float(s.float().mean()) for name, s in spikes.items()}
    return dict(
        spikes=plots.plot_spike_raster(raster, out, max_channels),
        firing_rates=plots.plot_firing_rates(
            rates, f"{stem}_firing_rates.png", f"Firing rates: {Path(wav).name}"
        ),
        mel=plots.plot_mels(
            {
                f"recording ({Path(wav).name})": mel[0].cpu().numpy(),
                "vocoder output": output_mel[0].cpu().numpy(),
            },
            f"{stem}_mel.png",
            vocoder.fs,
            vocoder.generator.upsample_factor,
        ),
    )
