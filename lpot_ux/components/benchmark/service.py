"""Queue benchmark requests and run them one after the other."""

import logging
import os
import shlex
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from lpot_ux.components.benchmark.executor import (
    BENCHMARK_SCRIPT,
    BenchmarkExecutor,
    Step,
    build_command,
    rerun_command,
)
from lpot_ux.components.benchmark.fingerprint import collect_environment
from lpot_ux.components.benchmark.request import (
    BenchmarkRequest,
    ModelSpec,
    parse_benchmark_request,
    read_id,
)
from lpot_ux.components.benchmark.runtime import Runtime
from lpot_ux.components.benchmark.verdict import combine_verdicts, judge_step
from lpot_ux.components.channel import MessageChannel
from lpot_ux.components.configuration.builder import ConfigurationBuilder, check_input_memory
from lpot_ux.components.parser.statistics import speedup_interval
from lpot_ux.components.parser.throughput import AccuracyResult, ModelResult
from lpot_ux.components.store.store import RunStore
from lpot_ux.components.system.load import measure_busy
from lpot_ux.errors import ConflictError, LpotUxError, NotFoundError, RequestError, WorkerError

logger = logging.getLogger(__name__)

STOP = None  # put on the queue to end the consumer
CANCELLED = "The run was cancelled (DELETE /api/benchmark/<id>)."


def check_workspace(request: BenchmarkRequest) -> None:
    """Make sure the run's workload folder can be written, before it is queued."""
    folder = request.workload_dir.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RequestError(
            f"workspace_path: cannot create '{folder}': {error.strerror or error}."
        ) from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RequestError(f"workspace_path: '{folder}' is not writable.")


@dataclass(frozen=True)
class Job:
    """A queued request, its configuration and its row in the store."""

    run_key: int
    request: BenchmarkRequest
    config: dict[str, Any]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedStep:
    """One step of a job: a model, in a mode, in a round."""

    model: ModelSpec
    round: int
    step: Step


def describe_step(request: BenchmarkRequest, planned: PlannedStep) -> dict[str, Any]:
    """Return the execution details of one step, with the seed's fields first."""
    step, model = planned.step, planned.model

    return {
        "instances": len(step.core_sets),
        "cores_per_instance": len(step.core_sets[0]),
        "model_path": str(model.path),
        "precision": model.precision,
        "mode": step.mode,
        "batch_size": request.batch_size,
        "framework": step.framework,
        "config_path": str(step.config_path),
        "benchmark_script": str(step.benchmark_script),
        "command": shlex.join(build_command(step)),
        "rerun_command": rerun_command(step),
        "model_format": model.model_format,
        "round": planned.round,
        "core_sets": [list(cores) for cores in step.core_sets],
    }


def describe_instances(result: ModelResult) -> list[dict[str, Any]]:
    """Return each instance's own figures, without its raw timeline."""

    return [
        {
            "throughput": instance.throughput,
            "latency_ms": instance.latency_ms,
            "batch_size": instance.batch_size,
            **{key: value for key, value in instance.details.items() if key != "iteration_ends"},
        }
        for instance in result.instances
    ]


class RunRecord:
    """The data of one run as it grows step by step: what the events carry."""

    def __init__(self, request: BenchmarkRequest, steps: int, environment: dict[str, Any]) -> None:
        self.request = request
        self.steps = steps
        self.round_throughputs: dict[int, dict[str, float]] = {}
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.failures: list[WorkerError] = []
        self.data: dict[str, Any] = {"id": request.id, "execution_details": {}, "environment": environment}

    def start_step(self, number: int, planned: PlannedStep) -> dict[str, Any]:
        """Record that a step begins and return its details, to be filled in."""
        details = describe_step(self.request, planned)
        role = planned.model.role
        self.data["execution_details"].setdefault(f"{role}_benchmark", {})[planned.step.mode] = details
        self.data["progress"] = f"{number}/{self.steps}"
        self.data.setdefault("steps", []).append(
            {"step": number, "role": role, "mode": planned.step.mode, "round": planned.round}
        )

        return details

    def add_performance(self, planned: PlannedStep, details: dict, result: ModelResult, verdict: dict) -> None:
        """Record the throughput and statistics of a performance step."""
        role = planned.model.role
        details.update(
            throughput=result.throughput,
            latency_ms=result.latency_ms,
            statistics=result.statistics,
            verdict=verdict,
            instance_results=describe_instances(result),
        )
        self.round_throughputs.setdefault(planned.round, {})[role] = result.throughput
        throughputs = [r[role] for r in self.round_throughputs.values() if role in r]
        self.data[f"perf_throughput_{role}"] = statistics.median(throughputs)
        self.data[f"perf_latency_{role}"] = result.latency_ms
        self.data["steps"][-1].update(throughput=result.throughput, latency_ms=result.latency_ms, verdict=verdict)
        self.data.setdefault("statistics", {})[role] = {**result.statistics, "verdict": verdict}
        self.verdicts[f"{role} round {planned.round}"] = verdict
        self.update_speedup()

    def update_speedup(self) -> None:
        """Derive the speed-up from the rounds in which both models ran."""
        complete = {
            number: pair
            for number, pair in sorted(self.round_throughputs.items())
            if "input_model" in pair and "optimized_model" in pair and pair["input_model"] > 0
        }
        if not complete:
            return
        ratios = [pair["optimized_model"] / pair["input_model"] for pair in complete.values()]
        interval = speedup_interval(ratios)
        self.data["speedup"] = interval["speedup"]
        self.data["speedup_ci95"] = interval["ci95"]
        self.data["rounds"] = [
            {
                "round": number,
                "perf_throughput_input_model": pair["input_model"],
                "perf_throughput_optimized_model": pair["optimized_model"],
                "speedup": ratio,
            }
            for (number, pair), ratio in zip(complete.items(), ratios)
        ]

    def add_accuracy(self, planned: PlannedStep, details: dict, result: AccuracyResult) -> None:
        """Record the accuracy of a model and, once both are known, the drop."""
        details.update(result.details)
        details["accuracy"] = result.accuracy
        self.data["steps"][-1]["accuracy"] = result.accuracy
        self.data[f"acc_{planned.model.role}"] = result.accuracy
        before, after = self.data.get("acc_input_model"), self.data.get("acc_optimized_model")
        if before is not None and after is not None:
            self.data["accuracy_drop"] = before - after
            self.data["accuracy_drop_relative"] = (before - after) / before if before else None

    def add_failure(self, details: dict, error: WorkerError) -> None:
        """Record a step that failed."""
        details.update(error=error.message, log_tail=error.log_tail)
        self.data["steps"][-1]["error"] = error.message
        self.failures.append(error)

    def verdict(self, warnings: tuple[str, ...] = ()) -> dict[str, Any]:
        """Return the verdict of the run so far."""
        failures = [f"a step failed: {error.message}" for error in self.failures]

        return combine_verdicts(self.verdicts, list(warnings) + failures)


class BenchmarkService:
    """Accept benchmark requests, queue them, and run them in the background."""

    def __init__(
        self,
        settings: dict[str, Any],
        store: RunStore,
        channel: MessageChannel,
        runtime: Runtime,
        usable_cores: list[int],
    ) -> None:
        self.settings = settings
        self.store = store
        self.channel = channel
        self.runtime = runtime
        self.usable_cores = usable_cores
        self.benchmark_script = Path(settings["BENCHMARK_SCRIPT"] or BENCHMARK_SCRIPT)
        self.builder = ConfigurationBuilder()
        self.executor = BenchmarkExecutor(
            runtime, settings["READY_TIMEOUT"], settings["RUN_TIMEOUT"]
        )
        self.queue = runtime.queue()
        self.current: Job | None = None
        self.cancelled: set[int] = set()

    def start(self) -> None:
        """Start the background task that runs queued requests in order."""
        self.runtime.start_task(self.consume)

    def submit(self, body: Any) -> str:
        """Check a request and queue it; return its id."""
        try:
            if isinstance(body, dict) and read_id(body) and self.store.is_active(body["id"]):
                raise ConflictError(
                    f"id: a run with id '{body['id']}' is already queued or running; "
                    "wait for it to finish or use another id."
                )
            request = parse_benchmark_request(body, self.settings, self.usable_cores)
            config = self.builder.build_config(request)
            check_input_memory(config, request.instances, psutil.virtual_memory().available)
            check_workspace(request)
            warnings = tuple(self.builder.compare_models(request))
        except ConflictError:
            raise
        except LpotUxError as error:
            workload_id = read_id(body)
            if workload_id:
                self.channel.post(
                    "benchmark_finish", "error", {"id": workload_id, "message": error.message}
                )
            raise

        run_key = self.store.add_run(request.id, request.to_dict(), request.workload_dir)
        self.queue.put(Job(run_key, request, config, warnings))
        logger.info("Queued benchmark [%s]", request.id)

        return request.id

    def consume(self) -> None:
        """Run queued jobs one at a time, so that no two share the CPU."""
        while True:
            job = self.queue.get()
            if job is STOP:
                return
            if job.run_key in self.cancelled:
                continue  # cancelled while queued: already recorded
            self.current = job
            try:
                self.run_job(job)
            except Exception as error:  # the queue must outlive any one run
                logger.exception("Benchmark [%s] crashed", job.request.id)
                message = f"lpot_ux failed unexpectedly ({error!r}); its log has the details."
                self.finish(job, "failure", {"id": job.request.id, "message": message}, message)
            finally:
                self.current = None

    def plan_steps(self, request: BenchmarkRequest, config_path: Path) -> list[PlannedStep]:
        """Return the steps of a job: performance round after round, then accuracy."""

        def plan(model: ModelSpec, mode: str, number: int) -> PlannedStep:
            everything = (tuple(cpu for cores in request.core_sets for cpu in cores),)
            step = Step(
                role=model.role,
                model_path=model.path,
                mode=mode,
                framework=model.framework,
                config_path=config_path,
                workload_dir=request.workload_dir,
                core_sets=request.core_sets if mode == "performance" else everything,
                benchmark_script=self.benchmark_script,
                max_duration=request.max_duration,
            )
            return PlannedStep(model, number, step)

        performance = [
            plan(model, "performance", number)
            for number in range(1, request.rounds + 1)
            for model in request.models
            if "performance" in model.modes
        ]
        accuracy = [plan(model, "accuracy", 1) for model in request.models if "accuracy" in model.modes]

        return performance + accuracy

    def run_job(self, job: Job) -> None:
        """Run every step of a job and post its events."""
        request = job.request
        logger.info("Starting benchmark [%s]", request.id)
        self.executor.aborted = False
        self.store.start_run(job.run_key)
        self.channel.post("benchmark_start", "success", {"id": request.id, "message": "started"})
        self.archive_workload(request.workload_dir, job.run_key)
        config_path = self.builder.write_config(job.config, request.workload_dir)
        steps = self.plan_steps(request, config_path)
        record = RunRecord(request, len(steps), collect_environment())

        for number, planned in enumerate(steps, start=1):
            if job.run_key in self.cancelled:
                return self.finish_cancelled(job, record.data)
            details = record.start_step(number, planned)
            status = self.run_step(record, planned, details)
            if job.run_key in self.cancelled:
                return self.finish_cancelled(job, record.data)
            record.data["verdict"] = record.verdict(job.warnings)
            self.store.update_data(job.run_key, record.data)
            self.channel.post("benchmark_progress", status, dict(record.data))

        if record.failures:
            first = record.failures[0]
            record.data.update(message=first.message, log_tail=first.log_tail)
            self.finish(job, "failure", record.data, first.message)
        else:
            self.finish(job, "success", record.data)

    def run_step(self, record: RunRecord, planned: PlannedStep, details: dict) -> str:
        """Run one step into the record; return the status of its progress event."""
        step = planned.step
        try:
            if step.mode == "accuracy":
                record.add_accuracy(planned, details, self.executor.run_accuracy(step))
                return "success"
            busy = self.check_busy(step)
            result = self.executor.run_model(step)
        except WorkerError as error:
            logger.warning("Benchmark [%s] step failed: %s", record.request.id, error.message)
            record.add_failure(details, error)
            return "failure"

        verdict = judge_step(result, record.request.layout_warnings, busy)
        record.add_performance(planned, details, result, verdict)
        record.data["environment"].update(runtime_versions(result))

        return "success"

    def archive_workload(self, workload_dir: Path, run_key: int) -> None:
        """Move the files of an earlier run with the same folder aside, so none is lost."""
        if not workload_dir.exists():
            return
        owner = self.store.latest_run_in(workload_dir, before=run_key)
        suffix = f"run{owner}" if owner is not None else f"old{time.time_ns()}"
        archived = workload_dir.with_name(f"{workload_dir.name}.{suffix}")
        workload_dir.rename(archived)
        self.store.move_workload(workload_dir, archived, before=run_key)
        logger.info("Moved the files of an earlier run to %s", archived)

    def cancel(self, run_id: str) -> None:
        """Stop a queued or running run; it is recorded as interrupted."""
        run = self.store.get_run(run_id)
        if run is None:
            raise NotFoundError(f"No benchmark run has id '{run_id}'.")
        if run["status"] not in ("queued", "running"):
            raise ConflictError(f"id: the run '{run_id}' has already ended ({run['status']}).")
        self.cancelled.add(run["run_key"])
        if self.current is not None and self.current.run_key == run["run_key"]:
            self.executor.stop(reap=True)
            return
        data = {"id": run_id, "message": CANCELLED}
        self.store.finish_run(run["run_key"], "interrupted", data, CANCELLED)
        self.channel.post("benchmark_finish", "failure", data)

    def finish_cancelled(self, job: Job, data: dict[str, Any]) -> None:
        """Record a running job that was cancelled, keeping what it measured."""
        data.update(message=CANCELLED)
        data.pop("log_tail", None)
        self.store.finish_run(job.run_key, "interrupted", data, CANCELLED)
        self.channel.post("benchmark_finish", "failure", dict(data))
        logger.info("Cancelled benchmark [%s]", job.request.id)

    def check_busy(self, step: Step) -> dict[int, float]:
        """Return how busy the step's CPUs were with other work just before it."""
        seconds = self.settings["BUSY_CHECK_SECONDS"]
        if not seconds:
            return {}
        cpus = sorted({cpu for cores in step.core_sets for cpu in cores})

        return measure_busy(cpus, self.runtime.sleep, seconds)

    def finish(self, job: Job, status: str, data: dict[str, Any], message: str | None = None) -> None:
        """Store how a job ended and post benchmark_finish."""
        self.store.finish_run(job.run_key, status, data, message)
        self.channel.post("benchmark_finish", status, dict(data))
        logger.info("Finished benchmark [%s]: %s", job.request.id, status)

    def shutdown(self) -> None:
        """Stop the running workers and record unfinished runs as interrupted."""
        self.executor.stop()
        count = self.store.interrupt_active_runs()
        if count:
            logger.info("Marked %d unfinished run(s) as interrupted", count)
        self.queue.put(STOP)


def runtime_versions(result: ModelResult) -> dict[str, Any]:
    """Return the versions of the ML runtimes the instances reported."""
    versions = {}
    for instance in result.instances:
        for key in ("tensorflow_version", "runtime_version", "onednn"):
            if key in instance.details:
                versions[key] = instance.details[key]

    return versions
