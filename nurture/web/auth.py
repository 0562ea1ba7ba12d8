"""Bearer-token auth for /api: the token must equal one of the configured `api_keys`.

Every key is compared, each in constant time, so the answer's timing tells nothing about which
key or how much of it matched. With no keys configured the API refuses every request.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nurture.web.state import WebContext, web_context

_bearer = HTTPBearer(auto_error=False, description="one of `api_keys` from the configuration")


def require_api_key(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    context: Annotated[WebContext, Depends(web_context)],
) -> None:
    """FastAPI dependency: 401 unless the request carries a configured API key."""
    if credentials is None:
        raise _unauthorized("no API key: send the header Authorization: Bearer <key>")
    given = credentials.credentials.encode()
    matched = False
    for key in context.settings.api_keys:
        matched |= hmac.compare_digest(given, key.get_secret_value().encode())
    if not matched:
        raise _unauthorized("the API key is not one of the configured api_keys")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
