"""`provml link`: external ontologies, each in the named graph of its IRI, with their imports read from local
files, checked by HermiT with PROV-ML before anything is stored.

The geology ontology here imports a rock ontology from a folder given with --imports, and PROV-ML, which
provml ships. OWL/XML comes from the OWL API (the one HermiT and Protégé use, inside HermiT's jar); the
real external ontology is the DCMI Type Vocabulary that owlready2 ships as RDF/XML.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provml.errors import LinkError
from provml.linking import LOADER, check_linked, gather, link, linked, read_ontology
from provml.store import Store

GEO, ROCK = "https://example.org/geo", "https://example.org/rock"
PREFIXES = """@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix provml: <https://w3id.org/provml#> .
@prefix geo: <https://example.org/geo#> .
@prefix rock: <https://example.org/rock#> .
"""
ROCK_TTL = (
    PREFIXES
    + """<https://example.org/rock> a owl:Ontology ; owl:versionIRI <https://example.org/rock/1.0> .
rock:Rock a owl:Class ; rdfs:label "rock"@en .
rock:Sandstone a owl:Class ; rdfs:subClassOf rock:Rock ; rdfs:label "sandstone"@en .
"""
)
GEO_TTL = (
    PREFIXES
    + """<https://example.org/geo> a owl:Ontology ;
    owl:imports <https://example.org/rock/1.0> , <https://w3id.org/provml> .
geo:Facies a owl:Class ; rdfs:subClassOf rock:Rock ; rdfs:label "facies"@en .
geo:FaciesModel a owl:Class ; rdfs:subClassOf provml:Model ; rdfs:label "facies model"@en .
"""
)
SHIPPED_GRAPHS_IN_ORDER = [
    "http://www.w3.org/ns/prov#",
    "http://www.w3.org/ns/mls#",
    "https://w3id.org/provml",
    "https://w3id.org/provml/alignment/prov-mls",
]
SHIPPED_GRAPHS = set(SHIPPED_GRAPHS_IN_ORDER)

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java, and `java` is not on PATH")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "imports").mkdir()
    rock = tmp_path / "imports" / "rock.ttl"
    rock.write_text(ROCK_TTL)
    geo = tmp_path / "domain" / "geo.ttl"
    geo.parent.mkdir()
    geo.write_text(GEO_TTL)
    return {"geo": geo, "rock": rock, "imports": rock.parent}


def holds(store: Store, graph: str, pattern: str) -> bool:
    return bool(store.query(f"ASK {{ GRAPH <{graph}> {{ {pattern} }} }}"))


def test_an_ontology_names_its_iri_versions_and_imports(files: dict[str, Path]) -> None:
    rock, geo = read_ontology(files["rock"]), read_ontology(files["geo"])
    assert (rock.iri, rock.names, rock.imports) == (ROCK, (ROCK, f"{ROCK}/1.0"), ())
    assert geo.imports == (f"{ROCK}/1.0", "https://w3id.org/provml") and geo.format == "turtle"


def test_imports_come_from_the_folders_given_and_before_what_imports_them(files: dict[str, Path]) -> None:
    assert [o.iri for o in gather([files["geo"]], [files["imports"]])] == [ROCK, GEO]
    with pytest.raises(LinkError, match=r"imports https://example.org/rock/1.0, which no file .* --imports"):
        gather([files["geo"]])


def test_provml_s_own_ontologies_and_two_files_of_one_iri_are_refused(files: dict[str, Path]) -> None:
    own = files["geo"].with_name("prov-o.ttl")
    own.write_text(PREFIXES + "<http://www.w3.org/ns/prov#> a owl:Ontology .\n")
    with pytest.raises(LinkError, match=r"declares http://www\.w3\.org/ns/prov#, which provml ships"):
        gather([own])
    twin = files["geo"].with_name("geo-copy.ttl")
    twin.write_text(GEO_TTL)
    with pytest.raises(LinkError, match=f"geo-copy.ttl: declares {GEO}, as .*geo.ttl does"):
        gather([files["geo"], twin], [files["imports"]])
    assert [o.iri for o in gather([files["geo"], files["geo"]], [files["imports"]])] == [ROCK, GEO]


@needs_java
def test_an_ontology_and_its_import_are_linked_each_into_the_graph_of_its_iri(
    store: Store, files: dict[str, Path]
) -> None:
    results = link(store, [files["geo"]], search=[files["imports"]]).loads
    assert {r.graph for r in results} == {*SHIPPED_GRAPHS, ROCK, GEO}
    assert set(linked(store)) == {*SHIPPED_GRAPHS, ROCK, GEO}
    assert holds(store, GEO, "<https://example.org/geo#Facies> rdfs:subClassOf <https://example.org/rock#Rock>")
    assert holds(store, ROCK, "<https://example.org/rock#Sandstone> rdfs:label 'sandstone'@en")
    assert holds(store, "https://w3id.org/provml", "provml:Model rdfs:subClassOf prov:Entity")
    assert {d.loader for d in store.dumps()} == {LOADER}
    # the classes cross the ontologies: a facies model is a PROV entity
    crossing = "ASK { <https://example.org/geo#FaciesModel> rdfs:subClassOf+ prov:Entity }"
    assert bool(store.query(crossing))


@needs_java
def test_linking_again_skips_what_did_not_change_and_replaces_what_did(store: Store, files: dict[str, Path]) -> None:
    link(store, [files["geo"]], search=[files["imports"]])
    again = link(store, [files["geo"]], search=[files["imports"]]).loads
    assert all(r.skipped for r in again)
    files["geo"].write_text(GEO_TTL.replace('"facies"@en', '"sedimentary facies"@en'))
    changed = {r.graph: r for r in link(store, [files["geo"]], search=[files["imports"]]).loads}
    assert changed[GEO].replaced and not changed[GEO].skipped and changed[ROCK].skipped
    assert holds(store, GEO, "?c rdfs:label 'sedimentary facies'@en")
    assert not holds(store, GEO, "?c rdfs:label 'facies'@en")


@needs_java
def test_an_unsatisfiable_class_across_ontologies_is_named_and_nothing_is_linked(
    store: Store, files: dict[str, Path]
) -> None:
    """A model that is also a training execution: PROV-O makes entities and activities disjoint."""
    broken = files["geo"].with_name("broken.ttl")
    broken.write_text(
        GEO_TTL + "geo:ModelRun a owl:Class ; rdfs:subClassOf provml:Model , provml:TrainingExecution .\n"
    )
    with pytest.raises(LinkError, match="1 unsatisfiable class") as caught:
        link(store, [broken], search=[files["imports"]])
    assert caught.value.unsatisfiable == ("https://example.org/geo#ModelRun",)
    assert store.dumps() == []


@needs_java
def test_an_inconsistent_ontology_is_refused(store: Store, files: dict[str, Path]) -> None:
    broken = files["geo"].with_name("broken.ttl")
    broken.write_text(GEO_TTL + "geo:thing a provml:Model , provml:TrainingExecution .\n")
    with pytest.raises(LinkError, match="inconsistent"):
        link(store, [broken], search=[files["imports"]])
    assert store.dumps() == []


@needs_java
def test_a_later_link_is_checked_with_the_ontologies_linked_before(store: Store, files: dict[str, Path]) -> None:
    link(store, [files["geo"]], search=[files["imports"]])
    clash = files["geo"].with_name("clash.ttl")
    clash.write_text(
        PREFIXES + "<https://example.org/clash> a owl:Ontology .\n"
        "<https://example.org/clash#Odd> a owl:Class ; rdfs:subClassOf geo:Facies , provml:TrainingExecution .\n"
        "rock:Rock rdfs:subClassOf provml:Dataset .\n"
    )
    with pytest.raises(LinkError) as caught:
        link(store, [clash])
    assert caught.value.unsatisfiable == ("https://example.org/clash#Odd",)
    assert set(linked(store)) == {*SHIPPED_GRAPHS, ROCK, GEO}


@pytest.fixture
def owlxml(files: dict[str, Path], tmp_path: Path) -> Path:
    """The rock ontology saved as OWL/XML by the OWL API (owlready2's copy of HermiT holds it)."""
    hermit = pytest.importorskip("owlready2").__file__
    folder = Path(hermit).parent / "hermit"
    if shutil.which("java") is None:
        pytest.skip("the OWL API needs Java, and `java` is not on PATH")
    target = tmp_path / "rock.owx"
    subprocess.run(
        ["java", "-cp", f"{folder / 'HermiT.jar'}:{folder}", "Save", str(files["rock"]), "owlxml", str(target)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert b"<Ontology" in target.read_bytes()[:2000]
    return target


def test_owl_xml_gives_the_same_triples_as_the_turtle_it_was_saved_from(
    store: Store, files: dict[str, Path], owlxml: Path
) -> None:
    ontology = read_ontology(owlxml)
    assert (ontology.format, ontology.iri) == ("owlxml", ROCK)
    results = link(store, [owlxml], check=False).loads
    assert {r.graph for r in results} == {*SHIPPED_GRAPHS, ROCK}
    assert holds(store, ROCK, "<https://example.org/rock#Sandstone> rdfs:subClassOf <https://example.org/rock#Rock>")
    assert holds(store, ROCK, "<https://example.org/rock#Sandstone> rdfs:label 'sandstone'@en")


def test_a_real_external_ontology_in_rdf_xml_is_linked(store: Store) -> None:
    """The DCMI Type Vocabulary, as owlready2 ships it."""
    owlready2 = pytest.importorskip("owlready2")
    dcmitype = Path(owlready2.__file__).parent / "ontos" / "dcmitype.owl"
    ontology = read_ontology(dcmitype)
    assert ontology.format == "rdfxml"
    skos = "http://www.w3.org/2004/02/skos/core"  # imported by DCAM, which DCMI Type imports: not on this disk
    with pytest.raises(LinkError, match=f"dcam.owl: imports {skos}, .* --ignore-import {skos} "):
        link(store, [dcmitype], check=False)
    graphs = [r.graph for r in link(store, [dcmitype], ignore=[skos], check=False).loads]
    assert graphs == [*SHIPPED_GRAPHS_IN_ORDER, "http://purl.org/dc/dcam/", ontology.iri]  # imports first
    assert holds(store, ontology.iri, "<http://purl.org/dc/dcmitype/Dataset> a owl:Class ; rdfs:label ?label")


def provml(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # a table as wide as its rows
    return subprocess.run([sys.executable, "-m", "provml", *args], capture_output=True, text=True, timeout=600, env=env)


@needs_java
def test_the_cli_links_lists_and_refuses_in_one_line(tmp_path: Path, files: dict[str, Path]) -> None:
    store = ["--store", str(tmp_path / "cli-store")]
    result = provml("link", str(files["geo"]), "--imports", str(files["imports"]), *store)
    assert result.returncode == 0, result.stderr
    assert GEO in result.stdout and ROCK in result.stdout and "consistent" in result.stderr
    assert "ontology" in provml("graphs", *store).stdout
    missing = provml("link", str(files["geo"]), *store)
    assert missing.returncode == 2 and "imports https://example.org/rock/1.0" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


@needs_java
def test_the_demo_geology_ontology_is_coherent_with_prov_ml(store: Store) -> None:
    """`provml demo` links it without the check (Java may be missing there): check it here."""
    from provml.demo import ONTOLOGY
    from provml.resources import ontology_file

    assert ontology_file(ONTOLOGY).name == "demo-geology.ttl"
    assert check_linked(store, [read_ontology(ontology_file(ONTOLOGY))]) == []


@pytest.fixture
def web(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving a folder with the rock ontology, and a redirect to elsewhere."""
    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "rock.ttl").write_text(ROCK_TTL)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self) -> None:
            if self.path == "/moved.ttl":
                self.send_response(302)
                self.send_header("Location", "http://example.org/rock.ttl")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(10)


def test_an_import_no_file_holds_is_fetched_only_from_an_allowed_place(
    store: Store, files: dict[str, Path], web: str
) -> None:
    geo = files["geo"].with_name("geo-web.ttl")
    geo.write_text(GEO_TTL.replace("<https://example.org/rock/1.0>", f"<{web}/rock.ttl>"))
    with pytest.raises(LinkError, match=f"imports {web}/rock.ttl, which no file"):
        link(store, [geo], check=False)
    with pytest.raises(LinkError, match=f"imports {web}/rock.ttl, which no file"):
        link(store, [geo], allow=["http://127.0.0.1:1/"], check=False)
    assert store.dumps() == []

    graphs = {r.graph for r in link(store, [geo], allow=[f"{web}/"], check=False).loads}
    assert graphs == {*SHIPPED_GRAPHS, ROCK, "https://example.org/geo"}
    assert holds(store, ROCK, "<https://example.org/rock#Sandstone> rdfs:subClassOf <https://example.org/rock#Rock>")
    assert store.dump(ROCK).source == f"{web}/rock.ttl"  # the catalog says where it came from

    moved = files["geo"].with_name("geo-moved.ttl")
    moved.write_text(GEO_TTL.replace("<https://example.org/rock/1.0>", f"<{web}/moved.ttl>"))
    with pytest.raises(LinkError, match=r"HTTP 302 to http://example\.org/rock\.ttl: allow-list that place"):
        link(store, [moved], allow=[f"{web}/"], check=False)
