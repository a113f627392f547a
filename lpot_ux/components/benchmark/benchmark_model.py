"""Run one benchmark instance of a frozen TensorFlow graph and print its result.

A person can run it by hand:

    python benchmark_model.py --config CONFIG --input-graph MODEL \\
        --mode performance --framework tensorflow

Environment:
    LPOT_UX_CORES     cores to pin this process to, e.g. "0,1" or "0-3"
    LPOT_UX_BARRIER   "stdin": after warm-up print "lpot_ux: ready" and wait for
                      one line on standard input before measuring

It prints "Batch size = N", "Latency: X ms", "Throughput: Y images/sec" and one
"lpot_ux result: {...}" JSON line. Exit codes: 0 success, 1 the model cannot be
loaded or run, 2 the request cannot be run as given.

This file imports only the standard library, numpy, yaml and tensorflow, and
imports tensorflow only after pinning, so that TensorFlow sizes its thread pools
for the cores this process may use.
"""

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

USAGE_EXIT = 2
MODEL_EXIT = 1
DEFAULT_WARMUP = 5
DEFAULT_ITERATIONS = 50
# Small non-negative values, so that integer inputs used as ids stay inside any
# embedding table.
INTEGER_VALUES = 10
# Node types that end a graph without being a result of it.
NON_OUTPUT_TYPES = {
    "Assert",
    "Const",
    "HostConst",
    "NoOp",
    "Placeholder",
    "PlaceholderWithDefault",
    "Print",
    "PrintV2",
    "SaveV2",
    "RestoreV2",
    "VarHandleOp",
    "VariableV2",
}


class BenchmarkError(Exception):
    """A failure reported as one `error:` line and an exit code."""

    def __init__(self, message: str, exit_code: int = USAGE_EXIT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Settings:
    """What config.yaml asks of this instance."""

    warmup: int = DEFAULT_WARMUP
    iterations: int = DEFAULT_ITERATIONS
    batch_size: int = 1
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    input_shapes: list[list[int]] = field(default_factory=list)
    intra_threads: int | None = None
    inter_threads: int | None = None


@dataclass
class Model:
    """A loaded graph, its session and what is fed to and fetched from it."""

    graph: Any
    session: Any
    load_ms: float
    intra_threads: int
    inter_threads: int
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    configured_inputs: bool = False


@dataclass
class Measurement:
    """Timings of one measured window."""

    durations: list[float]
    window_start: float
    window_end: float
    first_inference_ms: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line of the worker."""
    parser = argparse.ArgumentParser(
        description="Benchmark one instance of a frozen TensorFlow graph."
    )
    parser.add_argument("--config", help="config.yaml written by lpot_ux")
    parser.add_argument(
        "--input-graph", required=True, help="frozen GraphDef (.pb) to benchmark"
    )
    parser.add_argument(
        "--mode", default="performance", help="performance (accuracy: not yet)"
    )
    parser.add_argument(
        "--framework", default="tensorflow", help="only tensorflow for now"
    )
    args = parser.parse_args(argv)
    check_args(args)

    return args


def check_args(args: argparse.Namespace) -> None:
    """Refuse modes and frameworks this worker cannot run."""
    if args.framework != "tensorflow":
        raise BenchmarkError(
            f"framework {args.framework!r} is not supported; "
            "use --framework tensorflow"
        )

    if args.mode == "accuracy":
        raise BenchmarkError(
            "mode 'accuracy' is not supported yet; use --mode performance"
        )

    if args.mode not in ("performance", "benchmark"):
        raise BenchmarkError(f"unknown mode {args.mode!r}; use --mode performance")


def read_config(path: str | None) -> Settings:
    """Read the settings of this instance from config.yaml."""
    if path is None:
        return Settings()

    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise BenchmarkError(f"cannot read config {path!r}: {error}") from error

    model = section(config, "model")
    performance = section(section(config, "evaluation"), "performance")
    configs = section(performance, "configs")
    dataloader = section(performance, "dataloader")
    dummy = section(section(dataloader, "dataset"), "dummy_v2")

    return Settings(
        warmup=count(performance, "warmup", DEFAULT_WARMUP, minimum=0),
        iterations=count(performance, "iteration", DEFAULT_ITERATIONS),
        batch_size=count(dataloader, "batch_size", 1),
        inputs=names(model, "inputs"),
        outputs=names(model, "outputs"),
        input_shapes=shapes(dummy.get("input_shape")),
        # 0 or absent: let the affinity decide.
        intra_threads=count(configs, "intra_num_of_threads", 0, minimum=0) or None,
        inter_threads=count(configs, "inter_num_of_threads", 0, minimum=0) or None,
    )


def section(mapping: dict, key: str) -> dict:
    """Return mapping[key] as a mapping, empty when absent."""
    value = mapping.get(key) or {}
    if not isinstance(value, dict):
        raise BenchmarkError(f"config key {key!r} must be a mapping, not {value!r}")

    return value


def count(mapping: dict, key: str, default: int | None, minimum: int = 1) -> Any:
    """Return the integer mapping[key], or default when absent."""
    value = mapping.get(key)
    if value is None:
        return default

    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BenchmarkError(
            f"config key {key!r} must be an integer >= {minimum}, not {value!r}"
        )

    return value


def names(mapping: dict, key: str) -> list[str]:
    """Return the node names under mapping[key], without any ':0' suffix."""
    value = mapping.get(key) or []
    if isinstance(value, str):
        value = [value]

    return [str(name).split(":")[0] for name in value]


def shapes(value: Any) -> list[list[int]]:
    """Return the dummy_v2 input shapes as a list of shapes, one per input."""
    if not value:
        return []

    # A single shape may be written flat: [32, 32, 3].
    if all(isinstance(size, int) for size in value):
        value = [value]

    return [list(shape) for shape in value]


def parse_cores(text: str) -> list[int]:
    """Parse a core list such as '0,1' or '0-3,6'."""
    cores = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            cores.extend(range(int(first), int(last or first) + 1))
    except ValueError as error:
        raise BenchmarkError(
            f"LPOT_UX_CORES={text!r} is not a core list such as '0,1' or '0-3'"
        ) from error

    return sorted(set(cores))


def pin_cores() -> list[int]:
    """Pin this process to LPOT_UX_CORES, if set, and return its affinity."""
    text = os.environ.get("LPOT_UX_CORES", "").strip()
    if text:
        cores = parse_cores(text)
        try:
            os.sched_setaffinity(0, cores)
        except OSError as error:
            raise BenchmarkError(
                f"cannot pin to cores {cores}: {error}; "
                f"usable cores are {sorted(os.sched_getaffinity(0))}"
            ) from error

    return sorted(os.sched_getaffinity(0))


def import_tensorflow(intra_threads: int, inter_threads: int) -> Any:
    """Import TensorFlow quietly, with oneDNN on and the thread counts given."""
    # Both must be in the environment before TensorFlow is first imported. The
    # int8 graphs of Neural Compressor run only with oneDNN, which TensorFlow
    # turns on by itself only on CPUs with AVX-512 VNNI or newer; so it is on
    # unless the user chose otherwise, and fp32 and int8 are measured alike.
    quiet = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    import tensorflow as tf

    if quiet:
        tf.get_logger().setLevel("ERROR")

    tf.config.threading.set_intra_op_parallelism_threads(intra_threads)
    tf.config.threading.set_inter_op_parallelism_threads(inter_threads)

    return tf


def onednn_enabled() -> bool:
    """Tell whether TensorFlow runs with oneDNN in this process."""
    try:
        from tensorflow.python.util._pywrap_util_port import IsMklEnabled
    except ImportError:
        # A private module: without it, trust the switch the user can see.
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").lower() in ("1", "true")

    return bool(IsMklEnabled())


def load_graph(path: str, intra_threads: int, inter_threads: int) -> Model:
    """Load a frozen GraphDef into a new graph and open a session on it."""
    import tensorflow as tf

    if Path(path).is_dir():
        raise BenchmarkError(
            f"cannot load model {path!r}: it is a folder; "
            "give a frozen GraphDef (.pb) file",
            MODEL_EXIT,
        )

    start = time.perf_counter()
    try:
        graph_def = tf.compat.v1.GraphDef.FromString(Path(path).read_bytes())
        if not graph_def.node:
            raise ValueError("the file holds no graph nodes")

        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
    # Reading, parsing (protobuf's DecodeError) and importing fail in many
    # ways; each means the same to the user: this file is not a usable model.
    except Exception as error:
        raise BenchmarkError(
            f"cannot load model {path!r}: {error}", MODEL_EXIT
        ) from error

    config = tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=intra_threads,
        inter_op_parallelism_threads=inter_threads,
    )
    session = tf.compat.v1.Session(graph=graph, config=config)

    load_ms = (time.perf_counter() - start) * 1000

    return Model(graph, session, load_ms, intra_threads, inter_threads)


def find_inputs(model: Model, configured: list[str]) -> None:
    """Choose the placeholders to feed: the configured ones, else all of them."""
    operations = model.graph.get_operations()
    placeholders = [op for op in operations if op.type == "Placeholder"]
    known = {op.name for op in operations}
    if configured and all(name in known for name in configured):
        model.inputs = [model.graph.get_operation_by_name(n) for n in configured]
        model.configured_inputs = True
        return

    if configured:
        warn(
            f"model inputs {configured} are not all in the graph; "
            f"feeding its placeholders {[op.name for op in placeholders]}"
        )

    model.inputs = placeholders


def find_outputs(model: Model, configured: list[str]) -> None:
    """Choose the nodes to fetch: the configured ones, else the graph's ends."""
    operations = model.graph.get_operations()
    known = {op.name for op in operations}
    if configured and all(name in known for name in configured):
        model.outputs = [model.graph.get_operation_by_name(n) for n in configured]
        return

    consumed = set()
    for op in operations:
        consumed.update(tensor.op.name for tensor in op.inputs)
        consumed.update(control.name for control in op.control_inputs)

    ends = [
        op
        for op in operations
        if op.name not in consumed and op.outputs and op.type not in NON_OUTPUT_TYPES
    ]
    if configured:
        warn(
            f"model outputs {configured} are not all in the graph; "
            f"fetching its end nodes {[op.name for op in ends]}"
        )

    if not ends:
        raise BenchmarkError("the graph has no output node to fetch", MODEL_EXIT)

    model.outputs = ends


def make_feed(model: Model, settings: Settings) -> dict[Any, np.ndarray]:
    """Make one batch of synthetic data for every input."""
    rng = np.random.default_rng(0)
    feed = {}
    for position, op in enumerate(model.inputs):
        given = None
        if model.configured_inputs and position < len(settings.input_shapes):
            given = settings.input_shapes[position]

        shape = input_shape(op, settings.batch_size, given)
        feed[op.outputs[0]] = make_array(rng, op, shape)

    return feed


def input_shape(op: Any, batch_size: int, given: list[int] | None) -> list[int]:
    """Return the shape to feed: batch first, the rest from the graph or config."""
    static = op.outputs[0].shape
    if static.rank is None:
        if given is None:
            raise BenchmarkError(
                f"input {op.name!r} has an unknown rank; give its shape in input_shapes"
            )

        return [batch_size, *given]

    dims = static.as_list()
    if not dims:
        return []

    shown = describe_dims(dims)
    if given is not None and len(given) != len(dims) - 1:
        warn(
            f"input_shapes gives {given} for input {op.name!r} of shape {shown}, "
            f"not {len(dims) - 1} sizes without the batch dimension; ignoring it"
        )
        given = None

    if dims[0] is not None and dims[0] != batch_size:
        raise BenchmarkError(
            f"input {op.name!r} has shape {shown}: its batch dimension is fixed at "
            f"{dims[0]}; run with batch size {dims[0]}"
        )

    return [batch_size] + [
        fill_dim(op.name, shown, index, size, given)
        for index, size in enumerate(dims[1:], start=1)
    ]


def fill_dim(
    name: str, shown: str, index: int, size: int | None, given: list[int] | None
) -> int:
    """Return the size of one non-batch dimension: the graph's, else the config's."""
    wanted = given[index - 1] if given is not None else None
    if size is not None:
        # The graph would refuse any other size, so its own wins.
        if wanted is not None and wanted != size:
            warn(
                f"input_shapes gives {wanted} for dimension {index} of input "
                f"{name!r} of shape {shown}; using {size}"
            )

        return size

    if wanted is None:
        raise BenchmarkError(
            f"input {name!r} has shape {shown}: dimension {index} is unknown; "
            "give its size in input_shapes"
        )

    return wanted


def describe_dims(dims: list[int | None]) -> str:
    """Write a shape the way a user reads it, '?' for unknown sizes."""
    return "[" + ", ".join("?" if size is None else str(size) for size in dims) + "]"


def make_array(rng: np.random.Generator, op: Any, shape: list[int]) -> np.ndarray:
    """Make random data of the input's own dtype."""
    dtype = op.outputs[0].dtype
    if dtype.is_bool:
        return np.asarray(rng.random(shape) < 0.5)

    if dtype.is_floating:
        values = rng.random(shape, dtype=np.float32)
        return np.asarray(values).astype(dtype.as_numpy_dtype)

    if dtype.is_integer:
        values = rng.integers(0, INTEGER_VALUES, shape)
        return np.asarray(values).astype(dtype.as_numpy_dtype)

    raise BenchmarkError(
        f"input {op.name!r} has dtype {dtype.name}, which cannot be made up; "
        "only float, integer and bool inputs are supported"
    )


def run_failure(model: Model, error: Exception) -> str:
    """Explain why the graph failed to run, with the fix when it is known."""
    # TensorFlow's last line names the failing node and what went wrong; the
    # lines above it repeat the node and where the graph was built.
    lines = str(getattr(error, "message", error)).strip().splitlines() or [""]
    message = f"the model failed to run: {lines[-1]}"
    types = {op.type for op in model.graph.get_operations()}
    if not onednn_enabled() and any("Quantized" in name for name in types):
        message += (
            "; its quantized ops run only with oneDNN: "
            "unset TF_ENABLE_ONEDNN_OPTS or set it to 1"
        )

    return message


def wait_at_barrier() -> None:
    """Tell the parent that warm-up is over and wait for its start line."""
    if os.environ.get("LPOT_UX_BARRIER") != "stdin":
        return

    print("lpot_ux: ready", flush=True)
    # An end of input counts as the start line: a parent that closes stdin
    # instead of writing to it must not leave this process waiting forever.
    sys.stdin.readline()


def measure(
    model: Model, feed: dict[Any, np.ndarray], settings: Settings
) -> Measurement:
    """Warm up, wait at the barrier, then time each measured iteration."""
    import tensorflow as tf

    # A callable built once does the fetch and feed bookkeeping of
    # Session.run ahead of time, so the loop times little but the graph.
    run = model.session.make_callable(model.outputs, feed_list=list(feed))
    values = list(feed.values())
    first = warm_up(model, run, values, settings.warmup)
    wait_at_barrier()

    durations = [0.0] * settings.iterations
    clock = time.perf_counter
    try:
        window_start = time.monotonic()
        for index in range(settings.iterations):
            start = clock()
            run(*values)
            durations[index] = clock() - start

        window_end = time.monotonic()
    except tf.errors.OpError as error:
        raise BenchmarkError(run_failure(model, error), MODEL_EXIT) from error

    first = durations[0] if first is None else first

    return Measurement(durations, window_start, window_end, first * 1000)


def warm_up(
    model: Model, run: Any, values: list[np.ndarray], iterations: int
) -> float | None:
    """Run the warm-up iterations and return the first one's time, in seconds."""
    import tensorflow as tf

    first = None
    try:
        for _ in range(iterations):
            start = time.perf_counter()
            run(*values)
            first = time.perf_counter() - start if first is None else first
    except tf.errors.OpError as error:
        raise BenchmarkError(run_failure(model, error), MODEL_EXIT) from error

    return first


def latency_stats(durations: list[float]) -> dict[str, float]:
    """Summarise the iteration times in milliseconds."""
    times = np.array(durations) * 1000
    stats = {
        "mean": times.mean(),
        "min": times.min(),
        "max": times.max(),
        "std": times.std(),
    }
    for percent in (50, 90, 95, 99):
        stats[f"p{percent}"] = np.percentile(times, percent)

    return {key: round(float(value), 6) for key, value in stats.items()}


def describe_inputs(feed: dict[Any, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Describe the arrays fed, by input node name."""
    return {
        tensor.op.name: {"shape": list(array.shape), "dtype": array.dtype.name}
        for tensor, array in feed.items()
    }


def describe_run(
    model: Model, feed: dict[Any, np.ndarray], affinity: list[int], tf: Any
) -> dict[str, Any]:
    """Describe how this instance runs, for the result line."""
    return {
        "load_ms": round(model.load_ms, 6),
        "affinity": affinity,
        "intra_op_threads": model.intra_threads,
        "inter_op_threads": model.inter_threads,
        "onednn": onednn_enabled(),
        "inputs": describe_inputs(feed),
        "outputs": [op.name for op in model.outputs],
        "tensorflow_version": tf.__version__,
    }


def announce(details: dict[str, Any]) -> None:
    """Print what is fed and fetched, and where it runs, before warm-up."""
    print(
        f"lpot_ux: inputs {json.dumps(details['inputs'])} "
        f"outputs {json.dumps(details['outputs'])} "
        f"affinity {details['affinity']} intra {details['intra_op_threads']} "
        f"inter {details['inter_op_threads']} onednn {details['onednn']}",
        flush=True,
    )


def report(
    settings: Settings, measurement: Measurement, details: dict[str, Any]
) -> None:
    """Print the result lines that lpot_ux's parser reads."""
    latency = latency_stats(measurement.durations)
    window = measurement.window_end - measurement.window_start
    throughput = settings.iterations * settings.batch_size / window
    # ru_maxrss is in KiB on Linux.
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "batch_size": settings.batch_size,
        "iterations": settings.iterations,
        "warmup": settings.warmup,
        "window_start": measurement.window_start,
        "window_end": measurement.window_end,
        "latency_ms": latency,
        "first_inference_ms": round(measurement.first_inference_ms, 6),
        "load_ms": details["load_ms"],
        "peak_rss_bytes": peak_rss,
        **details,
    }
    print(f"Batch size = {settings.batch_size}", flush=True)
    print(f"Latency: {latency['mean']:.3f} ms", flush=True)
    print(f"Throughput: {throughput:.3f} images/sec", flush=True)
    print(f"lpot_ux result: {json.dumps(result)}", flush=True)


def warn(message: str) -> None:
    """Write a warning line to standard error."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def benchmark(args: argparse.Namespace) -> None:
    """Run the benchmark that the arguments and config.yaml describe."""
    settings = read_config(args.config)
    affinity = pin_cores()
    intra = settings.intra_threads or len(affinity)
    inter = settings.inter_threads or 1
    tf = import_tensorflow(intra, inter)
    model = load_graph(args.input_graph, intra, inter)
    find_inputs(model, settings.inputs)
    find_outputs(model, settings.outputs)
    feed = make_feed(model, settings)
    details = describe_run(model, feed, affinity, tf)
    announce(details)

    with model.session:
        measurement = measure(model, feed, settings)

    report(settings, measurement, details)


def main(argv: list[str] | None = None) -> int:
    """Run the worker and return its exit code."""
    try:
        benchmark(parse_args(argv))
    except BenchmarkError as error:
        # One line, so that a log's last line says what went wrong.
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr, flush=True)
        return error.exit_code

    return 0


if __name__ == "__main__":
    sys.exit(main())
