"""Build the config.yaml that the benchmark workers read."""

import logging
import math
from pathlib import Path
from typing import Any

import yaml

from lpot_ux.components.benchmark.request import BenchmarkRequest, ModelSpec
from lpot_ux.components.model.graph_reader import (
    GraphSignature,
    TensorSpec,
    read_graph_signature,
)
from lpot_ux.errors import ConfigurationError, LpotUxError

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.yaml"


def format_inputs(inputs: list[tuple]) -> str:
    """Return input dtypes and shapes as a short text."""
    shapes = []
    for dtype, shape in inputs:
        dims = "?" if shape is None else ", ".join("?" if dim is None else str(dim) for dim in shape)
        shapes.append(f"{dtype} [{dims}]")

    return "; ".join(shapes) or "no inputs"


def given_shape(spec: TensorSpec, given: list[int | None], batch_size: int) -> list[int]:
    """Return the shape given in input_shapes for one input, without its batch dimension."""
    if given and given[0] not in (None, -1, batch_size):
        raise ConfigurationError(
            f"input_shapes.{spec.name}: its batch dimension {given[0]} differs from "
            f"batch_size {batch_size}; write -1 to take the batch size."
        )
    full = [batch_size if dim in (None, -1) else dim for dim in given]
    if spec.shape is not None:
        fixed = [(index, size) for index, size in enumerate(spec.shape) if size is not None]
        if len(given) != len(spec.shape) or any(full[i] != size for i, size in fixed):
            shown = ", ".join("?" if size is None else str(size) for size in spec.shape)
            raise ConfigurationError(
                f"input_shapes.{spec.name}: {given} does not fit the model's shape [{shown}]."
            )

    return full[1:]


def feed_shape(spec: TensorSpec, batch_size: int, given: list[int | None] | None = None) -> list[int]:
    """Return the shape of one input without its batch dimension."""
    if given is not None:
        return given_shape(spec, given, batch_size)
    if spec.shape is None:
        raise ConfigurationError(
            f"input_shapes: input '{spec.name}' has an unknown rank; give its full shape "
            "in input_shapes."
        )
    if not spec.shape:
        return []

    batch, *rest = spec.shape
    if batch is not None and batch != batch_size:
        raise ConfigurationError(
            f"batch_size: input '{spec.name}' has a fixed batch dimension of {batch}, "
            f"so batch_size {batch_size} cannot be fed; use batch_size {batch}."
        )
    unknown = [index + 1 for index, size in enumerate(rest) if size is None]
    if unknown:
        shown = ", ".join("?" if size is None else str(size) for size in spec.shape)
        raise ConfigurationError(
            f"input_shapes: input '{spec.name}' has shape [{shown}]: dimension "
            f"{unknown[0]} is unknown; give its full shape, e.g. "
            f'{{"input_shapes": {{"{spec.name}": [-1, ...]}}}}.'
        )

    return list(rest)


# Bytes per element of the dtypes a synthetic input can have.
DTYPE_BYTES = {
    "float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "int8": 1, "uint8": 1,
    "int16": 2, "uint16": 2, "int32": 4, "uint32": 4, "int64": 8, "uint64": 8, "bool": 1,
}  # fmt: skip


def input_bytes(config: dict[str, Any]) -> int:
    """Return the bytes of one batch of synthetic input that a configuration asks for."""
    performance = config["evaluation"]["performance"]
    dataset = performance["dataloader"]["dataset"]["dummy_v2"]
    total = 0
    for shape, dtype in zip(dataset["input_shape"], dataset["dtype"]):
        total += math.prod(shape) * performance["dataloader"]["batch_size"] * DTYPE_BYTES.get(dtype, 8)

    return total


def check_input_memory(config: dict[str, Any], instances: int, available: int) -> None:
    """Refuse a batch whose synthetic inputs alone would not fit in half the free memory."""
    needed = input_bytes(config) * instances
    if needed > available // 2:
        raise ConfigurationError(
            f"batch_size: {instances} instance(s) would need {needed / 2**30:.1f} GiB for one "
            f"batch of synthetic inputs alone, more than half of the {available / 2**30:.1f} "
            "GiB of memory available; lower batch_size or instances."
        )


def describe_inputs(signature: GraphSignature | None) -> list[tuple] | None:
    """Return the dtypes and shapes of a graph's inputs, in order, None when unknown."""
    if signature is None:
        return None

    return [(spec.dtype, spec.shape) for spec in signature.inputs]


class ConfigurationBuilder:
    """Turn a benchmark request and the model it names into a config.yaml."""

    def read_signature(self, model: ModelSpec) -> GraphSignature | None:
        """Return the inputs and outputs of a frozen graph, None for other kinds or when unreadable."""
        if model.model_format != "frozen_graph":
            return None  # the worker reads other kinds with their own runtime
        path = model.path
        try:
            return read_graph_signature(path)
        except LpotUxError as error:
            # The worker loads the model with TensorFlow itself and reports
            # TensorFlow's own error, which says more than this reader can.
            logger.warning("Leaving %s to the worker: %s", path, error.message)
            return None

    def build_config(self, request: BenchmarkRequest) -> dict[str, Any]:
        """Return the configuration of a request as a mapping."""
        model = request.input_model
        signature = self.read_signature(model)
        inputs = signature.inputs if signature else ()
        shapes = [
            feed_shape(spec, request.batch_size, request.input_shapes.get(spec.name))
            for spec in inputs
        ]
        config = {
            "version": 1.0,
            "model": {
                "name": model.path.stem,
                "framework": model.framework,
                "inputs": [spec.name for spec in inputs],
                "outputs": list(signature.outputs) if signature else [],
                "input_shapes": request.input_shapes,
                "signature": model.signature,
            },
            "evaluation": {
                "performance": {
                    "warmup": request.warmup,
                    "warmup_duration": request.warmup_duration,
                    "iteration": request.iterations,
                    "duration": request.duration,
                    "max_duration": request.max_duration,
                    "configs": {
                        "cores_per_instance": request.cores_per_instance,
                        "num_of_instance": request.instances,
                        "inter_num_of_threads": 1,
                        "intra_num_of_threads": request.cores_per_instance,
                    },
                    "dataloader": {
                        "batch_size": request.batch_size,
                        "dataset": {
                            "dummy_v2": {
                                "input_shape": shapes,
                                "dtype": [spec.dtype for spec in inputs],
                            }
                        },
                    },
                },
            },
        }
        if request.dataset is not None:
            config["evaluation"]["accuracy"] = {
                "dataset": {"path": str(request.dataset)},
                "metric": {"topk": request.topk},
                "batch_size": request.batch_size,
            }

        return config

    def compare_models(self, request: BenchmarkRequest) -> list[str]:
        """Return a warning when the two models do not take the same inputs."""
        first, second = (describe_inputs(self.read_signature(model)) for model in request.models)
        if first is None or second is None or first == second:
            return []

        return [
            f"the two models take different inputs ({format_inputs(first)} against "
            f"{format_inputs(second)}), so they may not be two versions of one model"
        ]

    def write_config(self, config: dict[str, Any], workload_dir: Path) -> Path:
        """Write a configuration into its workload folder and return its path."""
        workload_dir.mkdir(parents=True, exist_ok=True)
        path = workload_dir / CONFIG_NAME
        temporary = path.with_suffix(".yaml.tmp")
        temporary.write_text(yaml.safe_dump(config, sort_keys=False))
        temporary.replace(path)

        return path
