"""Guarding finished work and the resume file of an ESPnet training's ``--output_dir``."""

import argparse
from pathlib import Path

from espnet2_spiking.utils.checkpoint import safe_load


def check_output_dir(args: argparse.Namespace):
    """Refuse to train from scratch into a folder with model files; check the resume file first.

    Without ``--resume true``, ESPnet's trainer would replace ``checkpoint.pth`` (back to
    epoch 1), ``config.yaml`` and the best-model links. With it, ESPnet unpickles
    ``checkpoint.pth`` with ``weights_only=False``; the file is read here first with
    ``weights_only=True``, so one that would run code is refused before ESPnet opens it.
    Statistics collection and ``--print_config`` are let through.

    Args:
        args: Parsed options of an ESPnet task (``output_dir``, ``resume``, ``collect_stats``).
    """
    if (
        getattr(args, "collect_stats", False)
        or getattr(args, "print_config", False)
        or args.output_dir is None
    ):
        return
    output_dir = Path(args.output_dir)
    if getattr(args, "resume", False):
        if (output_dir / "checkpoint.pth").exists():
            safe_load(output_dir / "checkpoint.pth")
        return
    found = sorted(p.name for p in output_dir.glob("*.pth")) if output_dir.is_dir() else []
    if found:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise SystemExit(
            f"{output_dir} already holds a trained model ({shown}); training from scratch would replace "
            "it. Pass --resume true to continue that training, or choose another --output_dir, or "
            f"remove {output_dir} yourself to start over."
        )
