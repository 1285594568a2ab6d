"""Where and how a workflow runs: user, host, software environment, code version and hardware.

The capture client calls these once a run starts. Nothing here raises: a fact that cannot be read
(no git, no ``/proc``, no ``nvidia-smi``) is left out of the record. The helpers that read
``/proc/meminfo`` and run ``nvidia-smi`` are shared with :mod:`provml.capture.telemetry`.

>>> (gpu,) = parse_nvidia_smi_gpus("0, NVIDIA A100-SXM4-80GB, 81920, GPU-5d4f3c1e-8b2a-4c6f-9e7d-1a2b3c4d5e6f")
>>> gpu["index"], gpu["name"], gpu["memory_bytes"]
(0, 'NVIDIA A100-SXM4-80GB', 85899345920)
"""

from __future__ import annotations

import copy
import getpass
import importlib.metadata
import operator
import os
import platform
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import cache, partial
from pathlib import Path
from typing import Any, TypeVar

KEY_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "torch",
    "tensorflow",
    "jax",
    "xgboost",
    "lightgbm",
    "mlflow",
    "pyoxigraph",
    "provml",
)
GIT_TIMEOUT = 2.0
NVIDIA_SMI_TIMEOUT = 5.0  # once per process: a GPU driver without persistence mode can take seconds to answer
MIB = 1024 * 1024

_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}  # never write the index, never prompt
_URL_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)([^/]*)@", re.IGNORECASE)

T = TypeVar("T")


def environment_fields(seeds: dict[str, int] | None = None, *, cwd: Path | None = None) -> dict[str, Any]:
    """Return the ``workflow`` record fields about where and how this process runs."""
    fields = {
        "user": _attempt(getpass.getuser),
        "hostname": _attempt(socket.gethostname),
        "environment": _software(),
        "code_repository": _attempt(lambda: _code_repository(cwd or _script_dir())),
        "seeds": _attempt(lambda: _seeds(seeds)),
    }
    return {name: value for name, value in fields.items() if value}


def host_record() -> dict[str, Any]:
    """Return a ``host`` record of this machine: hostname, cpu_count, memory_bytes, platform and NVIDIA gpus."""
    return {"type": "host", **copy.deepcopy(_host_facts())}


def parse_nvidia_smi_gpus(text: str) -> list[dict[str, Any]]:
    """Parse ``nvidia-smi --query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits`` output."""
    return parse_nvidia_smi(text, (("index", int), ("name", str), ("memory_bytes", mib_to_bytes), ("uuid", str)))


def parse_nvidia_smi(text: str, columns: Sequence[tuple[str, Callable[[str], Any]]]) -> list[dict[str, Any]]:
    """Parse nvidia-smi CSV rows (no header, no units) into dicts of ``columns``' keys, one per GPU with an index.

    A cell nvidia-smi cannot fill (``[N/A]``, ``[Not Supported]``) or cannot be converted is left out.
    """
    rows = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != len(columns):
            continue
        row = {}
        for (key, convert), cell in zip(columns, cells, strict=True):
            if cell and not cell.startswith("["):
                with suppress(ValueError):
                    row[key] = convert(cell)
        if "index" in row:
            rows.append(row)
    return rows


def mib_to_bytes(cell: str) -> int:
    """Convert an nvidia-smi memory size in MiB (``"81920"``) to bytes."""
    return int(cell) * MIB


def nvidia_smi(query: str, *, timeout: float) -> str | None:
    """Return nvidia-smi's CSV rows for ``--query-gpu=<query>``, or None without a working nvidia-smi."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    return _output([executable, f"--query-gpu={query}", "--format=csv,noheader,nounits"], timeout=timeout)


def read_meminfo() -> dict[str, int]:
    """Return the sizes in ``/proc/meminfo`` (MemTotal, MemAvailable...) in bytes; {} when it cannot be read."""
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return {}
    sizes = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        number, _, unit = value.strip().partition(" ")
        if unit == "kB" and number.isdigit():
            sizes[name] = int(number) * 1024
    return sizes


def _attempt(read: Callable[[], T]) -> T | None:
    """Return ``read()``, or None if it fails: environment facts are best-effort."""
    try:
        return read()
    except Exception:
        return None


def _output(
    argv: list[str], *, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str | None:
    """Return the stripped standard output of a command that succeeds within ``timeout`` seconds, else None."""
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
    except OSError:
        return None
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        with suppress(subprocess.TimeoutExpired):  # reap it, briefly: one stuck in a hung GPU driver cannot be
            process.communicate(timeout=0.1)
        return None
    return out.strip() if process.returncode == 0 else None


def _script_dir() -> Path:
    """Return the directory of the main script, or the working directory when there is none (REPL, notebook)."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return Path(main_file).resolve().parent if main_file else Path.cwd()


def _code_repository(directory: Path) -> dict[str, Any] | None:
    """Return the commit, branch, origin remote and dirtiness of the git work tree holding ``directory``."""

    def git(*args: str) -> str | None:
        return _output(["git", *args], cwd=directory, timeout=GIT_TIMEOUT, env={**os.environ, **_GIT_ENV})

    if git("rev-parse", "--is-inside-work-tree") != "true":
        return None
    remote = git("remote", "get-url", "origin")
    status = git("status", "--porcelain", "--untracked-files=no")
    repository = {
        "commit": git("rev-parse", "--verify", "--quiet", "HEAD"),
        "branch": git("symbolic-ref", "--quiet", "--short", "HEAD"),  # none when detached
        "remote": remote and _without_credentials(remote),
        "dirty": None if status is None else status != "",
    }
    return {key: value for key, value in repository.items() if value not in (None, "")}


def _without_credentials(url: str) -> str:
    """Drop secrets from a remote URL: ``https://user:token@host/x`` -> ``https://host/x``; ssh keeps its user.

    >>> _without_credentials("ssh://git:secret@git.example/x.git"), _without_credentials("git@git.example:x.git")
    ('ssh://git@git.example/x.git', 'git@git.example:x.git')
    """
    match = _URL_USERINFO.match(url)
    if match is None:
        return url
    scheme, userinfo = match.groups()
    user = userinfo.split(":", 1)[0] + "@" if "ssh" in scheme.lower() else ""
    return scheme + user + url[match.end() :]


def _seeds(seeds: dict[str, int] | None) -> dict[str, int] | None:
    """Return the seeds as JSON integers (numpy integers included), None when there are none."""
    return {str(name): operator.index(seed) for name, seed in seeds.items()} if seeds else None


def _software() -> dict[str, Any]:
    """Return the ``environment`` field: Python version, platform, command line and key packages."""
    software = {
        "python": platform.python_version(),
        "platform": _platform(),
        "command_line": _attempt(lambda: shlex.join(sys.orig_argv or [sys.executable, *sys.argv])),
        "packages": dict(_packages()),
    }
    return {name: value for name, value in software.items() if value}


@cache
def _platform() -> str | None:
    """Return the operating system and hardware platform (``Linux-6.8.0-x86_64-with-glibc2.39``)."""
    return _attempt(platform.platform)


@cache
def _packages() -> dict[str, str]:
    """Return the versions of the installed :data:`KEY_PACKAGES`, read from their metadata, never imported."""
    versions = {name: _attempt(partial(importlib.metadata.version, name)) for name in KEY_PACKAGES}
    return {name: version for name, version in versions.items() if isinstance(version, str)}


@cache
def _host_facts() -> dict[str, Any]:
    """Return what a ``host`` record says about this machine (read once: it does not change while we run)."""
    facts = {
        "hostname": _attempt(socket.gethostname),
        "cpu_count": os.cpu_count(),
        "memory_bytes": read_meminfo().get("MemTotal"),
        "platform": _platform(),
        "gpus": parse_nvidia_smi_gpus(nvidia_smi("index,name,memory.total,uuid", timeout=NVIDIA_SMI_TIMEOUT) or ""),
    }
    return {name: value for name, value in facts.items() if value}
