"""glibc's allocator, set for long-lived Python processes with threads.

By default glibc gives each thread that allocates under contention an arena of its own (up to eight
per core), and a freed block returns to its arena, not to the system: a process whose threads
(the ingest's fetch threads, Celery's task threads, the web server's) each allocate keeps the
high-water mark of every arena. It also raises its threshold for serving large blocks from mmap
each time such a block is freed (up to 32 MB), so after a few large feed bodies every later one
comes from an arena and fragments it. ``tune()`` caps the arenas (``STORYDIFF_MALLOC_ARENAS``,
default 2) and fixes the mmap threshold at glibc's own starting value (128 KiB), for this process;
``child_environment()`` gives the same to a process started from here (the parse processes).

Measured on ``benchmarks/peers.py``'s feeds (the ingest's process tree, sampled from /proc): the main
process ends the refresh at ≈ 88 MB instead of ≈ 95 MB and clusters at ≈ 125 MB instead of ≈ 140 MB.
Elsewhere than glibc (musl, macOS) nothing is changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from storydiff import settings

M_MMAP_THRESHOLD = -3  # mallopt parameters (glibc's malloc.h)
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value; setting it stops the dynamic raise


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    import ctypes

    try:
        function: Callable[..., int] = getattr(ctypes.CDLL("libc.so.6"), name)
        return function
    except (OSError, AttributeError):
        return None


def arenas() -> int:
    return max(0, settings.get_int("STORYDIFF_MALLOC_ARENAS"))


def tune() -> bool:
    """Cap this process's arenas and fix its mmap threshold; False when not on glibc or turned off
    (``STORYDIFF_MALLOC_ARENAS=0``). Call before starting threads."""
    mallopt = _libc_function("mallopt")
    if mallopt is None or not arenas():
        return False
    return bool(mallopt(M_ARENA_MAX, arenas())) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def child_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the same allocator settings for a child process (glibc reads them at start),
    unless the environment already chooses them."""
    if not arenas():
        return env
    return {"MALLOC_ARENA_MAX": str(arenas()), "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), **env}


def trim() -> None:
    """Give the free pages at the top of glibc's arenas back to the system (``malloc_trim``)."""
    release = _libc_function("malloc_trim")
    if release is not None:
        release(0)
