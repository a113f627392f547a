"""Tests of ``lpot_ux benchmark`` against a real server and the tiny models."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys

import pytest

from lpot_ux import terminal
from lpot_ux.client import build_request
from lpot_ux.terminal import (
    add_benchmark_arguments,
    format_results,
    run_benchmark_command,
)

# Small runs: the tiny models need a few iterations to give a stable number,
# and the suite has to stay well under a minute on two cores.
SMALL_RUN = ["--warmup", "2", "--iterations", "10"]

pytestmark = pytest.mark.e2e


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse argv like ``lpot_ux benchmark`` does."""
    parser = argparse.ArgumentParser(prog="lpot_ux benchmark")
    add_benchmark_arguments(parser)

    return parser.parse_args(argv)


def run_command(argv: list[str]) -> int:
    """Parse argv like ``lpot_ux benchmark`` does and run the command."""

    return run_benchmark_command(parse(argv))


class RecordingClient:
    """Stands for a Client: keeps what benchmark() was given, returns a record."""

    def __init__(self, record: dict) -> None:
        self.record = record
        self.calls: list[tuple] = []

    def benchmark(self, input_model, optimized_model, *, id=None, **settings) -> dict:
        self.calls.append((input_model, optimized_model, settings))
        return self.record

    def request(self) -> dict:
        """Return the body the one call would have posted."""
        ((input_model, optimized_model, settings),) = self.calls

        return build_request("x", input_model, optimized_model, settings)


def judged_record() -> dict:
    """Return a finished run of three rounds with accuracy and an invalid verdict."""

    latency = {"mean": 2.0, "p50": 1.9, "p99": 3.5}
    return {
        "id": "judged",
        "status": "success",
        "perf_throughput_input_model": 100.0,
        "perf_throughput_optimized_model": 240.0,
        "perf_latency_input_model": 10.0,
        "perf_latency_optimized_model": 4.1,
        "statistics": {
            "input_model": {"latency_ms_per_batch": {**latency, "mean": 10.0}},
            "optimized_model": {"latency_ms_per_batch": latency},
        },
        "speedup": 2.45,
        "speedup_ci95": [2.1, 2.86],
        "rounds": [{"round": n, "speedup": 2.45} for n in (1, 2, 3)],
        "acc_input_model": 0.76,
        "acc_optimized_model": 0.75,
        "accuracy_drop": 0.01,
        "accuracy_drop_relative": 0.01 / 0.76,
        "request": {"metric": {"topk": 5}},
        "verdict": {
            "valid": False,
            "reasons": ["input_model round 2: CPU 1 was 80% busy with other work"],
        },
    }


def model_arguments(tiny_models: dict) -> list[str]:
    return [
        "--input-model",
        str(tiny_models["fp32"]),
        "--optimized-model",
        str(tiny_models["int8"]),
    ]


def server_arguments(live_server) -> list[str]:
    return ["--url", live_server.url, "--token", live_server.token]


@pytest.fixture(autouse=True)
def no_server_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LPOT_UX_URL", raising=False)
    monkeypatch.delenv("LPOT_UX_TOKEN", raising=False)


def test_prints_a_results_table(live_server, tiny_models, capsys):
    argv = model_arguments(tiny_models) + server_arguments(live_server) + SMALL_RUN

    assert run_command(argv + ["--id", "terminal-table"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Benchmark terminal-table: success"
    header, _, input_row, optimized_row = out[2:6]
    assert header.split()[:3] == ["model", "precision", "throughput"]
    assert "p50 (ms)" in header and "p99 (ms)" in header
    assert input_row.split()[:2] == ["input", "fp32"]
    assert input_row.split()[-1] == "1.00x"
    assert optimized_row.split()[:2] == ["optimized", "int8"]
    assert len(optimized_row.split()) == 7  # every figure known, none "-"
    assert "-" not in optimized_row.split()
    assert out[7].startswith("The optimized model runs ")
    assert out[7].endswith("(one round, so no interval).")
    assert out[8] in (
        "Verdict: valid.",
        "Verdict: INVALID, do not trust these numbers:",
    )


def test_json_through_the_launcher_with_the_server_from_the_environment(
    live_server, tiny_models
):
    env = {**os.environ, "LPOT_UX_URL": live_server.url}
    env["LPOT_UX_TOKEN"] = live_server.token
    command = [sys.executable, "-m", "lpot_ux", "benchmark", "--json"]
    command += model_arguments(tiny_models) + SMALL_RUN + ["--id", "terminal-json"]
    command += ["--max-duration", "60", "--warmup-duration", "0", "--rounds", "1"]

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["id"] == "terminal-json"
    assert record["status"] == "success"
    assert record["perf_throughput_input_model"] > 0
    assert record["perf_throughput_optimized_model"] > 0
    assert record["request"]["max_duration"] == 60
    assert record["request"]["warmup_duration"] == 0
    assert record["verdict"]["valid"] in (True, False)
    assert "2/2" in done.stderr  # the progress bar


def test_a_missing_model_exits_1_with_one_error_line(live_server, tiny_models, capsys):
    argv = ["--input-model", "/no/such/model.pb", "--optimized-model"]
    argv += [str(tiny_models["int8"])] + server_arguments(live_server)

    assert run_command(argv) == 1

    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "/no/such/model.pb" in errors[0]
    assert captured.out == ""


def test_a_private_server_is_started_and_its_errors_reported(
    tmp_path, tiny_models, capsys
):
    argv = ["--input-model", str(tmp_path / "missing.pb"), "--optimized-model"]
    argv += [str(tiny_models["int8"]), "--workspace", str(tmp_path / "workspace")]

    assert run_command(argv) == 1

    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and "missing.pb" in error
    assert (tmp_path / "workspace").is_dir()


def test_a_wrong_token_is_reported(live_server, tiny_models, capsys):
    argv = model_arguments(tiny_models) + ["--url", live_server.url, "--token", "x"]

    assert run_command(argv) == 1

    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and "403" in error


def test_format_results_without_latency_or_speed_up():
    record = {"id": "r", "status": "success", "perf_throughput_input_model": 10.0}

    text = format_results(record)

    assert text.splitlines()[-1].startswith("No speed-up")
    assert text.splitlines()[-4].split()[2:] == ["10.00", "-", "-", "-", "1.00x"]
    assert text.splitlines()[-3].split()[2:] == ["-"] * 5
    assert "Verdict" not in text


def test_format_results_shows_the_interval_accuracy_and_verdict():
    lines = format_results(judged_record()).splitlines()

    header, _, input_row, optimized_row = lines[2:6]
    assert header.split()[-3:] == ["accuracy", "(top-5)", "speed-up"]
    assert input_row.split()[2:] == [
        "100.00",
        "10.000",
        "1.900",
        "3.500",
        "76.00%",
        "1.00x",
    ]
    # The speed-up of the rounds (their geometric mean), not the throughputs' ratio.
    assert optimized_row.split()[-2:] == ["75.00%", "2.45x"]
    assert lines[7] == (
        "The optimized model runs 2.45x as fast as the input model "
        "(95% interval 2.10x to 2.86x over 3 rounds)."
    )
    assert lines[8] == (
        "Accuracy (top-5): 76.00% -> 75.00%, drop of 1.00 points (1.32% relative)."
    )
    assert lines[9:] == [
        "Verdict: INVALID, do not trust these numbers:",
        "  - input_model round 2: CPU 1 was 80% busy with other work",
    ]


def test_format_results_of_a_valid_run():
    record = {**judged_record(), "verdict": {"valid": True, "reasons": []}}

    assert format_results(record).splitlines()[-1] == "Verdict: valid."


def test_new_flags_reach_the_request(monkeypatch, tmp_path, capsys):
    client = RecordingClient(judged_record())
    monkeypatch.setattr(
        terminal, "connect", lambda args: contextlib.nullcontext(client)
    )
    dataset = tmp_path / "val.npz"
    argv = ["--input-model", "a.pb", "--optimized-model", "b.onnx"]
    argv += ["--duration", "2.5", "--warmup-duration", "0.5", "--max-duration", "60"]
    argv += ["--rounds", "3", "--input-shape", "input:0=-1,32,32,3"]
    argv += ["--input-shape", "ids=-1,16", "--accuracy", "--dataset", str(dataset)]
    argv += ["--topk", "5", "--optimized-framework", "onnxrt"]
    argv += ["--input-signature", "serving_default"]

    assert run_command(argv) == 0

    body = client.request()
    assert body["duration"] == 2.5 and body["warmup_duration"] == 0.5
    assert body["max_duration"] == 60 and body["rounds"] == 3
    assert body["input_shapes"] == {"input:0": [-1, 32, 32, 3], "ids": [-1, 16]}
    assert body["dataset"] == {"path": str(dataset)}
    assert body["metric"] == {"topk": 5}
    assert body["input_model"]["mode"] == ["performance", "accuracy"]
    assert body["input_model"]["signature"] == "serving_default"
    assert body["optimized_model"]["mode"] == ["performance", "accuracy"]
    assert body["optimized_model"]["framework"] == "onnxrt"
    assert "framework" not in body["input_model"]
    assert "95% interval 2.10x to 2.86x" in capsys.readouterr().out


def test_without_the_new_flags_the_request_leaves_them_out(monkeypatch):
    client = RecordingClient(judged_record())
    monkeypatch.setattr(
        terminal, "connect", lambda args: contextlib.nullcontext(client)
    )

    assert run_command(["--input-model", "a.pb", "--optimized-model", "b.pb"]) == 0

    body = client.request()
    assert set(body) == {"id", "input_model", "optimized_model"}
    assert set(body["input_model"]) == {"path", "precision"}


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--input-shape", "input"),
        ("--input-shape", "input=1,0,3"),
        ("--input-shape", "=1,2"),
        ("--input-shape", "input=a,b"),
        ("--duration", "0"),
        ("--duration", "nan"),
        ("--warmup-duration", "-1"),
        ("--rounds", "0"),
        ("--topk", "0"),
        ("--input-framework", "pytorch"),
    ],
)
def test_bad_flag_values_are_refused(flag, value, capsys):
    argv = ["--input-model", "a.pb", "--optimized-model", "b.pb", flag, value]

    with pytest.raises(SystemExit) as exited:
        parse(argv)

    assert exited.value.code == 2
    assert flag in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--input-shape", "x=1,2", "--input-shape", "x=1,3"], "gives input 'x' twice"),
        (["--accuracy"], "--accuracy needs --dataset PATH"),
        (["--dataset", "val.npz"], "add --accuracy"),
        (["--topk", "5"], "add --accuracy"),
    ],
)
def test_options_that_cannot_work_are_errors(monkeypatch, capsys, flags, message):
    monkeypatch.setattr(terminal, "connect", lambda args: pytest.fail("connected"))
    argv = ["--input-model", "a.pb", "--optimized-model", "b.pb", *flags]

    assert run_command(argv) == 1

    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error


def test_a_private_server_that_cannot_start_is_reported(tmp_path, tiny_models, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    argv = model_arguments(tiny_models) + ["--workspace", str(not_a_folder)]

    assert run_command(argv) == 1

    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: The private lpot_ux server exited with code 1")
