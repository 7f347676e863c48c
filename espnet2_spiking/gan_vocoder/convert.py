"""Bring Vocos-family checkpoints trained elsewhere into this plugin.

Two sources, one result: ``<out_dir>/config.yaml`` in the layout of ``gan_vocoder_train``
(``generator``, ``generator_conf``, ``feats_extract: vocos_mel``, ``feats_extract_conf``)
and ``<out_dir>/model.pth`` (the generator's weights as ``generator.*``), which every
decoding path of the plugin loads (:class:`espnet2_spiking.vocoder.Vocoder`) and which
distillation takes as a teacher.

- :func:`convert_vocos`: a public Vocos release (the model hub's ``config.yaml`` and
  ``pytorch_model.bin``, a ``vocos.Vocos`` state dict).
- :func:`convert_reference`: a checkpoint of the reference Spiking Vocos
  (``pymaster17/Spiking-Vocos``): a PyTorch Lightning ``.ckpt`` whose ``state_dict`` holds
  ``feature_extractor.*``, ``backbone.*`` and ``head.*`` beside the discriminators and, for
  distilled models, the teacher and the feature adapters; its settings are in the
  Lightning-CLI ``config.yaml`` under ``model.init_args.{feature_extractor,backbone,head}``.

Both read every file without running code from it (YAML ``safe_load``, ``torch.load``
with ``weights_only=True``), and refuse a class, setting or weight they cannot map, saying
what was found and what was expected.
"""

import logging
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple

import torch
import yaml

from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.layers.mel import VocosLogMel
from espnet2_spiking.utils.checkpoint import fit_weights, safe_load
from espnet2_spiking.utils.files import atomic_path, write_text

MEL_FEATURES = "vocos.feature_extractors.MelSpectrogramFeatures"
ISTFT_HEAD = "vocos.heads.ISTFTHead"
VOCOS_BACKBONE = "vocos.models.VocosBackbone"

# Constructor defaults of the classes a config names (what a config that leaves a setting out means).
FEATURE_DEFAULTS = dict(sample_rate=24000, n_fft=1024, hop_length=256, n_mels=100, padding="center")
HEAD_DEFAULTS = dict(padding="same")
BACKBONE_DEFAULTS = dict(layer_scale_init_value=None, adanorm_num_embeddings=None)
TSM_DEFAULTS = dict(channel_folding_factor=32, tsm_penalty_factor=0.5)

# The reference's backbones: generator of this plugin, whether it has a TSM.
REFERENCE_BACKBONES = {
    VOCOS_BACKBONE: ("vocos", False),
    "vocos.spiking_modelsv3.SpikingVocosBackbone": ("spiking_vocos", False),
    "vocos.spiking_modelsv3_distill.SpikingVocosBackbone": ("spiking_vocos", False),
    "vocos.spiking_modelsv3_TSM.SpikingVocosBackbone": ("spiking_vocos", True),
    "vocos.spiking_modelsv3_TSM_distill.SpikingVocosBackbone": ("spiking_vocos", True),
}
GENERATORS = dict(vocos=VocosGenerator, spiking_vocos=SpikingVocosGenerator)

# The reference's module names inside a block that differ from this plugin's.
REFERENCE_NAMES = {"neuron1": "lif1", "neuron2": "lif2", "alpha": "tsm.alpha"}


def component(config: Dict[str, Any], name: str, accepted: Iterable[str], path: Path) -> Tuple[str, Dict[str, Any]]:
    """The class path and ``init_args`` of ``config[name]``, after checking the class.

    Args:
        config: The model's settings (``feature_extractor``, ``backbone``, ``head`` entries).
        name: The entry.
        accepted: The class paths that can be converted.
        path: The config file, for messages.
    """
    entry = config.get(name)
    if not isinstance(entry, dict) or "class_path" not in entry:
        raise ValueError(
            f"{path} has no `{name}: {{class_path: ..., init_args: ...}}` entry (it has "
            f"{', '.join(map(str, config)) or 'nothing'}); pass the config that names the model's classes "
            "(a Vocos release's config.yaml, or the Lightning CLI's config.yaml of the training run)."
        )
    accepted = list(accepted)
    if entry["class_path"] not in accepted:
        raise ValueError(
            f"{path}: {name} is {entry['class_path']}, which has no counterpart in this plugin; "
            f"expected {' or '.join(accepted)}."
        )
    return entry["class_path"], dict(entry.get("init_args") or {})


def with_defaults(
    init_args: Dict[str, Any], defaults: Dict[str, Any], required: Iterable[str], where: str
) -> Dict[str, Any]:
    """``init_args`` completed with the class's ``defaults``; a missing required or unknown setting is refused."""
    known = set(defaults) | set(required)
    unknown = sorted(set(init_args) - known)
    missing = sorted(set(required) - set(init_args))
    if unknown or missing:
        raise ValueError(
            f"{where}: "
            + "; ".join(
                [f"unknown settings {', '.join(unknown)}"] * bool(unknown)
                + [f"missing settings {', '.join(missing)}"] * bool(missing)
            )
            + f" (expected {', '.join(sorted(known))})."
        )
    return {**defaults, **init_args}


def convert_config(config: Dict[str, Any], path: Path, backbones: Dict[str, Tuple[str, bool]]) -> Dict[str, Any]:
    """Map a Vocos-family config to a config of ``gan_vocoder_train`` (generator and features).

    Args:
        config: The YAML's contents: ``feature_extractor``, ``backbone`` and ``head``,
            directly or under ``model.init_args`` (a training config).
        path: The config file, for messages.
        backbones: The backbone class paths that may be converted (see :data:`REFERENCE_BACKBONES`).

    Returns:
        ``generator``, ``generator_conf``, ``feats_extract`` and ``feats_extract_conf``.
    """
    if not isinstance(config, dict):
        raise ValueError(f"{path} holds {type(config).__name__}, not a YAML mapping of settings.")
    model = config.get("model")
    config = model.get("init_args", model) if isinstance(model, dict) else config
    _, features = component(config, "feature_extractor", [MEL_FEATURES], path)
    backbone_class, backbone = component(config, "backbone", backbones, path)
    _, head = component(config, "head", [ISTFT_HEAD], path)
    generator, use_tsm = backbones[backbone_class]

    features = with_defaults(features, FEATURE_DEFAULTS, (), f"{path}: feature_extractor")
    head = with_defaults(head, HEAD_DEFAULTS, ("dim", "n_fft", "hop_length"), f"{path}: head")
    required = ["input_channels", "dim", "intermediate_dim", "num_layers"]
    defaults = dict(BACKBONE_DEFAULTS, **(TSM_DEFAULTS if use_tsm else {}))
    if generator == "spiking_vocos":
        required.append("snn_timestep")
    backbone = with_defaults(backbone, defaults, required, f"{path}: backbone {backbone_class}")

    if features["padding"] != "center":
        raise ValueError(
            f"{path}: feature_extractor padding is {features['padding']!r}; only 'center' (centred frames, "
            "the padding of every Vocos and Spiking Vocos config) has a feature extractor here (vocos_mel)."
        )
    if backbone["adanorm_num_embeddings"] is not None:
        raise ValueError(f"{path}: a backbone with adaptive LayerNorm (adanorm_num_embeddings) cannot be converted.")
    if head["dim"] != backbone["dim"]:
        raise ValueError(f"{path}: head dim {head['dim']} differs from backbone dim {backbone['dim']}.")

    feats_extract_conf = dict(
        fs=features["sample_rate"],
        n_fft=features["n_fft"],
        hop_length=features["hop_length"],
        n_mels=features["n_mels"],
    )
    generator_conf = dict(
        in_channels=backbone["input_channels"],
        dim=backbone["dim"],
        intermediate_dim=backbone["intermediate_dim"],
        num_layers=backbone["num_layers"],
        kernel_size=7,  # fixed in every Vocos block
        n_fft=head["n_fft"],
        hop_length=head["hop_length"],
        padding=head["padding"],
    )
    if backbone["layer_scale_init_value"] is not None:
        generator_conf["layer_scale_init_value"] = backbone["layer_scale_init_value"]
    if generator == "spiking_vocos":
        # the reference's neurons (spikingjelly ParametricLIFNode with its defaults), read-out
        # and initialisation; written out so that the file keeps its meaning if defaults change
        generator_conf.update(
            time_steps=backbone["snn_timestep"],
            v_threshold=1.0,
            init_tau=2.0,
            surrogate_alpha=4.0,
            readout_decay=0.9,
            init_firing_rate=None,
            use_tsm=use_tsm,
        )
        if use_tsm:
            generator_conf.update(
                tsm_alpha_init=backbone["tsm_penalty_factor"],
                tsm_channel_folding_factor=backbone["channel_folding_factor"],
                tsm_direction="reference",
            )
    VocosLogMel(**feats_extract_conf).vocoder_conf(generator_conf, conf_name=f"the backbone/head of {path}")
    return dict(
        generator=generator,
        generator_conf=generator_conf,
        feats_extract="vocos_mel",
        feats_extract_conf=feats_extract_conf,
    )


def generator_weights(state_dict: Dict[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], Counter]:
    """The generator's weights of a reference (or public Vocos) state dict, in this plugin's names.

    ``backbone.*`` and ``head.*`` are kept (the neurons ``neuron1``/``neuron2`` become
    ``lif1``/``lif2``, a block's TSM scale ``alpha`` becomes ``tsm.alpha``); the ISTFT
    window (a fixed Hann window) and everything else (feature extractor buffers,
    discriminators, teacher, feature adapters, loss buffers) are left out.

    Returns:
        The weights, and the number of tensors left out per top-level name.
    """
    weights, dropped = {}, Counter()
    for key, value in state_dict.items():
        if not key.startswith(("backbone.", "head.")) or key == "head.istft.window":
            dropped["head.istft" if key == "head.istft.window" else key.split(".")[0]] += 1
            continue
        parts = key.split(".")
        if parts[:2] == ["backbone", "convnext"] and len(parts) > 3:
            parts[3] = REFERENCE_NAMES.get(parts[3], parts[3])
        weights[".".join(parts)] = value
    return weights, dropped


def convert(
    state_dict: Dict[str, torch.Tensor],
    checkpoint: Path,
    config_file: Path,
    backbones: Dict[str, Tuple[str, bool]],
    out_dir: Path,
) -> Tuple[Path, Path]:
    """Build the generator that ``config_file`` describes, load ``state_dict`` into it, write both.

    Returns:
        The written ``model.pth`` and ``config.yaml``.
    """
    config = convert_config(read_yaml(config_file), config_file, backbones)
    logging.info(
        f"{config_file}: features {config['feats_extract_conf']}, {config['generator']} {config['generator_conf']}"
    )
    generator = GENERATORS[config["generator"]](**config["generator_conf"])
    weights, dropped = generator_weights(state_dict)
    if dropped:
        logging.info("Left out: " + ", ".join(f"{name}.* ({n} tensors)" for name, n in sorted(dropped.items())))
    fit_weights(
        generator, weights, checkpoint, config_file, "The checkpoint and the config must come from the same training run."
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    model_file, out_config = out_dir / "model.pth", out_dir / "config.yaml"
    with atomic_path(model_file) as tmp:
        torch.save({f"generator.{k}": v for k, v in generator.state_dict().items()}, tmp)
    header = f"# converted by espnet2_spiking from {checkpoint} and {config_file}\n"
    write_text(out_config, header + yaml.safe_dump(config, sort_keys=False))
    params = sum(p.numel() for p in generator.parameters())
    logging.info(f"Wrote {model_file} ({type(generator).__name__}, {params:,} parameters) and {out_config}")
    return model_file, out_config


def check_out_dir(out_dir: Path, overwrite: bool):
    """Refuse to replace the files of an earlier conversion unless ``overwrite``."""
    existing = [str(p) for p in (out_dir / "config.yaml", out_dir / "model.pth") if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{' and '.join(existing)} already exist; choose another output directory or pass --overwrite true."
        )


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a readable YAML config ({e}).") from None


def convert_vocos(vocos_config: Path, vocos_checkpoint: Path, output_dir: Path, overwrite: bool = False):
    """Convert a public Vocos release (``config.yaml``, ``pytorch_model.bin``) into a ``vocos`` generator.

    Only mel-spectrogram Vocos models with the ISTFT head (e.g. "vocos-mel-24khz") have this
    plugin's architecture.

    Returns:
        The written ``model.pth`` and ``config.yaml``.
    """
    for path in (vocos_config, vocos_checkpoint):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist; pass the config.yaml and pytorch_model.bin of a Vocos release."
            )
    check_out_dir(output_dir, overwrite)
    state_dict = safe_load(vocos_checkpoint)
    if not isinstance(state_dict, dict):
        raise ValueError(f"{vocos_checkpoint} holds a {type(state_dict).__name__}, not a vocos.Vocos state dict.")
    return convert(state_dict, vocos_checkpoint, vocos_config, {VOCOS_BACKBONE: ("vocos", False)}, output_dir)


def find_reference_config(checkpoint: Path) -> Path:
    """The reference's lookup: ``config.yaml``, then ``hparams.yaml``, one folder above the checkpoint's."""
    run_dir = checkpoint.absolute().parent.parent
    for name in ("config.yaml", "hparams.yaml"):
        if (run_dir / name).is_file():
            return run_dir / name
    raise FileNotFoundError(
        f"No config for {checkpoint}: looked for {run_dir / 'config.yaml'} (the Lightning CLI's) and "
        f"{run_dir / 'hparams.yaml'}, as the reference's inference.py does. Pass --config with the "
        "config.yaml of that training run (logs/<name>/version_<n>/config.yaml) or the configs/*.yaml it was "
        "trained with."
    )


def reference_state_dict(checkpoint: Path) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of a Lightning checkpoint (or a bare state dict), read without running code."""
    if not checkpoint.is_file():
        raise FileNotFoundError(
            f"{checkpoint} does not exist; pass a checkpoint of the reference Spiking Vocos, e.g. "
            "logs/<name>/version_0/checkpoints/last.ckpt."
        )
    try:
        content = safe_load(checkpoint)
    except ValueError as e:
        raise ValueError(
            f"{e} A Lightning checkpoint holds its weights under state_dict: where the reference is "
            "installed, save them alone with python -c \"import torch; ckpt = torch.load('last.ckpt', "
            "weights_only=False); torch.save({'state_dict': ckpt['state_dict']}, 'weights.ckpt')\" and convert "
            "weights.ckpt (with --config, as it lies elsewhere)."
        ) from None
    state_dict = content.get("state_dict", content) if isinstance(content, dict) else None
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        found = ", ".join(map(str, content)) if isinstance(content, dict) else type(content).__name__
        raise ValueError(
            f"{checkpoint} holds no state dict (found {found}); expected a Lightning checkpoint of the reference "
            "Spiking Vocos, with state_dict: backbone.*, head.*, ..."
        )
    return state_dict


def convert_reference(checkpoint: Path, out_dir: Path, config: Optional[Path] = None, overwrite: bool = False):
    """Convert a checkpoint of the reference Spiking Vocos (any of its five generators).

    Args:
        checkpoint: Its Lightning ``.ckpt``.
        out_dir: Where ``config.yaml`` and ``model.pth`` go.
        config: Its Lightning-CLI ``config.yaml`` (default: :func:`find_reference_config`).
        overwrite: Replace the files of an earlier conversion.

    Returns:
        The written ``model.pth`` and ``config.yaml``.

    The model decodes the reference's waveform for the same audio: the same features,
    backbone, neurons, temporal shift and ISTFT padding ("center" in every reference config).
    """
    state_dict = reference_state_dict(checkpoint)
    if config is None:
        config = find_reference_config(checkpoint)
    elif not config.is_file():
        raise FileNotFoundError(f"--config {config} does not exist.")
    check_out_dir(out_dir, overwrite)
    return convert(state_dict, checkpoint, config, REFERENCE_BACKBONES, out_dir)
