"""Log-mel features of the Vocos reference, as an ESPnet feature extractor.

Defaults reproduce Vocos "mel 24 kHz": 24 kHz, n_fft 1024, hop 256, win 1024 hann,
100 HTK mels from 0 Hz to Nyquist without filter normalisation, magnitude (power 1),
``log(clamp(x, 1e-7))``, centred frames with reflect padding. Other sample rates are
configuration, not code.
"""

from typing import Any, Dict, Optional, Tuple

import torch
import torchaudio
from espnet2.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from typeguard import typechecked


class VocosLogMel(AbsFeatsExtract):
    """Log-magnitude mel spectrogram (Vocos features), ESPnet's ``feats_extract: vocos_mel``.

    Not ESPnet's ``espnet2.layers.log_mel.LogMel`` (a filter bank over a power spectrum) nor
    its ``LogMelFbank``: HTK mels without normalisation, on the magnitude, natural log.

    Args:
        fs: Sample rate in Hz.
        n_fft: FFT size.
        hop_length: Frame shift in samples.
        win_length: Window length in samples (default: ``n_fft``).
        n_mels: Number of mel bins.
        fmin: Lowest mel frequency in Hz.
        fmax: Highest mel frequency in Hz (default: ``fs / 2``).
        log_floor: Magnitudes are clamped to this before the log.
    """

    @typechecked
    def __init__(
        self,
        fs: int = 24000,
        n_fft: int = 1024,
        hop_length: int = 256,
        win_length: Optional[int] = None,
        n_mels: int = 100,
        fmin: float = 0.0,
        fmax: Optional[float] = None,
        log_floor: float = 1e-7,
    ):
        super().__init__()
        self.fs = fs
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.win_length = win_length or n_fft
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax if fmax is not None else fs / 2
        self.log_floor = log_floor
        self.mel_spec = torchaudio.transforms.MelSpectrogram(
            sample_rate=fs,
            n_fft=n_fft,
            win_length=self.win_length,
            hop_length=hop_length,
            f_min=fmin,
            f_max=self.fmax,
            n_mels=n_mels,
            power=1.0,
            center=True,
            pad_mode="reflect",
            norm=None,
            mel_scale="htk",
        )

    def mel(self, audio: torch.Tensor) -> torch.Tensor:
        """Compute log-mel features.

        Args:
            audio: Waveform (B, N) or (N,).

        Returns:
            Log-mel (B, n_mels, N // hop_length + 1) (or without B for 1-D input).

        Raises:
            ValueError: Fewer than :attr:`min_samples` samples.
        """
        if audio.size(-1) < self.min_samples:
            raise ValueError(
                f"{audio.size(-1)} samples are too few for the log-mel: the reflect padding of centred "
                f"frames needs at least n_fft // 2 + 1 = {self.min_samples} ({self.min_samples / self.fs:.4f} s "
                f"at {self.fs} Hz). Drop shorter clips (format_wav_scp --min_duration)."
            )
        mel = self.mel_spec(audio)
        return torch.log(torch.clamp(mel, min=self.log_floor))

    def forward(
        self, input: torch.Tensor, input_lengths: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """ESPnet face: waveforms (B, N) -> features (B, L, n_mels) and lengths (B,)."""
        feats = self.mel(input).transpose(1, 2)
        if input_lengths is None:
            input_lengths = input.new_full([input.size(0)], input.size(1), dtype=torch.long)
        feats_lengths = input_lengths // self.hop_length + 1
        return feats, feats_lengths

    def vocoder_conf(self, conf: Dict[str, Any], conf_name: str = "generator_conf") -> Dict[str, Any]:
        """Complete a vocoder's arguments with the frame settings of these features.

        ``in_channels``, ``n_fft`` and ``hop_length`` are filled in where absent; a value
        that contradicts the features is refused, naming both settings.

        Args:
            conf: Vocoder keyword arguments.
            conf_name: How the user's config calls ``conf``, for the error message.
        """
        conf = dict(conf)
        for key, value in dict(in_channels=self.n_mels, n_fft=self.n_fft, hop_length=self.hop_length).items():
            if conf.setdefault(key, value) != value:
                feats_key = "n_mels" if key == "in_channels" else key
                raise ValueError(
                    f"{conf_name}.{key}={conf[key]} contradicts the features' {feats_key}={value} "
                    f"(feats_extract_conf): the vocoder must be built for the features it decodes. "
                    f"Drop {key} from {conf_name} (it is taken from the features) or make the two agree."
                )
        return conf

    @property
    def min_samples(self) -> int:
        """Fewest samples the features can be computed for (centred frames pad n_fft // 2 by reflection)."""
        return self.n_fft // 2 + 1

    @property
    def settings(self) -> Dict[str, Any]:
        """Every constructor argument, defaults filled in (what rebuilds these features)."""
        return dict(
            fs=self.fs,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            n_mels=self.n_mels,
            fmin=self.fmin,
            fmax=self.fmax,
            log_floor=self.log_floor,
        )

    def output_size(self) -> int:
        return self.n_mels

    def get_parameters(self) -> Dict[str, Any]:
        """Feature settings, in the names ESPnet's ``LogMelFbank`` uses."""
        return dict(
            fs=self.fs,
            n_fft=self.n_fft,
            n_shift=self.hop_length,
            win_length=self.win_length,
            window="hann",
            n_mels=self.n_mels,
            fmin=self.fmin,
            fmax=self.fmax,
        )


def check_same_features(
    first: VocosLogMel, second: VocosLogMel, subject: str, names: Tuple[str, str] = ("", ""), fix: str = ""
):
    """The one check that two feature extractors describe the same frames.

    Compared: ESPnet's feature parameters (``fs``, ``n_fft``, ``n_shift``, ``win_length``,
    ``window``, ``n_mels``, ``fmin``, ``fmax``) and ``log_floor``.

    Args:
        first, second: The two extractors.
        subject: Start of the error, e.g. "The text-to-mel model and the vocoder use".
        names: What to call each side in the list of differences.
        fix: What to do, appended to the error.

    Raises:
        ValueError: ``"<subject> different features (n_mels: <first> 80 vs <second> 100, ...). <fix>"``.
    """
    a, b = (dict(f.get_parameters(), log_floor=f.log_floor) for f in (first, second))
    label = [f"{name} " if name else "" for name in names]
    differing = [f"{k}: {label[0]}{a[k]} vs {label[1]}{b[k]}" for k in a if a[k] != b[k]]
    if differing:
        raise ValueError(f"{subject} different features ({', '.join(differing)}).{' ' + fix if fix else ''}")

