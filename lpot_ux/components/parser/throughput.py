"""Read the results that benchmark workers print.

Log formats understood, one result per instance log:

    Batch size = 32                 (also "Batch size: 32")
    Latency: 12.5 ms                (units: s, sec, ms, us, µs, ns)
    Throughput: 80.1 images/sec     (units: images/sec, samples/s, img/s, fps,
                                     items/sec, images/ms)
    Accuracy: 0.7512                (accuracy mode; also "Accuracy: 75.12 %")
    lpot_ux result: {...}           (optional JSON line of lpot_ux's worker:
                                     when each iteration ended, threads, memory)

Numbers may carry thousands separators ("1,234.5") or exponents ("1.2e3").
When a log holds more than one value for a line, the last one is the
instance's result: a worker that prints a running figure ends with its final
one, and a result is never counted twice.
"""

import json
import logging
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from lpot_ux.components.parser.statistics import (
    Span,
    describe,
    iteration_spans,
    pool_summaries,
    window_figures,
)
from lpot_ux.errors import ParseError

logger = logging.getLogger(__name__)

NUMBER = r"([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+]?\.\d+)"
BATCH_SIZE = re.compile(r"batch[ _]size\s*[=:]\s*" + NUMBER, re.IGNORECASE)
LATENCY = re.compile(r"latency\s*[=:]\s*" + NUMBER + r"\s*(ms|s|sec|us|µs|ns)\b", re.IGNORECASE)
THROUGHPUT = re.compile(
    r"throughput\s*[=:]\s*" + NUMBER + r"\s*((?:images|samples|items|img)\s*/\s*(?:sec|s|ms)|fps)",
    re.IGNORECASE,
)
ACCURACY = re.compile(r"accuracy\s*[=:]\s*" + NUMBER + r"\s*(%)?", re.IGNORECASE)
RESULT_JSON = re.compile(r"^lpot_ux result:\s*(.*?)\s*$", re.MULTILINE)

LATENCY_TO_MS = {"s": 1000.0, "sec": 1000.0, "ms": 1.0, "us": 1e-3, "µs": 1e-3, "ns": 1e-6}


@dataclass(frozen=True)
class InstanceResult:
    """What one instance measured."""

    batch_size: int
    latency_ms: float
    throughput: float  # samples per second
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelResult:
    """What all the instances of one model measured together."""

    throughput: float
    latency_ms: float
    batch_size: int
    instances: tuple[InstanceResult, ...]
    statistics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccuracyResult:
    """What one model scored on the dataset."""

    accuracy: float
    details: dict[str, Any] = field(default_factory=dict)


def to_number(text: str) -> float:
    """Return a printed number as a float."""

    return float(text.replace(",", ""))


def last_match(pattern: re.Pattern, text: str, what: str) -> re.Match | None:
    """Return the last match of pattern, warning when there are several."""
    matches = list(pattern.finditer(text))
    if len(matches) > 1:
        logger.warning("The log holds %d %s lines; the last one is taken.", len(matches), what)

    return matches[-1] if matches else None


def throughput_per_second(value: float, unit: str) -> float:
    """Return a throughput in samples per second."""

    return value * 1000.0 if unit.replace(" ", "").lower().endswith("/ms") else value


def read_details(text: str) -> dict[str, Any]:
    """Return the JSON result line of lpot_ux's worker, empty when absent."""
    matches = RESULT_JSON.findall(text)
    if not matches:
        return {}
    try:
        details = json.loads(matches[-1])
    except json.JSONDecodeError as error:
        raise ParseError(f"The worker's result line is not valid JSON: {error}.") from error

    return details if isinstance(details, dict) else {}


def parse_instance_log(text: str) -> InstanceResult:
    """Return the result of one instance from its log."""
    logger.debug("Parsing a worker log of %d characters", len(text))
    batch = last_match(BATCH_SIZE, text, "batch size")
    latency = last_match(LATENCY, text, "latency")
    throughput = last_match(THROUGHPUT, text, "throughput")
    missing = [
        name
        for name, match in (("Batch size", batch), ("Latency", latency), ("Throughput", throughput))
        if match is None
    ]
    if missing:
        raise ParseError(f"The worker printed no result: no {', no '.join(missing)} line.")

    result = InstanceResult(
        batch_size=int(to_number(batch.group(1))),
        latency_ms=to_number(latency.group(1)) * LATENCY_TO_MS[latency.group(2).lower()],
        throughput=throughput_per_second(to_number(throughput.group(1)), throughput.group(2)),
        details=read_details(text),
    )
    if result.throughput <= 0 or result.latency_ms <= 0:
        raise ParseError(
            f"The worker printed an impossible result: throughput {result.throughput}, "
            f"latency {result.latency_ms} ms."
        )

    return result


def parse_accuracy_log(text: str) -> AccuracyResult:
    """Return the accuracy a worker printed."""
    match = last_match(ACCURACY, text, "accuracy")
    if match is None:
        raise ParseError("The worker printed no result: no Accuracy line.")
    value = to_number(match.group(1))
    accuracy = value / 100 if match.group(2) else value
    if not 0 <= accuracy <= 1:
        raise ParseError(f"The worker printed an impossible accuracy: {match.group(0)!r}.")

    return AccuracyResult(accuracy, read_details(text))


def has_timeline(result: InstanceResult) -> bool:
    """Tell whether an instance reported when each of its iterations ended."""
    details = result.details

    return bool(details.get("iteration_ends")) and "window_start" in details


def combine_instances(results: list[InstanceResult]) -> ModelResult:
    """Combine one model's instances: throughput over their common window, pooled latency."""
    if not results:
        raise ParseError("No instance of the model printed a result.")
    batch_size = results[0].batch_size
    if not all(has_timeline(result) for result in results):
        # Logs of other workers: only their own summaries can be added up.
        return ModelResult(
            throughput=sum(result.throughput for result in results),
            latency_ms=statistics.fmean(result.latency_ms for result in results),
            batch_size=batch_size,
            instances=tuple(results),
        )

    all_spans = [iteration_spans(result.details) for result in results]
    window = window_figures(all_spans, batch_size)
    figures = {
        "throughput": window["throughput"],
        "throughput_unit": "samples/s",
        **pooled_latency(results, all_spans),
        "window": {"length_s": window["length_s"], "overlap": window["overlap"]},
        "instance_throughputs": window["throughputs"],
        "imbalance": window["imbalance"],
        "throughput_variation": window["variation"],
        "iterations": sum(count for spans in all_spans for _, _, count in spans),
        **summarize_instances(results),
    }

    return ModelResult(
        throughput=window["throughput"],
        latency_ms=figures["latency_ms_per_batch"]["mean"],
        batch_size=batch_size,
        instances=tuple(results),
        statistics=figures,
    )


def pooled_latency(results: list[InstanceResult], all_spans: list[list[Span]]) -> dict[str, Any]:
    """Return latency statistics over every iteration of every instance.

    From the full timelines they are exact. A long run prints only every k-th
    iteration's end, and then the instances' own statistics are pooled, the
    percentiles as their iteration-weighted mean: close, but not exact.
    """
    batch_size = results[0].batch_size
    if all(count == 1 for spans in all_spans for _, _, count in spans):
        per_batch = [(end - start) * 1000 for spans in all_spans for start, end, _ in spans]
        return {
            "latency_ms_per_batch": describe(per_batch),
            "latency_ms_per_sample": describe([value / batch_size for value in per_batch]),
            "latency_exact": True,
        }

    weighted = [(result.details.get("latency_ms", {}), result.details.get("iterations", 1)) for result in results]
    per_batch = pool_summaries(weighted)

    return {
        "latency_ms_per_batch": per_batch,
        "latency_ms_per_sample": {key: value / batch_size for key, value in per_batch.items()},
        "latency_exact": False,
    }


def summarize_instances(results: list[InstanceResult]) -> dict[str, Any]:
    """Return the start-up costs, memory and stop reasons of the instances."""
    details = [result.details for result in results]
    rss = [detail.get("peak_rss_bytes") or 0 for detail in details]

    return {
        "first_inference_ms": max(detail.get("first_inference_ms") or 0 for detail in details),
        "load_ms": max(detail.get("load_ms") or 0 for detail in details),
        "peak_rss_bytes": {"per_instance": rss, "total": sum(rss)},
        "rule_met": all(detail.get("rule_met", True) for detail in details),
        "stopped_by": [detail.get("stopped_by") for detail in details],
    }
