"""The results store."""

from pathlib import Path

from lpot_ux.components.store.store import RunStore


def test_run_lifecycle(tmp_path: Path):
    store = RunStore(tmp_path)
    key = store.add_run("a", {"id": "a"}, tmp_path / "w")

    assert store.is_active("a")
    store.start_run(key)
    store.update_data(key, {"id": "a", "progress": "1/2"})
    assert store.get_run("a")["status"] == "running"
    store.finish_run(key, "success", {"id": "a", "progress": "2/2"})

    run = store.get_run("a")
    assert run["status"] == "success"
    assert run["data"]["progress"] == "2/2"
    assert run["created_at"] <= run["started_at"] <= run["finished_at"]
    assert not store.is_active("a")


def test_latest_run_of_an_id_wins_and_list_is_newest_first(tmp_path: Path):
    store = RunStore(tmp_path)
    first = store.add_run("a", {"n": 1}, tmp_path)
    store.finish_run(first, "success", {})
    store.add_run("b", {"n": 2}, tmp_path)
    store.add_run("a", {"n": 3}, tmp_path)

    assert store.get_run("a")["request"] == {"n": 3}
    assert [run["request"]["n"] for run in store.list_runs()] == [3, 2, 1]
    assert store.get_run("missing") is None


def test_unfinished_runs_become_interrupted_on_reopen(tmp_path: Path):
    store = RunStore(tmp_path)
    done = store.add_run("done", {}, tmp_path)
    store.finish_run(done, "success", {"x": 1})
    running = store.add_run("running", {}, tmp_path)
    store.start_run(running)
    store.add_run("queued", {}, tmp_path)
    store.close()

    reopened = RunStore(tmp_path)

    assert reopened.interrupt_active_runs() == 2
    assert reopened.get_run("running")["status"] == "interrupted"
    assert reopened.get_run("queued")["status"] == "interrupted"
    assert reopened.get_run("done")["status"] == "success"
    assert reopened.get_run("done")["data"] == {"x": 1}


def test_odd_ids_are_just_data(tmp_path: Path):
    store = RunStore(tmp_path)
    store.add_run("a'; DROP TABLE runs; --", {}, tmp_path)

    assert store.get_run("a'; DROP TABLE runs; --")["status"] == "queued"


def test_moving_a_workload_leaves_later_runs_alone(tmp_path: Path):
    store = RunStore(tmp_path)
    folder = tmp_path / "w"
    first = store.add_run("a", {}, folder)
    second = store.add_run("a", {}, folder)

    assert store.latest_run_in(folder, before=second) == first
    store.move_workload(folder, tmp_path / "w.run1", before=second)

    assert [run["workload_dir"] for run in store.list_runs()] == [str(folder), str(tmp_path / "w.run1")]
