"""One webhook delivery attempt: a JSON POST to [handoff] webhook_url, signed as the Standard
Webhooks spec says when a secret is configured (see core/webhook_signature.py).

2xx is delivered. 408, 429, 5xx and network trouble are worth another attempt; any other
answer (a 400, a 404 from a deleted Slack hook) is final.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from nurture.core.webhook_signature import signed_headers, webhook_key
from nurture.settings import Settings

TIMEOUT_SECONDS = 10.0
_RETRYABLE = frozenset({408, 425, 429})


def webhook_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False,
                             headers={"user-agent": "nurture-webhooks"})


async def post_webhook(client: httpx.AsyncClient, settings: Settings, message_id: str,
                       body: bytes, now: datetime) -> tuple[bool, bool, str]:
    """(delivered, worth retrying, reason) of one POST of `body`."""
    url = settings.handoff.webhook_url
    if not url:
        return False, False, "no [handoff] webhook_url configured any more"
    headers = {"content-type": "application/json"}
    secret = settings.handoff.webhook_secret
    if secret is not None:
        key = webhook_key(secret.get_secret_value())
        headers |= signed_headers(key, message_id, int(now.timestamp()), body)
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return False, True, f"POST {_shown(url)}: {type(exc).__name__}: {exc}"
    if response.is_success:
        return True, False, f"{response.status_code}"
    status = response.status_code
    reason = f"POST {_shown(url)}: {status} {response.text[:200]}".strip()
    return False, status >= 500 or status in _RETRYABLE, reason


def _shown(url: str) -> str:
    """The URL without its path: a Slack hook's path is its secret."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}"
