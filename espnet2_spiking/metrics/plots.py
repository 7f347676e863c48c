"""Pictures: spike rasters, firing rates, energy breakdowns, mel spectrograms (PNG files)."""

from pathlib import Path
from typing import Dict, Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from espnet2_spiking.utils.files import atomic_path  # noqa: E402


def short_name(name: str) -> str:
    """``backbone.convnext.3.lif1`` -> ``3.lif1``: block index and layer."""
    return name.replace("backbone.convnext.", "")


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format=path.suffix[1:] or "png")
    finally:
        plt.close(fig)
    return path


def plot_spike_raster(spikes: Mapping[str, np.ndarray], path, max_channels: int = 64) -> Path:
    """3-D raster of spikes: frames x channels x depth, one plane per layer.

    A dot marks a (frame, channel) neuron that fired at least once over the T SNN time
    steps of that frame; its colour says how many of the T steps it fired.

    Args:
        spikes: Layer name -> spikes (T, L, C) of one utterance, in network order.
        path: PNG to write.
        max_channels: Channels shown per layer (the first ones).
    """
    fig = plt.figure(figsize=(10, 6))
    ax = fig.add_subplot(projection="3d")
    time_steps = max(s.shape[0] for s in spikes.values())
    for depth, s in enumerate(spikes.values()):
        counts = np.asarray(s)[:, :, :max_channels].sum(0)  # (L, C)
        frame, channel = np.nonzero(counts)
        points = ax.scatter(
            frame,
            channel,
            np.full(frame.shape, depth),
            c=counts[frame, channel],
            s=2,
            cmap="viridis",
            vmin=1,
            vmax=time_steps,
            depthshade=False,
        )
    ax.set_xlabel("frame")
    ax.set_ylabel("channel")
    ax.set_zlabel("layer")
    ax.set_zticks(range(len(spikes)))
    ax.set_zticklabels([short_name(n) for n in spikes], fontsize=7)
    ax.view_init(elev=20, azim=-65)
    bar = fig.colorbar(points, ax=ax, shrink=0.5, pad=0.1, label=f"steps fired (of T={time_steps})")
    bar.set_ticks(range(1, time_steps + 1))
    ax.set_title(f"Spikes of {len(spikes)} layers (first {max_channels} channels)")
    return _save(fig, path)


def plot_firing_rates(rates: Mapping[str, float], path, title: str = "Firing rate per spiking layer") -> Path:
    """Bar chart of firing rates (spikes per neuron and time step), one bar per layer."""
    names = list(rates)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(names)), 4))
    bars = ax.bar(range(len(names)), [rates[n] for n in names], color="tab:blue")
    ax.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([short_name(n) for n in names], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("firing rate")
    ax.set_ylim(0, max(max(rates.values(), default=0) * 1.25, 0.05))
    ax.set_title(title)
    return _save(fig, path)


def plot_energy(
    systems: Mapping[str, Mapping[str, Mapping[str, float]]], path, per_frames: int = 1000
) -> Path:
    """Stacked horizontal bars: energy by vocoder part, each system in both conventions.

    Args:
        systems: System name -> :meth:`EnergyCount.components` (part -> {convention: mJ}).
        path: PNG to write.
        per_frames: Frames the energies are given for (axis label).
    """
    parts = list(dict.fromkeys(p for comps in systems.values() for p in comps))
    rows = [
        (f"{name}\n{conv}", comps, conv)
        for name, comps in systems.items()
        for conv in ("reference", "complete")
    ]
    colours = plt.get_cmap("tab20")(
        [(2 * i) % 20 + (2 * i) // 20 for i in range(len(parts))]
    )  # dark hues first
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.7 * len(rows)))
    left = np.zeros(len(rows))
    for part, colour in zip(parts, colours):
        widths = np.array([comps.get(part, {}).get(conv, 0.0) for _, comps, conv in rows])
        ax.barh(range(len(rows)), widths, left=left, color=colour, label=part)
        left += widths
    for i, total in enumerate(left):
        ax.text(total, i, f" {total:.2f} mJ", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([label for label, _, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, left.max() * 1.15 if left.max() > 0 else 1)
    ax.set_xlabel(f"energy (mJ per {per_frames} frames)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Energy by part: reference convention (ConvNeXt blocks) vs complete count")
    return _save(fig, path)


def plot_mels(mels: Dict[str, np.ndarray], path, fs: int, hop_length: int) -> Path:
    """Log-mel spectrograms side by side on one colour scale.

    Args:
        mels: Title -> log-mel (n_mels, frames), e.g. reference and vocoder output.
        path: PNG to write.
        fs: Sample rate (time axis).
        hop_length: Frame shift (time axis).
    """
    low = min(float(np.percentile(m, 1)) for m in mels.values())
    high = max(float(m.max()) for m in mels.values())
    fig, axes = plt.subplots(1, len(mels), figsize=(5 * len(mels), 3.5), sharey=True, squeeze=False)
    for ax, (title, mel) in zip(axes[0], mels.items()):
        extent = (0, mel.shape[1] * hop_length / fs, 0, mel.shape[0])
        image = ax.imshow(
            mel, origin="lower", aspect="auto", extent=extent, vmin=low, vmax=high, cmap="magma"
        )
        ax.set_title(title)
        ax.set_xlabel("time (s)")
    axes[0, 0].set_ylabel("mel bin")
    fig.colorbar(image, ax=axes[0].tolist(), label="log magnitude")
    return _save(fig, path)
