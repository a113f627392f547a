"""The real server on every model kind, rounds, accuracy, and a worker killed mid-run."""

import os
import signal
import time

import numpy as np
import psutil
import pytest

from fixtures.models import shared_tiny_models
from fixtures.live import EventRecorder, get, post

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return shared_tiny_models(tmp_path_factory)


@pytest.fixture
def recorder(live_server):
    recorder = EventRecorder(live_server)
    yield recorder
    recorder.close()


def pair(workload_id: str, first, second, **settings) -> dict:
    return {
        "id": workload_id,
        "input_model": {"precision": "fp32", "path": str(first)},
        "optimized_model": {"precision": "fp32", "path": str(second)},
        "warmup": 1,
        "iterations": 10,
        **settings,
    }


@pytest.mark.parametrize(
    ("first", "second", "formats"),
    [
        ("saved_model", "keras", ("saved_model", "keras")),
        ("h5", "tflite", ("keras", "tflite")),
        ("onnx", "two_inputs_onnx", ("onnx", "onnx")),
    ],
)
def test_every_model_kind_runs(live_server, recorder, zoo, first, second, formats):
    workload_id = f"kind_{first}"
    response = post(live_server, pair(workload_id, zoo[first], zoo[second]))
    assert response.status_code == 200, response.text

    finish = recorder.wait_finish(workload_id)

    assert finish["status"] == "success", finish["data"].get("message")
    details = finish["data"]["execution_details"]
    for role, model_format in zip(("input_model", "optimized_model"), formats):
        step = details[f"{role}_benchmark"]["performance"]
        assert step["model_format"] == model_format
        assert step["instance_results"][0]["model_format"] == model_format
        assert finish["data"][f"perf_throughput_{role}"] > 0


def test_unknown_dimension_needs_input_shapes(live_server, recorder, zoo):
    body = pair("shapes_refused", zoo["unknown_dim"], zoo["two_inputs"])

    refused = post(live_server, body)

    assert refused.status_code == 400
    assert "dimension" in refused.json()["error"] and "input_shapes" in refused.json()["error"]
    name = refused.json()["error"].split("'")[1]
    body.update(id="shapes", input_shapes={name: [-1, 4, 3]})
    assert post(live_server, body).status_code == 200, refused.json()
    finish = recorder.wait_finish("shapes")
    assert finish["status"] == "success", finish["data"].get("message")
    fed = finish["data"]["execution_details"]["optimized_model_benchmark"]["performance"]
    inputs = fed["instance_results"][0]["inputs"]
    assert len(inputs) == 2 and len({spec["dtype"] for spec in inputs.values()}) == 2


def test_rounds_give_an_interval(live_server, recorder, zoo):
    post(live_server, pair("rounds", zoo["onnx"], zoo["onnx"], rounds=3, duration=0.2, iterations=None))

    data = recorder.wait_finish("rounds")["data"]

    assert data["progress"] == "6/6"
    assert len(data["rounds"]) == 3
    low, high = data["speedup_ci95"]
    assert low <= data["speedup"] <= high
    figures = data["statistics"]["input_model"]
    assert figures["window"]["length_s"] >= 0.2
    assert figures["rule_met"] is True
    assert set(figures["latency_ms_per_sample"]) >= {"p50", "p90", "p95", "p99", "std"}


def test_accuracy_of_both_models(live_server, recorder, zoo, tmp_path):
    rng = np.random.default_rng(0)
    scores = rng.random((10, 5)).astype(np.float32)
    labels = scores.argmax(axis=1)
    labels[:3] = (labels[:3] + 1) % 5
    np.savez(tmp_path / "val.npz", x=scores, y=labels)
    body = pair("accuracy", zoo["identity_onnx"], zoo["identity_onnx"], dataset={"path": str(tmp_path / "val.npz")})
    body["input_model"]["mode"] = body["optimized_model"]["mode"] = ["performance", "accuracy"]

    response = post(live_server, body)
    assert response.status_code == 200, response.text
    data = recorder.wait_finish("accuracy")["data"]

    assert data["progress"] == "4/4"
    assert data["acc_input_model"] == data["acc_optimized_model"] == pytest.approx(0.7)
    assert data["accuracy_drop"] == 0


def benchmark_workers(server: psutil.Process) -> list[psutil.Process]:
    return [
        child
        for child in server.children(recursive=True)
        if "benchmark_model.py" in " ".join(child.cmdline())
    ]


def test_a_worker_killed_mid_run_fails_the_run(live_server, recorder, zoo):
    post(live_server, pair("killed", zoo["onnx"], zoo["onnx"], duration=60, iterations=None))
    server = psutil.Process(live_server.process.pid)
    deadline = time.monotonic() + 60
    killed = set()
    # Kill every worker of the run as it appears, so neither model runs its minute.
    while not recorder.of("killed") or recorder.of("killed")[-1][0] != "benchmark_finish":
        assert time.monotonic() < deadline, "the run did not end"
        for worker in benchmark_workers(server):
            if worker.pid not in killed:
                killed.add(worker.pid)
                os.kill(worker.pid, signal.SIGKILL)
        time.sleep(0.05)

    finish = recorder.wait_finish("killed")
    assert finish["status"] == "failure"
    assert "instance 0 was killed by SIGKILL" in finish["data"]["message"]
    assert get(live_server, "/api/benchmark/killed").json()["status"] == "failure"
    assert not benchmark_workers(server)
