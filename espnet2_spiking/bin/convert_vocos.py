#!/usr/bin/env python3
"""Convert a public Vocos checkpoint into a teacher checkpoint of this plugin.

Example:
    python -m espnet2_spiking.bin.convert_vocos --vocos_config config.yaml \\
        --vocos_checkpoint pytorch_model.bin --output_dir exp/vocos_pretrained

Reads the files of a Vocos model-hub release (``config.yaml`` with ``feature_extractor``,
``backbone`` and ``head`` entries, each a ``class_path`` and its ``init_args``; and
``pytorch_model.bin``, a ``vocos.Vocos`` state_dict) and writes, in the layout of
``gan_vocoder_train``, ``<output_dir>/config.yaml`` and ``<output_dir>/model.pth``, ready
for ``--teacher_model_file <output_dir>/model.pth`` (see
:func:`espnet2_spiking.gan_vocoder.convert.convert_vocos`).
"""

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from espnet2.utils.types import str2bool

from espnet2_spiking.gan_vocoder.convert import convert_vocos
from espnet2_spiking.utils.cli import add_log_level_argument, setup_logging


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Convert a public Vocos checkpoint into a Vocos teacher of espnet2_spiking",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--vocos_config", type=Path, required=True, help="config.yaml of the Vocos release")
    parser.add_argument("--vocos_checkpoint", type=Path, required=True, help="pytorch_model.bin of the release")
    parser.add_argument("--output_dir", type=Path, required=True, help="where config.yaml and model.pth go")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace existing output files")
    add_log_level_argument(parser)
    return parser


def main(cmd: Optional[Sequence[str]] = None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    convert_vocos(args.vocos_config, args.vocos_checkpoint, args.output_dir, args.overwrite)


if __name__ == "__main__":
    main(sys.argv[1:])
