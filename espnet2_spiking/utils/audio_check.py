"""Pre-flight checks of Kaldi-style ``wav.scp`` files, so bad audio fails early and clearly."""

import logging
from pathlib import Path
from typing import Dict, Union

import soundfile


def read_scp(path: Union[str, Path]) -> Dict[str, str]:
    """Read a Kaldi scp file (``utt_id value`` per line) into an ordered dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist.")
    entries = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            key, _, value = line.strip().partition(" ")
            if not value:
                raise ValueError(f"{path}:{lineno}: expected 'utt_id path', got {line.strip()!r}.")
            entries[key] = value.strip()
    return entries


def check_wav_scp(scp: Union[str, Path], fs: int):
    """Check that every file in ``scp`` exists, is readable, mono and sampled at ``fs``.

    Only headers are read. Raises ``ValueError``/``FileNotFoundError`` naming the first
    bad file and the fix.
    """
    entries = read_scp(scp)
    logging.info(f"Checking {len(entries)} audio files of {scp}")
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
