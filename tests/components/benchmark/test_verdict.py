"""The verdict on a measurement."""

import pytest

from lpot_ux.components.benchmark.verdict import combine_verdicts, judge_step
from lpot_ux.components.parser.throughput import InstanceResult, ModelResult


def make_result(overlap=1.0, rule_met=True, variation=0.02, threads=2, cores=(0, 1)) -> ModelResult:
    figures = {
        "window": {"length_s": 1.0, "overlap": overlap},
        "rule_met": rule_met,
        "throughput_variation": variation,
    }
    instance = InstanceResult(1, 10.0, 100.0, {"intra_op_threads": threads, "affinity": list(cores)})
    return ModelResult(100.0, 10.0, 1, (instance,), figures)


def test_clean_measurement_is_valid():
    assert judge_step(make_result(), (), {0: 3.0}) == {"valid": True, "reasons": []}


def test_too_short_to_judge_the_variation_is_no_reason():
    assert judge_step(make_result(variation=None), (), {})["valid"] is True


@pytest.mark.parametrize(
    ("result", "layout", "busy", "reason"),
    [
        (make_result(overlap=0.5), (), {}, "measured at the same time for only 50% of the run"),
        (make_result(rule_met=False), (), {}, "the stop rule was not met"),
        (make_result(variation=0.5), (), {}, "the throughput varied too much over the run: 50% between its parts"),
        (make_result(threads=4), (), {}, "instance 0 ran 4 intra-op threads on 2 cores"),
        (make_result(), (), {1: 75.0}, "CPU 1 was 75% busy with other work"),
        (make_result(), ("instances 0 and 1 share physical core 0",), {}, "share physical core"),
    ],
)
def test_doubtful_measurement_is_invalid_with_a_reason(result, layout, busy, reason):
    verdict = judge_step(result, layout, busy)

    assert verdict["valid"] is False
    assert any(reason in text for text in verdict["reasons"])


def test_run_verdict_names_its_steps():
    verdict = combine_verdicts(
        {"input_model round 1": {"valid": False, "reasons": ["x"]}, "optimized_model round 1": {"valid": True, "reasons": []}},
        ["a step failed: y"],
    )

    assert verdict == {"valid": False, "reasons": ["input_model round 1: x", "a step failed: y"]}
