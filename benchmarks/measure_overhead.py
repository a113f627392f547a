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
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from common import make_models, run_request, start_server, tight_loop

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
    parser.add_argument("--iterations", type=int, default=200, help="for MobileNetV2")
    # The tiny model runs in well under a millisecond: as many seconds of
    # measurement need twenty times the iterations.
    parser.add_argument("--tiny-iterations", type=int, default=4000)
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
            iterations = {"tiny": args.tiny_iterations, "mobilenet_v2": args.iterations}
            results = {
                name: measure_pair(name, url, models, cores, args.warmup, iterations[name], args.repeats)
                for name, models in pairs.items()
            }
            peak = watch.stop()
        finally:
            server.terminate()
            server.wait()

    print(
        f"cores {cores}, warmup {args.warmup}, iterations {args.iterations} "
        f"(tiny {args.tiny_iterations}), repeats {args.repeats}"
    )
    for name, ratios in results.items():
        for label, values in ratios.items():
            shown = ", ".join(f"{value:.3f}" for value in values)
            print(f"{name:>13} {label:<28} median {statistics.median(values):.3f}  ({shown})")
    print(f"server RSS idle {idle / 2**20:.1f} MiB, peak during runs {peak / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
