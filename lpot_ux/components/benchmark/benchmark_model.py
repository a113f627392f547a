"""Run one benchmark instance of a model and print its result.

A person can run it by hand:

    python benchmark_model.py --config CONFIG --input-graph MODEL \\
        --mode performance --framework tensorflow

MODEL is a frozen graph (.pb), a SavedModel folder or a Keras file (.keras,
.h5) for --framework tensorflow, a .tflite file for --framework tflite, or an
.onnx file for --framework onnxrt; without --framework, its path decides.
--mode accuracy scores the model on the dataset of evaluation.accuracy.

Environment:
    LPOT_UX_CORES     cores to pin this process to, e.g. "0,1" or "0-3"
    LPOT_UX_BARRIER   "stdin": after warm-up print "lpot_ux: ready" and wait for
                      a line on standard input; once the stop rule is met print
                      "lpot_ux: done" and run on until a "stop" line (see
                      worker/measure.py)

In performance mode it prints "Batch size = N", "Latency: X ms",
"Throughput: Y images/sec" and one "lpot_ux result: {...}" JSON line; in
accuracy mode "Batch size = N", "Accuracy: A" and the JSON line. Exit codes:
0 success, 1 the model cannot be loaded or run, 2 the request cannot be run as
given.

This file and the worker package beside it import only the standard library,
numpy, yaml and the runtime of the model at hand, never lpot_ux, and import the
runtime only after pinning, so that it sizes its thread pools for the cores
this process may use.
"""

import argparse
import json
import os
import resource
import signal
import sys
from typing import Any

if __package__:
    from .worker import accuracy, feeds, measure
    from .worker.config import Settings, read_config
    from .worker.errors import MODEL_EXIT, BenchmarkError
    from .worker.formats import FRAMEWORKS
    from .worker.models import Runner, Threads, detect_format, failing_as, load_model
else:
    # Run by path: Python has put this file's folder, which holds the worker
    # package, first on sys.path.
    from worker import accuracy, feeds, measure
    from worker.config import Settings, read_config
    from worker.errors import MODEL_EXIT, BenchmarkError
    from worker.formats import FRAMEWORKS
    from worker.models import Runner, Threads, detect_format, failing_as, load_model

PERFORMANCE_MODES = ("performance", "benchmark")
MODES = (*PERFORMANCE_MODES, "accuracy")
RESULT_PREFIX = "lpot_ux result: "


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line of the worker."""
    parser = argparse.ArgumentParser(
        description="Benchmark one instance of a model, or score its accuracy."
    )
    parser.add_argument("--config", help="config.yaml written by lpot_ux")
    parser.add_argument(
        "--input-graph",
        required=True,
        help="model: .pb, SavedModel folder, .keras, .h5, .tflite or .onnx",
    )
    parser.add_argument(
        "--mode",
        default="performance",
        help="performance (alias benchmark) or accuracy",
    )
    parser.add_argument(
        "--framework",
        help=f"one of {', '.join(FRAMEWORKS)}; default: the model's path decides",
    )
    args = parser.parse_args(argv)
    check_args(args)

    return args


def check_args(args: argparse.Namespace) -> None:
    """Refuse modes and frameworks this worker cannot run."""
    if args.framework is not None and args.framework not in FRAMEWORKS:
        raise BenchmarkError(
            f"framework {args.framework!r} is not supported; "
            f"use --framework {' or '.join(FRAMEWORKS)}"
        )

    if args.mode not in MODES:
        raise BenchmarkError(
            f"unknown mode {args.mode!r}; use --mode performance or accuracy"
        )


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


def running(runner: Runner, path: str) -> Any:
    """Turn a runtime's failure to run the model into a BenchmarkError."""

    return failing_as("run", path, runner.explain)


def describe_run(runner: Runner, affinity: list[int], threads: Threads) -> dict:
    """Describe the model and how this instance runs it, for the result line."""
    return {
        "framework": runner.framework,
        "model_format": runner.model_format,
        "runtime_version": runner.runtime_version,
        "tensorflow_version": runner.tensorflow_version,
        "load_ms": round(runner.load_ms, 6),
        "affinity": affinity,
        "intra_op_threads": threads.intra,
        "inter_op_threads": threads.inter,
        "onednn": runner.onednn,
        "inputs": {},
        "outputs": runner.outputs,
    }


def announce(details: dict[str, Any]) -> None:
    """Print what is fed and fetched, and where it runs, before warm-up."""
    print(
        f"lpot_ux: {details['model_format']} on {details['framework']} "
        f"{details['runtime_version']} inputs {json.dumps(details['inputs'])} "
        f"outputs {json.dumps(details['outputs'])} "
        f"affinity {details['affinity']} intra {details['intra_op_threads']} "
        f"inter {details['inter_op_threads']} onednn {details['onednn']}",
        flush=True,
    )


def peak_rss() -> int:
    """Return the peak resident memory of this process, in bytes."""
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_performance(
    path: str, runner: Runner, settings: Settings, details: dict[str, Any]
) -> None:
    """Warm up, measure under the stop rule and print the result lines."""
    arrays = feeds.make_feed(runner.inputs, settings)
    details["inputs"] = feeds.describe_inputs(runner.inputs, arrays)
    announce(details)
    rule = measure.StopRule(
        settings.iterations, settings.duration, settings.max_duration
    )
    with running(runner, path):
        call = runner.bind(arrays)
        warmup = measure.warm_up(call, settings.warmup, settings.warmup_duration)

    listener = None
    if os.environ.get("LPOT_UX_BARRIER") == "stdin":
        measure.wait_for_go(sys.stdin)
        listener = measure.stdin_listener()

    with running(runner, path):
        window = measure.measure(call, rule, listener)

    report_performance(settings, warmup, window, details)


def report_performance(
    settings: Settings,
    warmup: measure.Warmup,
    window: measure.Window,
    details: dict[str, Any],
) -> None:
    """Print the result lines that lpot_ux's parser reads."""
    batch_size = settings.batch_size
    durations = window.durations()
    latency = measure.latency_stats(durations)
    throughput = len(durations) * batch_size / (window.end - window.start)
    first = durations[0] if warmup.first is None else warmup.first
    iteration_ends, iterations_per_end = window.relative_ends()
    result = {
        "batch_size": batch_size,
        "iterations": len(durations),
        "warmup": settings.warmup,
        "warmup_iterations": warmup.iterations,
        "warmup_seconds": round(warmup.seconds, 6),
        "rule_met": window.rule_met,
        "stopped_by": window.stopped_by,
        "window_start": window.start,
        "window_end": window.end,
        "latency_ms": latency,
        "latency_ms_per_sample": measure.latency_stats(durations, 1000 / batch_size),
        "first_inference_ms": round(float(first) * 1000, 6),
        "peak_rss_bytes": peak_rss(),
        **details,
        "iterations_per_end": iterations_per_end,
        # Last, as the longest: the parent finds the instances' common window
        # from them.
        "iteration_ends": iteration_ends,
    }
    print(f"Batch size = {batch_size}", flush=True)
    print(f"Latency: {latency['mean']:.3f} ms", flush=True)
    print(f"Throughput: {throughput:.3f} images/sec", flush=True)
    print(f"{RESULT_PREFIX}{json.dumps(result)}", flush=True)


def run_accuracy(
    path: str, runner: Runner, settings: Settings, details: dict[str, Any]
) -> None:
    """Score the model on the dataset and print the result lines."""
    wanted = settings.accuracy
    dataset = accuracy.load_dataset(runner.inputs, settings)
    details["inputs"] = {
        spec.name: {"shape": [wanted.batch_size, *shape], "dtype": str(spec.dtype)}
        for spec, shape in zip(runner.inputs, dataset.sample_shapes)
    }
    announce(details)
    with running(runner, path):
        score = accuracy.evaluate(runner, dataset, wanted.batch_size, wanted.topk)

    result = {
        "accuracy": score.accuracy,
        "metric": f"top{score.topk}",
        "samples": score.samples,
        "hits": score.hits,
        "batch_size": wanted.batch_size,
        "dataset": wanted.dataset,
        "peak_rss_bytes": peak_rss(),
        **details,
    }
    print(f"Batch size = {wanted.batch_size}", flush=True)
    print(f"Accuracy: {score.accuracy:.4f}", flush=True)
    print(f"{RESULT_PREFIX}{json.dumps(result)}", flush=True)


def benchmark(args: argparse.Namespace) -> None:
    """Run the benchmark that the arguments and config.yaml describe."""
    settings = read_config(args.config)
    _, model_format = detect_format(args.input_graph, args.framework)
    affinity = pin_cores()
    threads = Threads(
        intra=settings.intra_threads or len(affinity), inter=settings.inter_threads or 1
    )
    runner = load_model(args.input_graph, model_format, settings, threads)
    details = describe_run(runner, affinity, threads)
    if args.mode == "accuracy":
        run_accuracy(args.input_graph, runner, settings, details)
    else:
        run_performance(args.input_graph, runner, settings, details)


def die_with_parent() -> None:
    """Ask Linux to kill this worker when the server that started it dies.

    A worker left running by a server that was killed would go on loading the
    CPU and spoil every later measurement. LPOT_UX_PARENT_PID names the
    server; without it (a person running the worker) nothing changes.
    """
    parent = os.environ.get("LPOT_UX_PARENT_PID")
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1  # from <sys/prctl.h>
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    # The server may have died before the request above took effect.
    if str(os.getppid()) != parent:
        os._exit(MODEL_EXIT)


def main(argv: list[str] | None = None) -> int:
    """Run the worker and return its exit code."""
    die_with_parent()
    try:
        benchmark(parse_args(argv))
    except BenchmarkError as error:
        # One line, so that a log's last line says what went wrong.
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr, flush=True)
        return error.exit_code

    return 0


if __name__ == "__main__":
    sys.exit(main())
