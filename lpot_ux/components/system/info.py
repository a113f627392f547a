"""Describe the machine: processor, sockets, cores, memory, usable cores."""

import functools
import os
import platform
from pathlib import Path
from typing import Any

import cpuinfo
import psutil

import lpot_ux

CPUINFO = Path("/proc/cpuinfo")


def usable_cores() -> list[int]:
    """Return the cores this process may run on, in order."""

    return sorted(os.sched_getaffinity(0))


def count_sockets() -> int:
    """Return the number of processor packages, 1 when the kernel does not say."""
    try:
        lines = CPUINFO.read_text().splitlines()
    except OSError:
        return 1
    packages = {line.split(":", 1)[1].strip() for line in lines if line.startswith("physical id")}

    return max(1, len(packages))


@functools.lru_cache(maxsize=1)
def read_processor() -> dict[str, Any]:
    """Return what py-cpuinfo says of the processor; it is slow, so once."""
    info = cpuinfo.get_cpu_info()

    return {
        "platform": info.get("brand_raw") or platform.processor() or "unknown processor",
        "arch": info.get("arch_string_raw") or platform.machine(),
        "flags": sorted(flag for flag in info.get("flags", []) if flag.startswith(("avx", "amx"))),
    }


def collect_system_info(defaults: dict[str, int]) -> dict[str, Any]:
    """Return the machine's description with the benchmark defaults it implies."""
    cores = usable_cores()

    return {
        **read_processor(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sockets": count_sockets(),
        "cores": psutil.cpu_count(logical=False) or len(cores),
        "threads": psutil.cpu_count(logical=True) or len(cores),
        "memory_total": psutil.virtual_memory().total,
        "usable_cores": cores,
        "defaults": defaults,
        "version": lpot_ux.__version__,
    }
