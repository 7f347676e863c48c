"""Formatting a Kaldi-style data directory's audio for training: mono, one sample rate, sane lengths.

The library behind ``bin/format_wav_scp`` (the recipe's stage 2). :func:`format_data_dir`
reads ``<in_dir>/wav.scp`` (file paths, or Kaldi pipes ``cmd |``, which it runs: see
:mod:`espnet2_spiking.utils.audio`), and for each utterance (:class:`Formatter`) averages
multi-channel audio to mono, resamples to ``fs``, scales a clip whose peak is above full
scale down to full scale instead of clipping it, and drops empty clips and those outside
``[min_duration, max_duration]`` seconds. A file that needs no change (mono, at ``fs``, in
the ``audio_format`` container, within full scale) is not copied: ``wav.scp`` lists it where
it is (on LibriTTS, already mono 16-bit at 24 kHz, this saves a copy of the corpus). It writes

    <out_dir>/wav/<utt>.<audio_format>   16-bit PCM at fs, for the utterances that needed a change
    <out_dir>/utt2num_samples
    <out_dir>/text, utt2spk, spk2utt   those of <in_dir> that exist, for the kept utterances
    <out_dir>/format.yaml        the settings (:class:`FormatSettings`)
    <out_dir>/wav.scp            written last: its presence marks the directory complete
                                 (the copies, or the original files by their absolute paths)

A complete ``out_dir`` with the same settings is left as it is; one with other settings
(or without ``format.yaml``) is refused, naming both. An utterance that cannot be formatted
(unreadable, NaN or infinite samples) is named with its file; the others are formatted,
the failures are listed at the end and no ``wav.scp`` is written.
"""

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import soundfile
import torch
import yaml
from espnet2.fileio.read_text import read_2columns_text

from espnet2_spiking.utils.audio import AUDIO_FORMATS, check_audio, is_pipe, read_audio, resample, write_wav
from espnet2_spiking.utils.files import write_text
from espnet2_spiking.utils.scp import read_scp

RECORD = "format.yaml"


@dataclass(frozen=True)
class FormatSettings:
    """What a formatted directory depends on; recorded in ``format.yaml`` and compared.

    Args:
        fs: Sample rate to write, Hz.
        min_duration, max_duration: Clips outside this range (seconds) are dropped.
        audio_format: Container of the files written (16-bit PCM), ``wav`` or ``flac``. A file
            that needs no change (mono, at ``fs``, in this container, within full scale) is
            listed where it is instead of copied.
    """

    fs: int
    min_duration: float = 0.0
    max_duration: float = float("inf")
    audio_format: str = "wav"

    def __post_init__(self):
        if isinstance(self.fs, bool) or not isinstance(self.fs, int) or self.fs <= 0:
            raise ValueError(f"fs must be a positive whole number of Hz, got {self.fs!r}")
        for name in ("min_duration", "max_duration"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if self.audio_format not in AUDIO_FORMATS:
            raise ValueError(f"audio_format must be one of {', '.join(AUDIO_FORMATS)}, got {self.audio_format!r}")
        if self.min_duration > self.max_duration:
            raise ValueError(
                f"min_duration {self.min_duration} s is above max_duration {self.max_duration} s: "
                "every clip would be dropped."
            )

    def record(self) -> dict:
        """The settings as written to ``format.yaml`` (an infinite limit as ``null``)."""
        return {k: (None if v == float("inf") else v) for k, v in asdict(self).items()}


class Result(NamedTuple):
    utt: str
    num_samples: Optional[int]  # after resampling; None when dropped or failed
    message: Optional[str]  # a line for the log (dropped, converted or scaled), or None
    error: Optional[str] = None  # why it could not be formatted
    path: Optional[str] = None  # the kept audio: the original file, or the formatted copy


class Formatter:
    """Formats one utterance (picklable, for the worker processes).

    Args:
        wav_dir: Where ``<utt>.wav`` is written.
        settings: The formatting settings.
        source: The ``wav.scp`` read, for messages.
    """

    def __init__(self, wav_dir: Path, settings: FormatSettings, source: Path):
        self.wav_dir, self.settings, self.source = wav_dir, settings, source

    def __call__(self, item: Tuple[str, str]) -> Result:
        utt, value = item
        try:
            return self.format(utt, value)
        except ValueError as e:
            return Result(utt, None, None, str(e))

    def format(self, utt: str, value: str) -> Result:
        s = self.settings
        audio, rate = read_audio(value, f"{self.source}: the audio of {utt}", allow_pipes=True)
        check_audio(audio, f"{self.source}: the audio of {utt} ({value})")
        unchanged = (
            not is_pipe(value)
            and audio.ndim == 1
            and rate == s.fs
            and soundfile.info(value).format == s.audio_format.upper()
        )
        messages = []
        if audio.ndim == 2:
            messages.append(f"{utt}: {audio.shape[1]} channels in {value}, averaged to mono")
            audio = audio.mean(axis=1)
        audio = resample(audio, rate, s.fs)
        if len(audio) == 0:
            return Result(utt, None, f"dropped {utt}: no samples ({value})")
        peak = float(np.abs(audio).max())
        unchanged = unchanged and peak <= 1.0
        if peak > 1.0:  # float input above full scale (or resampling overshoot): 16-bit PCM would clip it
            audio = audio / peak
            messages.append(
                f"{utt}: peak {peak:.3f} is above full scale in {value}; scaled by {1 / peak:.3f} instead of clipped"
            )
        duration = len(audio) / s.fs
        if not s.min_duration <= duration <= s.max_duration:
            return Result(
                utt, None, f"dropped {utt}: {duration:.2f} s is outside [{s.min_duration}, {s.max_duration}] s ({value})"
            )
        if unchanged:  # nothing to convert: list the file where it is, copy nothing
            return Result(utt, len(audio), None, path=str(Path(value).resolve()))
        path = self.wav_dir / f"{utt}.{s.audio_format}"
        write_wav(path, audio, s.fs, s.audio_format)
        return Result(utt, len(audio), "; ".join(messages) or None, path=str(path))


def _init_worker():
    torch.set_num_threads(1)


def write_lines(path: Path, lines: List[str]):
    write_text(path, "".join(line + "\n" for line in lines))


def check_formatted(out_dir: Path, settings: FormatSettings) -> bool:
    """Whether ``out_dir`` is complete with ``settings`` (then it is kept as it is).

    Raises:
        ValueError: It is complete with other settings, or without a record of them.
    """
    if not (out_dir / "wav.scp").exists():
        return False
    record = out_dir / RECORD
    previous = yaml.safe_load(record.read_text(encoding="utf-8")) if record.is_file() else None
    if isinstance(previous, dict):  # records made before audio_format existed: wav
        previous = dict(dict(audio_format="wav"), **previous)
    if previous != settings.record():
        held = f"settings {previous}" if previous else f"no {RECORD} (the record of its settings)"
        raise ValueError(
            f"{out_dir} is already formatted, with {held}, but this run asks for {settings.record()}. "
            f"Write to another directory, or remove {out_dir} to format it again."
        )
    return True


def format_data_dir(in_dir: Path, out_dir: Path, settings: FormatSettings, nj: int = 1) -> Dict[str, int]:
    """Format ``in_dir`` into ``out_dir`` (see the module docstring).

    Returns:
        The number of samples of each kept utterance (empty when already complete).

    Raises:
        FileNotFoundError: ``<in_dir>/wav.scp`` does not exist.
        ValueError: ``out_dir`` is formatted with other settings, a list is malformed,
            utterances could not be formatted (each named), or every one was dropped.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if check_formatted(out_dir, settings):
        logging.info(f"{out_dir} is already formatted with {settings.record()}, skipping")
        return {}
    source = in_dir / "wav.scp"
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist: prepare {in_dir} first (the recipe's stage 1, local/data.sh).")
    entries = read_scp(source)
    wav_dir = out_dir / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    formatter = Formatter(wav_dir, settings, source)
    logging.info(f"Formatting {len(entries)} utterances of {in_dir} into {out_dir} with {settings.record()}")
    kept, failed, paths = {}, {}, {}
    with Pool(nj, initializer=_init_worker) as pool:
        for i, result in enumerate(pool.imap(formatter, entries.items(), chunksize=8), 1):
            if result.error:
                failed[result.utt] = result.error
                logging.error(result.error)
            elif result.message:
                logging.warning(result.message)
            if result.num_samples is not None:
                kept[result.utt] = result.num_samples
                paths[result.utt] = result.path
            if i % 1000 == 0 or i == len(entries):
                logging.info(f"{i}/{len(entries)} utterances")
    if failed:
        raise ValueError(
            f"{len(failed)} of {len(entries)} utterances of {source} could not be formatted, so "
            f"{out_dir}/wav.scp was not written:\n" + "\n".join(failed.values())
        )
    if not kept:
        raise ValueError(
            f"every utterance of {in_dir} was dropped; check --min_duration "
            f"{settings.min_duration} and --max_duration {settings.max_duration}."
        )
    copied = sum(Path(path).parent == wav_dir for path in paths.values())
    logging.info(
        f"Kept {len(kept)} of {len(entries)} utterances: {copied} written to {wav_dir}, "
        f"{len(kept) - copied} listed where they are (already mono {settings.audio_format} at {settings.fs} Hz)"
    )

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
    write_text(out_dir / RECORD, yaml.safe_dump(settings.record()))
    write_lines(out_dir / "wav.scp", [f"{u} {paths[u]}" for u in kept])
    return kept
