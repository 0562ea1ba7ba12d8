"""The port's own promises: an Envelope refuses input no transport could send."""

from __future__ import annotations

import pytest

from nurture.mail.transport import Envelope


def test_envelope_needs_a_recipient() -> None:
    with pytest.raises(ValueError, match="<1@example.com> has no recipients"):
        Envelope("bounces@example.com", (), b"x", "<1@example.com>")


@pytest.mark.parametrize("address", ["lead@example.com\r\nRCPT TO:<x@y>", "a@b\n"])
def test_envelope_refuses_line_breaks_in_addresses(address: str) -> None:
    with pytest.raises(ValueError, match="contains a line break"):
        Envelope("bounces@example.com", (address,), b"x", "<1>")
