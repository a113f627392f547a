"""The environment a result was measured in, so that it can be compared and repeated."""

import os
import platform
from typing import Any

import psutil

import lpot_ux
from lpot_ux.components.system.info import read_processor, usable_cores

# Variables that change how the runtimes compute or thread.
RELEVANT_PREFIXES = ("OMP_", "KMP_", "MKL_", "TF_", "ONEDNN_", "DNNL_", "OPENBLAS_", "ORT_")


def relevant_variables() -> dict[str, str]:
    """Return the environment variables that can change a measurement."""

    return {
        name: value
        for name, value in sorted(os.environ.items())
        if name.startswith(RELEVANT_PREFIXES) or name == "CUDA_VISIBLE_DEVICES"
    }


def collect_environment() -> dict[str, Any]:
    """Return the processor, cores, versions and variables of this machine."""
    processor = read_processor()

    return {
        "cpu": processor["platform"],
        "arch": processor["arch"],
        "cores": psutil.cpu_count(logical=False),
        "threads": psutil.cpu_count(logical=True),
        "usable_cores": usable_cores(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "lpot_ux_version": lpot_ux.__version__,
        "variables": relevant_variables(),
    }
