"""Tests of the worker's accuracy mode: datasets, top-k, and real runs."""

import numpy as np
import pytest
from fixtures.models import (
    COLOURS,
    last_error,
    parse_accuracy,
    run_worker,
    shared_tiny_models,
    worker_command,
    worker_env,
    write_config,
    write_png,
)

from lpot_ux.components.benchmark.worker import accuracy
from lpot_ux.components.benchmark.worker.config import AccuracySettings, Settings
from lpot_ux.components.benchmark.worker.errors import BenchmarkError
from lpot_ux.components.benchmark.worker.models import InputSpec

IMAGE = InputSpec("image", [None, 8, 8, 3], np.dtype("float32"))


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """Return the tiny models of every kind."""
    return shared_tiny_models(tmp_path_factory)


def settings_for(dataset, batch_size: int = 2, topk: int = 1, **fields) -> Settings:
    """Return settings asking for accuracy on a dataset."""
    return Settings(accuracy=AccuracySettings(str(dataset), topk, batch_size), **fields)


def scores_and_labels(rows: int, wrong: int) -> tuple[np.ndarray, np.ndarray]:
    """Return rows of 5 scores and labels whose first `wrong` are not the top."""
    scores = np.random.default_rng(0).random((rows, 5), dtype=np.float32)
    labels = scores.argmax(axis=1)
    labels[:wrong] = (labels[:wrong] + 1) % 5

    return scores, labels


class IdentityModel:
    """A model whose first output is its first input."""

    def __init__(self) -> None:
        self.batches: list[tuple] = []

    def predict(self, arrays: list[np.ndarray]) -> np.ndarray:
        self.batches.append(arrays[0].shape)
        return arrays[0]


@pytest.mark.parametrize(("topk", "hits"), [(1, 1), (2, 3)])
def test_count_hits(topk, hits):
    scores = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.3, 0.3, 0.4]])

    assert accuracy.count_hits(scores, np.array([1, 1, 0]), topk) == hits


@pytest.mark.parametrize(
    ("scores", "labels", "topk", "message"),
    [
        (np.zeros(3), [0, 0, 0], 1, r"shape \[3\], not \[batch, classes\]"),
        (np.zeros((2, 3)), [0, 0], 4, "top-4 accuracy needs at least 4 classes"),
        (np.zeros((2, 3)), [0, 3], 1, "label 3, but the model's first output"),
    ],
)
def test_count_hits_refuses(scores, labels, topk, message):
    with pytest.raises(BenchmarkError, match=message):
        accuracy.count_hits(scores, np.array(labels), topk)


def test_evaluate_fills_the_last_batch_and_counts_only_real_samples():
    scores, labels = scores_and_labels(10, wrong=3)
    dataset = accuracy.Dataset(labels, [[5]], lambda a, b: [scores[a:b]])
    model = IdentityModel()

    score = accuracy.evaluate(model, dataset, batch_size=4, topk=1)

    assert (score.hits, score.samples, score.accuracy) == (7, 10, 0.7)
    assert model.batches == [(4, 5)] * 3


@pytest.mark.parametrize(
    ("labels", "ids"),
    [
        ([2, 0, 1], [2, 0, 1]),
        ([[2], [0]], [2, 0]),
        ([[0, 0, 1], [1, 0, 0]], [2, 0]),
        ([1.0, 3.0], [1, 3]),
    ],
)
def test_read_labels(labels, ids):
    assert accuracy.read_labels("d", np.array(labels)).tolist() == ids


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([0.5, 1.0], "give one class id"),
        ([-1, 2], "give one class id"),
        ([[[1]]], "give one class id"),
        (np.zeros(0, np.int64), "holds no samples"),
    ],
)
def test_read_labels_refuses(labels, message):
    with pytest.raises(BenchmarkError, match=message):
        accuracy.read_labels("d", np.array(labels))


@pytest.mark.parametrize(
    ("arrays", "inputs"),
    [
        ({"inputs": "x", "labels": "y"}, ["image"]),
        ({"x": "x", "y": "y"}, ["image"]),
        ({"image": "x", "labels": "y"}, ["image"]),
        ({"image": "x", "mask": "mask", "labels": "y"}, ["image", "mask"]),
    ],
)
def test_load_npz_finds_the_arrays(tmp_path, arrays, inputs):
    data = {
        "x": np.ones((3, 8, 8, 3), np.float64),
        "mask": np.ones((3, 4), np.int64),
        "y": np.array([0, 1, 2]),
    }
    path = tmp_path / "data.npz"
    np.savez(path, **{key: data[value] for key, value in arrays.items()})
    specs = {"image": IMAGE, "mask": InputSpec("mask", [None, 4], np.dtype(bool))}

    dataset = accuracy.load_dataset(
        [specs[name] for name in inputs], settings_for(path)
    )

    assert dataset.labels.tolist() == [0, 1, 2]
    batch = dataset.read(1, 3)
    assert batch[0].shape == (2, 8, 8, 3) and batch[0].dtype == np.float32
    assert dataset.sample_shapes[0] == [8, 8, 3]
    if len(inputs) == 2:
        assert batch[1].dtype == bool


@pytest.mark.parametrize(
    ("arrays", "batch_size", "message"),
    [
        ({"inputs": (3, 8, 8, 3)}, 2, "has no labels: name them 'labels' or 'y'"),
        ({"other": (3, 8, 8, 3), "labels": (3,)}, 2, "no samples for input 'image'"),
        ({"inputs": (4, 8, 8, 3), "labels": (3,)}, 2, "has 3 labels but 4 samples"),
        ({"inputs": (3, 8, 8, 1), "labels": (3,)}, 2, r"shape \[8, 8, 1\] for input"),
        ({"inputs": (3, 8, 3), "labels": (3,)}, 2, r"shape \[8, 3\] for input"),
    ],
)
def test_load_npz_refuses(tmp_path, arrays, batch_size, message):
    path = tmp_path / "data.npz"
    np.savez(path, **{key: np.zeros(shape) for key, shape in arrays.items()})

    with pytest.raises(BenchmarkError, match=message):
        accuracy.load_dataset([IMAGE], settings_for(path, batch_size))


def test_load_dataset_refuses_a_batch_size_the_model_fixes(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, inputs=np.zeros((3, 4)), labels=np.zeros(3))
    spec = InputSpec("x", [1, 4], np.dtype("float32"))

    with pytest.raises(BenchmarkError, match="batch_size to 1"):
        accuracy.load_dataset([spec], settings_for(path, batch_size=2))


@pytest.mark.parametrize(
    ("make", "dataset", "message"),
    [
        (None, None, "accuracy mode needs a dataset"),
        (None, "missing.npz", "does not exist"),
        (lambda path: path.write_text("labels"), "data.npz", "cannot read dataset"),
        (lambda path: np.save(path, np.zeros(3)), "data.npy", "as an .npz file"),
    ],
)
def test_load_dataset_refuses_files(tmp_path, make, dataset, message):
    path = tmp_path / dataset if dataset else None
    if make:
        make(path)

    settings = Settings(accuracy=AccuracySettings(None if path is None else str(path)))
    with pytest.raises(BenchmarkError, match=message):
        accuracy.load_dataset([IMAGE], settings)


@pytest.mark.parametrize(
    ("dims", "shapes", "size"),
    [
        ([None, 8, 6, 3], {}, (8, 6, 3)),
        ([None, None, None, 1], {"image": [-1, 5, 7, 1]}, (5, 7, 1)),
    ],
)
def test_image_size(dims, shapes, size):
    spec = InputSpec("image", dims, np.dtype("float32"))

    assert accuracy.image_size(spec, Settings(input_shapes=shapes)) == size


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        ([None, 8, 3], "not \\[batch, height, width, channels\\]"),
        (None, "has shape unknown"),
        ([None, None, None, 3], "its image size is unknown; give it in input_shapes"),
        ([None, 8, 8, 5], "with 5 channels last"),
    ],
)
def test_image_size_refuses(dims, message):
    spec = InputSpec("image", dims, np.dtype("float32"))

    with pytest.raises(BenchmarkError, match=message):
        accuracy.image_size(spec, Settings())


def test_image_folder_refuses_models_of_several_inputs(tmp_path):
    mask = InputSpec("mask", [None, 4], np.dtype(bool))

    with pytest.raises(BenchmarkError, match="this model has 2: use an .npz dataset"):
        accuracy.load_dataset([IMAGE, mask], settings_for(tmp_path))


def test_image_folder_without_images_is_refused(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "notes.txt").write_text("no image here")

    with pytest.raises(BenchmarkError, match="holds no images"):
        accuracy.load_dataset([IMAGE], settings_for(tmp_path))


# Real workers: ONNX scores as it is; images are decoded by TensorFlow.


def test_worker_scores_an_npz_dataset(zoo, tmp_path):
    scores, labels = scores_and_labels(10, wrong=3)
    np.savez(tmp_path / "data.npz", x=scores, y=labels)
    wanted = {"dataset": {"path": str(tmp_path / "data.npz")}, "batch_size": 4}
    config = write_config(tmp_path / "config.yaml", accuracy=wanted)
    command = worker_command(zoo["identity_onnx"], config, mode="accuracy")
    # Accuracy mode has no barrier, even where the environment asks for one.
    completed = run_worker(command, worker_env(cores="0", barrier=True))

    assert completed.returncode == 0, completed.stderr
    result = parse_accuracy(completed.stdout)
    assert "lpot_ux: ready" not in completed.stdout
    assert result["accuracy"] == 0.7
    assert (result["metric"], result["samples"], result["batch_size"]) == (
        "top1",
        10,
        4,
    )
    assert result["inputs"] == {"x": {"shape": [4, 5], "dtype": "float32"}}
    assert (result["framework"], result["model_format"]) == ("onnxrt", "onnx")


def test_worker_names_a_dataset_problem(zoo, tmp_path):
    np.savez(tmp_path / "data.npz", x=np.zeros((4, 5)), y=np.zeros(3))
    wanted = {"dataset": {"path": str(tmp_path / "data.npz")}}
    config = write_config(tmp_path / "config.yaml", accuracy=wanted)
    command = worker_command(zoo["identity_onnx"], config, mode="accuracy")
    completed = run_worker(command)

    assert completed.returncode == 2
    assert last_error(completed.stderr) == (
        f"error: dataset '{tmp_path / 'data.npz'}' has 3 labels but 4 samples of "
        "input 'x'"
    )


def test_worker_scores_an_image_folder(zoo, tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    misfiled = folder / COLOURS[0] / "blue.png"
    for channel, colour in enumerate(COLOURS):
        (folder / colour).mkdir(parents=True)
        for number in range(2):
            pixels = rng.integers(0, 60, (20, 24, 3))
            pixels[..., channel] += 150
            write_png(folder / colour / f"{number}.png", pixels)

    write_png(misfiled, np.full((12, 10, 3), (0, 0, 255)))
    (folder / COLOURS[1] / "notes.txt").write_text("not an image")
    (folder / ".cache").mkdir()
    wanted = {"dataset": {"path": str(folder)}, "batch_size": 3}
    config = write_config(tmp_path / "config.yaml", accuracy=wanted)
    command = worker_command(zoo["colour_onnx"], config, mode="accuracy")
    completed = run_worker(command, worker_env(cores="0"))

    assert completed.returncode == 0, completed.stderr
    result = parse_accuracy(completed.stdout)
    assert (result["samples"], result["hits"]) == (7, 6)
    assert "Accuracy: 0.8571" in completed.stdout
    assert result["inputs"] == {"image": {"shape": [3, 8, 8, 3], "dtype": "float32"}}
