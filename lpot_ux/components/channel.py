"""A small message channel from the components to whoever listens (Socket.IO)."""

import logging
from typing import Any, Callable

logger = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]


class MessageChannel:
    """Deliver subject/data messages to every subscribed listener."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Add a listener called with (subject, {"status": ..., "data": ...})."""
        self.listeners.append(listener)

    def post(self, subject: str, status: str, data: dict[str, Any]) -> None:
        """Send one message to every listener."""
        message = {"status": status, "data": data}
        logger.debug("Posting %s [%s]: %s", subject, data.get("id"), status)
        for listener in self.listeners:
            listener(subject, message)
