"""Socket.IO handlers: only clients with the token may listen."""

import logging
from typing import Any

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, SocketIO

from lpot_ux.web.security import read_token, token_matches

logger = logging.getLogger(__name__)


def register(socketio: SocketIO) -> None:
    """Install the connection check on a Socket.IO server."""

    @socketio.on("connect")
    def connect(auth: Any = None) -> bool:
        """Accept a client whose auth (or ?token=) holds the server's token."""
        token = auth.get("token") if isinstance(auth, dict) else None
        candidate = token if isinstance(token, str) else read_token(None, request.args.get("token"))
        if not token_matches(candidate, current_app.config["TOKEN"]):
            logger.warning("Refused a Socket.IO connection without a valid token")
            raise ConnectionRefusedError(
                "A valid token is required: connect with auth={'token': TOKEN}."
            )

        return True
