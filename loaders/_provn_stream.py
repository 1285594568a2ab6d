"""Split a PROV-N document into its top-level pieces, reading the file a block at a time.

A PROV-N document is a sequence of pieces: ``document``, namespace declarations (``prefix ex <…>``,
``default <…>``), statements (``entity(…)``, ``used(…)``…), ``bundle`` headers, ``endBundle`` and
``endDocument``. :class:`ProvnStatements` yields them one at a time, following PROV-N's lexical rules
(strings, long strings, IRIs, qualified-name literals, ``//`` and ``/* */`` comments, escapes and ``/``
in names), so that a reader can hand ``prov`` a few statements at a time and keep memory flat. It does
not check the grammar: a statement that does not close is cut where a statement must end at the latest
(where the next one starts, or at the end of the file) and left to ``prov``, which says what is wrong.

>>> import io
>>> text = b'''document
...   prefix ex <https://example.org/>
...   entity(ex:a, [ex:note="a ) and a // in a string"])  // a comment (
...   wasDerivedFrom(ex:b,
...                  ex:a)
... endDocument
... '''
>>> for piece in ProvnStatements(io.BytesIO(text), "doc.provn"):
...     print(piece.line, piece.kind, repr(piece.text))
1 document 'document'
2 prefix '  prefix ex <https://example.org/>'
3 statement '  entity(ex:a, [ex:note="a ) and a // in a string"])'
4 statement '  wasDerivedFrom(ex:b,\\n                 ex:a)'
6 endDocument 'endDocument'
7 end ''
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from prov.serializers.provn_lexer import ProvNSyntaxError, TokenKind, tokenize

from provml.errors import InputError

BLOCK = 1 << 16  # characters read at a time
MAX_PIECE = 64 << 20  # longest piece (a statement) read into memory, in characters

# The common case, read by one expression: a whole statement on one line, with no parenthesis in it, no
# comment, and no escape in a name or line break escaped in a string (those take the slow way).
_STRING_BODY = r'(?:\\[^\r\n]|[^"\\\r\n])*'
_QNAME_LITERAL_BODY = r"(?:\\[^\r\n]|[^'\\\r\n])*"
_IRI_BODY = r"(?:[^<>\"{}|^`\\\x00-\x20]|\\[^\x00-\x20])*"
_SIMPLE = re.compile(
    r"""[^\s()\[\],;="'<\\/]+[ \t]*\((?:[^()"'<\\/\r\n]"""
    rf"""|"(?!""){_STRING_BODY}"|'{_QNAME_LITERAL_BODY}'|<{_IRI_BODY}>|/(?![/*]))*\)"""
)
_SPACE = re.compile(r"(?:\s+|//[^\r\n]*|/\*.*?\*/)*", re.DOTALL)  # what separates tokens
_WORD = re.compile(r"(?:[^\s()\[\],;=\"'<\\/]|\\[^\r\n]|/(?![/*]))+")  # a name, number, time, marker, %%...
_TOKENS = {  # as prov's lexer reads them
    '"""': re.compile(r'"""(?:\\.|"(?!"")|[^"\\])*"""', re.DOTALL),  # a long string, which may span lines
    '"': re.compile(r'"(?:\\.|[^"\\\n\r])*"'),
    "'": re.compile(r"'(?:\\.|[^'\\\n\r])*'"),
    "<": re.compile(rf"<{_IRI_BODY}>"),
}
_PUNCTUATION = frozenset("()[],;=")
_OPEN, _CLOSE = frozenset("(["), frozenset(")]")
_ALONE = frozenset({"document", "endDocument", "endBundle"})
_DECLARATIONS = {"prefix": ("word", "<"), "default": ("<",), "bundle": ("word",)}  # the tokens each takes
_LINE_BREAK = re.compile(r"\r\n?|\n")


@dataclass(frozen=True)
class Piece:
    """One top-level piece of a PROV-N document, with the position of its first character."""

    kind: str  # document, prefix, default, bundle, endBundle, endDocument, statement, or end (of the file)
    text: str  # its text, indented by as many spaces as its column, so that positions in it are the file's
    line: int  # the line it starts on
    lines: int = 1  # the lines it spans
    closed: bool = True  # False for a piece cut short (a statement whose parenthesis does not close)


class ProvnStatements:
    """Read the pieces of a PROV-N document from a binary stream, a block at a time."""

    def __init__(self, stream: IO[bytes], source: str, *, on_bytes: Callable[[int], None] | None = None) -> None:
        self._stream = stream
        self._source = source
        self._on_bytes = on_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._text = ""  # the buffer: whole lines (the last line of the file may have no line break)
        self._partial = ""  # the start of a line read but not in the buffer yet
        self._eof = False
        self._pos = 0  # where the next piece is looked for
        self._line = 1  # the line of _pos
        self._line_start = 0  # where that line starts in the buffer (negative once dropped)
        self._piece_line = 1  # the line of the piece being read

    def __iter__(self) -> Iterator[Piece]:
        """Yield the pieces of the document, ending with a piece of kind ``end``."""
        while True:
            if self._pos >= BLOCK:
                self._drop()
            start = self._skip(self._pos)
            self._move(start)
            self._piece_line = self._line
            simple = _SIMPLE.match(self._text, start)
            if simple is not None:
                self._pos = simple.end()
                yield Piece("statement", self._indented(start, simple.end()), self._line)
                continue
            piece = self._piece(start)
            yield piece
            if piece.kind == "end":
                return

    # -- the buffer --------------------------------------------------------------------------

    def _fill(self) -> bool:
        """Append the next whole lines of the file to the buffer; False at the end of the file."""
        while not self._eof:
            if len(self._text) - self._pos > MAX_PIECE:
                message = f"a statement longer than {MAX_PIECE:,} characters: is a long string or a comment not closed?"
                raise InputError(message, source=self._source, line=self._piece_line)
            try:
                block = self._stream.read(max(BLOCK, len(self._text) - self._pos))
                text = self._partial + self._decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                before = self._text[self._pos :] + self._partial + block[: error.start].decode(errors="replace")
                line = self._line + len(_LINE_BREAK.findall(before))
                raise InputError(f"not UTF-8 text ({error.reason})", source=self._source, line=line) from None
            except OSError as error:
                raise InputError(f"cannot read: {error.strerror or error}", source=self._source) from None
            if self._on_bytes is not None and block:
                self._on_bytes(len(block))
            self._eof = not block
            end = len(text) if self._eof else max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1
            self._partial = text[end:]
            if end:
                self._text += text[:end]
                return True
        return False

    def _drop(self) -> None:
        """Drop the part of the buffer already read."""
        self._text = self._text[self._pos :]
        self._line_start -= self._pos
        self._pos = 0

    def _move(self, end: int) -> None:
        """Move the reading position to ``end``, counting the lines passed."""
        text, start = self._text, self._pos
        breaks = text.count("\n", start, end)
        last = text.rfind("\n", start, end)
        if text.find("\r", start, end) >= 0:
            breaks += text.count("\r", start, end) - text.count("\r\n", start, end)
            last = max(last, text.rfind("\r", start, end))
        if breaks:
            self._line += breaks
            self._line_start = last + 1
        self._pos = end

    def _indented(self, start: int, end: int) -> str:
        return " " * (start - self._line_start) + self._text[start:end]

    # -- tokens ------------------------------------------------------------------------------

    def _skip(self, pos: int) -> int:
        """Return where the next token starts at or after ``pos``, past spaces and comments."""
        while True:
            pos = _SPACE.match(self._text, pos).end()  # type: ignore[union-attr]
            if pos < len(self._text) and not self._text.startswith("/*", pos):
                return pos
            if not self._fill():  # at the end of the file, or in a comment that goes on
                return pos

    def _token(self, pos: int, after_string: bool = False) -> tuple[str, int]:
        """Return the kind of the token at ``pos`` (``word``, a punctuation character, ``"``, ``'``, ``<``,
        ``end``, or ``bad`` for one that does not end on its line) and where it ends."""
        text = self._text
        if pos >= len(text):
            return "end", pos
        char = text[pos]
        if char in _PUNCTUATION:
            return char, pos + 1
        if char in "\"'<":
            opening = '"""' if text.startswith('"""', pos) else char
            while (match := _TOKENS[opening].match(self._text, pos)) is None:
                if opening != '"""' or not self._fill():
                    return "bad", self._line_end(pos)
            return char, match.end()
        return self._word(pos, after_string)

    def _word(self, pos: int, after_string: bool) -> tuple[str, int]:
        """Return the extent of a name (or number, time, marker...), which may hold ``//`` or ``/*``."""
        end = pos
        while (match := _WORD.match(self._text, end)) is not None:
            end = match.end()
            if self._text.startswith(("//", "/*"), end):
                goes_on = self._name_goes_on(pos, end, after_string)
                if goes_on is not None:
                    end = goes_on
                    continue
            return "word", end
        return ("word", end) if end > pos else ("bad", self._line_end(pos))

    def _name_goes_on(self, start: int, slash: int, after_string: bool) -> int | None:
        """Return where the token that runs over ``slash`` ends, if prov's lexer reads ``//`` or ``/*`` there
        as part of a name (``ex:a//b``); None if it starts a comment (after ``-``, a time, a language tag)."""
        context = '""' if after_string else ""  # a language tag is one only after a string
        segment = context + self._text[start : self._line_end(slash)]
        offset = slash - start + len(context)
        try:
            for token in tokenize(segment):
                begin = token.column - 1
                if token.kind is TokenKind.EOF or begin > offset:
                    return None
                if begin + len(token.text) > offset:
                    return start + begin + len(token.text) - len(context)
        except ProvNSyntaxError:  # an unterminated comment at the slash, or a bad name before it
            return None
        return None

    def _line_end(self, pos: int) -> int:
        match = _LINE_BREAK.search(self._text, pos)
        return len(self._text) if match is None else match.start()

    # -- pieces ------------------------------------------------------------------------------

    def _piece(self, start: int) -> Piece:
        """Read the piece that starts at ``start`` token by token."""
        kind, end = self._token(start)
        if kind == "end":
            return Piece("end", "", self._line)
        word = self._text[start:end] if kind == "word" else None
        closed = True
        if word in _ALONE:
            kind = word
        elif word in _DECLARATIONS:
            kind = word
            for expected in _DECLARATIONS[word]:
                following, after = self._token(self._skip(end))
                if following != expected:
                    closed = False
                    break
                end = after
        else:
            kind = "statement"
            end, closed = self._statement(end) if word is not None else (end, False)
        text = self._indented(start, end)
        line = self._line
        self._move(end)
        return Piece(kind, text, line, self._line - line + 1, closed)

    def _statement(self, end: int) -> tuple[int, bool]:
        """Return where the statement whose keyword ends at ``end`` ends, and whether its parenthesis closed."""
        depth, kind = 0, "word"
        while True:
            kind, after = self._token(self._skip(end), after_string=kind == '"')
            if kind == "end" or (depth == 0 and kind != "("):
                return end, False  # no '(' after the keyword, or the end of the file
            if kind == "word" and self._token(self._skip(after))[0] == "(":
                return end, False  # a name before '(' starts the next statement: this one did not close
            depth += (kind in _OPEN) - (kind in _CLOSE)
            end = after
            if depth == 0:
                return end, True
