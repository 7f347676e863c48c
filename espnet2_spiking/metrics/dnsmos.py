"""Non-intrusive quality of generated speech: DNSMOS P.808 and P.835, offline.

Text-to-wav output has no reference waveform, so PESQ, STOI and the mel distance cannot
judge it; DNSMOS (Reddy et al., ICASSP 2021/2022) predicts listeners' opinion scores from
the audio alone. The ONNX models ship inside the ``speechmos`` wheel (``pip install
speechmos``, in the ``eval`` extra), so nothing is downloaded. Scores (1-5, higher is better):

- ``p808_mos``: overall quality, ITU-T P.808;
- ``sig_mos``, ``bak_mos``, ``ovrl_mos``: P.835 speech signal, background noise, overall.

DNSMOS was trained on noisy and enhanced speech; good vocoders score alike (recordings and
Vocos and Spiking Vocos copies of LibriTTS test utterances all near 3.2 overall), so it
complements and never replaces the copy-synthesis scores, which compare with the recording.

    >>> from espnet2_spiking.metrics.dnsmos import Dnsmos
    >>> Dnsmos()(wav, 24000)   # {'p808_mos': ..., 'sig_mos': ..., 'bak_mos': ..., 'ovrl_mos': ...}
"""

import json
import logging
from pathlib import Path
from typing import Dict, List, Union

import numpy as np

from espnet2_spiking.utils.audio import load_wav, resample
from espnet2_spiking.utils.scp import read_scp

DNSMOS_FS = 16000
SCORES = ("p808_mos", "sig_mos", "bak_mos", "ovrl_mos")


class Dnsmos:
    """DNSMOS P.808 and P.835 predictors (the ONNX models of the ``speechmos`` wheel).

    Args:
        personalized: P.835 of the personalized model (which also penalises interfering
            talkers) instead of the standard one.
    """

    def __init__(self, personalized: bool = False):
        try:
            from speechmos import dnsmos
        except ImportError as e:
            raise ImportError(
                f"DNSMOS needs the speechmos package ({e}): pip install speechmos "
                "(or pip install 'espnet2_spiking[eval]')."
            ) from None
        models = Path(dnsmos.__file__).parent
        primary = models / ("pdnsmos_models" if personalized else "dnsmos_models") / "sig_bak_ovr.onnx"
        self.model = dnsmos.DNSMOS(str(primary), str(models / "dnsmos_models" / "model_v8.onnx"))
        self.personalized = personalized

    def __call__(self, audio: np.ndarray, fs: int) -> Dict[str, float]:
        """Score one waveform.

        Args:
            audio: Samples (N,) in [-1, 1] at ``fs`` (clips shorter than 9 s are repeated,
                longer ones scored in 9 s windows a second apart and averaged).
            fs: Its sample rate; resampled to 16 kHz here.

        Returns:
            ``p808_mos``, ``sig_mos``, ``bak_mos``, ``ovrl_mos``.
        """
        if audio.ndim != 1 or audio.size == 0:
            raise ValueError(f"DNSMOS scores a mono, non-empty waveform (N,), got shape {audio.shape}.")
        wav = np.clip(resample(audio, fs, DNSMOS_FS), -1.0, 1.0)  # resampling may overshoot full scale
        scores = self.model(wav, DNSMOS_FS, self.personalized)
        return {k: float(scores[k]) for k in SCORES}


def dnsmos_wav_scp(wav_scp: Union[str, Path], out_dir: Union[str, Path], personalized: bool = False) -> dict:
    """Score every utterance of ``wav_scp``; write ``utt_dnsmos.tsv`` and ``dnsmos.json``.

    Args:
        wav_scp: Generated audio (e.g. ``<decode_dir>/wav/wav.scp``).
        out_dir: Where to write the per-utterance table and the summary.
        personalized: See :class:`Dnsmos`.

    Returns:
        The summary: the mean of each score, ``num_utts``, ``model``.

    Raises:
        ValueError: A listed file is missing, unreadable, not mono or silent (named).
    """
    scorer = Dnsmos(personalized)
    entries = read_scp(wav_scp)
    rows: List[dict] = []
    logging.info(f"DNSMOS of {len(entries)} utterances of {wav_scp}")
    for i, (utt, path) in enumerate(entries.items(), 1):
        try:
            audio, fs = load_wav(path)
        except ValueError as e:
            raise ValueError(f"{wav_scp}: utterance {utt}: {e}") from None
        rows.append(dict(utt_id=utt, **scorer(audio, fs)))
        if i % 100 == 0:
            logging.info(f"{i}/{len(entries)} utterances")
    summary = {k: float(np.mean([r[k] for r in rows])) for k in SCORES}
    summary.update(num_utts=len(rows), model="dnsmos_personalized" if personalized else "dnsmos")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(("utt_id",) + SCORES)]
    lines += ["\t".join([r["utt_id"]] + [f"{r[k]:.4f}" for k in SCORES]) for r in rows]
    (out_dir / "utt_dnsmos.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out_dir / "dnsmos.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
