"""Resource use sampled on a background thread while a workflow runs: CPU, memory and NVIDIA GPUs.

Each sample is the fields of a ``telemetry`` record — ``hostname``, ``timestamp``, ``cpu``, ``memory``,
``gpu`` — passed to an ``emit`` callback; a block that cannot be read is left out. CPU use comes from
``/proc/stat`` deltas between samples, memory from ``/proc/meminfo``, GPU use from ``nvidia-smi``.

>>> cpu_percent((100, 0, 50, 800, 50, 0, 0, 0), (160, 0, 70, 860, 60, 0, 0, 0))
53.3
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from provml.capture.environment import mib_to_bytes, nvidia_smi, parse_nvidia_smi, read_meminfo

SAMPLE_TIMEOUT = 1.0  # the longest nvidia-smi may take in one sample
THREAD_NAME = "provml-telemetry"


def cpu_percent(before: Sequence[int], after: Sequence[int]) -> float:
    """Return the CPU use over all cores, in percent, between two readings of the "cpu" line of ``/proc/stat``.

    The readings are its numbers in order: user, nice, system, idle, iowait, irq, softirq, steal, then guest
    times, which are ignored (user and nice include them). Idle and iowait are idle time.
    """
    total = sum(after[:8]) - sum(before[:8])
    idle = sum(after[3:5]) - sum(before[3:5])
    if total <= 0:
        return 0.0
    return round(min(max(100.0 * (total - idle) / total, 0.0), 100.0), 1)


def parse_nvidia_smi_usage(text: str) -> list[dict[str, Any]]:
    """Parse ``nvidia-smi --query-gpu=index,utilization.gpu,memory.used --format=csv,noheader,nounits`` output."""
    return parse_nvidia_smi(text, (("index", int), ("utilization", float), ("memory_used", mib_to_bytes)))


class TelemetrySampler:
    """Sample resource use every ``interval`` seconds on one daemon thread and pass each sample to ``emit``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Sampling never raises into the caller:
    a sample that fails, or whose ``emit`` raises, is dropped and counted in :attr:`failures`.
    """

    def __init__(self, emit: Callable[[dict[str, Any]], None], interval: float, hostname: str) -> None:
        if not interval > 0:
            raise ValueError(f"telemetry interval must be > 0 seconds, got {interval!r}")
        self.emit, self.interval, self.hostname = emit, interval, hostname
        self.failures = 0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._cpu_times: tuple[int, ...] | None = None

    def start(self) -> None:
        """Start sampling; the first sample comes ``interval`` seconds later (a second call does nothing)."""
        if self._thread is None:
            self._cpu_times = _read_cpu_times()
            self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread to end, briefly; safe to call twice, or before :meth:`start`."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=SAMPLE_TIMEOUT + 1.0)

    def __enter__(self) -> TelemetrySampler:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                fields = self._sample()
                if fields is not None:
                    self.emit(fields)
            except Exception:  # telemetry must never take the run down
                self.failures += 1

    def _sample(self) -> dict[str, Any] | None:
        """Return the fields of one telemetry record, or None when nothing could be read."""
        timestamp = time.time()
        blocks = {"cpu": self._cpu(), "memory": _memory(), "gpu": _gpus()}
        blocks = {name: block for name, block in blocks.items() if block}
        return {"hostname": self.hostname, "timestamp": timestamp, **blocks} if blocks else None

    def _cpu(self) -> dict[str, float] | None:
        """Return the CPU use since the previous reading."""
        before, self._cpu_times = self._cpu_times, _read_cpu_times()
        if before is None or self._cpu_times is None:
            return None
        return {"percent_all": cpu_percent(before, self._cpu_times)}


def _read_cpu_times() -> tuple[int, ...] | None:
    """Return the numbers of the "cpu" line of ``/proc/stat``, or None when it cannot be read."""
    try:
        with open("/proc/stat") as stat:
            name, *values = stat.readline().split()
        return tuple(map(int, values)) if name == "cpu" else None
    except (OSError, ValueError):
        return None


def _memory() -> dict[str, Any] | None:
    """Return the memory block: bytes in use (total less available) and in all."""
    sizes = read_meminfo()
    if "MemTotal" not in sizes or "MemAvailable" not in sizes:
        return None
    return {"virtual": {"used": sizes["MemTotal"] - sizes["MemAvailable"], "total": sizes["MemTotal"]}}


def _gpus() -> list[dict[str, Any]]:
    """Return the utilization and memory use of each GPU nvidia-smi reports (none without nvidia-smi)."""
    return parse_nvidia_smi_usage(nvidia_smi("index,utilization.gpu,memory.used", timeout=SAMPLE_TIMEOUT) or "")
