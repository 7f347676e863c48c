"""Format a Kaldi-style data directory's audio for training: mono, one sample rate, sane lengths.

    python -m espnet2_spiking.bin.format_wav_scp --fs 24000 \\
        --in_dir data/train_clean_100 --out_dir dump/raw/train_clean_100

reads ``<in_dir>/wav.scp`` (file paths or Kaldi pipes ``cmd |``), averages multi-channel
audio to mono (with a log line naming the file), resamples to ``--fs``, scales a clip whose
peak is above full scale down to full scale instead of clipping it (a warning naming it),
drops empty clips and those shorter than ``--min_duration`` or longer than
``--max_duration`` seconds (a log line per dropped utterance) and writes

    <out_dir>/wav/<utt>.wav      16-bit PCM at --fs
    <out_dir>/wav.scp            written last: its presence marks the directory complete
    <out_dir>/utt2num_samples
    <out_dir>/text, utt2spk, spk2utt   those of <in_dir> that exist, for the kept utterances

A complete ``out_dir`` at the same rate is left as it is; one at another rate is refused.
Refused before ``wav.scp`` is written, naming the utterance and its file: NaN or infinite
samples, an unreadable file; and, before anything is written, duplicate utterance ids and
ids that are not safe file names.
"""

import argparse
import io
import logging
import os
import subprocess
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import soundfile
import torch
import torchaudio
from espnet2.fileio.read_text import read_2columns_text

from espnet2_spiking.utils.cli import setup_logging
from espnet2_spiking.utils.scp import read_scp


class Result(NamedTuple):
    utt: str
    num_samples: Optional[int]  # after resampling; None when dropped
    message: Optional[str]  # a line for the log (dropped, converted or scaled), or None


def read_audio(utt: str, value: str) -> Tuple[np.ndarray, int]:
    """Read one ``wav.scp`` entry: a file path or a command ending in ``|``.

    Returns:
        Audio (N,) or (N, channels) as float32, and its sample rate.
    """
    try:
        if value.endswith("|"):
            out = subprocess.run(value[:-1], shell=True, capture_output=True, check=True).stdout
            return soundfile.read(io.BytesIO(out), dtype="float32")
        return soundfile.read(value, dtype="float32")
    except (RuntimeError, soundfile.LibsndfileError, subprocess.CalledProcessError, OSError) as e:
        raise RuntimeError(
            f"cannot read the audio of {utt}: {value} ({e}). Fix or remove this line of wav.scp."
        ) from None


class Formatter:
    """Formats one utterance (picklable, for the worker processes)."""

    def __init__(self, wav_dir: Path, fs: int, min_duration: float, max_duration: float):
        self.wav_dir, self.fs = wav_dir, fs
        self.min_duration, self.max_duration = min_duration, max_duration

    def __call__(self, item: Tuple[str, str]) -> Result:
        utt, value = item
        audio, rate = read_audio(utt, value)
        bad = np.count_nonzero(~np.isfinite(audio))
        if bad:
            raise RuntimeError(
                f"the audio of {utt} ({value}) has {bad} NaN or infinite samples, which would be written "
                "as full-scale clicks. Fix or remove this line of wav.scp."
            )
        messages = []
        if audio.ndim == 2:
            messages.append(f"{utt}: {audio.shape[1]} channels in {value}, averaged to mono")
            audio = audio.mean(axis=1)
        if rate != self.fs:
            audio = torchaudio.functional.resample(torch.from_numpy(audio), rate, self.fs).numpy()
        if len(audio) == 0:
            return Result(utt, None, f"dropped {utt}: no samples ({value})")
        peak = float(np.abs(audio).max())
        if peak > 1.0:  # float input above full scale (or resampling overshoot): 16-bit PCM would clip it
            audio = audio / peak
            messages.append(
                f"{utt}: peak {peak:.3f} is above full scale in {value}; scaled by {1 / peak:.3f} instead of clipped"
            )
        duration = len(audio) / self.fs
        if not self.min_duration <= duration <= self.max_duration:
            return Result(
                utt,
                None,
                f"dropped {utt}: {duration:.2f} s is outside "
                f"[{self.min_duration}, {self.max_duration}] s ({value})",
            )
        soundfile.write(self.wav_dir / f"{utt}.wav", audio, self.fs, subtype="PCM_16")
        return Result(utt, len(audio), "; ".join(messages) or None)


def _init_worker():
    torch.set_num_threads(1)


def write_lines(path: Path, lines: List[str]):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def format_wav_scp(
    in_dir: Path,
    out_dir: Path,
    fs: int,
    min_duration: float = 0.0,
    max_duration: float = float("inf"),
    nj: int = 1,
) -> Dict[str, int]:
    """Format ``in_dir`` into ``out_dir`` (see the module docstring).

    Returns:
        The number of samples of each kept utterance (empty when already complete).
    """
    wav_scp = out_dir / "wav.scp"
    if wav_scp.exists():
        first = next(iter(read_scp(wav_scp).values()))
        rate = soundfile.info(first).samplerate
        if rate != fs:
            raise SystemExit(
                f"format_wav_scp: {out_dir} is already formatted at {rate} Hz, not {fs} Hz. "
                f"Write to another directory or remove {out_dir} to format it again."
            )
        logging.info(f"{out_dir} is already formatted at {fs} Hz, skipping")
        return {}

    if not (in_dir / "wav.scp").is_file():
        raise SystemExit(
            f"format_wav_scp: {in_dir / 'wav.scp'} does not exist: prepare {in_dir} first "
            "(the recipe's stage 1, local/data.sh)."
        )
    try:
        entries = read_scp(in_dir / "wav.scp")
    except ValueError as e:
        raise SystemExit(f"format_wav_scp: {e}")
    wav_dir = out_dir / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    formatter = Formatter(wav_dir, fs, min_duration, max_duration)
    logging.info(f"Formatting {len(entries)} utterances of {in_dir} into {out_dir} at {fs} Hz")
    kept = {}
    with Pool(nj, initializer=_init_worker) as pool:
        results = pool.imap(formatter, entries.items(), chunksize=8)
        for i, result in enumerate(results, 1):
            if result.message:
                logging.warning(result.message)
            if result.num_samples is not None:
                kept[result.utt] = result.num_samples
            if i % 1000 == 0 or i == len(entries):
                logging.info(f"{i}/{len(entries)} utterances")
    if not kept:
        raise SystemExit(
            f"format_wav_scp: every utterance of {in_dir} was dropped; check --min_duration "
            f"{min_duration} and --max_duration {max_duration}."
        )
    logging.info(f"Kept {len(kept)} of {len(entries)} utterances")

    write_lines(out_dir / "utt2num_samples", [f"{u} {n}" for u, n in kept.items()])
    for name in ("text", "utt2spk"):
        if (in_dir / name).exists():
            table = read_2columns_text(in_dir / name)
            write_lines(out_dir / name, [f"{u} {table[u]}" for u in kept if u in table])
    if (in_dir / "utt2spk").exists():
        spk2utt = defaultdict(list)
        for utt, spk in read_2columns_text(out_dir / "utt2spk").items():
            spk2utt[spk].append(utt)
        write_lines(out_dir / "spk2utt", [f"{s} {' '.join(u)}" for s, u in sorted(spk2utt.items())])
    tmp = wav_scp.with_suffix(".scp.tmp")
    write_lines(tmp, [f"{u} {wav_dir / u}.wav" for u in kept])
    os.replace(tmp, wav_scp)
    return kept


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--in_dir", type=Path, required=True, help="Kaldi-style data directory")
    parser.add_argument("--out_dir", type=Path, required=True, help="formatted data directory")
    parser.add_argument("--fs", type=int, required=True, help="sample rate to write")
    parser.add_argument(
        "--min_duration", type=float, default=0.0, help="drop clips shorter than this (seconds)"
    )
    parser.add_argument(
        "--max_duration", type=float, default=float("inf"), help="drop clips longer than this (seconds)"
    )
    parser.add_argument("--nj", type=int, default=1, help="worker processes")
    return parser


def main(cmd=None):
    setup_logging()
    args = get_parser().parse_args(cmd)
    try:
        format_wav_scp(args.in_dir, args.out_dir, args.fs, args.min_duration, args.max_duration, args.nj)
    except RuntimeError as e:
        raise SystemExit(f"format_wav_scp: {args.in_dir / 'wav.scp'}: {e}")


if __name__ == "__main__":
    main()
