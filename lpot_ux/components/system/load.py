"""How busy the CPUs are with other work."""

from typing import Callable

import psutil


def measure_busy(cpus: list[int], sleep: Callable[[float], None], seconds: float) -> dict[int, float]:
    """Return the percent of time each CPU was busy over the next few seconds.

    The wait goes through the caller's sleep, so that a green server is not blocked.
    """
    psutil.cpu_percent(percpu=True)
    sleep(seconds)
    percents = psutil.cpu_percent(percpu=True)

    return {cpu: percents[cpu] for cpu in cpus if cpu < len(percents)}
