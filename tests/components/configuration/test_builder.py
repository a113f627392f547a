"""The configuration builder, from requests and real tiny models."""

from pathlib import Path

import pytest
import yaml

from lpot_ux.components.benchmark.request import parse_benchmark_request
from lpot_ux.components.configuration.builder import ConfigurationBuilder
from lpot_ux.errors import ConfigurationError
from lpot_ux.settings import default_settings

from fixtures.graphs import attr, field, node, shape


def make_request(models: dict, tmp_path: Path, **settings):
    body = {
        "id": "cfg",
        "input_model": {"precision": "fp32", "path": str(models["fp32"])},
        "optimized_model": {"precision": "int8", "path": str(models["int8"])},
        **settings,
    }
    return parse_benchmark_request(body, dict(default_settings(), WORKSPACE=tmp_path), [0, 1])


def test_config_describes_model_and_settings(tiny_models, tmp_path):
    request = make_request(tiny_models, tmp_path, batch_size=4, warmup=3, iterations=7)

    config = ConfigurationBuilder().build_config(request)

    assert config["model"] == {
        "name": "tiny_fp32",
        "framework": "tensorflow",
        "inputs": ["input"],
        "outputs": ["Identity"],
        "input_shapes": {},
        "signature": None,
    }
    performance = config["evaluation"]["performance"]
    assert (performance["warmup"], performance["iteration"]) == (3, 7)
    assert (performance["duration"], performance["warmup_duration"]) == (None, None)
    assert performance["max_duration"] == 600
    assert "accuracy" not in config["evaluation"]
    assert performance["configs"] == {
        "cores_per_instance": 2,
        "num_of_instance": 1,
        "inter_num_of_threads": 1,
        "intra_num_of_threads": 2,
    }
    assert performance["dataloader"]["batch_size"] == 4
    assert performance["dataloader"]["dataset"]["dummy_v2"] == {
        "input_shape": [[32, 32, 3]],
        "dtype": ["float32"],
    }


def test_config_is_written_as_yaml(tiny_models, tmp_path):
    request = make_request(tiny_models, tmp_path)
    builder = ConfigurationBuilder()
    config = builder.build_config(request)

    path = builder.write_config(config, request.workload_dir)

    assert path == tmp_path / "workloads" / "tiny_fp32_cfg" / "config.yaml"
    assert yaml.safe_load(path.read_text()) == config
    assert not list(path.parent.glob("*.tmp"))


def test_unreadable_model_is_left_to_the_worker(tmp_path):
    corrupt = tmp_path / "corrupt.pb"
    corrupt.write_bytes(b"\x0a\xff\xff")
    request = make_request({"fp32": corrupt, "int8": corrupt}, tmp_path)

    config = ConfigurationBuilder().build_config(request)

    assert config["model"]["inputs"] == []
    assert config["evaluation"]["performance"]["dataloader"]["dataset"]["dummy_v2"]["input_shape"] == []


@pytest.fixture
def odd_graph(tmp_path: Path):
    """Write a graph whose input has the shape given."""
    def write(*dims: int) -> Path:
        graph = node("x", "Placeholder", attrs=attr("dtype", field(6, 0, b"\x01")) + attr("shape", shape(*dims)))
        path = tmp_path / "odd.pb"
        path.write_bytes(graph + node("y", "Identity", ["x"]))
        return path

    return write


def test_unknown_dimension_is_named(odd_graph, tmp_path):
    path = odd_graph(-1, -1, 3)
    request = make_request({"fp32": path, "int8": path}, tmp_path)

    with pytest.raises(ConfigurationError, match=r"^input_shapes: input 'x' has shape \[\?, \?, 3\]: dimension 1 is unknown"):
        ConfigurationBuilder().build_config(request)


def test_unknown_dimension_is_filled_from_input_shapes(odd_graph, tmp_path):
    path = odd_graph(-1, -1, 3)
    request = make_request({"fp32": path, "int8": path}, tmp_path, batch_size=2, input_shapes={"x": [-1, 7, 3]})

    config = ConfigurationBuilder().build_config(request)

    assert config["evaluation"]["performance"]["dataloader"]["dataset"]["dummy_v2"]["input_shape"] == [[7, 3]]
    assert config["model"]["input_shapes"] == {"x": [-1, 7, 3]}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ([-1, 7], r"does not fit the model's shape \[\?, \?, 3\]"),
        ([-1, 7, 4], r"does not fit the model's shape \[\?, \?, 3\]"),
        ([2, 7, 3], "its batch dimension 2 differs from batch_size 1"),
    ],
)
def test_input_shapes_must_fit_the_model(odd_graph, tmp_path, given, message):
    path = odd_graph(-1, -1, 3)
    request = make_request({"fp32": path, "int8": path}, tmp_path, input_shapes={"x": given})

    with pytest.raises(ConfigurationError, match=r"^input_shapes.x: .*" + message):
        ConfigurationBuilder().build_config(request)


def test_accuracy_section(tiny_models, tmp_path):
    request = make_request(
        tiny_models, tmp_path, dataset={"path": str(tiny_models["fp32"])}, metric={"topk": 3}
    )

    config = ConfigurationBuilder().build_config(request)

    assert config["evaluation"]["accuracy"] == {
        "dataset": {"path": str(tiny_models["fp32"])},
        "metric": {"topk": 3},
        "batch_size": 1,
    }


def test_fixed_batch_dimension_must_match(odd_graph, tmp_path):
    path = odd_graph(1, 5)
    request = make_request({"fp32": path, "int8": path}, tmp_path, batch_size=8)

    with pytest.raises(ConfigurationError, match="^batch_size: input 'x' has a fixed batch dimension of 1"):
        ConfigurationBuilder().build_config(request)
