"""`nurture preview`: one touch for one stored lead, as the daemon would send it."""

from __future__ import annotations

import email
import email.policy
import html
from email.message import EmailMessage

import pytest

from tests.cli.workspace import Workspace

WELCOME = "prospecting-inbound-welcome"  # sequences/prospecting/inbound-welcome.toml
REP_INTRO = "sql-rep-introduction"  # its touch 2 is a call task
LEAD = "zoe.martin@example.com"


@pytest.fixture
def with_lead(workspace: Workspace) -> Workspace:
    leads_csv = workspace.root / "leads.csv"
    leads_csv.write_text(f"email,first_name,last_name,company,timezone\n"
                         f"{LEAD},Zoë,Martin,Acme,Europe/Paris\n", encoding="utf-8")
    assert workspace.run("leads", "import", leads_csv).exit_code == 0
    return workspace


def test_preview_writes_a_standard_message_with_both_parts(with_lead: Workspace) -> None:
    out = with_lead.root / "touch.eml"
    result = with_lead.run("preview", WELCOME, "--touch", "1", "--lead", LEAD, "--out", out)
    assert result.exit_code == 0, result.output
    message = email.message_from_bytes(out.read_bytes(), policy=email.policy.strict)
    assert isinstance(message, EmailMessage)
    assert message["To"].addresses[0].addr_spec == LEAD
    text, body = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and body is not None
    assert "Zoë" in text.get_content()
    assert "Zoë" in html.unescape(body.get_content())
    assert "Zoë" in result.stdout and f"written to {out}" in result.stdout


def test_preview_can_write_the_html_part_alone(with_lead: Workspace) -> None:
    out = with_lead.root / "touch.html"
    result = with_lead.run("preview", WELCOME, "--lead", LEAD, "--out", out)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith(("<!doctype html", "<html"))
    assert "Zoë" in html.unescape(page)


def test_preview_without_a_lead_uses_the_sample_lead(workspace: Workspace) -> None:
    result = workspace.run("preview", WELCOME, "--touch", "1")
    assert result.exit_code == 0, result.output
    assert "Ada" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "no sequence 'nope' (sequences: "),
    ([WELCOME, "--touch", "99"], f"{WELCOME} has 7 touches, so no touch 99"),
    ([REP_INTRO, "--touch", "2"], f"touch 2 of {REP_INTRO} is a task"),
    ([WELCOME, "--variant", "3"], "touch 1 has 2 subject variants, so no variant 3"),
    ([WELCOME, "--lead", "nobody@example.com"], "no lead with email nobody@example.com"),
    ([WELCOME, "--out", "touch.txt"], "--out touch.txt: name a .eml file"),
], ids=["sequence", "touch", "task touch", "variant", "lead", "out suffix"])
def test_preview_of_something_that_does_not_exist_says_what(
        workspace: Workspace, args: list[str], message: str) -> None:
    result = workspace.run("preview", *args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {message}"), result.stderr
