"""Header values for outgoing mail: each checked to be one line and safe, then encoded
(RFC 2047 for non-ASCII text, IDNA for non-ASCII domains). A bad value raises TemplateError
naming the header, since it usually comes from lead data the sender cannot fix in time."""

from __future__ import annotations

import base64
import re
from email.utils import formataddr

from nurture.core.errors import TemplateError

CRLF = "\r\n"
MAX_LINE = 998  # RFC 5322 2.1.1: a line MUST be at most 998 characters
_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+")
_MESSAGE_ID = re.compile(r"[!-;=?A-~]+@[!-;=?A-~]+")
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext
_URL = re.compile(r"[!-;=?-~]+")  # printable ASCII without < and >
_WORD_BYTES = 39  # 52 base64 characters: each encoded word stays within RFC 2047's 75
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def one_line(header: str, value: str) -> str:
    """`value` unchanged, or TemplateError if it would break out of its header line or hold a
    control character (only a tab may appear in a header)."""
    if "\r" in value or "\n" in value:
        raise TemplateError(f"{header} header: the value {value!r} contains a line break")
    if _CONTROL.search(value):
        raise TemplateError(f"{header} header: the value {value!r} contains a control character")
    return value


def unstructured(header: str, value: str) -> str:
    """Text such as a subject: as is when ASCII, else RFC 2047 encoded words, folded."""
    one_line(header, value)
    if value.isascii() and "=?" not in value:  # text that looks encoded is encoded, to stay text
        if len(header) + 2 + len(value) > MAX_LINE:
            raise TemplateError(f"{header} header: the value is longer than {MAX_LINE} characters")
        return value
    return encoded_words(value)


def mailbox(header: str, name: str, address: str) -> str:
    """`Name <address>`: the name quoted when it holds specials, RFC 2047 encoded when not ASCII."""
    address = email_address(header, address)
    one_line(header, name)
    if not name:
        return address
    if name.isascii() and "=?" not in name:
        return formataddr((name, address))
    return f"{encoded_words(name)} <{address}>"


def encoded_words(text: str) -> str:
    """RFC 2047 base64 encoded words, one per folded line, never splitting a character.
    (email.header.Header does the same some ten times slower.)"""
    data = text.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return f"{CRLF} ".join(words)


def email_address(header: str, address: str) -> str:
    """One plain address (local@domain), domain IDNA-encoded; TemplateError otherwise."""
    one_line(header, address)
    if not _ADDRESS.fullmatch(address):
        raise TemplateError(f"{header} header: {address!r} is not a single email address")
    if address.isascii():
        return address
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise TemplateError(f"{header} header: {address!r} has a non-ASCII local part, which "
                            "needs SMTPUTF8; nurture does not send such mail")
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError as exc:
        raise TemplateError(f"{header} header: the domain of {address!r} is invalid") from exc


def msg_id(value: str) -> str:
    """`<id@domain>` from an id with or without its angle brackets."""
    one_line("Message-ID", value)
    bare = value.strip().removeprefix("<").removesuffix(">")
    if not _MESSAGE_ID.fullmatch(bare):
        raise TemplateError(f"Message-ID header: {value!r} is not of the form <id@domain>")
    return f"<{bare}>"


def list_unsubscribe(url: str, mailto: str | None) -> str:
    """RFC 2369 List-Unsubscribe: the one-click HTTP(S) URL first, then the mailto if any."""
    one_line("List-Unsubscribe", url)
    if not (_URL.fullmatch(url) and url.lower().startswith(("https://", "http://"))):
        raise TemplateError(f"List-Unsubscribe header: {url!r} is not an http(s) URL")
    if not mailto:
        return f"<{url}>"
    one_line("List-Unsubscribe", mailto)
    mailto = mailto if mailto.lower().startswith("mailto:") else f"mailto:{mailto}"
    if not _URL.fullmatch(mailto):
        raise TemplateError(f"List-Unsubscribe header: {mailto!r} is not a mailto: URL")
    return f"<{url}>,{CRLF} <{mailto}>"


def field_name(name: str) -> str:
    """A header name as RFC 5322 allows it (printable ASCII, no colon, no space)."""
    if not _FIELD_NAME.fullmatch(name):
        raise TemplateError(f"{name!r} is not a valid header name")
    return name
