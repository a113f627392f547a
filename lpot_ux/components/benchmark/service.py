"""Queue benchmark requests and run them one after the other."""

import logging
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpot_ux.components.benchmark.executor import (
    BENCHMARK_SCRIPT,
    BenchmarkExecutor,
    Step,
    build_command,
)
from lpot_ux.components.benchmark.request import (
    BenchmarkRequest,
    ModelSpec,
    parse_benchmark_request,
    read_id,
)
from lpot_ux.components.benchmark.runtime import Runtime
from lpot_ux.components.channel import MessageChannel
from lpot_ux.components.configuration.builder import FRAMEWORK, ConfigurationBuilder
from lpot_ux.components.parser.throughput import ModelResult
from lpot_ux.components.store.store import RunStore
from lpot_ux.errors import ConflictError, LpotUxError, WorkerError

logger = logging.getLogger(__name__)

STOP = None  # put on the queue to end the consumer


@dataclass(frozen=True)
class Job:
    """A queued request, its configuration and its row in the store."""

    run_key: int
    request: BenchmarkRequest
    config: dict[str, Any]


def describe_step(request: BenchmarkRequest, model: ModelSpec, step: Step) -> dict[str, Any]:
    """Return the execution details of one step, with the seed's fields first."""

    return {
        "instances": request.instances,
        "cores_per_instance": request.cores_per_instance,
        "model_path": str(model.path),
        "precision": model.precision,
        "mode": step.mode,
        "batch_size": request.batch_size,
        "framework": step.framework,
        "config_path": str(step.config_path),
        "benchmark_script": str(step.benchmark_script),
        "command": shlex.join(build_command(step)),
        "warmup": request.warmup,
        "iterations": request.iterations,
        "core_sets": [list(cores) for cores in step.core_sets],
    }


def describe_result(result: ModelResult) -> dict[str, Any]:
    """Return the measured figures of a step."""

    return {
        "throughput": result.throughput,
        "latency_ms": result.latency_ms,
        "instance_results": [
            {
                "throughput": instance.throughput,
                "latency_ms": instance.latency_ms,
                "batch_size": instance.batch_size,
                **instance.details,
            }
            for instance in result.instances
        ],
    }


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
        self.queue.put(Job(run_key, request, config))
        logger.info("Queued benchmark [%s]", request.id)

        return request.id

    def consume(self) -> None:
        """Run queued jobs one at a time, so that no two share the CPU."""
        while True:
            job = self.queue.get()
            if job is STOP:
                return
            self.current = job
            try:
                self.run_job(job)
            except Exception:  # the queue must outlive any one run
                logger.exception("Benchmark [%s] crashed", job.request.id)
                self.finish(job, "failure", {"id": job.request.id}, "lpot_ux failed; see its log.")
            finally:
                self.current = None

    def steps_of(self, job: Job, config_path: Path) -> list[tuple[ModelSpec, Step]]:
        """Return every (model, mode) step of a job, in order."""
        request = job.request

        return [
            (
                model,
                Step(
                    role=model.role,
                    model_path=model.path,
                    mode=mode,
                    framework=FRAMEWORK,
                    config_path=config_path,
                    workload_dir=request.workload_dir,
                    core_sets=request.core_sets,
                    benchmark_script=self.benchmark_script,
                ),
            )
            for model in request.models
            for mode in model.modes
        ]

    def run_job(self, job: Job) -> None:
        """Run every step of a job and post its events."""
        request = job.request
        logger.info("Starting benchmark [%s]", request.id)
        self.store.start_run(job.run_key)
        self.channel.post("benchmark_start", "success", {"id": request.id, "message": "started"})
        config_path = self.builder.write_config(job.config, request.workload_dir)

        steps = self.steps_of(job, config_path)
        data: dict[str, Any] = {"id": request.id, "execution_details": {}}
        failures: list[WorkerError] = []
        for number, (model, step) in enumerate(steps, start=1):
            details = describe_step(request, model, step)
            data["execution_details"].setdefault(f"{model.role}_benchmark", {})[step.mode] = details
            data["progress"] = f"{number}/{len(steps)}"
            try:
                result = self.executor.run_model(step)
            except WorkerError as error:
                logger.warning("Benchmark [%s] step %d failed: %s", request.id, number, error.message)
                failures.append(error)
                details.update(error=error.message, log_tail=error.log_tail)
                self.channel.post("benchmark_progress", "failure", dict(data, message=error.message))
                continue
            details.update(describe_result(result))
            data[f"perf_throughput_{model.role}"] = result.throughput
            data[f"perf_latency_{model.role}"] = result.latency_ms
            self.add_speedup(data)
            self.store.update_data(job.run_key, data)
            self.channel.post("benchmark_progress", "success", dict(data))

        if failures:
            data.update(message=failures[0].message, log_tail=failures[0].log_tail)
            self.finish(job, "failure", data, failures[0].message)
        else:
            self.finish(job, "success", data)

    def add_speedup(self, data: dict[str, Any]) -> None:
        """Add the optimized model's throughput over the input model's, once both are known."""
        reference = data.get("perf_throughput_input_model")
        optimized = data.get("perf_throughput_optimized_model")
        if reference and optimized:
            data["speedup"] = optimized / reference

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
