"""Background tasks, stopped one way."""

from __future__ import annotations

import asyncio

from .logs import get_logger

log = get_logger(__name__)


async def cancel_until_done(task: asyncio.Task | None) -> None:
    """Cancel ``task`` (None: nothing to stop) and wait for it to end, cancelling again while it runs on:
    Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives as its inner call finishes, and a
    loop around it then never ends (a stop that waits for ever). An error the task ended with is logged."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if not task.cancelled() and task.exception() is not None:
        log.warning("task ended with an error", task=task.get_name(), error=repr(task.exception()))
