"""The log-mel features the vocoders decode: ``feats_extract: vocos_mel | fbank``.

- ``vocos_mel`` (:class:`VocosLogMel`, the default and the reference's): Vocos "mel 24 kHz",
  i.e. 24 kHz, n_fft 1024, hop 256, win 1024 hann, 100 HTK mels from 0 Hz to Nyquist
  without filter normalisation, magnitude (power 1), ``log(clamp(x, 1e-7))``, centred frames
  with reflect padding.
- ``fbank`` (:class:`Fbank`): ESPnet's own ``LogMelFbank``, what every ESPnet TTS recipe and
  pretrained model uses (Slaney mels with area normalisation, amplitude spectrum, log10,
  fmin 80, fmax 7600, 80 mels), reused as it is, with its ``feats_extract_conf`` names.

Both are ESPnet feature extractors (``forward``: waveforms (B, N) -> (B, frames, n_mels))
with what a vocoder needs besides (:class:`MelFeatures`). :data:`FEATS_EXTRACTORS` is the
table of both; :func:`check_same_features` the one check that two extractors describe the
same frames.
"""

import inspect
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch
import torchaudio
import yaml
from espnet2.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank
from typeguard import typechecked


class MelFeatures:
    """What a vocoder needs of its features besides ESPnet's face.

    Subclasses have ``fs``, ``n_fft``, ``hop_length`` and ``n_mels``.
    """

    name: str  # the ``feats_extract`` name

    def mel(self, audio: torch.Tensor) -> torch.Tensor:
        """Args: audio: waveform (B, N) or (N,). Returns: log-mel (B, n_mels, N // hop_length + 1) (or without B)."""
        raise NotImplementedError

    @property
    def settings(self) -> Dict[str, Any]:
        """Every constructor argument, defaults filled in (what rebuilds these features)."""
        raise NotImplementedError

    @property
    def config(self) -> Dict[str, Any]:
        """The training-config entries that rebuild these features: ``{feats_extract: name,
        feats_extract_conf: settings}``, what a text-to-mel model must be trained with to feed
        a vocoder trained on them."""
        return dict(feats_extract=self.name, feats_extract_conf=self.settings)

    def vocoder_conf(self, conf: Dict[str, Any], conf_name: str = "generator_conf") -> Dict[str, Any]:
        """Complete a vocoder's arguments with the frame settings of these features.

        ``in_channels`` (the mel count) and ``hop_length`` must be the features'; they are
        filled in where absent and a contradicting value is refused, naming both. The ISTFT
        head's ``n_fft`` defaults to the features' analysis window (``win_length``): the
        window, not the zero-padded FFT, sets the frames' time-frequency resolution, and it
        keeps Vocos's 4x overlap for ESPnet's LibriTTS features (win 1200 = 4 x hop 300,
        where their n_fft 2048 would make 85 ms frames and a head twice as wide); it may be
        set in ``conf``.

        Args:
            conf: Vocoder keyword arguments.
            conf_name: How the user's config calls ``conf``, for the error message.
        """
        conf = dict(conf)
        conf.setdefault("n_fft", self.settings["win_length"])
        for key, value in dict(in_channels=self.n_mels, hop_length=self.hop_length).items():
            if conf.setdefault(key, value) != value:
                feats_key = "n_mels" if key == "in_channels" else key
                raise ValueError(
                    f"{conf_name}.{key}={conf[key]} contradicts the features' {feats_key}={value} "
                    f"(feats_extract_conf): the vocoder must be built for the features it decodes. "
                    f"Drop {key} from {conf_name} (it is taken from the features) or make the two agree."
                )
        return conf


class VocosLogMel(MelFeatures, AbsFeatsExtract):
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

    name = "vocos_mel"

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

    @property
    def min_samples(self) -> int:
        """Fewest samples the features can be computed for (centred frames pad n_fft // 2 by reflection)."""
        return self.n_fft // 2 + 1

    @property
    def settings(self) -> Dict[str, Any]:
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


class Fbank(MelFeatures, LogMelFbank):
    """ESPnet's ``LogMelFbank`` (``feats_extract: fbank``) as a vocoder's features.

    The same constructor, defaults and features as ESPnet's; only :class:`MelFeatures` is added.
    """

    name = "fbank"

    def mel(self, audio: torch.Tensor) -> torch.Tensor:
        """Args: audio: waveform (B, N) or (N,). Returns: log-mel (B, n_mels, N // hop_length + 1) (or without B)."""
        feats, _ = self(audio if audio.dim() == 2 else audio[None])
        feats = feats.transpose(1, 2)
        return feats if audio.dim() == 2 else feats[0]

    @property
    def settings(self) -> Dict[str, Any]:
        return describe_features(self)[1]


FEATS_EXTRACTORS = {"vocos_mel": VocosLogMel, "fbank": Fbank}
"""The features a vocoder of this plugin can be trained on, by ``feats_extract`` name."""

AnyMelFeatures = Union[VocosLogMel, Fbank]


def describe_features(feats: AbsFeatsExtract) -> Tuple[str, Dict[str, Any]]:
    """The ``feats_extract`` name and complete ``feats_extract_conf`` of a feature extractor.

    Works on ESPnet's own ``LogMelFbank`` of a text-to-mel model as well.

    Raises:
        ValueError: for features that no vocoder here decodes (e.g. ``linear_spectrogram``).
    """
    if isinstance(feats, VocosLogMel):
        return "vocos_mel", feats.settings
    if isinstance(feats, LogMelFbank):
        stft, logmel = feats.stft, feats.logmel
        return "fbank", dict(
            fs=feats.fs,
            n_fft=feats.n_fft,
            hop_length=feats.hop_length,
            win_length=stft.win_length,
            window=feats.window,
            center=stft.center,
            normalized=stft.normalized,
            onesided=stft.onesided,
            n_mels=feats.n_mels,
            fmin=feats.fmin,
            fmax=feats.fmax,
            htk=logmel.mel_options["htk"],
            log_base=logmel.log_base,
        )
    raise ValueError(
        f"{type(feats).__name__} features cannot be decoded by a mel vocoder: use feats_extract: "
        f"{' or '.join(FEATS_EXTRACTORS)}."
    )


def build_features(name: Optional[str], conf: Optional[Dict[str, Any]], source: str = "the config") -> AnyMelFeatures:
    """Build ``feats_extract: name`` with ``feats_extract_conf: conf`` (defaults: ``vocos_mel``, ``{}``).

    Args:
        source: What holds these settings (e.g. a config file), for the error message.
    """
    name = name or "vocos_mel"
    if name not in FEATS_EXTRACTORS:
        raise ValueError(
            f"{source}: feats_extract is {name!r}; a vocoder's features are one of {list(FEATS_EXTRACTORS)}."
        )
    cls = FEATS_EXTRACTORS[name]
    known = list(inspect.signature(cls.__init__).parameters)[1:]
    unknown = sorted(set(conf or {}) - set(known))
    if unknown:
        raise ValueError(f"{source}: feats_extract_conf has unknown keys {unknown} for {name}; known: {known}.")
    return cls(**(conf or {}))


def features_from_config(
    config: Path, feats_extract: Optional[str] = None, overrides: Optional[Dict[str, Any]] = None
) -> AnyMelFeatures:
    """The features of a vocoder training config (its ``feats_extract`` and ``feats_extract_conf``).

    Args:
        config: A YAML training config.
        feats_extract: Replaces the config's ``feats_extract`` (as on the training command line).
        overrides: Update the config's ``feats_extract_conf`` (as ``--feats_extract_conf key=value``).
    """
    try:
        with open(config, encoding="utf-8") as f:
            args = yaml.safe_load(f) or {}
    except OSError as e:
        raise FileNotFoundError(f"Cannot read the training config {config}: {e}") from None
    conf = dict(args.get("feats_extract_conf") or {}, **(overrides or {}))
    return build_features(feats_extract or args.get("feats_extract"), conf, str(config))


def check_same_features(
    first: AbsFeatsExtract,
    second: AbsFeatsExtract,
    subject: str,
    names: Tuple[str, str] = ("", ""),
    fix: str = "",
):
    """The one check that two feature extractors describe the same frames.

    Compared: the kind (``feats_extract``) and every setting of ``feats_extract_conf``
    (sample rate, FFT size, hop, window, mel count, band, mel scale, log base or floor, ...).

    Args:
        first, second: The two extractors (``vocos_mel``, or ``fbank`` / ESPnet's ``LogMelFbank``).
        subject: Start of the error, e.g. "The text-to-mel model and the vocoder use".
        names: What to call each side in the list of differences.
        fix: What to do, appended to the error.

    Raises:
        ValueError: ``"<subject> different features (n_mels: <first> 80 vs <second> 100, ...). <fix>"``.
    """
    (kind_a, a), (kind_b, b) = describe_features(first), describe_features(second)
    label = [f"{name} " if name else "" for name in names]
    if kind_a != kind_b:
        differing = [f"feats_extract: {label[0]}{kind_a} vs {label[1]}{kind_b}"]
    else:
        differing = [f"{k}: {label[0]}{a[k]} vs {label[1]}{b[k]}" for k in a if a[k] != b[k]]
    if differing:
        raise ValueError(f"{subject} different features ({', '.join(differing)}).{' ' + fix if fix else ''}")
