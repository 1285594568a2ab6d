"""A real ``provml serve`` process on 127.0.0.1 for the tests that talk to it over HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TOKEN = "s3cret-token"


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``provml serve --store STORE`` with ``args``, up and answering /health; stop() ends it.

    Its stderr (the access log, one JSON line per request) goes to ``log``.
    """

    def __init__(self, store: Path, token: str | None = TOKEN, args: tuple[str, ...] = ()) -> None:
        self.store, self.port = store, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = store.parent / f"serve-{self.port}.log"
        script = shutil.which("provml", path=str(Path(sys.executable).parent)) or "provml"
        env = {k: v for k, v in os.environ.items() if k != "PROVML_TOKEN"}
        if token:
            env["PROVML_TOKEN"] = token
        command = [script, "serve", "--store", str(store), "--port", str(self.port), *args]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, stderr=log, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"provml serve did not answer within 60 s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """End the server (SIGTERM: it stops its query workers and releases the store)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
