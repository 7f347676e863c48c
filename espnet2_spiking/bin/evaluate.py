#!/usr/bin/env python3
"""Score generated speech against its references.

    python -m espnet2_spiking.bin.evaluate --ref_scp gt.scp --gen_scp pred.scp --out_dir eval/

Both scp files are Kaldi style (``utt_id path`` per line); every generated utterance must
have a reference. Writes ``<out_dir>/utt_metrics.tsv`` (one row per utterance) and
``<out_dir>/metrics.json``: averages over utterances of ``pesq_wb``, ``stoi``, ``mel_l1``,
``mcd`` (and ``utmos`` with ``--utmos_model``), and ``periodicity_rmse``, ``vuv_f1``,
``pitch_rmse_cents`` pooled over all frames of the test set, with the counts.

Lengths that differ by up to ``--max_length_diff`` seconds (default 0.025 s: a vocoder's
output exceeds its input by less than one hop) are trimmed to the shorter one. An
utterance with a larger difference, a missing, unreadable, empty, silent or non-mono file,
NaN or infinite samples or a sample-rate mismatch is skipped with a warning naming it and
the file, and listed in ``metrics.json`` (``skipped_utts``); the rest is scored. A
generated utterance without a reference, a duplicate utterance id, a Kaldi shell command
(``cmd |``) in either list or no utterance that can be scored stops the run.

Before any scoring, ``--out_dir`` is locked (``<out_dir>/.lock``: a second run into it is
refused) and checked to be writable with room for the results; if writing them fails
anyway (e.g. the disk filled up meanwhile), their content is logged before the error.
CREPE pitch tracks are cached on disk (``--pitch_cache_dir``) keyed by the samples and the
settings, so re-scoring new outputs against the same references tracks only the new
outputs; ``--nj`` scores utterances in parallel processes. Scores repeat to the last digit:
the same audio gives the same numbers, with or without the cache (CREPE's pitch is read
without torchcrepe's random dither).
"""

import argparse

from espnet2.utils import config_argparse
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str_or_none

from espnet2_spiking.metrics.evaluate import DEFAULT_CACHE, EvalSettings, evaluate
from espnet2_spiking.metrics.pitch import CrepeSettings
from espnet2_spiking.utils.cli import (
    add_device_arguments,
    add_log_level_argument,
    device_of,
    non_negative_float,
    positive_int,
    setup_logging,
)


def get_parser() -> argparse.ArgumentParser:
    parser = config_argparse.ArgumentParser(
        description="Score generated speech against references (PESQ, STOI, CREPE pitch, mel L1, MCD, UTMOS)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--ref_scp",
        required=True,
        help="Kaldi scp of the reference audio: 'utt_id path' (files; Kaldi's shell commands 'cmd |' are "
        "refused: format such data with espnet2_spiking.bin.format_wav_scp first)",
    )
    parser.add_argument(
        "--gen_scp", required=True, help="Kaldi scp of the generated audio: 'utt_id path' (files, as --ref_scp)"
    )
    parser.add_argument(
        "--out_dir",
        required=True,
        help="Where metrics.json and utt_metrics.tsv are written; one run at a time (<out_dir>/.lock)",
    )
    parser.add_argument(
        "--nj", type=positive_int, default=1, help="Parallel processes (utterances are split among them)"
    )
    parser.add_argument(
        "--crepe_model",
        choices=["full", "tiny"],
        default="full",
        help="CREPE size: full for publication, tiny for quick runs",
    )
    parser.add_argument("--crepe_batch_size", type=positive_int, default=512, help="CREPE frames per network call")
    parser.add_argument(
        "--pitch_cache_dir",
        type=str_or_none,
        default=str(DEFAULT_CACHE),
        help="Cache of CREPE pitch tracks ('none': no cache)",
    )
    parser.add_argument(
        "--voicing_threshold", type=float, default=0.21, help="Voiced when periodicity >= this"
    )
    parser.add_argument("--silence_db", type=float, default=-60.0, help="Unvoiced below this loudness (dB)")
    parser.add_argument(
        "--max_length_diff",
        type=non_negative_float,
        default=0.025,
        help="Length differences up to this many seconds are trimmed, larger ones refused",
    )
    parser.add_argument(
        "--mel_conf",
        action=NestedDictAction,
        default=dict(),
        help="VocosLogMel arguments for mel L1 besides fs (default: the Vocos features)",
    )
    parser.add_argument(
        "--utmos_model",
        type=str_or_none,
        default=None,
        help="Local TorchScript UTMOS checkpoint, called as model(wav (1, N) at 16 kHz)",
    )
    add_device_arguments(parser)  # CREPE and UTMOS run there
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    settings = EvalSettings(
        crepe=CrepeSettings(model=args.crepe_model, silence_db=args.silence_db),
        voicing_threshold=args.voicing_threshold,
        pitch_cache_dir=args.pitch_cache_dir,
        crepe_batch_size=args.crepe_batch_size,
        max_length_diff=args.max_length_diff,
        mel_conf=args.mel_conf,
        utmos_model=args.utmos_model,
        device=device_of(args.ngpu, args.device),
    )
    evaluate(args.ref_scp, args.gen_scp, args.out_dir, settings, args.nj)


if __name__ == "__main__":
    main()
