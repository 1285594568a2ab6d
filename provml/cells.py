"""What the Python code of notebook cells does, read with :mod:`ast`: the names a cell defines and
uses, the files it reads and writes, the models it fits and the scores it computes.

Shared by the notebook loader (``provml.loaders.notebook``, for saved ``.ipynb`` files) and the
IPython extension (``provml.notebook``, for cells as they run). A :class:`CellReader` follows one
kernel session: give it the cells in the order they ran, since what a cell means depends on what
ran before it (imports, variables, estimators).

>>> cells = CellReader()
>>> first = cells.read('import pandas as pd\\ndf = pd.read_csv("iris.csv")')
>>> first.defined, [(f.role, f.path, f.call) for f in first.files]
({'df': 'df = pd.read_csv("iris.csv")'}, [('input', 'iris.csv', 'pandas.read_csv')])
>>> cells.read("X = df.drop(columns='species')").used
{'df': 'df = pd.read_csv("iris.csv")'}
>>> cells.read('out = "clean.csv"\\nX.to_csv(out)').files
[FileUse(path='clean.csv', role='output', call='to_csv', value='X')]
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

_MAX_TOKEN = 80  # characters of a defining statement kept as the value of the name it defines
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})  # %%magics whose body is Python
_FIT_METHODS = frozenset({"fit", "fit_predict"})
_PREDICT_METHODS = frozenset({"predict", "predict_proba", "predict_log_proba", "decision_function"})
_TRANSFORM_METHODS = frozenset({"fit_transform", "transform"})
_METRIC_SUFFIXES = ("_score", "_error", "_loss")

# function -> (role, position of the path argument, its keyword names, position of the value written)
_FILE_FUNCTIONS: dict[str, tuple[str, int, tuple[str, ...], int | None]] = {
    "numpy.load": ("input", 0, ("file",), None),
    "numpy.loadtxt": ("input", 0, ("fname",), None),
    "numpy.genfromtxt": ("input", 0, ("fname",), None),
    "numpy.fromfile": ("input", 0, ("file",), None),
    "joblib.load": ("input", 0, ("filename",), None),
    "torch.load": ("input", 0, ("f",), None),
    "pickle.load": ("input", 0, ("file",), None),
    "numpy.save": ("output", 0, ("file",), 1),
    "numpy.savez": ("output", 0, ("file",), 1),
    "numpy.savez_compressed": ("output", 0, ("file",), 1),
    "numpy.savetxt": ("output", 0, ("fname",), 1),
    "joblib.dump": ("output", 1, ("filename",), 0),
    "torch.save": ("output", 1, ("f",), 0),
    "pickle.dump": ("output", 1, ("file",), 0),
}
_PANDAS_READER = ("input", 0, ("filepath_or_buffer", "path", "io", "path_or_buf"), None)
_WRITE_METHODS = frozenset(
    {"to_csv", "to_parquet", "to_json", "to_excel", "to_pickle", "to_feather", "to_hdf", "to_orc", "savefig"}
)
_WRITE_METHOD_KEYWORDS = ("path_or_buf", "path", "excel_writer", "fname")
_OPENERS = frozenset({"open", "io.open", "pathlib.Path", "Path"})


@dataclass(frozen=True)
class FileUse:
    """A file a cell reads (``role`` input) or writes (output), as its code names it."""

    path: str
    role: str
    call: str
    value: str | None = None  # the variable written to the file, as in ``joblib.dump(model, path)``


@dataclass(frozen=True)
class Fit:
    """A model a cell fits: the variable holding it, its estimator class and literal parameters."""

    model: str
    estimator: str | None  # dotted name, as the notebook imported it (sklearn.ensemble.RandomForestClassifier)
    params: dict[str, Any]


@dataclass(frozen=True)
class Score:
    """A score a cell computes: its measure, the variable it is assigned to, whether it is the cell's
    value (its last expression), and the fitted model it evaluates."""

    measure: str
    target: str | None
    shown: bool
    model: str | None


@dataclass
class CellFacts:
    """What one cell does. Names map to a *token*: the first line of the statement that defined the
    name, the same in the cell that defines a value and in every cell that uses it."""

    defined: dict[str, str] = field(default_factory=dict)
    used: dict[str, str] = field(default_factory=dict)
    files: list[FileUse] = field(default_factory=list)
    fits: list[Fit] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    models_used: list[str] = field(default_factory=list)  # fitted models it predicts with or scores
    stage: str | None = None  # training, evaluation or dataprep
    syntax_error: str | None = None


class CellReader:
    """Read the cells of one kernel session, in the order they ran."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}  # local name -> dotted name it was imported as
        self.definitions: dict[str, str] = {}  # variable -> token of the cell that last defined it
        self.estimators: dict[str, tuple[str, dict[str, Any]]] = {}  # variable -> (class, literal parameters)
        self.fitted: set[str] = set()  # variables holding a fitted model
        self.handles: dict[str, str] = {}  # variable -> the path it holds, or of the file it holds open

    def read(self, source: str) -> CellFacts:
        """Return what a cell does, and remember what it defined for the cells that run after it."""
        facts = CellFacts()
        text = python_source(source)
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            text = without_magics(text)
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError) as error:
                facts.syntax_error = f"not Python: {error}"
                return facts
        _CellVisit(self, text, facts).run(tree.body)
        return facts

    def dotted(self, node: ast.expr) -> str | None:
        """Return the dotted name an expression calls, with imported names resolved (``pd.read_csv`` ->
        ``pandas.read_csv``), or None if it is not a plain name or attribute chain."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def learn_import(self, statement: ast.Import | ast.ImportFrom) -> None:
        """Remember the names an import statement binds."""
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    self.aliases[top] = top
            return
        module = "." * statement.level + (statement.module or "")
        for alias in statement.names:
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"


class _CellVisit:
    """One reading of one cell: walks its statements in order, filling its :class:`CellFacts`."""

    def __init__(self, reader: CellReader, text: str, facts: CellFacts) -> None:
        self.reader, self.lines, self.facts = reader, text.encode().splitlines(), facts  # ast's offsets are in bytes
        self.local: set[str] = set()  # names this cell bound so far
        self.deleted: set[str] = set()  # names this cell deleted last
        self.predicts = False

    def run(self, body: list[ast.stmt]) -> None:
        """Read the cell's statements, then tell the reader what the cell left defined and fitted."""
        for position, statement in enumerate(body):
            self.statement(statement, last=position == len(body) - 1)
        facts, reader = self.facts, self.reader
        files: dict[tuple[str, str], FileUse] = {}
        for use in facts.files:  # pickle.dump(model, open(path, "wb")): one file, the model written to it
            known = files.get((use.path, use.role))
            if known is None or (known.value is None and use.value is not None):
                files[use.path, use.role] = use
        facts.files = list(files.values())
        fitted_here = self.fitted_here()
        facts.models_used = sorted({m for m in facts.models_used if m in reader.fitted and m not in fitted_here})
        reader.definitions.update(facts.defined)
        for name in self.deleted:
            reader.definitions.pop(name, None)
        reader.fitted.update(fitted_here)
        if facts.fits:
            facts.stage = "training"
        elif facts.scores or self.predicts:
            facts.stage = "evaluation"

    def statement(self, statement: ast.stmt, *, last: bool) -> None:
        """Read one top-level statement: the names it uses and binds, then its calls."""
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            self.reader.learn_import(statement)
            return
        names = _Names()
        names.visit(statement)
        for name in names.loads:
            if name not in self.local and name in self.reader.definitions:
                self.facts.used.setdefault(name, self.reader.definitions[name])
        token = self.token(statement)
        for name in names.stores:
            self.local.add(name)
            self.facts.defined[name] = token
            self.reader.estimators.pop(name, None)
            self.reader.fitted.discard(name)
            self.reader.handles.pop(name, None)
            self.deleted.discard(name)
        for name in names.deletes:
            self.facts.defined.pop(name, None)
            self.deleted.add(name)
        target, value = _assignment(statement)
        if target is not None and isinstance(value, ast.Call):
            self.construction(target, value)
        nodes = list(ast.walk(statement))
        self.learn_handles(target, value, [node for node in nodes if isinstance(node, (ast.With, ast.AsyncWith))])
        shown = statement.value if last and isinstance(statement, ast.Expr) else None
        for call in (node for node in nodes if isinstance(node, ast.Call)):
            self.call(call, target if call is value else None, token, shown=call is shown)

    def token(self, statement: ast.stmt) -> str:
        """Return the first line of a statement's source: what the names it binds are said to hold."""
        line = self.lines[statement.lineno - 1]
        end = statement.end_col_offset if statement.end_lineno == statement.lineno else None
        return line[statement.col_offset : end].decode(errors="replace").strip()[:_MAX_TOKEN]

    def construction(self, target: str, call: ast.Call) -> None:
        """Remember ``target = SomeClass(...)``: an estimator, if it is fitted later."""
        dotted = self.reader.dotted(call.func)
        if dotted is not None and dotted.rsplit(".", 1)[-1][:1].isupper():
            self.reader.estimators[target] = (dotted, _literal_keywords(call))

    def learn_handles(self, target: str | None, value: ast.expr | None, withs: list[ast.With | ast.AsyncWith]) -> None:
        """Remember the paths variables hold: ``p = "x.csv"``, ``p = Path("x.csv")``, ``f = open("x.csv")``,
        ``with open("x.csv") as f``."""
        opened = [(target, value)] if target is not None else []
        for node in withs:
            items = [item for item in node.items if isinstance(item.optional_vars, ast.Name)]
            opened += [(item.optional_vars.id, item.context_expr) for item in items]  # type: ignore[union-attr]
        for name, expression in opened:
            if (path := self.path_literal(expression)) is not None:
                self.reader.handles[name] = path

    def path_literal(self, node: ast.expr | None) -> str | None:
        """Return the path an argument names: ``"x.csv"``, ``open("x.csv")``, ``Path("x.csv")``, or a
        variable holding a file opened from a literal path."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
            return node.value
        if isinstance(node, ast.Name):
            return self.reader.handles.get(node.id)
        if isinstance(node, ast.Call) and node.args and _callee_name(node.func) in _OPENERS:
            return self.path_literal(node.args[0])
        return None

    def call(self, call: ast.Call, target: str | None, token: str, *, shown: bool) -> None:
        """Read one call; ``target`` is the variable it is the whole value of, ``shown`` whether it is
        the cell's last expression."""
        dotted = self.reader.dotted(call.func)
        method = call.func.attr if isinstance(call.func, ast.Attribute) else None
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        self.facts.files.extend(self.file_uses(call, dotted, method, receiver))
        if method in _FIT_METHODS:
            self.fit(call, receiver, target, token)
        elif method in _PREDICT_METHODS:
            self.predicts = True
            if isinstance(receiver, ast.Name):
                self.facts.models_used.append(receiver.id)
        elif method == "score" and isinstance(receiver, ast.Name):
            self.score("score", target, shown, receiver.id)
        elif method in _TRANSFORM_METHODS:
            self.facts.stage = self.facts.stage or "dataprep"
        elif dotted is not None and dotted.rsplit(".", 1)[-1].endswith(_METRIC_SUFFIXES):
            self.score(_measure(dotted), target, shown, self.model_in(call))

    def fit(self, call: ast.Call, receiver: ast.expr | None, target: str | None, token: str) -> None:
        """Read ``model.fit(...)`` (or ``model = Estimator(...).fit(...)``): the variable now holds a fitted model."""
        if isinstance(receiver, ast.Name):
            model = receiver.id
        elif isinstance(receiver, ast.Call) and target is not None:  # model = Estimator(...).fit(X, y)
            model = target
            self.construction(target, receiver)
        else:
            return
        estimator, params = self.reader.estimators.get(model, (None, {}))
        fit_params = {name: value for name, value in _literal_keywords(call).items() if value is not None}
        self.facts.fits.append(Fit(model, estimator, {**params, **fit_params}))
        self.facts.defined[model] = token
        self.local.add(model)

    def score(self, measure: str, target: str | None, shown: bool, model: str | None) -> None:
        """Read a score: ``model`` counts only if the variable holds a fitted model."""
        known = model if model is not None and (model in self.reader.fitted or model in self.fitted_here()) else None
        self.facts.scores.append(Score(measure, target, shown, known))
        if known is not None:
            self.facts.models_used.append(known)

    def fitted_here(self) -> set[str]:
        return {fit.model for fit in self.facts.fits}

    def model_in(self, call: ast.Call) -> str | None:
        """Return the fitted model a metric function evaluates: the one whose predictions it is given."""
        for node in ast.walk(call):
            if node is call or not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr in _PREDICT_METHODS and isinstance(node.func.value, ast.Name):
                return node.func.value.id
        candidates = [name for name in _names_in(call) if name in self.reader.fitted]
        return candidates[0] if len(candidates) == 1 else None

    def file_uses(
        self, call: ast.Call, dotted: str | None, method: str | None, receiver: ast.expr | None
    ) -> Iterator[FileUse]:
        """Yield the files a call reads or writes, when it names them by a literal path."""
        if dotted in ("open", "io.open"):
            path = self.path_literal(_argument(call, 0, ("file",)))
            mode = _argument(call, 1, ("mode",))
            mode = mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"
            if path is not None:
                if "r" in mode or "+" in mode:
                    yield FileUse(path, "input", "open")
                if set(mode) & set("wax+"):
                    yield FileUse(path, "output", "open")
            return
        rule = _FILE_FUNCTIONS.get(dotted or "")
        if rule is None and dotted is not None and dotted.startswith("pandas.read_"):
            rule = _PANDAS_READER
        if rule is not None:
            role, position, keywords, value_at = rule
            path = self.path_literal(_argument(call, position, keywords))
            written = _argument(call, value_at, ("obj", "value", "arr", "X")) if value_at is not None else None
            if path is not None:
                yield FileUse(path, role, dotted or "", _root_name(written))
        elif method in _WRITE_METHODS and (path := self.path_literal(_argument(call, 0, _WRITE_METHOD_KEYWORDS))):
            yield FileUse(path, "output", method, _root_name(receiver) if receiver is not None else None)


class _Names(ast.NodeVisitor):
    """The names a statement reads, binds and deletes; names local to the functions, classes and
    comprehensions it holds are left out."""

    def __init__(self) -> None:
        self.loads: list[str] = []
        self.stores: list[str] = []
        self.deletes: list[str] = []

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.append(node.id)
        elif isinstance(node.ctx, ast.Store):
            self.stores.append(node.id)
        else:
            self.deletes.append(node.id)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for outer in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if outer is not None:
                self.visit(outer)
        self.stores.append(node.name)
        self.scope(node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for outer in [*node.args.defaults, *node.args.kw_defaults]:
            if outer is not None:
                self.visit(outer)
        self.scope(node.args, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for outer in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(outer)
        self.stores.append(node.name)
        self.scope(None, node.body)

    def visit_comprehension_scope(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        inner = _Names()
        for child in ast.iter_child_nodes(node):
            inner.visit(child)
        self.loads += [name for name in inner.loads if name not in inner.stores]

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_comprehension_scope

    def scope(self, args: ast.arguments | None, body: list[Any]) -> None:
        """Visit a nested scope: only the names it reads and does not bind itself are the statement's."""
        inner = _Names()
        for child in body:
            inner.visit(child)
        bound = set(inner.stores)
        if args is not None:
            bound.update(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a)
        self.loads += [name for name in inner.loads if name not in bound]


def python_source(source: str) -> str:
    """Return the Python of a cell: the body of a ``%%time``-like cell magic, nothing for other cell
    magics (``%%bash``), the cell itself otherwise.

    >>> python_source("%%time\\nx = 1"), python_source("%%bash\\nls")
    ('x = 1', '')
    """
    stripped = source.lstrip()
    if not stripped.startswith("%%"):
        return source
    first, _, body = stripped.partition("\n")
    magic = first[2:].split(maxsplit=1)
    return python_source(body) if magic and magic[0] in _PYTHON_CELL_MAGICS else ""


def without_magics(source: str) -> str:
    """Return a cell with IPython's syntax (``%magic``, ``!shell``, ``x?``) made Python: by IPython's own
    transformer when IPython is installed, else by blanking the lines that start with ``%`` or ``!``.

    >>> print(without_magics("%matplotlib inline\\nx = 1").splitlines()[-1])
    x = 1
    """
    transform = _ipython_transform()
    if transform is not None:
        try:
            return transform(source)
        except Exception:  # IPython's transformer may fail on any broken input: fall back
            pass
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


@cache
def _ipython_transform() -> Any:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return None
    return TransformerManager().transform_cell


def _assignment(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    """Return ``(x, value)`` for ``x = value`` or ``x: T = value``, else ``(None, None)``."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None, None
    return (target.id, value) if isinstance(target, ast.Name) else (None, None)


def _argument(call: ast.Call, position: int | None, keywords: tuple[str, ...]) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in keywords:
            return keyword.value
    if position is not None and position < len(call.args) and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return None


def _callee_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _root_name(node: ast.expr | None) -> str | None:
    """Return the variable an expression starts from: ``model`` for ``model.state_dict()``."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _names_in(node: ast.AST) -> list[str]:
    return sorted({child.id for child in ast.walk(node) if isinstance(child, ast.Name)})


def _literal_keywords(call: ast.Call) -> dict[str, Any]:
    """Return the keyword arguments of a call given as literals: scalars as they are, others as source."""
    params: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        try:
            value = ast.literal_eval(keyword.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        params[keyword.arg] = value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)
    return params


def _measure(dotted: str) -> str:
    """Return the measure a metric function computes: ``accuracy`` for ``sklearn.metrics.accuracy_score``."""
    name = dotted.rsplit(".", 1)[-1]
    return name.removesuffix("_score") or name
