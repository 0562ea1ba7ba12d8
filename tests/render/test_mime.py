"""build_message: a strict-parsing multipart/alternative message with safe headers."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any

import pytest

from nurture.core.errors import TemplateError
from nurture.render import RenderedEmail, build_message

DATE = datetime(2024, 5, 6, 9, 30, tzinfo=timezone(timedelta(hours=2)))
RENDERED = RenderedEmail(
    subject="Quick question about Initech",
    html='<!DOCTYPE html><html><body><p style="color: red;">Hi Jane = friend</p></body></html>',
    text="Hi Jane = friend\n\n-- \nAcme Inc., 1 Main Street\n",
)


def _build(rendered: RenderedEmail = RENDERED, **changes: Any) -> bytes:
    """build_message with valid arguments, changed by `changes`."""
    arguments: dict[str, Any] = {
        "sender_name": "Acme Growth",
        "sender_email": "hello@acme.test",
        "to_name": "Jane Doe",
        "to_email": "jane@example.com",
        "message_id": "<20240506.1.abc@acme.test>",
        "date": DATE,
        "list_unsubscribe_url": "https://t.acme.test/u/tok?l=1",
    }
    return build_message(rendered, **{**arguments, **changes})


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.strict)
    assert isinstance(message, EmailMessage)
    for name in message:
        assert not message[name].defects, name
    return message


def test_message_parses_strictly_with_text_then_html() -> None:
    message = _parse(_build())
    assert message.get_content_type() == "multipart/alternative"
    assert message.defects == []
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert text.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == RENDERED.text
    assert html.get_content().replace("\r\n", "\n") == RENDERED.html


def test_headers() -> None:
    message = _parse(_build(reply_to="sam@acme.test",
                            list_unsubscribe_mailto="unsubscribe+tok@acme.test"))
    assert message["From"] == "Acme Growth <hello@acme.test>"
    assert message["To"] == "Jane Doe <jane@example.com>"
    assert message["Subject"] == "Quick question about Initech"
    assert message["Date"].datetime == DATE
    assert message["Message-ID"] == "<20240506.1.abc@acme.test>"
    assert message["Reply-To"] == "sam@acme.test"
    assert message["MIME-Version"] == "1.0"
    assert message["List-Unsubscribe"] == ("<https://t.acme.test/u/tok?l=1>, "
                                          "<mailto:unsubscribe+tok@acme.test>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_every_line_ends_in_crlf_and_stays_within_998_characters() -> None:
    long = RenderedEmail(subject="S", html="<p>" + "x" * 3000 + "</p>", text="y" * 3000)
    raw = _build(long)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    text, html = _parse(raw).iter_parts()
    assert text.get_content() == "y" * 3000
    assert html.get_content() == long.html


def test_non_ascii_subject_and_display_names_are_rfc2047_encoded() -> None:
    subject = "Zoë Åström, une idée pour vous – " + "très " * 20
    raw = _build(RenderedEmail(subject=subject, html="<p>x</p>", text="x"),
                 sender_name="Zoë Åström", to_name="Jürgen Groß")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"=?utf-8?b?" in head
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    message = _parse(raw)
    assert message["Subject"] == subject
    assert message["From"].addresses[0].display_name == "Zoë Åström"
    assert message["From"].addresses[0].addr_spec == "hello@acme.test"
    assert message["To"].addresses[0].display_name == "Jürgen Groß"


def test_display_names_with_specials_are_quoted() -> None:
    message = _parse(_build(to_name='Doe, Jane "JD"'))
    assert message["To"].addresses[0].display_name == 'Doe, Jane "JD"'
    assert len(message["To"].addresses) == 1


def test_non_latin_bodies_use_base64_and_round_trip() -> None:
    text = "こんにちは、ジェーンさん。" * 20
    raw = _build(RenderedEmail(subject="S", html=f"<p>{text}</p>", text=text))
    assert b"Content-Transfer-Encoding: base64" in raw
    plain, html = _parse(raw).iter_parts()
    assert plain.get_content().strip() == text
    assert text in html.get_content()


def test_mostly_ascii_bodies_use_quoted_printable() -> None:
    raw = _build()
    assert raw.count(b"Content-Transfer-Encoding: quoted-printable") == 2


def test_international_domain_is_idna_encoded() -> None:
    message = _parse(_build(to_email="jane@bücher.example"))
    assert message["To"].addresses[0].domain == "xn--bcher-kva.example"


def test_message_id_gets_its_angle_brackets() -> None:
    assert _parse(_build(message_id="abc.1@acme.test"))["Message-ID"] == "<abc.1@acme.test>"


def test_extra_headers_are_added_and_encoded() -> None:
    message = _parse(_build(extra_headers={"X-Nurture-Touch": "cold-intro/2",
                                           "X-Campaign": "Été"}))
    assert message["X-Nurture-Touch"] == "cold-intro/2"
    assert message["X-Campaign"] == "Été"


@pytest.mark.parametrize(("argument", "header"), [
    ("sender_name", "From"), ("sender_email", "From"), ("to_name", "To"), ("to_email", "To"),
    ("message_id", "Message-ID"), ("reply_to", "Reply-To"),
    ("list_unsubscribe_url", "List-Unsubscribe"), ("list_unsubscribe_mailto", "List-Unsubscribe"),
])
@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_line_break_in_any_header_value_is_refused(
    argument: str, header: str, line_break: str
) -> None:
    value = f"x@acme.test{line_break}Bcc: victim@example.com"
    with pytest.raises(TemplateError, match=f"^{header} header: .*line break"):
        _build(RENDERED, **{argument: value})


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_line_break_in_subject_or_extra_header_is_refused(line_break: str) -> None:
    subject = RenderedEmail(subject=f"Hi{line_break}Bcc: v@example.com", html="x", text="x")
    with pytest.raises(TemplateError, match="^Subject header: .*line break"):
        _build(subject)
    with pytest.raises(TemplateError, match="^X-Tag header: .*line break"):
        _build(extra_headers={"X-Tag": f"a{line_break}Bcc: v@example.com"})


@pytest.mark.parametrize("address", ["jane@example.com, boss@example.com", "Jane <jane@x.com>",
                                     "not-an-address", "jane doe@example.com", "jäne@example.com"])
def test_to_email_must_be_one_plain_address(address: str) -> None:
    with pytest.raises(TemplateError, match="^To header: "):
        _build(to_email=address)


@pytest.mark.parametrize("name", ["From", "subject", "Content-Type", "List-Unsubscribe"])
def test_extra_headers_cannot_replace_the_messages_own(name: str) -> None:
    with pytest.raises(TemplateError, match="set by build_message"):
        _build(extra_headers={name: "x"})


def test_extra_header_name_must_be_valid() -> None:
    with pytest.raises(TemplateError, match="not a valid header name"):
        _build(extra_headers={"X Bad": "x"})


def test_list_unsubscribe_url_must_be_http() -> None:
    with pytest.raises(TemplateError, match="^List-Unsubscribe header: "):
        _build(list_unsubscribe_url="javascript:alert(1)")


def test_naive_date_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _build(date=datetime(2024, 5, 6, 9, 30))


def test_same_input_gives_the_same_bytes() -> None:
    assert _build() == _build()
    assert _build(date=DATE.astimezone(UTC)) != _build()
