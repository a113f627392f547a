"""Warm a model up, then time its iterations until the stop rule says enough.

The protocol with a parent process (LPOT_UX_BARRIER=stdin):

    worker: lpot_ux: ready      warm-up is over
    parent: go                  measure now (an end of input counts too)
    worker: lpot_ux: done       this instance's rule is met; it goes on running
    parent: stop                every instance is done: end the window

so that every instance of a model is busy for as long as any of them measures.
A stop line, or the end of input, that comes before the rule is met does not
cut the measurement short: it only spares the instance from running on.
"""

import sys
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

READY_LINE = "lpot_ux: ready"
DONE_LINE = "lpot_ux: done"
STOP_LINE = "stop"
PERCENTILES = (50, 90, 95, 99)


@dataclass
class StopRule:
    """When to stop measuring: both halves met, or the cap reached."""

    iterations: int | None
    duration: float | None
    max_duration: float


# Iteration end times printed at most: about 1.2 MB of JSON.
MAX_TIMELINE = 100_000


@dataclass
class Warmup:
    """What the warm-up did."""

    iterations: int
    seconds: float
    # Seconds of the very first call, None when there was no warm-up.
    first: float | None


@dataclass
class Window:
    """The end times of every measured iteration, and why they stopped."""

    start: float
    ends: Any  # array of time.monotonic() values, one per iteration
    rule_met: bool
    stopped_by: str

    @property
    def end(self) -> float:
        """Return the end of the last iteration."""
        return self.ends[-1]

    def durations(self) -> np.ndarray:
        """Return the time of each iteration, in seconds."""
        return np.diff(np.asarray(self.ends), prepend=self.start)

    def relative_ends(self) -> tuple[list[float], int]:
        """Return iteration ends in seconds from the start, and iterations per end.

        Past MAX_TIMELINE iterations only every k-th end is kept (and the last),
        so that a long run of a fast model still prints a line of a few MB.
        """
        ends = np.asarray(self.ends) - self.start
        per_end = max(1, -(-len(ends) // MAX_TIMELINE))
        kept = ends[per_end - 1 :: per_end]
        if len(ends) % per_end:
            kept = np.append(kept, ends[-1])

        return np.round(kept, 6).tolist(), per_end


class StopListener:
    """Watch standard input in a daemon thread for a stop line or its end."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        # A plain attribute: the measured loop reads it on every iteration.
        self.stopped = False
        self.thread = threading.Thread(target=self.listen, daemon=True)

    def start(self) -> "StopListener":
        """Start listening."""
        self.thread.start()

        return self

    def listen(self) -> None:
        """Read lines until a stop line or the end of input, then flag a stop."""
        for line in self.stream:
            if line.strip() == STOP_LINE:
                break

        self.stopped = True


def warm_up(call: Callable[[], Any], iterations: int, duration: float) -> Warmup:
    """Run the model until both the warm-up count and duration are met."""
    clock = time.monotonic
    start = clock()
    first = None
    done = 0
    while done < iterations or clock() - start < duration:
        before = clock()
        call()
        if first is None:
            first = clock() - before

        done += 1

    return Warmup(done, clock() - start, first)


def wait_for_go(stream: TextIO) -> None:
    """Tell the parent that warm-up is over and wait for its go line."""
    print(READY_LINE, flush=True)
    # An end of input counts as the go line: a parent that closes stdin
    # instead of writing to it must not leave this process waiting forever.
    stream.readline()


def announce_done() -> None:
    """Tell the parent that this instance has met its rule."""
    print(DONE_LINE, flush=True)


def measure(
    call: Callable[[], Any],
    rule: StopRule,
    listener: StopListener | None = None,
    done: Callable[[], None] = announce_done,
) -> Window:
    """Time iterations until the rule is met, then until a stop, if listening."""
    clock = time.monotonic
    ends = array("d")
    record = ends.append
    least_count = rule.iterations or 0
    start = clock()
    least_end = start + (rule.duration or 0.0)
    cap = start + rule.max_duration
    count = 0
    while True:
        call()
        now = clock()
        record(now)
        count += 1
        if count >= least_count and now >= least_end:
            break

        if now >= cap:
            return Window(start, ends, False, "cap")

    if listener is None:
        return Window(start, ends, True, "rule")

    done()
    if listener.stopped:
        return Window(start, ends, True, "rule")

    return measure_until_stop(call, start, ends, cap, listener)


def measure_until_stop(
    call: Callable[[], Any],
    start: float,
    ends: Any,
    cap: float,
    listener: StopListener,
) -> Window:
    """Go on timing iterations until the parent says stop or the cap is reached."""
    clock = time.monotonic
    record = ends.append
    now = ends[-1]
    while not listener.stopped:
        if now >= cap:
            return Window(start, ends, True, "cap")

        call()
        now = clock()
        record(now)

    return Window(start, ends, True, "stop")


def latency_stats(durations: np.ndarray, scale: float = 1000.0) -> dict[str, float]:
    """Summarise iteration times: mean, min, max, std and percentiles."""
    times = durations * scale
    stats = {
        "mean": times.mean(),
        "min": times.min(),
        "max": times.max(),
        "std": times.std(),
    }
    for percent in PERCENTILES:
        stats[f"p{percent}"] = np.percentile(times, percent)

    return {key: round(float(value), 6) for key, value in stats.items()}


def stdin_listener() -> StopListener:
    """Return a started listener on this process's standard input."""
    return StopListener(sys.stdin).start()
