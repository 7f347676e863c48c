"""The loaded vocoder: one generator with its features, used by every decoding path.

Decoding (``bin/gan_vocoder_inference``), the benchmark, the spike pictures and
``tts_inference --vocoder_file`` (:mod:`espnet2_spiking.text2mel`) all load a vocoder here.

    >>> from espnet2_spiking.vocoder import Vocoder
    >>> vocoder = Vocoder.from_pretrained("exp/snn/valid.mel_loss.best.pth")  # or a directory, or an archive
    >>> wav = vocoder.copy_synthesis(speech)   # (N,) at vocoder.fs
    >>> wav = vocoder.decode(mel)              # mel (frames, n_mels) -> (frames * hop,)

A trained vocoder is ``gan_vocoder_train``'s model file with the ``config.yaml`` beside
it, a directory holding both (``model.pth`` or ``valid.mel_loss.best.pth``), or the
archive of ``bin/pack_vocoder`` (see :mod:`espnet2_spiking.utils.archive`).
"""

import argparse
import io
import json
import math
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
import torch
import yaml
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str_or_none
from spikingjelly.activation_based import neuron

from espnet2_spiking.gan_vocoder.chunked import chunked_inference
from espnet2_spiking.gan_vocoder.generators import GENERATORS
from espnet2_spiking.gan_vocoder.mel_vocoder import MelVocoder
from espnet2_spiking.layers.mel import AnyMelFeatures, VocosLogMel
from espnet2_spiking.tasks.gan_vocoder import GANVocoderTask
from espnet2_spiking.utils.archive import find_model, is_archive, unpack_archive, write_archive
from espnet2_spiking.utils.checkpoint import load_generator, load_train_config
from espnet2_spiking.utils.cli import add_device_arguments, device_of
from espnet2_spiking.utils.config_check import check_decoding_memory, check_vocoder_config

DEFAULT_CHUNK_SECONDS = 20.0  # about 0.6 GB for the full-size student (28 MB per second of audio)


class Vocoder:
    """A trained generator with its feature extractor, ready to decode.

    Args:
        model_file: Checkpoint of ``gan_vocoder_train`` (``*.pth``), read without running code.
        train_config: Its ``config.yaml`` (default: beside ``model_file``).
        device: Torch device.
        chunk_seconds: Longer inputs are decoded in chunks of this many seconds of audio (with
            overlapping context; the samples equal whole-utterance decoding), so memory stays
            bounded; ``None`` or 0 decodes every input whole.
    """

    def __init__(
        self,
        model_file: Union[str, Path],
        train_config: Union[str, Path, None] = None,
        device: str = "cpu",
        chunk_seconds: Optional[float] = DEFAULT_CHUNK_SECONDS,
    ):
        config, args = load_train_config(model_file, train_config)
        generator = getattr(args, "generator", None)
        if generator not in GENERATORS or not hasattr(args, "feats_extract_conf"):
            raise ValueError(
                f"{config} is not a config of gan_vocoder_train (generator: {generator}; expected one of "
                f"{', '.join(GENERATORS)} with feats_extract_conf). Pass the config.yaml and "
                "model file of a vocoder training; a text-to-speech model decodes with "
                "espnet2_spiking.bin.tts_inference."
            )
        feats_extract = check_vocoder_config(args, config, GENERATORS[generator])
        model = GANVocoderTask.build_generator(args, feats_extract)
        load_generator(model, model_file, config)
        self._setup(model, feats_extract, device, chunk_seconds, f"trained ({model_file})")
        self.train_config = config

    def _setup(
        self,
        generator: MelVocoder,
        feats_extract: AnyMelFeatures,
        device: str,
        chunk_seconds: Optional[float],
        origin: str,
    ):
        self.generator = generator.to(device).eval()
        self.feats_extract = feats_extract.to(device).eval()
        self.generator_type = next(k for k, v in GENERATORS.items() if type(generator) is v)
        self.device = device
        if chunk_seconds is not None and not (math.isfinite(chunk_seconds) and chunk_seconds >= 0):
            raise ValueError(
                f"chunk_seconds must be a finite number of seconds >= 0 (0 or None: decode whole), got {chunk_seconds}"
            )
        self.chunk_frames = (
            max(1, round(chunk_seconds * self.fs / self.generator.upsample_factor)) if chunk_seconds else None
        )
        if chunk_seconds:
            settings, hop = generator.settings, generator.upsample_factor
            check_decoding_memory(settings, self.fs, hop, chunk_seconds, type(generator).__name__)
        params = sum(p.numel() for p in generator.parameters())
        steps = generator.settings.get("time_steps")
        self.description = (
            f"{type(generator).__name__}, {params:,} parameters"
            + (f", T={steps}" if steps else "")
            + f", {origin}"
        )

    @classmethod
    def from_pretrained(
        cls,
        model_tag: Union[str, Path],
        train_config: Union[str, Path, None] = None,
        device: str = "cpu",
        chunk_seconds: Optional[float] = DEFAULT_CHUNK_SECONDS,
        unpack_dir: Union[str, Path, None] = None,
    ) -> "Vocoder":
        """Load a trained vocoder from a model file, a directory or a packed archive.

        Args:
            model_tag: ``*.pth`` (with ``config.yaml`` beside it or ``train_config``); a
                directory holding ``config.yaml`` and ``model.pth`` (or
                ``valid.mel_loss.best.pth``); or an archive of ``bin/pack_vocoder``.
            train_config: The config, for a model file whose config lies elsewhere.
            unpack_dir: Where an archive is unpacked (default: the user's cache, by content).
        """
        return cls(*resolve_model(model_tag, train_config, unpack_dir), device, chunk_seconds)

    @classmethod
    def from_generator(
        cls,
        generator: MelVocoder,
        feats_extract: Optional[AnyMelFeatures] = None,
        fs: int = 24000,
        device: str = "cpu",
        origin: str = "untrained",
        chunk_seconds: Optional[float] = DEFAULT_CHUNK_SECONDS,
    ) -> "Vocoder":
        """Wrap a generator built in code (e.g. untrained, for energy and speed).

        Args:
            generator: A ``vocos`` or ``spiking_vocos`` generator.
            feats_extract: Its features (default: the Vocos features at ``fs`` that fit its
                ``in_channels``, ``n_fft`` and ``hop_length``).
            origin: Where its weights come from, for :attr:`description`.
        """
        if feats_extract is None:
            s = generator.settings
            feats_extract = VocosLogMel(
                fs=fs, n_fft=s["n_fft"], hop_length=s["hop_length"], n_mels=s["in_channels"]
            )
        vocoder = cls.__new__(cls)
        vocoder._setup(generator, feats_extract, device, chunk_seconds, origin)
        vocoder.train_config = None
        return vocoder

    def __call__(self, mel: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
        """ESPnet's vocoder face (``Text2Speech``): :meth:`decode`."""
        return self.decode(mel)

    @property
    def fs(self) -> int:
        return self.feats_extract.fs

    @property
    def spiking_layers(self) -> List[str]:
        """Names of the generator's spiking neurons, in network order (none for an ANN)."""
        return [name for name, m in self.generator.named_modules() if isinstance(m, neuron.BaseNode)]

    @property
    def is_spiking(self) -> bool:
        return bool(self.spiking_layers)

    @torch.no_grad()
    def mel(self, speech: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
        """Args: speech: waveform (B, N) or (N,) at ``fs``. Returns: log-mel (B, n_mels, N // hop + 1)."""
        speech = torch.as_tensor(speech, dtype=torch.float32, device=self.device)
        return self.feats_extract.mel(speech if speech.dim() == 2 else speech[None])

    @torch.inference_mode()
    def decode(self, mel: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
        """Args: mel: log-mel (frames, n_mels), ESPnet's layout. Returns: waveform (frames * hop,)."""
        mel = torch.as_tensor(mel, dtype=torch.float32, device=self.device)
        if self.chunk_frames and mel.dim() == 2 and mel.size(0) > self.chunk_frames:
            return chunked_inference(self.generator, mel, self.chunk_frames)
        return self.generator.inference(mel).view(-1)

    @torch.inference_mode()
    def copy_synthesis(self, speech: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
        """Args: speech: mono waveform (N,) at ``fs``. Returns: its resynthesis (N,)."""
        speech = torch.as_tensor(speech, dtype=torch.float32, device=self.device)
        if speech.dim() != 1:
            raise ValueError(
                f"copy_synthesis expects a mono waveform (N,), got shape {tuple(speech.shape)}; "
                "mix it down to one channel first."
            )
        bad = int((~torch.isfinite(speech)).sum())
        if bad:
            raise ValueError(f"the waveform has {bad} NaN or infinite samples of {speech.numel()}")
        mel = self.feats_extract.mel(speech[None])[0]
        return self.decode(mel.transpose(0, 1))[: speech.numel()]


def resolve_model(
    model_tag: Union[str, Path],
    train_config: Union[str, Path, None] = None,
    unpack_dir: Union[str, Path, None] = None,
) -> Tuple[Path, Optional[Path]]:
    """The model file and config of a model file, a vocoder directory or an archive.

    Returns:
        The model file and ``train_config`` (``None``: the ``config.yaml`` beside it).
    """
    model_tag = Path(model_tag)
    if is_archive(model_tag):
        model_tag = unpack_archive(model_tag, unpack_dir)
    if model_tag.is_dir():
        model_tag = find_model(model_tag)
    return model_tag, Path(train_config) if train_config else None


def model_card(
    vocoder: Vocoder, model_file: Path, metrics: Optional[dict], metrics_file: Optional[str]
) -> str:
    """A short README.md for a packed vocoder: what it is, its features, how to use it, its scores."""
    feats = vocoder.feats_extract.settings
    lines = [
        f"# {vocoder.generator_type} vocoder",
        "",
        f"- Model: {vocoder.description.replace(str(model_file), model_file.name)}",
        f"- Features: {vocoder.feats_extract.name}, " + ", ".join(f"{k} {v}" for k, v in feats.items()) + " (feats.yaml)",
        "- Training config: config.yaml; weights: model.pth (generator only, a plain state dict)",
        "- Decode: `python -m espnet2_spiking.bin.gan_vocoder_inference --model_file THIS_ARCHIVE "
        "--data_path_and_name_and_type wav.scp,speech,sound --output_dir out`",
        "- Behind an ESPnet text-to-mel model trained on the same features: "
        "`python -m espnet2_spiking.bin.tts_inference ... --vocoder_file THIS_ARCHIVE`",
    ]
    if metrics:
        scores = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        lines += ["", f"## Scores ({Path(metrics_file).name})", "", "| metric | value |", "| --- | --- |"]
        lines += [
            f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in scores.items()
        ]
    return "\n".join(lines) + "\n"


def pack_vocoder(
    model_tag: Union[str, Path],
    archive: Union[str, Path],
    train_config: Union[str, Path, None] = None,
    metrics_file: Union[str, Path, None] = None,
) -> Path:
    """Pack a trained vocoder into one shareable ``.tar.gz`` (see :mod:`espnet2_spiking.utils.archive`).

    Args:
        model_tag: Its model file (or directory); loaded first, so a broken pair is refused.
        archive: The ``*.tar.gz`` to write.
        train_config: Its ``config.yaml`` (default: beside the model file).
        metrics_file: ``metrics.json`` of ``bin/evaluate`` on its decoding, for the model card.
    """
    model_file, config = resolve_model(model_tag, train_config)
    vocoder = Vocoder(model_file, config)
    metrics = None
    if metrics_file is not None:
        try:
            metrics = json.loads(Path(metrics_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ValueError(
                f"{metrics_file} is not a readable metrics.json of bin/evaluate ({e})."
            ) from None
    weights = io.BytesIO()
    torch.save({f"generator.{k}": v for k, v in vocoder.generator.state_dict().items()}, weights)
    members = {
        "config.yaml": vocoder.train_config.read_bytes(),
        "model.pth": weights.getvalue(),
        "feats.yaml": yaml.safe_dump(vocoder.feats_extract.config).encode(),
        "README.md": model_card(vocoder, model_file, metrics, metrics_file).encode(),
    }
    return write_archive(members, archive)


def add_vocoder_arguments(parser: argparse.ArgumentParser):
    """A trained (``--model_file``, ``--train_config``) or untrained (``--generator_type``,
    ``--generator_conf``, ``--fs``) vocoder, on ``--ngpu`` (or ``--device``)."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model_file",
        type=str_or_none,
        default=None,
        help="Trained generator: a checkpoint (*.pth), its directory or a packed archive",
    )
    group.add_argument(
        "--train_config",
        type=str_or_none,
        default=None,
        help="Its config.yaml (default: beside --model_file)",
    )
    group.add_argument(
        "--generator_type",
        choices=sorted(GENERATORS),
        default="spiking_vocos",
        help="Untrained generator to build when no --model_file is given",
    )
    group.add_argument(
        "--generator_conf",
        action=NestedDictAction,
        default=dict(),
        help="Its arguments, e.g. time_steps=4 or '{dim: 512}'",
    )
    group.add_argument("--fs", type=int, default=24000, help="Sample rate of an untrained generator")
    add_device_arguments(group)


def vocoder_from_args(args: argparse.Namespace) -> Vocoder:
    """The vocoder that :func:`add_vocoder_arguments` describes."""
    device = device_of(args.ngpu, args.device)
    if args.model_file:
        return Vocoder.from_pretrained(args.model_file, args.train_config, device=device)
    generator = GENERATORS[args.generator_type](**(args.generator_conf or {}))
    return Vocoder.from_generator(generator, fs=args.fs, device=device)
