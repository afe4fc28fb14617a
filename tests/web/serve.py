"""A real `beacon serve` on a free loopback port, for tests that drive it from outside."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def beacon_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    beacon = str(Path(sys.executable).with_name("beacon"))
    process = subprocess.Popen([beacon, "serve", "--port", str(port)], env=os.environ,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode())
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
