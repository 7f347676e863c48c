#!/usr/bin/env python3
"""Write a Kaldi-style data directory from LibriTTS subsets (or the mini corpus, same layout).

    local/data_prep.py --out_dir data/train_clean_460 \
        downloads/LibriTTS/train-clean-100 downloads/LibriTTS/train-clean-360

reads ``<subset>/<speaker>/<chapter>/<utt>.wav`` with ``<utt>.normalized.txt`` and writes
``wav.scp`` (absolute paths), ``text`` (the normalized transcript), ``utt2spk`` and
``spk2utt``, sorted by utterance id.
"""

import argparse
import logging
from collections import defaultdict
from pathlib import Path


def data_prep(subsets, out_dir: Path):
    wavs = sorted((w for s in subsets for w in Path(s).glob("*/*/*.wav")), key=lambda w: w.stem)
    if not wavs:
        raise SystemExit(f"data_prep.py: no <speaker>/<chapter>/*.wav under {' '.join(subsets)}.")
    wav_scp, text, utt2spk, spk2utt = [], [], [], defaultdict(list)
    for wav in wavs:
        utt, spk = wav.stem, wav.parent.parent.name
        transcript = wav.with_suffix(".normalized.txt")
        if not transcript.is_file():
            raise SystemExit(f"data_prep.py: {transcript} is missing (the transcript of {wav}).")
        wav_scp.append(f"{utt} {wav.resolve()}")
        text.append(f"{utt} {' '.join(transcript.read_text(encoding='utf-8').split())}")
        utt2spk.append(f"{utt} {spk}")
        spk2utt[spk].append(utt)
    if len({w.stem for w in wavs}) != len(wavs):
        raise SystemExit(f"data_prep.py: duplicated utterance ids in {' '.join(subsets)}.")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "wav.scp": wav_scp,
        "text": text,
        "utt2spk": utt2spk,
        "spk2utt": [f"{spk} {' '.join(utts)}" for spk, utts in sorted(spk2utt.items())],
    }
    for name, lines in files.items():
        (out_dir / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    logging.info(f"{out_dir}: {len(wavs)} utterances, {len(spk2utt)} speakers")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (data_prep) %(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out_dir", type=Path, required=True)
    parser.add_argument("subsets", nargs="+", help="LibriTTS subset directories")
    args = parser.parse_args()
    data_prep(args.subsets, args.out_dir)
