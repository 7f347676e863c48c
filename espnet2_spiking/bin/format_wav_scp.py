#!/usr/bin/env python3
"""Format a Kaldi-style data directory's audio for training: mono, one sample rate, sane lengths.

    python -m espnet2_spiking.bin.format_wav_scp --fs 24000 \\
        --in_dir data/train_clean_100 --out_dir dump/raw/train_clean_100

reads ``<in_dir>/wav.scp``, averages multi-channel audio to mono (with a log line naming
the file), resamples to ``--fs``, scales a clip whose peak is above full scale down to full
scale instead of clipping it (a warning naming it), drops empty clips and those shorter
than ``--min_duration`` or longer than ``--max_duration`` seconds (a log line per dropped
utterance) and writes

    <out_dir>/wav/<utt>.wav      16-bit PCM at --fs
    <out_dir>/utt2num_samples
    <out_dir>/text, utt2spk, spk2utt   those of <in_dir> that exist, for the kept utterances
    <out_dir>/format.yaml        the settings: fs, min_duration, max_duration
    <out_dir>/wav.scp            written last: its presence marks the directory complete

A complete ``out_dir`` with the same settings is left as it is; one formatted with other
settings is refused (remove it to format it again). Refused before anything is written:
duplicate utterance ids and ids that are not safe file names. An utterance whose audio is
unreadable or holds NaN or infinite samples is named with its file; the rest is formatted,
the failures are listed at the end, no ``wav.scp`` is written and the exit status is 1.

Shell commands: a ``wav.scp`` line whose value ends in ``|`` (e.g. ``utt1 flac -c -d
a.flac |``) is run through the shell and its output read as audio, Kaldi's convention
that ESPnet keeps. This is the only reader of the plugin that runs them: format only
data lists you trust. The lists it writes hold files, and the plugin's other readers
(decoding, evaluation, benchmark) refuse commands.
"""

import argparse
import sys
from pathlib import Path

from espnet2_spiking.utils.cli import setup_logging
from espnet2_spiking.utils.audio import AUDIO_FORMATS
from espnet2_spiking.utils.format_data import FormatSettings, format_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--in_dir", type=Path, required=True, help="Kaldi-style data directory")
    parser.add_argument("--out_dir", type=Path, required=True, help="formatted data directory")
    parser.add_argument("--fs", type=int, required=True, help="sample rate to write")
    parser.add_argument("--min_duration", type=float, default=0.0, help="drop clips shorter than this (seconds)")
    parser.add_argument(
        "--max_duration", type=float, default=float("inf"), help="drop clips longer than this (seconds)"
    )
    parser.add_argument(
        "--audio_format",
        choices=AUDIO_FORMATS,
        default="wav",
        help="container of the 16-bit files written; files already mono, at --fs and in it are listed, not copied",
    )
    parser.add_argument("--nj", type=int, default=1, help="worker processes")
    return parser


def main(cmd=None):
    setup_logging()
    parser = get_parser()
    args = parser.parse_args(cmd)
    if args.nj < 1:
        parser.error(f"--nj {args.nj}: give at least 1 worker process")
    try:
        settings = FormatSettings(args.fs, args.min_duration, args.max_duration, args.audio_format)
    except ValueError as e:
        parser.error(f"--{e}")  # each message starts with the setting's name
    try:
        format_data_dir(args.in_dir, args.out_dir, settings, args.nj)
    except (ValueError, FileNotFoundError, OSError) as e:
        sys.exit(f"format_wav_scp: {e}")


if __name__ == "__main__":
    main()
