"""The Flask application factory of lpot_ux."""

import logging
import secrets
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, jsonify, request
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException

from lpot_ux.components.benchmark.runtime import make_runtime
from lpot_ux.components.benchmark.service import BenchmarkService
from lpot_ux.components.channel import MessageChannel
from lpot_ux.components.store.lock import WorkspaceLock
from lpot_ux.components.store.store import RunStore
from lpot_ux.components.system.info import usable_cores
from lpot_ux.errors import LpotUxError
from lpot_ux.settings import default_settings
from lpot_ux.web import api, events, filesystem, pages, security

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def find_folder(name: str) -> Path:
    """Return static/ or templates/: in the package when installed, else the checkout's."""
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return installed

    return PACKAGE_DIR.parent / name


def load_settings(test_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the defaults overridden by the given mapping."""
    settings = default_settings()
    settings.update(test_config or {})
    settings["WORKSPACE"] = Path(settings["WORKSPACE"]).expanduser().absolute()
    settings["TOKEN"] = settings["TOKEN"] or secrets.token_hex(16)

    return settings


def register_error_handlers(app: Flask) -> None:
    """Turn lpot_ux errors, and HTTP errors under /api, into JSON bodies."""

    @app.errorhandler(LpotUxError)
    def handle_lpot_ux_error(error: LpotUxError):
        return jsonify(error=error.message), error.status_code

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        if not request.path.startswith("/api/"):
            return error
        return jsonify(error=f"{error.name}: {error.description}"), error.code


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the lpot_ux server: routes, Socket.IO and the benchmark service."""
    settings = load_settings(test_config)
    app = Flask(
        __name__,
        static_folder=str(find_folder("static")),
        template_folder=str(find_folder("templates")),
    )
    app.config.update(settings)
    socketio = SocketIO(
        app,
        async_mode=settings["ASYNC_MODE"],
        cors_allowed_origins=list(settings["ALLOWED_ORIGINS"]) or None,
    )

    lock = WorkspaceLock(settings["WORKSPACE"]).acquire()
    store = RunStore(settings["WORKSPACE"])
    interrupted = store.interrupt_active_runs()
    if interrupted:
        logger.warning("%d run(s) left unfinished by a stopped server are now interrupted", interrupted)
    channel = MessageChannel()
    channel.subscribe(lambda subject, message: socketio.emit(subject, message))
    runtime = make_runtime(settings["ASYNC_MODE"], socketio.start_background_task, socketio.sleep)
    service = BenchmarkService(settings, store, channel, runtime, usable_cores())
    app.extensions["lpot_ux"] = service
    app.extensions["lpot_ux_lock"] = lock
    service.start()

    security.init_app(app)
    register_error_handlers(app)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(filesystem.blueprint)
    app.register_blueprint(pages.blueprint)
    events.register(socketio)

    return app
