"""The parse worker process's side of ``ingest/parsepool.py``: read a call from stdin, run it, write
the outcome to stdout, until stdin ends (the parent closed it, or died). Frames are an 8-byte length
and a pickle. Imports nothing of storydiff by itself: the calls import what they need (the parser).

Started as ``python -c BOOT``: the parent's ``sys.path`` comes first on stdin, so the worker finds
the same modules however the parent was started, and the worker's file descriptor 1 is pointed at
stderr, so that nothing a library prints can corrupt the frames."""

from __future__ import annotations

import pickle
import signal
import struct
from typing import IO, Any

HEADER = struct.Struct("<Q")

BOOT = (
    "import os, sys\n"
    "out = os.fdopen(os.dup(1), 'wb', buffering=0)\n"
    "os.dup2(2, 1)\n"
    "inp = os.fdopen(0, 'rb', buffering=0)\n"
    "import pickle, struct\n"
    "size, = struct.unpack('<Q', inp.read(8))\n"
    "sys.path[:] = pickle.loads(inp.read(size))\n"
    "from storydiff.ingest.parseworker import serve\n"
    "serve(inp, out)\n"
)


def read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    (size,) = HEADER.unpack(read_exactly(stream, HEADER.size))
    return pickle.loads(read_exactly(stream, size))


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """Ctrl-C reaches the whole process group: the parent decides when workers stop (it closes
    stdin). An exception is sent back as the call's outcome; one that cannot be pickled as its repr."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            fn, args = receive(inp)
        except EOFError:
            return
        try:
            outcome: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:  # the caller decides what a failed parse means
            outcome = (False, exc)
        try:
            send(out, outcome)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            send(out, (False, RuntimeError(f"{outcome[1]!r} (could not be sent back: {exc})")))
