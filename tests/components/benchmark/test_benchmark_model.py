"""Tests of the benchmark worker script: its result lines, arguments and pinning.

The model kinds, stop rules and accuracy mode have their own test_worker_*
modules; here the script runs by path on the frozen tiny pair, as the server
runs it.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
from fixtures.models import (
    last_error,
    parse_result,
    run_worker,
    worker_command,
    worker_env,
    write_config,
)

from lpot_ux.components.benchmark import benchmark_model as worker

RESULT_KEYS = {
    "batch_size",
    "iterations",
    "warmup",
    "warmup_iterations",
    "warmup_seconds",
    "rule_met",
    "stopped_by",
    "window_start",
    "window_end",
    "iteration_ends",
    "iterations_per_end",
    "latency_ms",
    "latency_ms_per_sample",
    "first_inference_ms",
    "load_ms",
    "peak_rss_bytes",
    "framework",
    "model_format",
    "runtime_version",
    "tensorflow_version",
    "affinity",
    "intra_op_threads",
    "inter_op_threads",
    "onednn",
    "inputs",
    "outputs",
}
LATENCY_KEYS = {"mean", "min", "max", "std", "p50", "p90", "p95", "p99"}
# What the server writes for the tiny pair.
TINY_MODEL = {"framework": "tensorflow", "inputs": ["input"], "outputs": ["Identity"]}
TINY_DATALOADER = {
    "batch_size": 2,
    "dataset": {"dummy_v2": {"input_shape": [[32, 32, 3]], "dtype": ["float32"]}},
}


@pytest.fixture(scope="module")
def tiny_pair_runs(tiny_models, tmp_path_factory):
    """Run the worker on the fp32 and the int8 tiny graph, side by side."""
    config = write_config(
        tmp_path_factory.mktemp("pair") / "config.yaml",
        {"dataloader": TINY_DATALOADER},
        model=TINY_MODEL,
    )
    env = worker_env(cores="0")
    commands = {
        precision: worker_command(
            tiny_models[precision], config, framework="tensorflow"
        )
        for precision in ("fp32", "int8")
    }
    with ThreadPoolExecutor(len(commands)) as pool:
        futures = {
            precision: pool.submit(run_worker, command, env)
            for precision, command in commands.items()
        }

        return {precision: future.result() for precision, future in futures.items()}


def check_headline(stdout: str, result: dict) -> None:
    """Check that Latency and Throughput agree with the measured window."""
    throughput = float(stdout.split("Throughput: ")[1].split()[0])
    latency = float(stdout.split("Latency: ")[1].split()[0])
    window = result["window_end"] - result["window_start"]
    samples = result["iterations"] * result["batch_size"]
    assert throughput == pytest.approx(samples / window, rel=1e-3)
    assert latency == pytest.approx(result["latency_ms"]["mean"], abs=1e-3)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_worker_prints_result_lines(tiny_pair_runs, precision):
    completed = tiny_pair_runs[precision]

    assert completed.returncode == 0, completed.stderr
    result = parse_result(completed.stdout)
    assert set(result) == RESULT_KEYS
    assert set(result["latency_ms"]) == set(result["latency_ms_per_sample"])
    assert set(result["latency_ms"]) == LATENCY_KEYS
    assert "Batch size = 2" in completed.stdout
    assert (result["batch_size"], result["iterations"]) == (2, 20)
    assert (result["warmup"], result["warmup_iterations"]) == (2, 2)
    assert (result["rule_met"], result["stopped_by"]) == (True, "rule")
    assert result["inputs"] == {"input": {"shape": [2, 32, 32, 3], "dtype": "float32"}}
    assert result["outputs"] == ["Identity"]
    assert (result["framework"], result["model_format"]) == (
        "tensorflow",
        "frozen_graph",
    )
    assert result["runtime_version"] == result["tensorflow_version"]
    assert result["affinity"] == [0]
    assert (result["intra_op_threads"], result["inter_op_threads"]) == (1, 1)
    assert result["onednn"] is True
    assert result["window_end"] > result["window_start"]
    assert len(result["iteration_ends"]) == 20
    assert result["peak_rss_bytes"] > 0 and result["first_inference_ms"] > 0
    latency = result["latency_ms"]
    assert latency["min"] <= latency["p50"] <= latency["max"]
    assert result["latency_ms_per_sample"]["mean"] == pytest.approx(
        latency["mean"] / 2, abs=1e-5
    )
    assert "lpot_ux: frozen_graph on tensorflow" in completed.stdout
    check_headline(completed.stdout, result)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mode", "training"], "unknown mode 'training'"),
        (["--framework", "pytorch"], "framework 'pytorch' is not supported"),
        ([], "does not exist"),
    ],
)
def test_worker_refuses_what_it_cannot_run(tmp_path, extra, message):
    command = worker_command(tmp_path / "m.pb")[:4] + extra
    completed = run_worker(command)

    assert completed.returncode == 2
    assert last_error(completed.stderr).startswith("error: ")
    assert message in completed.stderr


def test_worker_refuses_cores_it_cannot_have(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    completed = run_worker(worker_command(model), worker_env(cores="4096"))

    assert completed.returncode == 2
    assert last_error(completed.stderr).startswith("error: cannot pin to cores [4096]")


@pytest.mark.parametrize(
    ("text", "cores"),
    [("0", [0]), ("0,1", [0, 1]), ("1, 0", [0, 1]), ("0-3,6", [0, 1, 2, 3, 6])],
)
def test_parse_cores(text, cores):
    assert worker.parse_cores(text) == cores


def test_parse_cores_refuses_garbage():
    with pytest.raises(worker.BenchmarkError, match="LPOT_UX_CORES='a,b'"):
        worker.parse_cores("a,b")


def test_main_turns_errors_into_one_line(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("evaluation: {performance: {duration: -1}}")

    exit_code = worker.main(["--input-graph", "m.pb", "--config", str(config)])

    assert exit_code == 2
    assert capsys.readouterr().err == (
        "error: config key 'duration' must be a number of seconds > 0, not -1\n"
    )
