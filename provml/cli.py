"""The ``provml`` command line: load dumps, query, list and drop graphs, export, stats, demo.

Errors are printed as one line (``file:line: message``) without a traceback; the exit status is
0 on success, 2 on an error.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from provml import __version__, loaders
from provml.errors import InputError, ProvmlError, ProvmlWarning, ValidationError
from provml.ids import IriMinter
from provml.loading import FileOutcome, find_sources, load_sources
from provml.store import RDF_FORMATS, RESULT_FORMATS, DumpInfo, QueryResult, Store, Term, open_store
from provml.vocab import PREFIXES

if TYPE_CHECKING:
    from provml.validation import LoadValidation

app = typer.Typer(
    name="provml",
    help="Provenance of machine-learning workflows as a PROV-ML knowledge graph.\n\n"
    "Load event files into an embedded Oxigraph store, query it with SPARQL, export it.\n\n"
    "Example: provml demo && provml stats",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        "-s",
        help="Store directory, or the URL of a SPARQL 1.1 endpoint for a remote store (http://host:8890/sparql; "
        "see docs/SCALING.md) (default: $PROVML_STORE, else ./provml-store).",
        show_default=False,
    ),
]
ShapesOption = Annotated[
    list[Path] | None,
    typer.Option("--shapes", help="SHACL shapes (Turtle) to check besides the shipped ones; repeat for more."),
]
EngineOption = Annotated[
    str,
    typer.Option(
        "--engine", help="fast (SHACL compiled to SPARQL over Oxigraph) or pyshacl (pySHACL, the full reference)."
    ),
]
ValidateOption = Annotated[
    bool,
    typer.Option("--validate/--no-validate", help="Check each dump with the SHACL shapes before it is stored."),
]
_REPORT_LIMIT = 10  # results shown per shape and constraint in reports printed by load
FormatOption = Annotated[
    str,
    typer.Option("--format", help="table, or json/xml/csv/tsv for solutions, turtle/ntriples/... for graphs."),
]
BaseOption = Annotated[
    str | None,
    typer.Option("--base", help="Base of minted IRIs [default: $PROVML_BASE or urn:provml:].", show_default=False),
]


def _open(store: str | None, base: str | None = None) -> Store:
    return open_store(store, ids=IriMinter(base))


def _version(value: bool) -> None:
    if value:
        out.print(f"provml {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Provenance of machine-learning workflows as a PROV-ML knowledge graph."""


# -- load ----------------------------------------------------------------------------------


Sources = list[tuple[loaders.Source, loaders.Loader]]


def _load_with_progress(
    db: Store, sources: Sources, force: bool, check: LoadValidation | None = None, jobs: int = 1
) -> list[FileOutcome]:
    """Load sources as ``provml.loading.load_sources`` does, with a progress bar on a terminal.

    What the loaders recovered from or repaired (a torn last line, a wrong namespace) is printed as
    notes on stderr.
    """
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ProvmlWarning)
        outcomes = _load_sources_with_bar(db, sources, force, check, columns, jobs)
    for warning in caught:
        err.print(f"note: {warning.message}", markup=False)
    return outcomes


def _size(source: loaders.Source) -> int:
    """Return the bytes a source holds (a directory's files summed; 0 for a URI)."""
    if isinstance(source, str):
        return 0
    if source.is_dir():
        return sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    return source.stat().st_size


def _load_sources_with_bar(
    db: Store, sources: Sources, force: bool, check: LoadValidation | None, columns: tuple[Any, ...], jobs: int
) -> list[FileOutcome]:
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        bar = progress.add_task("loading", total=sum(_size(source) for source, _ in sources))
        return load_sources(
            db,
            sources,
            force=force,
            check=check or False,
            on_file=lambda source: progress.update(
                bar, description=source.name if isinstance(source, Path) else source
            ),
            on_bytes=lambda n: progress.advance(bar, n),
            jobs=jobs,
        )


_MAX_FILE_ROWS = 20  # beyond this many files, the summary groups them by status


def _summary(outcomes: list[FileOutcome], title: str) -> Table:
    """Return a table of what each file became, or of counts per status when there are many files."""
    triples = sum(o.result.triples for o in outcomes if o.result)
    if len(outcomes) <= _MAX_FILE_ROWS:
        table = Table("file", "format", "triples", "shared", "status", title=title)
        for o in outcomes:
            counts = (f"{o.result.triples:,}", f"{o.result.shared_triples:,}") if o.result else ("", "")
            table.add_row(escape(str(o.path)), o.loader, *counts, o.status if o.error is None else "[red]failed[/red]")
        table.add_row(f"total: {len(outcomes)} files", "", f"{triples:,}", "", "", style="bold")
        return table
    table = Table("status", "files", "triples", title=title)
    for status in ("loaded", "replaced", "unchanged", "failed"):
        group = [o for o in outcomes if o.status == status]
        if group:
            table.add_row(status, f"{len(group):,}", f"{sum(o.result.triples for o in group if o.result):,}")
    table.add_row("total", f"{len(outcomes):,}", f"{triples:,}", style="bold")
    return table


@app.command()
def load(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Files, directories (searched recursively) or URIs (an MLflow tracking server).", show_default=False
        ),
    ],
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="Force a format instead of detecting it (see `provml formats`)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Reload dumps even when their content did not change.")
    ] = False,
    validate: ValidateOption = True,
    accept_invalid: Annotated[
        bool,
        typer.Option(
            "--accept-invalid", help="Store dumps that have violations anyway; the catalog keeps their report."
        ),
    ] = False,
    shapes: ShapesOption = None,
    engine: EngineOption = "fast",
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=64,
            help="Chunks written at once, by threads, while the next are read: 2 loads a directory of many files "
            "1.4-1.5x as fast as 1 on 2 cores without validation, 0.8-0.9x with it (docs/BENCHMARKS.md section 11).",
        ),
    ] = 1,
    store: StoreOption = None,
    base: BaseOption = None,
) -> None:
    """Load dumps into the store, one named graph each; reloading a dump replaces its graph.

    Each file, each directory a loader reads whole (an MLflow tracking directory) and each URI is one
    dump; its format is detected (see `provml formats`) unless --format names it. A dump that fails to
    load is reported with its file and record and leaves the store as it was; the others still load.

    Each dump is validated with the SHACL shapes (the shipped ones, plus --shapes) before it is stored:
    a dump with violations is refused whole and its report printed; warnings are printed and kept.

    Example: provml load runs/ curation.jsonl
    """
    found = find_sources([source if loaders.is_uri(source) else Path(source) for source in sources], format)
    check = _load_validation(shapes, engine, accept_invalid) if validate else None
    started = time.perf_counter()
    with _open(store, base) as db:
        outcomes = _load_with_progress(db, found, force, check, jobs)
    seconds = time.perf_counter() - started
    out.print(_summary(outcomes, title=f"Loaded into {db.location} in {seconds:.1f} s"))
    _print_reports(outcomes)
    failed = [o for o in outcomes if o.error is not None]
    for outcome in failed:
        err.print(f"error: {outcome.error}", markup=False)
    if failed:
        raise typer.Exit(2)


def _load_validation(shapes: list[Path] | None, engine: str, accept_invalid: bool) -> LoadValidation:
    from provml.validation import LoadValidation, shipped_shapes

    return LoadValidation(shipped_shapes(shapes or ()), engine=engine, accept_invalid=accept_invalid)


def _print_reports(outcomes: list[FileOutcome]) -> None:
    """Print the validation report of each refused dump, and one line per dump stored with results."""
    for outcome in outcomes:
        if isinstance(outcome.error, ValidationError):
            err.print(f"{outcome.path}: {outcome.error.report.text(limit=_REPORT_LIMIT)}\n", markup=False)
            continue
        report = outcome.result.report if outcome.result is not None else None
        if report is not None and not report.conforms:
            graph = outcome.result.graph  # type: ignore[union-attr]
            err.print(f"note: {outcome.path}: {report.summary()}; see `provml validate --graph {graph}`", markup=False)


@app.command()
def formats() -> None:
    """List the input formats provml reads.

    Example: provml formats
    """
    table = Table("name", "sources", "reads")
    for loader in loaders.available():
        kinds = [*loader.extensions, *(["directory"] if loader.directories else [])]
        kinds += [f"{scheme}://" for scheme in loader.schemes]
        table.add_row(loader.name, " ".join(kinds), loader.description)
    out.print(table)


# -- query ---------------------------------------------------------------------------------


def _compact(term: Term | None, base: str) -> str:
    if term is None:
        return ""
    if term.kind == "iri":
        for prefix, namespace in (*PREFIXES.items(), ("id", base)):
            if term.value.startswith(namespace) and len(term.value) > len(namespace):
                return f"{prefix}:{term.value[len(namespace) :]}"
        return f"<{term.value}>"
    if term.kind == "bnode":
        return f"_:{term.value}"
    return term.value


def _read_query(text: str | None, file: Path | None) -> str:
    if text is not None and file is not None:
        raise InputError("give the query inline or with --file, not both")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror}", source=file) from None
    if text is not None:
        return text
    if sys.stdin.isatty():
        raise InputError("no query: give it inline, with --file, or on standard input")
    return sys.stdin.read()


@app.command()
def query(
    sparql: Annotated[str | None, typer.Argument(help="The SPARQL query (or use --file, or standard input).")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the query from a .rq file.")] = None,
    format: FormatOption = "table",
    entailed: Annotated[
        bool,
        typer.Option(
            "--entailed/--asserted",
            help="Include the entailment graph (what the linked ontologies entail, see provml link), or read "
            "only the asserted graphs.",
        ),
    ] = True,
    store: StoreOption = None,
) -> None:
    """Run a SPARQL query over the union of all graphs.

    The prefixes provml, prov, mls, rdf, rdfs, xsd and owl are predefined.

    Example: provml query 'SELECT ?run ?start WHERE { ?run a provml:TrainingExecution ; prov:startedAtTime ?start }'
    """
    text = _read_query(sparql, file)
    _check_output_format(format)
    with _open(store) as db:
        _print_result(db.query(text, entailed=entailed), format, db.ids.base)


def _check_output_format(format: str) -> None:
    if format != "table" and format not in RESULT_FORMATS and format not in RDF_FORMATS:
        known = ", ".join(["table", *RESULT_FORMATS, *RDF_FORMATS])
        raise InputError(f"unknown output format {format!r}; use one of {known}")


def _print_result(result: QueryResult, format: str, base: str) -> None:
    """Print a query result as a table (row count on stderr), or serialized in a standard format."""
    if format != "table":
        result.serialize(sys.stdout.buffer, format)
        sys.stdout.buffer.flush()
        return
    if result.kind == "ask":
        out.print("true" if result else "false")
        return
    table = Table(*result.variables)
    count = 0
    for row in result:
        table.add_row(*(escape(_compact(term, base)) for term in row))
        count += 1
    out.print(table)
    err.print(f"{count} row{'s' * (count != 1)}")


# -- queries: the canned query library -----------------------------------------------------

queries_app = typer.Typer(
    help="The canned query library: analyses of ML provenance, ready to run, organised by a taxonomy.\n\n"
    "Tags name the lifecycle phase (phase:curation, phase:training, phase:evaluation, phase:deployment), the "
    "data joined (data:domain, data:ml, data:execution), when it is asked (timing:online, timing:offline) and "
    "the direction (direction:backward, direction:forward, direction:comparison, direction:aggregation).\n\n"
    "Example: provml queries list --tag training && provml queries run training-curve --param run=train-003",
    no_args_is_help=True,
)
app.add_typer(queries_app, name="queries")


@queries_app.command("list")
def queries_list(
    tag: Annotated[
        str | None, typer.Option("--tag", "-t", help="Only queries with this tag (phase:training, or training).")
    ] = None,
) -> None:
    """List the canned queries: name, summary, parameters and tags.

    Example: provml queries list --tag direction:backward
    """
    from provml.canned import TAGS, shipped

    if tag is not None and tag not in TAGS and tag not in {known.partition(":")[2] for known in TAGS}:
        raise InputError(f"unknown tag {tag!r}; use one of {', '.join(sorted(TAGS))}")
    table = Table("name", "summary", "parameters", "tags")
    for canned in shipped().tagged(tag):
        parameters = " ".join(p.name + ("" if p.required and p.default is None else "?") for p in canned.parameters)
        table.add_row(canned.name, escape(canned.summary), parameters, " ".join(canned.tags))
    out.print(table)


@queries_app.command("show")
def queries_show(name: Annotated[str, typer.Argument(help="The query's name (see `provml queries list`).")]) -> None:
    """Show a canned query: what it answers, its parameters (type, default, example) and its SPARQL.

    Example: provml queries show training-curve
    """
    from provml.canned import shipped

    canned = shipped().get(name)
    out.print(f"[bold]{canned.name}[/]: {escape(canned.summary)}")
    if canned.description:
        out.print(escape(canned.description))
    out.print(f"tags: {' '.join(canned.tags)}")
    for p in canned.parameters:
        need = "required" if p.required and p.default is None else f"default {p.default}" if p.default else "optional"
        example = f"; e.g. {p.example}" if p.example else ""
        out.print(f"  --param {p.name}=... ({p.describe_type()}, {need}{example}) {escape(p.description)}")
    out.print()
    out.print(escape(canned.body))


@queries_app.command("run")
def queries_run(
    name: Annotated[str, typer.Argument(help="The query's name (see `provml queries list`).")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A parameter as name=value; repeat for more.")
    ] = None,
    format: FormatOption = "table",
    store: StoreOption = None,
) -> None:
    """Run a canned query over the union of all graphs.

    Example: provml queries run best-runs --param metric=accuracy --format csv
    """
    from provml.canned import shipped

    canned = shipped().get(name)
    values: dict[str, str] = {}
    for item in param or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--param {item!r}: write it as name=value")
        values[key.strip()] = value
    text = canned.text(values)  # checks the parameters before the store is opened
    _check_output_format(format)
    with _open(store) as db:
        _print_result(db.query(text), format, db.ids.base)


# -- validate ------------------------------------------------------------------------------


@app.command()
def validate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or directories to validate instead of the store (read as `provml load` reads them)."
        ),
    ] = None,
    graph: Annotated[
        str | None,
        typer.Option("--graph", "-g", help="Validate what one dump describes (its IRI or the file loaded into it)."),
    ] = None,
    shapes: ShapesOption = None,
    engine: EngineOption = "fast",
    format: Annotated[str, typer.Option("--format", help="text, turtle (a sh:ValidationReport) or json.")] = "text",
    limit: Annotated[int, typer.Option(min=1, help="Results shown per shape and constraint in the text report.")] = 20,
    allow_warnings: Annotated[
        bool, typer.Option("--allow-warnings", help="Exit 0 when there are only warnings and infos.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Check the store, one dump, or files against the SHACL shapes; exit 0 if they conform, 1 if not.

    The shipped shapes (see docs/shapes.md) check every PROV-ML class; --shapes adds your own. The
    text report groups results by shape and constraint, with focus node, path, value and message.

    Example: provml validate --graph runs/train-003.jsonl --format json
    """
    from provml.validation import validate as run_validation

    if format not in ("text", "turtle", "json"):
        raise InputError(f"unknown report format {format!r}; use text, turtle or json")
    if files and graph is not None:
        raise InputError("validate files or a graph of the store, not both")
    rules = _load_validation(shapes, engine, False).shapes  # an unknown engine fails here, before any work
    if files:
        db = Store()
        outcomes = load_sources(db, find_sources(list(files)), check=False)
        for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
    else:
        db = _open(store)
    with db:
        focus = None
        if graph is not None:
            info = db.dump(_graph_of(db, graph))
            if info is None:
                raise InputError(f"no such dump graph: {graph} (see `provml graphs`)")
            focus = [info.graph, *info.graphs]
        report = run_validation(db, rules, engine=engine, focus_graphs=focus)
    if format == "text":
        out.print(report.text(limit=limit), markup=False)
    else:
        sys.stdout.write(report.turtle() if format == "turtle" else report.json() + "\n")
    counts = report.counts()
    if counts.get("Violation") or not (allow_warnings or report.conforms):
        raise typer.Exit(1)


# -- graphs, drop, export, stats -----------------------------------------------------------


def _graph_of(db: Store, graph: str) -> str:
    """Return the graph IRI named by ``graph``: the IRI itself, or the path of the file loaded into it."""
    source = str(Path(graph).resolve()) if Path(graph).exists() else None
    return next((d.graph for d in db.dumps() if source is not None and d.source == source), graph)


@app.command()
def link(
    ontologies: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Ontology files: Turtle (.ttl), N-Triples (.nt), RDF/XML (.rdf, .owl), OWL/XML (.owx, .owl).",
            show_default=False,
        ),
    ] = None,
    imports: Annotated[
        list[Path] | None,
        typer.Option(
            "--imports",
            "-i",
            help="A folder of ontologies that they import (their own folders are searched too); repeat for more.",
        ),
    ] = None,
    ignore_import: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore-import",
            help="The IRI of an import to go without, when no local file holds it; repeat for more.",
        ),
    ] = None,
    suggest: Annotated[
        bool,
        typer.Option(
            "--suggest",
            help="Link nothing: write, for review, the PROV-ML, PROV-O and ML Schema terms whose labels are like "
            "those of the ontologies' classes and properties, as skos:closeMatch statements in Turtle.",
        ),
    ] = False,
    min_score: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="With --suggest: the label similarity a candidate must reach.")
    ] = 0.8,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="With --suggest: write the Turtle there, not to stdout.")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="A SPARQL endpoint to ask, after linking, for the labels and definitions of the IRIs the store "
            "refers to without a label (domain concepts, terms of mappings); it must be allow-listed.",
        ),
    ] = None,
    allow_remote: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-remote",
            help="A place provml may fetch from (http://host:port/path): the --endpoint, and imports no local "
            "file holds; repeat for more. $PROVML_ALLOW_REMOTE adds more, separated by spaces.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="First check with HermiT (needs Java and owlready2) that PROV-ML with every linked "
            "ontology is consistent and has no unsatisfiable class; link nothing if not.",
        ),
    ] = True,
    store: StoreOption = None,
) -> None:
    """Link ontologies to the store, each into the named graph of its IRI, with the ontologies they import.

    Imports are read from local files, or fetched from places --allow-remote names, never from others; PROV-O,
    ML Schema and PROV-ML are provml's own and are linked too. Linking a changed file again replaces its
    graph; an unchanged one is skipped. The linked ontologies are listed by `provml graphs` (loader "ontology").

    With --suggest, link nothing: propose mappings of their terms to provml's, by label similarity, as a
    Turtle file to review, edit and link. With --endpoint, then ask an allow-listed SPARQL endpoint for the
    labels and definitions the store lacks, kept in a cache graph of that endpoint.

    Example: provml link geology.owl --imports ./ontologies
    """
    if not ontologies and endpoint is None:
        raise InputError("give ontology files to link, or an --endpoint to fetch labels from")
    if suggest:
        _suggest(ontologies or [], min_score, output)
        return
    from provml.endpoints import allow_list

    allowed = allow_list(allow_remote or ())
    with _open(store) as db:
        if ontologies:
            _link(db, ontologies, imports or [], ignore_import or [], allowed, check)
        if endpoint is not None:
            from provml.endpoints import fetch_descriptions

            with err.status(f"asking {endpoint}"):
                fetched = fetch_descriptions(db, endpoint, allowed)
            err.print(
                f"{endpoint} described {fetched.described:,} of the {fetched.asked:,} IRIs without a label: "
                f"{fetched.triples:,} triples in {fetched.graph}"
            )


def _suggest(ontologies: list[Path], min_score: float, output: Path | None) -> None:
    """Write the suggested mappings of ``ontologies`` to ``output`` (stdout if None)."""
    from provml.linking import read_ontology
    from provml.suggest import as_turtle, suggest

    found = suggest([read_ontology(path) for path in ontologies], min_score=min_score)
    text = as_turtle(found)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    err.print(f"{_plural(len(found), 'suggested mapping')}, for review (score >= {min_score:g})")


def _link(
    db: Store, ontologies: list[Path], imports: list[Path], ignore: list[str], allowed: tuple[str, ...], check: bool
) -> None:
    """Link ``ontologies`` and print what each became, and the entailment graph."""
    from provml.linking import link

    with err.status("linking, checking with HermiT, computing the entailment graph" if check else "linking"):
        linked = link(db, ontologies, search=imports, ignore=ignore, allow=allowed, check=check)
    table = Table("ontology graph", "triples", "")
    for result in linked.loads:
        what = "unchanged" if result.skipped else "replaced" if result.replaced else "linked"
        table.add_row(escape(result.graph), f"{result.triples:,}", what)
    out.print(table)
    if check:
        err.print("HermiT: PROV-ML with the linked ontologies is consistent; no class is unsatisfiable.")
    entailment = linked.entailment
    err.print(
        f"entailment graph {entailment.graph}: {entailment.triples:,} triples in {entailment.rounds} rounds "
        f"({entailment.seconds:.1f} s); `provml query --asserted` leaves it out"
    )


@app.command()
def graphs(store: StoreOption = None) -> None:
    """List the loaded dumps: graph (and the named graphs its input brought), source, loader, triple count,
    SHACL validation at load (violations and warnings, "-" if loaded without), time.

    Example: provml graphs
    """
    with _open(store) as db:
        dumps = db.dumps()
    table = Table("graph", "source", "loader", "triples", "shapes", "loaded at")
    for d in dumps:
        named = "".join(f"\n  + {escape(name)}" for name in d.graphs)  # the named graphs its input brought
        table.add_row(
            escape(d.graph) + named, escape(d.source), d.loader, f"{d.triples:,}", _validation(d), d.loaded_at
        )
    out.print(table)


def _validation(dump: DumpInfo) -> str:
    """Describe a dump's validation at load: ``ok``, ``3 violations, 1 warning``, or ``-`` if not validated."""
    if dump.violations is None:
        return "-"
    said = []
    if dump.violations:
        said.append(f"[red]{_plural(dump.violations, 'violation')}[/]")
    if dump.warnings:
        said.append(_plural(dump.warnings, "warning"))
    return ", ".join(said) or "[green]ok[/]"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@app.command()
def drop(
    graph: Annotated[str, typer.Argument(help="The dump's graph IRI, or the path of the file it was loaded from.")],
    store: StoreOption = None,
) -> None:
    """Remove one dump's graph and its catalog entry.

    Example: provml drop runs/train-003.jsonl
    """
    from provml.entailment import refresh_if_kept

    with _open(store) as db:
        info = db.drop(_graph_of(db, graph))
        refresh_if_kept(db)  # without what the dump entailed
    out.print(f"dropped {info.graph} ({info.triples:,} triples from {info.source})")


@app.command()
def export(
    format: Annotated[
        str, typer.Option("--format", "-f", help=f"One of {', '.join(RDF_FORMATS)}, prov-json.")
    ] = "trig",
    graph: Annotated[
        str | None, typer.Option("--graph", "-g", help="Export only this graph (its IRI or the file loaded into it).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file [default: stdout].")] = None,
    store: StoreOption = None,
) -> None:
    """Export the store, or one graph, as RDF or PROV-JSON; turtle/ntriples/rdfxml of the whole store give the union.

    prov-json writes the PROV-O of the store (or of one dump, its PROV bundles as bundles) as a PROV document.

    Example: provml export --format nquads -o backup.nq
    """
    with _open(store) as db:
        graph = _graph_of(db, graph) if graph is not None else None
        if output is None:
            _export_to(db, sys.stdout.buffer, format, graph)
            sys.stdout.buffer.flush()
        else:
            with output.open("wb") as stream:
                _export_to(db, stream, format, graph)


def _export_to(db: Store, stream: Any, format: str, graph: str | None) -> None:
    """Write the store (or one graph) in ``format``: an RDF format, or PROV-JSON."""
    if format not in (*RDF_FORMATS, "prov-json"):
        raise ProvmlError(f"unknown export format {format!r}; use one of {', '.join(RDF_FORMATS)}, prov-json")
    if format == "prov-json":
        try:
            from provml.prov_export import write_prov_json
        except ImportError as error:
            raise ProvmlError(f"exporting PROV-JSON needs the prov package ({error}): pip install prov") from None
        write_prov_json(db, stream, graph=graph)
    else:
        db.export(stream, format, graph=graph)


@app.command()
def stats(store: StoreOption = None) -> None:
    """Print the size of the store and counts of its main PROV-ML things.

    Example: provml stats
    """
    with _open(store) as db:
        counts, where = db.stats(), db.location
    table = Table("what", "count", title=where)
    for name, value in counts.items():
        table.add_row(name, f"{value:,}")
    out.print(table)


# -- consume -------------------------------------------------------------------------------


@app.command()
def consume(
    uri: Annotated[str, typer.Argument(help="The stream: redis://host:port/db?stream=NAME (rediss:// for TLS).")],
    group: Annotated[str, typer.Option(help="Consumer group; its consumers share the stream out.")] = "provml",
    consumer: Annotated[
        str | None,
        typer.Option(
            help="This consumer's name in the group [default: the host name]; started again under the same "
            "name, it first loads what it had not acknowledged.",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Events per batch, each loaded atomically as one dump.")] = 10_000,
    once: Annotated[bool, typer.Option("--once", help="Stop when no new event comes, instead of waiting.")] = False,
    validate: ValidateOption = True,
    store: StoreOption = None,
    base: BaseOption = None,
) -> None:
    """Load events from a Redis stream as they arrive, one dump per batch, until Ctrl-C or SIGTERM.

    A batch is acknowledged only once it is stored: a consumer killed mid-batch loses nothing. A
    batch with a bad record is reported and moved to the stream NAME:dead; the others still load.

    Example: provml consume 'redis://127.0.0.1:6379/0?stream=provml:events' --once
    """
    from provml.capture.redis import parse
    from provml.consume import BatchOutcome
    from provml.consume import consume as consume_stream

    dead = parse(uri)[1] + ":dead"  # a URI that is not Redis's fails here, before the store is opened

    def report(outcome: BatchOutcome) -> None:
        if outcome.error is not None:
            err.print(f"error: {outcome.error} ({outcome.events:,} events moved to {dead})", markup=False)
        elif outcome.result is not None:
            done = "already stored" if outcome.result.skipped else f"{outcome.result.triples:,} triples"
            out.print(f"{outcome.first}..{outcome.last}: {outcome.events:,} events, {done}", markup=False)

    with _open(store, base) as db:
        check = _load_validation(None, "fast", False) if validate else None
        total = consume_stream(
            db, uri, group=group, consumer=consumer, batch=batch, idle_exit=once, on_batch=report, check=check
        )
    out.print(
        f"consumed {total.batches:,} batches: {total.events:,} events, {total.triples:,} triples stored, "
        f"{total.dead_lettered:,} events moved to {dead}",
        markup=False,
    )
    if total.dead_lettered:
        raise typer.Exit(2)


# -- demo ----------------------------------------------------------------------------------


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the demo's event files.")] = Path(
        "provml-demo"
    ),
    runs: Annotated[int, typer.Option(min=1, max=10_000, help="Training runs in the hyperparameter sweep.")] = 12,
    epochs: Annotated[int, typer.Option(min=1, max=10_000, help="Epochs per training run.")] = 20,
    store: StoreOption = None,
) -> None:
    """Generate a realistic ML lifecycle, load it, and answer provenance questions about it.

    Seismic facies classification: curation of raw surveys, a hyperparameter sweep of U-Net
    training runs on GPU nodes, evaluation, deployment and inference.

    Example: provml demo --runs 20 --epochs 30 && provml graphs
    """
    from provml.demo import QUESTIONS

    with _open(store) as db:
        _load_demo(db, directory, runs, epochs)
        for question, sparql in QUESTIONS:
            result = db.query(sparql)
            table = Table(*result.variables, title=f"[bold]{question}[/bold]", title_justify="left")
            for row in result:
                table.add_row(*(escape(_compact(term, db.ids.base)) for term in row))
            out.print(table)
            out.print()
    out.print("Ask your own: provml query 'SELECT * WHERE { ?model a provml:Model } LIMIT 5'")


def _load_demo(db: Store, directory: Path, runs: int, epochs: int) -> None:
    """Write the demo lifecycle's event files to ``directory`` and load them into ``db``."""
    from provml.demo import link_demo, write_lifecycle

    files = write_lifecycle(directory, runs=runs, epochs=epochs)
    out.print(f"Wrote {len(files)} event files to {directory}/")
    check = _load_validation(None, "fast", False)
    outcomes = _load_with_progress(db, [(path, loaders.get("events")) for path in files], False, check)
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    total = db.stats()
    out.print(f"Loaded them into {db.location}: {total['quads']:,} quads in {total['dumps']} dumps")
    entailment = link_demo(db).entailment
    out.print(f"Linked the demo's geology ontology; its entailment graph holds {entailment.triples:,} triples\n")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; other machines reach it only if you say so (0.0.0.0).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="PROVML_TOKEN",
            help="Bearer token that writes (update, ingest, graph store) need; without one, read-only.",
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="First write the demo lifecycle to ./provml-demo and load it (`provml demo`)."),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a query may run; one that runs longer is stopped.")
    ] = 30.0,
    max_rows: Annotated[int, typer.Option(min=1, help="Rows (or triples) of one answer at most.")] = 100_000,
    max_body: Annotated[int, typer.Option(min=1024, help="Bytes of one request body at most.")] = 64 << 20,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes that run queries.")] = 2,
    answer_cache: Annotated[
        int,
        typer.Option(
            min=0,
            help="MiB of answers kept to send again for the same query until the next write (0: none).",
        ),
    ] = 32,
    allow_remote: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-remote", help="An endpoint SERVICE and LOAD may reach (http://host:port/path); repeat for more."
        ),
    ] = None,
    validate: ValidateOption = True,
    store: StoreOption = None,
) -> None:
    """Serve the store over HTTP: SPARQL endpoint, canned queries, ingest and the web UI.

    Routes: / (web UI), /sparql (SPARQL 1.1 Protocol), /graphs (Graph Store Protocol), /queries (canned
    queries), /ingest, /lineage, /health, /docs (OpenAPI). Reads are open; writes need the token.

    Example: PROVML_TOKEN=s3cret provml serve --port 8000
    """
    import uvicorn

    from provml.server import Settings, create_app

    db = _open(store)
    if demo:
        _load_demo(db, Path("provml-demo"), 12, 20)
    settings = Settings(
        token=token,
        query_timeout=timeout,
        max_rows=max_rows,
        max_body_bytes=max_body,
        workers=workers,
        answer_cache_bytes=answer_cache << 20,
        allow_remote=tuple(allow_remote or ()),
        check=_load_validation(None, "fast", False) if validate else None,
    )
    application = create_app(db, settings)
    mode = "writable with a token" if token else "read-only"
    err.print(f"provml serving {db.location} on http://{host}:{port} ({mode}); web UI at http://{host}:{port}/")
    logger = logging.getLogger("provml")  # the access log and server errors, one line each, on stderr
    logger.setLevel(logging.INFO)
    logger.addHandler(logging.StreamHandler(sys.stderr))
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


def main() -> None:
    """Run the CLI; print provml errors as one line and exit with status 2."""
    try:
        app()
    except ProvmlError as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
