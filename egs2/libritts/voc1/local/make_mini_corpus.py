"""Build, offline, a small speech corpus in LibriTTS's own layout from Debian's synthesizers.

    <out_dir>/<subset>/<speaker>/<chapter>/<speaker>_<chapter>_<index>_000000.{wav,
        normalized.txt,original.txt}

with the subsets ``train-clean-100``, ``dev-clean`` and ``test-clean``, so that the recipe
prepares it with the same code as the real LibriTTS. Every synthesizer voice is a speaker
(one chapter each). Utterance ``k`` pairs sentence ``k % S`` with voice
``(k + k // S) % V`` (S sentences, V voices), so the first ``--num_utts`` utterances use
every sentence once before repeating any, each time with another voice. The split is by
sentence: sentence ``i`` is in ``dev-clean`` when ``i % 8 == 6``, in ``test-clean`` when
``i % 8 == 7`` and in ``train-clean-100`` otherwise, so no test sentence is trained on.

Audio is converted by sox to mono 16-bit PCM at ``--fs`` (24 kHz, LibriTTS's rate) with
its peak normalised to -3 dBFS. Utterances whose ``.wav`` already exists are kept, so an
interrupted run continues where it stopped.

Example:
    python local/make_mini_corpus.py \\
        --sentences local/mini_sentences.txt --num_utts 64 --out_dir downloads/mini/LibriTTS
"""

import argparse
import logging
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, NamedTuple, Sequence, Tuple

from espnet2_spiking.utils.cli import setup_logging


class Voice(NamedTuple):
    """A synthesizer voice: ``command`` reads the text on stdin and writes ``{wav}``."""

    speaker: str
    command: Tuple[str, ...]
    packages: str  # the Debian packages that provide it


VOICES: Dict[str, Voice] = {
    "festival_slt_hts": Voice(
        "9001",
        ("text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", "-o", "{wav}"),
        "festival festvox-us-slt-hts",
    ),
    "festival_kal": Voice(
        "9002",
        ("text2wave", "-eval", "(voice_kal_diphone)", "-o", "{wav}"),
        "festival festvox-kallpc16k",
    ),
    "flite_awb": Voice("9003", ("flite", "-voice", "awb", "-o", "{wav}"), "flite"),
    "flite_rms": Voice("9004", ("flite", "-voice", "rms", "-o", "{wav}"), "flite"),
    "flite_slt": Voice("9005", ("flite", "-voice", "slt", "-o", "{wav}"), "flite"),
    "flite_kal": Voice("9006", ("flite", "-voice", "kal16", "-o", "{wav}"), "flite"),
    "espeak_us": Voice("9007", ("espeak-ng", "-v", "en-us", "--stdin", "-w", "{wav}"), "espeak-ng"),
    "espeak_gb_f": Voice("9008", ("espeak-ng", "-v", "en-gb+f3", "--stdin", "-w", "{wav}"), "espeak-ng"),
}
CHAPTER = "100"
SUBSETS = ("train-clean-100", "dev-clean", "test-clean")


class Utterance(NamedTuple):
    subset: str
    voice: str
    utt_id: str
    original: str
    normalized: str

    def path(self, out_dir: Path) -> Path:
        """The utterance's path without suffix."""
        speaker = VOICES[self.voice].speaker
        return out_dir / self.subset / speaker / CHAPTER / self.utt_id


def read_sentences(path: Path) -> List[Tuple[str, str]]:
    """Read ``original`` or ``original<TAB>normalized`` lines (``#`` lines are comments)."""
    sentences = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        original, _, normalized = line.partition("\t")
        if "\t" in normalized:
            raise ValueError(f"{path}:{lineno}: more than one tab; expected 'original<TAB>normalized'.")
        sentences.append((original.strip(), (normalized or original).strip()))
    if not sentences:
        raise ValueError(f"{path} holds no sentences.")
    return sentences


def subset_of(sentence_index: int) -> str:
    """The subset a sentence belongs to (split by sentence, see the module docstring)."""
    return {6: "dev-clean", 7: "test-clean"}.get(sentence_index % 8, "train-clean-100")


def plan(sentences: Sequence[Tuple[str, str]], voices: Sequence[str], num_utts: int) -> List[Utterance]:
    """The first ``num_utts`` (sentence, voice) pairs, in the order of the module docstring."""
    utts = []
    for k in range(num_utts):
        s = k % len(sentences)
        voice = voices[(k + k // len(sentences)) % len(voices)]
        speaker = VOICES[voice].speaker
        utt_id = f"{speaker}_{CHAPTER}_{k:06d}_000000"
        utts.append(Utterance(subset_of(s), voice, utt_id, *sentences[s]))
    return utts


def check_tools(voices: Sequence[str]):
    """Fail early, naming the Debian packages to install, when a synthesizer is missing."""
    missing = {}
    for name in voices:
        voice = VOICES[name]
        for tool in (voice.command[0], "sox"):
            if shutil.which(tool) is None:
                missing[tool] = "sox" if tool == "sox" else voice.packages
    if missing:
        packages = " ".join(sorted(set(" ".join(missing.values()).split())))
        raise SystemExit(
            f"make_mini_corpus: {', '.join(sorted(missing))} not found. Install them with: "
            f"apt-get install {packages}"
        )


def synthesize(utt: Utterance, out_dir: Path, fs: int):
    """Write ``utt``'s ``.normalized.txt``, ``.original.txt`` and (last) its ``.wav``."""
    path = utt.path(out_dir)
    wav = path.with_suffix(".wav")
    if wav.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".normalized.txt").write_text(utt.normalized + "\n", encoding="utf-8")
    path.with_suffix(".original.txt").write_text(utt.original + "\n", encoding="utf-8")
    voice = VOICES[utt.voice]
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "out.wav")
        command = [arg.format(wav=raw) for arg in voice.command]
        steps = [
            (command, utt.normalized, raw),
            (["sox", raw, "-r", str(fs), "-c", "1", "-b", "16", out, "gain", "-n", "-3"], None, out),
        ]
        for args, stdin, output in steps:
            result = subprocess.run(args, input=stdin, capture_output=True, text=True)
            if result.returncode != 0 or not os.path.exists(output):
                raise RuntimeError(
                    f"{' '.join(args)} failed for {utt.utt_id} (exit {result.returncode}): "
                    f"{result.stderr.strip()[-500:]}. Is `{voice.packages}` installed?"
                )
        shutil.move(out, wav)


def make_mini_corpus(
    sentences: Path, out_dir: Path, num_utts: int, fs: int, voices: Sequence[str], nj: int
) -> List[Utterance]:
    """Synthesize the corpus (skipping finished utterances); return its utterances."""
    unknown = [v for v in voices if v not in VOICES]
    if unknown:
        raise SystemExit(f"make_mini_corpus: unknown voices {unknown}; choose from {list(VOICES)}.")
    check_tools(voices)
    utts = plan(read_sentences(sentences), voices, num_utts)
    logging.info(
        f"Synthesizing {len(utts)} utterances with {len(voices)} voices into {out_dir} "
        f"({', '.join(f'{s}: {sum(u.subset == s for u in utts)}' for s in SUBSETS)})"
    )
    with ThreadPoolExecutor(nj) as pool:
        for done, _ in enumerate(pool.map(lambda u: synthesize(u, out_dir, fs), utts), 1):
            if done % 50 == 0 or done == len(utts):
                logging.info(f"{done}/{len(utts)} utterances")
    return utts


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sentences",
        type=Path,
        required=True,
        help="text file: 'original' or 'original<TAB>normalized' per line",
    )
    parser.add_argument(
        "--out_dir", type=Path, required=True, help="corpus root: the subsets are written under it"
    )
    parser.add_argument("--num_utts", type=int, default=64, help="number of utterances")
    parser.add_argument("--fs", type=int, default=24000, help="sample rate of the wav files")
    parser.add_argument(
        "--voices",
        nargs="+",
        default=list(VOICES),
        choices=list(VOICES),
        help="synthesizer voices (speakers)",
    )
    parser.add_argument("--nj", type=int, default=2, help="synthesizer processes at a time")
    return parser


def main(cmd=None):
    setup_logging()
    args = get_parser().parse_args(cmd)
    if args.num_utts < 1:
        raise SystemExit("make_mini_corpus: --num_utts must be at least 1.")
    make_mini_corpus(args.sentences, args.out_dir, args.num_utts, args.fs, args.voices, args.nj)


if __name__ == "__main__":
    main()
