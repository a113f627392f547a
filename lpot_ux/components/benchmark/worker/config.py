"""Read what config.yaml asks of one worker instance."""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import BenchmarkError, warn

DEFAULT_WARMUP = 5
DEFAULT_ITERATIONS = 50
# Seconds: a cap on the measured part, so that a rule that cannot be met (a
# duration on a model too slow for it) still ends.
DEFAULT_MAX_DURATION = 600.0
DEFAULT_TOPK = 1


@dataclass
class AccuracySettings:
    """What evaluation.accuracy asks: a dataset, a top-k metric, a batch size."""

    dataset: str | None = None
    topk: int = DEFAULT_TOPK
    batch_size: int = 1


@dataclass
class Settings:
    """What config.yaml asks of this instance."""

    warmup: int = DEFAULT_WARMUP
    warmup_duration: float = 0.0
    # At least this many measured iterations, and at least this many seconds;
    # None where the config leaves that half of the rule out.
    iterations: int | None = DEFAULT_ITERATIONS
    duration: float | None = None
    max_duration: float = DEFAULT_MAX_DURATION
    batch_size: int = 1
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    # model.input_shapes: full shapes by input name, None for the batch size.
    input_shapes: dict[str, list[int | None]] = field(default_factory=dict)
    # The dummy_v2 dataset's shapes: one per configured input, batch left out.
    sample_shapes: list[list[int]] = field(default_factory=list)
    signature: str | None = None
    intra_threads: int | None = None
    inter_threads: int | None = None
    accuracy: AccuracySettings = field(default_factory=AccuracySettings)


def read_config(path: str | None) -> Settings:
    """Read the settings of this instance from config.yaml."""
    if path is None:
        return Settings()

    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise BenchmarkError(f"cannot read config {path!r}: {error}") from error

    if not isinstance(config, dict):
        raise BenchmarkError(f"config {path!r} must hold a mapping, not {config!r}")

    model = section(config, "model")
    evaluation = section(config, "evaluation")
    performance = section(evaluation, "performance")
    configs = section(performance, "configs")
    dataloader = section(performance, "dataloader")
    dummy = section(section(dataloader, "dataset"), "dummy_v2")
    settings = Settings(
        batch_size=count(dataloader, "batch_size", 1),
        inputs=names(model, "inputs"),
        outputs=names(model, "outputs"),
        input_shapes=input_shapes(model.get("input_shapes")),
        sample_shapes=sample_shapes(dummy.get("input_shape")),
        signature=text(model, "signature"),
        # 0 or absent: let the affinity decide.
        intra_threads=count(configs, "intra_num_of_threads", 0, minimum=0) or None,
        inter_threads=count(configs, "inter_num_of_threads", 0, minimum=0) or None,
        accuracy=read_accuracy(section(evaluation, "accuracy")),
    )
    read_stop_rules(performance, settings)

    return settings


def read_stop_rules(performance: dict, settings: Settings) -> None:
    """Read how long to warm up and to measure into the settings."""
    settings.warmup = count(performance, "warmup", DEFAULT_WARMUP, minimum=0)
    settings.warmup_duration = seconds(performance, "warmup_duration", 0.0, 0.0)
    settings.iterations = count(performance, "iteration", None)
    settings.duration = seconds(performance, "duration", None)
    settings.max_duration = seconds(performance, "max_duration", DEFAULT_MAX_DURATION)
    if settings.iterations is None and settings.duration is None:
        settings.iterations = DEFAULT_ITERATIONS

    if settings.duration is not None and settings.duration > settings.max_duration:
        warn(
            f"duration {settings.duration:g} s is longer than max_duration "
            f"{settings.max_duration:g} s; the measurement will stop at the cap "
            "before its rule is met"
        )


def read_accuracy(accuracy: dict) -> AccuracySettings:
    """Read the dataset, metric and batch size of evaluation.accuracy."""
    dataset = section(accuracy, "dataset")
    metric = section(accuracy, "metric")

    return AccuracySettings(
        dataset=text(dataset, "path"),
        topk=count(metric, "topk", DEFAULT_TOPK),
        batch_size=count(accuracy, "batch_size", 1),
    )


def section(mapping: dict, key: str) -> dict:
    """Return mapping[key] as a mapping, empty when absent."""
    value = mapping.get(key) or {}
    if not isinstance(value, dict):
        raise BenchmarkError(f"config key {key!r} must be a mapping, not {value!r}")

    return value


def count(mapping: dict, key: str, default: int | None, minimum: int = 1) -> Any:
    """Return the integer mapping[key], or default when absent."""
    value = mapping.get(key)
    if value is None:
        return default

    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BenchmarkError(
            f"config key {key!r} must be an integer >= {minimum}, not {value!r}"
        )

    return value


def seconds(
    mapping: dict, key: str, default: float | None, minimum: float | None = None
) -> Any:
    """Return mapping[key] as seconds, above 0 unless a minimum is given."""
    value = mapping.get(key)
    if value is None:
        return default

    number = not isinstance(value, bool) and isinstance(value, (int, float))
    if minimum is None:
        valid = number and math.isfinite(value) and value > 0
        wanted = "a number of seconds > 0"
    else:
        valid = number and math.isfinite(value) and value >= minimum
        wanted = f"a number of seconds >= {minimum:g}"

    if not valid:
        raise BenchmarkError(f"config key {key!r} must be {wanted}, not {value!r}")

    return float(value)


def text(mapping: dict, key: str) -> str | None:
    """Return mapping[key] as a string, None when absent."""
    value = mapping.get(key)

    return None if value is None else str(value)


def names(mapping: dict, key: str) -> list[str]:
    """Return the node names under mapping[key], without any ':0' suffix."""
    value = mapping.get(key) or []
    if isinstance(value, str):
        value = [value]

    return [str(name).split(":")[0] for name in value]


def input_shapes(value: Any) -> dict[str, list[int | None]]:
    """Return model.input_shapes with -1 turned into None, the batch size."""
    if value is None:
        return {}

    if not isinstance(value, dict):
        raise BenchmarkError(
            "config key 'input_shapes' must map input names to shapes, "
            f"such as {{x: [-1, 128]}}, not {value!r}"
        )

    return {str(name): full_shape(str(name), shape) for name, shape in value.items()}


def full_shape(name: str, shape: Any) -> list[int | None]:
    """Return one shape of input_shapes, checking its sizes."""
    if not isinstance(shape, list) or not all(is_size(size) for size in shape):
        raise BenchmarkError(
            f"input_shapes gives {shape!r} for input {name!r}; give a list of "
            "sizes >= 1, with -1 or null for the batch size"
        )

    return [None if size == -1 else size for size in shape]


def is_size(size: Any) -> bool:
    """Tell whether a size of input_shapes is valid: >= 1, -1 or None."""
    if size is None:
        return True

    return type(size) is int and (size == -1 or size >= 1)


def sample_shapes(value: Any) -> list[list[int]]:
    """Return the dummy_v2 input shapes as a list of shapes, one per input."""
    if not value:
        return []

    # A single shape may be written flat: [32, 32, 3].
    if all(isinstance(size, int) for size in value):
        value = [value]

    return [list(shape) for shape in value]
