#!/usr/bin/env python3
"""Pictures of a spiking vocoder decoding one recording.

    python -m espnet2_spiking.bin.plot_spikes --model_file exp/snn/valid.mel_loss.best.pth \\
        --wav some.wav --out spikes.png

Writes ``spikes.png`` (3-D raster of the spikes of the layers matching ``--layers``:
frames x channels x depth), ``spikes_firing_rates.png`` (firing rate of every spiking
layer) and ``spikes_mel.png`` (log-mel of the recording and of the vocoder's output, side
by side). Without ``--model_file`` an untrained ``--generator_type``/``--generator_conf``
is drawn. A recording at another rate than the model's is resampled.
"""

import argparse
import logging
import re
from pathlib import Path

import torch
from espnet2.utils import config_argparse

from espnet2_spiking.bin.benchmark import add_model_arguments, load_vocoder
from espnet2_spiking.bin.evaluate import load_wav
from espnet2_spiking.metrics import plots
from espnet2_spiking.metrics.energy import record_spikes
from espnet2_spiking.metrics.quality import resample
from espnet2_spiking.utils.cli import setup_logging


def plot_spikes(vocoder, wav: str, out: str, layers: str = r"lif1$", max_channels: int = 64) -> dict:
    """Draw the three pictures of ``vocoder`` decoding ``wav``.

    Args:
        vocoder: ``generator``, ``feats_extract`` and ``fs`` (see ``benchmark.load_vocoder``).
        wav: Mono audio file.
        out: Raster PNG; the other two are written beside it.
        layers: Regex of the spiking layers in the raster.
        max_channels: Channels per layer in the raster.

    Returns:
        Picture name -> path.
    """
    audio, fs = load_wav(wav)
    if fs != vocoder.fs:
        logging.info(f"resampling {wav} from {fs} Hz to the model's {vocoder.fs} Hz")
        audio = resample(audio, fs, vocoder.fs)
    device = next(vocoder.generator.parameters()).device
    with torch.no_grad():
        mel = vocoder.feats_extract.mel(torch.from_numpy(audio)[None].to(device))
        spikes = record_spikes(vocoder.generator, mel)
        if not spikes:
            raise ValueError(f"{type(vocoder.generator).__name__} has no spiking layers to draw")
        output_mel = vocoder.feats_extract.mel(vocoder.generator(mel)[:, 0, : len(audio)])
    stem = Path(out).with_suffix("")
    raster = {name: s.cpu().numpy() for name, s in spikes.items() if re.search(layers, name)}
    if not raster:
        raise ValueError(f"no spiking layer matches --layers {layers!r}; the layers are {', '.join(spikes)}")
    rates = {name: float(s.float().mean()) for name, s in spikes.items()}
    hop = vocoder.generator.upsample_factor
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
            hop,
        ),
    )


def get_parser() -> argparse.ArgumentParser:
    parser = config_argparse.ArgumentParser(
        description="Spike raster, firing rates and mel spectrograms of a spiking vocoder on one recording",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument("--wav", required=True, help="Recording to decode (mono)")
    parser.add_argument(
        "--out", required=True, help="Raster PNG; *_firing_rates.png and *_mel.png go beside it"
    )
    parser.add_argument("--layers", default=r"lif1$", help="Regex of the spiking layers in the raster")
    parser.add_argument("--max_channels", type=int, default=64, help="Channels per layer in the raster")
    parser.add_argument("--log_level", default="INFO", choices=["ERROR", "WARNING", "INFO", "DEBUG"])
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    vocoder = load_vocoder(
        args.model_file, args.train_config, args.generator_type, args.generator_conf, args.fs, args.device
    )
    for path in plot_spikes(vocoder, args.wav, args.out, args.layers, args.max_channels).values():
        logging.info(f"wrote {path}")


if __name__ == "__main__":
    main()
