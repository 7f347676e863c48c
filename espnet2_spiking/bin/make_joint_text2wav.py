#!/usr/bin/env python3
"""Put a trained vocoder behind a trained ESPnet text-to-mel model as one ``joint_text2wav``.

Writes ``<output_dir>/config.yaml`` and ``<output_dir>/model.pth``, which
``espnet2_spiking.bin.tts_inference`` decodes text with. The two models must have been
trained on the same ``vocos_mel`` features; a mismatch is refused, naming both settings.
A text-to-mel model trained with ``normalize: global_mvn`` hands normalised features to
the vocoder, which then undoes the normalisation with the same statistics.

Example:
    python -m espnet2_spiking.bin.make_joint_text2wav \\
        --tts_train_config exp/tts/config.yaml --tts_model_file exp/tts/valid.loss.best.pth \\
        --vocoder_model_file exp/snn/valid.mel_loss.best.pth --output_dir exp/joint
"""

import argparse
import logging
from pathlib import Path

import torch
import yaml
from espnet2.utils.types import str_or_none

from espnet2_spiking.layers.mel import VocosLogMel
from espnet2_spiking.tasks.gan_vocoder import GANVocoderTask
from espnet2_spiking.utils.checkpoint import load_generator, load_state, load_train_config
from espnet2_spiking.utils.cli import setup_logging
from espnet2_spiking.utils.features import check_text2mel_features


def make_joint_text2wav(
    tts_train_config, tts_model_file, vocoder_model_file, output_dir, vocoder_train_config=None
):
    """Compose the config and the weights of a ``joint_text2wav`` model; return its paths."""
    _, tts_args = load_train_config(tts_model_file, tts_train_config)
    tts_state = load_state(tts_model_file)
    if not any(k.startswith("tts.") for k in tts_state):
        raise ValueError(
            f"{tts_model_file} holds no tts.* weights: it is not a model file of an ESPnet text-to-mel "
            "training. Pass --tts_model_file exp/tts_<tag>/valid.loss.best.pth."
        )
    vocoder_config, vocoder_args = load_train_config(vocoder_model_file, vocoder_train_config)
    feats = VocosLogMel(**vocoder_args.feats_extract_conf)
    tts_feats = VocosLogMel(**tts_args.feats_extract_conf) if tts_args.feats_extract == "vocos_mel" else None
    check_text2mel_features(tts_args.feats_extract, tts_feats, getattr(tts_args, "normalize", None), feats)
    vocoder = load_generator(
        GANVocoderTask.build_generator(vocoder_args, feats), vocoder_model_file, vocoder_config
    )
    vocoder_params = feats.vocoder_conf(vocoder_args.generator_conf)
    if tts_args.normalize == "global_mvn":
        vocoder_params["stats_file"] = tts_args.normalize_conf["stats_file"]

    config = vars(tts_args).copy()
    config["tts"] = "joint_text2wav"
    config["tts_conf"] = dict(
        text2mel_type=tts_args.tts,
        text2mel_params=tts_args.tts_conf,
        vocoder_type=vocoder_args.generator,
        vocoder_params=vocoder_params,
        sampling_rate=feats.fs,
    )
    state = {
        (f"tts.generator.text2mel.{k[len('tts.'):]}" if k.startswith("tts.") else k): v
        for k, v in tts_state.items()
    }
    state.update({f"tts.generator.vocoder.{k}": v for k, v in vocoder.state_dict().items()})
    if tts_args.normalize == "global_mvn":
        state.update(
            {f"tts.generator.vocoder.{k}": v for k, v in tts_state.items() if k.startswith("normalize.")}
        )

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with (output_dir / "config.yaml").open("w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    torch.save(state, output_dir / "model.pth")
    logging.info(
        f"Wrote {output_dir}/config.yaml and model.pth: {tts_args.tts} + {vocoder_args.generator} "
        f"at {feats.fs} Hz"
    )
    return output_dir / "config.yaml", output_dir / "model.pth"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tts_train_config", type=str_or_none, default=None)
    parser.add_argument("--tts_model_file", type=str, required=True)
    parser.add_argument("--vocoder_train_config", type=str_or_none, default=None)
    parser.add_argument("--vocoder_model_file", type=str, required=True)
    parser.add_argument("--output_dir", type=str, required=True)
    return parser


def main(cmd=None):
    setup_logging()
    make_joint_text2wav(**vars(get_parser().parse_args(cmd)))


if __name__ == "__main__":
    main()
