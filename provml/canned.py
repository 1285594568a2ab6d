"""Canned queries: the ``.rq`` files of ``queries/``, their headers, parameters, and how to run them.

A canned query is one SPARQL file whose leading ``#+`` comment lines are a YAML header in grlc's
convention (``summary``, ``description``, ``tags``, ``method``, ``defaults``, ``enumerate``), plus
``params`` (what each parameter means, and an example). Parameters are variables named in the
BASIL convention grlc uses: ``?_name`` is required, ``?__name`` optional, and a suffix types the
value: ``?_run_iri`` an IRI, ``?_epochs_integer`` an integer, ``?_score_number`` a number,
``?_day_xsd_date`` a typed literal, ``?_label_en`` a literal in a language; no suffix, a plain
string. A value is checked against its type and written into the query as one escaped RDF term
(as Jena's parameterized strings do; SEP-0007 substitution, as Oxigraph implements it, binds only
projected variables), so a value cannot change what the query does, and the text runs on any
SPARQL 1.1 store. An optional parameter left out stays a free variable.

>>> query = CannedQuery.parse("best", '''#+ summary: Best runs
... #+ tags: [direction:aggregation]
... SELECT ?run WHERE { ?run provml:value ?v FILTER(?v >= ?_min_number) }''')
>>> [(p.name, p.kind, p.required) for p in query.parameters]
[('min', 'number', True)]
>>> print(query.text({"min": "0.9"}).splitlines()[-1])
SELECT ?run WHERE { ?run provml:value ?v FILTER(?v >= "0.9"^^<http://www.w3.org/2001/XMLSchema#decimal>) }
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from provml import rdf
from provml.errors import QueryError
from provml.resources import queries_dir
from provml.store import QueryResult, Store
from provml.vocab import PREFIXES, XSD, XSD_NS, compact

# the taxonomy of provenance analyses (DESIGN.md): every canned query has a tag of each dimension
TAXONOMY: dict[str, dict[str, str]] = {
    "phase": {
        "curation": "data curation and learning data preparation",
        "training": "learning: training and validation",
        "evaluation": "evaluation of models",
        "deployment": "deployment and inference",
    },
    "data": {
        "domain": "domain data: what the data is about",
        "ml": "ML data: learning data, models, hyperparameters, metrics",
        "execution": "execution data: times, hosts, GPUs, resource use, status",
    },
    "timing": {
        "online": "asked while the workflow runs (monitoring, steering)",
        "offline": "asked afterwards (reproducibility, post-mortem)",
    },
    "direction": {
        "backward": "lineage: where something came from",
        "forward": "impact: what was derived from something",
        "comparison": "side by side: runs, models, configurations",
        "aggregation": "summaries: counts, totals, best and latest",
    },
}
TAGS = frozenset(f"{dimension}:{value}" for dimension, values in TAXONOMY.items() for value in values)
HEADER_KEYS = {"summary", "description", "tags", "method", "defaults", "enumerate", "params", "pagination"}
_PARAMETER = re.compile(
    r"\?(?P<underscores>_{1,2})(?P<name>[A-Za-z0-9]+)"
    r"(?:_(?P<kind>iri|number|literal|integer)\b|_(?P<prefix>[A-Za-z0-9]+)_(?P<local>[A-Za-z0-9]+)\b|_(?P<lang>[A-Za-z]{2,8})\b)?"
)
_INTEGER = re.compile(r"[+-]?\d+")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]*$")
_CHECKS = {
    "integer": int,
    "decimal": Decimal,
    "double": float,
    "float": float,
    "boolean": lambda v: {"true": True, "false": False, "1": True, "0": False}[v],
    "date": date.fromisoformat,
    "dateTime": lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")),
}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a canned query: its name, what value it takes and how it is bound."""

    name: str
    variable: str  # the variable it binds, without '?': _run_iri
    kind: str  # iri, string, number, integer, language (a tagged string) or typed (a datatype IRI)
    required: bool
    datatype: str | None = None  # the datatype IRI of a typed literal
    language: str | None = None
    default: str | None = None
    example: str | None = None
    description: str = ""
    choices: tuple[str, ...] = ()

    def term(self, value: str) -> str:
        """Return the RDF term ``value`` stands for, in SPARQL syntax, or raise :class:`QueryError`."""
        if self.choices and value not in self.choices:
            raise QueryError(f"parameter {self.name!r} must be one of {', '.join(self.choices)}; got {value!r}")
        if self.kind == "iri":
            return f"<{_iri(self.name, value)}>"
        if self.kind == "language":
            return f"{rdf.string(value)}@{self.language}"
        if self.kind == "number":
            return _typed(self.name, value, XSD.integer if _INTEGER.fullmatch(value) else XSD.decimal)
        if self.kind == "integer":  # written bare, so that it can also be a LIMIT or an OFFSET
            if not _INTEGER.fullmatch(value):
                raise QueryError(f"parameter {self.name!r} must be an xsd:integer; got {value!r}")
            return str(int(value))
        if self.kind == "typed":
            assert self.datatype is not None
            return _typed(self.name, value, self.datatype)
        return rdf.string(value)

    def describe_type(self) -> str:
        """Return the kind of value, as a user reads it: ``IRI``, ``integer``, ``xsd:dateTime``..."""
        if self.kind == "typed" and self.datatype:
            return compact(self.datatype)
        return {"iri": "IRI", "language": f"string@{self.language}"}.get(self.kind, self.kind)


def _iri(name: str, value: str) -> str:
    prefix, _, local = value.partition(":")
    if prefix in PREFIXES and not local.startswith("//"):
        value = PREFIXES[prefix] + local
    if not _IRI.match(value):
        raise QueryError(f"parameter {name!r} must be an absolute IRI (or provml:Name); got {value!r}")
    return value


def _typed(name: str, value: str, datatype: str) -> str:
    local = datatype.removeprefix(XSD_NS)
    check = _CHECKS.get(local) if datatype.startswith(XSD_NS) else None
    if check is not None:
        try:
            check(value)
        except (ValueError, KeyError, InvalidOperation):
            raise QueryError(f"parameter {name!r} must be an xsd:{local}; got {value!r}") from None
    return rdf.typed(value, datatype)


@dataclass(frozen=True)
class CannedQuery:
    """A query of the library: its name (the file stem), header, parameters and SPARQL text."""

    name: str
    summary: str
    sparql: str  # the whole file: the header is made of comments
    description: str = ""
    tags: tuple[str, ...] = ()
    method: str = "GET"
    parameters: tuple[Parameter, ...] = ()
    source: str | None = None

    @classmethod
    def parse(cls, name: str, text: str, *, source: str | Path | None = None) -> CannedQuery:
        """Read a query file's text; a malformed header is a :class:`QueryError` naming the file and line."""
        header_lines = [(n, line[2:]) for n, line in enumerate(text.splitlines(), 1) if line.startswith("#+")]
        try:
            header = yaml.safe_load("\n".join(line for _, line in header_lines)) or {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = header_lines[min(mark.line, len(header_lines) - 1)][0] if mark is not None else None
            raise QueryError(f"the #+ header is not valid YAML: {error}", source=source, line=line) from None
        if not isinstance(header, dict):
            raise QueryError("the #+ header must be a YAML mapping (summary:, tags:...)", source=source, line=1)
        if unknown := set(header) - HEADER_KEYS:
            raise QueryError(f"unknown header keys {sorted(unknown)}; known: {sorted(HEADER_KEYS)}", source=source)
        if not isinstance(header.get("summary"), str) or not header["summary"].strip():
            raise QueryError("the header needs a summary: one line saying what the query answers", source=source)
        tags = header.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise QueryError("tags must be a list of strings", source=source)
        try:
            parameters = _parameters(text, header)
        except QueryError as error:
            raise QueryError(error.message, source=source) from None
        return cls(
            name=name,
            summary=header["summary"].strip(),
            sparql=text,
            description=str(header.get("description") or "").strip(),
            tags=tuple(tags),
            method=str(header.get("method") or "GET").upper(),
            parameters=parameters,
            source=str(source) if source is not None else None,
        )

    @property
    def body(self) -> str:
        """Return the SPARQL without the ``#+`` header lines."""
        return "\n".join(line for line in self.sparql.splitlines() if not line.startswith("#+")).strip()

    def taxonomy(self) -> dict[str, list[str]]:
        """Return the query's tags of each taxonomy dimension: ``{"phase": ["training"], ...}``."""
        found: dict[str, list[str]] = {dimension: [] for dimension in TAXONOMY}
        for tag in self.tags:
            dimension, _, value = tag.partition(":")
            if dimension in found:
                found[dimension].append(value)
        return found

    def bindings(self, values: dict[str, str]) -> dict[str, str]:
        """Return the term (SPARQL text) of each parameter variable for ``values`` (by parameter name),
        defaults filling the gaps; optional parameters without a value are left out."""
        known = {p.name: p for p in self.parameters}
        if unknown := sorted(set(values) - set(known)):
            hint = f"; it takes {', '.join(sorted(known))}" if known else "; it takes no parameters"
            raise QueryError(f"query {self.name!r} has no parameter {', '.join(map(repr, unknown))}{hint}")
        bound: dict[str, str] = {}
        for parameter in self.parameters:
            value = values.get(parameter.name, parameter.default)
            if value is None:
                if parameter.required:
                    example = f" (e.g. --param {parameter.name}={parameter.example})" if parameter.example else ""
                    raise QueryError(f"query {self.name!r} needs parameter {parameter.name!r}{example}")
                continue
            bound[parameter.variable] = parameter.term(str(value))
        return bound

    def text(self, values: dict[str, str] | None = None) -> str:
        """Return the SPARQL text with each parameter given a value (or a default) replaced by its term."""
        bound = self.bindings(values or {})
        if not bound:
            return self.sparql
        variables = re.compile(r"[?$](" + "|".join(map(re.escape, bound)) + r")(?![A-Za-z0-9_])")
        return "\n".join(
            line if line.lstrip().startswith("#") else variables.sub(lambda m: bound[m[1]], line)
            for line in self.sparql.splitlines()
        )

    def run(self, store: Store, values: dict[str, str] | None = None) -> QueryResult:
        """Run the query over ``store`` with parameter ``values`` (by name, as text)."""
        return store.query(self.text(values))


def _parameters(text: str, header: dict[str, Any]) -> tuple[Parameter, ...]:
    """Return the parameters of a query: its ``?_name`` variables, described by the header."""
    defaults = _named_list(header.get("defaults"), "defaults")
    choices = _named_list(header.get("enumerate"), "enumerate")
    described = header.get("params") or {}
    if not isinstance(described, dict):
        raise QueryError("params must map each parameter name to its description and example")
    query = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    found: dict[str, Parameter] = {}
    for match in _PARAMETER.finditer(query):
        name, variable = match["name"], match[0][1:]
        about = described.get(name) or {}
        if not isinstance(about, dict):
            raise QueryError(f"params: {name}: give description: and example:")
        kind, datatype = _kind(match)
        parameter = Parameter(
            name=name,
            variable=variable,
            kind=kind,
            required=match["underscores"] == "_",
            datatype=datatype,
            language=match["lang"],
            default=None if (d := defaults.get(name)) is None else str(d),
            example=None if (e := about.get("example")) is None else str(e),
            description=str(about.get("description") or "").strip(),
            choices=tuple(str(c) for c in choices.get(name) or ()),
        )
        if (seen := found.get(name)) is not None and seen.variable != variable:
            raise QueryError(f"parameter {name!r} is used as both ?{seen.variable} and ?{variable}")
        found[name] = parameter
    if unknown := sorted((set(defaults) | set(choices) | set(described)) - set(found)):
        raise QueryError(f"the header describes {', '.join(unknown)}, which the query does not use as ?_name")
    return tuple(found.values())


def _kind(match: re.Match[str]) -> tuple[str, str | None]:
    """Return the kind of value a parameter variable takes, and its datatype IRI if it is a typed literal."""
    if match["prefix"]:
        if match["prefix"] not in PREFIXES:
            raise QueryError(f"{match[0]}: unknown prefix {match['prefix']!r} (known: {', '.join(PREFIXES)})")
        return "typed", PREFIXES[match["prefix"]] + match["local"]
    if match["lang"]:
        return "language", None
    return {"literal": "string", None: "string"}.get(match["kind"], match["kind"]), None


def _named_list(value: Any, key: str) -> dict[str, Any]:
    """Read grlc's ``- name: value`` lists (``defaults``, ``enumerate``) as one mapping."""
    if value is None:
        return {}
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) for item in items):
        raise QueryError(f"{key} must be a list of 'name: value' entries")
    return {name: v for item in items for name, v in item.items()}


class Library:
    """The canned queries of a directory (the shipped ``queries/`` by default), by name.

    A file that does not parse does not hide the others: it is kept in :attr:`broken`, and asking
    for it by name raises its error.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or queries_dir()
        self.queries: dict[str, CannedQuery] = {}
        self.broken: dict[str, QueryError] = {}
        for path in sorted(self.directory.glob("*.rq")):
            try:
                self.queries[path.stem] = CannedQuery.parse(path.stem, path.read_text(encoding="utf-8"), source=path)
            except QueryError as error:
                self.broken[path.stem] = error

    def __iter__(self) -> Iterator[CannedQuery]:
        return iter(self.queries.values())

    def __len__(self) -> int:
        return len(self.queries)

    def get(self, name: str) -> CannedQuery:
        """Return the query named ``name``, or raise :class:`QueryError` suggesting close names."""
        stem = name.removesuffix(".rq")
        if (query := self.queries.get(stem)) is not None:
            return query
        if (error := self.broken.get(stem)) is not None:
            raise error
        close = difflib.get_close_matches(name, self.queries, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `provml queries list` shows them"
        raise QueryError(f"no canned query named {name!r}{hint}")

    def tagged(self, tag: str | None) -> list[CannedQuery]:
        """Return the queries with tag ``tag`` (``phase:training``, or a bare value: ``training``)."""
        if tag is None:
            return list(self)
        return [q for q in self if tag in q.tags or any(t.partition(":")[2] == tag for t in q.tags)]


@cache
def shipped() -> Library:
    """Return the library of the queries shipped with provml (read once)."""
    return Library()
