"""The shareable archive of a trained vocoder (``bin/pack_vocoder``), and reading it back safely.

An archive is a ``.tar.gz`` with flat members only:

- ``config.yaml``: the ``gan_vocoder_train`` config;
- ``model.pth``: the generator's weights (``generator.*``), a plain state dict;
- ``feats.yaml``: the complete ``vocos_mel`` feature settings;
- ``README.md``: a short model card, with the measured scores when they were given.

Unpacking accepts those names only, each once, as regular files: no directories, links,
absolute paths or ``..``, so an archive cannot write outside the folder it is unpacked
into; and no member larger than :data:`MAX_BYTES` (1 GiB of weights, 1 MiB for each text
file: a full-size Spiking Vocos is about 60 MB), checked from its header before it is
read, so a small archive that inflates to gigabytes is refused. The weights are read
later with ``weights_only=True`` (:mod:`espnet2_spiking.utils.checkpoint`).
"""

import gzip
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import Dict, Union

from espnet2_spiking.utils.cache import CACHE_ROOT
from espnet2_spiking.utils.files import atomic_path

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
MEMBERS = ("config.yaml", "model.pth", "feats.yaml", "README.md")
REQUIRED = ("config.yaml", "model.pth")
MODEL_NAMES = ("model.pth", "valid.mel_loss.best.pth")
MAX_BYTES = {"config.yaml": 1 << 20, "model.pth": 1 << 30, "feats.yaml": 1 << 20, "README.md": 1 << 20}
MAX_TOTAL_BYTES = sum(MAX_BYTES.values())
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
    with atomic_path(path) as tmp, tarfile.open(tmp, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    return path


def _read_members(archive: Path, folder: Path) -> Dict[str, str]:
    """Check the members of ``archive`` (names, kinds, sizes) and write them into ``folder``.

    Each member's size is read from its header and checked before its content is read.

    Returns:
        Member name -> SHA-256 of its content.
    """
    digests, total = {}, 0
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            if member.name not in MEMBERS or not member.isfile():
                raise ValueError(
                    f"Refusing to unpack {archive}: it holds {member.name!r}, but a vocoder archive holds only "
                    f"the regular files {', '.join(MEMBERS)}. Ask its author to pack it with "
                    "python -m espnet2_spiking.bin.pack_vocoder."
                )
            if member.name in digests:
                raise ValueError(
                    f"Refusing to unpack {archive}: it holds {member.name} twice, so which one is meant is "
                    "unclear. Ask its author to pack it again with python -m espnet2_spiking.bin.pack_vocoder."
                )
            total += member.size
            if member.size > MAX_BYTES[member.name] or total > MAX_TOTAL_BYTES:
                raise ValueError(
                    f"Refusing to unpack {archive}: its {member.name} would unpack to {member.size:,} bytes "
                    f"({total:,} in all), more than a vocoder archive holds ({MAX_BYTES[member.name]:,} bytes "
                    f"for {member.name}, {MAX_TOTAL_BYTES:,} in all). It is not a vocoder archive of pack_vocoder."
                )
            digest = hashlib.sha256()
            with tar.extractfile(member) as source, open(folder / member.name, "wb") as target:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
                    target.write(block)
            digests[member.name] = digest.hexdigest()
    missing = [name for name in REQUIRED if name not in digests]
    if missing:
        raise ValueError(f"{archive} lacks {', '.join(missing)}; it is not a packed vocoder.")
    return digests


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _holds(folder: Path, digests: Dict[str, str]) -> bool:
    """Whether ``folder`` holds exactly the files of ``digests`` (name -> SHA-256), nothing else."""
    files = {p.name: p for p in folder.iterdir()}
    return set(files) == set(digests) and all(
        files[name].is_file() and _file_digest(files[name]) == digest for name, digest in digests.items()
    )


def unpack_archive(archive: Union[str, Path], unpack_dir: Union[str, Path, None] = None) -> Path:
    """Unpack a vocoder archive; return the folder holding its members.

    The members are checked (names, kinds, duplicates, sizes against :data:`MAX_BYTES`)
    while they are written into a fresh folder beside ``unpack_dir``, which is renamed
    into place when all are written: an interrupted or refused unpacking leaves nothing.

    Args:
        archive: The ``.tar.gz`` of ``bin/pack_vocoder``.
        unpack_dir: Where to unpack (default: the user's cache, in a folder named by the
            archive's content). A folder that already holds exactly these members is
            reused; one that holds anything else is refused, never overwritten.

    Raises:
        FileNotFoundError: ``archive`` does not exist.
        ValueError: The archive is unreadable, too large, lacks ``config.yaml`` or
            ``model.pth``, or holds anything but the known flat members, each once; or
            ``unpack_dir`` holds other files.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"Vocoder archive {archive} does not exist.")
    if archive.stat().st_size > MAX_TOTAL_BYTES:
        raise ValueError(
            f"Refusing to unpack {archive}: {archive.stat().st_size:,} bytes, more than a vocoder archive "
            f"holds ({MAX_TOTAL_BYTES:,}). It is not a vocoder archive of pack_vocoder."
        )
    target = Path(unpack_dir) if unpack_dir is not None else DEFAULT_UNPACK_ROOT / _file_digest(archive)[:16]
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        try:
            digests = _read_members(archive, fresh)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise ValueError(f"{archive} is not a readable vocoder archive ({e}); copy it again.") from None
        try:
            os.rename(fresh, target)  # replaces an empty folder only
            return target
        except OSError:
            pass
        if not (target.is_dir() and _holds(target, digests)):
            raise ValueError(
                f"Refusing to unpack {archive} into {target}: it already holds other files "
                f"({', '.join(sorted(p.name for p in target.iterdir())) if target.is_dir() else 'a file'}). "
                "Pass an unpack_dir that is new or empty (or remove this one if it is an old unpacking)."
            )
        return target
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


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
