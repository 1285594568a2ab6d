"""Walk a large JSON document member by member, holding one member's value in memory at a time.

A PROV-JSON file is one object whose sections (``entity``, ``used``...) map record ids to records;
:class:`JsonStream` yields the members of an object one at a time and decodes one value when asked,
over a buffer of a few blocks, so that a loader can read any size of file in flat memory.

>>> import io
>>> stream = JsonStream(io.BytesIO(b'{"a": 1, "b": {"x": [true], "y": 2.5}, "c": null}'), "example.json")
>>> for key in stream.members():
...     if key == "b":
...         print(key, [(k, stream.value()) for k in stream.members()])
...     else:
...         print(key, stream.value())
a 1
b [('x', [True]), ('y', 2.5)]
c None
>>> stream.end()
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from provml.errors import InputError

BLOCK = 1 << 16  # characters read at a time
MAX_VALUE = 64 << 20  # longest single value (a record) read into memory, in characters
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_GOES_ON = frozenset("0123456789.eE+-")
_DECODER = json.JSONDecoder()


class JsonStream:
    """Read a JSON text incrementally: the members of objects one by one, and single values whole.

    Syntax errors raise :class:`~provml.errors.InputError` naming ``source`` and the line.
    """

    def __init__(self, stream: IO[bytes], source: str, *, on_bytes: Callable[[int], None] | None = None) -> None:
        self._stream = stream
        self._source = source
        self._on_bytes = on_bytes
        self._text = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self._lines_before = 1  # line number of the buffer's first character
        self._dropped = 0  # characters read and dropped from the buffer

    @property
    def line(self) -> int:
        """Return the line number of the next character to read."""
        return self._lines_before + self._buffer.count("\n", 0, self._pos)

    def _error(self, message: str, pos: int | None = None) -> InputError:
        line = self._lines_before + self._buffer.count("\n", 0, self._pos if pos is None else pos)
        return InputError(f"invalid JSON: {message}", source=self._source, line=line)

    def _fill(self, size: int = BLOCK) -> bool:
        """Read at least ``size`` more characters (dropping what was consumed); False at the end of the file."""
        if self._eof:
            return False
        self._lines_before += self._buffer.count("\n", 0, self._pos)
        self._dropped += self._pos
        self._buffer, self._pos = self._buffer[self._pos :], 0
        try:
            block = self._stream.read(max(size, BLOCK))
            text = self._text.decode(block, final=not block)
        except UnicodeDecodeError as error:
            raise self._error(f"not UTF-8 text ({error.reason})", len(self._buffer)) from None
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror or error}", source=self._source) from None
        if self._on_bytes is not None and block:
            self._on_bytes(len(block))
        self._eof = not block
        self._buffer += text
        return True

    def _peek(self) -> str:
        """Skip whitespace and return the next character ('' at the end of the file)."""
        while True:
            self._pos = _WHITESPACE.match(self._buffer, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._fill():
                return ""

    def _expect(self, char: str) -> None:
        found = self._peek()
        if found != char:
            raise self._error(f"expected {char!r}, found {found!r}" if found else f"expected {char!r}, found the end")
        self._pos += 1

    def _decode(self, scan: Callable[[str, int], tuple[Any, int]]) -> Any:
        """Decode one value at the current position, reading more while the buffer cuts it short."""
        while True:
            try:
                value, end = scan(self._buffer, self._pos)
            except json.JSONDecodeError as error:
                cut = error.pos >= len(self._buffer) - 8 or error.msg.startswith("Unterminated string")
                if not cut or len(self._buffer) - self._pos > MAX_VALUE or not self._fill(len(self._buffer)):
                    raise self._error(error.msg, error.pos) from None
                continue
            if (end == len(self._buffer) or self._buffer[end] in _NUMBER_GOES_ON) and self._fill():
                continue  # a number may go on in the next block
            self._pos = end
            return value

    def value(self) -> Any:
        """Decode and return the next value whole."""
        if not self._peek():
            raise self._error("expected a value, found the end")
        return self._decode(_DECODER.raw_decode)

    def _key(self) -> str:
        if self._peek() != '"':
            raise self._error("expected a member name in double quotes")
        self._pos += 1
        return self._decode(json.decoder.scanstring)  # type: ignore[arg-type]

    def members(self) -> Iterator[str]:
        """Yield the member names of the object that comes next; after each, read its value with
        :meth:`value` or :meth:`members`, or leave it to be skipped."""
        self._expect("{")
        if self._peek() == "}":
            self._pos += 1
            return
        while True:
            key = self._key()
            self._expect(":")
            self._peek()
            start = self._dropped + self._pos
            yield key
            if self._dropped + self._pos == start:
                self.skip()
            following = self._peek()
            self._pos += 1
            if following == "}":
                return
            if following != ",":
                raise self._error(f"expected ',' or '}}', found {following!r}" if following else "unexpected end")

    def kind(self) -> str:
        """Return the first character of the next value: ``{`` for an object, ``[``, ``"``..."""
        return self._peek()

    def skip(self) -> None:
        """Pass over the next value; objects are passed member by member, so memory stays bounded."""
        if self._peek() == "{":
            for _ in self.members():
                pass
        else:
            self.value()

    def end(self) -> None:
        """Check that nothing but whitespace follows."""
        if self._peek():
            raise self._error("unexpected content after the end of the document")
