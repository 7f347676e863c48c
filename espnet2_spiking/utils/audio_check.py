"""Pre-flight checks of Kaldi-style ``wav.scp`` files, so bad audio fails early and clearly."""

import logging
from pathlib import Path
from typing import Tuple, Union

import numpy as np
import soundfile

from espnet2_spiking.utils.scp import read_scp

# A module logger: the pre-flight runs before ESPnet configures logging, and a call to the
# root logger there (logging.info) would configure it first and silence ESPnet's own lines.
logger = logging.getLogger(__name__)


def check_wav_scp(scp: Union[str, Path], fs: int, min_samples: int = 1):
    """Check that every file in ``scp`` exists, is readable, mono, sampled at ``fs`` and long enough.

    Only headers are read. Raises ``ValueError``/``FileNotFoundError`` naming the first
    bad file and the fix.

    Args:
        scp: ``wav.scp`` (``utt_id path`` per line).
        fs: The sample rate the features are configured for.
        min_samples: Fewest samples a file may hold, e.g. the FFT size for clips that are
            transformed whole (validation).
    """
    entries = read_scp(scp)
    logger.info(f"Checking {len(entries)} audio files of {scp}")
    for utt, path in entries.items():
        if path.endswith("|"):
            continue  # a Kaldi pipe: cannot be checked without running it
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"{scp}: audio file of {utt} does not exist: {path}. Fix the path in {scp} "
                "or re-run data preparation."
            )
        try:
            info = soundfile.info(path)
        except RuntimeError as e:
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
                f"{scp}: {path} ({utt}) has {info.frames} samples, fewer than the {min_samples} it needs "
                f"(the FFT size n_fft). Remove it from {scp}, or format the data with a minimum duration "
                f"(the recipe's --min_wav_duration; format_wav_scp --min_duration {min_samples / fs:.3f})."
            )


def load_wav(path: str) -> Tuple[np.ndarray, int]:
    """Read a mono audio file that can be scored.

    Returns:
        Samples (N,) float32 and the sample rate.

    Raises:
        ValueError: The file is missing, unreadable, not mono, empty, silent or holds NaN
            or infinite samples; the message names it.
    """
    if not Path(path).is_file():
        raise ValueError(f"{path} does not exist")
    try:
        audio, fs = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as e:
        raise ValueError(f"cannot read {path} ({e})") from None
    if audio.shape[1] != 1:
        raise ValueError(f"{path} has {audio.shape[1]} channels; evaluation needs mono audio")
    audio = audio[:, 0]
    if not np.isfinite(audio).all():
        raise ValueError(f"{path} has NaN or infinite samples")
    if not np.any(audio):
        raise ValueError(f"{path} is {'empty' if audio.size == 0 else 'silent (every sample is 0)'}")
    return audio, fs
