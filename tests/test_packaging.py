"""An installed wheel serves the page, its assets and the API, away from the checkout."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCES = ("setup.py", "requirements.txt", "README.md", "lpot_ux", "static", "templates")
CHECK = """
import sys, tempfile
import lpot_ux
from lpot_ux.web import create_app
assert lpot_ux.__file__.startswith(sys.argv[1]), lpot_ux.__file__
app = create_app({"WORKSPACE": tempfile.mkdtemp(), "TOKEN": "t", "ASYNC_MODE": "threading"})
client = app.test_client()
for path in ("/", "/static/js/app.js", "/static/vendor/socket.io.min.js", "/api/benchmark?token=t"):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
print("ok")
"""


def copy_sources(destination: Path) -> None:
    """Copy what a wheel is built from, so that no build folder of the checkout's leaks in."""
    destination.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / name, destination / name, ignore=ignore)
        else:
            shutil.copy(ROOT / name, destination / name)


@pytest.mark.e2e
def test_wheel_serves_page_assets_and_api(tmp_path):
    wheels, target, source = tmp_path / "wheels", tmp_path / "site", tmp_path / "source"
    copy_sources(source)
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    [wheel] = wheels.glob("lpot_ux-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)

    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(target)],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )

    assert result.stdout.strip() == "ok", result.stderr
