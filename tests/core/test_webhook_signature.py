"""Standard Webhooks signatures: the spec's own example, and secrets that are refused."""

from __future__ import annotations

import pytest

from nurture.core.webhook_signature import signature, signed_headers, webhook_key


def test_signature_matches_the_spec_example() -> None:
    """The example of the Standard Webhooks spec (and of its reference libraries)."""
    key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'
    assert signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def test_the_headers_carry_id_timestamp_and_signature() -> None:
    key = webhook_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")  # the prefix is optional
    headers = signed_headers(key, "msg_1", 1614265330, b"{}")
    assert headers == {"webhook-id": "msg_1", "webhook-timestamp": "1614265330",
                       "webhook-signature": signature(key, "msg_1", 1614265330, b"{}")}
    assert signature(key, "msg_1", 1614265331, b"{}") != headers["webhook-signature"]


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_c2hvcnQ=", "not base64 at all!"])
def test_a_weak_or_malformed_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        webhook_key(secret)
