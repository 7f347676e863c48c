#!/usr/bin/env python3
"""Write the recipe's results as markdown, the way ESPnet recipes keep RESULTS.md.

    pyscripts/utils/show_voc_result.py --exp_dirs exp/voc_teacher exp/voc_student --out exp/RESULTS.md

One table row per ``<exp>/decode_*/eval/metrics.json`` (numbers only; nested keys joined
with ``.``), then every ``<exp>/benchmark_*/report.md`` as it is.
"""

import argparse
import json
import platform
import subprocess
import time
from importlib.metadata import version
from pathlib import Path
from typing import Dict, List


def flatten(metrics, prefix="") -> Dict[str, float]:
    """Numeric leaves of a JSON object, keys joined with '.'."""
    if isinstance(metrics, dict):
        out = {}
        for key, value in metrics.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    if isinstance(metrics, (int, float)) and not isinstance(metrics, bool):
        return {prefix[:-1]: metrics}
    return {}


def environment() -> List[str]:
    git = subprocess.run(["git", "log", "-1", "--format=%h %cd"], capture_output=True, text=True)
    return [
        "## Environments",
        f"- date: `{time.strftime('%a %b %d %H:%M:%S %Z %Y')}`",
        f"- python version: `{platform.python_version()}`",
        f"- espnet version: `espnet {version('espnet')}`",
        f"- pytorch version: `pytorch {version('torch')}`",
        f"- espnet2_spiking Git hash: `{git.stdout.strip() or 'unknown'}`",
        "",
    ]


def results(exp_dirs: List[Path]) -> List[str]:
    rows = []
    for exp in exp_dirs:
        for path in sorted(exp.glob("decode_*/eval/metrics.json")):
            rows.append((exp.name, path.parent.parent.name, flatten(json.loads(path.read_text()))))
    lines = ["# RESULTS", ""] + environment()
    if rows:
        keys = list(dict.fromkeys(k for _, _, metrics in rows for k in metrics))
        lines += [
            "## Copy synthesis",
            "",
            "|exp|decode|" + "|".join(keys) + "|",
            "|---|---|" + "---|" * len(keys),
        ]
        for exp, decode, metrics in rows:
            cells = [f"{metrics[k]:.4g}" if k in metrics else "" for k in keys]
            lines.append(f"|{exp}|{decode}|" + "|".join(cells) + "|")
        lines.append("")
    for exp in exp_dirs:
        for report in sorted(exp.glob("benchmark_*/report.md")):
            lines += [f"## {exp.name}: {report.parent.name}", "", report.read_text().strip(), ""]
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp_dirs", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_text("\n".join(results(args.exp_dirs)) + "\n", encoding="utf-8")
