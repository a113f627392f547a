"""One server per workspace: a second one would mark the first one's runs interrupted."""

import fcntl
import os
from pathlib import Path

from lpot_ux.errors import LpotUxError

LOCK_NAME = "lpot_ux.lock"


class WorkspaceBusyError(LpotUxError):
    """Another lpot_ux server uses the workspace."""

    status_code = 409


class WorkspaceLock:
    """An exclusive lock on a workspace, held while the server runs."""

    def __init__(self, workspace: Path) -> None:
        self.path = workspace / LOCK_NAME
        self.file = None

    def acquire(self) -> "WorkspaceLock":
        """Take the lock, or raise naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = open(self.path, "a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "unknown"
            lock_file.close()
            raise WorkspaceBusyError(
                f"another lpot_ux server (pid {holder}) uses the workspace "
                f"'{self.path.parent}'; stop it, or give this one another --workspace."
            ) from None
        lock_file.truncate(0)
        lock_file.write(f"{os.getpid()}\n")
        lock_file.flush()
        self.file = lock_file

        return self

    def release(self) -> None:
        """Give the lock up."""
        if self.file is not None:
            self.file.close()
            self.file = None
