"""Choose the shape of every input and make a batch of synthetic data for it."""

from typing import Any

import numpy as np

from .config import Settings
from .errors import BenchmarkError, warn
from .models import InputSpec

# Small non-negative values, so that integer inputs used as ids stay inside any
# embedding table.
INTEGER_VALUES = 10
SEED = 0


def make_feed(inputs: list[InputSpec], settings: Settings) -> list[np.ndarray]:
    """Make one batch of synthetic data for every input, in the model's order."""
    check_named_shapes(inputs, settings.input_shapes)
    rng = np.random.default_rng(SEED)

    return [
        make_array(rng, spec, feed_shape(spec, position, settings))
        for position, spec in enumerate(inputs)
    ]


def check_named_shapes(inputs: list[InputSpec], shapes: dict[str, Any]) -> None:
    """Warn about input_shapes that name no input of the model."""
    for name in shapes:
        if not any(same_name(name, spec.name) for spec in inputs):
            warn(
                f"input_shapes names {name!r}, which is not an input of the model; "
                f"its inputs are {[spec.name for spec in inputs]}"
            )


def same_name(configured: str, name: str) -> bool:
    """Tell whether a configured name is an input's name, ':0' suffix or not."""
    return configured.split(":")[0] == name.split(":")[0]


def feed_shape(spec: InputSpec, position: int, settings: Settings) -> list[int]:
    """Return the shape to feed: input_shapes', else the model's and the batch."""
    for name, given in settings.input_shapes.items():
        if same_name(name, spec.name):
            return named_shape(spec, given, settings.batch_size)

    # The dummy_v2 shapes of lpot_ux's config follow its model.inputs.
    sample = None
    configured = settings.inputs[position] if position < len(settings.inputs) else ""
    if position < len(settings.sample_shapes) and same_name(configured, spec.name):
        sample = settings.sample_shapes[position]

    return input_shape(spec, settings.batch_size, sample)


def named_shape(spec: InputSpec, given: list[int | None], batch_size: int) -> list[int]:
    """Return a full shape of input_shapes, None as the batch size."""
    wanted = [batch_size if size is None else size for size in given]
    if spec.dims is None:
        return wanted

    shown = describe_dims(spec.dims)
    if len(wanted) != len(spec.dims):
        raise BenchmarkError(
            f"input_shapes gives {given} for input {spec.name!r} of shape {shown}; "
            f"give {len(spec.dims)} sizes, with -1 for the batch size"
        )

    shape = []
    for index, (size, want) in enumerate(zip(spec.dims, wanted)):
        # The model would refuse any other size, so its own wins.
        if size is not None and size != want:
            warn(
                f"input_shapes gives {want} for dimension {index} of input "
                f"{spec.name!r} of shape {shown}; using {size}"
            )

        shape.append(want if size is None else size)

    return shape


def input_shape(spec: InputSpec, batch_size: int, given: list[int] | None) -> list[int]:
    """Return the shape to feed: batch first, the rest from the model or config."""
    if spec.dims is None:
        if given is None:
            raise BenchmarkError(
                f"input {spec.name!r} has an unknown rank; "
                "give its shape in input_shapes"
            )

        return [batch_size, *given]

    dims = spec.dims
    if not dims:
        return []

    shown = describe_dims(dims)
    if given is not None and len(given) != len(dims) - 1:
        warn(
            f"input_shapes gives {given} for input {spec.name!r} of shape {shown}, "
            f"not {len(dims) - 1} sizes without the batch dimension; ignoring it"
        )
        given = None

    if dims[0] is not None and dims[0] != batch_size:
        raise BenchmarkError(
            f"input {spec.name!r} has shape {shown}: its batch dimension is fixed "
            f"at {dims[0]}; run with batch size {dims[0]}"
        )

    return [batch_size] + [
        fill_dim(spec.name, shown, index, size, given)
        for index, size in enumerate(dims[1:], start=1)
    ]


def fill_dim(
    name: str, shown: str, index: int, size: int | None, given: list[int] | None
) -> int:
    """Return the size of one non-batch dimension: the model's, else the config's."""
    wanted = given[index - 1] if given is not None else None
    if size is not None:
        # The model would refuse any other size, so its own wins.
        if wanted is not None and wanted != size:
            warn(
                f"input_shapes gives {wanted} for dimension {index} of input "
                f"{name!r} of shape {shown}; using {size}"
            )

        return size

    if wanted is None:
        raise BenchmarkError(
            f"input {name!r} has shape {shown}: dimension {index} is unknown; "
            "give its size in input_shapes"
        )

    return wanted


def describe_dims(dims: list[int | None]) -> str:
    """Write a shape the way a user reads it, '?' for unknown sizes."""
    return "[" + ", ".join("?" if size is None else str(size) for size in dims) + "]"


def make_array(
    rng: np.random.Generator, spec: InputSpec, shape: list[int]
) -> np.ndarray:
    """Make random data of the input's own dtype."""
    dtype = spec.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf":
        raise BenchmarkError(
            f"input {spec.name!r} has dtype {dtype}, which cannot be made up; "
            "only float, integer and bool inputs are supported"
        )

    # asarray: a scalar input (shape []) would otherwise come back as a number.
    if dtype.kind == "b":
        return np.asarray(rng.random(shape) < 0.5)

    if dtype.kind == "f":
        return np.asarray(rng.random(shape, dtype=np.float32), dtype=dtype)

    return np.asarray(rng.integers(0, INTEGER_VALUES, shape), dtype=dtype)


def describe_inputs(
    inputs: list[InputSpec], arrays: list[np.ndarray]
) -> dict[str, dict[str, Any]]:
    """Describe the arrays fed, by input name."""
    return {
        spec.name: {"shape": list(array.shape), "dtype": array.dtype.name}
        for spec, array in zip(inputs, arrays)
    }
