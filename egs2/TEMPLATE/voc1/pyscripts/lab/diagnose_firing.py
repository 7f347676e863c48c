#!/usr/bin/env python3
"""Why a Spiking Vocos layer is silent: the inputs of every neuron layer against its threshold.

For each block of a student (untrained, or trained with ``--model_file``) on real log-mels,
prints a markdown table: the firing rate of ``lif1`` and ``lif2``, the standard deviation of
``pwconv1``'s output, and the share of ``lif2``'s input ``h = GELU(pwconv1(s1))`` that
reaches the level a constant input needs to fire within T steps,
``v_threshold / (1 - (1 - 1/tau)^T)`` (PLIF with ``decay_input``: v <- v + (h - v) / tau).

    python pyscripts/lab/diagnose_firing.py --wav_scp dump/raw/mini_test_clean/wav.scp \\
        --init_firing_rate none 0.05 0.1 0.2 --generator_conf dim=512 intermediate_dim=1536 num_layers=8
"""

import argparse
import sys
from contextlib import ExitStack
from typing import Dict, List, Optional

import soundfile
import torch
from spikingjelly.activation_based import monitor

from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.layers.mel import VocosLogMel
from espnet2_spiking.metrics.spikes import spike_monitor
from espnet2_spiking.utils.scp import read_scp


def _rate_or_none(text: str) -> Optional[float]:
    return None if text.lower() == "none" else float(text)


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _sums(*values) -> torch.Tensor:
    """What a monitor keeps of one output: a few sums, in float64 so that many add up exactly."""
    return torch.tensor([float(v) for v in values], dtype=torch.float64)


@torch.no_grad()
def diagnose(generator: SpikingVocosGenerator, mels: List[torch.Tensor]) -> List[Dict[str, float]]:
    """Per block: ``lif1`` and ``lif2`` firing rates, ``pwconv1`` output std and the share of
    ``h`` at or above the constant-input firing level, over all given log-mels (each (1, C, L))."""
    steps = generator.backbone.time_steps
    with ExitStack() as stack:
        watch = lambda module, fn: stack.enter_context(monitor.OutputMonitor(module, function_on_output=fn))
        blocks = []
        for block in generator.backbone.convnext:
            tau = 1 / torch.sigmoid(block.lif2.w).item()  # spikingjelly's PLIF: 1/tau = sigmoid(w)
            level = block.lif2.v_threshold / (1 - (1 - 1 / tau) ** steps)
            blocks.append(
                dict(
                    spikes=stack.enter_context(spike_monitor(block, lambda s: _sums(s.sum(), s.numel()))),
                    z=watch(block.pwconv1, lambda z: _sums(z.sum(), z.square().sum(), z.numel())),
                    reach=watch(block.act, lambda h, level=level: _sums((h >= level).sum())),
                )
            )
        for mel in mels:
            generator(mel)
    rows = []
    for i, watched in enumerate(blocks):
        (lif1, n), (lif2, _) = sum(watched["spikes"]["lif1"]), sum(watched["spikes"]["lif2"])
        z, z2, nz = sum(watched["z"][""])  # a monitor of one module names it ""
        (reach,) = sum(watched["reach"][""])
        mean = z / nz
        rows.append(
            dict(
                block=i,
                lif1=(lif1 / n).item(),
                pwconv1_std=(z2 / nz - mean**2).clamp(min=0).sqrt().item(),
                h_reaches=(reach / nz).item(),
                lif2=(lif2 / nz).item(),
            )
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--wav_scp", required=True, help="Audio to decode (Kaldi scp), at the features' rate."
    )
    parser.add_argument("--max_utts", type=int, default=4, help="Utterances of --wav_scp to use.")
    parser.add_argument(
        "--init_firing_rate",
        nargs="+",
        type=_rate_or_none,
        default=[None, 0.1],
        help="Initialisations to compare (none: the reference's std 0.02).",
    )
    parser.add_argument("--generator_conf", nargs="*", default=[], help="key=value generator settings.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    conf = {k: _value(v) for k, v in (item.split("=", 1) for item in args.generator_conf)}
    feats = VocosLogMel()
    paths = list(read_scp(args.wav_scp).values())[: args.max_utts]
    mels = [feats.mel(torch.from_numpy(soundfile.read(path, dtype="float32")[0])[None]) for path in paths]
    print(f"{len(mels)} utterances of {args.wav_scp}; generator_conf {conf}")
    for rate in args.init_firing_rate:
        torch.manual_seed(args.seed)
        generator = SpikingVocosGenerator(**conf, init_firing_rate=rate).eval()
        print(f"\n### init_firing_rate {rate} (T={generator.backbone.time_steps})\n")
        print("| block | lif1 rate | std of pwconv1(s1) | share of h at firing level | lif2 rate |")
        print("|---:|---:|---:|---:|---:|")
        for row in diagnose(generator, mels):
            print(
                f"| {row['block']} | {row['lif1']:.4f} | {row['pwconv1_std']:.4f} | {row['h_reaches']:.4f} "
                f"| {row['lif2']:.4f} |"
            )


if __name__ == "__main__":
    sys.exit(main())
