#!/usr/bin/env python3
"""Convert a public Vocos checkpoint into a teacher checkpoint of this plugin.

Example:
    python -m espnet2_spiking.bin.convert_vocos --vocos_config config.yaml \\
        --vocos_checkpoint pytorch_model.bin --output_dir exp/vocos_pretrained

Reads the files of a Vocos model-hub release (``config.yaml`` with ``feature_extractor``,
``backbone`` and ``head`` entries, each a ``class_path`` and its ``init_args``; and
``pytorch_model.bin``, a ``vocos.Vocos`` state_dict) and writes, in the layout of
``gan_vocoder_train``, ``<output_dir>/config.yaml`` (``generator: vocos``,
``generator_conf``, ``feats_extract: vocos_mel``, ``feats_extract_conf``) and
``<output_dir>/model.pth`` (the weights as ``generator.*``), ready for
``--teacher_model_file <output_dir>/model.pth``. Only mel-spectrogram Vocos models with
the ISTFT head (e.g. "vocos-mel-24khz") have this plugin's architecture.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import yaml
from espnet2.utils.types import str2bool

from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.layers.mel import VocosLogMel
from espnet2_spiking.utils.cli import setup_logging


def component(config: Dict[str, Any], name: str, class_name: str, path: Path) -> Dict[str, Any]:
    """The ``init_args`` of ``config[name]``, after checking that its class is ``class_name``."""
    entry = config.get(name)
    if not isinstance(entry, dict) or "class_path" not in entry:
        raise ValueError(f"{path} has no `{name}: {{class_path: ..., init_args: ...}}` entry; is it a Vocos config?")
    if entry["class_path"].rsplit(".", 1)[-1] != class_name:
        raise ValueError(
            f"{path}: {name} is {entry['class_path']}, but only Vocos models with {class_name} "
            "can be converted (mel-spectrogram features, ConvNeXt backbone, ISTFT head)."
        )
    return dict(entry.get("init_args") or {})


def convert_config(config: Dict[str, Any], path: Path) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Map a Vocos config to (``feats_extract_conf``, ``generator_conf``) of this plugin."""
    config = config.get("model", {}).get("init_args", config)  # a training config holds it under model
    features = component(config, "feature_extractor", "MelSpectrogramFeatures", path)
    backbone = component(config, "backbone", "VocosBackbone", path)
    head = component(config, "head", "ISTFTHead", path)
    for name, args, padding in [("feature_extractor", features, "center"), ("head", head, "same")]:
        if args.get("padding", padding) != padding:
            raise ValueError(f"{path}: {name} padding must be {padding!r}, got {args['padding']!r}.")
    if backbone.get("adanorm_num_embeddings") is not None:
        raise ValueError(f"{path}: a backbone with adaptive LayerNorm (adanorm_num_embeddings) cannot be converted.")
    if head["dim"] != backbone["dim"]:
        raise ValueError(f"{path}: head dim {head['dim']} differs from backbone dim {backbone['dim']}.")
    names = dict(sample_rate="fs", n_fft="n_fft", hop_length="hop_length", n_mels="n_mels")
    feats_extract = VocosLogMel(**{names[k]: v for k, v in features.items() if k in names})
    feats_extract_conf = dict(
        fs=feats_extract.fs, n_fft=feats_extract.n_fft, hop_length=feats_extract.hop_length, n_mels=feats_extract.n_mels
    )
    generator_conf = dict(
        in_channels=backbone["input_channels"],
        dim=backbone["dim"],
        intermediate_dim=backbone["intermediate_dim"],
        num_layers=backbone["num_layers"],
        n_fft=head["n_fft"],
        hop_length=head["hop_length"],
    )
    if backbone.get("layer_scale_init_value") is not None:
        generator_conf["layer_scale_init_value"] = backbone["layer_scale_init_value"]
    feats_extract.vocoder_conf(generator_conf, conf_name=f"the backbone/head of {path}")  # refuses a mismatch
    return feats_extract_conf, generator_conf


def convert_vocos(vocos_config: Path, vocos_checkpoint: Path, output_dir: Path, overwrite: bool = False):
    """Write ``output_dir/config.yaml`` and ``output_dir/model.pth`` from a Vocos release."""
    for path in (vocos_config, vocos_checkpoint):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist; pass the config.yaml and pytorch_model.bin of a Vocos release."
            )
    config_out, model_out = output_dir / "config.yaml", output_dir / "model.pth"
    existing = [str(p) for p in (config_out, model_out) if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{' and '.join(existing)} already exist; choose another --output_dir or pass --overwrite true."
        )
    with vocos_config.open(encoding="utf-8") as f:
        feats_extract_conf, generator_conf = convert_config(yaml.safe_load(f), vocos_config)
    logging.info(f"Vocos config {vocos_config}: features {feats_extract_conf}, generator {generator_conf}")

    generator = VocosGenerator(**generator_conf)
    state_dict = torch.load(vocos_checkpoint, map_location="cpu", weights_only=True)
    try:
        generator.load_vocos_state_dict(state_dict)
    except RuntimeError as e:
        raise ValueError(f"{vocos_checkpoint} does not match {vocos_config}: {e}") from e

    output_dir.mkdir(parents=True, exist_ok=True)
    torch.save({f"generator.{k}": v for k, v in generator.state_dict().items()}, model_out)
    config = dict(
        generator="vocos",
        generator_conf=generator_conf,
        feats_extract="vocos_mel",
        feats_extract_conf=feats_extract_conf,
    )
    with config_out.open("w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    n_params = sum(p.numel() for p in generator.parameters())
    logging.info(f"Wrote {model_out} ({n_params:,} parameters) and {config_out}")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Convert a public Vocos checkpoint into a Vocos teacher of espnet2_spiking",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--vocos_config", type=Path, required=True, help="config.yaml of the Vocos release")
    parser.add_argument("--vocos_checkpoint", type=Path, required=True, help="pytorch_model.bin of the release")
    parser.add_argument("--output_dir", type=Path, required=True, help="where config.yaml and model.pth go")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace existing output files")
    parser.add_argument("--log_level", default="INFO", choices=["ERROR", "WARNING", "INFO", "DEBUG"])
    return parser


def main(cmd: Optional[Sequence[str]] = None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    convert_vocos(args.vocos_config, args.vocos_checkpoint, args.output_dir, args.overwrite)


if __name__ == "__main__":
    main(sys.argv[1:])
