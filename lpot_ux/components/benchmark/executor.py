"""Run one model's benchmark: its worker instances, together, pinned to cores."""

import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lpot_ux.components.benchmark.runtime import Runtime
from lpot_ux.components.parser.throughput import (
    AccuracyResult,
    ModelResult,
    combine_instances,
    parse_accuracy_log,
    parse_instance_log,
)
from lpot_ux.errors import ParseError, WorkerError

logger = logging.getLogger(__name__)

BENCHMARK_SCRIPT = Path(__file__).with_name("benchmark_model.py")
READY_LINE = b"lpot_ux: ready"
DONE_LINE = b"lpot_ux: done"
LOG_TAIL_LINES = 30
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
POLL_SECONDS = 0.005  # how often to look at the workers; small next to a run


@dataclass(frozen=True)
class Step:
    """One model in one mode, to be run by every instance."""

    role: str
    model_path: Path
    mode: str
    framework: str
    config_path: Path
    workload_dir: Path
    core_sets: tuple[tuple[int, ...], ...]
    benchmark_script: Path = BENCHMARK_SCRIPT
    max_duration: float = 600.0

    @property
    def synchronized(self) -> bool:
        """Tell whether the instances start and stop together (performance mode)."""

        return self.mode == "performance"


@dataclass
class Instance:
    """A running worker process and what it has printed so far."""

    number: int
    cores: tuple[int, ...]
    process: object
    log_path: Path
    ready: bool = False
    done: bool = False
    drained: bool = False
    exit_code: int | None = field(default=None)


def worker_environment(step: Step, cores: tuple[int, ...]) -> dict[str, str]:
    """Return the variables that pin a worker and tie it to the barrier."""
    variables = {"LPOT_UX_CORES": ",".join(map(str, cores))}
    if step.synchronized:
        variables["LPOT_UX_BARRIER"] = "stdin"

    return variables


def rerun_command(step: Step) -> str:
    """Return the shell command that runs the first instance of a step by hand."""
    variables = worker_environment(step, step.core_sets[0])
    variables.pop("LPOT_UX_BARRIER", None)
    prefix = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())

    return f"{prefix} {shlex.join(build_command(step))}"


def build_command(step: Step) -> list[str]:
    """Return the command line of one worker instance."""

    return [
        sys.executable,
        str(step.benchmark_script),
        "--config",
        str(step.config_path),
        "--input-graph",
        str(step.model_path),
        "--mode",
        step.mode,
        "--framework",
        step.framework,
    ]


def describe_exit(code: int | None) -> str:
    """Return how a process ended, in words."""
    if code is None:
        return "is still running"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"

    return f"exited with code {code}"


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last lines of a log without terminal colour codes, empty when there is none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""

    return "\n".join(ANSI_ESCAPE.sub("", line) for line in text.splitlines()[-lines:])


def summarize_failure(log_tail: str) -> str:
    """Return the line of a log that best says why a worker failed."""
    lines = [line.strip() for line in log_tail.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    if errors:
        return errors[-1]

    return lines[-1] if lines else "it printed nothing"


class BenchmarkExecutor:
    """Start the instances of a step, wait for them and read their results."""

    def __init__(self, runtime: Runtime, ready_timeout: float, run_timeout: float) -> None:
        self.runtime = runtime
        self.ready_timeout = ready_timeout
        self.run_timeout = run_timeout
        self.running: list[Instance] = []
        # Set by stop(): the step under way, and any step started after it,
        # fail at once until the flag is cleared for the next run.
        self.aborted = False

    def spawn_worker(self, step: Step, number: int, cores: tuple[int, ...]) -> Instance:
        """Start one instance, pinned to its cores, stopped at the barrier."""
        command = build_command(step)
        log_path = step.workload_dir / f"{step.role}_{step.mode}_instance_{number}.log"
        environment = {
            name: value for name, value in os.environ.items() if name != "LPOT_UX_BARRIER"
        }
        environment.update(
            worker_environment(step, cores), PYTHONUNBUFFERED="1", LPOT_UX_PARENT_PID=str(os.getpid())
        )
        logger.debug("Starting instance %d on cores %s: %s", number, cores, shlex.join(command))
        process = self.runtime.popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=step.workload_dir,
            start_new_session=True,  # its own process group, killed as one
        )
        instance = Instance(number, cores, process, log_path)
        self.runtime.start_task(self.copy_output, instance)

        return instance

    def copy_output(self, instance: Instance) -> None:
        """Copy a worker's output into its log and notice when it is ready."""
        with instance.log_path.open("wb") as log:
            for line in iter(instance.process.stdout.readline, b""):
                log.write(line)
                log.flush()
                if line.strip() == READY_LINE:
                    instance.ready = True
                elif line.strip() == DONE_LINE:
                    instance.done = True
        instance.drained = True

    def run_model(self, step: Step) -> ModelResult:
        """Run every instance of a step together and return their combined result."""
        instances = self.run_instances(step)

        return self.collect_results(step, instances)

    def run_accuracy(self, step: Step) -> AccuracyResult:
        """Run one instance that scores the model on the dataset."""
        [instance] = self.run_instances(step)
        try:
            return parse_accuracy_log(instance.log_path.read_text(errors="replace"))
        except ParseError as error:
            self.fail(step, instance, error.message)

    def run_instances(self, step: Step) -> list[Instance]:
        """Start the instances of a step, drive them through the barrier, wait for them."""
        if self.aborted:
            raise WorkerError(f"The {step.role.replace('_', ' ')} benchmark was stopped before it began.")
        instances = [
            self.spawn_worker(step, number, cores)
            for number, cores in enumerate(step.core_sets)
        ]
        self.running = instances
        try:
            if step.synchronized:
                self.wait_until_ready(step, instances)
                self.signal(instances, b"go\n")
                self.wait_until_done(step, instances)
                self.signal(instances, b"stop\n")
            self.close_input(instances)
            self.wait_for_exit(step, instances)
        finally:
            self.kill(instances)
            self.running = []

        return instances

    def wait_until_ready(self, step: Step, instances: list[Instance]) -> None:
        """Wait until every instance has loaded its model and warmed up."""
        deadline = time.monotonic() + self.ready_timeout
        while not all(instance.ready for instance in instances):
            self.check_aborted(step, instances)
            for instance in instances:
                code = instance.process.poll()
                if not instance.ready and code is not None:
                    self.fail(step, instance, f"{describe_exit(code)} before it was ready to measure")
            if time.monotonic() > deadline:
                laggard = next(instance for instance in instances if not instance.ready)
                self.fail(
                    step,
                    laggard,
                    f"did not load its model and warm up within {self.ready_timeout:g} s",
                )
            self.runtime.sleep(POLL_SECONDS)

    def signal(self, instances: list[Instance], line: bytes) -> None:
        """Send a line to every instance, back to back, so that they act together."""
        for instance in instances:
            if instance.process.poll() is None:
                try:
                    instance.process.stdin.write(line)
                    instance.process.stdin.flush()
                except BrokenPipeError:
                    pass  # it exited meanwhile; its exit code says why

    def close_input(self, instances: list[Instance]) -> None:
        """Close the instances' standard input; they need nothing more."""
        for instance in instances:
            try:
                instance.process.stdin.close()
            except BrokenPipeError:
                pass

    def wait_until_done(self, step: Step, instances: list[Instance]) -> None:
        """Wait until every instance has met its stop rule, or one has exited."""
        deadline = time.monotonic() + step.max_duration + self.run_timeout
        while not all(instance.done for instance in instances):
            self.check_aborted(step, instances)
            if any(instance.process.poll() is not None for instance in instances):
                return
            if time.monotonic() > deadline:
                self.fail(step, instances[0], f"did not finish within {step.max_duration:g} s")
            self.runtime.sleep(POLL_SECONDS)

    def wait_for_exit(self, step: Step, instances: list[Instance]) -> None:
        """Wait until every instance has exited and its output is in its log."""
        limit = step.max_duration + self.run_timeout if step.synchronized else self.run_timeout
        deadline = time.monotonic() + limit
        while not all(instance.drained and instance.process.poll() is not None for instance in instances):
            self.check_aborted(step, instances)
            if time.monotonic() > deadline:
                self.fail(step, instances[0], f"did not finish within {limit:g} s")
            self.runtime.sleep(POLL_SECONDS)

        for instance in instances:
            instance.exit_code = instance.process.returncode
            if instance.exit_code != 0:
                self.fail(step, instance, describe_exit(instance.exit_code))

    def collect_results(self, step: Step, instances: list[Instance]) -> ModelResult:
        """Parse every instance's log; an instance without a result fails the step."""
        results = []
        for instance in instances:
            try:
                results.append(parse_instance_log(instance.log_path.read_text(errors="replace")))
            except ParseError as error:
                self.fail(step, instance, error.message)

        return combine_instances(results)

    def check_aborted(self, step: Step, instances: list[Instance]) -> None:
        """Fail the step when the run was stopped."""
        if self.aborted:
            self.fail(step, instances[0], "was stopped")

    def fail(self, step: Step, instance: Instance, reason: str) -> None:
        """Raise a WorkerError naming the instance, with the tail of its log."""
        exit_code = instance.process.poll()
        if exit_code is not None:
            self.wait_drained(instance)
        tail = read_log_tail(instance.log_path)
        message = (
            f"The {step.role.replace('_', ' ')} benchmark failed: instance "
            f"{instance.number} {reason}: {summarize_failure(tail)}"
        )

        raise WorkerError(message, exit_code=exit_code, log_tail=tail)

    def wait_drained(self, instance: Instance, timeout: float = 5.0) -> None:
        """Give the output of an exited worker a moment to reach its log."""
        deadline = time.monotonic() + timeout
        while not instance.drained and time.monotonic() < deadline:
            self.runtime.sleep(POLL_SECONDS)

    def kill(self, instances: list[Instance], reap: bool = True) -> None:
        """Stop every instance still running, with its whole process group."""
        for instance in instances:
            if instance.process.poll() is None:
                logger.warning("Killing instance %d (pid %d)", instance.number, instance.process.pid)
                try:
                    os.killpg(instance.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                if reap:
                    instance.process.wait()

    def stop(self, reap: bool = False) -> None:
        """Kill the instances of the step running now, if any.

        From a signal handler it must not wait for them: a green wait is not
        allowed there.
        """
        self.aborted = True
        self.kill(self.running, reap=reap)
