"""Measure what lpot_ux costs over running a model by hand, in one run.

    python benchmarks/measure_overhead.py [--workspace DIR] [--repeats 3]

For the demo pair (MobileNetV2 fp32/int8) and a tiny pair, it prints:
- reported throughput / tight session.run loop throughput (same model, cores,
  threads and batch size), per model: how much the worker's measurement
  loses to its own bookkeeping;
- wall time of a whole request (POST to benchmark_finish) / (measured spans +
  the bare cost of starting Python, importing TensorFlow and loading the
  graph, once per model): what the server adds around the measurement;
- the server's resident memory when idle and at its peak during the runs.
Each figure is the median over the repeats, taken in alternation with its
reference so that the machine's noise falls on both sides.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests
import socketio

HERE = Path(__file__).resolve().parent
URL_LINE = re.compile(r"(http://[^/\s]+)/\?token=(\w+)")
TOKEN = "overhead-benchmark"


def make_models(kind: str, output: Path) -> dict[str, Path]:
    """Build (once) a demo pair and return its paths."""
    subprocess.run(
        [sys.executable, "-m", "lpot_ux", "demo-models", "--kind", kind, "--output", str(output)],
        check=True,
        capture_output=True,
    )
    return {precision: output / f"{kind}_{precision}.pb" for precision in ("fp32", "int8")}


def start_server(workspace: Path) -> tuple[subprocess.Popen, str]:
    """Start lpot_ux on a free port and return it with its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lpot_ux", "--port", "0", "--workspace", str(workspace), "--token", TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    match = URL_LINE.search(process.stdout.readline())
    if not match:
        raise SystemExit("lpot_ux did not start")
    return process, match.group(1)


def tight_loop(model: Path, cores: list[int], warmup: int, iterations: int) -> tuple[float, float]:
    """Return (throughput, bare start-up seconds) of the reference loop."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "tight_loop.py"),
            "--model",
            str(model),
            "--cores",
            ",".join(map(str, cores)),
            "--warmup",
            str(warmup),
            "--iterations",
            str(iterations),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    loaded = None
    throughput = None
    for line in process.stdout:
        if line.startswith("loaded"):
            loaded = time.perf_counter() - start
        elif line.startswith("throughput"):
            throughput = float(line.split()[1])
    process.wait()
    return throughput, loaded


def run_request(url: str, models: dict[str, Path], workload_id: str, warmup: int, iterations: int) -> tuple[float, dict]:
    """Post one request, wait for its finish event; return (wall seconds, data)."""
    finished = threading.Event()
    result = {}
    client = socketio.Client()

    @client.on("benchmark_finish")
    def on_finish(message):
        if message["data"].get("id") == workload_id:
            result.update(message)
            finished.set()

    client.connect(url, auth={"token": TOKEN})
    start = time.perf_counter()
    response = requests.post(
        f"{url}/api/benchmark",
        json={
            "id": workload_id,
            "input_model": {"precision": "fp32", "path": str(models["fp32"])},
            "optimized_model": {"precision": "int8", "path": str(models["int8"])},
            "warmup": warmup,
            "iterations": iterations,
        },
        headers={"Authorization": TOKEN},
        timeout=30,
    )
    response.raise_for_status()
    finished.wait(timeout=1800)
    wall = time.perf_counter() - start
    client.disconnect()
    if result.get("status") != "success":
        raise SystemExit(f"run {workload_id} failed: {result}")
    return wall, result["data"]


class MemoryWatch:
    """Sample a process's resident memory in the background."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def stop(self) -> int:
        self.running = False
        self.thread.join()
        return self.peak


def spans(data: dict) -> float:
    """Return the longest measured window of each model, summed."""
    total = 0.0
    for steps in data["execution_details"].values():
        instances = steps["performance"]["instance_results"]
        total += max(instance["window_end"] - instance["window_start"] for instance in instances)
    return total


def measure_pair(name, url, models, cores, warmup, iterations, repeats) -> dict[str, list[float]]:
    """Alternate requests and reference loops; return the ratios of each repeat."""
    ratios = {"fp32 reported/tight": [], "int8 reported/tight": [], "request wall/(spans+bare)": []}
    for repeat in range(repeats):
        wall, data = run_request(url, models, f"{name}_{repeat}_{time.monotonic_ns()}", warmup, iterations)
        bare = 0.0
        for precision, role in (("fp32", "input_model"), ("int8", "optimized_model")):
            throughput, loaded = tight_loop(models[precision], cores, warmup, iterations)
            bare += loaded
            ratios[f"{precision} reported/tight"].append(data[f"perf_throughput_{role}"] / throughput)
        ratios["request wall/(spans+bare)"].append(wall / (spans(data) + bare))
    return ratios


def main() -> int:
    """Measure and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=os.path.expanduser("~/.lpot_ux/workspace"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))

    with tempfile.TemporaryDirectory() as scratch:
        pairs = {
            "tiny": make_models("tiny", Path(scratch) / "models"),
            "mobilenet_v2": make_models("mobilenet_v2", Path(args.workspace).expanduser() / "models"),
        }
        server, url = start_server(Path(scratch) / "workspace")
        try:
            time.sleep(1)
            idle = psutil.Process(server.pid).memory_info().rss
            watch = MemoryWatch(server.pid)
            results = {
                name: measure_pair(name, url, models, cores, args.warmup, args.iterations, args.repeats)
                for name, models in pairs.items()
            }
            peak = watch.stop()
        finally:
            server.terminate()
            server.wait()

    print(f"cores {cores}, warmup {args.warmup}, iterations {args.iterations}, repeats {args.repeats}")
    for name, ratios in results.items():
        for label, values in ratios.items():
            shown = ", ".join(f"{value:.3f}" for value in values)
            print(f"{name:>13} {label:<28} median {statistics.median(values):.3f}  ({shown})")
    print(f"server RSS idle {idle / 2**20:.1f} MiB, peak during runs {peak / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
