"""Pitch accuracy with CREPE: periodicity RMSE, voiced/unvoiced F1, pitch RMSE in cents.

The usual vocoder thresholds (CARGAN, Vocos): CREPE at 16 kHz with a 10 ms hop, Viterbi
decoding between 50 and 550 Hz, periodicity set to 0 where the A-weighted loudness is
below -60 dB, and a frame voiced when its periodicity reaches 0.21. Frames are batched
through the network; the whole utterance is decoded at once; tracks are cached on disk
keyed by the audio samples and the settings, so a reference is tracked only once.

Scores repeat: torchcrepe adds random noise (a dither of one pitch bin, 20 cents) to
the pitch it decodes, so two runs on the same audio gave different pitch errors, and a
cached track fixed one draw. Here the pitch is the centre of the Viterbi bin, no noise:
the same audio gives the same track, cached or not, and identical audio scores 0 cents.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from espnet2_spiking.utils.files import atomic_path

CREPE_FS = 16000
CENTS_OF_BIN_0 = 1997.3794084376191  # the pitch of CREPE's bin 0 (31.7 Hz), in cents above 10 Hz (torchcrepe.convert)
TRACK_VERSION = 2  # part of the cache key: 2 = Viterbi bin centres without dither


def viterbi_without_dither(probabilities: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """torchcrepe's Viterbi decoding, the pitch at the bin centres (torchcrepe adds random noise).

    Args:
        probabilities: (1, 360, frames) network outputs.

    Returns:
        Bins (1, frames) and pitch in Hz (1, frames).
    """
    import torchcrepe

    bins, _ = torchcrepe.decode.viterbi(probabilities)
    return bins, torchcrepe.convert.cents_to_frequency(torchcrepe.CENTS_PER_BIN * bins + CENTS_OF_BIN_0)


@dataclass(frozen=True)
class CrepeSettings:
    """What a pitch track depends on (part of its cache key).

    Args:
        model: CREPE capacity, ``full`` (for publication) or ``tiny`` (quick runs).
        hop_s: Frame shift in seconds.
        fmin, fmax: Pitch range in Hz.
        silence_db: Frames whose A-weighted loudness is below this have periodicity 0.
    """

    model: str = "full"
    hop_s: float = 0.01
    fmin: float = 50.0
    fmax: float = 550.0
    silence_db: float = -60.0

    def __post_init__(self):
        if self.model not in ("full", "tiny"):
            raise ValueError(f"CREPE model must be 'full' or 'tiny', got {self.model!r}")


class CrepePitch:
    """Pitch and periodicity of 16 kHz audio, cached on disk.

    Args:
        settings: Analysis settings.
        cache_dir: Where tracks are kept (None: no cache).
        batch_size: CREPE frames per network call.
        device: Where CREPE runs.
    """

    def __init__(
        self,
        settings: CrepeSettings = CrepeSettings(),
        cache_dir: Optional[str] = None,
        batch_size: int = 512,
        device: str = "cpu",
    ):
        self.settings = settings
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.batch_size = batch_size
        self.device = device
        self.hits = 0

    def cache_path(self, audio: np.ndarray) -> Optional[Path]:
        """Cache file of a waveform: a hash of its samples and of the settings."""
        if self.cache_dir is None:
            return None
        key = hashlib.sha1(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
        key.update(json.dumps(dict(asdict(self.settings), version=TRACK_VERSION), sort_keys=True).encode())
        return self.cache_dir / f"{key.hexdigest()}.npz"

    def __call__(self, audio: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Args: audio: (N,) at 16 kHz.

        Returns:
            Pitch in Hz and periodicity (0 in silence), each (N // hop + 1,) float32.
        """
        path = self.cache_path(audio)
        if path is not None and path.exists():
            with np.load(path) as cached:
                self.hits += 1
                return cached["pitch"], cached["periodicity"]
        pitch, periodicity = self.track(audio)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                np.savez(tmp, pitch=pitch, periodicity=periodicity)
        return pitch, periodicity

    def track(self, audio: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Run CREPE (no cache). Same face as :meth:`__call__`."""
        import torchcrepe

        s = self.settings
        hop = int(round(s.hop_s * CREPE_FS))
        x = torch.from_numpy(np.asarray(audio, dtype=np.float32))[None]
        with torch.no_grad():
            frames = torchcrepe.preprocess(x, CREPE_FS, hop, self.batch_size, self.device, pad=True)
            logits = torch.cat([torchcrepe.infer(batch, s.model, self.device) for batch in frames])
            probs = logits.reshape(1, -1, torchcrepe.PITCH_BINS).transpose(1, 2).cpu()
            pitch, periodicity = torchcrepe.postprocess(
                probs, s.fmin, s.fmax, viterbi_without_dither, return_periodicity=True
            )
            periodicity = torchcrepe.threshold.Silence(s.silence_db)(periodicity, x, CREPE_FS, hop, pad=True)
        return pitch[0].numpy().astype(np.float32), periodicity[0].numpy().astype(np.float32)


def pitch_stats(
    ref: Tuple[np.ndarray, np.ndarray], gen: Tuple[np.ndarray, np.ndarray], voicing_threshold: float = 0.21
) -> Dict[str, float]:
    """Sufficient statistics of one utterance, to be summed over a test set.

    Args:
        ref, gen: (pitch, periodicity) tracks of equal length.
        voicing_threshold: A frame is voiced when its periodicity reaches this.

    Returns:
        ``frames``, ``periodicity_sq`` (sum of squared periodicity differences),
        ``tp``/``fp``/``fn`` (voicing of ``gen`` against ``ref``), ``voiced_both`` and
        ``cents_sq`` (sum of squared pitch differences in cents over frames voiced in both).
    """
    (ref_f0, ref_p), (gen_f0, gen_p) = ref, gen
    if len(ref_p) != len(gen_p):
        raise ValueError(f"pitch tracks differ in length: {len(ref_p)} and {len(gen_p)} frames")
    ref_v, gen_v = ref_p >= voicing_threshold, gen_p >= voicing_threshold
    both = ref_v & gen_v
    cents = 1200 * np.log2(gen_f0[both].astype(np.float64) / ref_f0[both])
    return dict(
        frames=int(len(ref_p)),
        periodicity_sq=float(np.square(ref_p.astype(np.float64) - gen_p).sum()),
        tp=int(both.sum()),
        fp=int((~ref_v & gen_v).sum()),
        fn=int((ref_v & ~gen_v).sum()),
        voiced_both=int(both.sum()),
        cents_sq=float(np.square(cents).sum()),
    )


def pitch_metrics(stats: Dict[str, float]) -> Dict[str, float]:
    """Periodicity RMSE, V/UV F1 and pitch RMSE (cents) from (summed) :func:`pitch_stats`.

    F1 is NaN when no frame is voiced in either signal; the pitch RMSE when none is voiced in both.
    """
    f1_den = 2 * stats["tp"] + stats["fp"] + stats["fn"]
    return dict(
        periodicity_rmse=(
            float(np.sqrt(stats["periodicity_sq"] / stats["frames"])) if stats["frames"] else float("nan")
        ),
        vuv_f1=2 * stats["tp"] / f1_den if f1_den else float("nan"),
        pitch_rmse_cents=(
            float(np.sqrt(stats["cents_sq"] / stats["voiced_both"])) if stats["voiced_both"] else float("nan")
        ),
    )
