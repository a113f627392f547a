"""Tests of the demo models: real tiny graphs, inspected in a child process."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lpot_ux.components.demo import models

BUILD_TIMEOUT = 300
# Run in a child process, so that TensorFlow stays out of the test process.
DESCRIBE = """
import json
import sys
from pathlib import Path

import tensorflow as tf

from lpot_ux.components.demo.models import build_demo_models, quantized_op_types


def describe(path):
    graph_def = tf.compat.v1.GraphDef.FromString(path.read_bytes())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    return {
        "path": str(path),
        "placeholders": {
            op.name: op.outputs[0].shape.as_list()
            for op in graph.get_operations()
            if op.type == "Placeholder"
        },
        "nodes": [node.name for node in graph_def.node],
        "quantized": quantized_op_types(graph_def),
    }


descriptions = []
for directory in sys.argv[1:]:
    paths = build_demo_models(Path(directory), "tiny")
    descriptions.append({key: describe(path) for key, path in paths.items()})
print(json.dumps(descriptions))
"""


def describe(*directories: Path) -> list[dict]:
    """Build (or find) the tiny pair in each folder, in a child process."""
    completed = subprocess.run(
        [sys.executable, "-c", DESCRIBE, *map(str, directories)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    return json.loads(completed.stdout.splitlines()[-1])


def stamps(paths: list[Path]) -> list[tuple[int, int]]:
    """Return the inode and modification time of files, to tell a rewrite."""
    return [(path.stat().st_ino, path.stat().st_mtime_ns) for path in paths]


@pytest.fixture(scope="module")
def builds(tiny_models, tmp_path_factory) -> dict:
    """Build twice: over the session's ready pair, and over a broken int8 model."""
    ready = tiny_models["fp32"].parent
    broken = tmp_path_factory.mktemp("broken")
    shutil.copy(tiny_models["fp32"], broken / "tiny_fp32.pb")
    (broken / "tiny_int8.pb").write_bytes(b"\x0a\xff\xff\xff\xff\x0fnot a graph")
    paths = [tiny_models["fp32"], tiny_models["int8"], broken / "tiny_fp32.pb"]
    before = stamps(paths)
    ready_pair, rebuilt_pair = describe(ready, broken)

    return {
        "ready": ready_pair,
        "rebuilt": rebuilt_pair,
        "broken": broken,
        "unchanged": stamps(paths) == before,
    }


@pytest.fixture(scope="module")
def tiny(builds) -> dict:
    """Describe the session's tiny pair."""
    return builds["ready"]


def test_build_writes_the_pair_by_kind(tiny, tiny_models):
    directory = tiny_models["fp32"].parent

    assert tiny["fp32"]["path"] == str(directory / "tiny_fp32.pb")
    assert tiny["int8"]["path"] == str(directory / "tiny_int8.pb")
    assert sorted(path.name for path in directory.iterdir()) == [
        "tiny_fp32.pb",
        "tiny_int8.pb",
    ]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_models_keep_input_and_output_names(tiny, precision):
    assert tiny[precision]["placeholders"] == {"input": [None, 32, 32, 3]}
    assert models.OUTPUT_NODE in tiny[precision]["nodes"]


def test_int8_model_computes_with_quantized_ops(tiny):
    assert tiny["fp32"]["quantized"] == []
    assert "QuantizeV2" in tiny["int8"]["quantized"]
    assert any(name.startswith("QuantizedConv2D") for name in tiny["int8"]["quantized"])
    assert any(name.startswith("QuantizedMatMul") for name in tiny["int8"]["quantized"])


def test_build_leaves_ready_models_alone(builds):
    assert builds["unchanged"]


def test_build_requantizes_an_unloadable_int8_model(builds):
    quantized = builds["rebuilt"]["int8"]["quantized"]

    assert any(name.startswith("QuantizedConv2D") for name in quantized)
    assert sorted(path.name for path in builds["broken"].iterdir()) == [
        "tiny_fp32.pb",
        "tiny_int8.pb",
    ]


def test_build_refuses_unknown_kind(tmp_path):
    with pytest.raises(models.DemoModelError, match="'resnet'"):
        models.build_demo_models(tmp_path, kind="resnet")

    assert list(tmp_path.iterdir()) == []


def test_calibration_data_is_batches_of_the_input_shape():
    batches = list(models.CalibrationData((32, 32, 3), batches=3, batch_size=2))

    assert len(batches) == 3
    for batch, label in batches:
        assert batch.shape == (2, 32, 32, 3)
        assert batch.dtype == np.float32
        assert 0.0 <= batch.min() and batch.max() < 1.0
        assert label == 0


def test_write_atomically_replaces_whole_file(tmp_path):
    path = tmp_path / "model.pb"
    path.write_bytes(b"old")
    umask = os.umask(0o022)
    os.umask(umask)

    models.write_atomically(path, b"new content")

    assert path.read_bytes() == b"new content"
    assert list(tmp_path.iterdir()) == [path]
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
