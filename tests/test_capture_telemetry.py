"""Telemetry samples resource use on a background thread that never disturbs the run it watches."""

from __future__ import annotations

import math
import os
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from provml.capture.telemetry import THREAD_NAME, TelemetrySampler, cpu_percent, parse_nvidia_smi_usage
from provml.events import check_record, schema

# What `nvidia-smi --query-gpu=index,utilization.gpu,memory.used --format=csv,noheader,nounits` prints while
# GPU 0 trains and GPU 1 idles.
NVIDIA_SMI_USAGE = """\
0, 97, 58368
1, 0, 4
"""
MIB = 1024 * 1024
on_linux = pytest.mark.skipif(sys.platform != "linux", reason="CPU and memory use are read from /proc")


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` holds; the generous deadline only stops a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def sampler_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


def as_record(fields: dict[str, Any]) -> dict[str, Any]:
    record = {"type": "telemetry", "workflow_id": "w", **fields}
    check_record(record)
    jsonschema.Draft202012Validator(schema()).validate(record)
    return record


@pytest.fixture
def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An nvidia-smi first on PATH that prints what the test writes into it."""
    if sys.platform == "win32":
        pytest.skip("the stand-in nvidia-smi is a shell script")
    fake = tmp_path / "nvidia-smi"
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return fake


def write_script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@on_linux
def test_a_sampler_emits_valid_telemetry_records_until_stopped() -> None:
    samples: list[dict[str, Any]] = []
    with TelemetrySampler(samples.append, interval=0.05, hostname="gpu-node-01") as sampler:
        wait_for(lambda: len(samples) >= 4)
    count = len(samples)
    records = [as_record(fields) for fields in samples]
    assert all(record["hostname"] == "gpu-node-01" for record in records)
    timestamps = [record["timestamp"] for record in records]
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == len(timestamps)
    assert all(0 <= record["cpu"]["percent_all"] <= 100 for record in records)
    assert all(0 < record["memory"]["virtual"]["used"] <= record["memory"]["virtual"]["total"] for record in records)
    assert sampler.failures == 0
    time.sleep(0.15)
    assert len(samples) == count  # nothing after stop()


@on_linux
def test_without_nvidia_smi_samples_have_no_gpu_block(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no nvidia-smi
    samples: list[dict[str, Any]] = []
    with TelemetrySampler(samples.append, interval=0.05, hostname="h"):
        wait_for(lambda: len(samples) >= 1)
    assert "gpu" not in samples[0]


def test_stop_ends_the_one_thread_promptly_and_twice_is_fine() -> None:
    before = set(threading.enumerate())
    sampler = TelemetrySampler(lambda fields: None, interval=3600, hostname="h")
    sampler.start()
    sampler.start()
    (thread,) = set(threading.enumerate()) - before
    assert thread.name == THREAD_NAME and thread.daemon
    began = time.monotonic()
    sampler.stop()
    assert time.monotonic() - began < 2
    assert not thread.is_alive()
    sampler.stop()


def test_stop_without_start_is_fine() -> None:
    before = set(threading.enumerate())
    TelemetrySampler(lambda fields: None, interval=1, hostname="h").stop()
    assert set(threading.enumerate()) <= before


@pytest.mark.parametrize("interval", [0, -1, math.nan])
def test_the_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="interval"):
        TelemetrySampler(lambda fields: None, interval=interval, hostname="h")


@on_linux
def test_an_emit_that_raises_does_not_stop_sampling() -> None:
    def emit(fields: dict[str, Any]) -> None:
        raise RuntimeError("transport closed")

    with TelemetrySampler(emit, interval=0.02, hostname="h") as sampler:
        wait_for(lambda: sampler.failures >= 3)
        assert sampler_threads()


@on_linux
def test_gpu_use_comes_from_nvidia_smi(fake_nvidia_smi: Path) -> None:
    write_script(fake_nvidia_smi, f"cat <<'EOF'\n{NVIDIA_SMI_USAGE}EOF")
    samples: list[dict[str, Any]] = []
    with TelemetrySampler(samples.append, interval=0.05, hostname="h"):
        wait_for(lambda: len(samples) >= 1)
    record = as_record(samples[0])
    assert record["gpu"] == [
        {"index": 0, "utilization": 97.0, "memory_used": 58368 * MIB},
        {"index": 1, "utilization": 0.0, "memory_used": 4 * MIB},
    ]


@on_linux
def test_a_hung_nvidia_smi_only_costs_the_gpu_block(fake_nvidia_smi: Path) -> None:
    write_script(fake_nvidia_smi, "exec sleep 60")
    samples: list[dict[str, Any]] = []
    with TelemetrySampler(samples.append, interval=0.05, hostname="h"):
        wait_for(lambda: len(samples) >= 1)
    assert "gpu" not in samples[0] and "cpu" in samples[0]


def test_cpu_percent_is_busy_time_over_all_time_between_two_readings() -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    before = (1000, 0, 500, 8000, 400, 0, 100, 0, 0, 0)
    half_busy = (1300, 0, 600, 8350, 450, 0, 100, 0, 0, 0)  # 400 busy, 350 idle + 50 iowait
    assert cpu_percent(before, half_busy) == 50.0
    guest = (1300, 0, 600, 8350, 450, 0, 100, 0, 300, 0)  # guest time is part of user time already
    assert cpu_percent(before, guest) == 50.0
    all_idle = (1000, 0, 500, 8800, 400, 0, 100, 0, 0, 0)
    assert cpu_percent(before, all_idle) == 0.0
    assert cpu_percent(before, (1100, 0, 500, 8000, 400, 0, 100, 0, 0, 0)) == 100.0
    assert cpu_percent(before, before) == 0.0  # no time passed


def test_nvidia_smi_usage_rows_become_gpu_samples_in_bytes() -> None:
    assert parse_nvidia_smi_usage(NVIDIA_SMI_USAGE) == [
        {"index": 0, "utilization": 97.0, "memory_used": 58368 * MIB},
        {"index": 1, "utilization": 0.0, "memory_used": 4 * MIB},
    ]
    # a MIG-enabled GPU has no utilization to report
    assert parse_nvidia_smi_usage("0, [N/A], 12288\n") == [{"index": 0, "memory_used": 12288 * MIB}]
    assert parse_nvidia_smi_usage("No devices were found\n") == []
