"""A wake-up call for a job that otherwise polls: the HTTP app rings it after committing a
handoff request, and the daemon's handoff loop, waiting out its poll interval, runs at once.

Only within one process (`nurture run`, where the app and the jobs share the event loop); an
app in another process (`nurture serve`) rings nobody, and the job's poll finds its requests.
`ring` may be called from any thread: FastAPI runs the API's handlers in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib


class Wakeup:
    """Rings wake the one task waiting in `wait`; rings while nobody waits are kept (at most
    one), so a request committed while the job runs is looked at right after it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def ring(self) -> None:
        """Wake the waiting task; nothing happens while no loop has waited yet (the job has
        not started, and will look at everything when it does)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> bool:
        """Return when rung (True), or after `timeout` seconds (False)."""
        self._loop = asyncio.get_running_loop()
        rung = False
        with contextlib.suppress(TimeoutError):
            rung = await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()
        return rung

    def bind(self) -> None:
        """Take rings from now on, before the first `wait` (call in the loop)."""
        self._loop = asyncio.get_running_loop()
