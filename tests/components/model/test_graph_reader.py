"""Reading frozen graphs without TensorFlow, against graphs TensorFlow wrote."""

from pathlib import Path

import pytest

from lpot_ux.components.model.graph_reader import (
    TensorSpec,
    read_graph_signature,
    read_varint,
    to_signed,
)
from lpot_ux.errors import ConfigurationError

from fixtures.graphs import attr, field, node, shape


def test_tiny_models_read_like_tensorflow_wrote_them(tiny_models):
    for path in tiny_models.values():
        signature = read_graph_signature(path)

        assert signature.inputs == (TensorSpec("input", "float32", (None, 32, 32, 3)),)
        assert signature.outputs == ("Identity",)


def test_hand_made_graph(tmp_path: Path):
    graph = (
        node("ids", "Placeholder", attrs=attr("dtype", field(6, 0, b"\x03")) + attr("shape", shape(-1, 7)))
        + node("mask", "Placeholder", attrs=attr("dtype", field(6, 0, b"\x0a")))
        + node("w", "Const")
        + node("mul", "Mul", ["ids", "w:0"])
        + node("out", "Identity", ["mul", "^mask"])
        + node("aux", "Identity", ["mul:1"])
    )
    path = tmp_path / "g.pb"
    path.write_bytes(graph)

    signature = read_graph_signature(path)

    assert signature.inputs == (
        TensorSpec("ids", "int32", (None, 7)),
        TensorSpec("mask", "bool", None),
    )
    assert signature.outputs == ("out", "aux")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "the file is empty"), (b"\x0a\xff\xff", "Cannot read"), (b"hello world", "Cannot read|no named")],
)
def test_unreadable_files_are_named(tmp_path: Path, content, message):
    path = tmp_path / "bad.pb"
    path.write_bytes(content)

    with pytest.raises(ConfigurationError, match=message):
        read_graph_signature(path)


def test_varints():
    assert read_varint(memoryview(b"\xac\x02"), 0) == (300, 2)
    assert to_signed((1 << 64) - 1) == -1


def test_zeros_are_refused_at_once(tmp_path: Path):
    path = tmp_path / "zeros.pb"
    with open(path, "wb") as zeros:
        zeros.truncate(64 << 20)

    with pytest.raises(ConfigurationError, match="field number 0 at byte 0"):
        read_graph_signature(path)
