"""Helpers shared by test modules (test modules import from here or conftest.py, never from each other)."""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import TINY_DISCRIMINATOR, TINY_MEL

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "egs2" / "libritts" / "voc1"
TEMPLATE = ROOT / "egs2" / "TEMPLATE" / "voc1"
SYNTHESIZERS = ("text2wave", "flite", "espeak-ng", "sox")
needs_synthesizers = pytest.mark.skipif(
    any(shutil.which(t) is None for t in SYNTHESIZERS),
    reason="apt-get install festival festvox-us-slt-hts festvox-kallpc16k flite espeak-ng sox",
)


def recipe_env():
    """The recipe's environment with this interpreter's tools first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def copy_recipe(dest: Path) -> Path:
    """A recipe directory whose outputs (data/, dump/, exp/, downloads/) go to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in RECIPE.iterdir():
        if entry.name not in ("data", "dump", "exp", "downloads"):
            (dest / entry.name).symlink_to(entry.resolve())
    return dest


def read_table(path: Path):
    return dict(line.split(maxsplit=1) for line in path.read_text().splitlines())


def check_png(path):
    """``path`` is a readable PNG picture of some size, not blank."""
    import matplotlib.image

    image = matplotlib.image.imread(str(path))
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, path
    assert image[..., :3].std() > 0.01, f"{path} is blank"


def recipe_module(path: str):
    """Import a Python script of the recipe (``egs2/libritts/voc1/<path>``) as a module."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, RECIPE / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- gan_vocoder_train on tiny configs

FS = TINY_MEL["fs"]

TINY_TRAIN = dict(
    feats_extract="vocos_mel",
    feats_extract_conf=TINY_MEL,
    generator_conf=dict(dim=32, intermediate_dim=48, num_layers=2),
    model_conf=dict(
        segment_size=1024,
        discriminator_params=TINY_DISCRIMINATOR,
    ),
    batch_type="unsorted",
    batch_size=2,
    valid_batch_size=1,
    num_iters_per_epoch=1,
    max_epoch=1,
    num_workers=0,
    optim="adamw",
    optim_conf=dict(lr=5.0e-4, betas=[0.8, 0.9]),
    optim2="adamw",
    optim2_conf=dict(lr=5.0e-4, betas=[0.8, 0.9]),
    best_model_criterion=[["valid", "mel_loss", "min"], ["train", "total_count", "max"]],
    seed=0,
    use_matplotlib=False,  # loss curves cost seconds per run on this CPU
    use_tensorboard=False,
)
VARIANTS = {
    "vocos": dict(generator="vocos"),
    "standard": dict(
        generator="spiking_vocos", generator_conf=dict(TINY_TRAIN["generator_conf"], time_steps=2)
    ),
    "tsm": dict(
        generator="spiking_vocos",
        generator_conf=dict(TINY_TRAIN["generator_conf"], time_steps=2, use_tsm=True),
    ),
    "distill": dict(generator="spiking_vocos", distill=True),
    "tsm_distill": dict(
        generator="spiking_vocos",
        distill=True,
        generator_conf=dict(TINY_TRAIN["generator_conf"], use_tsm=True),
    ),
}


def write_config(path, variant):
    conf = dict(TINY_TRAIN)
    conf.update(VARIANTS[variant])
    path.write_text(yaml.safe_dump(conf))
    return path


def train_cmd(data, config, output_dir, *extra):
    _, train, dev = data
    return [
        "--config", str(config),
        "--train_data_path_and_name_and_type", f"{train},speech,sound",
        "--valid_data_path_and_name_and_type", f"{dev},speech,sound",
        "--train_shape_file", str(train),  # unsorted batches read only the keys
        "--valid_shape_file", str(dev),
        "--output_dir", str(output_dir),
        "--ngpu", "0",
        *extra,
    ]  # fmt: skip


def shift_channel_by_channel(u, first, second, direction="reference"):
    """The reference Spiking Vocos's temporal shift written out one channel and one SNN time step
    at a time: channels [0, first) read step t + 1, [first, second) step t - 1, the rest step t,
    zero beyond the ends ("mirrored": the two groups the other way). u: (T, B, C, L)."""
    import torch

    steps, _, channels, _ = u.shape
    out = torch.zeros_like(u)
    for c in range(channels):
        source = 1 if c < first else -1 if c < second else 0
        if direction == "mirrored":
            source = -source
        for t in range(steps):
            if 0 <= t + source < steps:
                out[t, :, c] = u[t + source, :, c]
    return out
