"""DKIM signing (RFC 6376) of finished messages, so receivers can tie them to our domain.

Gmail and Yahoo refuse bulk mail without DKIM aligned with the From domain (5.7.26), so a
sender signs every message before it reaches the transport. relaxed/relaxed
canonicalization survives the header refolding and whitespace changes relays make.
"""

from __future__ import annotations

from collections.abc import Sequence

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from nurture.core.errors import NurtureError

DEFAULT_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


class DkimError(NurtureError, ValueError):
    """The DKIM settings are wrong, or a message cannot be signed."""


class DkimSigner:
    """Signs with one key: published as `<selector>._domainkey.<domain>` TXT in DNS."""

    def __init__(
        self,
        selector: str,
        domain: str,
        private_key_pem: bytes,
        headers: Sequence[str] = DEFAULT_HEADERS,
    ) -> None:
        if not any(header.lower() == "from" for header in headers):
            raise DkimError("DKIM must sign the From header (RFC 6376 §5.4); add it to headers")
        if not (selector.isascii() and domain.isascii()):
            raise DkimError(
                f"DKIM selector {selector!r} and domain {domain!r} must be ASCII "
                "(write an international domain in its xn-- form)"
            )
        try:
            parse_pem_private_key(private_key_pem)
        except UnparsableKeyError as exc:
            raise DkimError(
                f"the DKIM key for {selector}._domainkey.{domain} is not a PEM RSA private "
                f"key: {exc}"
            ) from exc
        self.selector = selector
        self.domain = domain
        self._key = private_key_pem
        self._headers = [header.encode("ascii") for header in headers]

    def sign(self, message: bytes) -> bytes:
        """Return `message` with a DKIM-Signature header prepended, in its own line endings."""
        linesep = b"\r\n" if b"\r\n" in message else b"\n"
        try:
            signature = dkim.sign(
                message,
                self.selector.encode("ascii"),
                self.domain.encode("ascii"),
                self._key,
                canonicalize=(b"relaxed", b"relaxed"),
                signature_algorithm=b"rsa-sha256",
                include_headers=self._headers,
                linesep=linesep,
            )
        except dkim.DKIMException as exc:
            raise DkimError(f"cannot DKIM-sign a message for {self.domain}: {exc}") from exc
        return bytes(signature) + message
