"""Load a model of any kind the worker runs, and call it on prebuilt inputs.

Kinds: a frozen TensorFlow graph (.pb), a SavedModel folder, a Keras file
(.keras or .h5), a TFLite flatbuffer (.tflite) and an ONNX graph (.onnx). Each
runtime is imported only when a model of its kind is loaded, TensorFlow after
the process has been pinned, so that it sizes its thread pools for its cores.
"""

import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings
from .errors import MODEL_EXIT, BenchmarkError, warn
from .formats import SUFFIXES

# The format of a file whose suffix says nothing, by the framework asked for.
DEFAULT_FORMATS = {
    "tensorflow": "frozen_graph",
    "tflite": "tflite",
    "onnxrt": "onnx",
}
FORMAT_NAMES = {
    "frozen_graph": "a frozen TensorFlow graph",
    "saved_model": "a TensorFlow SavedModel",
    "keras": "a Keras model",
    "tflite": "a TFLite model",
    "onnx": "an ONNX model",
}
SAVED_MODEL_FILE = "saved_model.pb"
# The flatbuffer file identifier of TFLite models, at bytes 4 to 8.
TFLITE_IDENTIFIER = b"TFL3"
DEFAULT_SIGNATURE = "serving_default"
# Node types that end a graph without being a result of it.
NON_OUTPUT_TYPES = {
    "Assert",
    "Const",
    "HostConst",
    "NoOp",
    "Placeholder",
    "PlaceholderWithDefault",
    "Print",
    "PrintV2",
    "SaveV2",
    "RestoreV2",
    "VarHandleOp",
    "VariableV2",
}
# ONNX element types whose numpy name differs from the ONNX one.
ONNX_DTYPES = {"float": "float32", "double": "float64", "string": "object"}


@dataclass
class Threads:
    """The thread counts the runtime is to use."""

    intra: int
    inter: int


@dataclass
class InputSpec:
    """One input of a model: its name, its sizes (None unknown) and its dtype."""

    name: str
    # None where even the rank is unknown.
    dims: list[int | None] | None
    # A numpy dtype, or the runtime's own name of a type numpy cannot hold.
    dtype: Any


class Runner:
    """A loaded model: its inputs and outputs, and how to call it."""

    framework = ""
    model_format = ""
    runtime_version = ""
    tensorflow_version: str | None = None
    onednn = False

    def __init__(self, threads: Threads) -> None:
        """Keep the thread counts; each kind imports its runtime here."""
        self.threads = threads
        self.inputs: list[InputSpec] = []
        self.outputs: list[str] = []
        self.load_ms = 0.0

    def load(self, path: str, settings: Settings) -> None:
        """Load the model and find its inputs and outputs."""
        raise NotImplementedError

    def bind(self, arrays: list[np.ndarray]) -> Callable[[], Any]:
        """Return a call that runs the model once on these arrays, prepared."""
        raise NotImplementedError

    def predict(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Run the model on one batch and return its first output."""
        raise NotImplementedError

    def explain(self, error: Exception) -> str:
        """Return the runtime's own account of a failed run, on one line."""
        return one_line(error)


def detect_format(path: str, framework: str | None) -> tuple[str, str]:
    """Return the framework and format of a model, refusing a mismatch."""
    model = Path(path)
    if not model.exists():
        raise BenchmarkError(f"model {path!r} does not exist")

    if model.is_dir():
        found = ("tensorflow", "saved_model")
        if not (model / SAVED_MODEL_FILE).is_file():
            raise BenchmarkError(
                f"cannot load model {path!r}: the folder holds no "
                f"{SAVED_MODEL_FILE}; give a SavedModel folder or a model file",
                MODEL_EXIT,
            )
    else:
        found = SUFFIXES.get(model.suffix.lower())

    if found is None:
        framework = framework or "tensorflow"
        return framework, DEFAULT_FORMATS[framework]

    if framework is not None and framework != found[0]:
        raise BenchmarkError(
            f"model {path!r} is {FORMAT_NAMES[found[1]]}; run it with "
            f"--framework {found[0]}, not --framework {framework}"
        )

    return found


def load_model(
    path: str, model_format: str, settings: Settings, threads: Threads
) -> Runner:
    """Load a model of the given format and return its runner."""
    runners = {
        "frozen_graph": FrozenGraph,
        "saved_model": SavedModel,
        "keras": KerasModel,
        "tflite": TFLiteModel,
        "onnx": OnnxModel,
    }
    # The runtime's import is left out of load_ms: it is the same for any model.
    runner = runners[model_format](threads)
    start = time.perf_counter()
    runner.load(path, settings)
    runner.load_ms = (time.perf_counter() - start) * 1000

    return runner


@contextmanager
def failing_as(action: str, path: str, explain: Callable[[Exception], str]) -> Iterator[None]:
    """Turn a runtime's failure to load or run a model into a BenchmarkError.

    Runtimes fail in many types (protobuf's DecodeError, TensorFlow's OpError,
    TFLite's RuntimeError, onnxruntime's own); each means the same to the
    user: this model cannot be loaded, or run, here.
    """
    try:
        yield
    except BenchmarkError:
        raise
    except Exception as error:
        raise BenchmarkError(f"cannot {action} model {path!r}: {explain(error)}", MODEL_EXIT) from error


def loading(path: str) -> Any:
    """Turn a runtime's failure to load a model into a BenchmarkError."""

    return failing_as("load", path, one_line)


def one_line(error: Exception) -> str:
    """Return an error's text with its lines and spaces run together."""
    text = str(getattr(error, "message", None) or error)

    return " ".join(text.split()) or type(error).__name__


def import_tensorflow(threads: Threads) -> Any:
    """Import TensorFlow quietly, with oneDNN on and the thread counts given."""
    # Both must be in the environment before TensorFlow is first imported. The
    # int8 graphs of Neural Compressor run only with oneDNN, which TensorFlow
    # turns on by itself only on CPUs with AVX-512 VNNI or newer; so it is on
    # unless the user chose otherwise, and fp32 and int8 are measured alike.
    quiet = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    import tensorflow as tf

    if quiet:
        tf.get_logger().setLevel("ERROR")

    tf.config.threading.set_intra_op_parallelism_threads(threads.intra)
    tf.config.threading.set_inter_op_parallelism_threads(threads.inter)

    return tf


def onednn_enabled() -> bool:
    """Tell whether TensorFlow runs with oneDNN in this process."""
    try:
        from tensorflow.python.util._pywrap_util_port import IsMklEnabled
    except ImportError:
        # A private module: without it, trust the switch the user can see.
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").lower() in ("1", "true")

    return bool(IsMklEnabled())


def tensor_dims(shape: Any) -> list[int | None] | None:
    """Return a TensorFlow shape as a list of sizes, None for an unknown rank."""
    return None if shape.rank is None else shape.as_list()


def numpy_dtype(dtype: Any) -> Any:
    """Return a TensorFlow dtype as a numpy dtype, or its name if it has none."""
    try:
        return np.dtype(dtype.as_numpy_dtype)
    except TypeError:
        return dtype.name


class TensorFlowRunner(Runner):
    """What the TensorFlow kinds share: the runtime and its description."""

    framework = "tensorflow"

    def __init__(self, threads: Threads) -> None:
        """Import TensorFlow, set to the thread counts given."""
        super().__init__(threads)
        self.tf = import_tensorflow(threads)
        self.runtime_version = self.tf.__version__
        self.tensorflow_version = self.tf.__version__
        self.onednn = onednn_enabled()


class FrozenGraph(TensorFlowRunner):
    """A frozen GraphDef, run by a TF1 session through a prebuilt callable."""

    model_format = "frozen_graph"

    def load(self, path: str, settings: Settings) -> None:
        """Import the graph and open a session on it."""
        tf = self.tf
        with loading(path):
            graph_def = tf.compat.v1.GraphDef.FromString(Path(path).read_bytes())
            if not graph_def.node:
                raise ValueError("the file holds no graph nodes")

            self.graph = tf.Graph()
            with self.graph.as_default():
                tf.compat.v1.import_graph_def(graph_def, name="")

        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=self.threads.intra,
            inter_op_parallelism_threads=self.threads.inter,
        )
        self.session = tf.compat.v1.Session(graph=self.graph, config=config)
        self.feeds = find_placeholders(self.graph, settings.inputs)
        self.fetches = find_ends(self.graph, settings.outputs)
        self.inputs = [placeholder_spec(op) for op in self.feeds]
        self.outputs = [op.name for op in self.fetches]
        self.run: Callable[..., Any] | None = None

    def callable(self) -> Callable[..., Any]:
        """Return the session's callable, made once."""
        # It does the feed and fetch bookkeeping of Session.run ahead of time,
        # so that a call times little but the graph.
        if self.run is None:
            self.run = self.session.make_callable(
                [op.outputs[0] for op in self.fetches],
                feed_list=[op.outputs[0] for op in self.feeds],
            )

        return self.run

    def bind(self, arrays: list[np.ndarray]) -> Callable[[], Any]:
        """Return a call that runs the graph once on these arrays."""
        return partial(self.callable(), *arrays)

    def predict(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Run the graph on one batch and return its first output."""
        return self.callable()(*arrays)[0]

    def explain(self, error: Exception) -> str:
        """Return TensorFlow's last line, with the fix when it is known."""
        # Its last line names the failing node and what went wrong; the lines
        # above it repeat the node and where the graph was built.
        lines = str(getattr(error, "message", error)).strip().splitlines() or [""]
        message = " ".join(lines[-1].split())
        types = {op.type for op in self.graph.get_operations()}
        if not onednn_enabled() and any("Quantized" in name for name in types):
            message += (
                "; its quantized ops run only with oneDNN: "
                "unset TF_ENABLE_ONEDNN_OPTS or set it to 1"
            )

        return message


def placeholder_spec(op: Any) -> InputSpec:
    """Describe the tensor a graph node feeds."""
    tensor = op.outputs[0]

    return InputSpec(op.name, tensor_dims(tensor.shape), numpy_dtype(tensor.dtype))


def find_placeholders(graph: Any, configured: list[str]) -> list[Any]:
    """Choose the nodes to feed: the configured ones, else all placeholders."""
    operations = graph.get_operations()
    placeholders = [op for op in operations if op.type == "Placeholder"]
    known = {op.name for op in operations}
    if configured and all(name in known for name in configured):
        return [graph.get_operation_by_name(name) for name in configured]

    if configured:
        warn(
            f"model inputs {configured} are not all in the graph; "
            f"feeding its placeholders {[op.name for op in placeholders]}"
        )

    return placeholders


def find_ends(graph: Any, configured: list[str]) -> list[Any]:
    """Choose the nodes to fetch: the configured ones, else the graph's ends."""
    operations = graph.get_operations()
    known = {op.name for op in operations}
    if configured and all(name in known for name in configured):
        return [graph.get_operation_by_name(name) for name in configured]

    consumed = set()
    for op in operations:
        consumed.update(tensor.op.name for tensor in op.inputs)
        consumed.update(control.name for control in op.control_inputs)

    ends = [
        op
        for op in operations
        if op.name not in consumed and op.outputs and op.type not in NON_OUTPUT_TYPES
    ]
    if configured:
        warn(
            f"model outputs {configured} are not all in the graph; "
            f"fetching its end nodes {[op.name for op in ends]}"
        )

    if not ends:
        raise BenchmarkError("the graph has no output node to fetch", MODEL_EXIT)

    return ends


class SavedModel(TensorFlowRunner):
    """A SavedModel, run through the concrete function of one signature."""

    model_format = "saved_model"

    def load(self, path: str, settings: Settings) -> None:
        """Load the SavedModel and choose its signature."""
        with loading(path):
            self.loaded = self.tf.saved_model.load(path)

        self.signature = choose_signature(
            path, sorted(self.loaded.signatures), settings.signature
        )
        self.function = self.loaded.signatures[self.signature]
        _, specs = self.function.structured_input_signature
        self.inputs = [
            InputSpec(name, tensor_dims(spec.shape), numpy_dtype(spec.dtype))
            for name, spec in sorted(specs.items())
        ]
        # Signatures return a mapping, flattened in the order of its keys.
        self.outputs = sorted(self.function.structured_outputs)

    def tensors(self, arrays: list[np.ndarray]) -> dict[str, Any]:
        """Return the arrays as tensors, by signature input name."""
        return {
            spec.name: self.tf.constant(array)
            for spec, array in zip(self.inputs, arrays)
        }

    def bind(self, arrays: list[np.ndarray]) -> Callable[[], Any]:
        """Return a call of the signature's function on these arrays."""
        return partial(self.function, **self.tensors(arrays))

    def predict(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Run the signature on one batch and return its first output."""
        return self.function(**self.tensors(arrays))[self.outputs[0]].numpy()


def choose_signature(path: str, signatures: list[str], chosen: str | None) -> str:
    """Return the signature to run: the chosen one, the default, or the only one."""
    if not signatures:
        raise BenchmarkError(
            f"cannot load model {path!r}: the SavedModel has no signatures; "
            "save it with one",
            MODEL_EXIT,
        )

    listed = ", ".join(signatures)
    if chosen is not None:
        if chosen not in signatures:
            raise BenchmarkError(
                f"SavedModel {path!r} has no signature {chosen!r}; its signatures "
                f"are: {listed}; set model.signature to one of them"
            )

        return chosen

    if DEFAULT_SIGNATURE in signatures:
        return DEFAULT_SIGNATURE

    if len(signatures) == 1:
        return signatures[0]

    raise BenchmarkError(
        f"SavedModel {path!r} has several signatures and none is "
        f"{DEFAULT_SIGNATURE}: {listed}; choose one with model.signature"
    )


class KerasModel(TensorFlowRunner):
    """A .keras or .h5 file, run through a tf.function of its forward pass."""

    model_format = "keras"

    def load(self, path: str, settings: Settings) -> None:
        """Load the Keras model, uncompiled, and trace nothing yet."""
        with loading(path):
            self.model = self.tf.keras.models.load_model(path, compile=False)
            tensors = self.model.inputs

        self.inputs = [
            InputSpec(tensor.name, list(tensor.shape), np.dtype(tensor.dtype))
            for tensor in tensors
        ]
        # Keras names outputs after their layers; the tensors' own names are
        # made up at load time ("keras_tensor_11").
        self.outputs = list(getattr(self.model, "output_names", None) or [])
        self.outputs = self.outputs or [tensor.name for tensor in self.model.outputs]
        # model.predict does batching and callbacks on every call; a traced
        # forward pass is what serving a Keras model runs.
        self.forward = self.tf.function(
            lambda inputs: self.model(inputs, training=False)
        )

    def structure(self, arrays: list[np.ndarray]) -> Any:
        """Return the arrays as tensors, shaped as the model takes them."""
        tensors = [self.tf.constant(array) for array in arrays]

        return tensors[0] if len(tensors) == 1 else tensors

    def bind(self, arrays: list[np.ndarray]) -> Callable[[], Any]:
        """Return a call of the forward pass, traced for these arrays."""
        inputs = self.structure(arrays)

        return partial(self.forward.get_concrete_function(inputs), inputs)

    def predict(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Run the forward pass on one batch and return its first output."""
        outputs = self.forward(self.structure(arrays))

        return self.tf.nest.flatten(outputs)[0].numpy()


def import_tflite_interpreter(threads: Threads) -> tuple[Any, Any]:
    """Return TFLite's Interpreter class and TensorFlow, or LiteRT's class."""
    tf = import_tensorflow(threads)
    # TensorFlow 2.21 still ships tf.lite.Interpreter, though it warns on every
    # use that LiteRT replaces it; that is news for the developer, not the user.
    warnings.filterwarnings(
        "ignore", message=r"[\s\S]*tf\.lite\.Interpreter is deprecated"
    )
    interpreter = getattr(tf.lite, "Interpreter", None)
    if interpreter is not None:
        return interpreter, tf

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise BenchmarkError(
            f"TensorFlow {tf.__version__} has no tf.lite.Interpreter; "
            "install LiteRT with 'pip install ai-edge-litert'",
            MODEL_EXIT,
        ) from error

    return Interpreter, None


class TFLiteModel(Runner):
    """A TFLite flatbuffer, run by the interpreter on inputs set once."""

    framework = "tflite"
    model_format = "tflite"

    def __init__(self, threads: Threads) -> None:
        """Import the TFLite interpreter."""
        super().__init__(threads)
        self.interpreter_class, tf = import_tflite_interpreter(threads)
        if tf is not None:
            self.runtime_version = self.tensorflow_version = tf.__version__
        else:
            self.runtime_version = package_version("ai-edge-litert")

    def load(self, path: str, settings: Settings) -> None:
        """Load the flatbuffer into an interpreter and allocate its tensors."""
        with loading(path):
            check_tflite_identifier(path)
            self.interpreter = self.interpreter_class(
                model_path=path, num_threads=self.threads.intra
            )
            self.interpreter.allocate_tensors()

        details = self.interpreter.get_input_details()
        self.indexes = [detail["index"] for detail in details]
        self.shapes = [list(detail["shape"]) for detail in details]
        self.inputs = [
            InputSpec(detail["name"], signature_dims(detail), np.dtype(detail["dtype"]))
            for detail in details
        ]
        outputs = self.interpreter.get_output_details()
        self.outputs = [detail["name"] for detail in outputs]
        self.first_output = outputs[0]["index"]

    def set_inputs(self, arrays: list[np.ndarray]) -> None:
        """Resize the input tensors to the arrays where needed, then fill them."""
        shapes = [list(array.shape) for array in arrays]
        if shapes != self.shapes:
            for index, shape in zip(self.indexes, shapes):
                self.interpreter.resize_tensor_input(index, shape, strict=True)

            self.interpreter.allocate_tensors()
            self.shapes = shapes

        for index, array in zip(self.indexes, arrays):
            self.interpreter.set_tensor(index, array)

    def bind(self, arrays: list[np.ndarray]) -> Callable[[], Any]:
        """Fill the inputs once and return the interpreter's invoke."""
        # The inputs stay in the interpreter's tensors from call to call, as in
        # TFLite's own benchmark tool.
        self.set_inputs(arrays)

        return self.interpreter.invoke

    def predict(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Run the interpreter on one batch and return its first output."""
        self.set_inputs(arrays)
        self.interpreter.invoke()

        return self.interpreter.get_tensor(self.first_output)


def check_tflite_identifier(path: str) -> None:
    """Refuse a file that is not a TFLite flatbuffer, naming what it holds."""
    # The interpreter's own complaint quotes the file's bytes, which Python
    # cannot always decode: the user would read a UnicodeDecodeError instead.
    with open(path, "rb") as file:
        identifier = file.read(8)[4:]

    if identifier != TFLITE_IDENTIFIER:
        raise BenchmarkError(
            f"cannot load model {path!r}: it is not a TFLite flatbuffer (its "
            f"identifier is {identifier!r}, not {TFLITE_IDENTIFIER!r})",
            MODEL_EXIT,
        )


def signature_dims(detail: dict) -> list[int | None]:
    """Return the sizes of a TFLite tensor, None where it may be resized."""
    sizes = detail.get("shape_signature")
    if sizes is None or len(sizes) != len(detail["shape"]):
        sizes = detail["shape"]

    return [None if size < 0 else int(size) for size in sizes]


def package_version(name: str) -> str:
    """Return the installed version of a package, empty when unknown."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return ""


def import_onnxruntime() -> Any:
    """Import onnxruntime, or say how to install it."""
    try:
        import onnxruntime
    except ImportError as error:
        raise BenchmarkError(
            f"onnxruntime cannot be imported ({error}); "
            "install it with 'pip install onnxruntime'",
            MODEL_EXIT,
        ) from error

    return onnxruntime


class OnnxModel(Runner):
    """An ONNX graph, run by onnxruntime's CPU provider."""

    framework = "onnxrt"
    model_format = "onnx"

    def __init__(self, threads: Threads) -> None:
        """Import onnxruntime."""
        super().__init__(threads)
        self.ort = import_onnxruntime()
        self.runtime_version = self.ort.__version__

    def load(self, path: str, settings: Settings) -> None:
        """Open an inference session on the graph, on the CPU provider."""
        ort = self.ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads.intra
        options.inter_op_num_threads = self.threads.inter
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only
        with loading(path):
            self.session = ort.InferenceSession(
                path, options, providers=["CPUExecutionProvider"]
            )

        self.inputs = [
            InputSpec(node.name, onnx_dims(node.shape), onnx_dtype(node.type))
            for node in self.session.get_inputs()
        ]
        self.outputs = [node.name for node in self.session.get_outputs()]

    def feed(self, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Return the arrays by input name."""
        return {spec.name: array for spec, array in zip(self.inputs, arrays)}

    def bind(self, arrays: list[np.ndarray]) -> Callable[[], Any]:
        """Return a call of the session on these arrays."""
        return partial(self.session.run, self.outputs, self.feed(arrays))

    def predict(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Run the session on one batch and return its first output."""
        return self.session.run(self.outputs[:1], self.feed(arrays))[0]


def onnx_dims(shape: Any) -> list[int | None] | None:
    """Return an ONNX shape with None for its symbolic or unknown sizes."""
    if shape is None:
        return None

    return [size if isinstance(size, int) and size > 0 else None for size in shape]


def onnx_dtype(type_name: str) -> Any:
    """Return the numpy dtype of an ONNX tensor type such as 'tensor(float)'."""
    if not (type_name.startswith("tensor(") and type_name.endswith(")")):
        return type_name

    element = type_name[len("tensor(") : -1]
    try:
        return np.dtype(ONNX_DTYPES.get(element, element))
    except TypeError:
        return type_name
