"""CPU memory for decoding: keep the memory of freed tensors in the process.

PyTorch allocates CPU tensors with the C library's ``malloc``. glibc returns the free memory
at the top of its heap to the kernel once it exceeds a threshold (and serves the largest
blocks straight from the kernel), so when one call of a vocoder frees its activations, the
next call gets fresh pages and pays a page fault for every 4 KiB it touches first. The
student allocates more such multi-megabyte tensors per call than the teacher (spikes,
charged potentials, T times the activations), and decoding calls one after the other.
Whether glibc's adaptive thresholds settle differs from process to process: of five fresh
processes making the same calls of ten 6 MB tensors, two faulted all 60 MB in again at every
call and three stopped faulting after three calls, one source of the run-to-run spread of
decoding speed.
PyTorch's CPU performance guide recommends a caching allocator (jemalloc, tcmalloc) for the
same reason; this is the version that needs nothing installed: glibc's own two settings,
the ones ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` set from the environment.
The cost: the process keeps the peak of its memory until it exits.
"""

import ctypes
import ctypes.util
import logging
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
HEAP_BLOCKS_UP_TO = 32 * 2**20  # glibc's largest mmap threshold on 64-bit systems
NEVER_TRIM = 2**31 - 1  # mallopt takes an int
ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_freed_memory() -> bool:
    """Ask glibc to serve blocks up to 32 MiB from its heap and never to trim the heap.

    Returns:
        Whether the settings took effect: False, with nothing changed, off Linux, with a C
        library without ``mallopt``, or when the environment sets either variable (the
        user's choice wins).
    """
    if not sys.platform.startswith("linux") or any(name in os.environ for name in ENVIRONMENT):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    applied = mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO) == 1 and mallopt(M_TRIM_THRESHOLD, NEVER_TRIM) == 1
    if applied:
        logging.info("glibc malloc: blocks up to 32 MiB from its heap, freed memory kept in the process")
    return applied
