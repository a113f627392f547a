"""The /api routes through Flask's and Flask-SocketIO's test clients."""

import time
from pathlib import Path

import pytest
from conftest import AUTH, FAKE_WORKER, TOKEN


def wait_for_status(client, workload_id: str, statuses: tuple[str, ...], timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/benchmark/{workload_id}", headers=AUTH).get_json()
        if run.get("status") in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {workload_id} never reached {statuses}: {run}")


def received(socket_client, subject: str | None = None) -> list[dict]:
    return [
        {"name": message["name"], **message["args"][0]}
        for message in socket_client.get_received()
        if subject is None or message["name"] == subject
    ]


@pytest.fixture
def body(model_file: Path) -> dict:
    return {
        "id": "run_1",
        "input_model": {"precision": "fp32", "path": str(model_file)},
        "optimized_model": {"precision": "int8", "path": str(model_file)},
        "instances": 1,
        "cores_per_instance": 1,
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer"}],
)
@pytest.mark.parametrize("path", ["/api/benchmark", "/api/system_info", "/api/benchmark/x"])
def test_api_needs_the_token(client, headers, path):
    response = client.get(path, headers=headers)

    assert response.status_code == 403
    assert "token" in response.get_json()["error"]


@pytest.mark.parametrize(
    ("headers", "query"),
    [({"Authorization": TOKEN}, ""), (AUTH, ""), ({}, f"?token={TOKEN}")],
)
def test_token_is_accepted_in_every_form(client, headers, query):
    assert client.get(f"/api/benchmark{query}", headers=headers).status_code == 200


def test_cross_origin_call_is_refused(client):
    response = client.get("/api/benchmark", headers={**AUTH, "Origin": "http://evil.test"})

    assert response.status_code == 403
    assert "Cross-origin" in response.get_json()["error"]


def test_protective_headers(client):
    response = client.get("/api/benchmark", headers=AUTH)

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_unknown_api_route_is_json(client):
    response = client.get("/api/nothing", headers=AUTH)

    assert response.status_code == 404
    assert "error" in response.get_json()


def test_benchmark_runs_and_posts_every_event(client, socket_client, body):
    response = client.post("/api/benchmark", json=body, headers=AUTH)

    assert response.status_code == 200
    assert response.get_json() == {"exit_code": 102, "message": "processing", "id": "run_1"}
    run = wait_for_status(client, "run_1", ("success", "failure"))
    assert run["status"] == "success"
    events = received(socket_client)
    assert [event["name"] for event in events] == [
        "benchmark_start",
        "benchmark_progress",
        "benchmark_progress",
        "benchmark_finish",
    ]
    assert events[0]["data"] == {"id": "run_1", "message": "started"}
    assert [event["data"]["progress"] for event in events[1:]] == ["1/2", "2/2", "2/2"]
    assert events[3]["data"] == events[2]["data"]
    assert run["perf_throughput_input_model"] == pytest.approx(100.0)
    assert run["speedup"] == pytest.approx(1.0)
    assert run["config_yaml"].startswith("version: 1.0")


def test_request_error_is_400_and_an_error_event(client, socket_client, body):
    body["batch_size"] = 0

    response = client.post("/api/benchmark", json=body, headers=AUTH)

    assert response.status_code == 400
    assert response.get_json()["error"].startswith("batch_size:")
    [event] = received(socket_client, "benchmark_finish")
    assert event["status"] == "error"
    assert event["data"] == {"id": "run_1", "message": response.get_json()["error"]}
    assert client.get("/api/benchmark/run_1", headers=AUTH).status_code == 404


@pytest.mark.parametrize("data", ["not json", "[1, 2]", "null"])
def test_body_must_be_a_json_object(client, socket_client, data):
    response = client.post(
        "/api/benchmark", data=data, headers={**AUTH, "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]
    assert received(socket_client) == []


def test_same_id_while_queued_or_running_is_409(client, body, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER", "hang")
    assert client.post("/api/benchmark", json=body, headers=AUTH).status_code == 200

    response = client.post("/api/benchmark", json=body, headers=AUTH)

    assert response.status_code == 409
    assert "already queued or running" in response.get_json()["error"]


def test_runs_queue_in_order(client, body):
    for number in range(3):
        body["id"] = f"run_{number}"
        assert client.post("/api/benchmark", json=body, headers=AUTH).status_code == 200

    runs = [wait_for_status(client, f"run_{n}", ("success",)) for n in range(3)]

    for earlier, later in zip(runs, runs[1:]):
        assert earlier["finished_at"] <= later["started_at"]
    listed = client.get("/api/benchmark", headers=AUTH).get_json()["runs"]
    assert [run["id"] for run in listed] == ["run_2", "run_1", "run_0"]
    assert listed[0]["input_model"]["precision"] == "fp32"


def test_failing_worker_gives_failure_and_the_server_goes_on(client, socket_client, body, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER", "crash")
    client.post("/api/benchmark", json=body, headers=AUTH)

    run = wait_for_status(client, "run_1", ("failure",))

    assert "cannot load model" in run["message"]
    assert "fake worker on cores" in run["log_tail"]
    [finish] = received(socket_client, "benchmark_finish")
    assert finish["status"] == "failure"
    assert "cannot load model" in finish["data"]["message"]
    monkeypatch.setenv("FAKE_WORKER", "ok")
    body["id"] = "run_2"
    client.post("/api/benchmark", json=body, headers=AUTH)
    assert wait_for_status(client, "run_2", ("success",))["status"] == "success"


def test_unknown_run_is_404(client):
    response = client.get("/api/benchmark/none", headers=AUTH)

    assert response.status_code == 404
    assert "none" in response.get_json()["error"]


def test_system_info(client):
    info = client.get("/api/system_info", headers=AUTH).get_json()

    assert info["usable_cores"]
    assert info["threads"] >= info["cores"] >= 1
    assert info["memory_total"] > 0
    assert info["defaults"]["batch_size"] == 1
    assert isinstance(info["platform"], str)


def test_socket_needs_the_token(app):
    socketio = app.extensions["socketio"]

    assert not socketio.test_client(app).is_connected()
    assert not socketio.test_client(app, auth={"token": "wrong"}).is_connected()
    assert socketio.test_client(app, query_string=f"token={TOKEN}").is_connected()


def test_rounds_alternate_and_give_a_confidence_interval(client, socket_client, body):
    body["rounds"] = 3

    client.post("/api/benchmark", json=body, headers=AUTH)
    run = wait_for_status(client, "run_1", ("success", "failure"))

    progress = received(socket_client, "benchmark_progress")
    assert [event["data"]["progress"] for event in progress] == [f"{n}/6" for n in range(1, 7)]
    rounds = [event["data"]["execution_details"] for event in progress]
    assert [r.get("optimized_model_benchmark", {}).get("performance", {}).get("round") for r in rounds] == [
        None, 1, 1, 2, 2, 3
    ]
    assert [entry["round"] for entry in run["rounds"]] == [1, 2, 3]
    low, high = run["speedup_ci95"]
    assert low <= run["speedup"] <= high
    assert run["speedup"] == pytest.approx(1.0, rel=0.1)


def test_result_carries_statistics_verdict_and_environment(client, body):
    client.post("/api/benchmark", json=body, headers=AUTH)
    run = wait_for_status(client, "run_1", ("success", "failure"))

    figures = run["statistics"]["input_model"]
    assert figures["throughput_unit"] == "samples/s"
    assert set(figures["latency_ms_per_sample"]) >= {"mean", "min", "max", "std", "p50", "p90", "p95", "p99"}
    assert "verdict" in figures
    assert isinstance(run["verdict"]["valid"], bool)
    assert run["environment"]["lpot_ux_version"]
    assert "variables" in run["environment"]
    details = run["execution_details"]["input_model_benchmark"]["performance"]
    assert details["rerun_command"].startswith("LPOT_UX_CORES=")
    assert "iteration_ends" not in details["instance_results"][0]


def test_windows_apart_make_the_verdict_invalid(client, body, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER", "apart")
    body.update(instances=2, cores_per_instance=1)

    client.post("/api/benchmark", json=body, headers=AUTH)
    run = wait_for_status(client, "run_1", ("success", "failure"))

    if len(run["request"]["core_sets"]) < 2:
        pytest.skip("one usable core: no two instances to set apart")
    assert run["status"] == "success"
    assert run["verdict"]["valid"] is False
    assert any("measured at the same time for only" in reason for reason in run["verdict"]["reasons"])


def test_accuracy_steps_follow_performance(client, socket_client, body, model_file):
    for role in ("input_model", "optimized_model"):
        body[role]["mode"] = ["performance", "accuracy"]
    body["dataset"] = {"path": str(model_file)}

    client.post("/api/benchmark", json=body, headers=AUTH)
    run = wait_for_status(client, "run_1", ("success", "failure"))

    assert run["status"] == "success", run.get("message")
    progress = received(socket_client, "benchmark_progress")
    assert [event["data"]["progress"] for event in progress] == ["1/4", "2/4", "3/4", "4/4"]
    assert run["acc_input_model"] == run["acc_optimized_model"] == 0.75
    assert run["accuracy_drop"] == 0.0
    assert run["execution_details"]["optimized_model_benchmark"]["accuracy"]["accuracy"] == 0.75


def test_one_failing_model_still_gives_the_others_results(client, socket_client, body, monkeypatch, tmp_path):
    broken = tmp_path / "broken_worker.py"
    broken.write_text(
        "import runpy, sys\n"
        "if 'broken' in sys.argv[sys.argv.index('--input-graph') + 1]:\n"
        "    print('error: cannot load model: unknown op Foo'); sys.exit(1)\n"
        f"runpy.run_path({str(FAKE_WORKER)!r}, run_name='__main__')\n"
    )
    client.application.extensions["lpot_ux"].benchmark_script = broken
    (tmp_path / "broken.pb").write_bytes(b"")
    body["input_model"]["path"] = str(tmp_path / "broken.pb")

    client.post("/api/benchmark", json=body, headers=AUTH)
    run = wait_for_status(client, "run_1", ("failure",))

    assert "unknown op Foo" in run["message"]
    assert run["perf_throughput_optimized_model"] > 0
    statuses = [event["status"] for event in received(socket_client, "benchmark_progress")]
    assert statuses == ["failure", "success"]


def test_cancel_a_queued_and_a_running_run(client, socket_client, body, monkeypatch):
    monkeypatch.setenv("FAKE_WORKER", "hang")
    client.post("/api/benchmark", json=body, headers=AUTH)
    body["id"] = "run_2"
    client.post("/api/benchmark", json=body, headers=AUTH)
    wait_for_status(client, "run_1", ("running",))

    assert client.delete("/api/benchmark/run_2", headers=AUTH).status_code == 200
    assert client.delete("/api/benchmark/run_1", headers=AUTH).status_code == 200

    for workload_id in ("run_1", "run_2"):
        run = wait_for_status(client, workload_id, ("interrupted",))
        assert "cancelled" in run["message"]
    finishes = received(socket_client, "benchmark_finish")
    assert sorted(event["data"]["id"] for event in finishes) == ["run_1", "run_2"]
    assert client.delete("/api/benchmark/run_1", headers=AUTH).status_code == 409
    assert client.delete("/api/benchmark/nothing", headers=AUTH).status_code == 404


def test_rerun_of_an_id_keeps_the_earlier_files(client, body, workspace):
    client.post("/api/benchmark", json=body, headers=AUTH)
    first = wait_for_status(client, "run_1", ("success",))
    client.post("/api/benchmark", json=body, headers=AUTH)
    wait_for_status(client, "run_1", ("success",))

    folders = sorted(path.name for path in (workspace / "workloads").iterdir())
    assert folders == ["model_run_1", "model_run_1.run1"]
    archived = workspace / "workloads" / "model_run_1.run1"
    assert (archived / "config.yaml").exists()
    assert (archived / "input_model_performance_instance_0.log").exists()
    assert first["status"] == "success"


def test_models_with_different_inputs_are_flagged(client, body, tmp_path):
    from fixtures.graphs import attr, field, node, shape

    for name, dims in (("a.pb", (-1, 4)), ("b.pb", (-1, 8))):
        graph = node("x", "Placeholder", attrs=attr("dtype", field(6, 0, b"\x01")) + attr("shape", shape(*dims)))
        (tmp_path / name).write_bytes(graph + node("y", "Identity", ["x"]))
    body["input_model"]["path"] = str(tmp_path / "a.pb")
    body["optimized_model"]["path"] = str(tmp_path / "b.pb")

    client.post("/api/benchmark", json=body, headers=AUTH)
    run = wait_for_status(client, "run_1", ("success", "failure"))

    assert run["verdict"]["valid"] is False
    assert any("the two models take different inputs (float32 [?, 4] against float32 [?, 8])" in reason for reason in run["verdict"]["reasons"])


def test_batch_too_big_for_memory_is_refused(client, body, tmp_path):
    from fixtures.graphs import attr, field, node, shape

    graph = node("x", "Placeholder", attrs=attr("dtype", field(6, 0, b"\x01")) + attr("shape", shape(-1, 1000, 1000)))
    (tmp_path / "big.pb").write_bytes(graph + node("y", "Identity", ["x"]))
    body["input_model"]["path"] = str(tmp_path / "big.pb")
    body["batch_size"] = 1 << 20

    response = client.post("/api/benchmark", json=body, headers=AUTH)

    assert response.status_code == 400
    assert response.get_json()["error"].startswith("batch_size: 1 instance(s) would need 3906")


def test_unwritable_workspace_is_refused(client, body):
    body["workspace_path"] = "/proc/self/nowhere"

    response = client.post("/api/benchmark", json=body, headers=AUTH)

    assert response.status_code == 400
    assert response.get_json()["error"].startswith("workspace_path: cannot create '/proc/self/nowhere/workloads'")


@pytest.mark.parametrize("path", ["/dev/null", "/dev/zero"])
def test_devices_are_not_models(client, body, path):
    body["input_model"]["path"] = path

    response = client.post("/api/benchmark", json=body, headers=AUTH)

    assert response.status_code == 400
    assert "is not a regular file" in response.get_json()["error"]


def test_every_step_is_summarized_and_the_list_shows_the_verdict(client, body):
    body["rounds"] = 2

    client.post("/api/benchmark", json=body, headers=AUTH)
    run = wait_for_status(client, "run_1", ("success", "failure"))

    assert [(step["role"], step["round"]) for step in run["steps"]] == [
        ("input_model", 1), ("optimized_model", 1), ("input_model", 2), ("optimized_model", 2)
    ]
    assert all(step["throughput"] > 0 and "verdict" in step for step in run["steps"])
    [summary] = client.get("/api/benchmark", headers=AUTH).get_json()["runs"]
    assert summary["valid"] == run["verdict"]["valid"]
