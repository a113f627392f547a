"""Drive an lpot_ux server from Python: submit benchmarks and collect their results.

A typical notebook cell::

    from lpot_ux.client import Client, speedup, speedup_interval, verdict

    with Client("http://127.0.0.1:5000", token) as client:
        result = client.benchmark("model_fp32.pb", "model_int8.pb", rounds=3)
    print(f"{speedup(result):.2f}x")      # geometric mean over the rounds
    print(speedup_interval(result))       # (low, high), 95%; None with one round
    print(verdict(result))                # "valid", or "invalid: <reasons>"

Read the numbers only when ``verdict(result)`` is true: an invalid run was
disturbed (busy cores, unsteady latency, instances out of step, a failed step)
and its reasons say what to fix.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union
from urllib.parse import parse_qs, quote, urlsplit

import requests
import socketio

from lpot_ux.errors import LpotUxError

logger = logging.getLogger(__name__)

ModelArgument = Union[str, "os.PathLike[str]", Mapping[str, Any]]

# Seconds allowed for one HTTP request and for the Socket.IO handshake.
DEFAULT_TIMEOUT = 30.0

# A run whose events went missing is found by polling GET /api/benchmark/<id>:
# now and then while the socket is up, often while it is down.
POLL_INTERVAL_CONNECTED = 5.0
POLL_INTERVAL_DISCONNECTED = 1.0
# Seconds close() waits for the socket to say goodbye.
CLOSE_TIMEOUT = 2.0
# Seconds a waiting client keeps polling a server that does not answer at all.
OUTAGE_GRACE = 60.0

# The request's optional fields, as POST /api/benchmark names them.
SETTINGS = (
    "workspace_path",
    "instances",
    "cores_per_instance",
    "batch_size",
    "warmup",
    "iterations",
    "duration",
    "warmup_duration",
    "max_duration",
    "rounds",
    "input_shapes",
    "dataset",
    "metric",
)
# Shorthands that build_request turns into request fields.
SHORTHANDS = ("accuracy", "topk")
# tqdm's rate and time left mean little for a few long steps: left out.
BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
FINISHED_STATUSES = frozenset({"success", "failure", "error", "interrupted"})
EVENTS = ("benchmark_start", "benchmark_progress", "benchmark_finish")


class ClientError(LpotUxError):
    """The server could not be reached, or it refused a request."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class BenchmarkFailed(ClientError):
    """A benchmark ended with the status failure, error or interrupted."""

    def __init__(
        self,
        run_id: str,
        status: str,
        message: str,
        log_tail: str = "",
        data: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.id = run_id
        self.status = status
        self.log_tail = log_tail or ""
        self.data = dict(data or {})

    def __str__(self) -> str:
        text = f"Benchmark {self.id!r} ended with status {self.status}: {self.message}"
        if self.log_tail.strip():
            text += "\n--- worker log (tail) ---\n" + self.log_tail.rstrip()

        return text


class BenchmarkTimeout(ClientError):
    """A wait for a benchmark ran out of time; the run goes on on the server."""


@dataclass
class _Watch:
    """What the socket has told about one run so far."""

    id: str
    steps: int = 2
    started: bool = False
    progress: dict | None = None
    final: tuple[str, dict] | None = None
    poll_due: bool = True
    version: int = 0  # bumped by every event, so that a waiter sees news


class Client:
    """Talk to one lpot_ux server over HTTP and Socket.IO."""

    def __init__(
        self, url: str, token: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.url, url_token = split_server_url(url)
        self.token = token or url_token
        if not self.token:
            raise ClientError(
                f"No token for {self.url}: give the token of the server, or the "
                "URL it printed at start, which ends in ?token=..."
            )
        self.timeout = timeout
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"Bearer {self.token}"
        self._socket: socketio.Client | None = None
        self._closing = False
        self._changed = threading.Condition()
        self._watches: dict[str, _Watch] = {}

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def close(self) -> None:
        """Disconnect the socket and release the HTTP connections."""
        if self._socket is not None:
            self._closing = True
            # shutdown() also stops reconnection attempts; older clients lack it.
            stop = getattr(self._socket, "shutdown", self._socket.disconnect)
            # Over long-polling, a disconnect waits for the pending poll, which a
            # server may hold for its whole ping interval: do not wait that long.
            closer = threading.Thread(target=stop, daemon=True)
            closer.start()
            closer.join(CLOSE_TIMEOUT)
            self._socket = None
        self._http.close()

    # Reading -------------------------------------------------------------

    def runs(self) -> list[dict]:
        """Return every run the server knows, newest first."""
        return self._request("GET", "/api/benchmark")["runs"]

    def result(self, id: str) -> dict:
        """Return one run as the server stores it, finished or not."""
        return self._request("GET", f"/api/benchmark/{quote(id, safe='')}")

    def system_info(self) -> dict:
        """Return the server machine's platform, cores, memory and defaults."""
        return self._request("GET", "/api/system_info")

    # Running -------------------------------------------------------------

    def benchmark(
        self,
        input_model: ModelArgument,
        optimized_model: ModelArgument,
        *,
        id: str | None = None,
        progress: bool = True,
        timeout: float | None = None,
        **settings: Any,
    ) -> dict:
        """Run a benchmark to its end and return its final record.

        A model is a path (precision fp32 for the input model, int8 for the
        optimized one) or a dict such as ``{"path": ..., "precision": "bf16",
        "framework": "onnxrt", "signature": "serving_default", "mode":
        ["performance", "accuracy"]}``.

        ``settings`` are the request's optional fields: instances,
        cores_per_instance, batch_size, warmup, iterations, duration,
        warmup_duration, max_duration (seconds), rounds, input_shapes (e.g.
        ``{"input": [-1, 224, 224, 3]}``, -1 for the batch), dataset (a path or
        ``{"path": ...}``), metric (``{"topk": k}``) and workspace_path; and
        two shorthands: ``accuracy=True`` also scores both models on the
        dataset, ``topk=k`` stands for ``metric={"topk": k}``.

        Raises BenchmarkFailed when the run fails, BenchmarkTimeout when
        ``timeout`` seconds pass first (the run goes on: call wait() again).
        """
        run_id = self.submit(input_model, optimized_model, id=id, **settings)

        return self.wait(run_id, timeout=timeout, progress=progress)

    def submit(
        self,
        input_model: ModelArgument,
        optimized_model: ModelArgument,
        *,
        id: str | None = None,
        **settings: Any,
    ) -> str:
        """Queue a benchmark on the server and return its id without waiting."""
        run_id = id or generate_id()
        body = build_request(run_id, input_model, optimized_model, settings)

        # Listen before submitting, so that not even the first event is missed.
        self._connect_socket()
        _, created = self._watch_new(run_id, count_steps(body))
        try:
            self._request("POST", "/api/benchmark", json=body)
        except ClientError:
            if created:
                self._forget(run_id)
            raise
        logger.info("Benchmark [%s] submitted to %s", run_id, self.url)

        return run_id

    def wait(
        self, id: str, timeout: float | None = None, *, progress: bool = False
    ) -> dict:
        """Block until a submitted run ends and return its final record.

        Works for any run id the server knows, also one that ended long ago.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        self._connect_socket()
        watch = self._watch(id)
        bar = _ProgressBar(id, watch.steps, enabled=progress)
        try:
            status, data, from_event = self._await_final(watch, deadline, bar)
            record = self._final_record(id, status, data) if from_event else data
            bar.finish(record)
        finally:
            bar.close()
        self._forget(id)
        logger.info("Benchmark [%s] ended: %s", id, record.get("status"))

        return check_record(id, record)

    # Internals -----------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one API request and return its JSON body."""
        try:
            response = self._http.request(
                method, self.url + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            reason = describe_failure(exc)
            raise ClientError(
                f"Cannot reach the lpot_ux server at {self.url}: {reason}"
            ) from exc
        if response.status_code >= 400:
            raise ClientError(
                f"{error_text(response)} (HTTP {response.status_code} from "
                f"{method} {path})",
                status_code=response.status_code,
            )

        try:
            return response.json()
        except ValueError as exc:
            raise ClientError(
                f"{method} {path} answered HTTP {response.status_code} with a "
                f"body that is not JSON: {response.text[:200]!r}"
            ) from exc

    def _connect_socket(self) -> None:
        """Open the Socket.IO connection once; poll instead if it cannot be had."""
        if self._socket is not None:
            return

        sio = socketio.Client(reconnection=True, logger=False, engineio_logger=False)
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        for event in EVENTS:
            sio.on(event, functools.partial(self._on_event, event))
        try:
            sio.connect(self.url, auth={"token": self.token}, wait_timeout=self.timeout)
        except socketio.exceptions.ConnectionError as exc:
            # A wrong token or a server that is down: let the API say so plainly.
            self.system_info()
            logger.warning(
                "No Socket.IO connection to %s (%s); polling for results instead.",
                self.url,
                exc,
            )
            return

        self._socket = sio

    def _on_connect(self) -> None:
        # After a reconnection, events sent while away are lost: poll for them.
        with self._changed:
            for watch in self._watches.values():
                watch.poll_due = True
            self._changed.notify_all()

    def _on_disconnect(self, *reason: object) -> None:
        if not self._closing:
            logger.warning("Socket.IO connection to %s lost; reconnecting.", self.url)
        with self._changed:
            self._changed.notify_all()

    def _on_event(self, event: str, payload: Any) -> None:
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            return

        with self._changed:
            watch = self._watches.get(data.get("id"))
            if watch is None:
                return
            watch.started = True
            if event == "benchmark_progress":
                watch.progress = data
            elif event == "benchmark_finish" and payload.get("status") == "error":
                # Also sent when a request reusing this id is refused, maybe
                # while the run goes on: the stored record says which it was.
                watch.poll_due = True
            elif event == "benchmark_finish":
                watch.final = (payload.get("status") or "success", data)
            watch.version += 1
            self._changed.notify_all()

    def _watch(self, run_id: str) -> _Watch:
        """Start listening for a run's events, or return the listener there is."""
        with self._changed:
            watch = self._watches.get(run_id)
            if watch is None:
                watch = self._watches[run_id] = _Watch(run_id)

            return watch

    def _watch_new(self, run_id: str, steps: int) -> tuple[_Watch, bool]:
        """Listen for a new run; return the listener and whether it is new.

        A run with this id that is still awaited keeps its listener: the
        server refuses the new one with 409, and the old one's events go on.
        """
        with self._changed:
            watch = self._watches.get(run_id)
            if watch is not None and watch.final is None:
                return watch, False

            watch = self._watches[run_id] = _Watch(run_id, steps=steps)

            return watch, True

    def _forget(self, run_id: str) -> None:
        with self._changed:
            self._watches.pop(run_id, None)

    def _poll_interval(self) -> float:
        connected = self._socket is not None and self._socket.connected

        return POLL_INTERVAL_CONNECTED if connected else POLL_INTERVAL_DISCONNECTED

    def _await_final(
        self, watch: _Watch, deadline: float | None, bar: _ProgressBar
    ) -> tuple[str, dict, bool]:
        """Wait for a run's finish event, polling its record now and then.

        Return the status, the data and whether they came from the event.
        """
        seen, next_poll, outage = -1, time.monotonic(), _Outage()
        while True:
            with self._changed:
                self._changed.wait_for(
                    lambda seen=seen: watch.version != seen or watch.poll_due,
                    timeout=_slice(time.monotonic(), next_poll, deadline),
                )
                seen, final, poll_due = watch.version, watch.final, watch.poll_due
                started, progress = watch.started, watch.progress
                watch.poll_due = False
            if final is not None:
                return final[0], final[1], True

            bar.show(started, progress)
            now = time.monotonic()
            if poll_due or now >= next_poll:
                record = self._poll(watch.id, outage)
                if record.get("status") in FINISHED_STATUSES:
                    return record["status"], record, False
                running = started or record.get("status") == "running"
                bar.show(running, progress or record, tick=True)
                next_poll = now + self._poll_interval()
            if deadline is not None and now >= deadline:
                raise BenchmarkTimeout(
                    f"Benchmark {watch.id!r} did not end in time; it goes on on "
                    f"the server: call wait({watch.id!r}) again to collect it."
                )

    def _poll(self, run_id: str, outage: _Outage) -> dict:
        """Read a run's record; {} while the server is briefly out of reach."""
        try:
            record = self.result(run_id)
        except ClientError as exc:
            # No status: the server did not answer (restarting, say). The run
            # comes back from its store, so wait a while before giving up.
            if exc.status_code is not None or outage.is_over(exc):
                raise
            return {}
        outage.end()

        return record

    def _final_record(self, run_id: str, status: str, data: dict) -> dict:
        """Return the stored record of a finished run, or else the event's data."""
        try:
            record = self.result(run_id)
        except ClientError as exc:
            logger.warning(
                "Benchmark [%s] ended but its record could not be read (%s); "
                "returning the event's data.",
                run_id,
                exc,
            )
            record = {}
        if record.get("status") in FINISHED_STATUSES:
            return record

        return {**data, "status": status}


class _Outage:
    """Time how long the server has not answered, to give up after a while."""

    def __init__(self) -> None:
        self.since: float | None = None

    def is_over(self, exc: ClientError) -> bool:
        """Note a failed poll; return whether the server has been away too long."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
            logger.warning("%s Retrying for %.0f s.", exc, OUTAGE_GRACE)

        return now - self.since > OUTAGE_GRACE

    def end(self) -> None:
        self.since = None


class _ProgressBar:
    """Show the steps of one run as a tqdm bar, in a notebook or a terminal."""

    def __init__(self, run_id: str, steps: int, enabled: bool) -> None:
        self._bar = None
        self._drawn: tuple | None = None
        if enabled:
            # Imported here: tqdm.auto picks the notebook or the console bar.
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=steps,
                desc=f"benchmark {run_id}",
                bar_format=BAR_FORMAT,
                postfix="queued",
            )

    def show(
        self, started: bool, progress: Mapping[str, Any] | None, tick: bool = False
    ) -> None:
        """Draw the steps done and the throughputs known; on a tick, the clock too."""
        if self._bar is None:
            return

        done, total = parse_progress((progress or {}).get("progress"))
        if total:
            self._bar.total = total
            self._bar.n = done
        state = (self._bar.n, self._bar.total, describe_progress(started, progress))
        if tick or state != self._drawn:
            self._drawn = state
            self._bar.set_postfix_str(state[2], refresh=True)

    def finish(self, record: Mapping[str, Any]) -> None:
        """Draw the end of a run: every step done, or the status it failed with."""
        if self._bar is None:
            return

        if record.get("status") == "success":
            self._bar.n = self._bar.total
            self._bar.set_postfix_str(describe_progress(True, record), refresh=True)
        else:
            self._bar.set_postfix_str(str(record.get("status")), refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# Helpers -----------------------------------------------------------------


def split_server_url(url: str) -> tuple[str, str | None]:
    """Split a server URL into its base and the token in its query, if any."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientError(
            f"Server URL {url!r} is not an http(s) URL; expected something like "
            "http://127.0.0.1:5000"
        )
    tokens = parse_qs(parts.query).get("token")
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    return base, tokens[0] if tokens else None


def generate_id() -> str:
    """Return a fresh workload id such as bench-20240131-142501-a1b2c3."""
    return f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def build_request(
    run_id: str,
    input_model: ModelArgument,
    optimized_model: ModelArgument,
    settings: Mapping[str, Any],
) -> dict:
    """Build the body of POST /api/benchmark; settings set to None are left out."""
    unknown = sorted(set(settings) - set(SETTINGS) - set(SHORTHANDS))
    if unknown:
        raise TypeError(
            f"Unknown benchmark setting(s): {', '.join(unknown)}. "
            f"Expected some of: {', '.join(SETTINGS + SHORTHANDS)}."
        )
    given = {key: value for key, value in settings.items() if value is not None}
    accuracy, topk = given.pop("accuracy", False), given.pop("topk", None)
    body = {
        "id": run_id,
        "input_model": model_entry(input_model, "fp32", "input_model"),
        "optimized_model": model_entry(optimized_model, "int8", "optimized_model"),
        **given,
    }
    if accuracy:
        for name in ("input_model", "optimized_model"):
            add_mode(body[name], "accuracy")
    if topk is not None:
        if "metric" in body:
            raise TypeError("Give either topk=K or metric={'topk': K}, not both.")
        body["metric"] = {"topk": topk}
    if isinstance(body.get("workspace_path"), (str, os.PathLike)):
        body["workspace_path"] = absolute_path(body["workspace_path"])
    if isinstance(body.get("dataset"), (str, os.PathLike)):
        body["dataset"] = {"path": body["dataset"]}
    if isinstance(body.get("dataset"), Mapping):
        body["dataset"] = dict(body["dataset"])
        if isinstance(body["dataset"].get("path"), (str, os.PathLike)):
            body["dataset"]["path"] = absolute_path(body["dataset"]["path"])

    return body


def add_mode(entry: dict, mode: str) -> None:
    """Add a mode to a model entry, keeping the spelling (mode or mods) it uses."""
    key = "mods" if "mods" in entry and "mode" not in entry else "mode"
    modes = entry.get(key, ["performance"])
    modes = [modes] if isinstance(modes, str) else list(modes)
    if mode not in modes:
        modes.append(mode)
    entry[key] = modes


def model_entry(model: ModelArgument, precision: str, name: str) -> dict:
    """Turn a model path or dict into the API's model object."""
    if isinstance(model, Mapping):
        entry = dict(model)
        entry.setdefault("precision", precision)
        if isinstance(entry.get("path"), (str, os.PathLike)):
            entry["path"] = absolute_path(entry["path"])

        return entry
    if isinstance(model, (str, os.PathLike)):
        return {"precision": precision, "path": absolute_path(model)}

    raise TypeError(
        f"{name} must be a path or a dict like {{'path': ..., 'precision': ...}}, "
        f"not {type(model).__name__}."
    )


def absolute_path(path: str | os.PathLike[str]) -> str:
    """Return a path with ~ expanded, made absolute against the current folder."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def count_steps(body: Mapping[str, Any]) -> int:
    """Return the number of steps: performance once per round, accuracy once."""
    rounds = body.get("rounds")
    rounds = rounds if isinstance(rounds, int) and rounds >= 1 else 1
    steps = 0
    for name in ("input_model", "optimized_model"):
        model = body.get(name) or {}
        modes = model.get("mode", model.get("mods", ["performance"]))
        modes = {modes} if isinstance(modes, str) else set(modes) or {"performance"}
        steps += rounds if modes & {"performance", "benchmark"} else 0
        steps += 1 if "accuracy" in modes else 0

    return max(steps, 1)


def parse_progress(progress: Any) -> tuple[int, int]:
    """Parse a progress string such as "1/2" into (1, 2); (0, 0) if unreadable."""
    try:
        done, total = (int(part) for part in str(progress).split("/"))
    except ValueError:
        return 0, 0

    return done, total


def describe_progress(started: bool, progress: Mapping[str, Any] | None) -> str:
    """Return the short text shown beside the progress bar."""
    throughputs = [
        f"{model} {progress[key]:.1f} samples/s"
        for model, key in (
            ("input", "perf_throughput_input_model"),
            ("optimized", "perf_throughput_optimized_model"),
        )
        if progress and isinstance(progress.get(key), (int, float))
    ]
    if throughputs:
        return ", ".join(throughputs)

    return "running" if started else "queued"


def error_text(response: requests.Response) -> str:
    """Return the server's {"error": ...} text, or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])

    return response.text.strip()[:200] or response.reason or "no details given"


def describe_failure(exc: requests.RequestException) -> str:
    """Say in a few words why an HTTP request got no answer."""
    if isinstance(exc, requests.Timeout):
        return "it did not answer in time."
    if isinstance(exc, requests.ConnectionError):
        return "nothing answers there; is the server running?"

    return str(exc)


def check_record(run_id: str, record: dict) -> dict:
    """Return a finished run's record, or raise BenchmarkFailed if it failed."""
    status = record.get("status", "success")
    if status != "success":
        raise BenchmarkFailed(
            run_id,
            status,
            record.get("message") or f"the run ended with status {status}",
            log_tail=record.get("log_tail") or "",
            data=record,
        )

    return record


def speedup(record: Mapping[str, Any]) -> float:
    """Return how many times faster the optimized model ran than the input model.

    This is the server's ``speedup``, the geometric mean of the rounds'
    speed-ups, or else the ratio of the two throughputs.
    """
    given = record.get("speedup")
    if isinstance(given, (int, float)) and not isinstance(given, bool) and given > 0:
        return float(given)

    try:
        optimized = float(record["perf_throughput_optimized_model"])
        reference = float(record["perf_throughput_input_model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            "The record holds no throughput for both models; was it a "
            "successful performance run?"
        ) from exc
    if reference <= 0:
        raise ValueError(f"The input model's throughput is {reference}, not > 0.")

    return optimized / reference


def speedup_interval(record: Mapping[str, Any]) -> tuple[float, float] | None:
    """Return the 95% confidence interval of the speed-up, None with one round.

    An interval that holds 1.0 means that the rounds cannot tell the two
    models apart; ask for more rounds (``rounds=5``) or a longer ``duration``.
    """
    interval = record.get("speedup_ci95")
    if not isinstance(interval, (list, tuple)) or len(interval) != 2:
        return None
    try:
        low, high = (float(bound) for bound in interval)
    except (TypeError, ValueError):
        return None

    return low, high


@dataclass(frozen=True)
class Verdict:
    """Whether a run's numbers can be trusted and, if not, why.

    True in a boolean context only when the server judged the run valid.
    """

    valid: bool | None
    reasons: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.valid is True

    def __str__(self) -> str:
        if self.valid is None:
            return "no verdict (the server sent none)"
        if self.valid:
            return "valid"

        return "invalid: " + "; ".join(self.reasons)


def verdict(record: Mapping[str, Any]) -> Verdict:
    """Return the verdict of a run: valid, or invalid with the reasons."""
    given = record.get("verdict")
    if not isinstance(given, Mapping) or not isinstance(given.get("valid"), bool):
        return Verdict(None)
    reasons = given.get("reasons") or ()

    return Verdict(given["valid"], tuple(str(reason) for reason in reasons))


def _slice(now: float, next_poll: float, deadline: float | None) -> float:
    """Return how long to sleep before the next poll or the deadline."""
    until = next_poll if deadline is None else min(next_poll, deadline)

    return max(until - now, 0.0)
