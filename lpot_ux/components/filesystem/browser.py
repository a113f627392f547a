"""List the folders and model files of one folder, for the page's file dialog."""

import os
from pathlib import Path
from typing import Any

from lpot_ux.components.benchmark.worker.formats import SUFFIXES
from lpot_ux.errors import NotFoundError, RequestError

# Suffixes of the files that the dialog offers as models, compared in lower case.
MODEL_SUFFIXES = tuple(SUFFIXES)

# A folder holding one of these files is a TensorFlow SavedModel.
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")

# Entries listed at most, so that a folder of a million files cannot stall the
# server or the page; the listing says when it was cut.
MAX_ENTRIES = 2000


def browse_folder(path: str, home: Path) -> dict[str, Any]:
    """Return the readable subfolders and model files of the folder at ``path``.

    An empty ``path`` means ``home``, and a leading ``~`` stands for it too.
    The answer holds the folder's absolute ``path``, its ``parent`` (None at
    the root) and ``entries``, folders first, then models, each sorted by name.

    :raises RequestError: ``path`` is relative, not a folder, or unreadable.
    :raises NotFoundError: nothing exists at ``path``.
    """
    folder = resolve_folder(path, home)
    entries = list_entries(folder)
    parent = folder.parent if folder.parent != folder else None

    return {
        "path": str(folder),
        "parent": str(parent) if parent is not None else None,
        "entries": entries[:MAX_ENTRIES],
        "truncated": len(entries) > MAX_ENTRIES,
    }


def resolve_folder(path: str, home: Path) -> Path:
    """Return ``path`` as an absolute, normalised folder that can be listed."""
    text = path.strip()
    if text == "" or text == "~":
        text = str(home)
    elif text.startswith("~/"):
        text = str(home / text[2:])

    if not os.path.isabs(text):
        raise RequestError(
            f"path: {path!r} is not an absolute path; "
            "give it from the root, like '/home/me/models'."
        )

    folder = Path(os.path.normpath(text))
    if not folder.exists():
        raise NotFoundError(f"path: {str(folder)!r} does not exist.")

    if not folder.is_dir():
        raise RequestError(f"path: {str(folder)!r} is not a folder.")

    if not os.access(folder, os.R_OK | os.X_OK):
        raise RequestError(f"path: {str(folder)!r} cannot be read by the server.")

    return folder


def list_entries(folder: Path) -> list[dict[str, str]]:
    """Return the visible, readable subfolders and model files of ``folder``."""
    try:
        with os.scandir(folder) as scan:
            found = [entry for entry in scan if not entry.name.startswith(".")]
    except OSError as error:
        raise RequestError(
            f"path: {str(folder)!r} cannot be read by the server ({error.strerror})."
        ) from error

    entries = []
    for entry in found:
        kind = classify_entry(entry)
        if kind is not None:
            entries.append({"name": entry.name, "path": entry.path, "type": kind})

    entries.sort(key=sort_key)

    return entries


def classify_entry(entry: os.DirEntry) -> str | None:
    """Return "directory", "model" or None for an entry the dialog leaves out."""
    try:
        if entry.is_dir():
            if not os.access(entry.path, os.R_OK | os.X_OK):
                return None

            return "model" if is_saved_model(entry.path) else "directory"

        is_model_file = entry.is_file() and entry.name.lower().endswith(MODEL_SUFFIXES)
    except OSError:
        # A broken link or an entry removed while listing: nothing to offer.
        return None

    if is_model_file and os.access(entry.path, os.R_OK):
        return "model"

    return None


def is_saved_model(path: str) -> bool:
    """Tell whether the folder at ``path`` is a TensorFlow SavedModel."""
    return any(os.path.isfile(os.path.join(path, name)) for name in SAVED_MODEL_FILES)


def sort_key(entry: dict[str, str]) -> tuple[bool, str, str]:
    """Order plain folders before models, then by name regardless of case."""
    return entry["type"] != "directory", entry["name"].casefold(), entry["name"]
