"""Latency statistics, the common window of instances and speed-up intervals."""

import math

import pytest

from lpot_ux.components.parser.statistics import (
    describe,
    iteration_spans,
    pool_summaries,
    samples_in_window,
    speedup_interval,
    t_quantile,
    window_figures,
)


def test_describe_gives_every_statistic():
    summary = describe([float(value) for value in range(1, 101)])

    assert summary["mean"] == 50.5
    assert (summary["min"], summary["max"]) == (1.0, 100.0)
    assert summary["std"] == pytest.approx(28.866, abs=1e-3)
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p90"] == pytest.approx(90.1)
    assert summary["p99"] == pytest.approx(99.01)


def test_describe_one_value_and_none():
    assert describe([4.0])["p99"] == 4.0
    assert describe([]) == {}


def test_spans_follow_the_iteration_ends():
    spans = iteration_spans({"window_start": 10.0, "iteration_ends": [0.5, 1.5, 3.0]})

    assert spans == [(10.0, 10.5, 1), (10.5, 11.5, 1), (11.5, 13.0, 1)]


def test_spans_of_a_thinned_timeline_carry_their_iterations():
    details = {"window_start": 0.0, "iteration_ends": [1.0, 2.0, 2.5], "iterations_per_end": 4, "iterations": 10}

    assert iteration_spans(details) == [(0.0, 1.0, 4), (1.0, 2.0, 4), (2.0, 2.5, 2)]


def test_iterations_cut_by_the_window_count_in_part():
    spans = [(0.0, 1.0, 1), (1.0, 2.0, 1), (2.0, 3.0, 1)]

    assert samples_in_window(spans, (0.5, 2.5), batch_size=4) == pytest.approx(8.0)


def test_identical_instances_overlap_fully():
    spans = [(i * 0.1, (i + 1) * 0.1, 1) for i in range(10)]

    figures = window_figures([spans, spans], batch_size=1)

    assert figures["overlap"] == pytest.approx(1.0)
    assert figures["throughput"] == pytest.approx(20.0)
    assert figures["imbalance"] == pytest.approx(0.0)


def test_shifted_instances_count_only_the_shared_time():
    first = [(i * 0.1, (i + 1) * 0.1, 1) for i in range(10)]  # 0 .. 1 s, 10/s
    second = [(0.5 + i * 0.1, 0.5 + (i + 1) * 0.1, 2) for i in range(10)]  # 0.5 .. 1.5 s, 20/s

    figures = window_figures([first, second], batch_size=2)

    assert figures["length_s"] == pytest.approx(0.5)
    assert figures["overlap"] == pytest.approx(0.5 / 1.5)
    assert figures["throughputs"] == pytest.approx([20.0, 40.0])
    assert figures["throughput"] == pytest.approx(60.0)
    assert figures["imbalance"] == pytest.approx(20 / 30)


def test_windows_that_never_meet():
    figures = window_figures([[(0.0, 1.0, 1)], [(2.0, 3.0, 1)]], batch_size=1)

    assert figures["overlap"] == 0.0
    assert figures["throughput"] == 0.0


@pytest.mark.parametrize(("df", "expected"), [(1, 12.706), (9, 2.262), (30, 2.042), (60, 2.000), (99, 1.984)])
def test_t_quantiles(df, expected):
    assert t_quantile(df) == pytest.approx(expected, abs=2e-3)


def test_speedup_interval_is_geometric():
    interval = speedup_interval([2.0, 2.0, 2.0])

    assert interval["speedup"] == pytest.approx(2.0)
    assert interval["ci95"] == pytest.approx([2.0, 2.0])


def test_speedup_interval_widens_with_spread():
    interval = speedup_interval([1.8, 2.0, 2.2, 2.0])
    low, high = interval["ci95"]

    assert low < interval["speedup"] < high
    assert math.isclose(interval["speedup"], (1.8 * 2.0 * 2.2 * 2.0) ** 0.25)
    assert speedup_interval([2.0])["ci95"] is None
    assert speedup_interval([])["speedup"] is None


def test_pooled_summaries():
    first = describe([1.0, 3.0])
    second = describe([5.0, 7.0])

    pooled = pool_summaries([(first, 2), (second, 2)])

    exact = describe([1.0, 3.0, 5.0, 7.0])
    assert pooled["mean"] == exact["mean"]
    assert pooled["std"] == pytest.approx(exact["std"])
    assert (pooled["min"], pooled["max"]) == (1.0, 7.0)
    assert pooled["p50"] == pytest.approx(4.0)


def test_steady_throughput_has_no_variation():
    spans = [(i * 0.01, (i + 1) * 0.01, 1) for i in range(100)]

    assert window_figures([spans], batch_size=1)["variation"] == pytest.approx(0.0, abs=1e-9)


def test_a_stall_shows_as_variation():
    spans = [(i * 0.01, (i + 1) * 0.01, 1) for i in range(90)]
    spans.append((0.9, 1.9, 1))  # one iteration a hundred times slower
    spans += [(1.9 + i * 0.01, 1.9 + (i + 1) * 0.01, 1) for i in range(9)]

    assert window_figures([spans], batch_size=1)["variation"] > 0.5


def test_short_runs_are_not_cut():
    spans = [(i * 0.1, (i + 1) * 0.1, 1) for i in range(12)]

    assert window_figures([spans], batch_size=1)["variation"] is None
