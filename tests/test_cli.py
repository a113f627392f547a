"""The launcher: flags, environment, ports, shutdown."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from lpot_ux.cli import build_parser, demo_curl_line

URL_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{32})\b")


def start(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lpot_ux", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_defaults():
    args = build_parser().parse_args([])

    assert (args.address, args.port, args.command) == ("127.0.0.1", None, None)


def test_env_gives_token_and_workspace_and_busy_default_port_moves_on(tmp_path):
    workspace = tmp_path / "new" / "workspace"
    token = "0123456789abcdef0123456789abcdef"
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 5000))
        blocker.listen()
    except OSError:
        pass  # already taken by someone else: just as good
    server = start([], {"LPOT_UX_TOKEN": token, "LPOT_UX_WORKSPACE": str(workspace)})
    try:
        line = server.stdout.readline()
        match = URL_LINE.search(line)
        assert match, line
        port = int(match.group(1))
        assert port != 5000
        assert match.group(2) == token
        assert (workspace / "lpot_ux.db").exists()
        response = requests.get(f"http://127.0.0.1:{port}/api/benchmark?token={token}", timeout=5)
        assert response.json() == {"runs": []}
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0
        blocker.close()


def test_random_token_is_32_hex(tmp_path):
    server = start(["--port", "0", "--workspace", str(tmp_path)])
    try:
        assert URL_LINE.search(server.stdout.readline())
    finally:
        server.terminate()
        assert server.wait(timeout=20) == 0


def test_explicit_busy_port_is_an_error(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        server = start(["--port", str(port), "--workspace", str(tmp_path)])
        _, stderr = server.communicate(timeout=30)

    assert server.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in stderr


def test_curl_line_needs_the_demo_models(tmp_path):
    assert demo_curl_line("http://h:1", "t", tmp_path) is None
    (tmp_path / "models").mkdir()
    for name in ("mobilenet_v2_fp32.pb", "mobilenet_v2_int8.pb"):
        (tmp_path / "models" / name).write_bytes(b"")

    line = demo_curl_line("http://h:1", "t", tmp_path)

    assert line.startswith("curl -H 'Authorization: Bearer t'")
    assert line.endswith(" http://h:1/api/benchmark")
    assert str(tmp_path / "models" / "mobilenet_v2_int8.pb") in line


def test_server_never_imports_tensorflow(live_server, tiny_models, tmp_path):
    maps = Path(f"/proc/{live_server.process.pid}/maps").read_text()

    assert "tensorflow" not in maps
    modules = subprocess.run(
        [sys.executable, "-c", "import sys, lpot_ux.cli, lpot_ux.web; "
         "lpot_ux.web.create_app({'WORKSPACE': sys.argv[1]}); "
         "print(sorted(m for m in sys.modules if 'tensorflow' in m))", str(tmp_path)],
        capture_output=True, text=True, check=True,
    ).stdout
    assert modules.strip() == "[]"


def test_second_server_on_the_same_port_is_refused(live_server, tmp_path):
    port = live_server.url.rsplit(":", 1)[1]

    server = start(["--port", port, "--workspace", str(tmp_path)])
    _, stderr = server.communicate(timeout=30)

    assert server.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in stderr


def test_second_server_on_the_same_workspace_is_refused(live_server):
    server = start(["--port", "0", "--workspace", str(live_server.workspace)])
    _, stderr = server.communicate(timeout=30)

    assert server.returncode == 1
    assert f"error: another lpot_ux server (pid {live_server.process.pid}) uses the workspace" in stderr


@pytest.mark.parametrize("port", ["80000", "-1", "http"])
def test_port_must_be_a_port(port):
    server = start(["--port", port])
    _, stderr = server.communicate(timeout=30)

    assert server.returncode == 2
    assert "is not a port number" in stderr


def test_sighup_stops_cleanly(tmp_path):
    server = start(["--port", "0", "--workspace", str(tmp_path)])
    assert URL_LINE.search(server.stdout.readline())

    server.send_signal(signal.SIGHUP)

    assert server.wait(timeout=20) == 0


def test_open_browser_opens_the_tokened_url(tmp_path):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    server = start(["--port", "0", "--workspace", str(tmp_path / "ws"), "--open-browser"], {"BROWSER": str(browser)})
    try:
        url = URL_LINE.search(server.stdout.readline()).group(0)
        for _ in range(100):
            if opened.exists() and opened.read_text().strip():
                break
            time.sleep(0.1)
        assert opened.read_text().strip() == url
    finally:
        server.terminate()
        assert server.wait(timeout=20) == 0
