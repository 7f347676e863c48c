"""Reading the files that ESPnet's trainer leaves: ``config.yaml`` and ``*.pth`` checkpoints."""

import argparse
from pathlib import Path
from typing import Dict, Tuple

import torch
import yaml


def load_train_config(model_file, train_config=None) -> Tuple[Path, argparse.Namespace]:
    """Find and read the ``config.yaml`` of a checkpoint (default: beside the model file)."""
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
    with config.open(encoding="utf-8") as f:
        return config, argparse.Namespace(**yaml.safe_load(f))


def load_generator_state(model_file) -> Dict[str, torch.Tensor]:
    """The ``generator.*`` weights of a checkpoint of this task, prefix removed.

    Accepts epoch/best files (a model state_dict) and ``checkpoint.pth`` (resume file).
    """
    state = torch.load(model_file, map_location="cpu", weights_only=False)
    if "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    weights = {k[len("generator.") :]: v for k, v in state.items() if k.startswith("generator.")}
    if not weights:
        raise ValueError(f"{model_file} holds no generator.* weights: is it a checkpoint of this task?")
    return weights
