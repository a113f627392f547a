"""Make demo models locally: an fp32 frozen graph and its int8 twin.

Nothing is downloaded: the Keras models get random weights, and the int8 graph
is calibrated on random data. TensorFlow and Neural Compressor are imported
inside the functions that use them, so that the server can import this module
without loading TensorFlow.
"""

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from lpot_ux.errors import LpotUxError

logger = logging.getLogger(__name__)

# Per-sample input shape of each kind, without the batch dimension.
INPUT_SHAPES = {
    "mobilenet_v2": (224, 224, 3),
    "tiny": (32, 32, 3),
}
INPUT_NODE = "input"
OUTPUT_NODE = "Identity"
# Random batches that calibrate the int8 ranges; few, as they are random anyway.
CALIBRATION_BATCHES = 4
CALIBRATION_SEED = 0
INC_LOGGER = "neural_compressor"


class DemoModelError(LpotUxError):
    """A demo model could not be built."""


class CalibrationData:
    """Batches of random inputs in the loader form Neural Compressor reads."""

    def __init__(
        self, shape: tuple[int, ...], batches: int, batch_size: int = 1
    ) -> None:
        self.shape = shape
        self.batches = batches
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        # Uniform in [0, 1), like the synthetic data of the benchmark worker, so
        # that the calibrated ranges fit what is measured.
        rng = np.random.default_rng(CALIBRATION_SEED)
        for _ in range(self.batches):
            batch = rng.random((self.batch_size, *self.shape), dtype=np.float32)
            yield batch, 0


def build_demo_models(directory: Path, kind: str = "mobilenet_v2") -> dict[str, Path]:
    """Build the fp32 and int8 models of a kind, unless both already load."""
    if kind not in INPUT_SHAPES:
        raise DemoModelError(
            f"unknown demo model kind {kind!r}; choose one of {sorted(INPUT_SHAPES)}"
        )

    directory = Path(directory)
    paths = {
        "fp32": directory / f"{kind}_fp32.pb",
        "int8": directory / f"{kind}_int8.pb",
    }
    fp32_graph = read_graph(paths["fp32"])
    if fp32_graph is not None and read_graph(paths["int8"]) is not None:
        logger.info("Demo models [%s] are ready in %s", kind, directory)
        return paths

    directory.mkdir(parents=True, exist_ok=True)
    if fp32_graph is None:
        fp32_graph = freeze(make_keras_model(kind), INPUT_SHAPES[kind])
        write_atomically(paths["fp32"], fp32_graph.SerializeToString())

    int8_graph = quantize(fp32_graph, INPUT_SHAPES[kind])
    write_atomically(paths["int8"], int8_graph.SerializeToString())
    logger.info("Built demo models [%s] in %s", kind, directory)

    return paths


def read_graph(path: Path) -> Any | None:
    """Return the GraphDef in a file, or None where it is missing or unreadable."""
    import tensorflow as tf

    try:
        graph_def = tf.compat.v1.GraphDef.FromString(path.read_bytes())
    # protobuf's DecodeError among others: any failure means "build it again".
    except Exception as error:
        if path.exists():
            logger.warning("Rebuilding %s, which does not load: %s", path, error)

        return None

    return graph_def if graph_def.node else None


def make_keras_model(kind: str) -> Any:
    """Make the Keras model of a kind, with random weights."""
    import tensorflow as tf

    shape = INPUT_SHAPES[kind]
    if kind == "mobilenet_v2":
        return tf.keras.applications.MobileNetV2(weights=None, input_shape=shape)

    layers = tf.keras.layers
    inputs = tf.keras.Input(shape, name=INPUT_NODE)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10)(x)

    return tf.keras.Model(inputs, outputs, name="tiny")


def freeze(model: Any, shape: tuple[int, ...]) -> Any:
    """Freeze a Keras model to a GraphDef with its batch dimension left open."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec((None, *shape), tf.float32, name=INPUT_NODE)
    function = tf.function(lambda batch: model(batch, training=False))
    frozen = convert_variables_to_constants_v2(function.get_concrete_function(spec))
    graph_def = frozen.graph.as_graph_def()
    check_node_names(graph_def)

    return graph_def


def check_node_names(graph_def: Any) -> None:
    """Check that the frozen graph has the input and output nodes documented."""
    names = {node.name for node in graph_def.node}
    missing = {INPUT_NODE, OUTPUT_NODE} - names
    if missing:
        raise DemoModelError(
            f"the frozen demo graph lacks the nodes {sorted(missing)}; "
            "TensorFlow named them differently"
        )


def quantize(graph_def: Any, shape: tuple[int, ...]) -> Any:
    """Quantize an fp32 GraphDef to int8 with Neural Compressor's static PTQ."""
    from neural_compressor.tensorflow import Model, StaticQuantConfig, quantize_model

    data = CalibrationData(shape, CALIBRATION_BATCHES)
    # Neural Compressor's workspace defaults to ./nc_workspace/<time>/ in the
    # current directory; a temporary one leaves nothing behind.
    with quiet_logger(INC_LOGGER), tempfile.TemporaryDirectory() as workspace:
        try:
            model = Model(graph_def, conf={"workspace_path": workspace})
            int8_model = quantize_model(
                model, StaticQuantConfig(), data, calib_iteration=data.batches
            )
        # Neural Compressor reports failures with bare asserts and exceptions
        # of many types; each means the same: no int8 model.
        except Exception as error:
            raise DemoModelError(
                f"Neural Compressor could not quantize the demo model: {error}"
            ) from error

    int8_graph = int8_model.graph_def
    check_quantized(int8_graph)

    return int8_graph


def quantized_op_types(graph_def: Any) -> list[str]:
    """Return the quantized op types of a GraphDef, sorted."""
    types = {node.op for node in graph_def.node}

    return sorted(name for name in types if "Quantize" in name)


def check_quantized(graph_def: Any) -> None:
    """Check that an int8 GraphDef really computes with quantized ops."""
    types = quantized_op_types(graph_def)
    # QuantizeV2 alone only converts tensors; a quantized kernel must compute.
    if not any("Quantized" in name for name in types):
        raise DemoModelError(
            f"Neural Compressor left no quantized compute op in the graph "
            f"(quantize ops: {types}); the int8 model would run in fp32"
        )

    check_node_names(graph_def)
    logger.info("Quantized op types: %s", ", ".join(types))


@contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Raise a chatty library logger to ERROR for a while, unless debugging."""
    # Neural Compressor logs every graph pass at INFO and harmless guesses at
    # WARNING, on a handler of its own.
    library = logging.getLogger(name)
    level = library.level
    if not logger.isEnabledFor(logging.DEBUG):
        library.setLevel(logging.ERROR)

    try:
        yield
    finally:
        library.setLevel(level)


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new, never half."""
    # A name of our own opened with "x", unlike mkstemp's, keeps the umask's
    # permissions, so the model is as readable as any other file written here.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    try:
        with open(temporary, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())

        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

    logger.debug("Wrote %s (%d bytes)", path, len(data))
