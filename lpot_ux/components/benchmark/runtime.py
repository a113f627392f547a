"""The one seam between the components and the server's concurrency model.

Workers are started through the green subprocess of the server's async mode so
that waiting on them never blocks the server; queues and sleeps come from the
same place.  Switching eventlet for gevent or threading is a change of the
``ASYNC_MODE`` setting only.
"""

import importlib
from dataclasses import dataclass
from typing import Any, Callable

# async mode: (module with Popen, module with Queue)
BACKENDS = {
    "eventlet": ("eventlet.green.subprocess", "eventlet.queue"),
    "gevent": ("gevent.subprocess", "gevent.queue"),
    "threading": ("subprocess", "queue"),
}


@dataclass(frozen=True)
class Runtime:
    """How to start processes, background tasks and queues, and how to wait."""

    popen: Callable[..., Any]
    queue: Callable[[], Any]
    start_task: Callable[..., Any]
    sleep: Callable[[float], None]


def make_runtime(
    async_mode: str, start_task: Callable[..., Any], sleep: Callable[[float], None]
) -> Runtime:
    """Return the runtime of an async mode, with the server's task primitives."""
    if async_mode not in BACKENDS:
        raise ValueError(
            f"Unknown async mode {async_mode!r}; use one of {', '.join(BACKENDS)}."
        )
    subprocess_module, queue_module = (importlib.import_module(name) for name in BACKENDS[async_mode])

    return Runtime(
        popen=subprocess_module.Popen,
        queue=queue_module.Queue,
        start_task=start_task,
        sleep=sleep,
    )
