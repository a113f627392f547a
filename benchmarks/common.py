"""What the benchmark scripts share: models, a private server, requests, a reference loop."""

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

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


def run_request(
    url: str, models: dict[str, Path], workload_id: str, warmup: int, iterations: int, **settings
) -> tuple[float, dict]:
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
            **settings,
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
