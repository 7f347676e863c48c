#!/usr/bin/env python3
"""Score generated speech without a reference: DNSMOS P.808 and P.835 (offline ONNX models).

    python -m espnet2_spiking.bin.dnsmos --wav_scp exp/joint/inference/test/wav/wav.scp \\
        --out_dir exp/joint/inference/test/dnsmos

writes ``<out_dir>/utt_dnsmos.tsv`` (one row per utterance) and ``<out_dir>/dnsmos.json``
(the means of ``p808_mos``, ``sig_mos``, ``bak_mos``, ``ovrl_mos`` and ``num_utts``). For
text-to-wav output, which has no reference; it complements and never replaces the
copy-synthesis scores of ``bin/evaluate``. Needs ``pip install speechmos``.
"""

import argparse

from espnet2.utils.types import str2bool

from espnet2_spiking.metrics.dnsmos import dnsmos_wav_scp
from espnet2_spiking.utils.cli import setup_logging


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Score generated speech with DNSMOS (no reference needed)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--wav_scp", required=True, help="Kaldi scp of the audio to score: 'utt_id path'")
    parser.add_argument("--out_dir", required=True, help="Where to write utt_dnsmos.tsv and dnsmos.json")
    parser.add_argument(
        "--personalized", type=str2bool, default=False, help="P.835 of the personalized DNSMOS model"
    )
    return parser


def main(cmd=None):
    setup_logging()
    args = get_parser().parse_args(cmd)
    try:
        dnsmos_wav_scp(args.wav_scp, args.out_dir, args.personalized)
    except (ValueError, FileNotFoundError, ImportError) as e:
        raise SystemExit(f"dnsmos: {e}")


if __name__ == "__main__":
    main()
