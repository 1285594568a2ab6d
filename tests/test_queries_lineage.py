"""Canned lineage queries (queries/*.rq), on the small lifecycle of tests/fixtures/lifecycle (see its README).

The lineage there: raw surveys survey-a and survey-b --curate (alice)--> facies cube --split (bob)--> train split and
test split; train-a (train split) --> unet-a; train-b (train split, warm-started from unet-a) --> unet-b, derived from
unet-a; evaluate-a/-b use the test split and unet-a/-b; deploy and predict (predictor) use unet-b; predict also uses
the raw survey-c and generates the facies map, derived from survey-c.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LIFECYCLE, answer, load_file

from provml.errors import QueryError
from provml.linking import link
from provml.store import Store

T = "2026-01-05T"
GEO = "https://geo.example/"
FIXTURES = Path(__file__).parent / "fixtures"
ID = "urn:provml:"
SHA = {
    "unet-a": "aaaa" + "0" * 60,
    "unet-b": "bbbb" + "0" * 60,
    "survey-a": "aaaa" + "0" * 59 + "1",
    "survey-b": "bbbb" + "0" * 59 + "2",
    "cube": "cccc" + "0" * 59 + "3",
    "train": "dddd" + "0" * 59 + "4",
    "test": "eeee" + "0" * 59 + "5",
    "survey-c": "ffff" + "0" * 59 + "6",
}
# metric values of the evaluation, named after their run, measure, (no) step and time
METRIC = {
    ("unet-a", "test_accuracy"): f"{ID}task/eval-1/evaluate-a/metric/test_accuracy//{T}13%3A01%3A00Z",
    ("unet-a", "test_f1"): f"{ID}task/eval-1/evaluate-a/metric/test_f1//{T}13%3A01%3A30Z",
    ("unet-b", "test_accuracy"): f"{ID}task/eval-1/evaluate-b/metric/test_accuracy//{T}13%3A04%3A00Z",
    ("unet-b", "test_f1"): f"{ID}task/eval-1/evaluate-b/metric/test_f1//{T}13%3A04%3A30Z",
}


def test_the_lineage_of_a_fine_tuned_model_goes_back_through_its_parent_model_to_the_raw_surveys(
    lifecycle_store: Store,
) -> None:
    # unet-b first, then the model it was fine-tuned from, the learning, domain and raw data; raw data has no
    # generating execution; the test split is not in it (no training run used it)
    assert answer(lifecycle_store, "model-lineage", model="unet-b") == [
        ("model", "unet-b", SHA["unet-b"], "train-b", "train_unet", "sweep-1", f"{ID}model/unet-b"),
        ("model", "unet-a", SHA["unet-a"], "train-a", "train_unet", "sweep-1", f"{ID}model/unet-a"),
        (
            "learning dataset",
            "train split",
            SHA["train"],
            "split",
            "make_learning_data",
            "curation-1",
            f"{ID}dataset/train-v1",
        ),
        ("domain dataset", "facies cube", SHA["cube"], "curate", "curate_surveys", "curation-1", f"{ID}dataset/cube"),
        ("raw dataset", "survey-a.segy", SHA["survey-a"], None, None, None, f"{ID}dataset/survey-a"),
        ("raw dataset", "survey-b.segy", SHA["survey-b"], None, None, None, f"{ID}dataset/survey-b"),
    ]


def test_the_lineage_of_a_model_trained_from_scratch_holds_no_other_model(lifecycle_store: Store) -> None:
    assert [row[:2] for row in answer(lifecycle_store, "model-lineage", model="unet-a")] == [
        ("model", "unet-a"),
        ("learning dataset", "train split"),
        ("domain dataset", "facies cube"),
        ("raw dataset", "survey-a.segy"),
        ("raw dataset", "survey-b.segy"),
    ]


def test_the_lineage_of_an_unknown_model_is_empty_and_the_model_is_required(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "model-lineage", model="unet-z") == []
    with pytest.raises(QueryError, match="needs parameter 'model'"):
        answer(lifecycle_store, "model-lineage")


def test_the_impact_of_a_raw_survey_reaches_every_model_evaluation_deployment_and_inference(
    lifecycle_store: Store,
) -> None:
    # survey-a -> facies cube -> both splits -> unet-a, unet-b; the facies map came from predict, which used unet-b;
    # evaluate-a used two descendants (test split, unet-a) but each metric value is listed once
    assert answer(lifecycle_store, "dataset-impact", dataset="survey-a.segy") == [
        ("domain dataset", "facies cube", "curate", None, None, f"{ID}dataset/cube"),
        ("domain dataset", "facies map", "predict", None, None, f"{ID}dataset/facies-map"),
        ("learning dataset", "test split", "split", None, None, f"{ID}dataset/test-v1"),
        ("learning dataset", "train split", "split", None, None, f"{ID}dataset/train-v1"),
        ("model", "unet-a", "train-a", None, None, f"{ID}model/unet-a"),
        ("model", "unet-b", "train-b", None, None, f"{ID}model/unet-b"),
        ("evaluation", "test_accuracy", "evaluate-a", "unet-a", 0.81, METRIC["unet-a", "test_accuracy"]),
        ("evaluation", "test_accuracy", "evaluate-b", "unet-b", 0.86, METRIC["unet-b", "test_accuracy"]),
        ("evaluation", "test_f1", "evaluate-a", "unet-a", 0.78, METRIC["unet-a", "test_f1"]),
        ("evaluation", "test_f1", "evaluate-b", "unet-b", 0.84, METRIC["unet-b", "test_f1"]),
        ("deployment", "deploy_model", "deploy", "unet-b", None, f"{ID}task/deploy-1/deploy"),
        ("inference", "predict_facies", "predict", "unet-b", None, f"{ID}task/deploy-1/predict"),
    ]


def test_the_impact_of_the_test_split_is_the_evaluation_only(lifecycle_store: Store) -> None:
    # no model was trained on the test split: only the metric values of the evaluations that used it
    assert answer(lifecycle_store, "dataset-impact", dataset="test split") == [
        ("evaluation", "test_accuracy", "evaluate-a", "unet-a", 0.81, METRIC["unet-a", "test_accuracy"]),
        ("evaluation", "test_accuracy", "evaluate-b", "unet-b", 0.86, METRIC["unet-b", "test_accuracy"]),
        ("evaluation", "test_f1", "evaluate-a", "unet-a", 0.78, METRIC["unet-a", "test_f1"]),
        ("evaluation", "test_f1", "evaluate-b", "unet-b", 0.84, METRIC["unet-b", "test_f1"]),
    ]


def test_the_impact_of_the_survey_given_to_inference_is_the_inference_and_its_output(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "dataset-impact", dataset="survey-c.segy") == [
        ("domain dataset", "facies map", "predict", None, None, f"{ID}dataset/facies-map"),
        ("inference", "predict_facies", "predict", "unet-b", None, f"{ID}task/deploy-1/predict"),
    ]
    assert answer(lifecycle_store, "dataset-impact", dataset="facies map") == []


def test_the_runs_that_used_the_train_split_show_their_workflow_start_and_status(lifecycle_store: Store) -> None:
    # train-c failed; train-d has not ended: RUNNING; ordered by start time, then run
    rows = [
        (run, "train_unet", "sweep-1", f"{T}{start}Z", status, "train split", SHA["train"])
        for run, start, status in (
            ("train-a", "10:00:00", "FINISHED"),
            ("train-c", "10:00:00", "ERROR"),
            ("train-b", "11:00:00", "FINISHED"),
            ("train-d", "12:00:00", "RUNNING"),
        )
    ]
    assert answer(lifecycle_store, "runs-using-dataset", dataset="train split") == rows


def test_the_runs_that_used_a_dataset_can_be_found_by_its_digest(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "runs-using-dataset", dataset=SHA["test"]) == [
        ("evaluate-a", "evaluate_model", "eval-1", f"{T}13:00:00Z", "FINISHED", "test split", SHA["test"]),
        ("evaluate-b", "evaluate_model", "eval-1", f"{T}13:03:00Z", "FINISHED", "test split", SHA["test"]),
    ]
    assert answer(lifecycle_store, "runs-using-dataset", dataset=SHA["survey-c"]) == [
        ("predict", "predict_facies", "deploy-1", f"{T}14:10:00Z", "FINISHED", "survey-c.segy", SHA["survey-c"]),
    ]


def test_the_deployed_model_shows_its_training_run_training_data_and_evaluation(lifecycle_store: Store) -> None:
    # unet-b: trained by train-b on the train split (unet-a, also used, is a model, not learning data)
    assert answer(lifecycle_store, "deployed-models") == [
        (
            "unet-b",
            "deploy",
            f"{T}14:00:00Z",
            "train-b",
            "train split",
            "test_accuracy",
            0.86,
            "evaluate-b",
            f"{ID}model/unet-b",
        ),
        (
            "unet-b",
            "deploy",
            f"{T}14:00:00Z",
            "train-b",
            "train split",
            "test_f1",
            0.84,
            "evaluate-b",
            f"{ID}model/unet-b",
        ),
    ]


def test_the_derivation_of_the_train_split_goes_back_to_the_raw_surveys_with_who_ran_each_step(
    lifecycle_store: Store,
) -> None:
    assert answer(lifecycle_store, "dataset-derivation", dataset="train split") == [
        (
            "train split",
            "learning dataset",
            "split",
            "make_learning_data",
            "bob",
            f"{T}09:02:00Z",
            f"{T}09:17:00Z",
            "facies cube",
            "domain dataset",
        ),
        (
            "facies cube",
            "domain dataset",
            "curate",
            "curate_surveys",
            "alice",
            f"{T}08:01:00Z",
            f"{T}09:01:00Z",
            "survey-a.segy",
            "raw dataset",
        ),
        (
            "facies cube",
            "domain dataset",
            "curate",
            "curate_surveys",
            "alice",
            f"{T}08:01:00Z",
            f"{T}09:01:00Z",
            "survey-b.segy",
            "raw dataset",
        ),
        ("survey-a.segy", "raw dataset", None, None, None, None, None, None, None),
        ("survey-b.segy", "raw dataset", None, None, None, None, None, None, None),
    ]


def test_the_derivation_of_an_inference_output_goes_through_the_model_that_made_it(lifecycle_store: Store) -> None:
    # latest step first: predict (by the predictor service), then the training of unet-b and unet-a, then curation
    steps = [
        (row[0], row[2], row[4], row[7]) for row in answer(lifecycle_store, "dataset-derivation", dataset="facies map")
    ]
    assert steps == [
        ("facies map", "predict", "predictor", "survey-c.segy"),
        ("facies map", "predict", "predictor", "unet-b"),
        ("unet-b", "train-b", "bob", "train split"),
        ("unet-b", "train-b", "bob", "unet-a"),
        ("unet-a", "train-a", "bob", "train split"),
        ("train split", "split", "bob", "facies cube"),
        ("facies cube", "curate", "alice", "survey-a.segy"),
        ("facies cube", "curate", "alice", "survey-b.segy"),
        ("survey-a.segy", None, None, None),
        ("survey-b.segy", None, None, None),
        ("survey-c.segy", None, None, None),
    ]


def test_the_training_data_concepts_of_a_model_come_from_every_dataset_back_to_the_raw_surveys(
    lifecycle_store: Store,
) -> None:
    # no domain ontology is loaded: the concepts have no label
    expected = [
        (f"{GEO}AmplitudeCube", None, "facies cube", "domain dataset"),
        (f"{GEO}FaciesLabel", None, "train split", "learning dataset"),
        (f"{GEO}NorthSea", None, "survey-a.segy", "raw dataset"),
        (f"{GEO}SantosBasin", None, "survey-b.segy", "raw dataset"),
        (f"{GEO}SeismicSurvey", None, "survey-a.segy", "raw dataset"),
        (f"{GEO}SeismicSurvey", None, "survey-b.segy", "raw dataset"),
    ]
    assert answer(lifecycle_store, "training-data-concepts", model="unet-b") == expected
    # unet-a was trained on the same data
    assert answer(lifecycle_store, "training-data-concepts", model="unet-a") == expected


def test_model_quality_sits_next_to_the_concepts_of_the_raw_data_best_model_first(lifecycle_store: Store) -> None:
    # both models descend from survey-a (SeismicSurvey, NorthSea) and survey-b (SeismicSurvey, SantosBasin)
    def rows(model: str, value: float) -> list[tuple[object, ...]]:
        return [
            (model, value, f"{GEO}NorthSea", "survey-a.segy"),
            (model, value, f"{GEO}SantosBasin", "survey-b.segy"),
            (model, value, f"{GEO}SeismicSurvey", "survey-a.segy"),
            (model, value, f"{GEO}SeismicSurvey", "survey-b.segy"),
        ]

    assert answer(lifecycle_store, "domain-and-model-quality") == rows("unet-b", 0.86) + rows("unet-a", 0.81)
    assert answer(lifecycle_store, "domain-and-model-quality", measure="test_f1") == rows("unet-b", 0.84) + rows(
        "unet-a", 0.78
    )
    # training metric values name no model
    assert answer(lifecycle_store, "domain-and-model-quality", measure="loss") == []
    # a page holds the rows of a number of values, best first
    assert answer(lifecycle_store, "domain-and-model-quality", limit="1") == rows("unet-b", 0.86)
    assert answer(lifecycle_store, "domain-and-model-quality", offset="1") == rows("unet-a", 0.81)


def test_the_inference_output_is_listed_with_its_model_input_and_their_concepts(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "inference-outputs") == [
        (
            "predict",
            "deploy-1",
            f"{T}14:10:00Z",
            "facies map",
            f"{GEO}FaciesMap",
            "unet-b",
            "survey-c.segy",
            f"{GEO}CamposBasin {GEO}SeismicSurvey",
            f"{ID}dataset/facies-map",
        )
    ]


def test_the_raw_data_inventory_lists_each_survey_with_its_concepts_and_uses(lifecycle_store: Store) -> None:
    # survey-a and survey-b were used by curate, survey-c by predict; concepts in IRI order
    assert answer(lifecycle_store, "raw-data-inventory") == [
        (
            "survey-a.segy",
            SHA["survey-a"],
            1000,
            "file:///archive/survey-a.segy",
            f"{GEO}NorthSea {GEO}SeismicSurvey",
            1,
            f"{ID}dataset/survey-a",
        ),
        (
            "survey-b.segy",
            SHA["survey-b"],
            2000,
            "file:///archive/survey-b.segy",
            f"{GEO}SantosBasin {GEO}SeismicSurvey",
            1,
            f"{ID}dataset/survey-b",
        ),
        (
            "survey-c.segy",
            SHA["survey-c"],
            1500,
            "file:///archive/survey-c.segy",
            f"{GEO}CamposBasin {GEO}SeismicSurvey",
            1,
            f"{ID}dataset/survey-c",
        ),
    ]


def test_the_provenance_of_a_model_shows_its_run_what_the_run_used_and_its_parent_model(lifecycle_store: Store) -> None:
    # the settings come with their values; unet-b was both used by train-b and derived from unet-a
    train_b = f"{ID}task/sweep-1/train-b"
    assert answer(lifecycle_store, "entity-provenance", entity=f"{ID}model/unet-b") == [
        ("generated by", "train-b", "training", None, "train_unet", f"{T}11:00:00Z", f"{T}11:31:00Z", "bob", train_b),
        (
            "used by that execution",
            "batch_size",
            "hyperparameter setting",
            32,
            None,
            None,
            None,
            None,
            f"{train_b}/param/batch_size",
        ),
        (
            "used by that execution",
            "dropout",
            "hyperparameter setting",
            0.1,
            None,
            None,
            None,
            None,
            f"{train_b}/param/dropout",
        ),
        (
            "used by that execution",
            "learning_rate",
            "hyperparameter setting",
            0.001,
            None,
            None,
            None,
            None,
            f"{train_b}/param/learning_rate",
        ),
        (
            "used by that execution",
            "train split",
            "learning dataset",
            None,
            None,
            None,
            None,
            None,
            f"{ID}dataset/train-v1",
        ),
        ("used by that execution", "unet-a", "model", None, None, None, None, None, f"{ID}model/unet-a"),
        ("derived from", "unet-a", "model", None, None, None, None, None, f"{ID}model/unet-a"),
    ]


def test_the_provenance_of_a_metric_value_shows_the_evaluation_and_what_it_used(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "entity-provenance", entity=METRIC["unet-a", "test_accuracy"]) == [
        (
            "generated by",
            "evaluate-a",
            "evaluation",
            None,
            "evaluate_model",
            f"{T}13:00:00Z",
            f"{T}13:02:00Z",
            "bob",
            f"{ID}task/eval-1/evaluate-a",
        ),
        (
            "used by that execution",
            "test split",
            "learning dataset",
            None,
            None,
            None,
            None,
            None,
            f"{ID}dataset/test-v1",
        ),
        ("used by that execution", "unet-a", "model", None, None, None, None, None, f"{ID}model/unet-a"),
    ]


def test_the_provenance_of_raw_data_is_empty_and_the_entity_must_be_an_iri(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "entity-provenance", entity=f"{ID}dataset/survey-a") == []
    # a prefixed name is expanded
    assert answer(lifecycle_store, "entity-provenance", entity="provml:nothing") == []
    with pytest.raises(QueryError, match="absolute IRI"):
        answer(lifecycle_store, "entity-provenance", entity="survey a")


# -- domain concepts, with the domain ontology linked (tests/fixtures/geo-ontology.ttl) ---------------------------


@pytest.fixture(scope="module")
def geo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The lifecycle with its domain ontology linked: SantosBasin and CamposBasin are Brazilian basins, all
    three basins sedimentary ones; FaciesLabel and FaciesMap are interpretations."""
    with Store(tmp_path_factory.mktemp("geo-store") / "store") as store:
        for path in sorted(LIFECYCLE.glob("*.jsonl")):
            load_file(store, path)
        link(store, [FIXTURES / "geo-ontology.ttl"], check=False)
        yield store


def trained_on(store: Store, concepts: set[str]) -> list[tuple[object, ...]]:
    """What models-by-domain-concept should say, from training-data-concepts (the concepts behind each model)."""
    return sorted(
        (model, dataset, concept, label)
        for model in ("unet-a", "unet-b")
        for concept, label, dataset, _ in answer(store, "training-data-concepts", model=model)
        if concept in concepts
    )


def test_models_trained_on_data_about_a_concept_include_its_subclasses_and_individuals(geo_store: Store) -> None:
    basins = answer(geo_store, "models-by-domain-concept", concept=f"{GEO}SedimentaryBasin")
    assert basins == trained_on(geo_store, {f"{GEO}NorthSea", f"{GEO}SantosBasin", f"{GEO}CamposBasin"})
    assert {row[1] for row in basins} == {"survey-a.segy", "survey-b.segy"}  # survey-c fed no model
    brazilian = answer(geo_store, "models-by-domain-concept", concept=f"{GEO}BrazilianBasin")
    assert brazilian == [
        ("unet-a", "survey-b.segy", f"{GEO}SantosBasin", "Santos Basin"),
        ("unet-b", "survey-b.segy", f"{GEO}SantosBasin", "Santos Basin"),
    ]
    # the train split carries FaciesLabel, an interpretation; the test split too, but no model learned from it
    interpretations = answer(geo_store, "models-by-domain-concept", concept=f"{GEO}Interpretation")
    assert interpretations == trained_on(geo_store, {f"{GEO}FaciesLabel"})
    assert {row[1] for row in interpretations} == {"train split"}
    surveys = answer(geo_store, "models-by-domain-concept", concept=f"{GEO}GeophysicalSurvey")
    assert surveys == trained_on(geo_store, {f"{GEO}SeismicSurvey"})
    assert answer(geo_store, "models-by-domain-concept", concept=f"{GEO}SeismicAttribute") == trained_on(
        geo_store, {f"{GEO}AmplitudeCube"}
    )


def test_without_the_ontology_only_the_concept_itself_is_found(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "models-by-domain-concept", concept=f"{GEO}SedimentaryBasin") == []
    direct = answer(lifecycle_store, "models-by-domain-concept", concept=f"{GEO}SantosBasin")
    assert {row[:3] for row in direct} == {
        ("unet-a", "survey-b.segy", f"{GEO}SantosBasin"),
        ("unet-b", "survey-b.segy", f"{GEO}SantosBasin"),
    }


def test_everything_about_a_concept_by_kind(geo_store: Store) -> None:
    def named(concept: str) -> list[tuple[object, ...]]:
        return [row[:4] for row in answer(geo_store, "about-domain-concept", concept=f"{GEO}{concept}")]

    assert named("SedimentaryBasin") == [
        ("raw dataset", "survey-a.segy", f"{GEO}NorthSea", "North Sea"),
        ("raw dataset", "survey-b.segy", f"{GEO}SantosBasin", "Santos Basin"),
        ("raw dataset", "survey-c.segy", f"{GEO}CamposBasin", "Campos Basin"),
    ]
    assert named("Interpretation") == [
        ("domain dataset", "facies map", f"{GEO}FaciesMap", "facies map"),
        ("learning dataset", "test split", f"{GEO}FaciesLabel", "facies label"),
        ("learning dataset", "train split", f"{GEO}FaciesLabel", "facies label"),
    ]
    node = answer(geo_store, "about-domain-concept", concept=f"{GEO}FaciesMap")[0][4]
    assert answer(geo_store, "entity-provenance", entity=str(node))  # the IRI leads on
