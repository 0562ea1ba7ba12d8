"""What the HTTP routes share: the database, the settings, the running sequences and the clock.

The project is read through a getter because the daemon swaps it on SIGHUP; the clock is the
daemon's, so tests move time instead of sleeping. `wake_handoffs` is called once a request has
committed a handoff request, so the daemon's handoff job in this process runs at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import Engine

from nurture.clock import Clock
from nurture.files.loader import Project
from nurture.settings import Settings

MAX_BODY_BYTES = 1_000_000


def _nobody() -> None:
    """No handoff job in this process: its poll finds the request."""


@dataclass(frozen=True)
class WebContext:
    engine: Engine
    settings: Settings
    project: Callable[[], Project]
    clock: Clock
    max_body_bytes: int = MAX_BODY_BYTES
    wake_handoffs: Callable[[], None] = field(default=_nobody)

    @property
    def secret(self) -> str:
        """The key that signs tracking and unsubscribe tokens."""
        return self.settings.tracking.secret.get_secret_value()


def web_context(request: Request) -> WebContext:
    """FastAPI dependency: the context `create_app` was given."""
    context: WebContext = request.app.state.nurture
    return context
