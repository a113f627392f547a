"""Read the inputs and outputs of a frozen TensorFlow graph without TensorFlow.

The server must never import TensorFlow, yet the configuration it writes names
the model's inputs, their shapes and its outputs.  A frozen graph is a
``GraphDef`` protocol buffer, and the handful of fields needed here (node
name, op, inputs, and the ``dtype``/``shape`` attributes of placeholders) can
be read straight off the protobuf wire format, which is stable by design.
"""

import mmap
from dataclasses import dataclass
from pathlib import Path

from lpot_ux.errors import ConfigurationError

# Protobuf wire types.
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5

# Field numbers, from tensorflow/core/framework/{graph,node_def,attr_value,
# tensor_shape}.proto.
GRAPH_NODE = 1
NODE_NAME, NODE_OP, NODE_INPUT, NODE_ATTR = 1, 2, 3, 5
ENTRY_KEY, ENTRY_VALUE = 1, 2
ATTR_TYPE, ATTR_SHAPE = 6, 7
SHAPE_DIM, SHAPE_UNKNOWN_RANK = 2, 3
DIM_SIZE = 1

# The DataType enum values a synthetic input can be made of.
DTYPES = {
    1: "float32",
    2: "float64",
    3: "int32",
    4: "uint8",
    5: "int16",
    6: "int8",
    7: "string",
    9: "int64",
    10: "bool",
    14: "bfloat16",
    17: "uint16",
    19: "float16",
    22: "uint32",
    23: "uint64",
}

# Ops whose outputs are never what a user means by "the model's output".
NON_OUTPUT_OPS = {"NoOp", "Const", "Placeholder", "PlaceholderWithDefault", "Assert"}


@dataclass(frozen=True)
class TensorSpec:
    """An input of a graph: its name, element type and shape (None: unknown)."""

    name: str
    dtype: str
    shape: tuple[int | None, ...] | None


@dataclass(frozen=True)
class GraphSignature:
    """The inputs a graph must be fed and the outputs worth fetching."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[str, ...]


def read_varint(buffer: memoryview, position: int) -> tuple[int, int]:
    """Return the varint at position and the position after it."""
    result = shift = 0
    while True:
        if position >= len(buffer):
            raise ValueError("truncated varint")
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 64 bits")


def iter_fields(buffer: memoryview):
    """Yield (field number, wire type, value) for each field of a message."""
    position = 0
    while position < len(buffer):
        key, position = read_varint(buffer, position)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            # Field 0 does not exist: this is not a protocol buffer (a file of
            # zeros would otherwise be walked one byte at a time).
            raise ValueError("field number 0 at byte %d" % (position - 1))
        if wire_type == VARINT:
            value, position = read_varint(buffer, position)
        elif wire_type == LENGTH_DELIMITED:
            length, position = read_varint(buffer, position)
            if position + length > len(buffer):
                raise ValueError("field runs past the end of its message")
            value = buffer[position : position + length]
            position += length
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            value = buffer[position : position + size]
            position += size
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        yield number, wire_type, value


def to_signed(value: int) -> int:
    """Interpret a 64-bit varint as a two's complement integer."""

    return value - (1 << 64) if value >= 1 << 63 else value


def read_shape(buffer: memoryview) -> tuple[int | None, ...] | None:
    """Return the dimensions of a TensorShapeProto, None for an unknown rank."""
    dims = []
    for number, _, value in iter_fields(buffer):
        if number == SHAPE_UNKNOWN_RANK and value:
            return None
        if number == SHAPE_DIM:
            size = -1
            for dim_number, wire_type, dim_value in iter_fields(value):
                if dim_number == DIM_SIZE and wire_type == VARINT:
                    size = to_signed(dim_value)
            dims.append(size if size >= 0 else None)

    return tuple(dims)


def read_attrs(node: dict, buffer: memoryview) -> None:
    """Add the dtype and shape attributes of one attr map entry to node."""
    key, value = "", None
    for number, _, field in iter_fields(buffer):
        if number == ENTRY_KEY:
            key = bytes(field).decode("utf-8", "replace")
        elif number == ENTRY_VALUE:
            value = field
    if key not in ("dtype", "shape") or value is None:
        return

    for number, wire_type, field in iter_fields(value):
        if key == "dtype" and number == ATTR_TYPE and wire_type == VARINT:
            node["dtype"] = DTYPES.get(field, f"dtype_{field}")
        elif key == "shape" and number == ATTR_SHAPE:
            node["shape"] = read_shape(field)


def read_node(buffer: memoryview) -> dict:
    """Return the name, op, inputs and placeholder attributes of a NodeDef."""
    node: dict = {"name": "", "op": "", "inputs": []}
    for number, wire_type, value in iter_fields(buffer):
        if wire_type != LENGTH_DELIMITED:
            continue
        if number == NODE_NAME:
            node["name"] = bytes(value).decode("utf-8", "replace")
        elif number == NODE_OP:
            node["op"] = bytes(value).decode("utf-8", "replace")
        elif number == NODE_INPUT:
            node["inputs"].append(bytes(value).decode("utf-8", "replace"))
        elif number == NODE_ATTR:
            read_attrs(node, value)

    return node


def producer_name(tensor_name: str) -> str:
    """Return the node behind an input reference like '^dep' or 'conv:1'."""

    return tensor_name.lstrip("^").split(":", 1)[0]


def read_graph_signature(path: Path) -> GraphSignature:
    """Return the placeholders and the unconsumed outputs of a frozen graph."""
    try:
        if Path(path).stat().st_size == 0:
            raise ValueError("the file is empty")
        with open(path, "rb") as model, mmap.mmap(model.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            # Mapped, not read: the weights, most of the file, are skipped
            # over and never loaded.
            buffer = memoryview(mapped)
            try:
                nodes = [
                    read_node(value)
                    for number, wire_type, value in iter_fields(buffer)
                    if number == GRAPH_NODE and wire_type == LENGTH_DELIMITED
                ]
            finally:
                buffer.release()
    except (OSError, ValueError) as error:
        raise ConfigurationError(
            f"Cannot read '{path}' as a frozen TensorFlow graph: {error}."
        ) from error
    if not nodes or not all(node["name"] and node["op"] for node in nodes):
        raise ConfigurationError(
            f"'{path}' is not a frozen TensorFlow graph: it holds no named nodes."
        )

    consumed = {producer_name(name) for node in nodes for name in node["inputs"]}
    inputs = tuple(
        TensorSpec(node["name"], node.get("dtype", "float32"), node.get("shape"))
        for node in nodes
        if node["op"] == "Placeholder"
    )
    outputs = tuple(
        node["name"]
        for node in nodes
        if node["name"] not in consumed and node["op"] not in NON_OUTPUT_OPS
    )

    return GraphSignature(inputs, outputs)
