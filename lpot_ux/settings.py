"""Defaults of every setting, in one table, each with its help text."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One setting: its default value and what it is for."""

    default: Any
    help: str


SETTINGS: dict[str, Setting] = {
    "ADDRESS": Setting("127.0.0.1", "Address the server listens on."),
    "PORT": Setting(5000, "Port the server listens on."),
    "WORKSPACE": Setting(
        "~/.lpot_ux/workspace", "Folder for workloads, logs and the results database."
    ),
    "TOKEN": Setting(None, "Token every API call must carry; random when not set."),
    "ASYNC_MODE": Setting(
        "eventlet", "Concurrency model of the server: eventlet, gevent or threading."
    ),
    "ALLOWED_ORIGINS": Setting(
        (), "Other web origins allowed to call the API from a browser."
    ),
    "BATCH_SIZE": Setting(1, "Samples per inference when a request gives none."),
    # Ten warm-up iterations let oneDNN pick and cache its kernels; a hundred
    # measured ones keep the mean latency within about a percent on a quiet CPU.
    "WARMUP": Setting(10, "Iterations run per instance before measuring."),
    "ITERATIONS": Setting(100, "Measured iterations per instance."),
    "MAX_DURATION": Setting(
        600, "Seconds a model's measured part may last before it is cut short."
    ),
    # Three seconds hold several hundred iterations of a mid-sized model, long
    # enough for clock frequency and caches to settle.
    "DURATION": Setting(
        3.0, "Seconds measured at least when a request sets neither iterations nor duration."
    ),
    "PREFERRED_CORES_PER_INSTANCE": Setting(
        4, "Cores per instance when the machine has that many usable cores."
    ),
    "BENCHMARK_SCRIPT": Setting(
        None, "Worker script run for each instance; None: lpot_ux's own."
    ),
    "READY_TIMEOUT": Setting(
        600, "Seconds a worker may take to load its model and warm up."
    ),
    "RUN_TIMEOUT": Setting(
        1800,
        "Seconds a worker may run past its max_duration (performance) or in all "
        "(accuracy) before it is killed.",
    ),
    # A tenth of a second of sampling sees a busy neighbour (the kernel counts
    # CPU time in ticks of 1 to 10 ms) without slowing a run.
    "BUSY_CHECK_SECONDS": Setting(
        0.1, "Seconds spent checking that a step's CPUs are idle; 0 to skip."
    ),
}


def default_settings() -> dict[str, Any]:
    """Return a fresh mapping of every setting to its default."""

    return {name: setting.default for name, setting in SETTINGS.items()}
