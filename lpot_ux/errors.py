"""Exceptions of lpot_ux, each carrying the HTTP status it maps to."""


class LpotUxError(Exception):
    """Base of every error that lpot_ux reports to a user."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RequestError(LpotUxError):
    """The request is malformed or asks for something impossible."""

    status_code = 400


class AuthenticationError(LpotUxError):
    """The token is missing or wrong."""

    status_code = 403


class NotFoundError(LpotUxError):
    """The thing asked for does not exist."""

    status_code = 404


class ConflictError(LpotUxError):
    """A run with the same id is already queued or running."""

    status_code = 409


class ConfigurationError(LpotUxError):
    """The benchmark configuration cannot be built from the models given."""

    status_code = 400


class WorkerError(LpotUxError):
    """A worker process failed or printed no result."""

    def __init__(self, message: str, exit_code: int | None = None, log_tail: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.log_tail = log_tail


class ParseError(LpotUxError):
    """A worker log does not hold the result lines expected."""
