"""Everything that joins an ESPnet text-to-mel model and a vocoder of this plugin.

A text-to-mel model and a vocoder must describe the same frames: same feature kind
(``vocos_mel`` or ESPnet's ``fbank``) and the same settings (sample rate, FFT size, hop,
window, mel count, band, mel scale, log base); :func:`check_text2mel_features` refuses a
mismatch with both values named, before anything is decoded.

- :func:`build_tts_vocoder`: ``tts_inference --vocoder_file`` with a vocoder of
  ``gan_vocoder_train`` (ESPnet's ``Text2Speech`` hands it the denormalised features).
- :class:`VocosGriffinLim`: ESPnet's Griffin-Lim fallback (no ``--vocoder_file``) for
  ``vocos_mel`` features, whose mels and log ESPnet's own cannot invert.
- :func:`complete_joint_config`: a ``joint_text2wav`` config with ``vocoder_type: vocos |
  spiking_vocos`` gets the vocoder's mel count and hop from its features, as ESPnet's own
  vocoders get ``odim``; a contradiction is refused.
- :func:`make_joint_text2wav`: a trained text-to-mel model and a trained vocoder as one
  ``joint_text2wav`` model (config and weights).

:mod:`espnet2_spiking.registry` installs these into ESPnet's TTS tasks.
"""

import logging
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch
import torchaudio
import yaml
from espnet2.layers.global_mvn import GlobalMVN
from espnet2.tts.feats_extract.abs_feats_extract import AbsFeatsExtract

from espnet2_spiking.gan_vocoder.generators import GENERATORS
from espnet2_spiking.layers.mel import AnyMelFeatures, VocosLogMel, build_features, check_same_features
from espnet2_spiking.utils.checkpoint import load_state, load_train_config
from espnet2_spiking.vocoder import Vocoder, resolve_model

PathLike = Union[str, Path]


def check_text2mel_features(
    tts_features: Optional[AbsFeatsExtract], normalize: Optional[str], vocoder_features: AnyMelFeatures
):
    """Refuse a text-to-mel model whose output the vocoder cannot decode.

    Args:
        tts_features: The text-to-mel model's feature extractor (``None``: it was trained on
            features extracted beforehand, which cannot be checked here).
        normalize: Its ``normalize`` (``None`` or ``global_mvn``, which decoding undoes).
        vocoder_features: The features the vocoder was trained on.

    Raises:
        ValueError: naming the setting and both values, e.g. ``n_mels: text-to-mel 80 vs vocoder 100``.
    """
    if normalize not in (None, "global_mvn"):
        raise ValueError(
            f"The text-to-mel model was trained with normalize: {normalize}, which the "
            "vocoder cannot undo; train it with normalize: global_mvn or none."
        )
    if tts_features is None:
        logging.warning(
            "The text-to-mel model has no feats_extract (trained on extracted features): its features "
            f"cannot be checked against the vocoder's ({vocoder_features.name}, {vocoder_features.settings})."
        )
        return
    check_same_features(
        tts_features,
        vocoder_features,
        "The text-to-mel model and the vocoder use",
        ("text-to-mel", "vocoder"),
        "Train them on the same feats_extract and feats_extract_conf.",
    )


def normalize_name(normalize: Optional[torch.nn.Module]) -> Optional[str]:
    """ESPnet's name of a model's ``normalize`` module (``global_mvn``), or its class name."""
    if normalize is None:
        return None
    return "global_mvn" if isinstance(normalize, GlobalMVN) else type(normalize).__name__


def build_tts_vocoder(
    vocoder_config: Optional[PathLike], vocoder_file: PathLike, model, device: str = "cpu"
) -> Vocoder:
    """ESPnet's ``TTSTask.build_vocoder_from_file`` for a vocoder of ``gan_vocoder_train``.

    ``Text2Speech`` hands the vocoder the denormalised output (``feat_gen_denorm``), so a
    text-to-mel model trained with ``normalize: global_mvn`` fits as well; do not pass
    ``--prefer_normalized_feats true``.

    Args:
        vocoder_config: Its ``config.yaml`` (default: beside ``vocoder_file``).
        vocoder_file: A ``*.pth`` of ``gan_vocoder_train``, its directory or a packed archive.
        model: The ``ESPnetTTSModel`` whose output it decodes.
    """
    vocoder = Vocoder(*resolve_model(vocoder_file, vocoder_config), device)
    check_text2mel_features(model.feats_extract, normalize_name(model.normalize), vocoder.feats_extract)
    return vocoder


class VocosGriffinLim:
    """Griffin-Lim for ``vocos_mel`` features: ESPnet's fallback vocoder, at the right level.

    ESPnet's ``Spectrogram2Waveform`` inverts ``fbank`` features (``10 **``, Slaney mels);
    on ``vocos_mel`` (natural log, HTK mels without normalisation) it would be thousands of
    times too loud. This one inverts the features' own filter bank (pseudo-inverse of the
    magnitude mel filters) after ``exp`` and runs torchaudio's Griffin-Lim with their frames.

    Args:
        features: The text-to-mel model's ``vocos_mel`` features.
        n_iter: Griffin-Lim iterations.
    """

    def __init__(self, features: VocosLogMel, n_iter: int = 32):
        self.fs = features.fs
        self.inverse_mel = torch.linalg.pinv(features.mel_spec.mel_scale.fb)  # (n_mels, n_fft // 2 + 1)
        self.griffin_lim = torchaudio.transforms.GriffinLim(
            n_fft=features.n_fft,
            n_iter=n_iter,
            win_length=features.win_length,
            hop_length=features.hop_length,
            power=1.0,
        )

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        """Args: mel: log-mel (frames, n_mels). Returns: waveform ((frames - 1) * hop,), as ESPnet's."""
        magnitude = (mel.float().cpu().exp() @ self.inverse_mel).clamp(min=1e-10)
        return self.griffin_lim(magnitude.T).to(mel.device)


def complete_joint_config(
    feats_extract: Optional[str], feats_extract_conf: Optional[Dict[str, Any]], tts_conf: Dict[str, Any]
) -> Dict[str, Any]:
    """Fit a ``joint_text2wav`` config's Vocos vocoder to its features.

    ESPnet injects the mel count (``odim``) only into its own vocoders; for ``vocos`` and
    ``spiking_vocos`` the mel count and hop are taken from the features here (and the ISTFT
    head's ``n_fft`` defaults to their window), as is ``sampling_rate``; a contradiction is
    refused. Other vocoders, and models without ``feats_extract``, are left as they are.

    Args:
        feats_extract: The task's feature extractor name (``fbank`` or ``vocos_mel``).
        feats_extract_conf: Its arguments.
        tts_conf: ``joint_text2wav`` arguments (``vocoder_type``, ``vocoder_params``, ...).

    Returns:
        ``tts_conf`` with completed ``vocoder_params`` and ``sampling_rate``.
    """
    vocoder_type = tts_conf.get("vocoder_type")
    if vocoder_type not in GENERATORS or feats_extract is None:
        return tts_conf
    features = build_features(feats_extract, feats_extract_conf, f"vocoder_type: {vocoder_type}")
    vocoder_params = features.vocoder_conf(tts_conf.get("vocoder_params") or {}, "tts_conf.vocoder_params")
    sampling_rate = tts_conf.get("sampling_rate")
    if sampling_rate is not None and sampling_rate != features.fs:
        raise ValueError(
            f"tts_conf.sampling_rate={sampling_rate} contradicts the features' fs={features.fs} "
            "(feats_extract_conf): drop sampling_rate (it is taken from the features) or make the two agree."
        )
    return dict(tts_conf, vocoder_params=vocoder_params, sampling_rate=features.fs)


def joint_state(
    tts_state: Dict[str, torch.Tensor], vocoder_state: Dict[str, torch.Tensor], normalizing: bool
) -> Dict[str, torch.Tensor]:
    """The weights of a ``joint_text2wav`` model from its two parts.

    Args:
        tts_state: The text-to-mel model's state (``tts.*``, ``normalize.*``, ...).
        vocoder_state: The generator's own state (no prefix).
        normalizing: Whether the text-to-mel model normalises (``global_mvn``): its statistics
            are then copied into the vocoder too, which undoes the normalisation first.
    """
    state = {
        (f"tts.generator.text2mel.{k[len('tts.'):]}" if k.startswith("tts.") else k): v
        for k, v in tts_state.items()
    }
    state.update({f"tts.generator.vocoder.{k}": v for k, v in vocoder_state.items()})
    if normalizing:
        state.update({f"tts.generator.vocoder.{k}": v for k, v in tts_state.items() if k.startswith("normalize.")})
    return state


def make_joint_text2wav(
    tts_train_config: Optional[PathLike],
    tts_model_file: PathLike,
    vocoder_model_file: PathLike,
    output_dir: PathLike,
    vocoder_train_config: Optional[PathLike] = None,
) -> Tuple[Path, Path]:
    """Put a trained vocoder behind a trained ESPnet text-to-mel model as one ``joint_text2wav``.

    A text-to-mel model trained with ``normalize: global_mvn`` hands normalised features to
    the vocoder, which then undoes the normalisation with the same statistics.

    Args:
        tts_train_config: The text-to-mel model's ``config.yaml`` (default: beside its model file).
        tts_model_file: Its model file, e.g. ``exp/tts_<tag>/valid.loss.best.pth``.
        vocoder_model_file: A vocoder of ``gan_vocoder_train`` (model file, directory or archive).
        output_dir: Where ``config.yaml`` and ``model.pth`` are written.
        vocoder_train_config: The vocoder's ``config.yaml`` (default: beside its model file).

    Returns:
        The paths of the joint ``config.yaml`` and ``model.pth``.
    """
    tts_config, tts_args = load_train_config(tts_model_file, tts_train_config)
    tts_state = load_state(tts_model_file)
    if not any(k.startswith("tts.") for k in tts_state):
        raise ValueError(
            f"{tts_model_file} holds no tts.* weights: it is not a model file of an ESPnet text-to-mel "
            "training. Pass --tts_model_file exp/tts_<tag>/valid.loss.best.pth."
        )
    feats_extract = getattr(tts_args, "feats_extract", None)
    tts_features = (
        None
        if feats_extract is None
        else build_features(feats_extract, getattr(tts_args, "feats_extract_conf", None), str(tts_config))
    )
    vocoder = Vocoder(*resolve_model(vocoder_model_file, vocoder_train_config))
    normalize = getattr(tts_args, "normalize", None)
    check_text2mel_features(tts_features, normalize, vocoder.feats_extract)

    vocoder_params = dict(vocoder.generator.settings)
    if normalize == "global_mvn":
        vocoder_params["stats_file"] = tts_args.normalize_conf["stats_file"]
    config = vars(tts_args).copy()
    config["tts"] = "joint_text2wav"
    config["tts_conf"] = dict(
        text2mel_type=tts_args.tts,
        text2mel_params=tts_args.tts_conf,
        vocoder_type=vocoder.generator_type,
        vocoder_params=vocoder_params,
        sampling_rate=vocoder.fs,
    )
    state = joint_state(tts_state, vocoder.generator.state_dict(), normalize == "global_mvn")

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with (output_dir / "config.yaml").open("w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    torch.save(state, output_dir / "model.pth")
    logging.info(
        f"Wrote {output_dir}/config.yaml and model.pth: {tts_args.tts} + {vocoder.generator_type} "
        f"at {vocoder.fs} Hz ({vocoder.feats_extract.name})"
    )
    return output_dir / "config.yaml", output_dir / "model.pth"
