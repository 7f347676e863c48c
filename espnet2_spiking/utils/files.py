"""Writing files so that an interrupted, failed or concurrent run never leaves a wrong one.

Every file the plugin writes goes through :func:`atomic_path`: it is written under a
temporary name in the same folder and renamed into place only when complete, so a
reader sees the old file or the new one, never half of one; a failure (a full disk, a
kill) leaves the old file and no temporary behind. :class:`FolderLock` keeps two runs
from writing one output folder at the same time.
"""

import contextlib
import errno
import os
import socket
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, Path]


def write_error(path: PathLike, error: OSError) -> OSError:
    """``error`` of writing ``path``, with a message that names the file and the fix."""
    fix = {
        errno.ENOSPC: "free disk space or write to another folder",
        errno.EDQUOT: "free disk space (quota) or write to another folder",
        errno.EROFS: "write to a folder on a writable file system",
        errno.EACCES: "write to a folder you may write to",
        errno.EPERM: "write to a folder you may write to",
    }.get(error.errno, "check the folder")
    return OSError(error.errno, f"cannot write {path}: {error.strerror or error}; nothing was written there. Fix: {fix}")


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to; renamed to ``path`` when the block ends.

    The temporary name is ``.<name>.<pid>.tmp<suffix>`` beside ``path`` (the same file system,
    so the rename is atomic); it ends in ``path``'s suffix, for writers that choose the format
    by it (numpy's ``.npz``). On an exception the temporary is removed and ``path`` is
    left as it was.

    Raises:
        OSError: The file cannot be written (e.g. the disk is full), naming it and the fix.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise write_error(path, e) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` in one step (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: PathLike, content: bytes) -> Path:
    """Write ``content`` to ``path`` in one step (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)
    return Path(path)


class FolderLock:
    """``<folder>/.lock`` while a run writes ``folder``: a second run into it is refused.

    The lock file names the host and process that hold it; a lock left by a process of
    this host that no longer runs (a killed run) is taken over. Creating it is also the
    first write into ``folder``, so a read-only or full folder fails here, before any work.

    Args:
        folder: The output folder (created if needed).
        what: The run, for messages (e.g. ``evaluate``).
    """

    def __init__(self, folder: PathLike, what: str):
        self.folder, self.what = Path(folder), what
        self.path = self.folder / ".lock"
        self.owner = f"{socket.gethostname()} {os.getpid()}"

    def __enter__(self) -> "FolderLock":
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for _ in range(2):
                try:
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    if self._holder_is_alive():
                        raise
                    self.path.unlink(missing_ok=True)  # left by a killed run
                    continue
                with os.fdopen(fd, "w") as f:
                    f.write(self.owner + "\n")
                return self
        except FileExistsError:
            raise RuntimeError(
                f"{self.folder} is being written by another {self.what} run ({self.path}: "
                f"{self._holder() or 'unknown'}). Wait for it to end or choose another output folder; "
                f"remove {self.path} only if no such run is alive."
            ) from None
        except OSError as e:
            raise write_error(self.path, e) from None
        raise RuntimeError(f"could not take {self.path}")

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)

    def _holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def _holder_is_alive(self) -> bool:
        host, _, pid = self._holder().partition(" ")
        if host != socket.gethostname() or not pid.isdigit():
            return True  # another host's run (shared file system), or being written: assume alive
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
