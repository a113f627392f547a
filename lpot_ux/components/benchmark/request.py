"""Check a benchmark request and fill in what it leaves to the machine."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpot_ux.errors import RequestError

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MODE_ALIASES = {"performance": "performance", "benchmark": "performance"}
SUPPORTED_MODES = ("performance",)
MODEL_ROLES = ("input_model", "optimized_model")
INTEGER_FIELDS = {  # name: smallest value allowed
    "instances": 1,
    "cores_per_instance": 1,
    "batch_size": 1,
    "warmup": 0,
    "iterations": 1,
}


@dataclass(frozen=True)
class ModelSpec:
    """One of the two models of a request."""

    role: str
    precision: str
    path: Path
    modes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the model as the API spells it."""

        return {"precision": self.precision, "path": str(self.path), "mode": list(self.modes)}


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
    iterations: int
    core_sets: tuple[tuple[int, ...], ...] = field(default=())

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
            "core_sets": [list(cores) for cores in self.core_sets],
        }


def read_id(body: Any) -> str | None:
    """Return the body's id when it is a valid one, else None."""
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        if ID_PATTERN.match(body["id"]):
            return body["id"]

    return None


def parse_id(body: dict) -> str:
    """Return the workload id, or raise naming what is wrong with it."""
    if "id" not in body:
        raise RequestError("id: the field is required (a workload id like 'resnet50_1').")
    value = body["id"]
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise RequestError(
            f"id: {value!r} is not a valid workload id; use 1 to 64 letters, digits, "
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
        if name == "accuracy":
            raise RequestError(
                f"{role}.{key}: accuracy needs a labelled dataset, which this server "
                "cannot take yet; ask for 'performance'."
            )
        if name not in MODE_ALIASES:
            raise RequestError(
                f"{role}.{key}: unknown mode {name!r}; use 'performance' "
                "(or its alias 'benchmark')."
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

    precision = model.get("precision")
    if not isinstance(precision, str) or not precision.strip():
        raise RequestError(f"{role}.precision: expected a non-empty string like 'fp32'.")
    path = model.get("path")
    if not isinstance(path, str) or not path:
        raise RequestError(f"{role}.path: expected the path of a model file.")
    resolved = Path(path).expanduser().absolute()
    if not resolved.exists():
        raise RequestError(f"{role}.path: '{path}' does not exist.")

    return ModelSpec(role, precision.strip(), resolved, parse_modes(role, model))


def parse_integer(body: dict, name: str, default: int | None) -> int | None:
    """Return an integer setting, its default when absent."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"{name}: expected an integer, got {value!r}.")
    if value < INTEGER_FIELDS[name]:
        raise RequestError(f"{name}: must be at least {INTEGER_FIELDS[name]}, got {value}.")

    return value


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
) -> tuple[int, int, tuple[tuple[int, ...], ...]]:
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
    core_sets = tuple(
        tuple(usable_cores[i * cores_per_instance : (i + 1) * cores_per_instance])
        for i in range(instances)
    )

    return instances, cores_per_instance, core_sets


def parse_benchmark_request(
    body: Any, settings: dict[str, Any], usable_cores: list[int]
) -> BenchmarkRequest:
    """Check a POST /api/benchmark body and decide every setting it leaves out."""
    if not isinstance(body, dict):
        raise RequestError("The request body must be a JSON object.")

    workload_id = parse_id(body)
    models = (parse_model("input_model", body), parse_model("optimized_model", body))
    instances, cores_per_instance, core_sets = plan_instances(
        body, usable_cores, settings["PREFERRED_CORES_PER_INSTANCE"]
    )

    return BenchmarkRequest(
        id=workload_id,
        workspace=parse_workspace(body, Path(settings["WORKSPACE"])),
        models=models,
        instances=instances,
        cores_per_instance=cores_per_instance,
        batch_size=parse_integer(body, "batch_size", settings["BATCH_SIZE"]),
        warmup=parse_integer(body, "warmup", settings["WARMUP"]),
        iterations=parse_integer(body, "iterations", settings["ITERATIONS"]),
        core_sets=core_sets,
    )
