"""Background tasks of the server's companions (breaker sync, monitor loop, maintenance flag, mitigation)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

_log = logging.getLogger("ttsign.tasks")


async def cancel_and_wait(task: asyncio.Task[None] | None, *, every_s: float = 0.1, within_s: float = 10.0) -> None:
    """Stop a companion's background task (None: it never started) and wait until it has stopped.

    The cancel is repeated every `every_s` until the task ends: a library may swallow one. redis-py 8.1's
    asyncio client does, often: a cancel that lands while a command's reply is being read is dropped and
    the reply returned (measured: 2 of 3 cancels of a task looping on MGET against a local Redis; the
    same class of bug as redis-py#2028). A loop that caught it once would otherwise run on and its close
    would wait forever. After `within_s` the task is left behind with a warning, so a shutdown ends.
    """
    if task is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not task.done():
        if loop.time() >= deadline:
            _log.warning("background task %s did not stop within %.1f s; left running", task.get_name(), within_s)
            return
        task.cancel()
        await asyncio.wait({task}, timeout=every_s)
    with contextlib.suppress(asyncio.CancelledError):
        await task
