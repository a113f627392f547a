"""Tests of the worker's input shapes and synthetic data."""

import numpy as np
import pytest

from lpot_ux.components.benchmark.worker import feeds
from lpot_ux.components.benchmark.worker.config import Settings
from lpot_ux.components.benchmark.worker.errors import BenchmarkError
from lpot_ux.components.benchmark.worker.models import InputSpec


def spec(dims, name="x", dtype="float32") -> InputSpec:
    """Return an input of the given sizes and dtype."""
    return InputSpec(name, dims, np.dtype(dtype))


@pytest.mark.parametrize(
    ("dims", "given", "shape"),
    [
        ([None, 32, 32, 3], None, [4, 32, 32, 3]),
        ([None, 32, 32, 3], [32, 32, 3], [4, 32, 32, 3]),
        ([None, None, 3], [5, 3], [4, 5, 3]),
        ([4, 8], None, [4, 8]),
        (None, [7], [4, 7]),
        ([], None, []),
        # The model's known sizes win over a config that disagrees.
        ([None, 32], [64], [4, 32]),
        ([None, 32], [1, 2, 3], [4, 32]),
    ],
)
def test_input_shape(dims, given, shape):
    assert feeds.input_shape(spec(dims), 4, given) == shape


@pytest.mark.parametrize(
    ("dims", "given", "message"),
    [
        ([None, None, 3], None, r"shape \[\?, \?, 3\]: dimension 1 is unknown"),
        ([None, 3, None], [3, None], "dimension 2 is unknown"),
        (None, None, "unknown rank"),
        ([1, 3], None, "batch dimension is fixed at 1; run with batch size 1"),
    ],
)
def test_input_shape_refuses(dims, given, message):
    with pytest.raises(BenchmarkError, match=message):
        feeds.input_shape(spec(dims), 4, given)


@pytest.mark.parametrize(
    ("dims", "given", "shape"),
    [
        ([None, None, 3], [None, 5, 3], [4, 5, 3]),
        ([None, None, 3], [2, 5, None], [2, 5, 3]),
        (None, [None, 7], [4, 7]),
        # A size the model fixes wins over input_shapes.
        ([None, 16], [None, 8], [4, 16]),
        ([1], [1], [1]),
    ],
)
def test_named_shape_takes_full_shapes(dims, given, shape):
    assert feeds.named_shape(spec(dims), given, 4) == shape


def test_named_shape_refuses_another_rank():
    with pytest.raises(BenchmarkError, match=r"gives \[None, 5\] .* give 3 sizes"):
        feeds.named_shape(spec([None, None, 3]), [None, 5], 4)


def test_make_feed_prefers_input_shapes_to_dummy_shapes():
    inputs = [spec([None, None, 3], "x"), spec([None, None], "ids", "int32")]
    settings = Settings(
        batch_size=2,
        inputs=["x", "ids"],
        input_shapes={"ids:0": [None, 9]},
        sample_shapes=[[5, 3], [6]],
    )

    arrays = feeds.make_feed(inputs, settings)

    assert [list(array.shape) for array in arrays] == [[2, 5, 3], [2, 9]]
    assert feeds.describe_inputs(inputs, arrays) == {
        "x": {"shape": [2, 5, 3], "dtype": "float32"},
        "ids": {"shape": [2, 9], "dtype": "int32"},
    }


def test_make_feed_ignores_dummy_shapes_of_other_inputs():
    settings = Settings(inputs=["other"], sample_shapes=[[5, 3]])

    with pytest.raises(BenchmarkError, match="dimension 1 is unknown"):
        feeds.make_feed([spec([None, None, 3])], settings)


def test_make_feed_warns_of_input_shapes_of_no_input(capsys):
    feeds.make_feed([spec([None, 3])], Settings(input_shapes={"y": [None, 3]}))

    assert "input_shapes names 'y', which is not an input" in capsys.readouterr().err


@pytest.mark.parametrize(
    "dtype",
    [
        "float16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
    ],
)
def test_make_array_makes_each_dtype(dtype):
    array = feeds.make_array(
        np.random.default_rng(0), spec([2, 3], dtype=dtype), [2, 3]
    )

    assert array.dtype == np.dtype(dtype)
    assert array.shape == (2, 3)
    if dtype != "bool":
        assert 0 <= array.min() and array.max() < feeds.INTEGER_VALUES


def test_make_array_makes_scalars():
    array = feeds.make_array(np.random.default_rng(0), spec([]), [])

    assert isinstance(array, np.ndarray) and array.shape == ()


@pytest.mark.parametrize("dtype", [np.dtype(object), np.dtype("complex64"), "string"])
def test_make_array_refuses_what_it_cannot_make_up(dtype):
    with pytest.raises(BenchmarkError, match="cannot be made up"):
        feeds.make_array(np.random.default_rng(0), InputSpec("s", [1], dtype), [1])
