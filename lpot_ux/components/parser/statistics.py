"""Statistics of benchmark results: latency percentiles, the instances' common window, speed-up intervals."""

import math
import statistics
from statistics import NormalDist
from typing import Any

PERCENTILES = (50, 90, 95, 99)
# The window is cut into at most ten parts of at least five iterations each
# to see whether the throughput held steady; fewer than three parts say nothing.
MAX_SLICES = 10
MIN_SLICES = 3
MIN_ITERATIONS_PER_SLICE = 5
# Two-sided 95% quantiles of Student's t for 1 to 30 degrees of freedom.
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def describe(values: list[float]) -> dict[str, float]:
    """Return mean, min, max, std and percentiles of some values."""
    if not values:
        return {}
    summary = {
        "mean": statistics.fmean(values),
        "min": min(values),
        "max": max(values),
        "std": statistics.pstdev(values),
    }
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else None
    for percentile in PERCENTILES:
        summary[f"p{percentile}"] = cuts[percentile - 1] if cuts else values[0]

    return summary


def pool_summaries(summaries: list[tuple[dict[str, float], int]]) -> dict[str, float]:
    """Return statistics of several groups pooled from their own summaries and sizes."""
    total = sum(count for _, count in summaries)
    if not total or not all(summary for summary, _ in summaries):
        return {}
    mean = sum(summary["mean"] * count for summary, count in summaries) / total
    # Pooled variance: each group's own spread plus how far its mean lies off.
    variance = sum(
        count * (summary["std"] ** 2 + (summary["mean"] - mean) ** 2) for summary, count in summaries
    ) / total
    pooled = {
        "mean": mean,
        "min": min(summary["min"] for summary, _ in summaries),
        "max": max(summary["max"] for summary, _ in summaries),
        "std": math.sqrt(variance),
    }
    for percentile in PERCENTILES:
        key = f"p{percentile}"
        pooled[key] = sum(summary[key] * count for summary, count in summaries) / total

    return pooled


Span = tuple[float, float, int]  # start and end in monotonic seconds, iterations


def iteration_spans(details: dict[str, Any]) -> list[Span]:
    """Return the measured spans of an instance: one iteration each, or k on long runs."""
    origin = details["window_start"]
    ends = details["iteration_ends"]
    per_end = details.get("iterations_per_end") or 1
    last = details.get("iterations", per_end * len(ends)) - per_end * (len(ends) - 1)
    spans = []
    previous = 0.0
    for number, end in enumerate(ends):
        spans.append((origin + previous, origin + end, last if number == len(ends) - 1 else per_end))
        previous = end

    return spans


def common_window(all_spans: list[list[Span]]) -> tuple[float, float]:
    """Return the span of time in which every instance was measuring."""

    return max(spans[0][0] for spans in all_spans), min(spans[-1][1] for spans in all_spans)


def samples_in_window(spans: list[Span], window: tuple[float, float], batch_size: int) -> float:
    """Return the samples an instance completed inside the window.

    An iteration cut by an edge of the window counts for the part inside it, so
    that neither edge biases the rate.
    """
    start, end = window
    samples = 0.0
    for first, last, iterations in spans:
        inside = min(last, end) - max(first, start)
        if inside > 0 and last > first:
            samples += iterations * batch_size * inside / (last - first)

    return samples


def window_figures(all_spans: list[list[Span]], batch_size: int) -> dict[str, Any]:
    """Return the common window, each instance's rate inside it, the overlap and the imbalance."""
    start, end = common_window(all_spans)
    length = end - start
    union = max(spans[-1][1] for spans in all_spans) - min(spans[0][0] for spans in all_spans)
    if length <= 0:
        return {
            "length_s": 0.0,
            "overlap": 0.0,
            "throughputs": [],
            "throughput": 0.0,
            "imbalance": None,
            "variation": None,
        }

    rates = [samples_in_window(spans, (start, end), batch_size) / length for spans in all_spans]
    mean_rate = statistics.fmean(rates)

    return {
        "length_s": length,
        "overlap": length / union if union > 0 else 1.0,
        "throughputs": rates,
        "throughput": sum(rates),
        "variation": stability(all_spans, (start, end), batch_size),
        # How far the slowest and fastest instance are apart, relative to the mean.
        "imbalance": (max(rates) - min(rates)) / mean_rate if mean_rate > 0 else None,
    }


def slice_throughputs(
    all_spans: list[list[Span]], window: tuple[float, float], batch_size: int, slices: int
) -> list[float]:
    """Return the instances' summed throughput in each of several equal parts of the window."""
    start, end = window
    width = (end - start) / slices
    rates = []
    for number in range(slices):
        part = (start + number * width, start + (number + 1) * width)
        samples = sum(samples_in_window(spans, part, batch_size) for spans in all_spans)
        rates.append(samples / width)

    return rates


def stability(all_spans: list[list[Span]], window: tuple[float, float], batch_size: int) -> float | None:
    """Return how much the throughput varied over the run: the CV of its tenths.

    None when the run is too short to cut: each part must hold several
    iterations, or the cut itself would make the variation.
    """
    iterations = min(sum(count for _, _, count in spans) for spans in all_spans)
    slices = min(MAX_SLICES, iterations // MIN_ITERATIONS_PER_SLICE)
    if slices < MIN_SLICES or window[1] <= window[0]:
        return None
    rates = slice_throughputs(all_spans, window, batch_size, slices)
    mean = statistics.fmean(rates)

    return statistics.pstdev(rates) / mean if mean > 0 else None


def t_quantile(degrees_of_freedom: int) -> float:
    """Return the two-sided 95% quantile of Student's t."""
    if degrees_of_freedom <= len(T_975):
        return T_975[degrees_of_freedom - 1]
    # Past the table, the Cornish-Fisher expansion around the normal quantile
    # is within 0.001 of the exact value.
    z = NormalDist().inv_cdf(0.975)
    n = degrees_of_freedom

    return z + (z**3 + z) / (4 * n) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * n**2)


def speedup_interval(ratios: list[float]) -> dict[str, Any]:
    """Return the geometric mean speed-up of the rounds and its 95% confidence interval."""
    logs = [math.log(ratio) for ratio in ratios if ratio > 0]
    if not logs:
        return {"speedup": None, "ci95": None, "rounds": 0}
    center = statistics.fmean(logs)
    if len(logs) < 2:
        return {"speedup": math.exp(center), "ci95": None, "rounds": len(logs)}
    margin = t_quantile(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))

    return {
        "speedup": math.exp(center),
        "ci95": [math.exp(center - margin), math.exp(center + margin)],
        "rounds": len(logs),
    }
