"""The real lpot_ux process, real TensorFlow workers, a real Socket.IO client."""

import shlex
import signal
import time
from pathlib import Path

import pytest
import yaml

from fixtures.live import EventRecorder, get, post, tiny_body

pytestmark = pytest.mark.e2e

SEED_FIELDS = (
    "instances",
    "cores_per_instance",
    "model_path",
    "precision",
    "mode",
    "batch_size",
    "framework",
    "config_path",
    "benchmark_script",
    "command",
)
@pytest.fixture
def recorder(live_server):
    recorder = EventRecorder(live_server)
    yield recorder
    recorder.close()


def test_fp32_int8_pair_end_to_end(live_server, tiny_models, recorder):
    response = post(live_server, tiny_body("pair", tiny_models))
    assert response.status_code == 200, response.text
    assert response.json() == {"exit_code": 102, "message": "processing", "id": "pair"}

    finish = recorder.wait_finish("pair")

    subjects = [subject for subject, _ in recorder.of("pair")]
    assert subjects == ["benchmark_start", "benchmark_progress", "benchmark_progress", "benchmark_finish"]
    messages = [message for _, message in recorder.of("pair")]
    assert all(message["status"] == "success" for message in messages), finish
    assert messages[0]["data"] == {"id": "pair", "message": "started"}
    first, second = messages[1]["data"], messages[2]["data"]
    assert first["progress"] == "1/2" and second["progress"] == "2/2"
    assert first["perf_throughput_input_model"] > 0
    assert "perf_throughput_optimized_model" not in first
    assert list(first["execution_details"]) == ["input_model_benchmark"]
    assert second["perf_throughput_optimized_model"] > 0
    assert finish["data"] == second

    workload = live_server.workspace / "workloads" / "tiny_fp32_pair"
    for role, precision in (("input_model", "fp32"), ("optimized_model", "int8")):
        details = second["execution_details"][f"{role}_benchmark"]["performance"]
        assert all(name in details for name in SEED_FIELDS)
        assert details["precision"] == precision
        assert details["mode"] == "performance"
        assert details["framework"] == "tensorflow"
        assert details["batch_size"] == 1
        assert details["config_path"] == str(workload / "config.yaml")
        assert details["model_path"] == str(tiny_models[precision])
        assert Path(details["benchmark_script"]).name == "benchmark_model.py"
        command = shlex.split(details["command"])
        assert command[1:] == [
            details["benchmark_script"],
            "--config",
            details["config_path"],
            "--input-graph",
            details["model_path"],
            "--mode",
            "performance",
            "--framework",
            "tensorflow",
        ]
        instance = details["instance_results"][0]
        assert instance["intra_op_threads"] == details["cores_per_instance"]
        assert instance["inter_op_threads"] == 1
        assert len(instance["affinity"]) == details["cores_per_instance"]

    config = yaml.safe_load((workload / "config.yaml").read_text())
    performance = config["evaluation"]["performance"]
    assert config["model"]["framework"] == "tensorflow"
    assert config["model"]["inputs"] and config["model"]["outputs"]
    assert (performance["warmup"], performance["iteration"]) == (2, 20)
    assert performance["configs"]["num_of_instance"] >= 1
    assert performance["dataloader"]["batch_size"] == 1
    assert performance["dataloader"]["dataset"]["dummy_v2"]["input_shape"] == [[32, 32, 3]]
    assert (workload / "input_model_performance_instance_0.log").exists()

    stored = get(live_server, "/api/benchmark/pair").json()
    assert stored["status"] == "success"
    assert stored["perf_throughput_optimized_model"] == second["perf_throughput_optimized_model"]
    assert stored["execution_details"] == second["execution_details"]
    assert stored["started_at"] <= stored["finished_at"]


def test_corrupt_model_fails_and_the_server_goes_on(live_server, tiny_models, recorder, tmp_path):
    corrupt = tmp_path / "corrupt.pb"
    corrupt.write_bytes(b"\x0a\xff\xff not a graph")

    post(live_server, tiny_body("corrupt", {"fp32": corrupt, "int8": tiny_models["int8"]}))
    finish = recorder.wait_finish("corrupt")

    assert finish["status"] == "failure"
    assert "input model benchmark failed" in finish["data"]["message"]
    assert "cannot load model" in finish["data"]["message"]
    assert finish["data"]["log_tail"]
    assert finish["data"]["perf_throughput_optimized_model"] > 0
    assert get(live_server, "/api/benchmark/corrupt").json()["status"] == "failure"
    assert get(live_server, "/api/system_info").status_code == 200


def test_two_instances_share_the_cores(live_server, tiny_models, recorder):
    post(live_server, tiny_body("two", tiny_models, instances=2, cores_per_instance=1))

    data = recorder.wait_finish("two")["data"]

    details = data["execution_details"]["input_model_benchmark"]["performance"]
    instances = details["instance_results"]
    assert [instance["affinity"] for instance in instances] == [[0], [1]]
    figures = data["statistics"]["input_model"]
    assert figures["window"]["overlap"] > 0.9
    assert data["perf_throughput_input_model"] == pytest.approx(figures["throughput"])
    assert sum(figures["instance_throughputs"]) == pytest.approx(figures["throughput"])
    # Over a shared window, the sum of what each instance saw over its own span
    # differs only by the edges.
    assert figures["throughput"] == pytest.approx(
        sum(instance["throughput"] for instance in instances), rel=0.05
    )
    starts = [instance["window_start"] for instance in instances]
    assert max(starts) - min(starts) < 0.1


def test_results_survive_a_restart_and_running_runs_are_interrupted(
    server_factory, tiny_models, tmp_path
):
    workspace = tmp_path / "restart"
    server = server_factory(workspace)
    recorder = EventRecorder(server)
    post(server, tiny_body("kept", tiny_models))
    recorder.wait_finish("kept")
    post(server, tiny_body("cut", tiny_models, warmup=0, iterations=100000))
    deadline = time.monotonic() + 60
    while get(server, "/api/benchmark/cut").json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    recorder.close()

    assert server.stop(signal.SIGTERM) == 0

    again = server_factory(workspace)
    kept = get(again, "/api/benchmark/kept").json()
    assert kept["status"] == "success" and kept["perf_throughput_input_model"] > 0
    assert get(again, "/api/benchmark/cut").json()["status"] == "interrupted"
    assert [run["id"] for run in get(again, "/api/benchmark").json()["runs"]] == ["cut", "kept"]


def test_workers_die_with_a_killed_server(server_factory, tiny_models, tmp_path):
    import psutil

    server = server_factory(tmp_path / "killed")
    post(server, tiny_body("orphan", tiny_models, warmup=0, iterations=None, duration=120))
    parent = psutil.Process(server.process.pid)
    deadline = time.monotonic() + 60
    workers = []
    while not workers:
        assert time.monotonic() < deadline, "no worker started"
        workers = [child for child in parent.children() if "benchmark_model.py" in " ".join(child.cmdline())]
        time.sleep(0.1)

    server.stop(signal.SIGKILL)

    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
