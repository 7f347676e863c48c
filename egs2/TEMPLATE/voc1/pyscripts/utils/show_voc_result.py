#!/usr/bin/env python3
"""Write a recipe's RESULTS.md the way ESPnet recipes keep it: the environment, then the
benchmark reports (quality of teacher and student, energy, speed, pictures), then the
reference-free DNSMOS of text-to-wav output (stage 6), system beside system.

    pyscripts/utils/show_voc_result.py --out exp/RESULTS.md exp/voc_*/benchmark_*/report.md \
        --dnsmos test_clean recordings exp/dnsmos_recordings/test_clean/dnsmos.json \
        --dnsmos test_clean voc_teacher/joint_tts exp/voc_teacher/joint_tts/inference/test_clean/dnsmos/dnsmos.json

The file is rewritten from the reports each time, so it always matches them.
"""

import argparse
import json
import platform
import subprocess
import time
from importlib.metadata import version
from pathlib import Path

import espnet2_spiking
from espnet2_spiking.metrics.report import append_report


def environment() -> str:
    source = Path(espnet2_spiking.__file__).parent
    git = subprocess.run(
        ["git", "-C", source, "log", "-1", "--format=%h %cd"], capture_output=True, text=True
    )
    return "\n".join(
        [
            "# RESULTS",
            "",
            "## Environments",
            f"- date: `{time.strftime('%a %b %d %H:%M:%S %Z %Y')}`",
            f"- python version: `{platform.python_version()}`",
            f"- espnet version: `espnet {version('espnet')}`",
            f"- pytorch version: `pytorch {version('torch')}`",
            f"- spikingjelly version: `spikingjelly {version('spikingjelly')}`",
            f"- espnet2_spiking Git hash: `{git.stdout.strip() or 'unknown'}`",
            "",
        ]
    )


def dnsmos_table(rows) -> str:
    """A Markdown table of DNSMOS summaries; rows: (set, system, dnsmos.json path)."""
    lines = [
        "",
        "## Text to wav: DNSMOS (no reference)",
        "",
        "DNSMOS P.808 and P.835 (signal, background, overall) predicted from the audio alone, for",
        "text-to-wav output, which has no reference. Good vocoders score alike on it: it",
        "complements and never replaces the copy-synthesis scores, which compare with the recording.",
        "",
        "| set | system | utts | P.808 | SIG | BAK | OVRL |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for dset, system, path in rows:
        s = json.loads(Path(path).read_text(encoding="utf-8"))
        scores = " | ".join(f"{s[k]:.3f}" for k in ("p808_mos", "sig_mos", "bak_mos", "ovrl_mos"))
        lines.append(f"| {dset} | {system} | {s['num_utts']} | {scores} |")
    return "\n".join(lines) + "\n\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="the RESULTS.md to write")
    parser.add_argument(
        "reports", type=Path, nargs="*", help="report.md files of espnet2_spiking.bin.benchmark"
    )
    parser.add_argument(
        "--dnsmos",
        nargs=3,
        action="append",
        default=[],
        metavar=("SET", "SYSTEM", "JSON"),
        help="a dnsmos.json of bin/dnsmos, with its test set and system (repeatable)",
    )
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(environment(), encoding="utf-8")
    for report in args.reports:
        append_report(report, args.out)
    if args.dnsmos:
        with args.out.open("a", encoding="utf-8") as f:
            f.write(dnsmos_table(args.dnsmos))
