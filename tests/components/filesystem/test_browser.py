"""Tests of the folder listing behind the page's file dialog."""

import os
from pathlib import Path

import pytest

from lpot_ux.components.filesystem import browser
from lpot_ux.components.filesystem.browser import browse_folder
from lpot_ux.errors import NotFoundError, RequestError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Build a folder with models, plain files, hidden entries and subfolders."""
    (tmp_path / "b_folder").mkdir()
    (tmp_path / "A_folder").mkdir()
    (tmp_path / ".hidden_folder").mkdir()
    (tmp_path / ".hidden.pb").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a model")
    for name in ("z.pb", "Y.keras", "x.h5", "w.tflite", "v.onnx", "UPPER.PB"):
        (tmp_path / name).write_bytes(b"x")

    saved_model = tmp_path / "saved"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"x")
    (saved_model / "variables").mkdir()

    return tmp_path


def names(listing: dict) -> list[str]:
    """Return the entry names of a listing, in order."""
    return [entry["name"] for entry in listing["entries"]]


def test_lists_folders_then_models_sorted(tree: Path) -> None:
    listing = browse_folder(str(tree), home=Path("/"))

    assert names(listing) == [
        "A_folder",
        "b_folder",
        "saved",
        "UPPER.PB",
        "v.onnx",
        "w.tflite",
        "x.h5",
        "Y.keras",
        "z.pb",
    ]
    assert listing["path"] == str(tree)
    assert listing["parent"] == str(tree.parent)
    assert listing["truncated"] is False


def test_entries_carry_absolute_paths_and_types(tree: Path) -> None:
    listing = browse_folder(str(tree), home=Path("/"))
    by_name = {entry["name"]: entry for entry in listing["entries"]}

    assert by_name["A_folder"] == {
        "name": "A_folder",
        "path": str(tree / "A_folder"),
        "type": "directory",
    }
    assert by_name["saved"]["type"] == "model"
    assert by_name["z.pb"] == {
        "name": "z.pb",
        "path": str(tree / "z.pb"),
        "type": "model",
    }


def test_saved_model_in_text_format_is_a_model(tmp_path: Path) -> None:
    (tmp_path / "text_model").mkdir()
    (tmp_path / "text_model" / "saved_model.pbtxt").write_text("")

    listing = browse_folder(str(tmp_path), home=Path("/"))

    assert listing["entries"][0]["type"] == "model"


@pytest.mark.parametrize("path", ["", "  ", "~"])
def test_empty_path_and_tilde_mean_home(tree: Path, path: str) -> None:
    listing = browse_folder(path, home=tree)

    assert listing["path"] == str(tree)


def test_tilde_prefix_is_relative_to_home(tree: Path) -> None:
    listing = browse_folder("~/A_folder", home=tree)

    assert listing["path"] == str(tree / "A_folder")
    assert listing["entries"] == []


def test_path_is_normalised(tree: Path) -> None:
    listing = browse_folder(f"{tree}/A_folder/../b_folder/", home=Path("/"))

    assert listing["path"] == str(tree / "b_folder")
    assert listing["parent"] == str(tree)


def test_root_has_no_parent() -> None:
    listing = browse_folder("/", home=Path("/"))

    assert listing["path"] == "/"
    assert listing["parent"] is None


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(NotFoundError, match=f"path: '{missing}' does not exist"):
        browse_folder(str(missing), home=Path("/"))


def test_file_is_not_a_folder(tree: Path) -> None:
    with pytest.raises(RequestError, match="is not a folder"):
        browse_folder(str(tree / "z.pb"), home=Path("/"))


def test_relative_path_is_refused(tree: Path) -> None:
    with pytest.raises(RequestError, match="'models' is not an absolute path"):
        browse_folder("models", home=tree)


def test_broken_link_is_left_out(tree: Path) -> None:
    (tree / "dangling.pb").symlink_to(tree / "gone.pb")
    (tree / "linked.pb").symlink_to(tree / "z.pb")

    listing = browse_folder(str(tree), home=Path("/"))

    assert "dangling.pb" not in names(listing)
    assert "linked.pb" in names(listing)


def test_listing_is_cut_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser, "MAX_ENTRIES", 3)
    for index in range(5):
        (tmp_path / f"model_{index}.pb").write_bytes(b"x")

    listing = browse_folder(str(tmp_path), home=Path("/"))

    assert names(listing) == ["model_0.pb", "model_1.pb", "model_2.pb"]
    assert listing["truncated"] is True


def deny_access(monkeypatch: pytest.MonkeyPatch, *denied: Path) -> None:
    """Make the browser see ``denied`` as unreadable, even when run as root."""
    real_access = os.access

    def access(path: object, mode: int) -> bool:
        if Path(os.fspath(path)) in denied:
            return False

        return real_access(path, mode)

    monkeypatch.setattr(browser.os, "access", access)


def test_unreadable_folder_is_refused(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deny_access(monkeypatch, tree / "A_folder")

    with pytest.raises(RequestError, match="'.*A_folder' cannot be read by the server"):
        browse_folder(str(tree / "A_folder"), home=Path("/"))


def test_unreadable_entries_are_left_out(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deny_access(monkeypatch, tree / "A_folder", tree / "z.pb")

    listing = browse_folder(str(tree), home=Path("/"))

    assert "A_folder" not in names(listing)
    assert "z.pb" not in names(listing)
    assert "b_folder" in names(listing)


def test_scan_failure_names_the_path(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(browser.os, "scandir", refuse)

    with pytest.raises(
        RequestError, match=f"'{tree}' cannot be read.*Permission denied"
    ):
        browse_folder(str(tree), home=Path("/"))
