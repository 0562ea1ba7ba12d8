"""RenderedEmail → RFC 5322 bytes: multipart/alternative (text/plain, then text/html), UTF-8.

Assembled by hand: about 40 times cheaper than email.message.EmailMessage (some 50 µs a
message against 2 ms); tests parse the output with the strict policy. Each part is
quoted-printable when mostly ASCII and base64 otherwise. The boundary starts with "=_", which
neither encoding can produce, so it never needs checking against the bodies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache, partial
from types import MappingProxyType

from nurture.core.errors import TemplateError
from nurture.render.context import RenderedEmail
from nurture.render.headers import (
    CRLF,
    email_address,
    field_name,
    list_unsubscribe,
    mailbox,
    msg_id,
    unstructured,
)

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
_OWN_HEADERS = frozenset({
    "from", "to", "cc", "bcc", "subject", "date", "message-id", "reply-to", "mime-version",
    "content-type", "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post",
})
_NON_ASCII = bytes(range(128, 256))


def build_message(
    rendered: RenderedEmail,
    *,
    sender_name: str,
    sender_email: str,
    to_name: str,
    to_email: str,
    message_id: str,
    date: datetime,
    reply_to: str | None = None,
    list_unsubscribe_url: str,
    list_unsubscribe_mailto: str | None = None,
    extra_headers: Mapping[str, str] = _NO_HEADERS,
) -> bytes:
    """The complete message. TemplateError names the header when a value holds a line break
    or is not a valid address; `date` must be timezone-aware."""
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("build_message needs a timezone-aware date")
    identifier = msg_id(message_id)
    boundary = "=_" + hashlib.sha1(identifier.encode("ascii")).hexdigest()[:28]
    headers = [
        f"From: {_sender('From', sender_name, sender_email)}",
        f"To: {mailbox('To', to_name, to_email)}",
        f"Subject: {unstructured('Subject', rendered.subject)}",
        f"Date: {_date(date, date.utcoffset())}",
        f"Message-ID: {identifier}",
    ]
    if reply_to:
        headers.append(f"Reply-To: {_address('Reply-To', reply_to)}")
    unsubscribe = list_unsubscribe(list_unsubscribe_url, list_unsubscribe_mailto)
    headers.append(f"List-Unsubscribe: {unsubscribe}")
    headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    headers.extend(_extra(extra_headers))
    headers.append("MIME-Version: 1.0")
    headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    head = CRLF.join(headers).encode("ascii")
    delimiter = f"--{boundary}".encode("ascii")
    return b"".join([
        head, b"\r\n\r\n",
        delimiter, b"\r\n", _part("text/plain", rendered.text),
        delimiter, b"\r\n", _part("text/html", rendered.html),
        delimiter, b"--\r\n",
    ])


def _extra(extra_headers: Mapping[str, str]) -> list[str]:
    lines = []
    for name, value in extra_headers.items():
        if name.lower() in _OWN_HEADERS:
            raise TemplateError(f"{name} header: set by build_message itself, not as an extra")
        lines.append(f"{field_name(name)}: {unstructured(name, value)}")
    return lines


def _part(content_type: str, text: str) -> bytes:
    """One body part: headers, blank line, encoded content, and the CRLF that keeps the
    content's own last line break apart from the boundary delimiter that follows."""
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    needs_escape = len(data) - len(data.translate(None, _NON_ASCII)) + data.count(b"=")
    if needs_escape * 6 > len(data):  # quoted-printable would outgrow base64's 4/3
        encoding, payload = "base64", base64.encodebytes(data.replace(b"\n", b"\r\n"))
    else:  # line by line gives the same bytes: quoted-printable starts afresh on every line
        lines = data.splitlines(keepends=True)  # on "\n" alone: "\r" is gone by now
        encoding, payload = "quoted-printable", b"".join(map(_qp_line, lines))
    head = (f'Content-Type: {content_type}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n")
    return head.encode("ascii") + payload.replace(b"\n", b"\r\n") + b"\r\n"


# Most lines of a touch are the same for every lead, and so are the sender and the date of a
# batch: caching them halves the cost of a message.
_qp_line = lru_cache(maxsize=4096)(partial(binascii.b2a_qp, istext=True))
_sender = lru_cache(maxsize=64)(mailbox)
_address = lru_cache(maxsize=64)(email_address)


@lru_cache(maxsize=64)
def _date(date: datetime, offset: timedelta | None) -> str:
    """format_datetime, cached by offset too: equal instants in two zones read differently."""
    return format_datetime(date)
