"""Tests of the worker's reading of config.yaml."""

import math

import pytest
import yaml

from lpot_ux.components.benchmark.worker import config as worker_config
from lpot_ux.components.benchmark.worker.errors import BenchmarkError


def write(tmp_path, config: dict):
    """Write a config.yaml and return its path as a string."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))

    return str(path)


def performance(tmp_path, **fields):
    """Read a config whose evaluation.performance holds these fields."""
    path = write(tmp_path, {"evaluation": {"performance": fields}})

    return worker_config.read_config(path)


def test_read_config_takes_the_server_fields(tmp_path):
    path = write(
        tmp_path,
        {
            "model": {"inputs": ["input:0"], "outputs": "Identity"},
            "evaluation": {
                "performance": {
                    "warmup": 0,
                    "iteration": 20,
                    "configs": {"intra_num_of_threads": 3, "inter_num_of_threads": 2},
                    "dataloader": {
                        "batch_size": 8,
                        "dataset": {"dummy_v2": {"input_shape": [32, 32, 3]}},
                    },
                }
            },
        },
    )

    settings = worker_config.read_config(path)

    assert (settings.batch_size, settings.warmup, settings.iterations) == (8, 0, 20)
    assert settings.inputs == ["input"]
    assert settings.outputs == ["Identity"]
    assert settings.sample_shapes == [[32, 32, 3]]
    assert (settings.intra_threads, settings.inter_threads) == (3, 2)
    assert settings.duration is None
    assert settings.max_duration == 600


def test_read_config_defaults_without_a_file():
    settings = worker_config.read_config(None)

    assert (settings.warmup, settings.iterations, settings.batch_size) == (5, 50, 1)
    assert (settings.warmup_duration, settings.duration) == (0.0, None)
    assert settings.intra_threads is None and settings.inter_threads is None
    assert settings.input_shapes == {} and settings.signature is None


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({}, (50, None)),
        ({"iteration": None}, (50, None)),
        ({"duration": 2}, (None, 2.0)),
        ({"iteration": None, "duration": 0.5}, (None, 0.5)),
        ({"iteration": 10, "duration": 1.5}, (10, 1.5)),
    ],
)
def test_read_config_takes_the_stop_rule(tmp_path, fields, rule):
    settings = performance(tmp_path, **fields)

    assert (settings.iterations, settings.duration) == rule


def test_read_config_takes_warmup_duration_and_cap(tmp_path):
    settings = performance(tmp_path, warmup=3, warmup_duration=0.25, max_duration=9)

    assert (settings.warmup, settings.warmup_duration) == (3, 0.25)
    assert settings.max_duration == 9.0


@pytest.mark.parametrize("iteration", [0, -1, "ten", True, 2.5])
def test_read_config_refuses_bad_iterations(tmp_path, iteration):
    with pytest.raises(BenchmarkError, match="'iteration'"):
        performance(tmp_path, iteration=iteration)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("duration", 0),
        ("duration", -1),
        ("duration", "1s"),
        ("duration", True),
        ("duration", math.inf),
        ("max_duration", 0),
        ("warmup_duration", -0.5),
    ],
)
def test_read_config_refuses_bad_seconds(tmp_path, key, value):
    with pytest.raises(BenchmarkError, match=f"config key '{key}' must be a number"):
        performance(tmp_path, **{key: value})


def test_read_config_warns_of_a_duration_beyond_the_cap(tmp_path, capsys):
    performance(tmp_path, duration=5, max_duration=1)

    assert "duration 5 s is longer than max_duration 1 s" in capsys.readouterr().err


def test_read_config_takes_input_shapes_signature_and_accuracy(tmp_path):
    path = write(
        tmp_path,
        {
            "model": {
                "signature": "serving_default",
                "input_shapes": {"x": [-1, 5, 3], "ids": [None, 4], "n": [1]},
            },
            "evaluation": {
                "accuracy": {
                    "dataset": {"path": "/data/set.npz"},
                    "metric": {"topk": 5},
                    "batch_size": 16,
                }
            },
        },
    )

    settings = worker_config.read_config(path)

    assert settings.input_shapes == {"x": [None, 5, 3], "ids": [None, 4], "n": [1]}
    assert settings.signature == "serving_default"
    assert settings.accuracy == worker_config.AccuracySettings("/data/set.npz", 5, 16)


@pytest.mark.parametrize(
    "shapes",
    [[1, 2], {"x": [0, 3]}, {"x": [-2]}, {"x": "[1, 2]"}, {"x": [1.5]}, {"x": [True]}],
)
def test_read_config_refuses_bad_input_shapes(tmp_path, shapes):
    path = write(tmp_path, {"model": {"input_shapes": shapes}})

    with pytest.raises(BenchmarkError, match="input_shapes"):
        worker_config.read_config(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [("[1, 2]", "must hold a mapping"), ("a: [", "cannot read config")],
)
def test_read_config_refuses_bad_files(tmp_path, content, message):
    path = tmp_path / "config.yaml"
    path.write_text(content)

    with pytest.raises(BenchmarkError, match=message):
        worker_config.read_config(str(path))
