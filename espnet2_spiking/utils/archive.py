"""The shareable archive of a trained vocoder (``bin/pack_vocoder``), and reading it back safely.

An archive is a ``.tar.gz`` with flat members only:

- ``config.yaml``: the ``gan_vocoder_train`` config;
- ``model.pth``: the generator's weights (``generator.*``), a plain state dict;
- ``feats.yaml``: its features (``feats_extract`` and the complete ``feats_extract_conf``);
- ``README.md``: a short model card, with the measured scores when they were given.

Unpacking accepts those names only, as regular files: no directories, links, absolute
paths or ``..``, so an archive cannot write outside the folder it is unpacked into. The
weights are read later with ``weights_only=True`` (:mod:`espnet2_spiking.utils.checkpoint`).
"""

import hashlib
import io
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, Union

from espnet2_spiking.utils.cache import CACHE_ROOT

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
MEMBERS = ("config.yaml", "model.pth", "feats.yaml", "README.md")
REQUIRED = ("config.yaml", "model.pth")
MODEL_NAMES = ("model.pth", "valid.mel_loss.best.pth")
DEFAULT_UNPACK_ROOT = CACHE_ROOT / "vocoders"


def is_archive(path: Union[str, Path]) -> bool:
    """Whether ``path`` names a packed vocoder (by its suffix)."""
    return str(path).endswith(ARCHIVE_SUFFIXES)


def write_archive(members: Dict[str, bytes], path: Union[str, Path]) -> Path:
    """Write ``members`` (name -> content, names from :data:`MEMBERS`) into a ``.tar.gz`` in one step."""
    path = Path(path)
    if not is_archive(path):
        raise ValueError(f"{path}: name the archive *.tar.gz (or .tgz).")
    unknown = sorted(set(members) - set(MEMBERS))
    if unknown:
        raise ValueError(f"Archive members must be among {MEMBERS}, got {unknown}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    os.replace(tmp, path)
    return path


def unpack_archive(archive: Union[str, Path], unpack_dir: Union[str, Path, None] = None) -> Path:
    """Unpack a vocoder archive; return the folder holding its members.

    Args:
        archive: The ``.tar.gz`` of ``bin/pack_vocoder``.
        unpack_dir: Where to unpack (default: the user's cache, in a folder named by the
            archive's content, reused when it is already there).

    Raises:
        ValueError: The archive is unreadable, lacks ``config.yaml`` or ``model.pth``, or
            holds anything but the known flat members; nothing is written then.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"Vocoder archive {archive} does not exist.")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    target = Path(unpack_dir) if unpack_dir is not None else DEFAULT_UNPACK_ROOT / digest
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            bad = [m.name for m in members if m.name not in MEMBERS or not m.isfile()]
            if bad:
                raise ValueError(
                    f"Refusing to unpack {archive}: it holds {', '.join(map(repr, bad[:5]))}, but a vocoder "
                    f"archive holds only the regular files {', '.join(MEMBERS)}. Ask its author to pack it "
                    "with python -m espnet2_spiking.bin.pack_vocoder."
                )
            missing = [name for name in REQUIRED if name not in {m.name for m in members}]
            if missing:
                raise ValueError(f"{archive} lacks {', '.join(missing)}; it is not a packed vocoder.")
            contents = {m.name: tar.extractfile(m).read() for m in members}
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ValueError(f"{archive} is not a readable vocoder archive ({e}); copy it again.") from None
    if all((target / name).is_file() and (target / name).read_bytes() == c for name, c in contents.items()):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        with tempfile.NamedTemporaryFile(dir=target, delete=False) as f:
            f.write(content)
        os.replace(f.name, target / name)
    return target


def find_model(directory: Union[str, Path]) -> Path:
    """The model file of a vocoder directory: ``model.pth`` or ``valid.mel_loss.best.pth``."""
    directory = Path(directory)
    for name in MODEL_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(
        f"{directory} holds none of {', '.join(MODEL_NAMES)}; pass the model file itself "
        "(e.g. exp/<dir>/valid.mel_loss.best.pth) or a directory holding one beside its config.yaml."
    )
