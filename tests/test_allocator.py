"""Keeping freed tensor memory in the process (espnet2_spiking/utils/allocator.py)."""

import json
import subprocess
import sys

import pytest

from espnet2_spiking.utils import allocator

# In a fresh process: whether the setting took effect; how much of a live 20 MB tensor glibc
# took straight from the kernel (mmap: handed back at its free, and faulted in afresh by the
# next call); and how much of the heap the free handed back to the kernel (trimming).
PROBE = """
import ctypes, ctypes.util, importlib.util, json, sys, torch
spec = importlib.util.spec_from_file_location("allocator", sys.argv[1])
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
applied = allocator.keep_freed_memory() if sys.argv[2] == "keep" else False
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
mallinfo2 = ctypes.CDLL(ctypes.util.find_library("c")).mallinfo2
mallinfo2.restype = MallInfo2
before = mallinfo2()
x = torch.empty(5_000_000).fill_(1.0)
live = mallinfo2()
del x
after = mallinfo2()
print(json.dumps(dict(applied=applied, mmapped=live.hblkhd - before.hblkhd, trimmed=live.arena - after.arena)))
"""


def probe(mode: str, **env) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, allocator.__file__, mode],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_tensors_come_from_the_heap_and_stay_there():
    default = probe("default")
    assert default == dict(applied=False, mmapped=pytest.approx(20e6, rel=0.01), trimmed=0)
    assert probe("keep") == dict(applied=True, mmapped=0, trimmed=0)
    # the environment's own setting wins: nothing is changed
    assert probe("keep", MALLOC_TRIM_THRESHOLD_="131072") == default


def test_nothing_changes_off_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False
