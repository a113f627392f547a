"""The /api routes: each checks its input, calls a component, returns JSON."""

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from lpot_ux.components.benchmark.request import plan_instances
from lpot_ux.components.benchmark.service import BenchmarkService
from lpot_ux.components.configuration.builder import CONFIG_NAME
from lpot_ux.components.system.info import collect_system_info
from lpot_ux.errors import NotFoundError, RequestError

blueprint = Blueprint("api", __name__, url_prefix="/api")

SUMMARY_FIELDS = ("perf_throughput_input_model", "perf_throughput_optimized_model", "speedup")
EXTRA_RUN_FIELDS = ("status", "created_at", "started_at", "finished_at", "request", "message")


def service() -> BenchmarkService:
    """Return the benchmark service of the running app."""

    return current_app.extensions["lpot_ux"]


def summarize_run(run: dict[str, Any]) -> dict[str, Any]:
    """Return the headline of a stored run."""
    summary = {key: run[key] for key in ("id", "status", "created_at", "started_at", "finished_at")}
    for role in ("input_model", "optimized_model"):
        model = run["request"].get(role, {})
        summary[role] = {"precision": model.get("precision"), "path": model.get("path")}
    summary.update({key: run["data"].get(key) for key in SUMMARY_FIELDS})
    summary["valid"] = run["data"].get("verdict", {}).get("valid")
    summary["message"] = run["message"]

    return summary


def read_config_text(run: dict[str, Any]) -> str | None:
    """Return the config.yaml of a run, None when it was never written."""
    try:
        return (Path(run["workload_dir"]) / CONFIG_NAME).read_text(encoding="utf-8")
    except OSError:
        return None


@blueprint.post("/benchmark")
def post_benchmark():
    """Queue a benchmark of two models; results arrive as Socket.IO events."""
    body = request.get_json(silent=True)
    if body is None:
        raise RequestError("The request body must be a JSON object (Content-Type: application/json).")
    workload_id = service().submit(body)

    return jsonify(exit_code=102, message="processing", id=workload_id)


@blueprint.get("/benchmark")
def list_benchmarks():
    """List the runs, newest first."""
    runs = service().store.list_runs()

    return jsonify(runs=[summarize_run(run) for run in runs])


@blueprint.get("/benchmark/<workload_id>")
def get_benchmark(workload_id: str):
    """Return one run: its last event's data, its status and its times."""
    run = service().store.get_run(workload_id)
    if run is None:
        raise NotFoundError(f"No benchmark run has id '{workload_id}'.")
    result = dict(run["data"])
    result.setdefault("id", workload_id)
    result.update({key: run[key] for key in EXTRA_RUN_FIELDS})
    if run["message"] is None:
        result.pop("message")
    result["config_yaml"] = read_config_text(run)

    return jsonify(result)


@blueprint.delete("/benchmark/<workload_id>")
def cancel_benchmark(workload_id: str):
    """Cancel a queued or running run; it ends as interrupted."""
    service().cancel(workload_id)

    return jsonify(id=workload_id, message="cancelled")


@blueprint.get("/system_info")
def system_info():
    """Describe the machine and the benchmark settings it defaults to."""
    config = current_app.config
    cores = service().usable_cores
    instances, cores_per_instance, _ = plan_instances({}, cores, config["PREFERRED_CORES_PER_INSTANCE"])
    defaults = {
        "instances": instances,
        "cores_per_instance": cores_per_instance,
        "batch_size": config["BATCH_SIZE"],
        "warmup": config["WARMUP"],
        "iterations": config["ITERATIONS"],
        "duration": config["DURATION"],
        "max_duration": config["MAX_DURATION"],
    }

    return jsonify(collect_system_info(defaults))
