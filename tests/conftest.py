"""Fixtures: the app through its factory, test clients, real models and a real server."""

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from lpot_ux.web import create_app

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAKE_WORKER = Path(__file__).parent / "fixtures" / "fake_worker.py"
URL_LINE = re.compile(r"(http://[^/\s]+)/\?token=(\w+)")
SERVER_START_TIMEOUT = 60


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Return an empty workspace folder."""
    path = tmp_path / "workspace"
    path.mkdir()

    return path


@pytest.fixture
def app(workspace: Path):
    """Return an app on a temporary workspace, running the fake worker in threads."""
    app = create_app(
        {
            "WORKSPACE": workspace,
            "TOKEN": TOKEN,
            "ASYNC_MODE": "threading",
            "BENCHMARK_SCRIPT": FAKE_WORKER,
            "READY_TIMEOUT": 20,
            "RUN_TIMEOUT": 20,
        }
    )
    app.testing = True
    yield app
    app.extensions["lpot_ux"].shutdown()
    app.extensions["lpot_ux_lock"].release()


@pytest.fixture
def client(app):
    """Return the Flask test client of the app."""

    return app.test_client()


@pytest.fixture
def socket_client(app):
    """Return an authenticated Flask-SocketIO test client of the app."""
    socketio = app.extensions["socketio"]
    client = socketio.test_client(app, auth={"token": TOKEN})
    yield client
    if client.is_connected():
        client.disconnect()


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    """Return an existing (not loadable) model file, for request checks."""
    path = tmp_path / "model.pb"
    path.write_bytes(b"")

    return path


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Make a tiny real fp32 graph and its int8 twin, once per session."""
    output = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, "-m", "lpot_ux", "demo-models", "--kind", "tiny", "--output", str(output)],
        check=True,
        capture_output=True,
        timeout=600,
    )

    return {"fp32": output / "tiny_fp32.pb", "int8": output / "tiny_int8.pb"}


@dataclass
class ServerProcess:
    """A real lpot_ux server in its own process."""

    workspace: Path
    token: str
    process: subprocess.Popen | None = None
    url: str = ""
    log_path: Path | None = None

    def start(self, *extra: str) -> "ServerProcess":
        """Start the server on a free port and wait for its URL line."""
        self.log_path = self.workspace.parent / f"server-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "lpot_ux", "--port", "0", "--workspace", str(self.workspace)]
        self.process = subprocess.Popen(
            [*command, "--token", self.token, "-v", *extra],
            stdout=subprocess.PIPE,
            stderr=self.log_path.open("wb"),
            text=True,
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            match = URL_LINE.search(line)
            if match:
                self.url = match.group(1)
                return self
            if not line and self.process.poll() is not None:
                break
        raise RuntimeError(f"lpot_ux did not start: {self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the server and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def log(self) -> str:
        """Return what the server wrote to stderr."""

        return self.log_path.read_text() if self.log_path else ""


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Start one real lpot_ux server for the session."""
    root = tmp_path_factory.mktemp("live")
    server = ServerProcess(root / "workspace", "live-" + os.urandom(8).hex()).start()
    yield server
    server.stop()


@pytest.fixture
def server_factory(tmp_path: Path):
    """Return a function starting private servers, all stopped after the test."""
    servers: list[ServerProcess] = []

    def start(workspace: Path | None = None, token: str = TOKEN, *extra: str) -> ServerProcess:
        server = ServerProcess(workspace or tmp_path / "workspace", token).start(*extra)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def flat_topology(monkeypatch, tmp_path_factory):
    """Make every CPU its own physical core, so that layouts do not depend on this machine.

    Tests that start a real server process are not affected: they see the real machine.
    """
    from lpot_ux.components.system import topology

    monkeypatch.setattr(topology, "SYSFS_CPUS", tmp_path_factory.getbasetemp() / "no-sysfs")
