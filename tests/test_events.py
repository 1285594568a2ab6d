"""The event format v1: its JSON Schema, and the streaming reader that checks records against it."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provml.errors import EventError, ProvmlWarning
from provml.events import check_record, read_events, record_types, schema


def examples() -> list[dict[str, Any]]:
    return [definition["examples"][0] for definition in schema()["$defs"].values() if "examples" in definition]


def write_lines(path: Path, *records: Any) -> Path:
    path.write_bytes(b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records))
    return path


def test_schema_is_valid_json_schema_with_an_example_per_record_type() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert sorted(e["type"] for e in examples()) == sorted(record_types())


@pytest.mark.parametrize("example", examples(), ids=lambda e: e["type"])
def test_every_example_is_valid_for_the_schema_and_the_reader(example: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema()).validate(example)
    check_record(example)


@pytest.mark.parametrize("example", examples(), ids=lambda e: e["type"])
def test_a_record_without_a_required_field_is_refused_by_both(example: dict[str, Any]) -> None:
    for field in schema()["$defs"][example["type"]]["required"][1:]:  # [0] is "type"
        broken = {k: v for k, v in example.items() if k != field}
        assert not jsonschema.Draft202012Validator(schema()).is_valid(broken)
        with pytest.raises(EventError, match=f"missing required field.*{field}"):
            check_record(broken)


def test_the_reader_yields_records_with_their_line_numbers_and_skips_blank_lines(tmp_path: Path) -> None:
    a, b = examples()[:2]
    path = write_lines(tmp_path / "events.jsonl", a, b"", b"   ", b)
    assert list(read_events(path)) == [(1, a), (4, b)]


def test_the_reader_streams_gzip_files(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(b"".join(orjson.dumps(e) + b"\n" for e in examples()))
    assert [r for _, r in read_events(path)] == examples()


def test_a_line_that_is_not_json_is_named_by_file_and_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "events.jsonl", examples()[0], b'{"type": "task", ')
    with pytest.raises(EventError) as caught:
        list(read_events(path))
    assert str(caught.value).startswith(f"{path}:2: not JSON")
    assert (caught.value.source, caught.value.line) == (str(path), 2)


def test_a_wrong_field_type_is_explained_with_the_field(tmp_path: Path) -> None:
    bad = {"type": "metric", "workflow_id": "w", "task_id": "t", "name": "loss", "value": "low", "timestamp": 1.0}
    path = write_lines(tmp_path / "events.jsonl", bad)
    with pytest.raises(EventError, match=r":1: metric record: \['value'\]: 'low' is not of type"):
        list(read_events(path))


def test_a_domain_concept_that_is_not_an_iri_is_explained(tmp_path: Path) -> None:
    bad = {
        "type": "dataset",
        "workflow_id": "w",
        "name": "survey",
        "domain_concepts": ["https://geo.example/Well", "soil"],
    }
    path = write_lines(tmp_path / "events.jsonl", bad)
    with pytest.raises(EventError, match=r":1: dataset record: \['domain_concepts'\]\[1\]: 'soil' is not an IRI"):
        list(read_events(path))


def test_an_unknown_record_type_lists_the_known_ones() -> None:
    with pytest.raises(EventError, match="unknown record type 'epoch'; expected one of workflow, task"):
        check_record({"type": "epoch"})


def test_a_json_true_is_not_a_number() -> None:
    with pytest.raises(EventError, match="True is not of type"):
        check_record({"type": "metric", "workflow_id": "w", "task_id": "t", "name": "n", "value": True, "timestamp": 1})


def test_a_truncated_gzip_file_is_an_event_error(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(orjson.dumps(e) + b"\n" for e in examples()))[:-30])
    with pytest.raises(EventError, match="cannot read"):
        list(read_events(path))


def test_a_missing_file_is_an_event_error(tmp_path: Path) -> None:
    with pytest.raises(EventError, match="cannot read"):
        list(read_events(tmp_path / "absent.jsonl"))


def test_flowcept_task_messages_are_records_as_they_are() -> None:
    """A task message as Flowcept writes it (docs/task_schema.rst fields) needs no change."""
    message = {
        "type": "task",
        "task_id": "1753271411.2",
        "workflow_id": "fe546706",
        "campaign_id": "76088532",
        "activity_id": "sum_one",
        "used": {"i1": 3},
        "generated": {"o1": 4},
        "status": "FINISHED",
        "started_at": 1753271411.2,
        "ended_at": 1753271411.3,
        "hostname": "frontier01",
        "user": "ana",
        "telemetry_at_start": {"cpu": {"percent_all": 12.5}},
        "adapter_id": "dask",
        "tags": ["x"],
    }
    check_record(message)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([*record_types(), "other"]),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "workflow_id",
                "task_id",
                "name",
                "value",
                "timestamp",
                "role",
                "sha256",
                "step",
                "hostname",
                "kind",
                "domain_concepts",
            ]
        ),
        json_values | st.lists(st.sampled_from(["https://geo.example/Well", "urn:geo:well", "soil", "geo:Well"])),
    ),
)
def test_the_checker_agrees_with_the_schema_on_arbitrary_records(kind: str, fields: dict[str, Any]) -> None:
    """Whatever the record, the fast checker accepts exactly when the schema's top level does.

    The checker looks at top-level fields and at the items of ``domain_concepts``, so nested values are kept out
    of the other generated fields that the schema constrains inside (none of them is nested).
    """
    record = {"type": kind, **fields}
    valid = jsonschema.Draft202012Validator(schema()).is_valid(record)
    try:
        check_record(record)
        accepted = True
    except EventError:
        accepted = False
    assert accepted == valid


def test_a_torn_last_line_is_skipped_with_a_warning_naming_it(tmp_path: Path) -> None:
    """A writer killed mid-line leaves a last line without its end: every complete line still loads."""
    a, b = examples()[:2]
    path = tmp_path / "events.jsonl"
    path.write_bytes(orjson.dumps(a) + b"\n" + orjson.dumps(b) + b"\n" + orjson.dumps(a)[:17])
    with pytest.warns(ProvmlWarning, match=f"{path}:3: torn last line skipped"):
        assert [r for _, r in read_events(path)] == [a, b]


def test_a_broken_line_that_is_not_the_last_is_an_error(tmp_path: Path) -> None:
    a = examples()[0]
    path = tmp_path / "events.jsonl"
    path.write_bytes(orjson.dumps(a)[:17] + b"\n" + orjson.dumps(a) + b"\n")
    with pytest.raises(EventError, match=":1: not JSON"):
        list(read_events(path))
