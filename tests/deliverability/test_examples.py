"""Deliverability of the example sequences and templates, as the daemon sends them: every
email scores under 2.0 with SpamAssassin (local rules), its DKIM signature verifies and covers
the unsubscribe headers, its headers pass Python's strict email policy, it has a readable
plain-text part, and it offers one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import base64
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import dkim

from tests.deliverability.conftest import DOMAIN, SELECTOR, Examples, spamassassin_scores

MAX_SCORE = 2.0
_TOKEN = re.compile(r"[a-z]{12}\d+[a-z]{12}")  # a Markdown stand-in left in the text
_TAG = re.compile(r"</?(p|a|div|table|td|br|span|strong|em|img)\b", re.IGNORECASE)


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.strict)  # raises on any defect
    assert isinstance(message, EmailMessage)
    return message


def test_every_example_email_scores_under_2_with_spamassassin(examples: Examples,
                                                             tmp_path: Path) -> None:
    samples = examples.one_per_template_and_subject()
    scores = spamassassin_scores(samples, tmp_path)
    too_high = {name: (score.points, score.rules) for name, score in scores.items()
                if score.points >= MAX_SCORE}
    assert not too_high, "\n".join(f"{points:4.1f} {name}: {' '.join(rules)}"
                                   for name, (points, rules) in sorted(too_high.items()))
    assert {sample.template for sample in samples} == {s.template for s in examples.samples}


def test_every_signature_verifies_and_covers_the_unsubscribe_headers(examples: Examples
                                                                     ) -> None:
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(examples.public_key)

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    for sample in examples.samples:
        assert sample.raw.startswith(b"DKIM-Signature:"), sample.name
        assert dkim.verify(sample.raw, dnsfunc=dns), sample.name
        signature = str(parsed(sample.raw)["DKIM-Signature"])
        signed = re.search(r"\bh=([^;]+)", signature)
        assert signed is not None
        headers = {h.strip().lower() for h in signed.group(1).replace("\r\n", "").split(":")}
        assert {"from", "to", "subject", "date", "message-id", "list-unsubscribe",
                "list-unsubscribe-post"} <= headers, sample.name
        assert f"d={DOMAIN}" in signature and f"s={SELECTOR}" in signature


def test_headers_pass_the_strict_email_policy(examples: Examples) -> None:
    for sample in examples.samples:
        message = parsed(sample.raw)
        assert not message.defects, sample.name
        for name, value in message.items():
            assert not getattr(value, "defects", ()), (sample.name, name)
        for part in message.walk():
            assert not part.defects, sample.name
        head = sample.raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii() and all(len(line) <= 998 for line in head.split(b"\r\n"))
        assert message["To"].addresses[0].addr_spec == sample.lead.email
        assert message["From"].addresses[0].addr_spec == examples.identity.sender_email
        assert message["Reply-To"].addresses[0].addr_spec == examples.identity.reply_to
        assert str(message["Subject"]).strip()


def test_every_email_has_a_readable_text_part(examples: Examples) -> None:
    for sample in examples.samples:
        message = parsed(sample.raw)
        assert message.get_content_type() == "multipart/alternative"
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        assert text_part is not None and html_part is not None, sample.name
        assert text_part.get_content_charset() == "utf-8"
        text = text_part.get_content()
        body = text.split("\n-- \n")[0]
        assert len(body.split()) >= 20, (sample.name, body)
        assert not _TAG.search(text) and "{{" not in text and "{%" not in text, sample.name
        assert not _TOKEN.search(text), sample.name
        assert "&amp;" not in text and "&#" not in text and "&nbsp;" not in text, sample.name
        assert examples.identity.postal_address in " ".join(text.split())
        assert f"{examples.identity.base_url}/u/" in text


def test_every_email_offers_one_click_unsubscribe(examples: Examples) -> None:
    for sample in examples.samples:
        message = parsed(sample.raw)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        targets = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
        assert len(targets) == 2, sample.name
        https, mailto = targets
        assert https.startswith(f"{examples.identity.base_url}/u/")
        assert mailto == f"mailto:{examples.identity.sender_email}?subject=unsubscribe"
        html_part = message.get_body(preferencelist=("html",))
        assert html_part is not None and f'href="{https}"' in html_part.get_content()
