"""Kaldi ark/scp files of a vocoder's log-mel features, with the settings of its training configs.

``mel.yaml`` beside the features records them as ``{feats_extract: <name>,
feats_extract_conf: {...}}`` (complete, defaults filled in): the options a text-to-mel
model must be trained with to feed the vocoder.
"""

import logging
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import kaldiio
import torch
import yaml

from espnet2_spiking.layers.mel import AnyMelFeatures, check_same_features, features_from_config
from espnet2_spiking.utils.audio import read_audio
from espnet2_spiking.utils.files import atomic_path, write_text
from espnet2_spiking.utils.scp import read_scp


def features_of_configs(
    configs: Sequence[Path], feats_extract: Optional[str] = None, overrides: Optional[Dict[str, Any]] = None
) -> AnyMelFeatures:
    """The features that all ``configs`` share (e.g. teacher and student); refused when they differ.

    Args:
        configs: Vocoder training configs.
        feats_extract, overrides: Replace each config's ``feats_extract`` and update its
            ``feats_extract_conf``, as the same options of ``gan_vocoder_train`` do.
    """
    features = [features_from_config(c, feats_extract, overrides) for c in configs]
    for config, other in zip(configs[1:], features[1:]):
        check_same_features(
            features[0],
            other,
            f"{configs[0]} and {config} describe",
            fix="The vocoders must share their feats_extract and feats_extract_conf.",
        )
    return features[0]


def extract_mel(features: AnyMelFeatures, wav_scp: Path, out_dir: Path, source: str = "the config") -> int:
    """Write ``feats.ark``, ``feats.scp`` and ``mel.yaml`` under ``out_dir``.

    Args:
        features: The features to extract (see :func:`features_of_configs`).
        wav_scp: Audio at the features' sample rate.
        out_dir: Output directory.
        source: Where the settings come from (e.g. the config), for error messages.

    Returns:
        The number of utterances written (0 when the directory was already complete).

    Raises:
        ValueError: The directory holds features with other settings, or the audio does not fit.
        FileNotFoundError: ``wav_scp`` does not exist.
    """
    conf = features.config
    done = out_dir / "mel.yaml"
    if (out_dir / "feats.scp").exists() and done.exists():
        with done.open(encoding="utf-8") as f:
            previous = yaml.safe_load(f)
        if previous != conf:
            raise ValueError(
                f"{out_dir} holds features made with {previous}, but {source} asks for {conf}. Write "
                f"them elsewhere (--out_dir) or remove {out_dir}/feats.* and {done} to redo them."
            )
        logging.info(f"{out_dir}/feats.scp exists with the same settings, skipping")
        return 0

    if not wav_scp.is_file():
        raise FileNotFoundError(f"{wav_scp} does not exist: format the audio first (format_wav_scp).")
    fs = features.fs
    features = features.eval()
    entries = read_scp(wav_scp)
    out_dir.mkdir(parents=True, exist_ok=True)
    ark, scp = out_dir / "feats.ark", out_dir / "feats.scp"
    n = len(entries)
    logging.info(f"Extracting {features.n_mels}-bin {features.name} features of {n} utterances of {wav_scp}")
    with (
        torch.inference_mode(),
        atomic_path(scp) as tmp_scp,
        kaldiio.WriteHelper(f"ark,scp:{ark},{tmp_scp}") as writer,
    ):
        for i, (utt, path) in enumerate(entries.items(), 1):
            wav, rate = read_audio(path, f"{wav_scp}: the audio of {utt}")
            if rate != fs or wav.ndim != 1:
                raise ValueError(
                    f"{utt} in {wav_scp} is {rate} Hz with shape {wav.shape}, but the features need mono "
                    f"{fs} Hz audio ({source}). Format the audio first: "
                    f"python -m espnet2_spiking.bin.format_wav_scp --fs {fs} ..."
                )
            writer(utt, features.mel(torch.from_numpy(wav)).T.numpy())  # (frames, n_mels)
            if i % 1000 == 0 or i == n:
                logging.info(f"{i}/{n} utterances")
    write_text(done, yaml.safe_dump(conf))
    return n
