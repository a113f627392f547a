"""The file dialog's endpoint: list the folders and models of one folder."""

from pathlib import Path

from flask import Blueprint, Response, jsonify, request

from lpot_ux.components.filesystem.browser import browse_folder

blueprint = Blueprint("filesystem", __name__)


@blueprint.get("/api/filesystem")
def browse_filesystem() -> Response:
    """List the folders and model files at ``?path=`` (default: the home folder)."""
    listing = browse_folder(request.args.get("path", ""), home=Path.home())

    return jsonify(listing)
