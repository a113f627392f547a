"""Build the config.yaml that the benchmark workers read."""

import logging
from pathlib import Path
from typing import Any

import yaml

from lpot_ux.components.benchmark.request import BenchmarkRequest
from lpot_ux.components.model.graph_reader import (
    GraphSignature,
    TensorSpec,
    read_graph_signature,
)
from lpot_ux.errors import ConfigurationError, LpotUxError

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.yaml"
FRAMEWORK = "tensorflow"


def feed_shape(spec: TensorSpec, batch_size: int) -> list[int]:
    """Return the shape of one input without its batch dimension."""
    if spec.shape is None:
        raise ConfigurationError(
            f"input_model: input '{spec.name}' has an unknown rank, so no synthetic "
            "data can be made for it."
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
            f"input_model: input '{spec.name}' has shape [{shown}]: dimension "
            f"{unknown[0]} is unknown, and only the batch dimension can be filled in."
        )

    return list(rest)


class ConfigurationBuilder:
    """Turn a benchmark request and the model it names into a config.yaml."""

    def read_signature(self, path: Path) -> GraphSignature | None:
        """Return the inputs and outputs of a model, None when unreadable here."""
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
        signature = self.read_signature(model.path)
        inputs = signature.inputs if signature else ()
        shapes = [feed_shape(spec, request.batch_size) for spec in inputs]

        return {
            "version": 1.0,
            "model": {
                "name": model.path.stem,
                "framework": FRAMEWORK,
                "inputs": [spec.name for spec in inputs],
                "outputs": list(signature.outputs) if signature else [],
            },
            "evaluation": {
                "performance": {
                    "warmup": request.warmup,
                    "iteration": request.iterations,
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

    def write_config(self, config: dict[str, Any], workload_dir: Path) -> Path:
        """Write a configuration into its workload folder and return its path."""
        workload_dir.mkdir(parents=True, exist_ok=True)
        path = workload_dir / CONFIG_NAME
        temporary = path.with_suffix(".yaml.tmp")
        temporary.write_text(yaml.safe_dump(config, sort_keys=False))
        temporary.replace(path)

        return path
