"""Writing files so that an interrupted, failed or concurrent run never leaves a wrong one.

Every file the plugin writes goes through :func:`atomic_path`: it is written under a
temporary name in the same folder and renamed into place only when complete, so a
reader sees the old file or the new one, never half of one; a failure (a full disk, a
kill) leaves the old file and no temporary behind. :class:`FolderLock` keeps two runs
from writing one output folder at the same time.
"""

import contextlib
import errno
import fcntl
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

    The lock is the kernel's (``flock``) on that file, so it ends with the process that
    holds it, even a killed one: a lock file left behind is simply taken. The file names
    the host and process that hold it, for the message. Opening it is also the first write
    into ``folder``, so a read-only folder fails here, before any work.

    Args:
        folder: The output folder (created if needed).
        what: The run, for messages (e.g. ``evaluate``).
    """

    def __init__(self, folder: PathLike, what: str):
        self.folder, self.what = Path(folder), what
        self.path = self.folder / ".lock"
        self._file = None

    def __enter__(self) -> "FolderLock":
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(self.path, "a+", encoding="utf-8")
        except OSError as e:
            raise write_error(self.path, e) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            raise RuntimeError(
                f"{self.folder} is being written by another {self.what} run ({self.path}: {holder}). "
                "Wait for it to end, or choose another output folder."
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{socket.gethostname()} {os.getpid()}\n")
        lock.flush()
        self._file = lock
        return self

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)
        self._file.close()
