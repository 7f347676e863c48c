"""Audio in and out: the one place the plugin reads, checks, resamples and writes audio.

- :func:`read_audio` reads one ``wav.scp`` value (a file, or a Kaldi pipe ``cmd |`` where
  the caller allows it), :func:`load_wav` a mono file that can be scored;
- :func:`check_audio` refuses NaN or infinite samples, naming the utterance and file;
- :func:`check_wav_scp` is the pre-flight of a whole list (headers only);
- :func:`resample` converts the sample rate;
- :func:`write_wav` writes 16-bit PCM in one step (never a truncated file).

Kaldi pipes: a ``wav.scp`` or ``feats.scp`` value ending in ``|`` is a shell command
whose output is the data (Kaldi's convention, which ESPnet keeps). Only the formatting
of a data directory (``bin/format_wav_scp``, the recipe's stage 2) runs them, because
corpus preparation writes them (``flac -d -c x.flac |``, ``sph2pipe``); every later list
is written by the plugin and holds files. The other readers refuse a pipe by default:
a list handed over by someone else must not run commands, as a model file must not
run code (:mod:`espnet2_spiking.utils.checkpoint`).
"""

import io
import logging
import subprocess
from pathlib import Path
from typing import Tuple, Union

import numpy as np
import soundfile
import torch
import torchaudio

from espnet2_spiking.utils.files import atomic_path
from espnet2_spiking.utils.scp import read_scp

# A module logger: the pre-flight runs before ESPnet configures logging, and a call to the
# root logger there (logging.info) would configure it first and silence ESPnet's own lines.
logger = logging.getLogger(__name__)

PCM_16 = "PCM_16"


def is_pipe(value: str) -> bool:
    """Whether a ``wav.scp``/``feats.scp`` value is a Kaldi pipe (``cmd |``; kaldiio also runs ``| cmd``)."""
    value = value.strip()
    return value.endswith("|") or value.startswith("|")


def refuse_pipe(value: str, where: str):
    """Refuse a Kaldi pipe where the plugin reads only files (see the module docstring).

    Args:
        value: The list's value.
        where: The utterance and list, e.g. ``utt1 in dump/raw/test/wav.scp``.
    """
    if is_pipe(value):
        raise ValueError(
            f"{where} is a shell command ({value!r}), which this reader does not run: lists handed "
            "over by others must not run commands. Format the data first (python -m "
            "espnet2_spiking.bin.format_wav_scp, the recipe's stage 2), which runs the commands of "
            "data/<set>/wav.scp and writes files."
        )


def read_audio(value: str, where: str = "", allow_pipes: bool = False) -> Tuple[np.ndarray, int]:
    """Read one ``wav.scp`` value: a file path, or a command ending in ``|`` when allowed.

    Args:
        value: The path or command.
        where: The utterance and list, for messages (e.g. ``utt1 in data/test/wav.scp``).
        allow_pipes: Run a command (Kaldi's convention) instead of refusing it.

    Returns:
        Samples (N,) or (N, channels) float32, and the sample rate.

    Raises:
        ValueError: The file is missing or unreadable, the command fails, or it is a
            command and ``allow_pipes`` is false; the message names it.
    """
    where = f"{where}: " if where else ""
    if is_pipe(value):
        if not allow_pipes:
            refuse_pipe(value, where.rstrip(": ") or "the audio")
        try:
            out = subprocess.run(value.strip().strip("|"), shell=True, capture_output=True, check=True).stdout
            return soundfile.read(io.BytesIO(out), dtype="float32")
        except subprocess.CalledProcessError as e:
            error = e.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {e.returncode}"]
            raise ValueError(f"{where}the command {value!r} failed ({error[0]}). Fix or remove this line.") from None
        except (RuntimeError, soundfile.LibsndfileError) as e:
            raise ValueError(f"{where}the output of {value!r} is not audio ({e}). Fix or remove this line.") from None
    if not Path(value).is_file():
        raise ValueError(f"{where}{value} does not exist. Fix the path or remove this line.")
    try:
        return soundfile.read(value, dtype="float32")
    except (RuntimeError, soundfile.LibsndfileError, OSError) as e:
        raise ValueError(f"{where}cannot read {value} ({e}). Replace the file or remove this line.") from None


def check_audio(audio: np.ndarray, what: str, fix: str = "Fix or remove it.") -> np.ndarray:
    """Refuse samples that are NaN or infinite (they would be written as full-scale clicks).

    Args:
        audio: Samples, any shape.
        what: The utterance and file, e.g. ``the audio of utt1 (data/x.wav)``.
        fix: What to do about it, for the message.
    """
    bad = np.count_nonzero(~np.isfinite(audio))
    if bad:
        raise ValueError(f"{what} has {bad} NaN or infinite samples of {audio.size}. {fix}")
    return audio


def check_generated(wav: torch.Tensor, utt: str) -> np.ndarray:
    """Refuse generated audio that is not finite; warn about samples that 16-bit PCM clips.

    Args:
        wav: Generated waveform (N,).
        utt: Its utterance id, for the warning.

    Returns:
        The waveform as a numpy array.
    """
    wav = check_audio(
        wav.cpu().numpy(),
        "the generated audio",
        "The model file or this input is broken: check the input for NaN, or decode with another checkpoint.",
    )
    peak = float(np.abs(wav).max(initial=0.0))
    if peak > 1.0:
        logger.warning(f"{utt}: generated peak {peak:.3f} is above full scale; 16-bit PCM clips it")
    return wav


def load_wav(path: str, where: str = "") -> Tuple[np.ndarray, int]:
    """Read a mono audio file that can be scored (no pipes).

    Returns:
        Samples (N,) float32 and the sample rate.

    Raises:
        ValueError: The file is missing, unreadable, a command, not mono, empty, silent or
            holds NaN or infinite samples; the message names it.
    """
    audio, fs = read_audio(path, where)
    if audio.ndim != 1:
        raise ValueError(f"{path} has {audio.shape[1]} channels; evaluation needs mono audio")
    check_audio(audio, path)
    if not np.any(audio):
        raise ValueError(f"{path} is {'empty' if audio.size == 0 else 'silent (every sample is 0)'}")
    return audio, fs


def resample(audio: np.ndarray, fs: int, target_fs: int) -> np.ndarray:
    """Args: audio: (N,) at ``fs``. Returns: (round(N * target_fs / fs),) float32 at ``target_fs``."""
    audio = np.asarray(audio, dtype=np.float32)
    if fs == target_fs:
        return audio
    return torchaudio.functional.resample(torch.from_numpy(audio), fs, target_fs).numpy()


AUDIO_FORMATS = ("wav", "flac")  # what write_wav writes: 16-bit PCM in these containers


def write_wav(path: Union[str, Path], audio: np.ndarray, fs: int, audio_format: str = "wav") -> Path:
    """Write 16-bit PCM ``path`` in one step: a full disk or a kill leaves no truncated file.

    Args:
        audio: (N,) float samples in [-1, 1] (louder ones clip).
        audio_format: One of :data:`AUDIO_FORMATS`.

    Raises:
        OSError: It cannot be written, naming the file and the fix.
    """
    with atomic_path(path) as tmp:
        soundfile.write(tmp, audio, fs, PCM_16, format=audio_format.upper())
    return Path(path)


def check_wav_scp(scp: Union[str, Path], fs: int, min_samples: int = 1):
    """Check that every file in ``scp`` exists, is readable, mono, sampled at ``fs`` and long enough.

    Only headers are read. Kaldi pipes are refused (see the module docstring).

    Args:
        scp: ``wav.scp`` (``utt_id path`` per line).
        fs: The sample rate the features are configured for.
        min_samples: Fewest samples a file may hold: what the model needs to transform it
            (e.g. ``n_fft // 2 + 1`` for the reflect padding of the log-mel, ``n_fft`` for
            clips that are transformed whole in validation).

    Raises:
        ValueError, FileNotFoundError: The first bad file, named with its utterance and the fix.
    """
    entries = read_scp(scp)
    logger.info(f"Checking {len(entries)} audio files of {scp}")
    for utt, path in entries.items():
        refuse_pipe(path, f"{scp}: the audio of {utt}")
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"{scp}: audio file of {utt} does not exist: {path}. Fix the path in {scp} "
                "or re-run data preparation."
            )
        try:
            info = soundfile.info(path)
        except (RuntimeError, soundfile.LibsndfileError) as e:
            raise ValueError(
                f"{scp}: cannot read the audio file of {utt}: {path} ({e}). Replace or remove it."
            ) from None
        if info.channels != 1:
            raise ValueError(
                f"{scp}: {path} ({utt}) has {info.channels} channels; the vocoder needs mono. "
                "Convert it (e.g. `sox in.wav -c 1 out.wav`) or run the recipe's stage 2, "
                "which formats the audio."
            )
        if info.samplerate != fs:
            raise ValueError(
                f"{scp}: {path} ({utt}) is sampled at {info.samplerate} Hz, but the features are "
                f"configured for fs={fs} Hz. Resample the data (the recipe's stage 2 does) or set "
                f"feats_extract_conf.fs to {info.samplerate} (with matching n_fft/hop_length)."
            )
        if info.frames < min_samples:
            raise ValueError(
                f"{scp}: {path} ({utt}) has {info.frames} samples, fewer than the {min_samples} that the model's "
                f"log-mel needs here. Remove it from {scp}, or format the data with a minimum duration "
                f"(the recipe's --min_wav_duration; format_wav_scp --min_duration {min_samples / fs:.3f})."
            )
