"""Tests of the benchmark worker, run as a real process on real tiny models."""

import json
import os
import queue
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
import yaml

from lpot_ux.components.benchmark import benchmark_model as worker

WORKER = Path(worker.__file__)
RUN_TIMEOUT = 120
READY_TIMEOUT = 60
# Long enough that a worker ignoring the barrier would have printed its result.
BARRIER_HOLD = 1.5
RESULT_PREFIX = "lpot_ux result: "
RESULT_KEYS = {
    "batch_size",
    "iterations",
    "warmup",
    "window_start",
    "window_end",
    "latency_ms",
    "first_inference_ms",
    "load_ms",
    "peak_rss_bytes",
    "affinity",
    "intra_op_threads",
    "inter_op_threads",
    "onednn",
    "inputs",
    "outputs",
    "tensorflow_version",
}
LATENCY_KEYS = {"mean", "min", "max", "std", "p50", "p90", "p95", "p99"}
DYNAMIC_MODEL = """
import sys
import tensorflow as tf

graph = tf.Graph()
with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [None, None, 3], name="x")
    ids = tf.compat.v1.placeholder(tf.int32, [None], name="ids")
    tf.identity(tf.reduce_sum(x, axis=1) * 2.0, name="y")
    tf.identity(ids * 2, name="z")
open(sys.argv[1], "wb").write(graph.as_graph_def().SerializeToString())
"""


def write_config(path: Path, **performance) -> Path:
    """Write a config.yaml like the server's, for the tiny 32x32x3 models."""
    dataloader = {
        "batch_size": performance.pop("batch_size", 1),
        "dataset": {
            "dummy_v2": {
                "input_shape": performance.pop("input_shape", [[32, 32, 3]]),
                "dtype": ["float32"],
            }
        },
    }
    config = {
        "version": 1.0,
        "model": {
            "name": "tiny_fp32",
            "framework": "tensorflow",
            "inputs": performance.pop("inputs", ["input"]),
            "outputs": performance.pop("outputs", ["Identity"]),
        },
        "evaluation": {
            "performance": {
                "warmup": 2,
                "iteration": 20,
                "configs": {"cores_per_instance": 1, "num_of_instance": 1},
                "dataloader": dataloader,
                **performance,
            }
        },
    }
    path.write_text(yaml.safe_dump(config))

    return path


def worker_command(model: Path, config: Path | None = None, *extra: str) -> list[str]:
    """Return the worker command line, as a person would type it."""
    command = [sys.executable, str(WORKER), "--input-graph", str(model)]
    if config is not None:
        command += ["--config", str(config)]

    return [*command, "--mode", "performance", "--framework", "tensorflow", *extra]


def worker_env(cores: str | None = None, barrier: bool = False) -> dict[str, str]:
    """Return the environment of a worker, pinned and with a barrier as asked."""
    env = dict(os.environ)
    env.pop("LPOT_UX_CORES", None)
    env.pop("LPOT_UX_BARRIER", None)
    if cores is not None:
        env["LPOT_UX_CORES"] = cores

    if barrier:
        env["LPOT_UX_BARRIER"] = "stdin"

    return env


def run_worker(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the worker to its end, without input."""
    return subprocess.run(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def parse_result(stdout: str) -> dict:
    """Return the JSON of the result line, checking the three lines above it."""
    lines = stdout.splitlines()
    assert lines[-4].startswith("Batch size = ")
    assert lines[-3].startswith("Latency: ") and lines[-3].endswith(" ms")
    assert lines[-2].startswith("Throughput: ")
    assert lines[-2].endswith(" images/sec")
    assert lines[-1].startswith(RESULT_PREFIX)

    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def check_headline(stdout: str, result: dict) -> None:
    """Check that Latency and Throughput agree with the measured window."""
    throughput = float(stdout.split("Throughput: ")[1].split()[0])
    latency = float(stdout.split("Latency: ")[1].split()[0])
    window = result["window_end"] - result["window_start"]
    samples = result["iterations"] * result["batch_size"]
    assert throughput == pytest.approx(samples / window, rel=1e-3)
    assert latency == pytest.approx(result["latency_ms"]["mean"], abs=1e-3)


class FakeShape:
    """The little of tf.TensorShape that input_shape reads."""

    def __init__(self, dims: list[int | None] | None) -> None:
        self.dims = dims
        self.rank = None if dims is None else len(dims)

    def as_list(self) -> list[int | None]:
        return list(self.dims)


class FakeOp:
    """The little of tf.Operation that input_shape reads."""

    def __init__(self, name: str, dims: list[int | None] | None) -> None:
        self.name = name
        self.outputs = [types.SimpleNamespace(shape=FakeShape(dims))]


def read_lines(stream, lines: queue.Queue) -> None:
    """Put each line of a stream on a queue, then None at its end."""
    for line in stream:
        lines.put(line.rstrip("\n"))

    lines.put(None)


@pytest.fixture(scope="module")
def dynamic_model(tmp_path_factory) -> Path:
    """Make a graph whose input 'x' has an unknown non-batch dimension."""
    path = tmp_path_factory.mktemp("dynamic") / "dynamic.pb"
    subprocess.run(
        [sys.executable, "-c", DYNAMIC_MODEL, str(path)],
        check=True,
        capture_output=True,
        timeout=RUN_TIMEOUT,
    )

    return path


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_worker_prints_result_lines(tiny_models, tmp_path, precision):
    config = write_config(tmp_path / "config.yaml", batch_size=2)
    completed = run_worker(
        worker_command(tiny_models[precision], config), worker_env(cores="0")
    )

    assert completed.returncode == 0, completed.stderr
    result = parse_result(completed.stdout)
    assert set(result) == RESULT_KEYS
    assert set(result["latency_ms"]) == LATENCY_KEYS
    assert "Batch size = 2" in completed.stdout
    assert result["batch_size"] == 2
    assert result["iterations"] == 20
    assert result["warmup"] == 2
    assert result["inputs"] == {"input": {"shape": [2, 32, 32, 3], "dtype": "float32"}}
    assert result["outputs"] == ["Identity"]
    assert result["affinity"] == [0]
    assert result["intra_op_threads"] == 1
    assert result["inter_op_threads"] == 1
    assert result["onednn"] is True
    assert result["window_end"] > result["window_start"]
    assert result["peak_rss_bytes"] > 0
    assert result["latency_ms"]["min"] <= result["latency_ms"]["p50"]
    assert result["latency_ms"]["p50"] <= result["latency_ms"]["max"]
    assert "lpot_ux: inputs {" in completed.stdout
    check_headline(completed.stdout, result)


def test_worker_waits_at_barrier(tiny_models, tmp_path):
    config = write_config(tmp_path / "config.yaml", intra_num_of_threads=2)
    process = subprocess.Popen(
        worker_command(tiny_models["int8"], config),
        env=worker_env(cores="0,1", barrier=True),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=read_lines, args=(process.stdout, lines))
    reader.daemon = True
    reader.start()
    try:
        seen = []
        while not seen or seen[-1] != "lpot_ux: ready":
            line = lines.get(timeout=READY_TIMEOUT)
            assert line is not None, f"worker ended before the barrier: {seen}"
            seen.append(line)

        time.sleep(BARRIER_HOLD)
        assert process.poll() is None
        assert lines.empty()

        released = time.monotonic()
        process.stdin.write("go\n")
        process.stdin.close()
        process.wait(timeout=RUN_TIMEOUT)
    finally:
        process.kill()

    rest = []
    while (line := lines.get(timeout=READY_TIMEOUT)) is not None:
        rest.append(line)

    assert process.returncode == 0, process.stderr.read()
    result = parse_result("\n".join(rest))
    assert result["window_start"] >= released
    assert result["affinity"] == [0, 1]
    assert result["intra_op_threads"] == 2


def test_worker_feeds_config_shapes_to_unknown_dimensions(dynamic_model, tmp_path):
    config = write_config(
        tmp_path / "config.yaml",
        inputs=["x", "ids"],
        outputs=[],
        input_shape=[[5, 3], []],
        batch_size=4,
    )
    completed = run_worker(worker_command(dynamic_model, config), worker_env())

    assert completed.returncode == 0, completed.stderr
    result = parse_result(completed.stdout)
    assert result["inputs"] == {
        "x": {"shape": [4, 5, 3], "dtype": "float32"},
        "ids": {"shape": [4], "dtype": "int32"},
    }
    assert result["outputs"] == ["y", "z"]


def test_worker_names_input_of_unknown_dimension(dynamic_model):
    completed = run_worker(worker_command(dynamic_model), worker_env())

    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines()[-1] == (
        "error: input 'x' has shape [?, ?, 3]: dimension 1 is unknown; "
        "give its size in input_shapes"
    )
    assert "Throughput" not in completed.stdout


def test_worker_refuses_corrupt_model(tmp_path):
    model = tmp_path / "corrupt.pb"
    model.write_bytes(b"\x0a\xff\xff\xff\xff\x0fnot a graph")
    completed = run_worker(worker_command(model), worker_env())

    assert completed.returncode == 1
    last_line = completed.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"error: cannot load model '{model}': ")
    assert "Throughput" not in completed.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mode", "accuracy"], "mode 'accuracy' is not supported yet"),
        (["--framework", "onnxrt"], "framework 'onnxrt' is not supported"),
    ],
)
def test_worker_refuses_what_it_cannot_run(tmp_path, extra, message):
    command = [sys.executable, str(WORKER), "--input-graph", str(tmp_path / "m.pb")]
    completed = run_worker([*command, *extra], worker_env())

    assert completed.returncode == 2
    assert completed.stderr.startswith("error: ")
    assert message in completed.stderr


@pytest.mark.parametrize(
    ("text", "cores"),
    [("0", [0]), ("0,1", [0, 1]), ("1, 0", [0, 1]), ("0-3,6", [0, 1, 2, 3, 6])],
)
def test_parse_cores(text, cores):
    assert worker.parse_cores(text) == cores


def test_parse_cores_refuses_garbage():
    with pytest.raises(worker.BenchmarkError, match="LPOT_UX_CORES='a,b'"):
        worker.parse_cores("a,b")


def test_read_config_takes_the_server_fields(tmp_path):
    config = write_config(
        tmp_path / "config.yaml",
        batch_size=8,
        warmup=0,
        configs={"intra_num_of_threads": 3, "inter_num_of_threads": 2},
    )

    settings = worker.read_config(str(config))

    assert settings.batch_size == 8
    assert settings.warmup == 0
    assert settings.iterations == 20
    assert settings.inputs == ["input"]
    assert settings.outputs == ["Identity"]
    assert settings.input_shapes == [[32, 32, 3]]
    assert (settings.intra_threads, settings.inter_threads) == (3, 2)


def test_read_config_defaults_without_a_file():
    settings = worker.read_config(None)

    assert (settings.warmup, settings.iterations, settings.batch_size) == (5, 50, 1)
    assert settings.intra_threads is None and settings.inter_threads is None


@pytest.mark.parametrize("iteration", [0, -1, "ten", True])
def test_read_config_refuses_bad_iterations(tmp_path, iteration):
    config = write_config(tmp_path / "config.yaml", iteration=iteration)

    with pytest.raises(worker.BenchmarkError, match="'iteration'"):
        worker.read_config(str(config))


@pytest.mark.parametrize(
    ("dims", "given", "shape"),
    [
        ([None, 32, 32, 3], None, [4, 32, 32, 3]),
        ([None, 32, 32, 3], [32, 32, 3], [4, 32, 32, 3]),
        ([None, None, 3], [5, 3], [4, 5, 3]),
        ([4, 8], None, [4, 8]),
        (None, [7], [4, 7]),
        ([], None, []),
        # The graph's known sizes win over a config that disagrees.
        ([None, 32], [64], [4, 32]),
        ([None, 32], [1, 2, 3], [4, 32]),
    ],
)
def test_input_shape(dims, given, shape):
    assert worker.input_shape(FakeOp("x", dims), 4, given) == shape


@pytest.mark.parametrize(
    ("dims", "given", "message"),
    [
        ([None, None, 3], None, r"shape \[\?, \?, 3\]: dimension 1 is unknown"),
        ([None, 3, None], [3, None], "dimension 2 is unknown"),
        (None, None, "unknown rank"),
        ([1, 3], None, "batch dimension is fixed at 1; run with batch size 1"),
    ],
)
def test_input_shape_refuses(dims, given, message):
    with pytest.raises(worker.BenchmarkError, match=message):
        worker.input_shape(FakeOp("x", dims), 4, given)
