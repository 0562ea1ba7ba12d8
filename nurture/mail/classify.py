"""What an inbound message is — a person's reply, an auto-reply, a bounce, a spam complaint or an
unsubscribe request — read from its raw RFC 5322 bytes alone. Pure: no I/O and no clock
(relative dates such as "back on 2 December" are read against the message's own Date), so a
mailbox poller and a provider's webhook classify the same way. Never raises: garbage comes
back as `unknown`.

First matching row wins:

| the message shows                                                   | kind                  |
|---------------------------------------------------------------------|-----------------------|
| no header at all, or bytes the parser chokes on                     | unknown               |
| multipart/report; report-type=feedback-report (ARF, RFC 5965)       | complaint; unknown if |
|                                                                     | Feedback-Type not-spam|
| multipart/report; report-type=delivery-status (DSN, RFC 3464) with  | hard or soft bounce;  |
|   a failed (else a delayed) recipient                               | unknown if none       |
| From MAILER-DAEMON/postmaster or a bounce subject ("Undeliverable", | hard or soft bounce;  |
|   "failure notice", ...) without a report: qmail, old Exchange      | unknown if no status  |
| Subject "unsubscribe" (any case, optionally after "Re:") and a From | unsubscribe_request   |
|   address: our List-Unsubscribe mailto, sent by the lead's client   |                       |
| Auto-Submitted other than "no" (RFC 3834), X-Autoreply,             | auto_reply            |
|   X-Autorespond, Precedence: auto_reply, an out-of-office subject    |                       |
| Precedence bulk/list/junk, List-Id or List-Unsubscribe              | unknown (not a person)|
| anything else with a From address                                   | reply                 |

Hard or soft: the RFC 3463 status goes through `status.classify`, the table SMTP replies use,
so a bounce and a refused RCPT agree. The recipient's fault (5.1.x, 5.2.1, 5.4.1, ...) is hard;
anything else (4.x.x, 5.2.2 mailbox full, 5.7.x policy) is soft — soft bounces add up to a hard
one in `nurture.engine.inbound`.

The email a message is about: our Message-ID in In-Reply-To/References, or in the returned
original (a DSN's message/rfc822 or text/rfc822-headers part, ARF's message/rfc822 part, a
qmail bounce's inline copy), or a plus-address tag `<local>+<enrollment>.<touch>.<hash>@…`
(our Message-ID's left part) among the addresses the message was delivered to.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any, Literal

from nurture.mail.replies import read_reply
from nurture.mail.status import classify as classify_reply
from nurture.mail.transport import Outcome

Kind = Literal["reply", "auto_reply", "hard_bounce", "soft_bounce", "complaint",
               "unsubscribe_request", "unknown"]

_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_STATUS = re.compile(r"(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_REPLY_CODE = re.compile(r"^\s*([245]\d\d)\b")
_PLUS_TAG = re.compile(r"^[^@+\s]+\+(\d+\.\d+\.[0-9a-f]{12})@", re.IGNORECASE)
_ADDRESS_TYPE = re.compile(r"^\s*[A-Za-z0-9-]+\s*;")  # "rfc822;" in DSN and ARF fields
_ANY_ADDRESS = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_EMBEDDED_ID = re.compile(r"^Message-ID:\s*(<[^<>\s]+@[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_BOUNCE_SUBJECT = re.compile(
    r"^(undeliver|undelivered mail|delivery status notification \(failure|delivery failure"
    r"|mail delivery failed|failure notice|returned mail|delivery has failed|non-remis)",
    re.IGNORECASE)
_AUTO_SUBJECT = re.compile(
    r"^(automatic reply|auto(matic)?[- ]?(reply|response|antwort)|auto:|out of (the )?office"
    r"|ooo\b|abwesenheit|réponse automatique|absence|respuesta automática|risposta automatica"
    r"|automatisch antwoord|on vacation|on leave|away from)", re.IGNORECASE)
# The subject of our List-Unsubscribe mailto (RFC 2369), as a mail client sends it.
_UNSUBSCRIBE_SUBJECT = re.compile(r"^(re:\s*)*unsubscribe$", re.IGNORECASE)
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder")
_DELIVERY_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to", "return-path")


@dataclass(frozen=True)
class Classified:
    """One inbound message, read: what it is, what it is about, and what it says."""

    kind: Kind
    reason: str  # why this kind, for logs and event data
    key: str  # the message's own Message-ID, else a hash of its bytes: handled once per key
    sender: str | None = None  # From address, lower case
    subject: str = ""
    sent_at: datetime | None = None  # the message's Date
    referenced_message_ids: tuple[str, ...] = ()  # most specific first
    plus_tags: tuple[str, ...] = ()  # "<enrollment>.<touch>.<hash>" from plus-addresses
    original_recipient: str | None = None  # the address the bounce, complaint or reply is about
    status: str | None = None  # RFC 3463 enhanced status of a bounce
    diagnostic: str | None = None  # the remote server's words
    return_date: date | None = None  # when an auto-replier says they are back
    snippet: str = ""  # a reply's own words, quoted text removed, at most 500 characters
    negative: bool = False  # a reply asking to be left alone ("not interested", "remove me")
MAX_FIELD_BYTES = 8192
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD_START = re.compile(rb"(?<=\n)(?=[^ \t\r\n])")  # a line that is not a continuation


def classify(raw: bytes) -> Classified:
    """Read `raw` (one RFC 5322 message, CRLF or LF) into a Classified; never raises."""
    key = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    try:
        message = message_from_bytes(_bounded_headers(raw), policy=policy.default)
        if not isinstance(message, EmailMessage) or not message.keys():
            return Classified("unknown", "not an email: no header found", key)
        return _classify(message, key)
    except Exception as exc:  # the email package raises odd errors on odd input; none may escape
        return Classified("unknown", f"unreadable message: {type(exc).__name__}: {exc}", key)


def _bounded_headers(raw: bytes) -> bytes:
    """`raw` with each top-level header field cut to MAX_FIELD_BYTES: the email package takes
    seconds on a 256 KB field of encoded words or addresses, and one such email would stall
    the daemon's loop. No header we read needs more."""
    end = _HEADER_END.search(raw)
    head, rest = (raw[:end.start()], raw[end.start():]) if end else (raw, b"")
    if len(head) <= MAX_FIELD_BYTES:
        return raw
    fields = _FIELD_START.split(head)
    cut = [field if len(field) <= MAX_FIELD_BYTES
           else field[:MAX_FIELD_BYTES].rstrip(b"\r\n") + b"\r\n" for field in fields]
    return b"".join(cut) + rest


def _classify(message: EmailMessage, key: str) -> Classified:
    message_id = _MESSAGE_ID.search(_header(message, "Message-ID"))
    sender = _address(_header(message, "From"))
    base = Classified(
        "unknown", "", message_id.group(0) if message_id else key, sender,
        " ".join(_header(message, "Subject").split()), _date(message),
        _references(message), _plus_tags(message),
    )
    if message.get_content_type() == "multipart/report":
        report_type = str(message.get_param("report-type", "")).lower()
        if report_type == "feedback-report":
            return _complaint(message, base)
        if report_type == "delivery-status":
            return _delivery_report(message, base)
    if _looks_like_bounce(base):
        return _plain_bounce(message, base)
    if sender is not None and _UNSUBSCRIBE_SUBJECT.match(base.subject):
        # Before the auto-reply checks: some clients mark the message they send for the
        # mailto link as automatic, yet a person pressed the button.
        return _with(base, "unsubscribe_request", "unsubscribe request by email (mailto link)",
                     original_recipient=sender)
    automatic = _automatic(message, base.subject)
    if automatic:
        reply = read_reply(message, base.subject, base.sent_at)
        return _with(base, "auto_reply", automatic, original_recipient=sender,
                     return_date=reply.return_date, snippet=reply.snippet)
    bulk = _bulk(message)
    if bulk:
        return _with(base, "unknown", bulk)
    if sender is None:
        return _with(base, "unknown", "no From address")
    reply = read_reply(message, base.subject, base.sent_at)
    return _with(base, "reply", "a person's reply", original_recipient=sender,
                 snippet=reply.snippet, negative=reply.negative)


def _complaint(message: EmailMessage, base: Classified) -> Classified:
    report = _first_part(message, "message/feedback-report")
    fields = _embedded(report)[0] if report is not None and _embedded(report) else None
    feedback = _header(fields, "Feedback-Type").strip().lower() if fields else ""
    if feedback == "not-spam":
        return _with(base, "unknown", "feedback report of type not-spam")
    original = _original(message)
    recipient = _address(_header(fields, "Original-Rcpt-To")) if fields else None
    recipient = recipient or (_address(_header(original, "To")) if original else None)
    return _with(base, "complaint", f"feedback report ({feedback or 'abuse'})",
                 referenced_message_ids=_with_original(base, original),
                 plus_tags=_with_tags(base, original), original_recipient=recipient)


def _delivery_report(message: EmailMessage, base: Classified) -> Classified:
    report = _first_part(message, "message/delivery-status")
    blocks = _embedded(report)[1:] if report is not None else []
    failed = _pick_recipient(blocks)
    if failed is None:
        return _with(base, "unknown", "delivery report without a failed or delayed recipient")
    status = _STATUS.search(_header(failed, "Status"))
    diagnostic = " ".join(_header(failed, "Diagnostic-Code").split())
    diagnostic = diagnostic.split(";", 1)[1].strip() if ";" in diagnostic else diagnostic
    action = _header(failed, "Action").strip().lower() or "failed"
    code = ".".join(status.groups()) if status else ("4.0.0" if action == "delayed" else "5.0.0")
    original = _original(message)
    recipient = (_address(_header(failed, "Final-Recipient"))
                 or _address(_header(failed, "Original-Recipient")))
    return _with(base, _severity(code, diagnostic), f"delivery report: {action}, status {code}",
                 referenced_message_ids=_with_original(base, original),
                 plus_tags=_with_tags(base, original), original_recipient=recipient,
                 status=code, diagnostic=diagnostic or None)


def _pick_recipient(blocks: list[Message]) -> Message | None:
    """The recipient block that failed, else one that is delayed (we send one per message)."""
    for wanted in ("failed", "delayed"):
        for block in blocks:
            action = _header(block, "Action").strip().lower()
            if action == wanted or (not action and _header(block, "Status").startswith(
                    "5" if wanted == "failed" else "4")):
                return block
    return None


def _looks_like_bounce(base: Classified) -> bool:
    local = (base.sender or "").partition("@")[0]
    return local in _DAEMONS or bool(_BOUNCE_SUBJECT.match(base.subject))


def _plain_bounce(message: EmailMessage, base: Classified) -> Classified:
    """A bounce without a delivery report: read the status and the original from the text."""
    text = "\n".join(_texts(message))
    status = _STATUS.search(text)
    if status is None:
        return _with(base, "unknown", "bounce without a delivery report or a status code")
    code = ".".join(status.groups())
    line = next((ln.strip() for ln in text.splitlines() if code in ln), "")
    embedded = tuple(dict.fromkeys(_EMBEDDED_ID.findall(text)))
    first_address = _ANY_ADDRESS.search(text)
    failed = (_address(_header(message, "X-Failed-Recipients"))
              or (_address(first_address.group(1)) if first_address else None))
    return _with(base, _severity(code, line), f"bounce without a delivery report, status {code}",
                 referenced_message_ids=tuple(dict.fromkeys(
                     embedded + base.referenced_message_ids)),
                 original_recipient=failed, status=code, diagnostic=line or None)


def _severity(status: str, diagnostic: str) -> Kind:
    if status.startswith("4"):
        return "soft_bounce"
    reply_code = _REPLY_CODE.match(diagnostic)
    code = int(reply_code.group(1)) if reply_code and reply_code.group(1)[0] == "5" else 550
    words = _STATUS.sub("", diagnostic[reply_code.end():] if reply_code else diagnostic)
    outcome = classify_reply(code, f"{status} {words}").outcome
    return "hard_bounce" if outcome is Outcome.RECIPIENT_REJECTED else "soft_bounce"


def _automatic(message: EmailMessage, subject: str) -> str | None:
    """Why the message was sent by a machine answering us (RFC 3834 and common practice)."""
    submitted = _header(message, "Auto-Submitted").strip().lower()
    if submitted and not submitted.startswith("no"):
        return f"Auto-Submitted: {submitted}"
    for name in _AUTO_HEADERS:
        if _header(message, name).strip():
            return f"{name} header"
    if _header(message, "Precedence").strip().lower() == "auto_reply":
        return "Precedence: auto_reply"
    if _AUTO_SUBJECT.match(subject):
        return "out-of-office subject"
    return None


def _bulk(message: EmailMessage) -> str | None:
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return f"Precedence: {precedence} (bulk mail, not a person)"
    if _header(message, "List-Id") or _header(message, "List-Unsubscribe"):
        return "mailing-list message, not a person"
    return None


def _header(message: Message | None, name: str) -> str:
    """A header's text, '' when absent or unreadable (malformed headers are common)."""
    if message is None:
        return ""
    try:
        return " ".join(str(value) for value in message.get_all(name) or [])
    except Exception:  # the header parser raises on some malformed values: use them unparsed
        return " ".join(v for k, v in message.raw_items() if k.lower() == name.lower())


def _date(message: EmailMessage) -> datetime | None:
    try:
        sent = parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    return sent.replace(tzinfo=UTC) if sent.tzinfo is None else sent.astimezone(UTC)


def _references(message: Message) -> tuple[str, ...]:
    """In-Reply-To first, then References from the newest (the parent) back."""
    ids = _MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    ids += reversed(_MESSAGE_ID.findall(_header(message, "References")))
    return tuple(dict.fromkeys(ids))


def _plus_tags(message: Message) -> tuple[str, ...]:
    addresses = getaddresses([_header(message, name) for name in _DELIVERY_HEADERS])
    found = (_PLUS_TAG.match(address) for _, address in addresses)
    return tuple(dict.fromkeys(match.group(1).lower() for match in found if match))


def _with_original(base: Classified, original: Message | None) -> tuple[str, ...]:
    ids = _MESSAGE_ID.findall(_header(original, "Message-ID")) if original is not None else []
    return tuple(dict.fromkeys([*ids, *base.referenced_message_ids]))


def _with_tags(base: Classified, original: Message | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*base.plus_tags, *(_plus_tags(original) if original else ())]))


def _original(message: EmailMessage) -> Message | None:
    """The returned original: its headers, whichever way the report attached them."""
    part = _first_part(message, "message/rfc822")
    if part is not None and _embedded(part):
        return _embedded(part)[0]
    part = _first_part(message, "text/rfc822-headers")
    if part is None:
        return None
    return message_from_string(_text(part), policy=policy.default)


def _first_part(message: EmailMessage, content_type: str) -> Message | None:
    return next((p for p in message.walk() if p.get_content_type() == content_type), None)


def _embedded(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _texts(message: EmailMessage) -> list[str]:
    return [_text(p) for p in message.walk()
            if p.get_content_maintype() == "text" and not p.is_multipart()]


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return payload.decode("utf-8", "replace")


def _address(value: str) -> str | None:
    """The address in 'rfc822; a@b', '<a@b>' or 'Name <a@b>'."""
    address = parseaddr(_ADDRESS_TYPE.sub("", value).strip())[1].lower()
    return address if "@" in address else None


def _with(base: Classified, kind: Kind, reason: str, **changes: Any) -> Classified:
    return replace(base, kind=kind, reason=reason, **changes)
