"""Tests of ``lpot_ux benchmark`` against a real server and the tiny models."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from lpot_ux.terminal import (
    add_benchmark_arguments,
    format_results,
    run_benchmark_command,
)

# Small runs: the tiny models need a few iterations to give a stable number,
# and the suite has to stay well under a minute on two cores.
SMALL_RUN = ["--warmup", "2", "--iterations", "10"]

pytestmark = pytest.mark.e2e


def run_command(argv: list[str]) -> int:
    """Parse argv like ``lpot_ux benchmark`` does and run the command."""
    parser = argparse.ArgumentParser(prog="lpot_ux benchmark")
    add_benchmark_arguments(parser)

    return run_benchmark_command(parser.parse_args(argv))


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
    assert input_row.split()[:2] == ["input", "fp32"]
    assert input_row.split()[-1] == "1.00x"
    assert optimized_row.split()[:2] == ["optimized", "int8"]
    assert out[-1].startswith("The optimized model runs ")


def test_json_through_the_launcher_with_the_server_from_the_environment(
    live_server, tiny_models
):
    env = {**os.environ, "LPOT_UX_URL": live_server.url}
    env["LPOT_UX_TOKEN"] = live_server.token
    command = [sys.executable, "-m", "lpot_ux", "benchmark", "--json"]
    command += model_arguments(tiny_models) + SMALL_RUN + ["--id", "terminal-json"]

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["id"] == "terminal-json"
    assert record["status"] == "success"
    assert record["perf_throughput_input_model"] > 0
    assert record["perf_throughput_optimized_model"] > 0
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

    assert "No speed-up" in text
    assert text.splitlines()[-3].split()[2:] == ["-", "-", "-"]


def test_a_private_server_that_cannot_start_is_reported(tmp_path, tiny_models, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    argv = model_arguments(tiny_models) + ["--workspace", str(not_a_folder)]

    assert run_command(argv) == 1

    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: The private lpot_ux server exited with code 1")
