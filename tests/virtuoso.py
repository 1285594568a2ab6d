"""A real OpenLink Virtuoso (Debian's ``virtuoso-opensource``) on 127.0.0.1, for the remote-store tests.

Each instance runs from a copy of the packaged ``virtuoso.ini`` in a directory of its own, on free ports,
with SPARQL updates granted to the anonymous ``/sparql`` user (for tests only: a deployment uses
``/sparql-auth``). ``.ci/run`` installs the package; without it, :func:`missing` says why the tests skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
from live_server import free_port

PACKAGED_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
START_S = 120  # Virtuoso starts in ~8 s here; a loaded machine is slower


def missing() -> str | None:
    """Why a Virtuoso cannot be started here, or None when it can."""
    if shutil.which("virtuoso-t") is None or shutil.which("isql-vt") is None:
        return "OpenLink Virtuoso is not installed (apt-get install virtuoso-opensource; .ci/run does)"
    if not PACKAGED_INI.exists():
        return f"Virtuoso's packaged configuration {PACKAGED_INI} is missing"
    return None


class Virtuoso:
    """``virtuoso-t`` in ``directory``, answering SPARQL at :attr:`sparql`; stop() ends it."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.isql_port = directory, free_port()
        self.http_port = next(port for port in (free_port() for _ in range(10)) if port != self.isql_port)
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.sparql = f"{self.url}/sparql"
        self.graph_store = f"{self.url}/sparql-graph-crud"
        database = directory / "db"
        database.mkdir(parents=True)
        ini = PACKAGED_INI.read_text()
        ini = re.sub(r"(?m)^ServerPort\s*=\s*1111", f"ServerPort = {self.isql_port}", ini)
        ini = re.sub(r"(?m)^ServerPort\s*=\s*8890", f"ServerPort = {self.http_port}", ini)
        ini = ini.replace("/var/lib/virtuoso-opensource-7/db/", f"{database}/")
        (directory / "virtuoso.ini").write_text(ini)
        self.log = directory / "virtuoso.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["virtuoso-t", "+configfile", str(directory / "virtuoso.ini"), "+foreground"],
                cwd=directory,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait()
            self.isql('grant SPARQL_UPDATE to "SPARQL";')
        except BaseException:
            self.stop()
            raise

    def _wait(self) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.sparql, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"Virtuoso did not answer within {START_S} s: {self.log.read_text()[-2000:]}")

    def isql(self, statement: str) -> str:
        """Run one SQL statement as ``dba`` (the packaged password) and return isql's output."""
        done = subprocess.run(
            ["isql-vt", str(self.isql_port), "dba", "dba", f"exec={statement}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"isql {statement!r} failed: {done.stdout[-1000:]}{done.stderr[-1000:]}")
        return done.stdout

    def stop(self) -> None:
        """End Virtuoso (SIGTERM: it checkpoints and exits) and remove its database."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.directory / "db", ignore_errors=True)
