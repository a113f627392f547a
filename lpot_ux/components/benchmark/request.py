"""Check a benchmark request and fill in what it leaves to the machine."""

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpot_ux.components.benchmark.worker.formats import FRAMEWORKS, SUFFIXES
from lpot_ux.components.system.topology import CoreLayout, plan_layout
from lpot_ux.errors import RequestError

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # used with fullmatch
MODE_ALIASES = {
    "performance": "performance",
    "benchmark": "performance",
    "accuracy": "accuracy",
}
MODEL_ROLES = ("input_model", "optimized_model")
INTEGER_FIELDS = {  # name: (smallest, largest) value allowed
    "instances": (1, 4096),
    "cores_per_instance": (1, 4096),
    "batch_size": (1, 1 << 20),
    "warmup": (0, 1 << 40),
    "iterations": (1, 1 << 40),
    "rounds": (1, 100),
}
SECONDS_FIELDS = {  # name: (smallest, largest) number of seconds allowed
    "duration": (1e-3, 7 * 86400),
    "warmup_duration": (0.0, 86400),
    "max_duration": (1e-3, 7 * 86400),
}
REQUEST_FIELDS = (
    "id", "workspace_path", "input_model", "optimized_model", "instances",
    "cores_per_instance", "batch_size", "warmup", "iterations", "duration",
    "warmup_duration", "max_duration", "rounds", "input_shapes", "dataset", "metric",
)  # fmt: skip
MODEL_FIELDS = ("precision", "path", "mode", "mods", "framework", "signature")
SHOWN_LENGTH = 80  # characters of a bad value quoted back in a message


def shown(value: Any) -> str:
    """Return a value as a message quotes it, cut short when long."""
    text = repr(value)

    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 5] + "...'"


def check_fields(mapping: dict, known: tuple[str, ...], prefix: str = "") -> None:
    """Refuse a field nobody reads, which would otherwise be silently ignored."""
    for name in mapping:
        if name not in known:
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"the fields are {', '.join(known)}."
            raise RequestError(f"{prefix}{shown(name)[1:-1]}: unknown field; {hint}")


@dataclass(frozen=True)
class ModelSpec:
    """One of the two models of a request."""

    role: str
    precision: str
    path: Path
    modes: tuple[str, ...]
    framework: str = "tensorflow"
    model_format: str = "frozen_graph"
    signature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the model as the API spells it."""

        return {
            "precision": self.precision,
            "path": str(self.path),
            "mode": list(self.modes),
            "framework": self.framework,
            "model_format": self.model_format,
            "signature": self.signature,
        }


@dataclass(frozen=True)
class BenchmarkRequest:
    """A checked request, with every setting decided."""

    id: str
    workspace: Path
    models: tuple[ModelSpec, ModelSpec]
    instances: int
    cores_per_instance: int
    batch_size: int
    warmup: int
    iterations: int | None
    core_sets: tuple[tuple[int, ...], ...] = field(default=())
    layout_warnings: tuple[str, ...] = ()
    duration: float | None = None
    warmup_duration: float | None = None
    max_duration: float = 600.0
    rounds: int = 1
    input_shapes: dict[str, list[int | None]] = field(default_factory=dict)
    dataset: Path | None = None
    topk: int = 1

    @property
    def input_model(self) -> ModelSpec:
        """Return the reference model."""

        return self.models[0]

    @property
    def workload_dir(self) -> Path:
        """Return the folder of this run's configuration and logs."""

        return self.workspace / "workloads" / f"{self.input_model.path.stem}_{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """Return the request with its settings decided, as JSON data."""

        return {
            "id": self.id,
            "workspace_path": str(self.workspace),
            **{model.role: model.to_dict() for model in self.models},
            "instances": self.instances,
            "cores_per_instance": self.cores_per_instance,
            "batch_size": self.batch_size,
            "warmup": self.warmup,
            "iterations": self.iterations,
            "duration": self.duration,
            "warmup_duration": self.warmup_duration,
            "max_duration": self.max_duration,
            "rounds": self.rounds,
            "input_shapes": self.input_shapes,
            "dataset": {"path": str(self.dataset)} if self.dataset else None,
            "metric": {"topk": self.topk},
            "core_sets": [list(cores) for cores in self.core_sets],
            "layout_warnings": list(self.layout_warnings),
        }


def read_id(body: Any) -> str | None:
    """Return the body's id when it is a valid one, else None."""
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        if ID_PATTERN.fullmatch(body["id"]):
            return body["id"]

    return None


def parse_id(body: dict) -> str:
    """Return the workload id, or raise naming what is wrong with it."""
    if "id" not in body:
        raise RequestError("id: the field is required (a workload id like 'resnet50_1').")
    value = body["id"]
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise RequestError(
            f"id: {shown(value)} is not a valid workload id; use 1 to 64 letters, digits, "
            "'_', '.' or '-', starting with a letter or digit."
        )

    return value


def parse_modes(role: str, model: dict) -> tuple[str, ...]:
    """Return the benchmark modes of a model ('mode', or the seed's 'mods')."""
    key = "mode" if "mode" in model else "mods"
    value = model.get(key, ["performance"])
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise RequestError(
            f"{role}.{key}: expected 'performance' or a list of modes, got {value!r}."
        )

    modes = []
    for name in names:
        if name not in MODE_ALIASES:
            raise RequestError(
                f"{role}.{key}: unknown mode {name!r}; use 'performance' "
                "(or its alias 'benchmark') and/or 'accuracy'."
            )
        if MODE_ALIASES[name] not in modes:
            modes.append(MODE_ALIASES[name])

    return tuple(modes)


def parse_model(role: str, body: dict) -> ModelSpec:
    """Return one model of the request, or raise naming the bad field."""
    model = body.get(role)
    if model is None:
        raise RequestError(
            f"{role}: the field is required, as "
            '{"precision": "fp32", "path": "/path/to/model.pb"}.'
        )
    if not isinstance(model, dict):
        raise RequestError(f"{role}: expected an object with precision and path.")
    check_fields(model, MODEL_FIELDS, f"{role}.")

    precision = model.get("precision")
    if not isinstance(precision, str) or not precision.strip():
        raise RequestError(f"{role}.precision: expected a non-empty string like 'fp32'.")
    path = model.get("path")
    if not isinstance(path, str) or not path:
        raise RequestError(f"{role}.path: expected the path of a model file.")
    resolved = Path(path).expanduser().absolute()
    if not resolved.exists():
        raise RequestError(f"{role}.path: '{path}' does not exist.")
    framework, model_format = detect_format(role, resolved, model.get("framework"))
    signature = model.get("signature")
    if signature is not None and (not isinstance(signature, str) or not signature):
        raise RequestError(f"{role}.signature: expected the name of a SavedModel signature.")

    return ModelSpec(
        role, precision.strip(), resolved, parse_modes(role, model), framework, model_format, signature
    )


def detect_format(role: str, path: Path, framework: Any) -> tuple[str, str]:
    """Return the framework and format of a model, from its file and the request."""
    if framework is not None and framework not in FRAMEWORKS:
        raise RequestError(
            f"{role}.framework: unknown framework {framework!r}; use one of "
            f"{', '.join(FRAMEWORKS)}."
        )
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise RequestError(
                f"{role}.path: '{path}' is a folder without saved_model.pb, so it is not "
                "a SavedModel; give a model file or a SavedModel folder."
            )
        detected = ("tensorflow", "saved_model")
    elif not path.is_file():
        raise RequestError(f"{role}.path: '{path}' is not a regular file.")
    else:
        detected = SUFFIXES.get(path.suffix.lower())
    if detected is None:
        raise RequestError(
            f"{role}.path: cannot tell what kind of model '{path.name}' is; use a .pb, "
            ".keras, .h5, .tflite or .onnx file or a SavedModel folder."
        )
    if framework is not None and framework != detected[0]:
        raise RequestError(
            f"{role}.framework: '{path.name}' is a {detected[1].replace('_', ' ')} model, "
            f"which runs on {detected[0]}, not {framework}."
        )

    return detected


def parse_integer(body: dict, name: str, default: int | None) -> int | None:
    """Return an integer setting, its default when absent."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"{name}: expected an integer, got {shown(value)}.")
    smallest, largest = INTEGER_FIELDS[name]
    if value < smallest:
        raise RequestError(f"{name}: must be at least {smallest}, got {value}.")
    if value > largest:
        raise RequestError(f"{name}: must be at most {largest}, got {value}.")

    return value


def parse_seconds(body: dict, name: str, default: float | None) -> float | None:
    """Return a number of seconds, its default when absent."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise RequestError(f"{name}: expected a number of seconds, got {shown(value)}.")
    smallest, largest = SECONDS_FIELDS[name]
    if not smallest <= value <= largest:
        raise RequestError(f"{name}: must be between {smallest:g} and {largest:g} seconds, got {value}.")

    return float(value)


def parse_input_shapes(body: dict) -> dict[str, list[int | None]]:
    """Return the shapes given for inputs with unknown dimensions."""
    value = body.get("input_shapes")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError('input_shapes: expected a map like {"input": [1, 224, 224, 3]}.')
    for name, shape in value.items():
        valid = isinstance(shape, list) and all(
            dim is None or (isinstance(dim, int) and not isinstance(dim, bool) and (dim >= 1 or dim == -1))
            for dim in shape
        )
        if not valid:
            raise RequestError(
                f"input_shapes.{name}: expected a list of sizes (-1 or null for the batch "
                f"dimension), got {shape!r}."
            )

    return value


def parse_dataset(body: dict, models: tuple[ModelSpec, ...]) -> tuple[Path | None, int]:
    """Return the accuracy dataset and top-k, required when accuracy is asked for."""
    wants_accuracy = any("accuracy" in model.modes for model in models)
    dataset = body.get("dataset")
    if dataset is None:
        if wants_accuracy:
            raise RequestError(
                'dataset: accuracy needs a labelled dataset, e.g. {"dataset": {"path": '
                '"/data/val.npz"}} (arrays of inputs and labels) or an image folder with '
                "one sub-folder per class."
            )
        return None, 1
    if not isinstance(dataset, dict) or not isinstance(dataset.get("path"), str) or not dataset["path"]:
        raise RequestError('dataset: expected {"path": "/data/val.npz"}.')
    path = Path(dataset["path"]).expanduser().absolute()
    if not path.exists():
        raise RequestError(f"dataset.path: '{dataset['path']}' does not exist.")
    metric = body.get("metric") or {"topk": 1}
    topk = metric.get("topk", 1) if isinstance(metric, dict) else None
    if isinstance(topk, bool) or not isinstance(topk, int) or topk < 1:
        raise RequestError(f"metric: expected {{\"topk\": K}} with K at least 1, got {metric!r}.")

    return path, topk


def parse_workspace(body: dict, default: Path) -> Path:
    """Return the workspace of this run."""
    value = body.get("workspace_path")
    if value is None:
        return default
    if not isinstance(value, str) or not value:
        raise RequestError("workspace_path: expected the path of a folder.")
    path = Path(value).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise RequestError(f"workspace_path: '{value}' exists and is not a folder.")

    return path


def plan_instances(
    body: dict, usable_cores: list[int], preferred: int
) -> tuple[int, int, CoreLayout]:
    """Return instances, cores per instance and each instance's own cores."""
    count = len(usable_cores)
    instances = parse_integer(body, "instances", None)
    cores_per_instance = parse_integer(body, "cores_per_instance", None)
    if cores_per_instance is None:
        fitting = count // instances if instances else count
        cores_per_instance = max(1, min(preferred if count >= preferred else count, fitting))
    if instances is None:
        instances = max(1, count // cores_per_instance)

    if instances * cores_per_instance > count:
        raise RequestError(
            f"instances: {instances} instances x {cores_per_instance} cores per instance "
            f"need {instances * cores_per_instance} cores, but only {count} are usable "
            f"here ({', '.join(map(str, usable_cores))}); lower instances or "
            "cores_per_instance."
        )

    return instances, cores_per_instance, plan_layout(usable_cores, instances, cores_per_instance)


def parse_benchmark_request(
    body: Any, settings: dict[str, Any], usable_cores: list[int]
) -> BenchmarkRequest:
    """Check a POST /api/benchmark body and decide every setting it leaves out."""
    if not isinstance(body, dict):
        raise RequestError("The request body must be a JSON object.")

    workload_id = parse_id(body)
    check_fields(body, REQUEST_FIELDS)
    models = (parse_model("input_model", body), parse_model("optimized_model", body))
    instances, cores_per_instance, layout = plan_instances(
        body, usable_cores, settings["PREFERRED_CORES_PER_INSTANCE"]
    )
    # A request that sets neither stop rule gets both defaults: enough
    # iterations for the statistics and enough time for a steady state. One
    # that sets only one of them gets just that one.
    stop_rule_given = body.get("iterations") is not None or body.get("duration") is not None
    duration = parse_seconds(body, "duration", None if stop_rule_given else settings["DURATION"])
    default_iterations = None if body.get("duration") is not None else settings["ITERATIONS"]
    dataset, topk = parse_dataset(body, models)

    return BenchmarkRequest(
        id=workload_id,
        workspace=parse_workspace(body, Path(settings["WORKSPACE"])),
        models=models,
        instances=instances,
        cores_per_instance=cores_per_instance,
        batch_size=parse_integer(body, "batch_size", settings["BATCH_SIZE"]),
        warmup=parse_integer(body, "warmup", settings["WARMUP"]),
        iterations=parse_integer(body, "iterations", default_iterations),
        core_sets=layout.core_sets,
        layout_warnings=layout.warnings,
        duration=duration,
        warmup_duration=parse_seconds(body, "warmup_duration", None),
        max_duration=parse_seconds(body, "max_duration", settings["MAX_DURATION"]),
        rounds=parse_integer(body, "rounds", 1),
        input_shapes=parse_input_shapes(body),
        dataset=dataset,
        topk=topk,
    )
