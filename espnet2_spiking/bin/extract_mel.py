"""Extract the vocoder's log-mel features into Kaldi ark/scp files.

The settings are read from the vocoder training configs (their ``feats_extract_conf``,
which must agree: e.g. teacher and student), so the features written here are exactly
those the vocoders are trained on and decode:

    python -m espnet2_spiking.bin.extract_mel --config conf/train_vocos.yaml \\
        --config conf/train_spiking_vocos.yaml \\
        --wav_scp dump/raw/test_clean/wav.scp --out_dir dump/raw/test_clean

writes ``<out_dir>/feats.ark`` and ``feats.scp`` (one (frames, n_mels) float32 matrix per
utterance, what a text-to-mel model is trained on and what ``gan_vocoder_inference``
decodes with ``feats.scp,feats,kaldi_ark``) and ``mel.yaml`` (the settings). A finished
directory with the same settings is left as it is; one with other settings is refused.

``--print_conf`` prints the settings instead (``--print_conf fs`` one of them), for
shell scripts that must agree with the config.
"""

import argparse
import inspect
import logging
from pathlib import Path
from typing import Any, Dict, Sequence

import kaldiio
import torch
import yaml

from espnet2_spiking.layers.mel import VocosLogMel, check_same_features
from espnet2_spiking.utils.audio import read_audio
from espnet2_spiking.utils.cli import setup_logging
from espnet2_spiking.utils.files import atomic_path, write_text
from espnet2_spiking.utils.scp import read_scp


def mel_conf_from_config(config: Path) -> Dict[str, Any]:
    """The complete ``VocosLogMel`` settings of a vocoder training config.

    Args:
        config: A YAML training config with ``feats_extract: vocos_mel`` (the default)
            and ``feats_extract_conf``.

    Returns:
        Every ``VocosLogMel`` argument (defaults filled in), e.g. ``fs``, ``n_fft``,
        ``hop_length``, ``win_length``, ``n_mels``, ``fmin``, ``fmax``, ``log_floor``.
    """
    with open(config, encoding="utf-8") as f:
        args = yaml.safe_load(f) or {}
    name = args.get("feats_extract") or "vocos_mel"
    if name != "vocos_mel":
        raise ValueError(f"{config}: feats_extract is {name!r}; the vocoder's features are 'vocos_mel'.")
    conf = args.get("feats_extract_conf") or {}
    names = list(inspect.signature(VocosLogMel.__init__).parameters)[1:]
    unknown = sorted(set(conf) - set(names))
    if unknown:
        raise ValueError(f"{config}: feats_extract_conf has unknown keys {unknown}; known: {names}.")
    return VocosLogMel(**conf).settings


def mel_conf_from_configs(configs: Sequence[Path]) -> Dict[str, Any]:
    """The ``VocosLogMel`` settings that all ``configs`` share; refused when they differ."""
    confs = [mel_conf_from_config(c) for c in configs]
    for config, conf in zip(configs[1:], confs[1:]):
        check_same_features(
            VocosLogMel(**confs[0]),
            VocosLogMel(**conf),
            f"{configs[0]} and {config} describe",
            fix="The vocoders must share their feats_extract_conf.",
        )
    return confs[0]


def extract_mel(configs: Sequence[Path], wav_scp: Path, out_dir: Path) -> int:
    """Write ``feats.ark``, ``feats.scp`` and ``mel.yaml`` under ``out_dir``.

    Args:
        configs: Training configs whose (shared) features to extract.
        wav_scp: Audio at the features' sample rate.
        out_dir: Output directory.

    Returns:
        The number of utterances written (0 when the directory was already complete).
    """
    conf = mel_conf_from_configs(configs)
    config = configs[0]
    done = out_dir / "mel.yaml"
    if (out_dir / "feats.scp").exists() and done.exists():
        with done.open(encoding="utf-8") as f:
            previous = yaml.safe_load(f)
        if previous != conf:
            raise SystemExit(
                f"extract_mel: {out_dir} holds features made with {previous}, but {config} "
                f"asks for {conf}. Write them elsewhere (--out_dir) or remove {out_dir}/feats.*"
                f" and {done} to redo them."
            )
        logging.info(f"{out_dir}/feats.scp exists with the same settings, skipping")
        return 0

    if not wav_scp.is_file():
        raise SystemExit(f"extract_mel: {wav_scp} does not exist: format the audio first (format_wav_scp).")
    mel = VocosLogMel(**conf).eval()
    entries = read_scp(wav_scp)
    out_dir.mkdir(parents=True, exist_ok=True)
    ark, scp = out_dir / "feats.ark", out_dir / "feats.scp"
    n = len(entries)
    logging.info(f"Extracting {conf['n_mels']}-bin log-mel features of {n} utterances of {wav_scp}")
    with (
        torch.inference_mode(),
        atomic_path(scp) as tmp_scp,
        kaldiio.WriteHelper(f"ark,scp:{ark},{tmp_scp}") as writer,
    ):
        for i, (utt, path) in enumerate(entries.items(), 1):
            try:
                wav, fs = read_audio(path, f"{wav_scp}: the audio of {utt}")
            except ValueError as e:
                raise SystemExit(f"extract_mel: {e}")
            if fs != conf["fs"] or wav.ndim != 1:
                raise SystemExit(
                    f"extract_mel: {utt} in {wav_scp} is {fs} Hz with shape {wav.shape}, but the "
                    f"features need mono {conf['fs']} Hz audio ({config}). Format the audio "
                    f"first: python -m espnet2_spiking.bin.format_wav_scp --fs {conf['fs']} ..."
                )
            feats = mel.mel(torch.from_numpy(wav)).T  # (frames, n_mels)
            writer(utt, feats.numpy())
            if i % 1000 == 0 or i == n:
                logging.info(f"{i}/{n} utterances")
    write_text(done, yaml.safe_dump(conf))
    return n


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config",
        type=Path,
        required=True,
        action="append",
        help="vocoder training config: its feats_extract_conf gives the settings "
        "(repeat it for configs that must agree, e.g. teacher and student)",
    )
    parser.add_argument("--wav_scp", type=Path, help="audio to extract from (Kaldi wav.scp)")
    parser.add_argument("--out_dir", type=Path, help="where feats.ark, feats.scp, mel.yaml go")
    parser.add_argument(
        "--print_conf",
        nargs="?",
        const="",
        metavar="KEY",
        help="print the settings (or the one named KEY) and exit",
    )
    return parser


def main(cmd=None):
    setup_logging()
    parser = get_parser()
    args = parser.parse_args(cmd)
    try:
        conf = mel_conf_from_configs(args.config)
    except ValueError as e:
        raise SystemExit(f"extract_mel: {e}")
    if args.print_conf is not None:
        if args.print_conf:
            if args.print_conf not in conf:
                parser.error(f"--print_conf {args.print_conf}: choose from {list(conf)}")
            print(conf[args.print_conf])
        else:
            print(yaml.safe_dump(conf, default_flow_style=True, width=1000).strip())
        return
    if args.wav_scp is None or args.out_dir is None:
        parser.error("--wav_scp and --out_dir are required (or --print_conf)")
    extract_mel(args.config, args.wav_scp, args.out_dir)


if __name__ == "__main__":
    main()
