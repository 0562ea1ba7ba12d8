"""Signals: SIGTERM and SIGINT finish the batch in hand and exit 0; SIGHUP reloads sequences
and templates, and keeps the running set when the new one is invalid."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.harness import PATIENCE, Site, until

TOUCHES = 300
BATCH = 100


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_finishes_the_batch_in_hand_and_exits_0(sqlite_site: Site,
                                                            stop: signal.Signals) -> None:
    site = sqlite_site
    site.seed(TOUCHES)
    site.sink.slow("*", 0.01)  # a batch takes about half a second: long enough to land in
    daemon = site.start(batch_size=BATCH)
    until(lambda: len(site.sink.messages) >= 20, PATIENCE, "the first batch under way")
    daemon.signal(stop)
    assert daemon.exit_code(15) == 0
    statuses = site.outbox_statuses()
    assert set(statuses) == {"sent"}, f"a touch was left half-done: {statuses}"
    assert statuses["sent"] % BATCH == 0 and statuses["sent"] < TOUCHES
    assert site.leased() == 0
    assert len(site.received_ids()) == statuses["sent"] == len(site.sink.messages)
    site.start(batch_size=BATCH)
    until(lambda: site.all_final(TOUCHES), PATIENCE, "the next run to send the rest")
    assert set(site.received_ids().values()) == {1}
    assert site.outbox_statuses() == {"sent": TOUCHES}


def sent_subjects(site: Site, first: int, count: int) -> set[str]:
    """Wait for the mail of leads `first`…`first + count - 1`; return their subjects."""
    wanted = {f"lead{n}@d{n % 97}.example" for n in range(first, first + count)}
    until(lambda: wanted <= {m.recipients[0] for m in list(site.sink.messages)}, PATIENCE,
          f"mail for leads {first} to {first + count - 1}")
    return {str(m.parsed()["Subject"]).split(" ")[0] for m in list(site.sink.messages)
            if m.recipients[0] in wanted}


def body(site: Site, recipient: str) -> str:
    [message] = [m.parsed() for m in site.sink.messages if m.recipients == (recipient,)]
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_sighup_reloads_changed_sequences_and_templates(sqlite_site: Site) -> None:
    site = sqlite_site
    site.seed(5)
    daemon = site.start()
    assert sent_subjects(site, 0, 5) == {"Hello"}
    site.write_sequence(subject="Changed {{ lead.first_name }}")
    site.write("templates/note.md.j2", "Fresh words for {{ lead.first_name }}.\n")
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("reloaded 1 sequences")
    site.seed(5, first=5)
    assert sent_subjects(site, 5, 5) == {"Changed"}
    assert "Fresh words for Lead7." in body(site, "lead7@d7.example")
    assert "this is touch 1" in body(site, "lead2@d2.example")
    assert daemon.is_running()


BROKEN = {
    "sequence": ("sequences/prospecting/welcome.toml",
                 'id = "welcome"\nstage = "prospecting"\n[[touch]]\nwait = "soon"\n'),
    "template": ("templates/note.md.j2", "Hi {{ lead.first_name \n"),
}


@pytest.mark.parametrize("broken", list(BROKEN))
def test_sighup_with_an_invalid_file_logs_why_and_keeps_sending_with_the_running_set(
        sqlite_site: Site, broken: str) -> None:
    site = sqlite_site
    site.seed(5)
    daemon = site.start()
    assert sent_subjects(site, 0, 5) == {"Hello"}
    path, text = BROKEN[broken]
    site.write(path, text)
    daemon.signal(signal.SIGHUP)
    end = daemon.wait_for_log("reload refused")
    assert path.rpartition("/")[2] in daemon.log[end:], "the error does not name the file"
    site.seed(5, first=5)
    assert sent_subjects(site, 5, 5) == {"Hello"}
    assert "this is touch 1" in body(site, "lead7@d7.example")
    assert site.outbox_statuses() == {"sent": 10}
    assert daemon.is_running()
