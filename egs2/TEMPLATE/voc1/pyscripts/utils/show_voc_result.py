#!/usr/bin/env python3
"""Write a recipe's RESULTS.md the way ESPnet recipes keep it: the environment, then the
benchmark reports (quality of teacher and student, energy, speed, pictures).

    pyscripts/utils/show_voc_result.py --out exp/RESULTS.md exp/voc_*/benchmark_*/report.md

The file is rewritten from the reports each time, so it always matches them.
"""

import argparse
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="the RESULTS.md to write")
    parser.add_argument(
        "reports", type=Path, nargs="+", help="report.md files of espnet2_spiking.bin.benchmark"
    )
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(environment(), encoding="utf-8")
    for report in args.reports:
        append_report(report, args.out)
