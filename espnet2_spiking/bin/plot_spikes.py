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

from espnet2.utils import config_argparse

from espnet2_spiking.metrics.spikes import plot_spikes
from espnet2_spiking.utils.cli import add_log_level_argument, setup_logging
from espnet2_spiking.vocoder import add_vocoder_arguments, vocoder_from_args


def get_parser() -> argparse.ArgumentParser:
    parser = config_argparse.ArgumentParser(
        description="Spike raster, firing rates and mel spectrograms of a spiking vocoder on one recording",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_vocoder_arguments(parser)
    parser.add_argument("--wav", required=True, help="Recording to decode (mono)")
    parser.add_argument(
        "--out", required=True, help="Raster PNG; *_firing_rates.png and *_mel.png go beside it"
    )
    parser.add_argument("--layers", default=r"lif1$", help="Regex of the spiking layers in the raster")
    parser.add_argument("--max_channels", type=int, default=64, help="Channels per layer in the raster")
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    vocoder = vocoder_from_args(args)
    for path in plot_spikes(vocoder, args.wav, args.out, args.layers, args.max_channels).values():
        logging.info(f"wrote {path}")


if __name__ == "__main__":
    main()
