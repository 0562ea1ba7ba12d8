"""CR/LF header injection in every value that reaches a header: the subject and the To name
from lead data, the From name and address, Reply-To and the List-Unsubscribe URL from the
settings. Each is refused with an error naming the header; no message ever carries an extra
header line, and lead data whatever it holds comes out as one header with its own value."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nurture.core.errors import TemplateError
from nurture.engine.compose import Identity, compose
from nurture.files.loader import Project, load_project
from nurture.render import TemplateRenderer
from nurture.store.models import Lead
from tests.engine.world import IDENTITY, LAYOUT, NOTE, NOW, PIPELINE, World, sequence_toml, touch

INJECTION = "\r\nBcc: victim@example.com\r\nX-Injected: yes"
BREAKS = ["\r\n", "\n", "\r"]
OWN_HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
               "List-Unsubscribe", "List-Unsubscribe-Post"}
SUBJECT = "News for {{ lead.company | default('you') }}"


@dataclasses.dataclass(frozen=True)
class Composer:
    renderer: TemplateRenderer
    project: Project

    def compose(self, lead: Lead, identity: Identity = IDENTITY) -> bytes:
        sequence = self.project.sequences[0]
        return compose(self.renderer, identity, sequence, 0, 0, lead, None,
                       "<7.0.abc@nurture.test>", NOW, 7).message


@pytest.fixture(scope="module")
def composer(tmp_path_factory: pytest.TempPathFactory) -> Composer:
    root = tmp_path_factory.mktemp("headers")
    (root / "templates").mkdir()
    (root / "templates" / "_layout.html.j2").write_text(LAYOUT.read_text())
    (root / "templates" / "note.md.j2").write_text(NOTE)
    (root / "sequences").mkdir()
    (root / "sequences" / "pipeline.toml").write_text(PIPELINE)
    (root / "sequences" / "s.toml").write_text(sequence_toml("s", [touch("0d", SUBJECT)]))
    return Composer(TemplateRenderer(root / "templates"), load_project(root / "sequences"))


def make_lead(**fields: str | None) -> Lead:
    values = {"email": "ann@example.com", "first_name": "Ann", **fields}
    return Lead(id=7, stage="prospecting", stage_entered_at=NOW, created_at=NOW,
                updated_at=NOW, **values)


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.strict)
    assert isinstance(message, EmailMessage)
    assert not message.defects
    return message


def test_lead_data_with_line_breaks_fails_its_touch_and_injects_nothing(world: World) -> None:
    """Through the dispatcher: the clean lead gets its email; each lead whose data would
    break a header line gets none, and its touch is failed with the reason."""
    world.load(sequence_toml("s", [touch("0d", SUBJECT)]))
    clean = world.add_lead("ann@example.com", company="Acme")
    hostile = {
        world.add_lead("bob@example.com", company=f"Acme{INJECTION}"): "Subject",
        world.add_lead("cat@example.com", first_name=f"Cat{INJECTION}"): "To",
        world.add_lead("dan@example.com", last_name="Lee\nX-Injected: yes"): "To",
        world.add_lead("eve@example.com", company="Acme\rBcc: victim@example.com"): "Subject",
    }
    world.enroll()
    world.tick(NOW)
    assert [m.recipients for m in world.sink.messages] == [("ann@example.com",)]
    headers = world.sink.messages[0].data.split(b"\r\n\r\n", 1)[0]
    assert b"Bcc" not in headers and b"X-Injected" not in headers
    assert [o.status for o in world.outbox(clean)] == ["sent"]
    for lead_id, header in hostile.items():
        [outbox] = world.outbox(lead_id)
        assert outbox.status == "failed"
        assert outbox.reason is not None and "line break" in outbox.reason
        assert header.lower() in outbox.reason.lower()


@pytest.mark.parametrize("line_break", BREAKS)
@pytest.mark.parametrize(("field", "header"), [
    ("sender_name", "From"), ("sender_email", "From"), ("reply_to", "Reply-To"),
    ("base_url", "List-Unsubscribe"),
])
def test_a_line_break_in_a_configured_header_value_is_refused(
        composer: Composer, field: str, header: str, line_break: str) -> None:
    """(A base URL that breaks the unsubscribe link may be caught first by the footer check,
    which must find the link intact.)"""
    value = getattr(IDENTITY, field) or "replies@nurture.test"
    identity = dataclasses.replace(IDENTITY, **{field: f"{value}{line_break}Bcc: v@example.com"})
    refusal = f"{header} header: .*line break" + ("|footer block must link" if field ==
                                                   "base_url" else "")
    with pytest.raises(TemplateError, match=refusal):
        composer.compose(make_lead(), identity)


LINE_BREAKING = st.sampled_from(["\r", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e",
                                 "\x85", "\u2028", "\u2029", "\x00", "\t", ": ", "=?utf-8?q?",
                                 "?=", "\"", "\\", "<", ">", "@", ",", ";", "Bcc: v@x.test"])
HOSTILE_TEXT = st.lists(st.one_of(st.text(max_size=6), LINE_BREAKING), max_size=8).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=HOSTILE_TEXT, last=HOSTILE_TEXT, company=HOSTILE_TEXT)
def test_any_lead_data_gives_one_header_each_holding_its_own_value_or_an_error(
        composer: Composer, first: str, last: str, company: str) -> None:
    lead = make_lead(first_name=first or None, last_name=last or None, company=company or None)
    try:
        raw = composer.compose(lead)
    except TemplateError as error:
        assert "header" in str(error) or "subject" in str(error), error
        return
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not [byte for byte in head if byte < 32 and byte not in b"\r\n\t"], head
    message = parsed(raw)
    assert set(message.keys()) == OWN_HEADERS
    assert all(len(message.get_all(name, [])) == 1 for name in OWN_HEADERS)
    [to] = message["To"].addresses
    assert to.addr_spec == "ann@example.com"
    name = " ".join(p for p in (first, last) if p)
    # Python keeps the space between encoded words in a display name (RFC 2047 6.2 drops it)
    assert "".join(to.display_name.split()) == "".join(name.split())
    expected = f"News for {company}" if company else "News for you"
    assert str(message["Subject"]).split() == expected.split()


def test_a_saved_injection_attempt_from_the_api_still_cannot_reach_a_header(
        composer: Composer) -> None:
    """Lead data is data even when it looks like a template or markup."""
    lead = make_lead(first_name="{{ 7*7 }}", company="{% raw %}<script>alert(1)</script>")
    message = parsed(composer.compose(lead))
    assert str(message["Subject"]) == "News for {% raw %}<script>alert(1)</script>"
    assert message["To"].addresses[0].display_name == "{{ 7*7 }}"
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    assert html is not None and text is not None
    assert "{{ 7*7 }}" in text.get_content() and "49" not in text.get_content()
    assert "<script>" not in html.get_content() and "&lt;script&gt;" not in text.get_content()


def test_compose_refuses_a_to_address_with_a_line_break(composer: Composer) -> None:
    with pytest.raises(TemplateError, match="To header: .*line break"):
        composer.compose(make_lead(email="ann@example.com\r\nBcc: v@example.com"))


def test_a_subject_line_that_would_exceed_998_characters_is_refused(composer: Composer) -> None:
    with pytest.raises(TemplateError, match="Subject header: .*998"):
        composer.compose(make_lead(company="x" * 1000))

