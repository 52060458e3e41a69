"""Real server processes for tests that need more than one, or a real browser."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    database_url: str, access_log: Path | None = None, **settings: str
) -> Iterator[str]:
    """Serve the app from its own process on a free port; yield its base URL.

    With `access_log`, every request the server answers is written to that file.
    """
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FRONTLINE_ENVIRONMENT": "test",
        "PYTHONUNBUFFERED": "1",
        **{f"FRONTLINE_{name.upper()}": value for name, value in settings.items()},
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "info"] if access_log else ["--log-level", "warning"]
    log = access_log.open("w") if access_log else None
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {port} did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if log:
            log.close()


def requests_seen(access_log: Path) -> list[str]:
    """The 'GET /path?query' of every request in an access log, in order."""
    seen = []
    for line in access_log.read_text().splitlines():
        if '"' in line and " HTTP/" in line:
            seen.append(line.split('"')[1].rsplit(" HTTP/", 1)[0])
    return seen
