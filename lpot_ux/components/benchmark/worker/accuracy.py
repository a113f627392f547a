"""Score a model's top-k accuracy on a labelled dataset.

Datasets understood:

    an .npz file    the samples of each input and their labels: "inputs" and
                    "labels" (or "x" and "y") for a model of one input, else
                    one array per input name, plus "labels"
    a folder        one sub-folder of images per class; the sorted folder
                    names are the label ids. The images are decoded with
                    TensorFlow, resized to the model's height and width and
                    scaled to [0, 1], channels last.
"""

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings
from .errors import BenchmarkError
from .feeds import describe_dims, same_name
from .models import InputSpec, Runner, one_line

INPUT_KEYS = ("inputs", "x")
LABEL_KEYS = ("labels", "y")
IMAGE_SUFFIXES = {".bmp", ".gif", ".jpeg", ".jpg", ".png"}
# The channel counts TensorFlow decodes images to.
IMAGE_CHANNELS = (1, 3, 4)
PIXEL_MAX = 255.0


@dataclass
class Dataset:
    """Labelled samples, read a batch at a time."""

    labels: np.ndarray
    # The shape of one sample of each input.
    sample_shapes: list[list[int]]
    # read(start, stop) returns the samples start..stop-1 of every input.
    read: Callable[[int, int], list[np.ndarray]]


@dataclass
class Score:
    """How many samples had their label among the top k predictions."""

    hits: int
    samples: int
    topk: int

    @property
    def accuracy(self) -> float:
        """Return the share of hits."""
        return self.hits / self.samples


def load_dataset(inputs: list[InputSpec], settings: Settings) -> Dataset:
    """Open the dataset that evaluation.accuracy names, checked against the model."""
    path = settings.accuracy.dataset
    if path is None:
        raise BenchmarkError(
            "accuracy mode needs a dataset; give its path as "
            "evaluation.accuracy.dataset.path in config.yaml"
        )

    if not Path(path).exists():
        raise BenchmarkError(f"dataset {path!r} does not exist")

    if Path(path).is_dir():
        dataset = load_image_folder(Path(path), inputs, settings)
    else:
        dataset = load_npz(path, inputs)

    for spec, shape in zip(inputs, dataset.sample_shapes):
        check_sample_shape(path, spec, shape, settings.accuracy.batch_size)

    return dataset


def load_npz(path: str, inputs: list[InputSpec]) -> Dataset:
    """Read the samples and labels of an .npz file."""
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.lib.npyio.NpzFile):
            with archive:
                arrays = {name: archive[name] for name in archive.files}
    # ValueError too for arrays of Python objects, which are not loaded.
    except (EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        raise BenchmarkError(
            f"cannot read dataset {path!r} as an .npz file: {one_line(error)}"
        ) from error

    # An .npy file loads as one bare array, without labels beside it.
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise BenchmarkError(
            f"cannot read dataset {path!r} as an .npz file: it holds one array "
            "and no labels; save samples and labels together with numpy.savez"
        )

    labels = read_labels(path, pick(arrays, LABEL_KEYS, path, "labels"))
    samples = [npz_samples(path, arrays, spec, len(inputs)) for spec in inputs]
    for spec, array in zip(inputs, samples):
        if len(array) != len(labels):
            raise BenchmarkError(
                f"dataset {path!r} has {len(labels)} labels but {len(array)} "
                f"samples of input {spec.name!r}"
            )

    def read(start: int, stop: int) -> list[np.ndarray]:
        return [array[start:stop] for array in samples]

    return Dataset(labels, [list(array.shape[1:]) for array in samples], read)


def npz_samples(
    path: str, arrays: dict[str, np.ndarray], spec: InputSpec, count: int
) -> np.ndarray:
    """Return the samples of one input, in the input's dtype."""
    if not isinstance(spec.dtype, np.dtype):
        raise BenchmarkError(
            f"input {spec.name!r} has dtype {spec.dtype}, which an .npz dataset "
            "cannot feed"
        )

    keys = [name for name in arrays if same_name(name, spec.name)]
    if count == 1:
        keys += [key for key in INPUT_KEYS if key in arrays]

    if not keys:
        raise BenchmarkError(
            f"dataset {path!r} has no samples for input {spec.name!r}: name its "
            f"array {spec.name!r}"
            + (" or 'inputs'" if count == 1 else "")
            + f"; it holds {sorted(arrays)}"
        )

    array = arrays[keys[0]]
    if array.ndim == 0:
        raise BenchmarkError(
            f"dataset {path!r}: array {keys[0]!r} is a single number, not samples"
        )

    return array.astype(spec.dtype, copy=False)


def pick(arrays: dict[str, np.ndarray], keys: tuple, path: str, what: str) -> Any:
    """Return the first array found under one of the keys."""
    for key in keys:
        if key in arrays:
            return arrays[key]

    raise BenchmarkError(
        f"dataset {path!r} has no {what}: name them {' or '.join(map(repr, keys))}; "
        f"it holds {sorted(arrays)}"
    )


def read_labels(path: str, labels: np.ndarray) -> np.ndarray:
    """Return the labels as class ids, from ids or one-hot rows."""
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    elif labels.ndim == 2:
        labels = labels.argmax(axis=1)

    whole = labels.dtype.kind in "iu" or (
        labels.dtype.kind == "f" and np.array_equal(labels, np.round(labels))
    )
    if labels.ndim != 1 or not whole or (labels.size and labels.min() < 0):
        raise BenchmarkError(
            f"dataset {path!r} has labels of shape {list(labels.shape)} and dtype "
            f"{labels.dtype}; give one class id (an integer >= 0) per sample"
        )

    if not labels.size:
        raise BenchmarkError(f"dataset {path!r} holds no samples")

    return labels.astype(np.int64)


def load_image_folder(
    folder: Path, inputs: list[InputSpec], settings: Settings
) -> Dataset:
    """List the images of a folder of class folders, to be decoded by batch."""
    if len(inputs) != 1:
        raise BenchmarkError(
            f"dataset {str(folder)!r} is a folder of images, which feeds models of "
            f"one input; this model has {len(inputs)}: use an .npz dataset"
        )

    height, width, channels = image_size(inputs[0], settings)
    classes = sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".")
    )
    files, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted((folder / name).iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                files.append(file)
                labels.append(label)

    if not files:
        raise BenchmarkError(
            f"dataset folder {str(folder)!r} holds no images: put the images of "
            f"each class ({', '.join(sorted(IMAGE_SUFFIXES))}) in a sub-folder "
            "named after the class"
        )

    read = partial(decode_images, files, (height, width, channels), inputs[0].dtype)

    return Dataset(np.array(labels, np.int64), [[height, width, channels]], read)


def image_size(spec: InputSpec, settings: Settings) -> tuple[int, int, int]:
    """Return the height, width and channels of an image input (NHWC)."""
    dims = spec.dims
    for name, given in settings.input_shapes.items():
        if same_name(name, spec.name):
            dims = given

    shown = "unknown" if dims is None else describe_dims(dims)
    if dims is None or len(dims) != 4:
        raise BenchmarkError(
            f"input {spec.name!r} has shape {shown}, not [batch, height, width, "
            "channels]; images feed only such inputs"
        )

    if None in dims[1:]:
        raise BenchmarkError(
            f"input {spec.name!r} has shape {shown}: its image size is unknown; "
            "give it in input_shapes, such as [-1, 224, 224, 3]"
        )

    if dims[3] not in IMAGE_CHANNELS:
        raise BenchmarkError(
            f"input {spec.name!r} has shape {shown}, with {dims[3]} channels last; "
            f"images decode to {', '.join(map(str, IMAGE_CHANNELS))} channels"
        )

    return dims[1], dims[2], dims[3]


def decode_images(
    files: list[Path], size: tuple[int, int, int], dtype: Any, start: int, stop: int
) -> list[np.ndarray]:
    """Decode, resize and scale the images start..stop-1 into one batch."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    height, width, channels = size
    batch = np.empty((stop - start, height, width, channels), np.float32)
    for position, file in enumerate(files[start:stop]):
        try:
            image = tf.io.decode_image(
                file.read_bytes(), channels=channels, expand_animations=False
            )
        except (OSError, tf.errors.OpError) as error:
            raise BenchmarkError(
                f"cannot decode image {str(file)!r}: {one_line(error)}"
            ) from error

        batch[position] = tf.image.resize(image, (height, width)).numpy()

    # An integer input, as of a quantized model, takes the pixel values as
    # they are; [0, 1] would round them all to 0 or 1.
    if np.dtype(dtype).kind in "iu":
        return [np.round(batch).astype(dtype)]

    return [(batch / PIXEL_MAX).astype(dtype)]


def check_sample_shape(
    path: str, spec: InputSpec, sample: list[int], batch_size: int
) -> None:
    """Check that batches of these samples fit the model's input."""
    if spec.dims is None:
        return

    fits = len(spec.dims) == len(sample) + 1 and all(
        size is None or size == given for size, given in zip(spec.dims[1:], sample)
    )
    if not fits:
        raise BenchmarkError(
            f"dataset {path!r} has samples of shape {sample} for input "
            f"{spec.name!r}, which takes {describe_dims(spec.dims)}"
        )

    if spec.dims[0] is not None and spec.dims[0] != batch_size:
        raise BenchmarkError(
            f"input {spec.name!r} has shape {describe_dims(spec.dims)}: its batch "
            f"dimension is fixed at {spec.dims[0]}; set evaluation.accuracy."
            f"batch_size to {spec.dims[0]}"
        )


def evaluate(runner: Runner, dataset: Dataset, batch_size: int, topk: int) -> Score:
    """Run the model over the dataset and count its top-k hits."""
    samples = len(dataset.labels)
    hits = 0
    for start in range(0, samples, batch_size):
        stop = min(start + batch_size, samples)
        # A short last batch is filled up to the batch size, so that models of
        # a fixed batch size (and traced functions) see one shape throughout.
        batch = [fill_batch(array, batch_size) for array in dataset.read(start, stop)]
        outputs = runner.predict(batch)[: stop - start]
        hits += count_hits(outputs, dataset.labels[start:stop], topk)

    return Score(hits, samples, topk)


def fill_batch(array: np.ndarray, batch_size: int) -> np.ndarray:
    """Repeat the last sample of a short batch until it holds batch_size."""
    missing = batch_size - len(array)
    if missing == 0:
        return array

    return np.concatenate([array, np.repeat(array[-1:], missing, axis=0)])


def count_hits(outputs: np.ndarray, labels: np.ndarray, topk: int) -> int:
    """Return how many rows of scores have their label among their top k."""
    scores = np.asarray(outputs, dtype=np.float64)
    if scores.ndim != 2:
        raise BenchmarkError(
            f"the model's first output has shape {list(np.shape(outputs))}, not "
            "[batch, classes]; top-k accuracy needs one score per class"
        )

    classes = scores.shape[1]
    if topk > classes:
        raise BenchmarkError(
            f"top-{topk} accuracy needs at least {topk} classes; the model's "
            f"first output has {classes}"
        )

    if labels.max() >= classes:
        raise BenchmarkError(
            f"the dataset has label {labels.max()}, but the model's first output "
            f"scores only {classes} classes (0 to {classes - 1})"
        )

    # Stable, so that tied scores rank the lower class id first.
    top = np.argsort(-scores, axis=1, kind="stable")[:, :topk]

    return int((top == labels[:, None]).any(axis=1).sum())
