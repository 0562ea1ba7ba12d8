"""Classify an SMTP reply into an Outcome: who is to blame, and whether to try again.

The enhanced status code (RFC 3463 class.subject.detail, at the start of the reply text) is
more precise than the basic code, so it is read first. First matching row wins:

| reply                                    | outcome            | why                          |
|------------------------------------------|--------------------|------------------------------|
| 2xx                                      | SENT               |                              |
| 4xx, any text                            | RETRY              | temporary by definition      |
| 5.1.x                                    | RECIPIENT_REJECTED | bad mailbox, address, domain |
| 5.2.1                                    | RECIPIENT_REJECTED | mailbox disabled             |
| 5.2.2                                    | RETRY              | mailbox full (see below)     |
| 5.2.3, 5.3.4                             | SENDER_REJECTED    | our message is too big       |
| 5.4.1                                    | RECIPIENT_REJECTED | Microsoft 365: no such user  |
| 5.4.4                                    | RECIPIENT_REJECTED | the domain has no mail route |
| 5.7.x                                    | SENDER_REJECTED    | auth, relay, policy, spam,   |
|                                          |                    | SPF/DKIM/DMARC (5.7.26)      |
| 530, 535                                 | SENDER_REJECTED    | authentication required/bad  |
| 552                                      | SENDER_REJECTED    | message too big              |
| 550, 551, 553 with sender-ish words      | SENDER_REJECTED    | "sender", "spam", "relay"... |
| 550, 551, 553 with recipient-ish words   | RECIPIENT_REJECTED | "no such user", "mailbox"... |
| any other 5xx                            | SENDER_REJECTED    | don't blame a lead blindly   |
| anything else (1xx, 3xx, nonsense)       | RETRY              | unexpected; try again        |

Other enhanced codes (5.0.0, 5.5.x, ...) say little, so those replies fall through to the
basic-code rows ("550 5.5.0 mailbox unavailable" is a bad recipient).

5.2.2 "mailbox full" is RETRY although RFC 3463 calls it permanent: mailboxes get emptied,
and SendGrid, Mailgun and Postmark all count it as a soft bounce; the daemon's retry budget
turns a mailbox that stays full into a bounce. 5.7.x is always the sender's problem, even
when a receiver uses 5.7.1 to refuse one recipient: pausing sending is recoverable, marking
a good lead bounced is not. A blamed sender means "pause and tell a person", not "give up".
"""

from __future__ import annotations

import re

from nurture.mail.transport import Delivery, Outcome

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")

# (class.subject.detail prefix, outcome); a prefix ending in "." matches a whole subject.
_ENHANCED_ROWS: tuple[tuple[str, Outcome], ...] = (
    ("5.1.", Outcome.RECIPIENT_REJECTED),
    ("5.2.1", Outcome.RECIPIENT_REJECTED),
    ("5.2.2", Outcome.RETRY),
    ("5.2.3", Outcome.SENDER_REJECTED),
    ("5.3.4", Outcome.SENDER_REJECTED),
    ("5.4.1", Outcome.RECIPIENT_REJECTED),
    ("5.4.4", Outcome.RECIPIENT_REJECTED),
    ("5.7.", Outcome.SENDER_REJECTED),
)
_ADDRESS = re.compile(r"<[^>]*>|\S+@\S+")
_SENDER_CODES = frozenset({530, 535, 552})
_WORDED_CODES = frozenset({550, 551, 553})
_SENDER_WORDS = re.compile(
    r"sender|spam|block|black ?list|listed|policy|reputation|dmarc|spf|dkim|relay"
    r"|authenticat|denied|rate limit",
    re.IGNORECASE,
)
_RECIPIENT_WORDS = re.compile(
    r"user|mailbox|recipient|address|no such|unknown|does ?n[o']t exist|not found|invalid"
    r"|unroute?able|disabled|inactive|not local",
    re.IGNORECASE,
)


def classify(code: int, message: str) -> Delivery:
    """Turn a server reply (code and text, as aiosmtplib gives them) into a Delivery."""
    text = " ".join(line.strip() for line in message.splitlines() if line.strip())
    enhanced = enhanced_status(code, text)
    reason = f"{code} {text}".rstrip()
    return Delivery(_outcome(code, enhanced, text), reason, code, enhanced)


def enhanced_status(code: int, text: str) -> str | None:
    """The RFC 3463 status at the start of `text`, if its class agrees with `code`."""
    match = _ENHANCED.match(text)
    if match is None or match.group(1) != str(code)[:1]:
        return None
    return ".".join(match.groups())


def _outcome(code: int, enhanced: str | None, text: str) -> Outcome:
    if 200 <= code < 300:
        return Outcome.SENT
    if not 500 <= code < 600:
        return Outcome.RETRY
    if enhanced is not None:
        for prefix, outcome in _ENHANCED_ROWS:
            if enhanced == prefix or (prefix.endswith(".") and enhanced.startswith(prefix)):
                return outcome
    if code in _SENDER_CODES:
        return Outcome.SENDER_REJECTED
    words = _ADDRESS.sub(" ", text)  # "<bob@spamfree.example>" says nothing about spam
    if (
        code in _WORDED_CODES
        and not _SENDER_WORDS.search(words)
        and _RECIPIENT_WORDS.search(words)
    ):
        return Outcome.RECIPIENT_REJECTED
    return Outcome.SENDER_REJECTED
