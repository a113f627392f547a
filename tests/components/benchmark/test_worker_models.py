"""Tests of the worker on every model kind: frozen graph, SavedModel, Keras,
TFLite and ONNX.

The TensorFlow kinds run through the worker's main() in one child process
(each TensorFlow start costs seconds); the ONNX ones as the script, by path.
"""

from importlib.metadata import version

import numpy as np
import pytest
from fixtures.models import (
    WORKER,
    last_error,
    parse_result,
    run_in_one_process,
    run_worker,
    shared_tiny_models,
    worker_command,
    worker_env,
    write_config,
)

from lpot_ux.components.benchmark.worker import models
from lpot_ux.components.benchmark.worker.errors import BenchmarkError

IMAGE_INPUT = {"shape": [2, 32, 32, 3], "dtype": "float32"}
# A file no runtime can read as a model.
GARBAGE = b"\x0a\xff\xff\xff\xff\x0fnot a model"


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """Return the tiny models of every kind."""
    return shared_tiny_models(tmp_path_factory)


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    """Return a corrupt model of every kind, by kind."""
    folder = tmp_path_factory.mktemp("bad")
    (folder / "saved_model").mkdir()
    paths = {
        "frozen_graph": folder / "bad.pb",
        "saved_model": folder / "saved_model",
        "keras": folder / "bad.keras",
        "h5": folder / "bad.h5",
        "tflite": folder / "bad.tflite",
        "onnx": folder / "bad.onnx",
    }
    for path in [*paths.values(), folder / "saved_model" / "saved_model.pb"]:
        if not path.is_dir():
            path.write_bytes(GARBAGE)

    return paths


@pytest.fixture(scope="module")
def tensorflow_runs(zoo, bad_models, tmp_path_factory):
    """Run the worker on every TensorFlow kind, in one child process."""
    folder = tmp_path_factory.mktemp("tensorflow_runs")
    batch_of_two = write_config(folder / "batch2.yaml", batch_size=2)
    signature = write_config(folder / "signature.yaml", model={"signature": "negate"})
    no_signature = write_config(folder / "nosig.yaml", model={"signature": "nope"})
    shapes = write_config(
        folder / "shapes.yaml", model={"input_shapes": {"x": [-1, 5, 3]}}, batch_size=3
    )
    runs = {
        "saved_model": argv(zoo["saved_model"], batch_of_two),
        "keras": argv(zoo["keras"], batch_of_two),
        "h5": argv(zoo["h5"], batch_of_two),
        "tflite": argv(zoo["tflite"], batch_of_two, "tflite"),
        "two_inputs": argv(zoo["two_inputs"]),
        "two_inputs_saved_model": argv(zoo["two_inputs_saved_model"]),
        "unknown_dim": argv(zoo["unknown_dim"], shapes),
        "two_signatures": argv(zoo["two_signatures"]),
        "chosen_signature": argv(zoo["two_signatures"], signature),
        "missing_signature": argv(zoo["two_signatures"], no_signature),
    }
    for kind, path in bad_models.items():
        runs[f"bad_{kind}"] = argv(path)

    return run_in_one_process(runs, folder, worker_env(cores="0"))


def argv(model, config=None, framework=None) -> list[str]:
    """Return the worker's arguments, without the interpreter and script."""
    return worker_command(model, config, framework=framework)[2:]


def succeeded(run: dict) -> dict:
    """Return the result of a run that must have succeeded."""
    assert run["returncode"] == 0, run["stderr"]

    return parse_result(run["stdout"])


@pytest.mark.parametrize(
    ("name", "model_format", "outputs"),
    [
        ("saved_model", "saved_model", ["logits"]),
        ("keras", "keras", ["dense"]),
        ("h5", "keras", ["dense"]),
    ],
)
def test_tensorflow_kinds_run(tensorflow_runs, name, model_format, outputs):
    result = succeeded(tensorflow_runs[name])

    assert (result["framework"], result["model_format"]) == ("tensorflow", model_format)
    assert result["inputs"] == {"input": IMAGE_INPUT}
    assert result["outputs"] == outputs
    assert result["runtime_version"] == result["tensorflow_version"]
    assert result["onednn"] is True
    assert (result["iterations"], result["batch_size"]) == (20, 2)


def test_tflite_runs_resized_to_the_batch(tensorflow_runs):
    result = succeeded(tensorflow_runs["tflite"])

    assert (result["framework"], result["model_format"]) == ("tflite", "tflite")
    assert list(result["inputs"].values()) == [IMAGE_INPUT]
    assert len(result["outputs"]) == 1
    assert result["runtime_version"] == result["tensorflow_version"]
    assert result["intra_op_threads"] == 1
    assert result["onednn"] is False


@pytest.mark.parametrize(
    ("name", "ids"), [("two_inputs", "int32"), ("two_inputs_saved_model", "int64")]
)
def test_inputs_of_mixed_dtypes(tensorflow_runs, name, ids):
    result = succeeded(tensorflow_runs[name])

    assert result["inputs"] == {
        "features": {"shape": [1, 8], "dtype": "float32"},
        "ids": {"shape": [1, 4], "dtype": ids},
    }
    assert result["outputs"] == ["score"]


def test_input_shapes_fill_an_unknown_dimension(tensorflow_runs):
    result = succeeded(tensorflow_runs["unknown_dim"])

    assert result["inputs"] == {"x": {"shape": [3, 5, 3], "dtype": "float32"}}
    assert result["latency_ms_per_sample"]["mean"] == pytest.approx(
        result["latency_ms"]["mean"] / 3, abs=1e-5
    )


def test_saved_model_signature_is_chosen(tensorflow_runs):
    result = succeeded(tensorflow_runs["chosen_signature"])

    assert result["inputs"] == {"x": {"shape": [1, 4], "dtype": "float32"}}
    assert result["outputs"] == ["y"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("two_signatures", "has several signatures and none is serving_default: "),
        ("missing_signature", "has no signature 'nope'; its signatures are: "),
    ],
)
def test_saved_model_signature_errors_list_them(tensorflow_runs, name, message):
    run = tensorflow_runs[name]

    assert run["returncode"] == 2
    assert message in last_error(run["stderr"])
    assert "double, negate" in last_error(run["stderr"])


@pytest.mark.parametrize(
    "kind", ["frozen_graph", "saved_model", "keras", "h5", "tflite", "onnx"]
)
def test_corrupt_models_cannot_load(tensorflow_runs, bad_models, kind):
    run = tensorflow_runs[f"bad_{kind}"]

    assert run["returncode"] == 1
    error = last_error(run["stderr"])
    assert error.startswith(f"error: cannot load model '{bad_models[kind]}': ")
    assert len(error) > len(f"error: cannot load model '{bad_models[kind]}': ")
    assert "Throughput" not in run["stdout"]


def test_onnx_runs_by_path(zoo, tmp_path):
    config = write_config(tmp_path / "config.yaml", batch_size=2)
    command = worker_command(zoo["onnx"], config, framework="onnxrt")
    completed = run_worker(command, worker_env(cores="0"))

    assert completed.returncode == 0, completed.stderr
    result = parse_result(completed.stdout)
    assert (result["framework"], result["model_format"]) == ("onnxrt", "onnx")
    assert result["runtime_version"] == version("onnxruntime")
    assert result["tensorflow_version"] is None
    assert result["inputs"] == {"input": IMAGE_INPUT}
    assert result["outputs"] == ["logits"]
    assert (result["intra_op_threads"], result["inter_op_threads"]) == (1, 1)


def test_onnx_feeds_bool_inputs(zoo):
    completed = run_worker(worker_command(zoo["two_inputs_onnx"]))

    assert completed.returncode == 0, completed.stderr
    assert parse_result(completed.stdout)["inputs"] == {
        "features": {"shape": [1, 8], "dtype": "float32"},
        "mask": {"shape": [1, 8], "dtype": "bool"},
    }


def test_onnx_unknown_dimension_filled_from_input_shapes(zoo, tmp_path):
    model = {"input_shapes": {"x": [None, 6, 3]}}
    config = write_config(tmp_path / "config.yaml", model=model, batch_size=2)
    completed = run_worker(worker_command(zoo["unknown_dim_onnx"], config))

    assert completed.returncode == 0, completed.stderr
    result = parse_result(completed.stdout)
    assert result["inputs"] == {"x": {"shape": [2, 6, 3], "dtype": "float32"}}


def test_unknown_dimension_without_input_shapes_is_named(zoo):
    completed = run_worker(worker_command(zoo["unknown_dim_onnx"]))

    assert completed.returncode == 2
    assert last_error(completed.stderr) == (
        "error: input 'x' has shape [?, ?, 3]: dimension 1 is unknown; "
        "give its size in input_shapes"
    )
    assert "Throughput" not in completed.stdout


def test_model_that_fails_to_run_is_reported(zoo):
    completed = run_worker(worker_command(zoo["fails_at_run_onnx"]))

    assert completed.returncode == 1
    error = last_error(completed.stderr)
    assert error.startswith(f"error: cannot run model '{zoo['fails_at_run_onnx']}': ")
    assert "Reshape" in error
    assert "lpot_ux: ready" not in completed.stdout


@pytest.mark.parametrize(
    ("name", "framework", "message"),
    [
        ("onnx", "tensorflow", "is an ONNX model; run it with --framework onnxrt"),
        ("tflite", "onnxrt", "is a TFLite model; run it with --framework tflite"),
        ("saved_model", "tflite", "is a TensorFlow SavedModel; run it with"),
        ("frozen", "onnxrt", "is a frozen TensorFlow graph; run it with"),
    ],
)
def test_framework_that_does_not_fit_the_model_is_refused(
    zoo, name, framework, message
):
    completed = run_worker(worker_command(zoo[name], framework=framework))

    assert completed.returncode == 2
    assert message in last_error(completed.stderr)


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("m.pb", ("tensorflow", "frozen_graph")),
        ("m.keras", ("tensorflow", "keras")),
        ("m.H5", ("tensorflow", "keras")),
        ("m.tflite", ("tflite", "tflite")),
        ("m.onnx", ("onnxrt", "onnx")),
        ("m.bin", ("tensorflow", "frozen_graph")),
    ],
)
def test_detect_format(tmp_path, name, found):
    (tmp_path / name).write_bytes(b"")

    assert models.detect_format(str(tmp_path / name), None) == found


def test_detect_format_of_a_saved_model_folder(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"")

    assert models.detect_format(str(tmp_path), "tensorflow") == (
        "tensorflow",
        "saved_model",
    )


def test_detect_format_lets_the_framework_name_an_unknown_suffix(tmp_path):
    (tmp_path / "m.bin").write_bytes(b"")

    assert models.detect_format(str(tmp_path / "m.bin"), "onnxrt") == ("onnxrt", "onnx")


@pytest.mark.parametrize(
    ("make", "exit_code", "message"),
    [
        (lambda path: path.mkdir(), 1, "the folder holds no saved_model.pb"),
        (lambda path: None, 2, "does not exist"),
    ],
)
def test_detect_format_refuses(tmp_path, make, exit_code, message):
    path = tmp_path / "model"
    make(path)

    with pytest.raises(BenchmarkError, match=message) as raised:
        models.detect_format(str(path), None)

    assert raised.value.exit_code == exit_code


@pytest.mark.parametrize(
    ("signatures", "chosen", "expected"),
    [
        (["a", "serving_default"], None, "serving_default"),
        (["only"], None, "only"),
        (["a", "b"], "b", "b"),
    ],
)
def test_choose_signature(signatures, chosen, expected):
    assert models.choose_signature("m", signatures, chosen) == expected


def test_choose_signature_of_none_cannot_load():
    with pytest.raises(BenchmarkError, match="has no signatures") as raised:
        models.choose_signature("m", [], None)

    assert raised.value.exit_code == 1


@pytest.mark.parametrize(
    ("shape", "dims"),
    [(["N", 3], [None, 3]), ([None, 0, 4], [None, None, 4]), (None, None)],
)
def test_onnx_dims(shape, dims):
    assert models.onnx_dims(shape) == dims


@pytest.mark.parametrize(
    ("type_name", "dtype"),
    [
        ("tensor(float)", np.dtype("float32")),
        ("tensor(double)", np.dtype("float64")),
        ("tensor(float16)", np.dtype("float16")),
        ("tensor(uint8)", np.dtype("uint8")),
        ("tensor(int64)", np.dtype("int64")),
        ("tensor(bool)", np.dtype("bool")),
        ("tensor(string)", np.dtype(object)),
        ("tensor(bfloat16)", "tensor(bfloat16)"),
        ("seq(tensor(float))", "seq(tensor(float))"),
    ],
)
def test_onnx_dtype(type_name, dtype):
    assert models.onnx_dtype(type_name) == dtype


def test_signature_dims_mark_resizable_sizes():
    detail = {"shape": np.array([1, 32, 3]), "shape_signature": np.array([-1, 32, 3])}

    assert models.signature_dims(detail) == [None, 32, 3]


def test_tflite_identifier_is_checked(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(GARBAGE)

    with pytest.raises(BenchmarkError, match="not a TFLite flatbuffer"):
        models.check_tflite_identifier(str(path))


def test_worker_script_sits_beside_its_package():
    assert WORKER.is_file()
    assert (WORKER.parent / "worker" / "models.py").is_file()
