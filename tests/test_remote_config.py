"""How a remote store is named: a URL for `--store`, the rest from the environment (no engine needed)."""

from __future__ import annotations

import pytest

from provml.errors import StoreError
from provml.remote import Service, is_remote
from provml.store import Store, open_store


def test_a_url_names_a_remote_store_and_the_environment_gives_the_rest() -> None:
    service = Service.from_url(
        "http://alice@db.example:8890/sparql-auth",
        {"PROVML_STORE_PASSWORD": "s3cret", "PROVML_STORE_AUTH": "DIGEST", "PROVML_STORE_GRAPHS": "http://db/gsp"},
    )
    assert (service.endpoint, service.user, service.password, service.auth, service.graph_store) == (
        "http://db.example:8890/sparql-auth",
        "alice",
        "s3cret",
        "digest",
        "http://db/gsp",
    )
    assert "s3cret" not in repr(service)
    assert is_remote("https://db/sparql") and not is_remote("provml-store") and not is_remote("./http:/x")


def test_a_password_in_the_url_or_an_unknown_scheme_of_authentication_is_refused() -> None:
    with pytest.raises(StoreError, match="PROVML_STORE_PASSWORD"):
        Service.from_url("http://alice:s3cret@db/sparql", {})
    with pytest.raises(StoreError, match="basic or digest"):
        Service.from_url("http://db/sparql", {"PROVML_STORE_AUTH": "kerberos"})


def test_an_unreachable_remote_store_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVML_STORE", "http://127.0.0.1:9/sparql")  # the discard port: nothing answers
    with pytest.raises(StoreError, match=r"cannot reach the remote store http://127\.0\.0\.1:9/sparql"):
        open_store()


def test_a_remote_store_has_no_snapshots_and_no_pyoxigraph_store() -> None:
    store = Store.__new__(Store)
    store.service, store.path = Service("http://db/sparql"), None
    with pytest.raises(StoreError, match="no snapshots"):
        store.snapshot("/tmp/x")
    with pytest.raises(StoreError, match="use --engine fast"):
        store.oxigraph  # noqa: B018
