"""The ``lpot_ux benchmark`` command: compare two models from a terminal."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from typing import IO, Any

from lpot_ux.client import (
    BenchmarkFailed,
    Client,
    speedup,
    speedup_interval,
    verdict,
)
from lpot_ux.errors import LpotUxError

# Seconds a private server may take to print its URL (it imports Flask and
# eventlet, not TensorFlow), and to stop after SIGTERM before it is killed.
SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 10.0

SERVER_URL_PATTERN = re.compile(r"(https?://[^/\s?]+)/?\?token=([^\s&]+)")
STDERR_TAIL_CHARS = 2000

MODELS = (("input", "input_model"), ("optimized", "optimized_model"))
FRAMEWORKS = ("tensorflow", "tflite", "onnxrt")
# Width the verdict's reasons are wrapped to, below the table.
TEXT_WIDTH = 88


class ServerStartError(LpotUxError):
    """The private server that the command starts did not come up."""


def add_benchmark_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lpot_ux benchmark`` to a parser."""
    parser.description = parser.description or (
        "Benchmark a model against its optimized twin and print how much faster "
        "the optimized one runs. Progress goes to stderr, the results to stdout."
    )
    models = parser.add_argument_group("models")
    models.add_argument(
        "--input-model", required=True, metavar="PATH", help="the reference model"
    )
    models.add_argument(
        "--optimized-model", required=True, metavar="PATH", help="the model to compare"
    )
    models.add_argument(
        "--input-precision",
        default="fp32",
        metavar="NAME",
        help="precision of the input model (default: fp32)",
    )
    models.add_argument(
        "--optimized-precision",
        default="int8",
        metavar="NAME",
        help="precision of the optimized model (default: int8)",
    )
    for label, role in MODELS:
        models.add_argument(
            f"--{label}-framework",
            choices=FRAMEWORKS,
            help=f"framework of the {role.replace('_', ' ')} (default: from its file)",
        )
        models.add_argument(
            f"--{label}-signature",
            metavar="NAME",
            help=f"SavedModel signature of the {role.replace('_', ' ')}",
        )

    run = parser.add_argument_group("benchmark settings (default: the server's)")
    for flag, help_text in (
        ("--instances", "instances run at the same time, each on its own cores"),
        ("--cores-per-instance", "cores pinned to each instance"),
        ("--batch-size", "samples per inference"),
        ("--iterations", "measured iterations per instance"),
    ):
        run.add_argument(flag, type=positive_int, metavar="N", help=help_text)
    run.add_argument(
        "--warmup",
        type=non_negative_int,
        metavar="N",
        help="iterations run per instance before measuring",
    )
    run.add_argument(
        "--duration",
        type=positive_seconds,
        metavar="SECONDS",
        help="measure each instance for at least this long",
    )
    run.add_argument(
        "--warmup-duration",
        type=non_negative_seconds,
        metavar="SECONDS",
        help="warm up each instance for at least this long",
    )
    run.add_argument(
        "--max-duration",
        type=positive_seconds,
        metavar="SECONDS",
        help="cut a model's measurement short after this long",
    )
    run.add_argument(
        "--rounds",
        type=positive_int,
        metavar="N",
        help="rounds of both models in turn; 3 or more give a 95%% interval",
    )
    run.add_argument(
        "--input-shape",
        type=input_shape,
        action="append",
        metavar="NAME=D,D,D",
        help="shape of an input with unknown sizes, -1 for the batch (repeatable)",
    )
    run.add_argument("--id", help="workload id (default: a fresh bench-... id)")

    accuracy = parser.add_argument_group("accuracy")
    accuracy.add_argument(
        "--accuracy",
        action="store_true",
        help="also score both models on --dataset",
    )
    accuracy.add_argument(
        "--dataset",
        metavar="PATH",
        help="labelled data: an .npz of inputs and labels, or an image folder",
    )
    accuracy.add_argument(
        "--topk", type=positive_int, metavar="K", help="top-k accuracy (default: 1)"
    )

    # SUPPRESS: a value given before the subcommand (lpot_ux --token T
    # benchmark ...) is not overwritten by this parser's default.
    server = parser.add_argument_group(
        "server (default: start a private one for this run)"
    )
    server.add_argument(
        "--url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="URL of a running server (env LPOT_UX_URL)",
    )
    server.add_argument(
        "--token", default=argparse.SUPPRESS, help="its token (env LPOT_UX_TOKEN)"
    )
    server.add_argument(
        "--workspace",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="workspace of the private server",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the final record as JSON"
    )


def run_benchmark_command(args: argparse.Namespace) -> int:
    """Run ``lpot_ux benchmark`` and return the process exit code."""
    try:
        shapes = collect_input_shapes(args.input_shape or [])
        check_accuracy_options(args)
        with connect(args) as client:
            record = client.benchmark(
                model_argument(args, "input"),
                model_argument(args, "optimized"),
                id=args.id,
                instances=args.instances,
                cores_per_instance=args.cores_per_instance,
                batch_size=args.batch_size,
                warmup=args.warmup,
                iterations=args.iterations,
                duration=args.duration,
                warmup_duration=args.warmup_duration,
                max_duration=args.max_duration,
                rounds=args.rounds,
                input_shapes=shapes or None,
                dataset=args.dataset,
                topk=args.topk,
                accuracy=args.accuracy,
            )
    except BenchmarkFailed as exc:
        print_log_tail(exc.log_tail)
        return report_error(
            f"benchmark {exc.id!r} ended with {exc.status}: {exc.message}"
        )
    except LpotUxError as exc:
        return report_error(str(exc))
    except KeyboardInterrupt:
        return report_error("interrupted", exit_code=130)

    print(json.dumps(record, indent=2) if args.json else format_results(record))

    return 0


def model_argument(args: argparse.Namespace, label: str) -> dict[str, Any]:
    """Return one model of the request from the command's arguments."""
    model = {
        "path": getattr(args, f"{label}_model"),
        "precision": getattr(args, f"{label}_precision"),
    }
    for name in ("framework", "signature"):
        value = getattr(args, f"{label}_{name}", None)
        if value is not None:
            model[name] = value

    return model


def collect_input_shapes(shapes: list[tuple[str, list[int]]]) -> dict[str, list[int]]:
    """Turn the --input-shape options into the request's input_shapes."""
    collected: dict[str, list[int]] = {}
    for name, shape in shapes:
        if name in collected:
            raise LpotUxError(
                f"--input-shape gives input {name!r} twice; give each input once."
            )
        collected[name] = shape

    return collected


def check_accuracy_options(args: argparse.Namespace) -> None:
    """Refuse accuracy options that would do nothing, before any server starts."""
    if args.accuracy and not args.dataset:
        raise LpotUxError(
            "--accuracy needs --dataset PATH: an .npz of inputs and labels, or a "
            "folder of images with one sub-folder per class."
        )
    if not args.accuracy and (args.dataset or args.topk):
        raise LpotUxError(
            "--dataset and --topk are for scoring accuracy: add --accuracy."
        )


@contextlib.contextmanager
def connect(args: argparse.Namespace) -> Iterator[Client]:
    """Yield a client of the server named by the arguments, or of a private one."""
    url = getattr(args, "url", None) or os.environ.get("LPOT_UX_URL")
    token = getattr(args, "token", None) or os.environ.get("LPOT_UX_TOKEN")
    if url:
        if not token and "token=" not in url:
            raise LpotUxError(
                f"--url {url} needs its token: pass --token or set LPOT_UX_TOKEN, "
                "or give the URL the server printed, which ends in ?token=..."
            )
        with Client(url, token) as client:
            yield client
        return

    print("No --url given: starting a private lpot_ux server.", file=sys.stderr)
    with private_server(getattr(args, "workspace", None)) as (url, token):
        with Client(url, token) as client:
            yield client


# The private server ------------------------------------------------------


@contextlib.contextmanager
def private_server(workspace: str | None) -> Iterator[tuple[str, str]]:
    """Start ``python -m lpot_ux`` on a free port; yield its URL and token."""
    # Port 0: the server binds any free port and prints which in its URL line.
    command = [sys.executable, "-m", "lpot_ux", "--port", "0"]
    if workspace:
        command += ["--workspace", os.path.expanduser(workspace)]
    # The token travels in the environment, not in argv, which `ps` shows.
    env = {**os.environ, "LPOT_UX_TOKEN": secrets.token_hex(16)}

    with tempfile.TemporaryFile(mode="w+") as stderr, _stop_on_sigterm():
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            text=True,
        )
        try:
            yield wait_for_server_url(process, stderr)
        finally:
            stop_server(process)


def wait_for_server_url(process: subprocess.Popen, stderr: IO[str]) -> tuple[str, str]:
    """Read the server's stdout until its URL line; return the URL and token."""
    lines: queue.Queue[str | None] = queue.Queue()
    # The reader keeps draining stdout after the URL, so the server never
    # blocks on a full pipe.
    threading.Thread(
        target=_pump_lines, args=(process.stdout, lines), daemon=True
    ).start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            raise ServerStartError(
                f"The private lpot_ux server printed no URL within "
                f"{SERVER_START_TIMEOUT:.0f} s; {read_tail(stderr)}"
            ) from None
        if line is None:
            code = process.wait()
            raise ServerStartError(
                f"The private lpot_ux server exited with code {code} before it was "
                f"ready; {read_tail(stderr)}"
            )

        match = SERVER_URL_PATTERN.search(line)
        if match:
            return match.group(1), match.group(2)


def _pump_lines(stream: IO[str], lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def read_tail(stderr: IO[str]) -> str:
    """Return the last line the server wrote to stderr, for an error message."""
    stderr.flush()
    stderr.seek(0)
    text = stderr.read()[-STDERR_TAIL_CHARS:]
    last = [line.strip() for line in text.splitlines() if line.strip()]

    return f"its last words: {last[-1]}" if last else "it wrote nothing to stderr"


def stop_server(process: subprocess.Popen) -> None:
    """Stop a server with SIGTERM, and kill it if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit, so the private server is stopped too."""

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# Output ------------------------------------------------------------------


def format_results(record: Mapping[str, Any]) -> str:
    """Render a finished run: a table of both models, the speed-up and the verdict."""
    with_accuracy = any(_is_number(record.get(f"acc_{key}")) for _, key in MODELS)
    header = [
        "model",
        "precision",
        "throughput (samples/s)",
        "latency mean (ms)",
        "p50 (ms)",
        "p99 (ms)",
    ]
    if with_accuracy:
        header.append(f"accuracy ({accuracy_metric(record)})")
    header.append("speed-up")
    rows = [tuple(header)]
    rows += [result_row(record, label, key, with_accuracy) for label, key in MODELS]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if column < 2 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))

    title = f"Benchmark {record.get('id', '?')}: {record.get('status', 'success')}"
    below = [describe_speedup(record)]
    if with_accuracy:
        below.append(describe_accuracy(record))
    below += describe_verdict(record)

    return "\n".join([title, "", *lines, "", *below])


def describe_speedup(record: Mapping[str, Any]) -> str:
    """Return one sentence saying how much faster the optimized model ran."""
    try:
        ratio = speedup(record)
    except ValueError as exc:
        return f"No speed-up: {exc}"

    rounds = len(record.get("rounds") or [])
    interval = speedup_interval(record)
    if interval is not None:
        low, high = interval
        spread = f" (95% interval {low:.2f}x to {high:.2f}x over {rounds} rounds)"
    elif rounds == 1:
        spread = " (one round, so no interval)"
    else:
        spread = ""

    return f"The optimized model runs {ratio:.2f}x as fast as the input model{spread}."


def describe_accuracy(record: Mapping[str, Any]) -> str:
    """Return one line on the accuracy of both models and its drop."""
    before = record.get("acc_input_model")
    after = record.get("acc_optimized_model")
    drop = record.get("accuracy_drop")
    relative = record.get("accuracy_drop_relative")
    text = (
        f"Accuracy ({accuracy_metric(record)}): {_percent(before)} -> {_percent(after)}"
    )
    if _is_number(drop):
        change = "drop" if drop >= 0 else "gain"
        text += f", {change} of {abs(drop) * 100:.2f} points"
        if _is_number(relative):
            text += f" ({abs(relative) * 100:.2f}% relative)"

    return text + "."


def describe_verdict(record: Mapping[str, Any]) -> list[str]:
    """Return the lines of the run's verdict: valid, or invalid with its reasons."""
    judged = verdict(record)
    if judged.valid is None:
        return []
    if judged.valid:
        return ["Verdict: valid."]

    lines = ["Verdict: INVALID, do not trust these numbers:"]
    for reason in judged.reasons:
        lines.append(
            textwrap.fill(
                reason, TEXT_WIDTH, initial_indent="  - ", subsequent_indent="    "
            )
        )

    return lines


def result_row(
    record: Mapping[str, Any], label: str, key: str, with_accuracy: bool = False
) -> tuple[str, ...]:
    """Return one model's cells of the results table."""
    throughput = record.get(f"perf_throughput_{key}")
    latency = (record.get("statistics") or {}).get(key, {}).get("latency_ms_per_batch")
    latency = latency or {}
    mean = record.get(f"perf_latency_{key}", latency.get("mean"))
    ratio = "-"
    if key == "input_model" and _is_number(throughput):
        ratio = "1.00x"
    elif _is_number(throughput):
        # The headline figure: with rounds, the geometric mean of their ratios.
        with contextlib.suppress(ValueError):
            ratio = f"{speedup(record):.2f}x"
    cells = [
        label,
        model_precision(record, key),
        f"{throughput:.2f}" if _is_number(throughput) else "-",
        _milliseconds(mean),
        _milliseconds(latency.get("p50")),
        _milliseconds(latency.get("p99")),
    ]
    if with_accuracy:
        cells.append(_percent(record.get(f"acc_{key}")))

    return (*cells, ratio)


def accuracy_metric(record: Mapping[str, Any]) -> str:
    """Return the accuracy metric of a run, such as top-1."""
    topk = ((record.get("request") or {}).get("metric") or {}).get("topk", 1)

    return f"top-{topk}"


def model_precision(record: Mapping[str, Any], key: str) -> str:
    """Return a model's precision from the execution details or the request."""
    details = (record.get("execution_details") or {}).get(f"{key}_benchmark") or {}
    performance = details.get("performance") or {}
    requested = (record.get("request") or {}).get(key) or {}

    return str(performance.get("precision") or requested.get("precision") or "-")


def print_log_tail(log_tail: str) -> None:
    """Show the tail of a failed worker's log on stderr, indented."""
    if log_tail.strip():
        print("worker log (tail):", file=sys.stderr)
        for line in log_tail.rstrip().splitlines():
            print(f"    {line}", file=sys.stderr)


def report_error(message: str, exit_code: int = 1) -> int:
    """Print one ``error:`` line on stderr and return the exit code."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)

    return exit_code


def positive_int(text: str) -> int:
    """Parse an integer of at least 1, for argparse."""
    return _bounded_int(text, 1)


def non_negative_int(text: str) -> int:
    """Parse an integer of at least 0, for argparse."""
    return _bounded_int(text, 0)


def _bounded_int(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{value} is below the minimum of {minimum}")

    return value


def positive_seconds(text: str) -> float:
    """Parse a number of seconds above 0, for argparse."""
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0 seconds")

    return value


def non_negative_seconds(text: str) -> float:
    """Parse a number of seconds of at least 0, for argparse."""
    value = _seconds(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is below 0 seconds")

    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds"
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")

    return value


def input_shape(text: str) -> tuple[str, list[int]]:
    """Parse NAME=D,D,D (-1 for the batch) into a name and a shape, for argparse."""
    # The name ends at the last "=": tensor names may hold ":" but no "=".
    name, _, sizes = text.rpartition("=")
    try:
        shape = [int(size) for size in sizes.split(",")]
    except ValueError:
        shape = []
    if not name.strip() or not shape or any(size < 1 and size != -1 for size in shape):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME=D,D,... with sizes of at least 1, or -1 for the "
            "batch; e.g. input=-1,224,224,3"
        )

    return name.strip(), shape


def _milliseconds(value: object) -> str:
    return f"{value:.3f}" if _is_number(value) else "-"


def _percent(value: object) -> str:
    return f"{value * 100:.2f}%" if _is_number(value) else "-"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
