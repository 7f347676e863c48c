#!/usr/bin/env python3
"""Pack a trained vocoder into one shareable archive, as ESPnet recipes pack their models.

    python -m espnet2_spiking.bin.pack_vocoder --model_file exp/snn/valid.mel_loss.best.pth \\
        --metrics exp/snn/decode_test/eval/metrics.json --out exp/snn/spiking_vocos.tar.gz

The archive holds ``config.yaml``, ``model.pth`` (the generator's weights), ``feats.yaml``
(the features) and ``README.md`` (a model card, with the scores of ``--metrics``). Decode
with it as with the model file (``gan_vocoder_inference --model_file``,
``tts_inference --vocoder_file``) or in Python with ``Vocoder.from_pretrained``.
"""

import argparse
import logging

from espnet2.utils.types import str_or_none

from espnet2_spiking.utils.cli import setup_logging
from espnet2_spiking.vocoder import pack_vocoder


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Pack a trained vocoder into one archive",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model_file", required=True, help="Model file of gan_vocoder_train (or its directory)"
    )
    parser.add_argument(
        "--train_config", type=str_or_none, default=None, help="Its config.yaml (default: beside it)"
    )
    parser.add_argument(
        "--metrics", type=str_or_none, default=None, help="metrics.json of bin/evaluate, for the model card"
    )
    parser.add_argument("--out", required=True, help="The archive to write (*.tar.gz)")
    return parser


def main(cmd=None):
    setup_logging()
    args = get_parser().parse_args(cmd)
    archive = pack_vocoder(args.model_file, args.out, args.train_config, args.metrics)
    logging.info(f"wrote {archive}")


if __name__ == "__main__":
    main()
