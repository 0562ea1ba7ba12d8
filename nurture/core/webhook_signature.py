"""Signing webhook deliveries as the Standard Webhooks spec says (standardwebhooks.com):
the signed content is "{id}.{timestamp}.{body}", signed with HMAC-SHA256 under the secret's
key, and sent as `webhook-signature: v1,<base64 signature>` next to `webhook-id` and
`webhook-timestamp`. The id stays the same across retries (receivers deduplicate on it); the
timestamp is the time of each attempt (receivers refuse old ones).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 24


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a secret written as "whsec_" and base64 (the prefix is optional);
    ValueError says how to make a good one."""
    try:
        key = base64.b64decode(secret.strip().removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        key = b""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the webhook secret must be \"{SECRET_PREFIX}\" followed by at least "
                         f"{MIN_KEY_BYTES} random bytes in base64 (config.example.toml shows a "
                         "command that makes one)")
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(key, message_id, timestamp, body)}
