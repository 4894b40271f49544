"""The allocator settings of storydiff's processes (``allocator.py``), measured in real processes."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from storydiff import allocator

GLIBC = platform.libc_ver()[0] == "glibc"

# eight threads each allocate; malloc_stats() prints one "Arena N:" block per arena to stderr
THREADS = """
import ctypes, sys, threading
from storydiff import allocator
if sys.argv[1] == "tuned":
    assert allocator.tune()
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    keep = [bytearray(2000) for _ in range(2000)]
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL("libc.so.6").malloc_stats()
"""


def _arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", THREADS, mode], capture_output=True, text=True, check=True)
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_threads_share_the_capped_arenas(monkeypatch):
    monkeypatch.delenv("STORYDIFF_MALLOC_ARENAS", raising=False)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert _arenas("default") > 2  # glibc gives new threads arenas of their own
    assert _arenas("tuned") <= 2


def test_child_processes_get_the_same_settings_unless_chosen(monkeypatch):
    monkeypatch.delenv("STORYDIFF_MALLOC_ARENAS", raising=False)
    env = allocator.child_environment({"PATH": "/usr/bin"})
    assert env["MALLOC_ARENA_MAX"] == "2" and env["MALLOC_MMAP_THRESHOLD_"] == str(128 * 1024)
    assert allocator.child_environment({"MALLOC_ARENA_MAX": "4"})["MALLOC_ARENA_MAX"] == "4"
    monkeypatch.setenv("STORYDIFF_MALLOC_ARENAS", "0")
    assert allocator.child_environment({"PATH": "/usr/bin"}) == {"PATH": "/usr/bin"}
    assert allocator.tune() is False


def test_a_parse_process_starts_with_the_settings(monkeypatch):
    import os

    from storydiff.ingest.parsepool import LeanPool

    monkeypatch.delenv("STORYDIFF_MALLOC_ARENAS", raising=False)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    pool = LeanPool(1)
    try:
        assert pool.submit(os.getenv, "MALLOC_ARENA_MAX").result(timeout=30) == "2"
        assert pool.submit(os.getenv, "MALLOC_MMAP_THRESHOLD_").result(timeout=30) == "131072"
    finally:
        pool.shutdown()
