"""What every entry point of the plugin shares: ESPnet's log format, ``--ngpu``, argument types."""

import argparse
import logging
import math
from typing import Optional

from espnet2.utils.types import str_or_none

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"


def setup_logging(level="INFO"):
    """Log to stderr in ESPnet's format at ``level`` (a name or a ``logging`` constant)."""
    logging.basicConfig(level=level, format=LOG_FORMAT)


def add_log_level_argument(parser):
    """``--log_level`` (ESPnet's names), which :func:`setup_logging` takes."""
    parser.add_argument("--log_level", default="INFO", choices=["ERROR", "WARNING", "INFO", "DEBUG"])


def add_device_arguments(parser):
    """ESPnet's ``--ngpu`` and, overriding it, ``--device`` (e.g. cuda:1)."""
    parser.add_argument("--ngpu", type=int, default=0, help="The number of GPUs (0: CPU, 1: one GPU)")
    parser.add_argument(
        "--device", type=str_or_none, default=None, help="Torch device; overrides --ngpu (e.g. cuda:1)"
    )


def device_of(ngpu: int, device: Optional[str] = None) -> str:
    """ESPnet's ``--ngpu`` as a torch device (``--device``, when given, wins)."""
    import torch  # here: the entry points that need no device load faster

    if device:
        return device
    if ngpu > 0 and not torch.cuda.is_available():
        raise ValueError(f"--ngpu {ngpu} asks for a GPU, but torch sees none; pass --ngpu 0.")
    return "cuda" if ngpu > 0 else "cpu"


def non_negative_float(value: str) -> float:
    """An argparse type: a finite number >= 0 (e.g. seconds, where 0 turns a feature off)."""
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not (math.isfinite(number) and number >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {value!r}")
    return number


def positive_int(value: str) -> int:
    """An argparse type: a whole number >= 1 (e.g. a batch size or a count)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return number
