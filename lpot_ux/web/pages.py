"""The web page."""

from flask import Blueprint, render_template

import lpot_ux

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def index():
    """Serve the single-page web UI."""

    return render_template("index.html", version=lpot_ux.__version__)
