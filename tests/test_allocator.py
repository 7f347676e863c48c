"""Keeping freed tensor memory in the process (espnet2_spiking/utils/allocator.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from espnet2_spiking.utils import allocator

# A decoding call's pattern: ten 6 MB activations touched, then all freed; five calls after
# three that let the heap grow. Prints whether the setting took effect and the page faults
# of the five calls.
CALLS = """
import importlib.util, resource, sys, torch
spec = importlib.util.spec_from_file_location("allocator", sys.argv[1])
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
applied = allocator.keep_freed_memory() if sys.argv[2] == "keep" else False
def call():
    blocks = [torch.empty(1_500_000).fill_(1.0) for _ in range(10)]
    del blocks
for _ in range(3):
    call()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    call()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str, **env):
    out = subprocess.run(
        [sys.executable, "-c", CALLS, allocator.__file__, mode],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", **env},
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_later_calls_reuse_the_memory_instead_of_faulting_in_fresh_pages():
    assert page_faults("default") == (False, pytest.approx(73_000, rel=0.2))  # 5 x 60 MB of 4 KiB pages
    applied, faults = page_faults("keep")
    assert applied and faults < 5_000  # at most a little heap growth
    # the environment's own setting wins: nothing is changed
    applied, faults = page_faults("keep", MALLOC_TRIM_THRESHOLD_="131072")
    assert not applied and faults > 50_000


def test_nothing_changes_off_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False
