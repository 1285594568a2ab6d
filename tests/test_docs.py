"""The documentation says what the code does: its examples run, its references are up to date."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import orjson
import pytest
from conftest import load_file

from provml import events_doc
from provml.events import check_record, schema
from provml.store import Store

DOCS = Path(__file__).resolve().parents[1] / "docs"
README = Path(__file__).resolve().parents[1] / "README.md"


def json_lines_in(markdown: str) -> list[dict]:
    blocks = re.findall(r"```json\n(.*?)```", markdown, re.S)
    return [orjson.loads(line) for block in blocks for line in block.splitlines() if line.strip()]


def test_the_field_reference_is_generated_from_the_current_schema() -> None:
    text = (DOCS / "events.md").read_text(encoding="utf-8")
    assert events_doc.update(text) == text, "run: python -m provml.events_doc docs/events.md"


def test_every_schema_field_is_documented() -> None:
    text = (DOCS / "events.md").read_text(encoding="utf-8")
    for kind, definition in schema()["$defs"].items():
        for field in definition.get("properties", {}):
            assert f"`{field}`" in text, f"{kind}.{field} is not in docs/events.md"


def test_every_json_example_in_the_event_docs_is_a_valid_record_and_loads(tmp_path: Path) -> None:
    records = json_lines_in((DOCS / "events.md").read_text(encoding="utf-8"))
    assert len(records) >= 17
    for record in records:
        jsonschema.Draft202012Validator(schema()).validate(record)
        check_record(record)
    path = tmp_path / "examples.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    assert load_file(Store(), path).triples > 0


def test_the_readme_tour_answers_what_it_promises(tmp_path: Path) -> None:
    readme = README.read_text(encoding="utf-8")
    block = re.search(r"cat > run.jsonl <<'JSON'\n(.*?)\nJSON", readme, re.S)
    assert block, "the README tour writes run.jsonl"
    path = tmp_path / "run.jsonl"
    path.write_text(block.group(1) + "\n")
    store = Store()
    load_file(store, path)
    query = re.search(r"provml query '(SELECT \?model \?accuracy .*?)'", readme, re.S)
    assert query
    rows = [(m.value, a.python()) for m, a in store.query(query.group(1))]
    assert rows == [("forest-1", 0.96)]


@pytest.mark.parametrize("command", ["demo", "graphs", "stats", "query", "load", "export"])
def test_the_readme_tour_uses_each_main_command(command: str) -> None:
    assert f"provml {command}" in README.read_text(encoding="utf-8")
