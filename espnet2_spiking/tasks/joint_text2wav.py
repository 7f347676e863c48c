"""Putting a Vocos vocoder behind an ESPnet text-to-mel model (``joint_text2wav``).

A text-to-mel model and a vocoder must describe the same frames: same feature kind
(``vocos_mel``), sample rate, FFT size, window, hop, mel count and band. These checks
refuse a mismatch with both settings named, before any weight is touched.
"""

import argparse
from typing import Any, Dict

from espnet2_spiking.layers.mel import VocosLogMel
from espnet2_spiking.registry import VOCODERS


def check_same_features(tts_args: argparse.Namespace, vocoder_args: argparse.Namespace):
    """Refuse a text-to-mel config whose features differ from the vocoder's training features.

    Args:
        tts_args: ESPnet TTS training config (``feats_extract``, ``feats_extract_conf``, ``normalize``).
        vocoder_args: ``gan_vocoder_train`` config of the vocoder.
    """
    if tts_args.feats_extract != "vocos_mel":
        raise ValueError(
            f"The text-to-mel model was trained on feats_extract: {tts_args.feats_extract}, the "
            f"vocoder on feats_extract: {vocoder_args.feats_extract}. Train the text-to-mel model "
            "with feats_extract: vocos_mel and the vocoder's feats_extract_conf "
            f"({vocoder_args.feats_extract_conf})."
        )
    if getattr(tts_args, "normalize", None) not in (None, "global_mvn"):
        raise ValueError(
            f"The text-to-mel model was trained with normalize: {tts_args.normalize}, which the "
            "vocoder cannot undo; train it with normalize: global_mvn or none."
        )
    tts_params = VocosLogMel(**tts_args.feats_extract_conf).get_parameters()
    vocoder_params = VocosLogMel(**vocoder_args.feats_extract_conf).get_parameters()
    differing = {k: (tts_params[k], vocoder_params[k]) for k in tts_params if tts_params[k] != vocoder_params[k]}
    if differing:
        settings = ", ".join(f"{k}: text-to-mel {a} vs vocoder {b}" for k, (a, b) in differing.items())
        raise ValueError(f"The text-to-mel model and the vocoder use different features ({settings}).")


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
