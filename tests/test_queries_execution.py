"""What the execution queries answer (times, hosts, GPUs, agents, failures, monitoring) on the fixture lifecycle.

The expected rows are worked out from tests/fixtures/lifecycle/README.md and its event files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import answer, load_file

from provml.store import Store

T = "2026-01-05T"  # every time of the fixture is on this day, in UTC


def with_sorted_list(row: tuple[object, ...], index: int) -> tuple[object, ...]:
    """Return ``row`` with its comma-separated list at ``index`` as a sorted list (GROUP_CONCAT has no order)."""
    value = row[index]
    items = sorted(value.split(", ")) if isinstance(value, str) else value
    return (*row[:index], items, *row[index + 1 :])


def test_the_stage_times_count_executions_by_stage_and_add_up_the_finished_ones(lifecycle_store: Store) -> None:
    # (stage, executions, finished, failed, running, total seconds, mean seconds), in lifecycle order; only
    # finished executions count towards the time: training is train-a and train-b (31 min each), not the
    # failed train-c nor the running train-d. Epochs are sections, not stages; nothing was validated.
    rows = answer(lifecycle_store, "stage-times")
    assert rows == [
        ("data curation", 1, 1, 0, 0, 3600.0, pytest.approx(3600.0)),  # curate 08:01-09:01
        ("learning data preparation", 1, 1, 0, 0, 900.0, pytest.approx(900.0)),  # split 09:02-09:17
        ("training", 4, 2, 1, 1, 3720.0, pytest.approx(1860.0)),
        ("evaluation", 2, 2, 0, 0, 240.0, pytest.approx(120.0)),  # two evaluations of 2 minutes
        ("deployment", 1, 1, 0, 0, 300.0, pytest.approx(300.0)),  # deploy 14:00-14:05
        ("inference", 1, 1, 0, 0, 1200.0, pytest.approx(1200.0)),  # predict 14:10-14:30
    ]


def test_the_task_times_of_a_workflow_list_its_steps_in_start_order(lifecycle_store: Store) -> None:
    # train-a and train-c both started at 10:00 (then by task id); train-c failed after 11 min 20 s; train-d runs
    assert answer(lifecycle_store, "task-times", workflow="sweep-1") == [
        ("train-a", "train_unet", "training", f"{T}10:00:00Z", f"{T}10:31:00Z", 1860.0, "FINISHED", "gpu-1"),
        ("train-c", "train_unet", "training", f"{T}10:00:00Z", f"{T}10:11:20Z", 680.0, "ERROR", "gpu-2"),
        ("train-b", "train_unet", "training", f"{T}11:00:00Z", f"{T}11:31:00Z", 1860.0, "FINISHED", "gpu-1"),
        ("train-d", "train_unet", "training", f"{T}12:00:00Z", None, None, "RUNNING", "gpu-2"),
    ]
    assert answer(lifecycle_store, "task-times", workflow="curation-1") == [
        ("curate", "curate_surveys", "data curation", f"{T}08:01:00Z", f"{T}09:01:00Z", 3600.0, "FINISHED", "cpu-1"),
        (
            "split",
            "make_learning_data",
            "learning data preparation",
            f"{T}09:02:00Z",
            f"{T}09:17:00Z",
            900.0,
            "FINISHED",
            "cpu-1",
        ),
    ]
    assert answer(lifecycle_store, "task-times", workflow="no-such-workflow") == []


def test_the_host_resource_use_sums_up_the_telemetry_of_each_node(lifecycle_store: Store) -> None:
    # one host sample per epoch that ended: gpu-1 ran train-a (CPU 30, 40, 50) and train-b (20, 20, 20), memory
    # 1e9, 2e9, 3e9 each; gpu-2 ran train-c's first epoch (60, 1e9) and train-d's two (25, 35; 1e9, 2e9).
    # cpu-1 was never sampled, so it has no row. Last column: the node's total memory (256 GiB).
    gpu_1 = ("gpu-1", 6, pytest.approx(30.0), 50.0, 3_000_000_000, 256 * 2**30)
    gpu_2 = ("gpu-2", 3, pytest.approx(40.0), 60.0, 2_000_000_000, 256 * 2**30)
    assert answer(lifecycle_store, "host-resource-use") == [gpu_1, gpu_2]
    assert answer(lifecycle_store, "host-resource-use", host="gpu-2") == [gpu_2]
    assert answer(lifecycle_store, "host-resource-use", host="cpu-1") == []


def test_the_gpu_use_gives_the_utilization_of_each_gpu_and_the_tasks_that_ran_on_it(lifecycle_store: Store) -> None:
    # gpu-1 GPU 0: train-a's epochs (90, 92, 94 %; 2e9, 4e9, 6e9 bytes), also used by both evaluations (no samples);
    # gpu-1 GPU 1: train-b (80, 85, 90 %); gpu-2 GPU 0: train-c's first epoch (99 %, 2e9) and train-d's two
    # (70, 72 %; 2e9, 4e9), also used by predict. All have 80 GiB.
    rows = [with_sorted_list(row, 9) for row in answer(lifecycle_store, "gpu-use")]
    used_by_gpu_1_0 = ["evaluate-a", "evaluate-b", "train-a"]
    assert rows == [
        ("gpu-1 GPU 0", "gpu-1", "A100", 3, pytest.approx(92.0), 94.0, 6 * 10**9, 80 * 2**30, 3, used_by_gpu_1_0),
        ("gpu-1 GPU 1", "gpu-1", "A100", 3, pytest.approx(85.0), 90.0, 6 * 10**9, 80 * 2**30, 1, ["train-b"]),
        (
            "gpu-2 GPU 0",
            "gpu-2",
            "H100",
            3,
            pytest.approx((99 + 70 + 72) / 3),
            99.0,
            4 * 10**9,
            80 * 2**30,
            3,
            ["predict", "train-c", "train-d"],
        ),
    ]
    assert [row[0] for row in answer(lifecycle_store, "gpu-use", host="gpu-2")] == ["gpu-2 GPU 0"]


def test_the_failed_tasks_give_the_error_and_what_the_task_used(lifecycle_store: Store) -> None:
    # train-c's epoch e1 ran out of GPU memory at 10:11:10 (a section of train-c, which used nothing itself), then
    # train-c was aborted at 10:11:20; it had read the train split with lr 0.1, batch 64, dropout 0.3
    assert answer(lifecycle_store, "failed-tasks") == [
        (
            "train-c-e1",
            "train_epoch",
            "ERROR",
            "train-c",
            "sweep-1",
            "torch.OutOfMemoryError: CUDA out of memory",
            f"{T}10:11:10Z",
            "gpu-2",
            None,
            None,
            None,
        ),
        (
            "train-c",
            "train_unet",
            "ERROR",
            None,
            "sweep-1",
            "training aborted at epoch 1: CUDA out of memory",
            f"{T}10:11:20Z",
            "gpu-2",
            "train split",
            None,
            "batch_size=64, dropout=0.3, learning_rate=0.1",
        ),
    ]


ALICE = ("alice", "Alice (geophysicist)", "person", "own")
BOB = ("bob", "Bob (ML engineer)", "person", "own")
PREDICTOR = ("predictor", "facies inference service", "software", "own")


def test_who_ran_what_names_the_agents_of_each_workflow_and_step(lifecycle_store: Store) -> None:
    # (workflow, execution, activity, started) + (agent id, name, kind, association), workflows in start order,
    # each workflow's own row first; every step of the fixture names its own agent
    assert answer(lifecycle_store, "who-ran-what") == [
        ("curation-1", "curation-1", "curation", f"{T}08:00:00Z", *ALICE),
        ("curation-1", "curate", "curate_surveys", f"{T}08:01:00Z", *ALICE),
        ("curation-1", "split", "make_learning_data", f"{T}09:02:00Z", *BOB),
        ("sweep-1", "sweep-1", "unet-sweep", f"{T}10:00:00Z", *BOB),
        ("sweep-1", "train-a", "train_unet", f"{T}10:00:00Z", *BOB),
        ("sweep-1", "train-c", "train_unet", f"{T}10:00:00Z", *BOB),
        ("sweep-1", "train-b", "train_unet", f"{T}11:00:00Z", *BOB),
        ("sweep-1", "train-d", "train_unet", f"{T}12:00:00Z", *BOB),
        ("eval-1", "eval-1", "evaluation", f"{T}13:00:00Z", *BOB),
        ("eval-1", "evaluate-a", "evaluate_model", f"{T}13:00:00Z", *BOB),
        ("eval-1", "evaluate-b", "evaluate_model", f"{T}13:03:00Z", *BOB),
        ("deploy-1", "deploy-1", "deployment", f"{T}14:00:00Z", *BOB),
        ("deploy-1", "deploy-1", "deployment", f"{T}14:00:00Z", *PREDICTOR),
        ("deploy-1", "deploy", "deploy_model", f"{T}14:00:00Z", *BOB),
        ("deploy-1", "predict", "predict_facies", f"{T}14:10:00Z", *PREDICTOR),
    ]
    assert [row[1:] for row in answer(lifecycle_store, "who-ran-what", workflow="deploy-1")] == [
        ("deploy-1", "deployment", f"{T}14:00:00Z", *BOB),
        ("deploy-1", "deployment", f"{T}14:00:00Z", *PREDICTOR),
        ("deploy", "deploy_model", f"{T}14:00:00Z", *BOB),
        ("predict", "predict_facies", f"{T}14:10:00Z", *PREDICTOR),
    ]


def test_the_reproducibility_record_of_a_run_gives_code_environment_seeds_settings_and_digests(
    lifecycle_store: Store,
) -> None:
    # train-b: its workflow sweep-1 ran commit abc1234 of the unet repository with torch 2.13.0 and seed 42; it
    # read the train split and warm-started from unet-a, and wrote unet-b
    assert answer(lifecycle_store, "reproducibility-record", run="train-b") == [
        ("run", "task", "train-b"),
        ("run", "workflow", "sweep-1"),
        ("run", "activity", "train_unet"),
        ("run", "host", "gpu-1"),
        ("run", "gpu", "gpu-1 GPU 1"),
        ("code", "branch", "sweep"),
        ("code", "commit", "abc1234"),
        ("code", "dirty", "false"),
        ("code", "repository", "git@git.example:geo/unet.git"),
        ("environment", "command line", "python train.py"),
        ("environment", "package", "torch==2.13.0"),
        ("environment", "platform", "Linux-6.1-x86_64"),
        ("environment", "python", "3.11.7"),
        ("seed", "random seed", "42"),
        ("hyperparameter", "batch_size", "32"),
        ("hyperparameter", "dropout", "0.1"),
        ("hyperparameter", "learning_rate", "0.001"),
        ("used dataset", "train split", "dddd" + "0" * 59 + "4"),
        ("used model", "unet-a", "aaaa" + "0" * 60),
        ("generated model", "unet-b", "bbbb" + "0" * 60),
    ]
    # the split of the curation workflow: another code version and environment, no seed nor settings
    split = answer(lifecycle_store, "reproducibility-record", run="split")
    assert [row for row in split if row[0] in ("code", "used dataset", "generated dataset")] == [
        ("code", "branch", "main"),
        ("code", "commit", "c0ffee1"),
        ("code", "dirty", "false"),
        ("code", "repository", "git@git.example:geo/curation.git"),
        ("used dataset", "facies cube", "cccc" + "0" * 59 + "3"),
        ("generated dataset", "test split", "eeee" + "0" * 59 + "5"),
        ("generated dataset", "train split", "dddd" + "0" * 59 + "4"),
    ]
    assert ("environment", "package", "numpy==2.1.0") in split and not [r for r in split if r[0] == "seed"]


def test_the_running_workflows_show_where_each_running_run_has_got_to(lifecycle_store: Store) -> None:
    # only sweep-1 has not ended; of its runs only train-d is running, on gpu-2: its latest loss is 0.55 (epoch 1,
    # step 200, at the end of that epoch)
    row = ("sweep-1", "unet-sweep", f"{T}10:00:00Z", "train-d", "gpu-2", f"{T}12:00:00Z")
    assert answer(lifecycle_store, "running-workflows") == [(*row, 1, 200, 0.55, f"{T}12:20:10Z")]
    assert answer(lifecycle_store, "running-workflows", metric="accuracy") == [(*row, 1, 200, 0.74, f"{T}12:20:10Z")]
    # a metric the run has not logged: the run is still listed
    assert answer(lifecycle_store, "running-workflows", metric="val_loss") == [(*row, None, None, None, None)]


def test_the_latest_metrics_are_those_of_the_running_runs_or_of_the_run_asked_about(lifecycle_store: Store) -> None:
    assert answer(lifecycle_store, "latest-metrics") == [
        ("train-d", "RUNNING", "accuracy", 0.74, 1, 200, f"{T}12:20:10Z"),
        ("train-d", "RUNNING", "loss", 0.55, 1, 200, f"{T}12:20:10Z"),
    ]
    # train-c logged only its first epoch before it failed
    assert answer(lifecycle_store, "latest-metrics", run="train-c") == [
        ("train-c", "ERROR", "accuracy", 0.4, 0, 100, f"{T}10:10:10Z"),
        ("train-c", "ERROR", "loss", 1.4, 0, 100, f"{T}10:10:10Z"),
    ]
    # an evaluation logs its test metrics without epoch nor step
    assert answer(lifecycle_store, "latest-metrics", run="evaluate-b") == [
        ("evaluate-b", "FINISHED", "test_accuracy", 0.86, None, None, f"{T}13:04:00Z"),
        ("evaluate-b", "FINISHED", "test_f1", 0.84, None, None, f"{T}13:04:30Z"),
    ]


def test_the_epoch_times_give_each_epoch_with_its_cpu_and_gpu_use(lifecycle_store: Store) -> None:
    # epochs of 10 minutes from 10:00:10, each sampled once at its end: CPU 30/40/50 %, GPU 90/92/94 %,
    # memory 1e9·(N+1) bytes, GPU memory 2e9·(N+1) bytes
    assert answer(lifecycle_store, "epoch-times", run="train-a") == [
        (0, "train-a-e0", f"{T}10:00:10Z", f"{T}10:10:10Z", 600.0, "FINISHED", 30.0, 10**9, 90.0, 2 * 10**9),
        (1, "train-a-e1", f"{T}10:10:10Z", f"{T}10:20:10Z", 600.0, "FINISHED", 40.0, 2 * 10**9, 92.0, 4 * 10**9),
        (2, "train-a-e2", f"{T}10:20:10Z", f"{T}10:30:10Z", 600.0, "FINISHED", 50.0, 3 * 10**9, 94.0, 6 * 10**9),
    ]
    # train-c's second epoch failed after a minute, unsampled; train-d's third is under way
    assert answer(lifecycle_store, "epoch-times", run="train-c")[1] == (
        1,
        "train-c-e1",
        f"{T}10:10:10Z",
        f"{T}10:11:10Z",
        60.0,
        "ERROR",
        None,
        None,
        None,
        None,
    )
    assert answer(lifecycle_store, "epoch-times", run="train-d")[2] == (
        2,
        "train-d-e2",
        f"{T}12:20:10Z",
        None,
        None,
        "RUNNING",
        None,
        None,
        None,
        None,
    )
    assert answer(lifecycle_store, "epoch-times", run="evaluate-a") == []  # no epochs


def test_the_workflow_overview_gives_status_and_task_counts_of_every_workflow(lifecycle_store: Store) -> None:
    # (name, id, study, user, start, end, seconds, status, tasks, finished, failed, running); deploy-1 is also
    # associated with the software agent predictor, which is no person
    assert answer(lifecycle_store, "workflow-overview") == [
        ("curation", "curation-1", "facies", "alice", f"{T}08:00:00Z", f"{T}09:20:00Z", 4800.0, "FINISHED", 2, 2, 0, 0),
        ("unet-sweep", "sweep-1", "facies", "bob", f"{T}10:00:00Z", None, None, "RUNNING", 4, 2, 1, 1),
        ("evaluation", "eval-1", "facies", "bob", f"{T}13:00:00Z", f"{T}13:10:00Z", 600.0, "FINISHED", 2, 2, 0, 0),
        ("deployment", "deploy-1", "facies", "bob", f"{T}14:00:00Z", f"{T}14:40:00Z", 2400.0, "FINISHED", 2, 2, 0, 0),
    ]


# -- edge cases, on a store of their own ----------------------------------------------------------------------

NIGHTLY = """\
{"type": "agent", "agent_id": "svc", "kind": "software", "name": "scheduler"}
{"type": "workflow", "workflow_id": "wf-x", "name": "nightly", "user": "carol", "agent_id": "svc", "started_at": "2026-01-05T23:00:00Z"}
{"type": "task", "workflow_id": "wf-x", "task_id": "long", "activity_id": "prepare", "subtype": "dataprep", "started_at": "2026-01-05T23:59:59.5Z", "hostname": "h1"}
{"type": "task", "workflow_id": "wf-x", "task_id": "long", "ended_at": "2026-01-07T01:00:00Z", "status": "FINISHED"}
{"type": "task", "workflow_id": "wf-x", "task_id": "short", "activity_id": "check", "started_at": "2026-01-07T01:00:00Z", "user": "dave"}
{"type": "workflow", "workflow_id": "wf-y", "name": "orphan", "started_at": "2026-01-08T00:00:00Z"}
{"type": "task", "workflow_id": "wf-y", "task_id": "lonely", "activity_id": "noop", "started_at": "2026-01-08T00:00:01Z"}
"""


@pytest.fixture
def nightly(store: Store, tmp_path: Path) -> Store:
    path = tmp_path / "nightly.jsonl"
    path.write_text(NIGHTLY, encoding="utf-8")
    load_file(store, path)
    return store


def test_a_step_without_agents_is_credited_with_its_workflows_and_one_without_any_has_an_empty_row(
    nightly: Store,
) -> None:
    carol = ("carol", None, "person")  # a user with no agent record: its id is its only label
    svc = ("svc", "scheduler", "software")
    assert answer(nightly, "who-ran-what") == [
        ("wf-x", "wf-x", "nightly", "2026-01-05T23:00:00Z", *carol, "own"),
        ("wf-x", "wf-x", "nightly", "2026-01-05T23:00:00Z", *svc, "own"),
        ("wf-x", "long", "prepare", "2026-01-05T23:59:59.5Z", *carol, "workflow"),
        ("wf-x", "long", "prepare", "2026-01-05T23:59:59.5Z", *svc, "workflow"),
        ("wf-x", "short", "check", "2026-01-07T01:00:00Z", "dave", None, "person", "own"),
        ("wf-y", "wf-y", "orphan", "2026-01-08T00:00:00Z", None, None, None, None),
        ("wf-y", "lonely", "noop", "2026-01-08T00:00:01Z", None, None, None, None),
    ]


def test_durations_span_days_and_keep_fractions_of_a_second(nightly: Store) -> None:
    # 23:59:59.5 on the 5th to 01:00 on the 7th: one day, one hour and half a second; a task of no known stage
    assert answer(nightly, "task-times", workflow="wf-x") == [
        (
            "long",
            "prepare",
            "learning data preparation",
            "2026-01-05T23:59:59.5Z",
            "2026-01-07T01:00:00Z",
            pytest.approx(86400 + 3600 + 0.5),
            "FINISHED",
            "h1",
        ),
        ("short", "check", "task", "2026-01-07T01:00:00Z", None, None, "RUNNING", None),
    ]
    assert answer(nightly, "stage-times") == [
        ("learning data preparation", 1, 1, 0, 0, pytest.approx(90000.5), pytest.approx(90000.5))
    ]
    # both workflows run: neither has ended, and neither has a training run
    assert answer(nightly, "running-workflows") == [
        ("wf-x", "nightly", "2026-01-05T23:00:00Z", None, None, None, None, None, None, None),
        ("wf-y", "orphan", "2026-01-08T00:00:00Z", None, None, None, None, None, None, None),
    ]
