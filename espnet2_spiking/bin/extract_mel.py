#!/usr/bin/env python3
"""Extract the vocoder's log-mel features into Kaldi ark/scp files.

The settings are read from the vocoder training configs (their ``feats_extract`` and
``feats_extract_conf``, which must agree: e.g. teacher and student), updated by
``--feats_extract`` and ``--feats_extract_conf`` as training's are, so the features written
here are exactly those the vocoders are trained on and decode:

    python -m espnet2_spiking.bin.extract_mel --config conf/train_vocos.yaml \\
        --config conf/train_spiking_vocos.yaml \\
        --wav_scp dump/raw/test_clean/wav.scp --out_dir dump/raw/test_clean

writes ``<out_dir>/feats.ark`` and ``feats.scp`` (one (frames, n_mels) float32 matrix per
utterance, what a text-to-mel model is trained on and what ``gan_vocoder_inference``
decodes with ``feats.scp,feats,kaldi_ark``) and ``mel.yaml`` (``feats_extract`` and the
complete ``feats_extract_conf``). A finished directory with the same settings is left as
it is; one with other settings is refused.

``--print_conf`` prints the settings instead (``--print_conf fs`` one of them), for
shell scripts that must agree with the config.
"""

import argparse
import sys
from pathlib import Path

import yaml
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str_or_none

from espnet2_spiking.utils.cli import setup_logging
from espnet2_spiking.utils.extract_mel import extract_mel, features_of_configs


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config",
        type=Path,
        required=True,
        action="append",
        help="vocoder training config: its feats_extract(_conf) give the settings "
        "(repeat it for configs that must agree, e.g. teacher and student)",
    )
    parser.add_argument(
        "--feats_extract", type=str_or_none, default=None, help="replaces the configs' feats_extract (vocos_mel, fbank)"
    )
    parser.add_argument(
        "--feats_extract_conf",
        action=NestedDictAction,
        default=dict(),
        help="updates the configs' feats_extract_conf, e.g. hop_length=300",
    )
    parser.add_argument("--wav_scp", type=Path, help="audio to extract from (Kaldi wav.scp)")
    parser.add_argument("--out_dir", type=Path, help="where feats.ark, feats.scp, mel.yaml go")
    parser.add_argument(
        "--print_conf",
        nargs="?",
        const="",
        metavar="KEY",
        help="print the settings (or the one named KEY: feats_extract, feats_extract_conf or one of its keys) and exit",
    )
    return parser


def main(cmd=None):
    setup_logging()
    parser = get_parser()
    args = parser.parse_args(cmd)
    try:
        features = features_of_configs(args.config, args.feats_extract, args.feats_extract_conf)
        if args.print_conf is not None:
            conf = features.config
            if args.print_conf:
                keys = dict(conf, **conf["feats_extract_conf"])
                if args.print_conf not in keys:
                    parser.error(f"--print_conf {args.print_conf}: choose from {list(keys)}")
                conf = keys[args.print_conf]
            print(yaml.safe_dump(conf, default_flow_style=True, width=1000).strip() if isinstance(conf, dict) else conf)
            return
        if args.wav_scp is None or args.out_dir is None:
            parser.error("--wav_scp and --out_dir are required (or --print_conf)")
        extract_mel(features, args.wav_scp, args.out_dir, " and ".join(map(str, args.config)))
    except (ValueError, FileNotFoundError) as e:
        sys.exit(f"extract_mel: {e}")


if __name__ == "__main__":
    main()
