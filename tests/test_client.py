"""Tests of lpot_ux.client against a small fake server run in a thread.

The fake speaks the API of SPEC.md; the workload id picks its behaviour:

- ``ok-*`` and any other: start, two progress events and a successful finish,
  then stored;
- ``fast-*``: every event sent before the POST is answered, while the stored
  record stays ``running``, so only a socket connected beforehand can tell;
- ``slow-*``: like ``ok-*`` but slower, and the record stays ``running``;
- ``silent-*``: no events at all, the record turns ``success`` after a while;
- ``hang-*``: no events, the record stays ``running``;
- ``fail-*``: a ``failure`` finish with a message and a log tail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import socketio
from flask import Flask, jsonify, request
from flask_socketio import SocketIO
from werkzeug.serving import make_server

from lpot_ux import client as client_module
from lpot_ux.client import (
    BenchmarkFailed,
    BenchmarkTimeout,
    Client,
    ClientError,
    Verdict,
    build_request,
    count_steps,
    speedup,
    speedup_interval,
    split_server_url,
    verdict,
)

TOKEN = "fake-token-0123456789"
EVENT_DELAY = 0.05  # seconds between the fake's events
LOG_TAIL = "Traceback (most recent call last):\nValueError: bad graph"


@dataclass
class FakeServer:
    """A running fake server: its URL and what it has recorded."""

    url: str
    records: dict
    requests: list


def throughput_data(run_id: str, steps: int) -> dict:
    """Return the data of the benchmark_progress event after `steps` steps."""
    data = {
        "id": run_id,
        "progress": f"{steps}/2",
        "perf_throughput_input_model": 100.0,
        "perf_latency_input_model": 10.0,
        "execution_details": {"input_model_benchmark": {"performance": {}}},
    }
    if steps == 2:
        data["perf_throughput_optimized_model"] = 250.0
        data["perf_latency_optimized_model"] = 4.0
        data["execution_details"]["optimized_model_benchmark"] = {"performance": {}}

    return data


def create_fake_app(records: dict, seen: list) -> tuple[Flask, SocketIO]:
    """Build the fake lpot_ux server."""
    app = Flask(__name__)
    # Werkzeug's server cannot upgrade to WebSocket here: keep to long-polling.
    sio = SocketIO(app, async_mode="threading", allow_upgrades=False)

    def authorized() -> bool:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") == TOKEN

    @sio.on("connect")
    def on_connect(auth: dict | None = None) -> bool:
        return (auth or {}).get("token") == TOKEN

    def emit(event: str, status: str, data: dict) -> None:
        sio.emit(event, {"status": status, "data": data})

    def play(run_id: str) -> None:
        kind = run_id.split("-")[0]
        if kind not in ("fast", "slow", "fail", "silent", "hang"):
            kind = "ok"
        if kind in ("ok", "fast", "slow"):
            emit("benchmark_start", "success", {"id": run_id, "message": "started"})
            for steps in (1, 2):
                time.sleep({"ok": EVENT_DELAY, "fast": 0, "slow": 0.3}[kind])
                emit("benchmark_progress", "success", throughput_data(run_id, steps))
            emit("benchmark_finish", "success", throughput_data(run_id, 2))
            if kind == "ok":
                records[run_id] = {**throughput_data(run_id, 2), "status": "success"}
        elif kind == "fail":
            emit("benchmark_start", "success", {"id": run_id, "message": "started"})
            failure = {
                "id": run_id,
                "message": "Worker exited with code 3.",
                "log_tail": LOG_TAIL,
            }
            emit("benchmark_finish", "failure", failure)
            records[run_id] = {**failure, "status": "failure"}
        elif kind == "silent":
            time.sleep(0.5)
            records[run_id] = {**throughput_data(run_id, 2), "status": "success"}

    @app.before_request
    def check_token():
        if request.path.startswith("/api/") and not authorized():
            return jsonify(error="Missing or wrong token."), 403

    @app.post("/api/benchmark")
    def post_benchmark():
        body = request.get_json()
        seen.append(body)
        if not Path(body["input_model"]["path"]).exists():
            message = (
                f"input_model.path: {body['input_model']['path']!r} does not exist."
            )
            return jsonify(error=message), 400
        run_id = body["id"]
        if records.get(run_id, {}).get("status") in ("queued", "running"):
            message = f"A run with id {run_id!r} is running."
            emit("benchmark_finish", "error", {"id": run_id, "message": message})
            return jsonify(error=message), 409
        records[run_id] = {"id": run_id, "status": "running"}
        if run_id.startswith("fast-"):
            play(run_id)
        else:
            threading.Thread(target=play, args=(run_id,), daemon=True).start()

        return jsonify(exit_code=102, message="processing", id=run_id)

    @app.get("/api/benchmark")
    def list_runs():
        return jsonify(runs=list(reversed(records.values())))

    @app.get("/api/benchmark/<run_id>")
    def get_run(run_id: str):
        if run_id not in records:
            return jsonify(error=f"No benchmark with id {run_id!r}."), 404
        return jsonify(records[run_id])

    @app.get("/api/system_info")
    def system_info():
        return jsonify(platform="fake CPU", cores=2, usable_cores=[0, 1])

    return app, sio


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeServer]:
    """Serve the fake on a free port of 127.0.0.1 in a thread."""
    records: dict = {}
    seen: list = []
    app, _ = create_fake_app(records, seen)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield FakeServer(f"http://127.0.0.1:{server.server_port}", records, seen)
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def lpot_client(fake_server: FakeServer) -> Iterator[Client]:
    """Return a client of the fake server, closed after the test."""
    with Client(fake_server.url, TOKEN, timeout=5) as client:
        yield client


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.pb"
    path.write_bytes(b"not really a graph")
    return path


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "POLL_INTERVAL_CONNECTED", 0.2)
    monkeypatch.setattr(client_module, "POLL_INTERVAL_DISCONNECTED", 0.1)


def test_benchmark_blocks_until_the_end_and_shows_progress(lpot_client, model, capsys):
    result = lpot_client.benchmark(model, model, id="ok-1", warmup=2, iterations=10)

    assert result["status"] == "success"
    assert result["perf_throughput_optimized_model"] == 250.0
    assert speedup(result) == pytest.approx(2.5)
    progress = capsys.readouterr().err
    assert "2/2" in progress and "250.0 samples/s" in progress


def test_benchmark_sends_models_and_settings(lpot_client, model, fake_server):
    lpot_client.benchmark(
        model,
        {"path": str(model), "precision": "bf16"},
        id="ok-2",
        progress=False,
        batch_size=4,
        instances=None,
    )

    body = fake_server.requests[-1]
    assert body["input_model"] == {"precision": "fp32", "path": str(model)}
    assert body["optimized_model"]["precision"] == "bf16"
    assert body["batch_size"] == 4 and "instances" not in body


def test_new_settings_pass_through(lpot_client, model, fake_server, monkeypatch):
    monkeypatch.chdir(model.parent)
    lpot_client.benchmark(
        model,
        {"path": str(model), "framework": "onnxrt", "signature": "serve"},
        id="ok-7",
        progress=False,
        duration=2.5,
        warmup_duration=0.5,
        max_duration=60,
        rounds=3,
        input_shapes={"input": [-1, 32, 32, 3]},
        dataset="val.npz",
        topk=5,
        accuracy=True,
    )

    body = fake_server.requests[-1]
    assert body["duration"] == 2.5 and body["warmup_duration"] == 0.5
    assert body["max_duration"] == 60 and body["rounds"] == 3
    assert body["input_shapes"] == {"input": [-1, 32, 32, 3]}
    assert body["dataset"] == {"path": str(model.parent / "val.npz")}
    assert body["metric"] == {"topk": 5}
    assert body["input_model"]["mode"] == ["performance", "accuracy"]
    assert body["optimized_model"] == {
        "path": str(model),
        "framework": "onnxrt",
        "signature": "serve",
        "precision": "int8",
        "mode": ["performance", "accuracy"],
    }


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({}, 2),
        ({"rounds": 3}, 6),
        ({"rounds": 3, "accuracy": True}, 8),
        ({"accuracy": True, "metric": {"topk": 2}}, 4),
    ],
)
def test_count_steps_counts_rounds_and_accuracy(settings, expected):
    assert count_steps(build_request("x", "a.pb", "b.pb", settings)) == expected


def test_accuracy_keeps_the_spelling_of_the_modes_given():
    body = build_request(
        "x", {"path": "a.pb", "mods": "benchmark"}, "b.pb", {"accuracy": True}
    )

    assert body["input_model"]["mods"] == ["benchmark", "accuracy"]
    assert "mode" not in body["input_model"]


def test_topk_and_metric_together_are_refused():
    with pytest.raises(TypeError, match="topk"):
        build_request("x", "a.pb", "b.pb", {"topk": 1, "metric": {"topk": 2}})


def test_speedup_interval_and_verdict_of_a_record():
    record = {
        "perf_throughput_input_model": 100.0,
        "perf_throughput_optimized_model": 250.0,
        "speedup": 2.4,
        "speedup_ci95": [2.1, 2.7],
        "verdict": {"valid": False, "reasons": ["input_model round 1: CPU 1 was busy"]},
    }

    # The geometric mean of the rounds, not the ratio of the median throughputs.
    assert speedup(record) == 2.4
    assert speedup_interval(record) == (2.1, 2.7)
    judged = verdict(record)
    assert not judged
    assert judged == Verdict(False, ("input_model round 1: CPU 1 was busy",))
    assert str(judged) == "invalid: input_model round 1: CPU 1 was busy"


def test_a_record_of_one_round_or_of_an_older_server():
    record = {
        "perf_throughput_input_model": 100.0,
        "perf_throughput_optimized_model": 50.0,
    }

    assert speedup(record) == 0.5
    assert speedup_interval({**record, "speedup_ci95": None}) is None
    assert verdict(record) == Verdict(None) and not verdict(record)
    assert str(verdict(record)).startswith("no verdict")
    assert verdict({"verdict": {"valid": True, "reasons": []}})
    assert str(verdict({"verdict": {"valid": True, "reasons": []}})) == "valid"


def test_events_sent_before_the_reply_are_not_lost(lpot_client, model):
    result = lpot_client.benchmark(model, model, id="fast-1", progress=False)

    # The record stays "running": this result can only have come by socket.
    assert result["status"] == "success"
    assert result["progress"] == "2/2"


def test_submit_returns_an_id_and_wait_collects_the_result(lpot_client, model):
    run_id = lpot_client.submit(model, model)

    assert run_id.startswith("bench-")
    assert lpot_client.wait(run_id, timeout=10)["status"] == "success"


def test_wait_polls_the_record_when_no_event_comes(lpot_client, model):
    run_id = lpot_client.submit(model, model, id="silent-1")

    assert lpot_client.wait(run_id, timeout=10)["perf_throughput_input_model"] == 100.0


def test_a_refused_duplicate_does_not_end_the_run_it_copies(lpot_client, model):
    lpot_client.submit(model, model, id="slow-1")

    with pytest.raises(ClientError) as caught:
        lpot_client.submit(model, model, id="slow-1")

    assert caught.value.status_code == 409
    assert lpot_client.wait("slow-1", timeout=10)["progress"] == "2/2"


def test_wait_on_a_run_that_ended_before_this_client_existed(fake_server, model):
    with Client(fake_server.url, TOKEN) as first:
        first.benchmark(model, model, id="ok-3", progress=False)

    with Client(f"{fake_server.url}/?token={TOKEN}") as second:
        assert second.wait("ok-3", timeout=5)["status"] == "success"


def test_wait_rides_out_a_short_outage(lpot_client, model, monkeypatch):
    run_id = lpot_client.submit(model, model, id="silent-2")
    real_result, failures = Client.result, []

    def flaky_result(self: Client, id: str) -> dict:
        if len(failures) < 3:
            failures.append(id)
            raise ClientError("Cannot reach the lpot_ux server (simulated).")
        return real_result(self, id)

    monkeypatch.setattr(Client, "result", flaky_result)

    assert lpot_client.wait(run_id, timeout=10)["status"] == "success"
    assert len(failures) == 3


def test_wait_gives_up_on_a_server_gone_for_good(lpot_client, model, monkeypatch):
    run_id = lpot_client.submit(model, model, id="hang-2")
    monkeypatch.setattr(client_module, "OUTAGE_GRACE", 0.3)

    def gone(self: Client, id: str) -> dict:
        raise ClientError("Cannot reach the lpot_ux server (simulated).")

    monkeypatch.setattr(Client, "result", gone)

    with pytest.raises(ClientError, match="simulated"):
        lpot_client.wait(run_id, timeout=10)


def test_benchmark_polls_when_the_socket_is_refused(fake_server, model, monkeypatch):
    def refuse(*args, **kwargs) -> None:
        raise socketio.exceptions.ConnectionError("refused (simulated)")

    monkeypatch.setattr(socketio.Client, "connect", refuse)

    with Client(fake_server.url, TOKEN) as client:
        result = client.benchmark(model, model, id="ok-6", progress=False)

    assert result["status"] == "success"


def test_wait_times_out_and_the_run_can_be_waited_for_again(lpot_client, model):
    run_id = lpot_client.submit(model, model, id="hang-1")

    with pytest.raises(BenchmarkTimeout, match="call wait"):
        lpot_client.wait(run_id, timeout=0.3)


def test_failure_raises_benchmark_failed_with_message_and_log_tail(lpot_client, model):
    with pytest.raises(BenchmarkFailed) as caught:
        lpot_client.benchmark(model, model, id="fail-1", progress=False)

    assert caught.value.status == "failure"
    assert caught.value.message == "Worker exited with code 3."
    assert "ValueError: bad graph" in caught.value.log_tail
    assert "ValueError: bad graph" in str(caught.value)


def test_bad_request_raises_client_error_with_the_server_text(lpot_client, tmp_path):
    with pytest.raises(ClientError) as caught:
        lpot_client.benchmark(
            tmp_path / "missing.pb", tmp_path / "missing.pb", id="ok-4"
        )

    assert caught.value.status_code == 400
    assert "input_model.path" in str(caught.value)
    assert "does not exist" in str(caught.value)
    assert not isinstance(caught.value, BenchmarkFailed)


def test_wrong_token_raises_client_error_403(fake_server):
    with Client(fake_server.url, "wrong") as client:
        with pytest.raises(ClientError) as caught:
            client.runs()

    assert caught.value.status_code == 403


def test_unreachable_server_raises_client_error():
    with Client("http://127.0.0.1:9", TOKEN, timeout=2) as client:
        with pytest.raises(ClientError, match="Cannot reach"):
            client.system_info()


def test_reading_runs_result_and_system_info(lpot_client, model):
    lpot_client.benchmark(model, model, id="ok-5", progress=False)

    assert lpot_client.runs()[0]["id"] == "ok-5"
    assert lpot_client.result("ok-5")["status"] == "success"
    assert lpot_client.system_info()["platform"] == "fake CPU"
    with pytest.raises(ClientError) as caught:
        lpot_client.result("no-such-run")
    assert caught.value.status_code == 404


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://127.0.0.1:5000", ("http://127.0.0.1:5000", None)),
        ("http://127.0.0.1:5000/?token=abc", ("http://127.0.0.1:5000", "abc")),
        (" http://localhost:8/ ", ("http://localhost:8", None)),
    ],
)
def test_split_server_url(url, expected):
    assert split_server_url(url) == expected


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises(ClientError, match="not an http"):
        Client("127.0.0.1:5000", TOKEN)


def test_unknown_settings_are_refused_before_anything_is_sent():
    with pytest.raises(TypeError, match="iteration") as caught:
        build_request("x", "a.pb", "b.pb", {"iteration": 10})

    assert "rounds" in str(caught.value) and "accuracy" in str(caught.value)
