#!/usr/bin/env python3
"""Convert a checkpoint of the reference Spiking Vocos (pymaster17/Spiking-Vocos) into this plugin.

Example:
    python -m espnet2_spiking.bin.convert_spiking_vocos \\
        --checkpoint_path logs/spikingv3-TSM-distill/version_0/checkpoints/last.ckpt \\
        --out_dir exp/sv_reference

Reads the Lightning ``.ckpt`` (without running code from it) and its Lightning-CLI
``config.yaml`` (default: the reference's own lookup, ``config.yaml`` then ``hparams.yaml``
one folder above the checkpoint's folder), and writes ``<out_dir>/config.yaml`` and
``<out_dir>/model.pth`` in the layout of ``gan_vocoder_train``: the teacher
(``vocos.models.VocosBackbone``) or any of the four spiking students
(``vocos.spiking_modelsv3{,_distill,_TSM,_TSM_distill}.SpikingVocosBackbone``), with the
reference's features, time steps, temporal shift and ISTFT padding. Decode it like a model
trained here: ``gan_vocoder_inference --model_file <out_dir>/model.pth``,
``tts_inference --vocoder_file <out_dir>``, ``Vocoder.from_pretrained("<out_dir>")``.
"""

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from espnet2.utils.types import str2bool

from espnet2_spiking.gan_vocoder.convert import convert_reference
from espnet2_spiking.utils.cli import add_log_level_argument, setup_logging


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Convert a reference Spiking Vocos checkpoint (Lightning .ckpt) into a vocoder of espnet2_spiking",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--checkpoint_path", type=Path, required=True, help="the reference's .ckpt file")
    parser.add_argument("--out_dir", type=Path, required=True, help="where config.yaml and model.pth go")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="its Lightning-CLI config.yaml (default: config.yaml, then hparams.yaml, one folder above the "
        "checkpoint's folder)",
    )
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace existing output files")
    add_log_level_argument(parser)
    return parser


def main(cmd: Optional[Sequence[str]] = None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    convert_reference(args.checkpoint_path, args.out_dir, args.config, args.overwrite)


if __name__ == "__main__":
    main(sys.argv[1:])
