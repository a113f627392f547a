"""The throughput parser, against recorded logs."""

import pytest

from lpot_ux.components.parser.throughput import (
    InstanceResult,
    combine_instances,
    parse_instance_log,
)
from lpot_ux.errors import ParseError

WORKER_LOG = """\
I0000 port.cc:153] oneDNN custom operations are on.
lpot_ux: inputs {"input": {"shape": [1, 224, 224, 3], "dtype": "float32"}} affinity [0, 1]
lpot_ux: ready
Batch size = 1
Latency: 13.126 ms
Throughput: 76.165 images/sec
lpot_ux result: {"batch_size": 1, "iterations": 30, "latency_ms": {"p50": 11.5}}
"""


def test_worker_log_gives_result_and_details():
    result = parse_instance_log(WORKER_LOG)

    assert result.batch_size == 1
    assert result.latency_ms == pytest.approx(13.126)
    assert result.throughput == pytest.approx(76.165)
    assert result.details["latency_ms"]["p50"] == 11.5


@pytest.mark.parametrize(
    ("log", "latency_ms", "throughput"),
    [
        ("Batch size = 8\nLatency: 0.5 s\nThroughput: 16 images/sec", 500.0, 16.0),
        ("batch size: 8\nlatency: 250 us\nthroughput: 1,234.5 samples/s", 0.25, 1234.5),
        ("Batch size = 8\nLatency: 1.5e1 ms\nThroughput: 5.3e2 fps", 15.0, 530.0),
        ("Batch size = 8\nLatency: 2000 ns\nThroughput: 0.5 images/ms", 0.002, 500.0),
        ("Batch size = 8\nLatency:   .75 ms\nThroughput:  12 img/s", 0.75, 12.0),
    ],
)
def test_units_and_number_formats_are_converted(log, latency_ms, throughput):
    result = parse_instance_log(log)

    assert result.batch_size == 8
    assert result.latency_ms == pytest.approx(latency_ms)
    assert result.throughput == pytest.approx(throughput)


def test_log_with_two_results_takes_the_last_once():
    log = WORKER_LOG + "Batch size = 1\nLatency: 10 ms\nThroughput: 100 images/sec\n"

    result = parse_instance_log(log)

    assert result.throughput == 100.0
    assert result.latency_ms == 10.0


@pytest.mark.parametrize(
    ("log", "missing"),
    [
        ("", "no Batch size, no Latency, no Throughput line"),
        ("Batch size = 1\nLatency: 3 ms\n", "no Throughput line"),
        ("Batch size = 1\nThroughput: 3 images/sec\n", "no Latency line"),
        ("Latency: 3 ms\nThroughput: 3 images/sec\n", "no Batch size line"),
    ],
)
def test_missing_lines_are_named(log, missing):
    with pytest.raises(ParseError, match=missing):
        parse_instance_log(log)


def test_impossible_result_is_refused():
    with pytest.raises(ParseError, match="impossible"):
        parse_instance_log("Batch size = 1\nLatency: 0 ms\nThroughput: 0 images/sec")


def test_broken_result_json_is_refused():
    with pytest.raises(ParseError, match="not valid JSON"):
        parse_instance_log(WORKER_LOG.replace('"p50": 11.5}}', '"p50": 11.5'))


def test_instances_sum_throughput_and_average_latency():
    instances = [InstanceResult(1, 10.0, 100.0), InstanceResult(1, 20.0, 50.0)]

    result = combine_instances(instances)

    assert result.throughput == 150.0
    assert result.latency_ms == 15.0
    assert result.instances == tuple(instances)


def test_no_instance_result_is_an_error():
    with pytest.raises(ParseError, match="No instance"):
        combine_instances([])
