"""Tests of the worker's stop rules and its ready/go/done/stop protocol.

The rules are tested in process on fake models; the protocol on real workers
running the tiny ONNX model, which start in a fraction of a second.
"""

import io
import os
import queue
import signal
import subprocess
import threading
import time
from array import array

import numpy as np
import pytest
from fixtures.models import (
    parse_result,
    run_worker,
    shared_tiny_models,
    worker_command,
    worker_env,
    write_config,
)

from lpot_ux.components.benchmark.worker import measure

READY_TIMEOUT = 60
# Long enough that a worker ignoring the protocol would have printed its result.
HOLD = 0.5
# Slack for a loaded CI machine past the time a rule asks for.
SLACK = 2.0


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """Return the tiny models of every kind."""
    return shared_tiny_models(tmp_path_factory)


class FakeModel:
    """A model that counts its calls and may take a while."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.calls = 0
        self.seconds = seconds

    def __call__(self) -> None:
        self.calls += 1
        if self.seconds:
            time.sleep(self.seconds)


def rule(iterations=None, duration=None, max_duration=60.0) -> measure.StopRule:
    """Return a stop rule."""
    return measure.StopRule(iterations, duration, max_duration)


def test_measure_stops_at_the_iteration_count():
    model = FakeModel()

    window = measure.measure(model, rule(iterations=7))

    assert model.calls == len(window.ends) == 7
    assert (window.rule_met, window.stopped_by) == (True, "rule")
    assert list(window.ends) == sorted(window.ends)
    assert window.start < window.ends[0] and window.end == window.ends[-1]


@pytest.mark.parametrize(
    ("iterations", "duration", "seconds", "least_calls"),
    [
        (None, 0.05, 0.001, 1),
        (3, 0.05, 0.0, 4),
        (20, 0.001, 0.001, 20),
    ],
)
def test_measure_meets_both_halves_of_the_rule(
    iterations, duration, seconds, least_calls
):
    model = FakeModel(seconds)

    window = measure.measure(model, rule(iterations, duration))

    assert window.end - window.start >= duration
    assert len(window.ends) >= least_calls
    assert (window.rule_met, window.stopped_by) == (True, "rule")


def test_measure_stops_at_the_cap_before_the_rule():
    window = measure.measure(FakeModel(0.001), rule(10**9, max_duration=0.05))

    assert (window.rule_met, window.stopped_by) == (False, "cap")
    assert 0.05 <= window.end - window.start < 0.05 + SLACK


class FakeParent:
    """A listener whose parent says stop a few calls after the instance is done."""

    def __init__(self, calls_after_done: int | None, stopped: bool = False) -> None:
        self.stopped = stopped
        self.calls_after_done = calls_after_done
        self.done_lines = 0
        self.model = FakeModel()

    def done(self) -> None:
        self.done_lines += 1

    def call(self) -> None:
        self.model()
        if self.done_lines and self.calls_after_done is not None:
            self.calls_after_done -= 1
            self.stopped = self.calls_after_done <= 0


def test_measure_runs_on_after_done_until_stop():
    parent = FakeParent(calls_after_done=5)

    window = measure.measure(parent.call, rule(iterations=7), parent, parent.done)

    assert parent.done_lines == 1
    assert len(window.ends) == 7 + 5
    assert (window.rule_met, window.stopped_by) == (True, "stop")


def test_measure_an_early_stop_still_meets_the_rule():
    parent = FakeParent(calls_after_done=None, stopped=True)

    window = measure.measure(parent.call, rule(iterations=7), parent, parent.done)

    assert parent.done_lines == 1
    assert len(window.ends) == 7
    assert (window.rule_met, window.stopped_by) == (True, "rule")


def test_measure_runs_on_no_longer_than_the_cap():
    parent = FakeParent(calls_after_done=None)
    rule_ = rule(iterations=1, max_duration=0.05)

    window = measure.measure(parent.call, rule_, parent, parent.done)

    assert (window.rule_met, window.stopped_by) == (True, "cap")
    assert 0.05 <= window.end - window.start < 0.05 + SLACK


@pytest.mark.parametrize("text", ["noise\nstop\nlater\n", "stop", ""])
def test_stop_listener_stops_at_a_stop_line_or_the_end(text):
    stream = io.StringIO(text)
    listener = measure.StopListener(stream).start()
    listener.thread.join(timeout=5)

    assert listener.stopped
    if "later" in text:
        assert stream.readline() == "later\n"


def test_stop_listener_waits_for_its_line():
    reader, writer = os.pipe()
    with os.fdopen(reader) as stream, os.fdopen(writer, "w") as sink:
        listener = measure.StopListener(stream).start()
        sink.write("go on\n")
        sink.flush()
        time.sleep(0.05)
        assert not listener.stopped

        sink.write("stop\n")
        sink.flush()
        listener.thread.join(timeout=5)
        assert listener.stopped


@pytest.mark.parametrize(
    ("iterations", "duration", "least_calls"), [(0, 0.0, 0), (3, 0.0, 3), (1, 0.03, 2)]
)
def test_warm_up_meets_count_and_duration(iterations, duration, least_calls):
    model = FakeModel(0.001)

    warmup = measure.warm_up(model, iterations, duration)

    assert warmup.iterations == model.calls >= least_calls
    assert warmup.seconds >= duration
    assert (warmup.first is None) == (least_calls == 0)


def test_window_times():
    window = measure.Window(10.0, array("d", [10.5, 11.0, 12.25]), True, "rule")

    assert window.durations().tolist() == [0.5, 0.5, 1.25]
    assert window.relative_ends() == ([0.5, 1.0, 2.25], 1)
    assert window.end == 12.25


def test_latency_stats():
    durations = np.array([0.001, 0.002, 0.003, 0.004])

    stats = measure.latency_stats(durations)
    per_sample = measure.latency_stats(durations, 1000 / 2)

    assert stats["mean"] == 2.5 and stats["p50"] == 2.5
    assert (stats["min"], stats["max"]) == (1.0, 4.0)
    assert set(stats) == {"mean", "min", "max", "std", "p50", "p90", "p95", "p99"}
    assert per_sample["mean"] == 1.25


# Real workers on the tiny ONNX model.


class Worker:
    """A worker process whose output lines are read in a thread."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

        self.lines.put(None)

    def wait_for(self, wanted: str) -> None:
        """Read lines until one equals wanted."""
        while not self.seen or self.seen[-1] != wanted:
            line = self.lines.get(timeout=READY_TIMEOUT)
            assert line is not None, f"worker ended before {wanted!r}: {self.seen}"
            self.seen.append(line)

    def send(self, line: str) -> float:
        """Write a line to the worker and return the time just before it was sent."""
        # Taken before writing: the worker may act on the line before this
        # process runs again.
        sent = time.monotonic()
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

        return sent

    def finish(self) -> str:
        """Wait for the worker's end and return the rest of its output."""
        self.process.wait(timeout=READY_TIMEOUT)
        while (line := self.lines.get(timeout=READY_TIMEOUT)) is not None:
            self.seen.append(line)

        assert self.process.returncode == 0, self.process.stderr.read()

        return "\n".join(self.seen)


@pytest.fixture
def start_worker():
    """Return a function starting workers, all killed after the test."""
    workers = []

    def start(command: list[str], env: dict[str, str]) -> Worker:
        worker = Worker(command, env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.process.kill()
        worker.process.wait()


def test_worker_runs_on_after_done_until_stop(zoo, tmp_path, start_worker):
    config = write_config(
        tmp_path / "config.yaml",
        {"iteration": 5, "duration": 0.2, "configs": {"intra_num_of_threads": 2}},
    )
    command = worker_command(zoo["onnx"], config, framework="onnxrt")
    worker = start_worker(command, worker_env(cores="0,1", barrier=True))
    worker.wait_for("lpot_ux: ready")
    time.sleep(HOLD)
    assert worker.lines.empty() and worker.process.poll() is None

    released = worker.send("go")
    worker.wait_for("lpot_ux: done")
    time.sleep(HOLD)
    assert worker.lines.empty() and worker.process.poll() is None

    stopped = worker.send("stop")
    output = worker.finish()

    result = parse_result(output)
    assert output.count("lpot_ux: done") == 1
    assert (result["rule_met"], result["stopped_by"]) == (True, "stop")
    assert released <= result["window_start"] < result["window_end"]
    assert result["window_end"] - result["window_start"] >= 0.2 + HOLD
    assert result["window_end"] >= stopped
    ends = result["iteration_ends"]
    assert len(ends) == result["iterations"] > 5
    assert ends == sorted(ends)
    assert ends[-1] == pytest.approx(result["window_end"] - result["window_start"])
    assert result["affinity"] == [0, 1]
    assert result["intra_op_threads"] == 2


def test_worker_stops_at_its_rule_when_input_ends(zoo, tmp_path, start_worker):
    # The input ends long before the rule is met: the worker measures on to its
    # rule, then stops without waiting for a stop line.
    config = write_config(tmp_path / "config.yaml", {"iteration": 30, "duration": 0.5})
    command = worker_command(zoo["onnx"], config)
    worker = start_worker(command, worker_env(cores="0", barrier=True))
    worker.wait_for("lpot_ux: ready")
    worker.send("go")
    worker.process.stdin.close()

    result = parse_result(worker.finish())

    assert "lpot_ux: done" in worker.seen
    assert (result["rule_met"], result["stopped_by"]) == (True, "rule")
    assert result["iterations"] >= 30
    assert 0.5 <= result["window_end"] - result["window_start"] < 0.5 + SLACK


def test_worker_measures_for_the_duration(zoo, tmp_path):
    performance = {"iteration": None, "duration": 0.3, "warmup_duration": 0.1}
    config = write_config(tmp_path / "config.yaml", performance)
    completed = run_worker(worker_command(zoo["onnx"], config), worker_env(cores="0"))

    assert completed.returncode == 0, completed.stderr
    result = parse_result(completed.stdout)
    assert "lpot_ux: done" not in completed.stdout
    assert (result["rule_met"], result["stopped_by"]) == (True, "rule")
    assert result["window_end"] - result["window_start"] >= 0.3
    assert result["warmup_seconds"] >= 0.1 and result["warmup_iterations"] >= 2
    assert len(result["iteration_ends"]) == result["iterations"]


def test_worker_stops_at_the_cap(zoo, tmp_path):
    performance = {"iteration": 10**9, "duration": 60, "max_duration": 0.3}
    config = write_config(tmp_path / "config.yaml", performance)
    completed = run_worker(worker_command(zoo["onnx"], config), worker_env(cores="0"))

    assert completed.returncode == 0, completed.stderr
    result = parse_result(completed.stdout)
    assert (result["rule_met"], result["stopped_by"]) == (False, "cap")
    assert 0.3 <= result["window_end"] - result["window_start"] < 0.3 + SLACK


def test_worker_killed_mid_run_leaves_no_result(zoo, tmp_path):
    config = write_config(tmp_path / "config.yaml", {"iteration": 10**9})
    log = tmp_path / "instance.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            worker_command(zoo["onnx"], config),
            env=worker_env(cores="0", barrier=True),
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while "lpot_ux: ready" not in log.read_text():
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)

            process.stdin.write("go\n")
            process.stdin.flush()
            time.sleep(0.3)
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()

    text = log.read_text()
    assert process.returncode == -signal.SIGKILL
    assert "lpot_ux: ready" in text
    for line in ("Batch size", "Latency:", "Throughput:", "lpot_ux result:"):
        assert line not in text


def test_long_timelines_are_thinned(monkeypatch):
    monkeypatch.setattr(measure, "MAX_TIMELINE", 4)
    window = measure.Window(start=10.0, ends=[10.0 + n for n in range(1, 11)], rule_met=True, stopped_by="rule")

    assert window.relative_ends() == ([3.0, 6.0, 9.0, 10.0], 3)
