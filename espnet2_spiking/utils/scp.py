"""The package's one reader of Kaldi-style ``scp`` lists (``utt_id value`` per line).

Kaldi's and ESPnet's semantics (ESPnet's ``read_2columns_text`` reads the file): the key
is the first whitespace-separated field (spaces or tabs), the value the rest of the line,
which may hold spaces (``sox in.flac -t wav - |``, a pipe) or an ark offset
(``feats.ark:123``). On top of that, every key must be unique and usable as a file name,
because decoding writes ``<utt_id>.wav``; both are checked before anything is written.
"""

import re
from pathlib import Path
from typing import Dict, Iterable, Union

from espnet2.fileio.read_text import read_2columns_text

MAX_KEY_BYTES = 200  # file systems allow 255 bytes per name; leave room for suffixes
_UNSAFE_KEY = re.compile(r"[/\\\x00-\x1f\x7f]")


def check_keys(keys: Iterable[str], path: Union[str, Path]):
    """Refuse utterance ids that are not safe file names (``<utt_id>.wav`` is written).

    Args:
        keys: Utterance ids.
        path: The file they come from, named in the error.
    """
    for key in keys:
        if key in (".", "..") or _UNSAFE_KEY.search(key) or len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise ValueError(
                f"{path}: utterance id {key!r} cannot be used as a file name (no '/', '\\', control "
                f"characters, '.' or '..', at most {MAX_KEY_BYTES} bytes). Rename it in {path} and in "
                "the other files of its data directory (text, utt2spk, ...)."
            )


def read_scp(path: Union[str, Path]) -> Dict[str, str]:
    """Read a Kaldi ``scp`` list into an ordered dict, refusing what would lose or misplace output.

    Args:
        path: The list, e.g. ``dump/raw/test/wav.scp``.

    Returns:
        utt_id -> value, in file order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: A line without a value, a blank line, a duplicate or unsafe key, or no
            entries at all; the message names the file and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist. Check the path, or run the data preparation first.")
    try:
        entries = read_2columns_text(path)
    except RuntimeError as e:  # ESPnet's message: "<key> is duplicated (<path>:<line>)"
        raise ValueError(
            f"{e}: every utterance id must appear once in {path}, or the outputs of the duplicates "
            "overwrite each other. Remove or rename the duplicate lines."
        ) from None
    except ValueError:  # a line with no fields
        raise ValueError(f"{path} has a blank line; Kaldi lists have one 'utt_id value' per line. Remove it.")
    for num, (key, value) in enumerate(entries.items(), 1):  # no blank lines: one entry per line
        if not value:
            raise ValueError(
                f"{path}:{num}: expected 'utt_id path', got only {key!r}. Complete or remove the line."
            )
    if not entries:
        raise ValueError(f"{path} lists no utterances.")
    check_keys(entries, path)
    return entries
