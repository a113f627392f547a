"""Tests of GET /api/filesystem through the Flask test client."""

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture
def auth(app: Flask) -> dict[str, str]:
    """Return the header that carries the app's token."""

    return {"Authorization": f"Bearer {app.config['TOKEN']}"}


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """Build a folder holding models, a subfolder and files the dialog hides."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "zoo").mkdir()
    (folder / ".cache").mkdir()
    (folder / "mobilenet_fp32.pb").write_bytes(b"x")
    (folder / "mobilenet_int8.pb").write_bytes(b"x")
    (folder / "readme.txt").write_text("not a model")
    (folder / "exported").mkdir()
    (folder / "exported" / "saved_model.pb").write_bytes(b"x")

    return folder


def test_lists_folders_and_models(
    client: FlaskClient, auth: dict, models: Path
) -> None:
    response = client.get(
        "/api/filesystem", query_string={"path": str(models)}, headers=auth
    )

    assert response.status_code == 200
    assert response.get_json() == {
        "path": str(models),
        "parent": str(models.parent),
        "entries": [
            {"name": "zoo", "path": str(models / "zoo"), "type": "directory"},
            {"name": "exported", "path": str(models / "exported"), "type": "model"},
            {
                "name": "mobilenet_fp32.pb",
                "path": str(models / "mobilenet_fp32.pb"),
                "type": "model",
            },
            {
                "name": "mobilenet_int8.pb",
                "path": str(models / "mobilenet_int8.pb"),
                "type": "model",
            },
        ],
        "truncated": False,
    }


def test_default_path_is_home(
    client: FlaskClient, auth: dict, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(models))

    response = client.get("/api/filesystem", headers=auth)

    assert response.status_code == 200
    assert response.get_json()["path"] == str(models)


def test_missing_path_is_404_naming_it(
    client: FlaskClient, auth: dict, tmp_path: Path
) -> None:
    missing = tmp_path / "no_such_folder"

    response = client.get(
        "/api/filesystem", query_string={"path": str(missing)}, headers=auth
    )

    assert response.status_code == 404
    assert str(missing) in response.get_json()["error"]


def test_relative_path_is_400(client: FlaskClient, auth: dict) -> None:
    response = client.get(
        "/api/filesystem", query_string={"path": "models/zoo"}, headers=auth
    )

    assert response.status_code == 400
    assert "'models/zoo' is not an absolute path" in response.get_json()["error"]


def test_file_path_is_400(client: FlaskClient, auth: dict, models: Path) -> None:
    model = models / "mobilenet_fp32.pb"

    response = client.get(
        "/api/filesystem", query_string={"path": str(model)}, headers=auth
    )

    assert response.status_code == 400
    assert f"'{model}' is not a folder" in response.get_json()["error"]


def test_needs_the_token(client: FlaskClient, models: Path) -> None:
    response = client.get("/api/filesystem", query_string={"path": str(models)})

    assert response.status_code == 403
    assert "error" in response.get_json()


def test_token_in_query_is_accepted(
    app: Flask, client: FlaskClient, models: Path
) -> None:
    query = {"path": str(models), "token": app.config["TOKEN"]}

    response = client.get("/api/filesystem", query_string=query)

    assert response.status_code == 200
