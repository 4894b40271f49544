"""The real web app served by uvicorn on 127.0.0.1 in a background thread, for endpoint and
browser tests (no test client shortcuts: real HTTP, real middleware)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from storydiff.web.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(factory: sessionmaker[Session]) -> Iterator[str]:
    """Yields the base URL of the running app; stops the server afterwards."""
    port = free_port()
    config = uvicorn.Config(create_app(factory), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
