"""What the training queries answer on the fixture lifecycle (tests/fixtures/lifecycle/README.md)."""

from __future__ import annotations

from conftest import answer

from provml.store import Store


def test_the_training_curve_of_a_run_lists_its_loss_by_epoch(lifecycle_store: Store) -> None:
    # train-b's loss at epochs 0, 1, 2 (steps 100, 200, 300); accuracy when asked
    assert answer(lifecycle_store, "training-curve", run="train-b") == [(0, 100, 0.7), (1, 200, 0.45), (2, 300, 0.3)]
    assert [row[2] for row in answer(lifecycle_store, "training-curve", run="train-a", metric="accuracy")] == [
        0.6,
        0.7,
        0.75,
    ]
    # the running train-d has logged two epochs so far
    assert answer(lifecycle_store, "training-curve", run="train-d") == [(0, 100, 0.8), (1, 200, 0.55)]
