"""Measure how far lpot_ux's numbers can be trusted, in one run.

    python benchmarks/measure_trust.py [--workspace DIR] [--repeats 5]

On the demo pair (MobileNetV2 fp32/int8) it prints:
- one instance's reported throughput / a tight session.run loop's throughput
  on the same model, cores, threads and batch size (median of the repeats,
  each taken in alternation with its reference);
- the overlap of two instances' measured windows (one core each): the share
  of the run in which both were measuring;
- the speed-up over repeated whole requests: each value, their median and
  their spread ((max - min) / median), beside the 95% interval that one
  request with rounds reports for itself.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import make_models, run_request, start_server, tight_loop


def request_id(name: str) -> str:
    """Return a fresh workload id."""

    return f"{name}_{time.monotonic_ns()}"


def single_instance_ratios(url, models, cores, warmup, iterations, repeats) -> list[float]:
    """Return reported / tight-loop throughput of the fp32 model, one instance on all cores."""
    ratios = []
    for _ in range(repeats):
        _, data = run_request(url, models, request_id("one"), warmup, iterations, instances=1)
        reference, _ = tight_loop(models["fp32"], cores, warmup, iterations)
        ratios.append(data["perf_throughput_input_model"] / reference)

    return ratios


def two_instance_overlaps(url, models, warmup, iterations, repeats) -> list[float]:
    """Return the window overlap of two one-core instances, per model and repeat."""
    overlaps = []
    for _ in range(repeats):
        _, data = run_request(
            url, models, request_id("two"), warmup, iterations, instances=2, cores_per_instance=1
        )
        overlaps += [figures["window"]["overlap"] for figures in data["statistics"].values()]

    return overlaps


def main() -> int:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=os.path.expanduser("~/.lpot_ux/workspace"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    models = make_models("mobilenet_v2", Path(args.workspace).expanduser() / "models")

    with tempfile.TemporaryDirectory() as scratch:
        server, url = start_server(Path(scratch) / "workspace")
        try:
            ratios = single_instance_ratios(url, models, cores, args.warmup, args.iterations, args.repeats)
            overlaps = (
                two_instance_overlaps(url, models, args.warmup, args.iterations, args.repeats)
                if len(cores) >= 2
                else []
            )
            speedups = [
                run_request(url, models, request_id("ab"), args.warmup, args.iterations)[1]["speedup"]
                for _ in range(args.repeats)
            ]
            _, rounds = run_request(url, models, request_id("rounds"), args.warmup, args.iterations, rounds=args.repeats)
        finally:
            server.terminate()
            server.wait()

    shown = lambda values: ", ".join(f"{value:.3f}" for value in values)  # noqa: E731
    print(f"demo pair, cores {cores}, warmup {args.warmup}, iterations {args.iterations}, repeats {args.repeats}")
    print(f"one instance, reported/tight loop: median {statistics.median(ratios):.3f}  ({shown(ratios)})")
    if overlaps:
        print(f"two instances, window overlap:    min {min(overlaps):.4f}  ({shown(overlaps)})")
    median = statistics.median(speedups)
    print(
        f"speed-up over {args.repeats} requests:     median {median:.3f}, spread "
        f"{(max(speedups) - min(speedups)) / median:.1%}  ({shown(speedups)})"
    )
    low, high = rounds["speedup_ci95"]
    print(f"speed-up of one request with {args.repeats} rounds: {rounds['speedup']:.3f}, 95% interval [{low:.3f}, {high:.3f}]")
    print(f"verdict of that request: {rounds['verdict']}")

    return 0


if __name__ == "__main__":
    sys.exit(main())
