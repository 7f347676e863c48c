"""Helpers shared by test modules (test modules import from here or conftest.py, never from each other)."""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

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


def recipe_module(path: str):
    """Import a Python script of the recipe (``egs2/libritts/voc1/<path>``) as a module."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, RECIPE / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
