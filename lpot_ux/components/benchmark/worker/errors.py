"""The worker's one exception, its exit codes and its warnings."""

import sys

USAGE_EXIT = 2
MODEL_EXIT = 1


class BenchmarkError(Exception):
    """A failure reported as one `error:` line and an exit code."""

    def __init__(self, message: str, exit_code: int = USAGE_EXIT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def warn(message: str) -> None:
    """Write a warning line to standard error."""
    print(f"warning: {message}", file=sys.stderr, flush=True)
