"""Helpers for the browser tests: a live server on a free loopback port, and Debian's chromium.

The browser is Debian's ``chromium`` package (``make browser`` installs it), driven by
Playwright's Python client with ``executable_path``; Playwright's own browser downloads are
never used. Screenshots go to ``test-artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: Any, timeout: float = 15.0) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a background thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped while starting")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the test server did not start within {timeout}s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def is_local(url: str) -> bool:
    """Whether a request URL stays on this machine (loopback, data: or blob: URLs)."""
    if url.startswith(("data:", "blob:", "about:")):
        return True
    rest = url.split("://", 1)[-1]
    host = rest.split("/", 1)[0]
    return host.startswith(LOOPBACK_HOSTS)


def screenshot_path(name: str) -> Path:
    """Where a test's screenshot goes; the folder is created on demand."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
