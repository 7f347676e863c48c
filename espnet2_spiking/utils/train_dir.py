"""Guarding finished work: a training never starts over in a folder that holds a trained model."""

import argparse
from pathlib import Path


def check_output_dir(args: argparse.Namespace):
    """Refuse to train from scratch into an ``--output_dir`` that already holds model files.

    ESPnet's trainer would replace ``checkpoint.pth`` (back to epoch 1), ``config.yaml`` and
    the best-model links. Statistics collection, ``--print_config`` and ``--resume true`` are let through.

    Args:
        args: Parsed options of an ESPnet task (``output_dir``, ``resume``, ``collect_stats``).
    """
    if any(getattr(args, name, False) for name in ("collect_stats", "resume", "print_config")):
        return
    if args.output_dir is None:
        return
    output_dir = Path(args.output_dir)
    found = sorted(p.name for p in output_dir.glob("*.pth")) if output_dir.is_dir() else []
    if found:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise SystemExit(
            f"{output_dir} already holds a trained model ({shown}); training from scratch would replace "
            "it. Pass --resume true to continue that training, or choose another --output_dir, or "
            f"remove {output_dir} yourself to start over."
        )
