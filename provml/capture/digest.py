"""Describe data by content: digest, size, shape and schema of a file, directory, array or data frame.

Files are hashed in blocks (memory stays flat); a file's digest is cached by path, size and
modification time, so logging the same large file twice reads it once. numpy and pandas are
recognised by duck typing and never imported here.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "labels.csv")
>>> _ = open(path, "w").write("a,b\\n1,2\\n")
>>> facts = describe_data(path)
>>> facts["sha256"] == hashlib.sha256(b"a,b\\n1,2\\n").hexdigest(), facts["size_bytes"], facts["default_name"]
(True, 8, 'labels.csv')
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from provml.errors import ProvmlError

_BLOCK = 1 << 20


@lru_cache(maxsize=1024)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _path_facts(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ProvmlError(f"no such file or directory: {path}")
    if path.is_dir():  # a directory's digest covers every file's relative path and content
        digest, size = hashlib.sha256(), 0
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            stat = child.stat()
            digest.update(f"{child.relative_to(path).as_posix()}\0".encode())
            digest.update(_file_sha256(str(child), stat.st_size, stat.st_mtime_ns).encode())
            size += stat.st_size
        sha256 = digest.hexdigest()
    else:
        stat = path.stat()
        size, sha256 = stat.st_size, _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)
    return {"default_name": path.name, "location": str(path.resolve()), "sha256": sha256, "size_bytes": size}


def _array_facts(array: Any) -> dict[str, Any]:
    try:
        data = memoryview(array).cast("B") if array.flags["C_CONTIGUOUS"] else array.tobytes()
    except (TypeError, ValueError, AttributeError, KeyError):
        data = array.tobytes()
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": int(array.nbytes),
        "shape": [int(n) for n in array.shape],
        "schema": {"dtype": str(array.dtype)},
    }


def _frame_facts(frame: Any) -> dict[str, Any]:
    import pandas  # only ever reached with a pandas object in hand

    hashes = pandas.util.hash_pandas_object(frame, index=True).to_numpy()
    digest = hashlib.sha256(hashes.tobytes())
    digest.update(repr(list(map(str, frame.columns))).encode())
    return {
        "sha256": digest.hexdigest(),
        "size_bytes": int(frame.memory_usage(deep=True).sum()),
        "shape": [int(n) for n in frame.shape],
        "schema": {str(column): str(dtype) for column, dtype in frame.dtypes.items()},
    }


def describe_data(data: Any) -> dict[str, Any]:
    """Return what is known of ``data``: ``sha256``, ``size_bytes``, and as it applies ``location``,
    ``shape``, ``schema`` and a ``default_name``.

    Raises :class:`ProvmlError` for a path that does not exist or data it cannot describe.
    """
    if isinstance(data, (str, os.PathLike)):
        return _path_facts(Path(data))
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and hasattr(data, "dtypes"):
        return _frame_facts(data)
    if hasattr(data, "shape") and hasattr(data, "dtype") and hasattr(data, "tobytes"):
        return _array_facts(data)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return {"sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
    raise ProvmlError(f"cannot describe data of type {type(data).__name__}: give a path, an array or a data frame")
