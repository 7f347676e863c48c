"""Whether a text-to-mel model and a Vocos vocoder fit: the checks of ``joint_text2wav`` and
``tts_inference --vocoder_file``.

A text-to-mel model and a vocoder must describe the same frames: same feature kind
(``vocos_mel``), sample rate, FFT size, window, hop, mel count and band
(:func:`espnet2_spiking.layers.mel.check_same_features`). These checks refuse a mismatch
with both settings named, before any weight is touched.
"""

from typing import Any, Dict, Optional

from espnet2_spiking.layers.mel import VocosLogMel, check_same_features
from espnet2_spiking.registry import VOCODERS


def check_text2mel_features(
    feats_extract: str,
    tts_features: Optional[VocosLogMel],
    normalize: Optional[str],
    vocoder_features: VocosLogMel,
):
    """Refuse a text-to-mel model whose output the vocoder cannot decode.

    Args:
        feats_extract: The text-to-mel model's ``feats_extract`` (must be ``vocos_mel``).
        tts_features: Its feature extractor (``None`` when it is not ``vocos_mel``).
        normalize: Its ``normalize`` (``None`` or ``global_mvn``, which decoding undoes).
        vocoder_features: The features the vocoder was trained on.
    """
    if feats_extract != "vocos_mel" or tts_features is None:
        raise ValueError(
            f"The text-to-mel model was trained on feats_extract: {feats_extract}, the vocoder on "
            "feats_extract: vocos_mel. Train the text-to-mel model with feats_extract: vocos_mel and the "
            f"vocoder's feats_extract_conf ({vocoder_features.settings})."
        )
    if normalize not in (None, "global_mvn"):
        raise ValueError(
            f"The text-to-mel model was trained with normalize: {normalize}, which the "
            "vocoder cannot undo; train it with normalize: global_mvn or none."
        )
    check_same_features(
        tts_features,
        vocoder_features,
        "The text-to-mel model and the vocoder use",
        ("text-to-mel", "vocoder"),
        "Train them on the same feats_extract_conf.",
    )


def complete_joint_config(
    feats_extract: str, feats_extract_conf: Dict[str, Any], tts_conf: Dict[str, Any]
) -> Dict[str, Any]:
    """Fit a ``joint_text2wav`` config's Vocos vocoder to its features.

    ESPnet injects ``in_channels`` only into its own vocoders; for ``vocos`` and
    ``spiking_vocos`` the mel count, FFT size and hop are taken from the features here,
    and a contradiction is refused.

    Args:
        feats_extract: The GAN-TTS task's feature extractor name.
        feats_extract_conf: Its arguments.
        tts_conf: ``joint_text2wav`` arguments (``vocoder_type``, ``vocoder_params``).

    Returns:
        ``tts_conf`` with completed ``vocoder_params``.
    """
    vocoder_type = tts_conf.get("vocoder_type")
    if vocoder_type not in VOCODERS:
        return tts_conf
    if feats_extract != "vocos_mel":
        raise ValueError(
            f"vocoder_type: {vocoder_type} decodes vocos_mel features, but feats_extract is "
            f"{feats_extract}. Set feats_extract: vocos_mel."
        )
    vocoder_params = VocosLogMel(**feats_extract_conf).vocoder_conf(
        tts_conf.get("vocoder_params", {}), "tts_conf.vocoder_params"
    )
    return dict(tts_conf, vocoder_params=vocoder_params)
