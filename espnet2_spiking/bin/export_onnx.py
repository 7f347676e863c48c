#!/usr/bin/env python3
"""Export a vocoder (teacher or student) to ONNX, for decoding with onnxruntime.

    python -m espnet2_spiking.bin.export_onnx --model_file exp/snn/valid.mel_loss.best.pth --out snn.onnx
    # an untrained student of the published size:
    python -m espnet2_spiking.bin.export_onnx --generator_type spiking_vocos --generator_conf time_steps=4 \\
        --out snn.onnx

The file maps a log-mel ``mel`` (B, n_mels, frames) to a waveform ``wav`` (B, frames * hop),
weights inside (no ``.onnx.data`` beside it), written in one step, in exactly ``--opset``
(18 or newer; an opset the exporter cannot write is refused, nothing written); see
:mod:`espnet2_spiking.gan_vocoder.onnx_export` for what is and is not in the graph.
"""

import argparse
import logging

from espnet2.utils import config_argparse

from espnet2_spiking.gan_vocoder.onnx_export import OPSET, export_onnx
from espnet2_spiking.utils.cli import add_log_level_argument, setup_logging
from espnet2_spiking.vocoder import add_vocoder_arguments, vocoder_from_args


def get_parser() -> argparse.ArgumentParser:
    parser = config_argparse.ArgumentParser(
        description="Export a vocoder to ONNX", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add_vocoder_arguments(parser)
    parser.add_argument("--out", required=True, help="Output .onnx file")
    parser.add_argument(
        "--opset", type=int, default=OPSET, help="ONNX opset (18 or newer); the file holds exactly this opset"
    )
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    parser = get_parser()
    args = parser.parse_args(cmd)
    if args.opset < OPSET:
        parser.error(f"--opset {args.opset}: the vocoder's inverse STFT needs opset {OPSET} or newer (DFT, Col2Im)")
    setup_logging(args.log_level)
    vocoder = vocoder_from_args(args)
    path = export_onnx(vocoder.generator.cpu(), args.out, args.opset)
    logging.info(f"wrote {path} ({vocoder.description})")


if __name__ == "__main__":
    main()
