"""The executor, with real processes running a fake worker."""

import threading
import time
from pathlib import Path

import pytest

from lpot_ux.components.benchmark.executor import BenchmarkExecutor, Step, build_command, rerun_command
from lpot_ux.components.benchmark.runtime import make_runtime
from lpot_ux.errors import WorkerError

FAKE_WORKER = Path(__file__).parents[2] / "fixtures" / "fake_worker.py"


def start_thread(function, *args):
    thread = threading.Thread(target=function, args=args, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def executor() -> BenchmarkExecutor:
    runtime = make_runtime("threading", start_thread, time.sleep)
    return BenchmarkExecutor(runtime, ready_timeout=2, run_timeout=10)


@pytest.fixture
def step(tmp_path: Path) -> Step:
    return Step(
        role="input_model",
        model_path=tmp_path / "model.pb",
        mode="performance",
        framework="tensorflow",
        config_path=tmp_path / "config.yaml",
        workload_dir=tmp_path,
        core_sets=((0,), (1,)),
        benchmark_script=FAKE_WORKER,
    )


def test_command_line_is_the_seeds(step):
    command = build_command(step)

    assert command[1:] == [
        str(FAKE_WORKER),
        "--config",
        str(step.config_path),
        "--input-graph",
        str(step.model_path),
        "--mode",
        "performance",
        "--framework",
        "tensorflow",
    ]


def test_instances_are_summed_and_logged(executor, step, monkeypatch):
    monkeypatch.setenv("FAKE_THROUGHPUT", "50")

    result = executor.run_model(step)

    assert result.throughput == pytest.approx(100.0)
    assert result.latency_ms == pytest.approx(20.0)
    assert len(result.instances) == 2
    for number, cores in enumerate(("0", "1")):
        log = (step.workload_dir / f"input_model_performance_instance_{number}.log").read_text()
        assert f"fake worker on cores {cores}" in log
        assert "lpot_ux: ready" in log


def test_instances_start_measuring_together(executor, step):
    result = executor.run_model(step)

    starts = [instance.details["window_start"] for instance in result.instances]
    assert max(starts) - min(starts) < 0.05


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("crash", "instance 0 exited with code 3 before it was ready to measure: error: cannot load model"),
        ("fail-after-ready", "instance 0 exited with code 4: error: out of memory"),
        ("no-result", "instance 0 The worker printed no result"),
        ("hang", "did not load its model and warm up within 2 s"),
    ],
)
def test_failing_worker_fails_the_step(executor, step, monkeypatch, behaviour, reason):
    monkeypatch.setenv("FAKE_WORKER", behaviour)

    with pytest.raises(WorkerError) as caught:
        executor.run_model(step)

    assert caught.value.message.startswith("The input model benchmark failed: ")
    assert reason.split(" ", 2)[-1] in caught.value.message
    assert executor.running == []


def test_failed_worker_leaves_its_log_tail(executor, step, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER", "crash")

    with pytest.raises(WorkerError) as caught:
        executor.run_model(step)

    assert caught.value.exit_code == 3
    assert "fake worker on cores" in caught.value.log_tail


def test_hanging_workers_are_killed(executor, step, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER", "hang")
    seen = []
    original = executor.spawn_worker
    monkeypatch.setattr(
        executor, "spawn_worker", lambda *args: seen.append(original(*args)) or seen[-1]
    )

    with pytest.raises(WorkerError):
        executor.run_model(step)

    assert all(instance.process.poll() is not None for instance in seen)


def test_throughput_comes_from_the_common_window(executor, step, monkeypatch):
    monkeypatch.setenv("FAKE_THROUGHPUT", "50")

    result = executor.run_model(step)

    figures = result.statistics
    assert figures["window"]["overlap"] > 0.95
    assert result.throughput == pytest.approx(100.0, rel=0.05)
    assert figures["latency_ms_per_batch"]["p50"] == pytest.approx(20.0)
    assert figures["iterations"] == 200
    assert figures["peak_rss_bytes"] == {"per_instance": [1000, 1000], "total": 2000}


def test_windows_apart_are_reported(executor, step, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER", "apart")

    result = executor.run_model(step)

    assert result.statistics["window"]["overlap"] == pytest.approx(0.0, abs=0.02)


def test_cap_reached_is_reported(executor, step, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER", "capped")

    result = executor.run_model(step)

    assert result.statistics["rule_met"] is False
    assert result.statistics["stopped_by"] == ["cap", "cap"]


def test_accuracy_step_runs_one_unsynchronized_instance(executor, step):
    accuracy_step = Step(**{**step.__dict__, "mode": "accuracy", "core_sets": ((0, 1),)})

    result = executor.run_accuracy(accuracy_step)

    assert result.accuracy == 0.75
    assert result.details == {"samples": 8}
    log = (step.workload_dir / "input_model_accuracy_instance_0.log").read_text()
    assert "lpot_ux: ready" not in log


def test_rerun_command_pins_like_the_server(step):
    assert rerun_command(step).startswith("LPOT_UX_CORES=0 ")
    assert rerun_command(step).endswith("--framework tensorflow")
