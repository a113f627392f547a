"""Every rule of the request check, and the defaults it decides."""

from pathlib import Path

import pytest

from lpot_ux.components.benchmark.request import parse_benchmark_request, read_id
from lpot_ux.errors import RequestError
from lpot_ux.settings import default_settings


@pytest.fixture
def settings(tmp_path: Path) -> dict:
    return dict(default_settings(), WORKSPACE=tmp_path / "workspace")


@pytest.fixture
def body(model_file: Path) -> dict:
    return {
        "id": "run_1",
        "input_model": {"precision": "fp32", "path": str(model_file)},
        "optimized_model": {"precision": "int8", "path": str(model_file)},
    }


def test_minimal_request_gets_defaults(body, settings, model_file):
    request = parse_benchmark_request(body, settings, [0, 1, 2, 3, 4, 5, 6, 7, 8])

    assert request.id == "run_1"
    assert (request.instances, request.cores_per_instance) == (2, 4)
    assert request.core_sets == ((0, 1, 2, 3), (4, 5, 6, 7))
    assert (request.batch_size, request.warmup, request.iterations) == (1, 10, 100)
    assert request.duration == 3.0
    assert request.input_model.modes == ("performance",)
    assert request.workload_dir == settings["WORKSPACE"] / "workloads" / "model_run_1"


def test_small_machine_uses_all_its_cores(body, settings):
    request = parse_benchmark_request(body, settings, [0, 1])

    assert (request.instances, request.cores_per_instance) == (1, 2)


def test_instances_alone_share_the_cores(body, settings):
    body["instances"] = 3
    request = parse_benchmark_request(body, settings, list(range(6)))

    assert (request.instances, request.cores_per_instance) == (3, 2)
    assert request.core_sets == ((0, 1), (2, 3), (4, 5))


@pytest.mark.parametrize("key", ["mode", "mods"])
@pytest.mark.parametrize(
    ("value", "modes"),
    [("benchmark", ("performance",)), (["performance", "benchmark"], ("performance",))],
)
def test_mode_spellings(body, settings, key, value, modes):
    body["input_model"][key] = value

    assert parse_benchmark_request(body, settings, [0]).input_model.modes == modes


def test_one_stop_rule_given_leaves_out_the_other_default(body, settings):
    body["iterations"] = 5

    request = parse_benchmark_request(body, settings, [0])

    assert (request.iterations, request.duration) == (5, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(iteration=5), "^iteration: unknown field; did you mean 'iterations'[?]$"),
        (lambda b: b.update(colour=1), "^colour: unknown field; the fields are id, "),
        (lambda b: b["input_model"].update(pth="/x"), "^input_model.pth: unknown field; did you mean 'path'"),
        (lambda b: b.update(id="x" * 1000), r"^id: 'x{74}\.\.\.' is not a valid"),
        (lambda b: b.update(id="ok\n"), r"^id: 'ok\\n' is not a valid"),
    ],
)
def test_unknown_fields_and_long_values(body, settings, change, message):
    change(body)

    with pytest.raises(RequestError, match=message):
        parse_benchmark_request(body, settings, [0])


def test_workspace_path_is_taken(body, settings, tmp_path):
    body["workspace_path"] = str(tmp_path / "other")

    assert parse_benchmark_request(body, settings, [0]).workspace == tmp_path / "other"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop("id"), "^id: the field is required"),
        (lambda b: b.update(id="-bad"), "^id: '-bad' is not a valid workload id"),
        (lambda b: b.update(id="a" * 65), "^id: .* is not a valid workload id"),
        (lambda b: b.update(id="a/b"), "^id: 'a/b'"),
        (lambda b: b.update(id=7), "^id: 7"),
        (lambda b: b.pop("input_model"), "^input_model: the field is required"),
        (lambda b: b.update(optimized_model="x.pb"), "^optimized_model: expected an object"),
        (lambda b: b["input_model"].pop("precision"), "^input_model.precision: expected"),
        (lambda b: b["input_model"].update(precision=" "), "^input_model.precision"),
        (lambda b: b["optimized_model"].update(path=3), "^optimized_model.path: expected"),
        (
            lambda b: b["optimized_model"].update(path="/no/such.pb"),
            "^optimized_model.path: '/no/such.pb' does not exist",
        ),
        (lambda b: b["input_model"].update(mode="fast"), "^input_model.mode: unknown mode 'fast'"),
        (lambda b: b["input_model"].update(mods=[]), "^input_model.mods: expected"),
        (lambda b: b["input_model"].update(mode=[1]), "^input_model.mode: expected"),
        (lambda b: b["input_model"].update(mode="accuracy"), "^dataset: accuracy needs a labelled"),
        (lambda b: b["input_model"].update(framework="torch"), "^input_model.framework: unknown"),
        (lambda b: b["input_model"].update(framework="onnxrt"), "^input_model.framework: 'model.pb' is a frozen graph model, which runs on tensorflow, not onnxrt"),
        (lambda b: b["input_model"].update(signature=""), "^input_model.signature: expected"),
        (lambda b: b.update(batch_size=1 << 21), "^batch_size: must be at most 1048576"),
        (lambda b: b.update(rounds=0), "^rounds: must be at least 1"),
        (lambda b: b.update(duration=0), "^duration: must be between"),
        (lambda b: b.update(duration="5"), "^duration: expected a number of seconds"),
        (lambda b: b.update(max_duration=float("nan")), "^max_duration: expected a number"),
        (lambda b: b.update(warmup_duration=-1), "^warmup_duration: must be between"),
        (lambda b: b.update(input_shapes=[1]), "^input_shapes: expected a map"),
        (lambda b: b.update(input_shapes={"x": [0, 3]}), r"^input_shapes.x: expected a list of sizes"),
        (lambda b: b.update(input_shapes={"x": "1,3"}), r"^input_shapes.x: expected"),
        (lambda b: b.update(dataset={"path": "/no/val.npz"}), "^dataset.path: '/no/val.npz' does not exist"),
        (lambda b: b.update(dataset="val.npz"), "^dataset: expected"),
        (lambda b: b.update(dataset={"path": ""}), "^dataset: expected"),
        (lambda b: b.update(batch_size=0), "^batch_size: must be at least 1, got 0"),
        (lambda b: b.update(batch_size="8"), "^batch_size: expected an integer, got '8'"),
        (lambda b: b.update(batch_size=True), "^batch_size: expected an integer"),
        (lambda b: b.update(warmup=-1), "^warmup: must be at least 0"),
        (lambda b: b.update(iterations=0), "^iterations: must be at least 1"),
        (lambda b: b.update(iterations=2.5), "^iterations: expected an integer"),
        (lambda b: b.update(instances=0), "^instances: must be at least 1"),
        (lambda b: b.update(cores_per_instance=0), "^cores_per_instance: must be at least 1"),
        (lambda b: b.update(instances=3), "^instances: 3 instances x 1 cores per instance need 3"),
        (
            lambda b: b.update(instances=2, cores_per_instance=2),
            "^instances: 2 instances x 2 cores .* only 2 are usable",
        ),
        (lambda b: b.update(cores_per_instance=5), "need 5 cores, but only 2"),
        (lambda b: b.update(workspace_path=5), "^workspace_path: expected"),
    ],
)
def test_bad_fields_are_named(body, settings, change, message):
    change(body)

    with pytest.raises(RequestError, match=message):
        parse_benchmark_request(body, settings, [0, 1])


def test_accuracy_takes_a_dataset_and_metric(body, settings, model_file):
    body["optimized_model"]["mode"] = ["performance", "accuracy"]
    body.update(dataset={"path": str(model_file)}, metric={"topk": 5})

    request = parse_benchmark_request(body, settings, [0])

    assert request.models[1].modes == ("performance", "accuracy")
    assert (request.dataset, request.topk) == (model_file, 5)


@pytest.mark.parametrize("metric", [{"topk": 0}, {"topk": "1"}, "top1"])
def test_bad_metric_is_named(body, settings, model_file, metric):
    body.update(dataset={"path": str(model_file)}, metric=metric)

    with pytest.raises(RequestError, match="^metric: expected"):
        parse_benchmark_request(body, settings, [0])


@pytest.mark.parametrize(
    ("name", "is_dir", "framework", "model_format"),
    [
        ("m.pb", False, "tensorflow", "frozen_graph"),
        ("m.keras", False, "tensorflow", "keras"),
        ("m.H5", False, "tensorflow", "keras"),
        ("m.tflite", False, "tflite", "tflite"),
        ("m.onnx", False, "onnxrt", "onnx"),
        ("saved", True, "tensorflow", "saved_model"),
    ],
)
def test_framework_is_detected(body, settings, tmp_path, name, is_dir, framework, model_format):
    path = tmp_path / name
    if is_dir:
        path.mkdir()
        (path / "saved_model.pb").write_bytes(b"")
    else:
        path.write_bytes(b"")
    body["optimized_model"]["path"] = str(path)

    model = parse_benchmark_request(body, settings, [0]).models[1]

    assert (model.framework, model.model_format) == (framework, model_format)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a folder without saved_model.pb"),
        (lambda p: p.write_bytes(b""), "cannot tell what kind of model 'thing' is"),
    ],
)
def test_unknown_model_kinds_are_refused(body, settings, tmp_path, make, message):
    make(tmp_path / "thing")
    body["input_model"]["path"] = str(tmp_path / "thing")

    with pytest.raises(RequestError, match=f"^input_model.path: .*{message}"):
        parse_benchmark_request(body, settings, [0])


def test_stop_rules(body, settings):
    body.update(duration=2.5, warmup_duration=1, max_duration=30, rounds=3)

    request = parse_benchmark_request(body, settings, [0])

    assert (request.duration, request.iterations) == (2.5, None)
    assert (request.warmup_duration, request.max_duration, request.rounds) == (1.0, 30.0, 3)
    body["iterations"] = 50
    assert parse_benchmark_request(body, settings, [0]).iterations == 50


def test_workspace_path_that_is_a_file(body, settings, model_file):
    body["workspace_path"] = str(model_file)

    with pytest.raises(RequestError, match="^workspace_path: .* is not a folder"):
        parse_benchmark_request(body, settings, [0])


@pytest.mark.parametrize("body", [None, [], "text", 3])
def test_body_must_be_an_object(body, settings):
    with pytest.raises(RequestError, match="JSON object"):
        parse_benchmark_request(body, settings, [0])


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"id": "ok.1"}, "ok.1"), ({"id": "-no"}, None), ({"id": 1}, None), ([], None)],
)
def test_read_id(body, expected):
    assert read_id(body) == expected
