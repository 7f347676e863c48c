"""Scoring generated speech against its references: the library behind ``bin/evaluate``.

:func:`evaluate` scores every utterance of a generated ``wav.scp`` against the references
(:func:`score_utterance`, in parallel processes with ``nj > 1``), pools the pitch
statistics over frames (:func:`summarize`) and writes ``utt_metrics.tsv`` and
``metrics.json`` (:func:`write_results`). See ``python -m espnet2_spiking.bin.evaluate -h``.
"""

import errno
import json
import logging
import math
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from tqdm import tqdm

from espnet2_spiking.layers.mel import VocosLogMel
from espnet2_spiking.metrics.pitch import CREPE_FS, CrepePitch, CrepeSettings, pitch_metrics, pitch_stats
from espnet2_spiking.metrics.quality import Utmos, align, mcd, mel_l1, pesq_wb, stoi
from espnet2_spiking.utils.audio import load_wav, refuse_pipe, resample
from espnet2_spiking.utils.cache import CACHE_ROOT
from espnet2_spiking.utils.files import FolderLock, write_text
from espnet2_spiking.utils.scp import read_scp

AVERAGED = ["pesq_wb", "stoi", "mel_l1", "mcd", "utmos"]
POOLED = ["periodicity_rmse", "vuv_f1", "pitch_rmse_cents"]
RESULT_BYTES = 4096  # an upper bound of the bytes that one utterance adds to the results (both files)
DEFAULT_CACHE = CACHE_ROOT / "crepe"


@dataclass(frozen=True)
class EvalSettings:
    """Everything a worker needs to score one utterance."""

    crepe: CrepeSettings = CrepeSettings()
    voicing_threshold: float = 0.21
    pitch_cache_dir: Optional[str] = str(DEFAULT_CACHE)
    crepe_batch_size: int = 512
    max_length_diff: float = 0.025
    mel_conf: Dict = field(default_factory=dict)
    utmos_model: Optional[str] = None
    device: str = "cpu"


_STATE = {}  # per process, keyed by their settings: CREPE trackers, feature extractors, UTMOS models


def _init_worker(threads: int):
    torch.set_num_threads(threads)


def score_utterance(utt: str, ref_path: str, gen_path: str, settings: EvalSettings) -> Tuple[dict, dict]:
    """Every metric of one utterance.

    Returns:
        The table row (metrics, samples, sample rate) and the pitch statistics to pool.
    """
    ref, fs = load_wav(ref_path)
    gen, gen_fs = load_wav(gen_path)
    if fs != gen_fs:
        raise ValueError(
            f"utterance {utt}: sample rates differ: reference {ref_path} is {fs} Hz, generated "
            f"{gen_path} is {gen_fs} Hz. Generate at {fs} Hz or resample (sox in.wav -r {fs} out.wav)."
        )
    ref, gen = align(
        ref, gen, round(settings.max_length_diff * fs), f"utterance {utt} ({ref_path}, {gen_path})"
    )
    crepe_key = (
        "crepe",
        settings.crepe,
        settings.pitch_cache_dir,
        settings.crepe_batch_size,
        settings.device,
    )
    if crepe_key not in _STATE:
        _STATE[crepe_key] = CrepePitch(
            settings.crepe, settings.pitch_cache_dir, settings.crepe_batch_size, settings.device
        )
    mel_key = ("mel", fs, json.dumps(settings.mel_conf, sort_keys=True))
    if mel_key not in _STATE:
        _STATE[mel_key] = VocosLogMel(fs=fs, **settings.mel_conf)
    ref16, gen16 = resample(ref, fs, CREPE_FS), resample(gen, fs, CREPE_FS)
    stats = pitch_stats(_STATE[crepe_key](ref16), _STATE[crepe_key](gen16), settings.voicing_threshold)
    row = dict(
        utt_id=utt,
        samples=len(ref),
        fs=fs,
        pesq_wb=pesq_wb(ref16, gen16, CREPE_FS),
        stoi=stoi(ref, gen, fs),
        mel_l1=mel_l1(ref, gen, _STATE[mel_key]),
        mcd=mcd(ref, gen, fs),
        **pitch_metrics(stats),
    )
    if settings.utmos_model:
        utmos_key = ("utmos", settings.utmos_model, settings.device)
        if utmos_key not in _STATE:
            _STATE[utmos_key] = Utmos(settings.utmos_model, settings.device)
        row["utmos"] = _STATE[utmos_key](gen, fs)
    return row, stats


def summarize(rows: List[dict], stats: List[dict], settings: EvalSettings) -> dict:
    """metrics.json: averages over utterances, pitch metrics pooled over frames, counts."""
    total = {key: sum(s[key] for s in stats) for key in stats[0]}
    summary = {key: float(np.mean([r[key] for r in rows])) for key in AVERAGED if key in rows[0]}
    summary.update(pitch_metrics(total))
    summary.update(num_utts=len(rows), num_frames=total["frames"], num_voiced_frames=total["voiced_both"])
    if not settings.utmos_model:
        summary["utmos"] = None
        summary["skipped"] = {"utmos": "no --utmos_model given (UTMOS needs a local TorchScript checkpoint)"}
    summary["settings"] = asdict(settings)
    return summary


def write_results(out_dir: Path, rows: List[dict], summary: dict):
    """Write ``utt_metrics.tsv`` and ``metrics.json`` (each replaced in one step).

    Raises:
        OSError: A file cannot be written (e.g. a full disk); both texts are logged
            first, so the scores are not lost.
    """
    columns = ["utt_id", *[k for k in AVERAGED + POOLED if k in rows[0]], "samples", "fs"]

    def cell(value):
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    lines = ["\t".join(columns)] + ["\t".join(cell(r[c]) for c in columns) for r in rows]
    summary = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in summary.items()}
    texts = {"utt_metrics.tsv": "\n".join(lines) + "\n", "metrics.json": json.dumps(summary, indent=2) + "\n"}
    try:
        for name, text in texts.items():
            write_text(out_dir / name, text)
    except OSError:
        for name, text in texts.items():
            logging.error(f"not written: {out_dir / name}, which would hold:\n{text}")
        raise


def evaluate(ref_scp: str, gen_scp: str, out_dir: str, settings: EvalSettings, nj: int = 1) -> dict:
    """Score every utterance of ``gen_scp`` against ``ref_scp``; write and return the summary.

    An utterance that cannot be scored (a missing, unreadable, silent or mismatched file)
    is named in a warning and in ``metrics.json`` (``skipped_utts``), and the rest is
    scored; a run where none can be scored is refused.

    Raises:
        ValueError: A list is malformed, holds a shell command or a generated utterance
            without reference, or no utterance can be scored.
        RuntimeError: Another run writes ``out_dir``.
        OSError: ``out_dir`` is not writable or too full (before any scoring), or the
            results cannot be written (their content is logged first).
    """
    refs, gens = read_scp(ref_scp), read_scp(gen_scp)
    for scp, entries in ((ref_scp, refs), (gen_scp, gens)):
        for utt, value in entries.items():
            refuse_pipe(value, f"{scp}: the audio of {utt}")
    missing = [utt for utt in gens if utt not in refs]
    if missing:
        raise ValueError(
            f"{len(missing)} utterance(s) of {gen_scp} have no reference in {ref_scp}, "
            f"e.g. {', '.join(missing[:5])}; pass a ref_scp that lists them"
        )
    if len(refs) > len(gens):
        logging.info(
            f"{len(refs) - len(gens)} reference utterances have no generated audio; scoring {len(gens)}"
        )
    with FolderLock(out_dir, "evaluate"):  # also shows, before any scoring, that out_dir is writable
        need, free = RESULT_BYTES * (len(gens) + 1), shutil.disk_usage(out_dir).free
        if free < need:
            raise OSError(
                errno.ENOSPC,
                f"{out_dir} has {free} bytes free, less than the about {need} that the results of "
                f"{len(gens)} utterances need; nothing was scored. Free disk space or pass another --out_dir.",
            )
        if (Path(out_dir) / "metrics.json").exists():
            logging.info(
                f"{out_dir}/metrics.json and utt_metrics.tsv of an earlier run are replaced when this one ends"
            )
        summary = _score(refs, gens, gen_scp, Path(out_dir), settings, nj)
    shown = {k: summary[k] for k in AVERAGED + POOLED if summary.get(k) is not None}
    logging.info("  ".join(f"{k}={v:.4f}" for k, v in shown.items() if not math.isnan(v)))
    return summary


def _score(refs: Dict[str, str], gens: Dict[str, str], gen_scp: str, out: Path, settings: EvalSettings, nj: int):
    """:func:`evaluate` once the lists are read and ``out`` is locked."""
    jobs = [(utt, refs[utt], gen, settings) for utt, gen in gens.items()]
    results, skipped = {}, {}

    def record(utt, score):
        try:
            results[utt] = score()
        except ValueError as e:
            skipped[utt] = f"{e}"
            logging.warning(f"skipped utterance {utt} of {gen_scp} ({gens[utt]}): {e}")

    progress = tqdm(total=len(jobs), desc="evaluate", unit="utt", file=sys.stderr)
    if nj <= 1:
        for job in jobs:
            record(job[0], lambda: score_utterance(*job))
            progress.update()
    else:
        threads = max(1, (os.cpu_count() or 1) // nj)
        with ProcessPoolExecutor(nj, get_context("spawn"), _init_worker, (threads,)) as pool:
            futures = {pool.submit(score_utterance, *job): job[0] for job in jobs}
            for future in as_completed(futures):
                record(futures[future], future.result)
                progress.update()
    progress.close()
    if not results:
        reasons = "; ".join(f"{utt}: {reason}" for utt, reason in list(skipped.items())[:5])
        raise ValueError(f"No utterance of {gen_scp} could be scored ({reasons}). Fix the files named.")
    scored = [utt for utt in gens if utt in results]
    rows, stats = zip(*(results[utt] for utt in scored))
    summary = summarize(list(rows), list(stats), settings)
    if skipped:
        summary["skipped_utts"] = skipped
        logging.warning(f"scored {len(scored)} of {len(gens)} utterances; skipped: {', '.join(skipped)}")
    write_results(out, list(rows), summary)
    return summary
