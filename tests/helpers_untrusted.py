"""Files a careless or hostile source could hand over: model files that run code, vocoders
written here without training (config.yaml + model file), and snapshots of what is on disk."""

import contextlib
import fcntl
import hashlib
import pathlib
from pathlib import Path
from typing import Dict

import torch
import yaml

from espnet2_spiking.registry import VOCODERS
from tests.conftest import TINY_MEL, make_spiking_vocos_args, make_vocos_args


class Payload:
    """Unpickling this object creates ``marker``: a stand-in for any command a model file could run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def vocoder_config(generator: str = "vocos", **generator_conf) -> dict:
    """A ``gan_vocoder_train`` config.yaml of a tiny vocoder (only what decoding reads)."""
    make_args = make_vocos_args if generator == "vocos" else make_spiking_vocos_args
    conf = {
        k: v
        for k, v in make_args(**generator_conf).items()
        if k not in ("in_channels", "n_fft", "hop_length")
    }
    return dict(
        generator=generator, generator_conf=conf, feats_extract="vocos_mel", feats_extract_conf=TINY_MEL
    )


def save_vocoder(directory: Path, generator: str = "vocos", **generator_conf) -> Path:
    """Write ``config.yaml`` and ``model.pth`` (``generator.*`` weights, untrained) into ``directory``.

    Returns:
        The model file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config = vocoder_config(generator, **generator_conf)
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    model = VOCODERS[generator](**make_vocos_args(**config["generator_conf"]))
    torch.save({f"generator.{k}": v for k, v in model.state_dict().items()}, directory / "model.pth")
    return directory / "model.pth"


def save_malicious(path: Path, marker: Path) -> Path:
    """A model file with real-looking weights whose loading (without weights_only) creates ``marker``."""
    torch.save({"generator.head.out.weight": torch.zeros(2, 2), "payload": Payload(marker)}, path)
    return path


def snapshot(directory: Path) -> Dict[str, str]:
    """Relative path -> content hash of every file under ``directory``: to show nothing changed."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@contextlib.contextmanager
def run_holding(folder: Path):
    """Stand in for another run writing ``folder``: hold its lock (``<folder>/.lock``) meanwhile."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("otherhost 12345\n")
        lock.flush()
        yield
