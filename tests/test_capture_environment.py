"""What a workflow record says about where and how it ran, and what a host record says about the machine."""

from __future__ import annotations

import getpass
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from provml.capture.environment import KEY_PACKAGES, environment_fields, host_record, parse_nvidia_smi_gpus
from provml.events import check_record, schema

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed: no work tree to describe")

# What `nvidia-smi --query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits` prints on a DGX A100.
NVIDIA_SMI_GPUS = """\
0, NVIDIA A100-SXM4-80GB, 81920, GPU-5d4f3c1e-8b2a-4c6f-9e7d-1a2b3c4d5e6f
1, NVIDIA A100-SXM4-80GB, 81920, GPU-0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5
"""
A100_MEMORY = 81920 * 1024 * 1024


def assert_valid(record: dict[str, Any]) -> None:
    """The record survives JSON and meets the event schema, by provml's checker and by full validation."""
    assert orjson.loads(orjson.dumps(record)) == record
    check_record(record)
    jsonschema.Draft202012Validator(schema()).validate(record)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.fixture
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git ignores the user's configuration and never looks for a repository above tmp_path."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


@pytest.fixture
def repo(tmp_path: Path, isolated_git: None) -> Path:
    """A git work tree on branch main with one commit of train.py."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "train.py").write_text("print('training')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "--quiet", "-m", "first")
    return repo


@needs_git
def test_the_code_repository_is_the_commit_and_branch_of_a_clean_tree(repo: Path) -> None:
    code = environment_fields(cwd=repo)["code_repository"]
    assert code == {"commit": git(repo, "rev-parse", "HEAD"), "branch": "main", "dirty": False}
    assert len(code["commit"]) == 40


@needs_git
def test_a_modified_tracked_file_makes_the_tree_dirty_but_an_untracked_one_does_not(repo: Path) -> None:
    (repo / "notes.txt").write_text("not tracked\n")
    assert environment_fields(cwd=repo)["code_repository"]["dirty"] is False
    (repo / "train.py").write_text("print('training, with a change')\n")
    assert environment_fields(cwd=repo)["code_repository"]["dirty"] is True


@needs_git
def test_a_detached_head_has_a_commit_and_no_branch(repo: Path) -> None:
    git(repo, "checkout", "--quiet", "--detach")
    code = environment_fields(cwd=repo)["code_repository"]
    assert code["commit"] == git(repo, "rev-parse", "HEAD") and "branch" not in code


@needs_git
@pytest.mark.parametrize(
    ("origin", "recorded"),
    [
        ("https://user:secret@git.example/x.git", "https://git.example/x.git"),
        ("https://ghp_abcdef0123456789@github.com/lab/x.git", "https://github.com/lab/x.git"),
        ("ssh://git:secret@git.example/lab/x.git", "ssh://git@git.example/lab/x.git"),
        ("git@git.example:lab/x.git", "git@git.example:lab/x.git"),
        ("https://git.example/x.git", "https://git.example/x.git"),
        ("/srv/git/x.git", "/srv/git/x.git"),
    ],
)
def test_the_origin_remote_is_recorded_without_credentials(repo: Path, origin: str, recorded: str) -> None:
    git(repo, "remote", "add", "origin", origin)
    assert environment_fields(cwd=repo)["code_repository"]["remote"] == recorded


@needs_git
def test_a_repository_without_origin_has_no_remote(repo: Path) -> None:
    git(repo, "remote", "add", "upstream", "https://git.example/x.git")
    assert "remote" not in environment_fields(cwd=repo)["code_repository"]


def test_outside_a_work_tree_there_is_no_code_repository(tmp_path: Path, isolated_git: None) -> None:
    (tmp_path / "plain").mkdir()
    assert "code_repository" not in environment_fields(cwd=tmp_path / "plain")


@needs_git
def test_by_default_the_repository_is_the_main_scripts(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(repo / "train.py"), raising=False)
    assert environment_fields()["code_repository"]["commit"] == git(repo, "rev-parse", "HEAD")


@needs_git
def test_without_a_main_script_the_repository_is_the_working_directorys(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)
    monkeypatch.chdir(repo)
    assert environment_fields()["code_repository"]["commit"] == git(repo, "rev-parse", "HEAD")


def test_the_environment_names_python_the_platform_and_the_command_line() -> None:
    environment = environment_fields()["environment"]
    assert environment["python"] == platform.python_version()
    assert environment["platform"] == platform.platform()
    assert shlex.split(environment["command_line"]) == sys.orig_argv


def test_packages_are_the_installed_key_packages_with_their_versions() -> None:
    def installed(name: str) -> bool:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return False
        return True

    packages = environment_fields()["environment"]["packages"]
    assert packages["pyoxigraph"] == importlib.metadata.version("pyoxigraph")
    assert packages == {name: importlib.metadata.version(name) for name in KEY_PACKAGES if installed(name)}


def test_user_and_hostname_are_who_and_where() -> None:
    fields = environment_fields()
    assert fields["user"] == getpass.getuser() and fields["hostname"] == socket.gethostname()


def test_seeds_appear_only_when_given() -> None:
    assert "seeds" not in environment_fields()
    assert environment_fields({"numpy": 42, "torch": 7})["seeds"] == {"numpy": 42, "torch": 7}


@needs_git
def test_the_fields_make_a_valid_workflow_record(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://user:secret@git.example/x.git")
    assert_valid({"type": "workflow", "workflow_id": "w", **environment_fields({"numpy": 42}, cwd=repo)})


def test_facts_that_cannot_be_read_are_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> str:
        raise OSError("no such user")

    monkeypatch.setattr(getpass, "getuser", fail)
    monkeypatch.setattr(socket, "gethostname", fail)
    fields = environment_fields({"numpy": "not an integer"}, cwd=tmp_path / "deleted")  # type: ignore[dict-item]
    assert set(fields) == {"environment"}
    assert_valid({"type": "workflow", "workflow_id": "w", **fields})


def test_host_record_describes_this_machine() -> None:
    record = host_record()
    assert_valid(record)
    assert record["type"] == "host" and record["hostname"] == socket.gethostname()
    assert record["cpu_count"] == os.cpu_count()
    assert record["platform"] == platform.platform()


@pytest.mark.skipif(sys.platform != "linux", reason="memory_bytes is read from /proc/meminfo")
def test_host_memory_is_the_total_in_bytes() -> None:
    assert host_record()["memory_bytes"] > 0


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has nvidia-smi")
def test_without_nvidia_smi_a_host_has_no_gpus_key() -> None:
    assert "gpus" not in host_record()


def test_each_host_record_is_a_fresh_dict() -> None:
    host_record()["cpu_count"] = -1
    assert host_record()["cpu_count"] == os.cpu_count()


def test_nvidia_smi_gpu_rows_become_gpus_with_memory_in_bytes() -> None:
    assert parse_nvidia_smi_gpus(NVIDIA_SMI_GPUS) == [
        {
            "index": 0,
            "name": "NVIDIA A100-SXM4-80GB",
            "memory_bytes": A100_MEMORY,
            "uuid": "GPU-5d4f3c1e-8b2a-4c6f-9e7d-1a2b3c4d5e6f",
        },
        {
            "index": 1,
            "name": "NVIDIA A100-SXM4-80GB",
            "memory_bytes": A100_MEMORY,
            "uuid": "GPU-0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5",
        },
    ]


def test_nvidia_smi_cells_it_cannot_fill_are_left_out_and_errors_give_no_gpus() -> None:
    assert parse_nvidia_smi_gpus("0, Tesla K80, [N/A], GPU-1f2e3d4c-5b6a-7988-a7b6-c5d4e3f2a1b0\n") == [
        {"index": 0, "name": "Tesla K80", "uuid": "GPU-1f2e3d4c-5b6a-7988-a7b6-c5d4e3f2a1b0"}
    ]
    failed = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n"
    assert parse_nvidia_smi_gpus(failed) == parse_nvidia_smi_gpus("") == []


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in nvidia-smi is a shell script")
def test_a_host_with_nvidia_smi_lists_its_gpus(tmp_path: Path) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{NVIDIA_SMI_GPUS}EOF\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    script = "import json; from provml.capture.environment import host_record; print(json.dumps(host_record()))"
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    record = json.loads(done.stdout)
    assert_valid(record)
    assert [(gpu["index"], gpu["memory_bytes"]) for gpu in record["gpus"]] == [(0, A100_MEMORY), (1, A100_MEMORY)]
