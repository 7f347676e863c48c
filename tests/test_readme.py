"""README.md's Python snippets run as written, in order, in one session, as a newcomer would run them.

The snippets that use a trained vocoder find one where the recipe's quick start leaves it; here a
tiny vocoder stands in at that path, with the layout ``gan_vocoder_train`` writes.
"""

import os
import re
from pathlib import Path

import torch
import yaml

from tests.helpers import ROOT, TINY_TRAIN, VARIANTS
from espnet2_spiking.gan_vocoder.generators import GENERATORS

QUICK_START_STUDENT = Path("egs2/libritts/voc1/exp/voc_train_spiking_vocos_tsm_distill_mini")


def python_snippets(readme: Path):
    """The ```python blocks of ``readme``, in order."""
    return re.findall(r"^```python\n(.*?)^```", readme.read_text(encoding="utf-8"), flags=re.S | re.M)


def write_trained_student(directory: Path):
    """A tiny spiking vocoder in the layout of ``gan_vocoder_train``: config.yaml and model.pth."""
    config = dict(TINY_TRAIN, **VARIANTS["standard"])
    directory.mkdir(parents=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    generator = GENERATORS["spiking_vocos"](
        in_channels=config["feats_extract_conf"]["n_mels"],
        n_fft=config["feats_extract_conf"]["n_fft"],
        hop_length=config["feats_extract_conf"]["hop_length"],
        **config["generator_conf"],
    )
    torch.save({f"generator.{k}": v for k, v in generator.state_dict().items()}, directory / "model.pth")


def test_readme_python_snippets_run_in_order(tmp_path, monkeypatch):
    snippets = python_snippets(ROOT / "README.md")
    assert len(snippets) >= 2, "README.md lost its Python snippets"
    write_trained_student(tmp_path / QUICK_START_STUDENT)
    monkeypatch.chdir(tmp_path)
    session = {}
    for number, code in enumerate(snippets, 1):
        exec(compile(code, f"README.md python snippet {number}", "exec"), session)
    # what the snippets say they return
    assert session["wav"].dim() == 1 and session["wav"].numel() % session["vocoder"].generator.upsample_factor == 0
    assert os.getcwd() == str(tmp_path)
