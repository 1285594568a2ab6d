"""What the run, model and evaluation queries answer on the fixture lifecycle (tests/fixtures/lifecycle/README.md).

The final value of a metric is the last one a run logged: for train-a and train-b their epoch 2 (step 300), for
train-d (still running) its epoch 1, for train-c (crashed in epoch 1) its epoch 0. Epoch N of a run started at
hh:00 ends, and logs its metrics, at hh:(N+1)0:10.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from conftest import LIFECYCLE, answer, load_file

from provml.errors import QueryError
from provml.store import Store

SWEEP = {
    # run: (learning_rate, batch_size, dropout), as the settings are listed (by name)
    "train-a": "batch_size=32, dropout=0.1, learning_rate=0.01",
    "train-b": "batch_size=32, dropout=0.1, learning_rate=0.001",
    "train-c": "batch_size=64, dropout=0.3, learning_rate=0.1",
    "train-d": "batch_size=32, dropout=0.1, learning_rate=0.003",
}
TRAIN_SPLIT = "dddd000000000000000000000000000000000000000000000000000000000004"
TEST_SPLIT = "eeee000000000000000000000000000000000000000000000000000000000005"


def write_events(path: Path, *records: dict[str, object]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


# -- best-runs ---------------------------------------------------------------------------


def test_the_best_runs_are_ranked_by_their_final_accuracy_best_first(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "best-runs") == [
        ("train-b", 0.85, 2, 300, "2026-01-05T11:30:10Z", "FINISHED", "sweep-1", "unet-b"),
        ("train-a", 0.75, 2, 300, "2026-01-05T10:30:10Z", "FINISHED", "sweep-1", "unet-a"),
        ("train-d", 0.74, 1, 200, "2026-01-05T12:20:10Z", "RUNNING", "sweep-1", None),
        ("train-c", 0.4, 0, 100, "2026-01-05T10:10:10Z", "ERROR", "sweep-1", None),
    ]


def test_the_best_runs_by_a_loss_are_the_lowest_first_when_asked_ascending(lifecycle_store: Store) -> None:
    rows = answer(lifecycle_store, "best-runs", metric="loss", order="asc")
    assert [(run, value) for run, value, *_ in rows] == [
        ("train-b", 0.3),
        ("train-a", 0.5),
        ("train-d", 0.55),
        ("train-c", 1.4),
    ]
    # descending, the worst loss comes first
    assert [row[0] for row in answer(lifecycle_store, "best-runs", metric="loss")] == [
        "train-c",
        "train-d",
        "train-a",
        "train-b",
    ]


def test_the_best_runs_are_limited_to_the_first_ones_asked_for(lifecycle_store: Store) -> None:
    assert [row[0] for row in answer(lifecycle_store, "best-runs", limit="2")] == ["train-b", "train-a"]


def test_the_best_runs_of_a_metric_no_run_logged_are_none(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "best-runs", metric="val_accuracy") == []
    # test_accuracy was logged by evaluations, which are not training runs
    assert answer(lifecycle_store, "best-runs", metric="test_accuracy") == []


def test_the_best_runs_order_is_desc_or_asc_only(lifecycle_store: Store) -> None:
    with pytest.raises(QueryError, match="'order' must be one of desc, asc"):
        answer(lifecycle_store, "best-runs", order="up")


# -- hyperparameter-sweep ----------------------------------------------------------------


def test_a_sweep_lists_each_runs_settings_next_to_its_final_accuracy(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "hyperparameter-sweep", workflow="sweep-1") == [
        ("train-a", SWEEP["train-a"], 0.75, 2, "FINISHED"),
        ("train-b", SWEEP["train-b"], 0.85, 2, "FINISHED"),
        ("train-c", SWEEP["train-c"], 0.4, 0, "ERROR"),
        ("train-d", SWEEP["train-d"], 0.74, 1, "RUNNING"),
    ]


def test_a_sweep_against_another_metric_and_one_no_run_logged(lifecycle_store: Store) -> None:
    loss = answer(lifecycle_store, "hyperparameter-sweep", workflow="sweep-1", metric="loss")
    assert [(run, value, epoch) for run, _, value, epoch, _ in loss] == [
        ("train-a", 0.5, 2),
        ("train-b", 0.3, 2),
        ("train-c", 1.4, 0),
        ("train-d", 0.55, 1),
    ]
    # the runs are still listed, without a value
    assert answer(lifecycle_store, "hyperparameter-sweep", workflow="sweep-1", metric="val_loss") == [
        (run, settings, None, None, status)
        for (run, settings), status in zip(SWEEP.items(), ["FINISHED", "FINISHED", "ERROR", "RUNNING"], strict=True)
    ]
    # the evaluation workflow has no training runs
    assert answer(lifecycle_store, "hyperparameter-sweep", workflow="eval-1") == []


def test_a_sweep_comes_in_pages_of_runs(lifecycle_store: Store) -> None:
    everything = answer(lifecycle_store, "hyperparameter-sweep", workflow="sweep-1")
    assert answer(lifecycle_store, "hyperparameter-sweep", workflow="sweep-1", limit="2", offset="1") == everything[1:3]
    # a run without the metric keeps its place on the page
    assert answer(lifecycle_store, "hyperparameter-sweep", workflow="sweep-1", metric="val_loss", offset="3") == [
        ("train-d", SWEEP["train-d"], None, None, "RUNNING")
    ]


# -- compare-runs ------------------------------------------------------------------------


def test_two_runs_side_by_side_show_code_data_settings_and_final_metrics(lifecycle_store: Store) -> None:
    repository = "git@git.example:geo/unet.git"
    assert answer(lifecycle_store, "compare-runs", runA="train-a", runB="train-b") == [
        ("code", repository, "train-a", "abc1234"),
        ("code", repository, "train-b", "abc1234"),
        ("dataset", "train split", "train-a", TRAIN_SPLIT),
        ("dataset", "train split", "train-b", TRAIN_SPLIT),
        ("hyperparameter", "batch_size", "train-a", 32),
        ("hyperparameter", "batch_size", "train-b", 32),
        ("hyperparameter", "dropout", "train-a", 0.1),
        ("hyperparameter", "dropout", "train-b", 0.1),
        ("hyperparameter", "learning_rate", "train-a", 0.01),
        ("hyperparameter", "learning_rate", "train-b", 0.001),
        ("metric", "accuracy", "train-a", 0.75),
        ("metric", "accuracy", "train-b", 0.85),
        ("metric", "loss", "train-a", 0.5),
        ("metric", "loss", "train-b", 0.3),
    ]


def test_a_third_run_joins_the_comparison_when_given(lifecycle_store: Store) -> None:
    rows = answer(lifecycle_store, "compare-runs", runA="train-a", runB="train-b", runC="train-c")
    assert len(rows) == 21 and {row[2] for row in rows} == {"train-a", "train-b", "train-c"}
    # train-c crashed in its first epoch: its final metrics are those of epoch 0
    assert [row for row in rows if row[2] == "train-c"] == [
        ("code", "git@git.example:geo/unet.git", "train-c", "abc1234"),
        ("dataset", "train split", "train-c", TRAIN_SPLIT),
        ("hyperparameter", "batch_size", "train-c", 64),
        ("hyperparameter", "dropout", "train-c", 0.3),
        ("hyperparameter", "learning_rate", "train-c", 0.1),
        ("metric", "accuracy", "train-c", 0.4),
        ("metric", "loss", "train-c", 1.4),
    ]


def test_evaluations_compare_too_and_unknown_runs_add_nothing(lifecycle_store: Store) -> None:
    # eval-1 records no code version; the models the evaluations used are not datasets
    assert answer(lifecycle_store, "compare-runs", runA="evaluate-a", runB="evaluate-b", runC="no-such-run") == [
        ("dataset", "test split", "evaluate-a", TEST_SPLIT),
        ("dataset", "test split", "evaluate-b", TEST_SPLIT),
        ("metric", "test_accuracy", "evaluate-a", 0.81),
        ("metric", "test_accuracy", "evaluate-b", 0.86),
        ("metric", "test_f1", "evaluate-a", 0.78),
        ("metric", "test_f1", "evaluate-b", 0.84),
    ]


# -- final-metrics -----------------------------------------------------------------------


def test_the_final_metrics_of_every_run_include_training_and_evaluation(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "final-metrics") == [
        ("eval-1", "evaluate-a", "test_accuracy", 0.81, None, None, "2026-01-05T13:01:00Z", "FINISHED"),
        ("eval-1", "evaluate-a", "test_f1", 0.78, None, None, "2026-01-05T13:01:30Z", "FINISHED"),
        ("eval-1", "evaluate-b", "test_accuracy", 0.86, None, None, "2026-01-05T13:04:00Z", "FINISHED"),
        ("eval-1", "evaluate-b", "test_f1", 0.84, None, None, "2026-01-05T13:04:30Z", "FINISHED"),
        ("sweep-1", "train-a", "accuracy", 0.75, 2, 300, "2026-01-05T10:30:10Z", "FINISHED"),
        ("sweep-1", "train-a", "loss", 0.5, 2, 300, "2026-01-05T10:30:10Z", "FINISHED"),
        ("sweep-1", "train-b", "accuracy", 0.85, 2, 300, "2026-01-05T11:30:10Z", "FINISHED"),
        ("sweep-1", "train-b", "loss", 0.3, 2, 300, "2026-01-05T11:30:10Z", "FINISHED"),
        ("sweep-1", "train-c", "accuracy", 0.4, 0, 100, "2026-01-05T10:10:10Z", "ERROR"),
        ("sweep-1", "train-c", "loss", 1.4, 0, 100, "2026-01-05T10:10:10Z", "ERROR"),
        ("sweep-1", "train-d", "accuracy", 0.74, 1, 200, "2026-01-05T12:20:10Z", "RUNNING"),
        ("sweep-1", "train-d", "loss", 0.55, 1, 200, "2026-01-05T12:20:10Z", "RUNNING"),
    ]


def test_the_final_metrics_of_one_workflow(lifecycle_store: Store) -> None:
    everything = answer(lifecycle_store, "final-metrics")
    assert answer(lifecycle_store, "final-metrics", workflow="sweep-1") == everything[4:]
    assert answer(lifecycle_store, "final-metrics", workflow="eval-1") == everything[:4]
    assert answer(lifecycle_store, "final-metrics", workflow="curation-1") == []  # it logged no metric


def test_the_final_metrics_come_in_pages_of_runs(lifecycle_store: Store) -> None:
    everything = answer(lifecycle_store, "final-metrics")  # 6 runs that logged 2 metrics each
    # the curation tasks logged no metric, so they take no place on a page even though curation-1 sorts first
    assert answer(lifecycle_store, "final-metrics", limit="1") == everything[:2]
    assert answer(lifecycle_store, "final-metrics", limit="2", offset="3") == everything[6:10]
    assert answer(lifecycle_store, "final-metrics", workflow="sweep-1", limit="3", offset="3") == everything[10:]
    assert answer(lifecycle_store, "final-metrics", offset="6") == []
    with pytest.raises(QueryError, match="'limit' must be an xsd:integer"):
        answer(lifecycle_store, "final-metrics", limit="all")


# -- model-evaluations -------------------------------------------------------------------


def test_every_evaluation_value_of_every_model_with_its_evaluation_and_data(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "model-evaluations") == [
        ("unet-a", "test_accuracy", 0.81, "2026-01-05T13:01:00Z", "evaluate-a", "test split"),
        ("unet-a", "test_f1", 0.78, "2026-01-05T13:01:30Z", "evaluate-a", "test split"),
        ("unet-b", "test_accuracy", 0.86, "2026-01-05T13:04:00Z", "evaluate-b", "test split"),
        ("unet-b", "test_f1", 0.84, "2026-01-05T13:04:30Z", "evaluate-b", "test split"),
    ]


def test_the_evaluations_of_one_model(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "model-evaluations", model="unet-b") == [
        ("unet-b", "test_accuracy", 0.86, "2026-01-05T13:04:00Z", "evaluate-b", "test split"),
        ("unet-b", "test_f1", 0.84, "2026-01-05T13:04:30Z", "evaluate-b", "test split"),
    ]
    assert answer(lifecycle_store, "model-evaluations", model="train split") == []  # a dataset, not a model


# -- best-model --------------------------------------------------------------------------


def test_the_best_model_by_test_accuracy_with_its_run_and_settings(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "best-model") == [("unet-b", 0.86, "evaluate-b", "train-b", SWEEP["train-b"])]


def test_the_best_model_by_another_measure_lowest_first(lifecycle_store: Store) -> None:
    # the lowest test_f1 is unet-a's 0.78; by the highest, unet-b's 0.84
    assert answer(lifecycle_store, "best-model", measure="test_f1", order="asc") == [
        ("unet-a", 0.78, "evaluate-a", "train-a", SWEEP["train-a"])
    ]
    assert answer(lifecycle_store, "best-model", measure="test_f1") == [
        ("unet-b", 0.84, "evaluate-b", "train-b", SWEEP["train-b"])
    ]
    # the training losses name no model
    assert answer(lifecycle_store, "best-model", measure="loss", order="asc") == []


# -- models-by-algorithm -----------------------------------------------------------------


def test_models_by_algorithm_with_implementation_size_and_run(lifecycle_store: Store) -> None:
    expected = [
        ("U-Net", "facies.UNet", "unet-a", "1", 4096, "aaaa" + "0" * 60, "train-a"),
        ("U-Net", "facies.UNet", "unet-b", "1", 4096, "bbbb" + "0" * 60, "train-b"),
    ]
    assert answer(lifecycle_store, "models-by-algorithm") == expected
    assert answer(lifecycle_store, "models-by-algorithm", algorithm="U-Net") == expected
    assert answer(lifecycle_store, "models-by-algorithm", algorithm="Random Forest") == []


# -- model-derivation --------------------------------------------------------------------


def test_a_warm_started_model_has_its_origin_as_ancestor_and_vice_versa(lifecycle_store: Store) -> None:
    # unet-b was warm-started from unet-a
    assert answer(lifecycle_store, "model-derivation", model="unet-b") == [("ancestor", "unet-a", None, "train-a")]
    assert answer(lifecycle_store, "model-derivation", model="unet-a") == [
        ("descendant", "unet-b", "unet-a", "train-b")
    ]
    assert answer(lifecycle_store, "model-derivation", model="train split") == []


def test_model_derivation_follows_fine_tuning_at_any_depth(store: Store, tmp_path: Path) -> None:
    # train-e fine-tunes unet-b (itself warm-started from unet-a) into unet-e
    finetune = write_events(
        tmp_path / "train-e.jsonl",
        {"type": "workflow", "workflow_id": "sweep-2", "name": "finetune", "started_at": "2026-01-06T10:00:00Z"},
        {"type": "task", "workflow_id": "sweep-2", "task_id": "train-e", "activity_id": "train_unet",
         "subtype": "training", "started_at": "2026-01-06T10:00:00Z"},
        {"type": "model", "workflow_id": "sweep-2", "task_id": "train-e", "role": "input", "model_id": "unet-b",
         "name": "unet-b"},
        {"type": "model", "workflow_id": "sweep-2", "task_id": "train-e", "model_id": "unet-e", "name": "unet-e",
         "derived_from": ["unet-b"]},
        {"type": "task", "workflow_id": "sweep-2", "task_id": "train-e", "ended_at": "2026-01-06T11:00:00Z",
         "status": "FINISHED"},
    )  # fmt: skip
    for path in (LIFECYCLE / "train-a.jsonl", LIFECYCLE / "train-b.jsonl", finetune):
        load_file(store, path)
    assert answer(store, "model-derivation", model="unet-e") == [
        ("ancestor", "unet-a", None, "train-a"),
        ("ancestor", "unet-b", "unet-a", "train-b"),
    ]
    assert answer(store, "model-derivation", model="unet-a") == [
        ("descendant", "unet-b", "unet-a", "train-b"),
        ("descendant", "unet-e", "unet-b", "train-e"),
    ]
    assert answer(store, "model-derivation", model="unet-b") == [
        ("ancestor", "unet-a", None, "train-a"),
        ("descendant", "unet-e", "unet-b", "train-e"),
    ]


# -- evaluation-datasets -----------------------------------------------------------------


def test_each_evaluation_lists_its_data_models_and_scores(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "evaluation-datasets") == [
        ("evaluate-a", "test split", TEST_SPLIT, "unet-a", "test_accuracy", 0.81),
        ("evaluate-a", "test split", TEST_SPLIT, "unet-a", "test_f1", 0.78),
        ("evaluate-b", "test split", TEST_SPLIT, "unet-b", "test_accuracy", 0.86),
        ("evaluate-b", "test split", TEST_SPLIT, "unet-b", "test_f1", 0.84),
    ]


def test_a_value_naming_no_model_is_about_the_models_the_evaluation_used(store: Store, tmp_path: Path) -> None:
    # evaluate-c used both models and the test split: its test_accuracy names unet-b, its test_f1 no model
    task = {"workflow_id": "eval-2", "task_id": "evaluate-c"}
    evaluation = write_events(
        tmp_path / "evaluation-2.jsonl",
        {"type": "task", **task, "activity_id": "evaluate_model", "subtype": "evaluation",
         "started_at": "2026-01-06T13:00:00Z"},
        {"type": "model", **task, "role": "input", "model_id": "unet-a", "name": "unet-a"},
        {"type": "model", **task, "role": "input", "model_id": "unet-b", "name": "unet-b"},
        {"type": "dataset", **task, "role": "input", "dataset_id": "test-v1", "name": "test split"},
        {"type": "metric", **task, "name": "test_accuracy", "value": 0.9, "timestamp": "2026-01-06T13:01:00Z",
         "model_id": "unet-b"},
        {"type": "metric", **task, "name": "test_f1", "value": 0.7, "timestamp": "2026-01-06T13:02:00Z"},
    )  # fmt: skip
    load_file(store, evaluation)
    assert answer(store, "evaluation-datasets") == [
        ("evaluate-c", "test split", None, "unet-a", "test_f1", 0.7),
        ("evaluate-c", "test split", None, "unet-b", "test_accuracy", 0.9),
        ("evaluate-c", "test split", None, "unet-b", "test_f1", 0.7),
    ]


# -- hyperparameter-values ---------------------------------------------------------------


def test_each_hyperparameter_value_with_its_runs_and_best_final_accuracy(lifecycle_store: Store) -> None:
    # batch size 32 and dropout 0.1: train-a, train-b and train-d, the best of which is train-b's 0.85
    assert answer(lifecycle_store, "hyperparameter-values") == [
        ("batch_size", 32, 3, 0.85),
        ("batch_size", 64, 1, 0.4),
        ("dropout", 0.1, 3, 0.85),
        ("dropout", 0.3, 1, 0.4),
        ("learning_rate", 0.001, 1, 0.85),
        ("learning_rate", 0.003, 1, 0.74),
        ("learning_rate", 0.01, 1, 0.75),
        ("learning_rate", 0.1, 1, 0.4),
    ]


def test_hyperparameter_values_by_the_lowest_final_loss(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "hyperparameter-values", metric="loss", order="asc") == [
        ("batch_size", 32, 3, 0.3),
        ("batch_size", 64, 1, 1.4),
        ("dropout", 0.1, 3, 0.3),
        ("dropout", 0.3, 1, 1.4),
        ("learning_rate", 0.001, 1, 0.3),
        ("learning_rate", 0.003, 1, 0.55),
        ("learning_rate", 0.01, 1, 0.5),
        ("learning_rate", 0.1, 1, 1.4),
    ]
    # no run logged val_loss: the runs are counted, with no best value
    assert answer(lifecycle_store, "hyperparameter-values", metric="val_loss")[:2] == [
        ("batch_size", 32, 3, None),
        ("batch_size", 64, 1, None),
    ]
