"""Judge whether a measurement can be trusted, and say why not."""

from typing import Any

from lpot_ux.components.parser.throughput import ModelResult

# Below this share of the run measured by all instances at once, summing their
# throughputs would credit one instance with time the others did not share.
MIN_OVERLAP = 0.95
# Throughput that varies between the tenths of a run by more than this share
# of its mean (coefficient of variation) says the machine was disturbed. It is
# judged on parts of the run, not single iterations, whose jitter on a
# microsecond model says nothing about the run as a whole.
MAX_VARIATION = 0.10
# A CPU busier than this with other work just before a run slows the run.
MAX_BUSY_PERCENT = 20.0


def judge_step(
    result: ModelResult, layout_warnings: tuple[str, ...], busy: dict[int, float]
) -> dict[str, Any]:
    """Return the verdict of one model's measurement: valid, or invalid with reasons."""
    reasons = list(layout_warnings)
    reasons += [
        f"CPU {cpu} was {percent:.0f}% busy with other work just before the run"
        for cpu, percent in sorted(busy.items())
        if percent > MAX_BUSY_PERCENT
    ]
    reasons += check_threads(result)
    figures = result.statistics
    if figures:
        reasons += check_figures(figures)

    return {"valid": not reasons, "reasons": reasons}


def check_threads(result: ModelResult) -> list[str]:
    """Return a reason for every instance that ran more threads than it had cores."""
    reasons = []
    for number, instance in enumerate(result.instances):
        threads = instance.details.get("intra_op_threads")
        cores = instance.details.get("affinity")
        if threads and cores and threads > len(cores):
            reasons.append(f"instance {number} ran {threads} intra-op threads on {len(cores)} cores")

    return reasons


def check_figures(figures: dict[str, Any]) -> list[str]:
    """Return the reasons the statistics of a measurement give to doubt it."""
    reasons = []
    overlap = figures["window"]["overlap"]
    if overlap < MIN_OVERLAP:
        reasons.append(
            f"the instances measured at the same time for only {overlap:.0%} of the run "
            f"(at least {MIN_OVERLAP:.0%} is needed to add up their throughputs)"
        )
    if not figures["rule_met"]:
        reasons.append(
            "the stop rule was not met: the run reached its max_duration cap first; "
            "raise max_duration or ask for fewer iterations"
        )
    variation = figures.get("throughput_variation")
    if variation is not None and variation > MAX_VARIATION:
        reasons.append(
            f"the throughput varied too much over the run: {variation:.0%} between its "
            f"parts (at most {MAX_VARIATION:.0%} is expected on a quiet machine)"
        )

    return reasons


def combine_verdicts(verdicts: dict[str, dict[str, Any]], failures: list[str]) -> dict[str, Any]:
    """Return the verdict of a whole run from its steps' verdicts and failures."""
    reasons = [f"{label}: {reason}" for label, verdict in verdicts.items() for reason in verdict["reasons"]]
    reasons += failures

    return {"valid": not reasons, "reasons": reasons}
