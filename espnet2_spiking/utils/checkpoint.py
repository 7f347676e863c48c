"""Reading the files that ESPnet's trainer leaves: ``config.yaml`` and ``*.pth`` model files.

Model files are shared between people, so they are read with ``torch.load(...,
weights_only=True)``: tensors and plain containers only, never an object whose unpickling
runs code. A file that needs more is refused, naming it.
"""

import argparse
import datetime
import pickle
import re
import zipfile
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch
import yaml

# What ESPnet's resume file (checkpoint.pth) holds besides tensors: its reporter's statistics
# are numpy scalars and time spans. Plain values; rebuilding them runs no code of the file's.
try:
    from numpy._core.multiarray import scalar as _numpy_scalar  # numpy >= 2
except ImportError:
    from numpy.core.multiarray import scalar as _numpy_scalar
PLAIN_VALUES = [_numpy_scalar, np.dtype, *{type(np.dtype(t)) for t in "?bhilqefdBHILQ"}, datetime.timedelta]


def load_train_config(model_file, train_config=None) -> Tuple[Path, argparse.Namespace]:
    """Find and read the ``config.yaml`` of a model file (default: beside it).

    Returns:
        The config's path and its settings.
    """
    model_file = Path(model_file)
    if not model_file.is_file():
        raise FileNotFoundError(
            f"Model file {model_file} does not exist. Train the model first (recipe stages 3-4) "
            "or pass the path of an existing checkpoint, e.g. exp/<dir>/valid.mel_loss.best.pth."
        )
    config = Path(train_config) if train_config else model_file.parent / "config.yaml"
    if not config.is_file():
        raise FileNotFoundError(
            f"Training config {config} does not exist; pass --train_config with the config.yaml "
            f"that trained {model_file}."
        )
    try:
        with config.open(encoding="utf-8") as f:
            settings = yaml.safe_load(f)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ValueError(f"{config} is not a readable YAML training config ({e}).") from None
    if not isinstance(settings, dict):
        raise ValueError(
            f"{config} holds {type(settings).__name__}, not a training config (a YAML mapping of "
            f"options); pass --train_config with the config.yaml that trained {model_file}."
        )
    return config, argparse.Namespace(**settings)


def safe_load(model_file):
    """``torch.load`` that never runs code stored in the file (``weights_only=True``).

    Raises:
        ValueError: The file needs code to load (refused), or is truncated or not a
            PyTorch file; the message names the file.
    """
    try:
        with torch.serialization.safe_globals(PLAIN_VALUES):
            return torch.load(model_file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        what = f"e.g. {found.group(1)}" if found else str(e).strip().splitlines()[-1]
        raise ValueError(
            f"Refusing to load {model_file}: it holds Python objects besides weights ({what}), which "
            "loading could make run code. Model files of this project hold weights only; ask its "
            "author for the state dict, e.g. torch.save(model.state_dict(), path)."
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise ValueError(
            f"{model_file} is not a readable PyTorch model file ({e}); it may be truncated, e.g. by an "
            "interrupted copy or training. Copy it again or choose another checkpoint."
        ) from None


def load_state(model_file) -> Dict[str, torch.Tensor]:
    """The weights of a model file, read without running any code stored in it.

    Accepts the epoch and best files of ESPnet's trainer (a state dict) and its resume file
    ``checkpoint.pth`` (its ``model`` entry).

    Returns:
        Parameter name -> tensor.

    Raises:
        ValueError: As :func:`safe_load`, or the file holds no state dict.
    """
    state = safe_load(model_file)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(
            f"{model_file} holds a {type(state).__name__} that is not a state dict (parameter name -> "
            "tensor); expected the model file of an ESPnet training, e.g. exp/<dir>/valid.mel_loss.best.pth."
        )
    return state


def load_generator_state(model_file) -> Dict[str, torch.Tensor]:
    """The ``generator.*`` weights of a model file of ``gan_vocoder_train``, prefix removed."""
    state = load_state(model_file)
    weights = {k[len("generator.") :]: v for k, v in state.items() if k.startswith("generator.")}
    if not weights:
        prefixes = sorted({k.split(".")[0] for k in state})
        raise ValueError(
            f"{model_file} holds no generator.* weights (its weights are {', '.join(prefixes[:5]) or 'none'}"
            f"{', ...' if len(prefixes) > 5 else ''}): it is not a vocoder of gan_vocoder_train. Pass a model "
            "file of gan_vocoder_train, e.g. exp/voc_<tag>/valid.mel_loss.best.pth."
        )
    return weights


def fit_weights(generator: torch.nn.Module, weights: Dict[str, torch.Tensor], source, config_file, fix: str):
    """Load ``weights`` (read from ``source``) into ``generator``, built from ``config_file``.

    Raises:
        ValueError: The weights do not fit (missing, unexpected or differently sized
            parameters), naming both files, the first differences and ``fix``.
    """
    try:
        generator.load_state_dict(weights)
    except RuntimeError as e:
        details = "; ".join(line.strip() for line in str(e).splitlines()[1:5])
        raise ValueError(
            f"The weights in {source} do not fit the {type(generator).__name__} that {config_file} describes "
            f"({details}). {fix}"
        ) from None
    return generator


def load_generator(generator: torch.nn.Module, model_file, config_file) -> torch.nn.Module:
    """Load the ``generator.*`` weights of ``model_file`` into ``generator``, built from ``config_file``.

    Raises:
        ValueError: The weights do not fit, as :func:`fit_weights`.
    """
    return fit_weights(
        generator,
        load_generator_state(model_file),
        model_file,
        config_file,
        f"Pass the config.yaml that trained {model_file} (--train_config), not an edited one.",
    )
