"""The mail server misbehaves under a running daemon (real processes, a real SMTP server on
loopback): it is not there at start, goes away in the middle of a batch, answers too slowly,
answers 421/451 for a while, refuses some recipients. Each time the daemon keeps running, logs
the cause once (not once per lead), spends no touch, and catches up when the server is back:
every touch arrives exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.harness import PATIENCE, Site, until
from tests.faults.clocked import SharedClock
from tests.faults.harness import (
    assert_each_touch_arrived_once,
    catch_up,
    dispatched,
    lines_with,
    outbox_attempts,
    ride_out,
    start,
)
from tests.faults.relay import Relay

TOUCHES = 300
# An outage much longer than the retry budget of one touch (5 attempts over 15 minutes).
LONG_OUTAGE = [timedelta(minutes=20)] * 6


@pytest.mark.parametrize("touches", [TOUCHES, 1], ids=["a-batch", "one-touch"])
def test_mail_server_down_at_start_then_back_after_two_hours(
        sqlite_site: Site, clock: SharedClock, relay: Relay, touches: int) -> None:
    site = sqlite_site
    site.seed(touches)
    daemon = start(site, clock, smtp__port=relay.port)
    dispatched(daemon)
    ride_out(clock, daemon, LONG_OUTAGE)
    assert site.sink.messages == []
    assert set(site.outbox_statuses()) == {"deferred"}, "a touch was given up while the " \
        "server was away"
    assert outbox_attempts(site) == {0: touches}, "attempts were spent on a server that was away"
    assert len(lines_with(daemon, "Connection refused")) == 1
    relay.up()
    catch_up(site, clock, daemon, touches)
    assert_each_touch_arrived_once(site, touches)
    assert len(lines_with(daemon, "sending again")) == 1
    assert daemon.is_running() and "Traceback" not in daemon.log


def test_mail_server_going_away_mid_batch_loses_nothing(
        sqlite_site: Site, clock: SharedClock, relay: Relay) -> None:
    site = sqlite_site
    site.seed(TOUCHES)
    site.sink.slow("*", 0.005)  # a batch takes a while: the cut lands inside it
    relay.up()
    daemon = start(site, clock, smtp__port=relay.port, batch_size=100)
    until(lambda: len(site.sink.messages) >= 50, PATIENCE, "the first messages")
    mark = len(daemon.log)
    relay.down()
    dispatched(daemon, mark)
    cut_short = len(site.received_ids())
    assert cut_short < TOUCHES, "the daemon finished before the server went away"
    ride_out(clock, daemon, LONG_OUTAGE)
    assert not site.outbox_statuses()["failed"]
    assert len(lines_with(daemon, "Connection refused")) == 1
    relay.up()
    catch_up(site, clock, daemon, TOUCHES)
    received = site.received_ids()
    assert len(received) == TOUCHES
    twice = [message_id for message_id, count in received.items() if count > 1]
    print(f"server gone after {cut_short} of {TOUCHES} messages; {len(twice)} arrived twice")
    # Only a transaction cut after the message was handed over can arrive twice: at most one
    # per connection open at the cut (smtp.pool_size, 2).
    assert len(twice) <= 2
    assert site.outbox_statuses() == {"sent": TOUCHES}
    assert daemon.is_running() and "Traceback" not in daemon.log


def test_mail_server_answering_slower_than_the_timeout(
        sqlite_site: Site, clock: SharedClock) -> None:
    site = sqlite_site
    touches = 40
    site.seed(touches)
    site.sink.slow("*", 1.0)
    daemon = start(site, clock, smtp__timeout_seconds=0.2)
    dispatched(daemon)
    ride_out(clock, daemon, LONG_OUTAGE[:2])  # each try waits out the timeouts of a chunk
    assert site.sink.messages == []
    assert set(site.outbox_statuses()) == {"deferred"}
    assert outbox_attempts(site) == {0: touches}
    assert len(lines_with(daemon, "timed out after 0.2 s")) == 1
    site.sink.slow("*", 0)
    catch_up(site, clock, daemon, touches)
    assert_each_touch_arrived_once(site, touches)
    assert daemon.is_running() and "Traceback" not in daemon.log


@pytest.mark.parametrize(("reply", "stage"), [
    ("421 4.3.2 System not accepting network messages", "mail"),
    ("451 4.3.0 Temporary local problem, try again later", "rcpt"),
    ("451 4.3.0 Queue file write error", "data"),
], ids=["421-at-MAIL", "451-at-RCPT", "451-at-DATA"])
def test_mail_server_refusing_for_a_while_then_accepting(
        sqlite_site: Site, clock: SharedClock, reply: str, stage: str) -> None:
    site = sqlite_site
    site.seed(TOUCHES)
    site.sink.answer("*", reply, at=stage)  # type: ignore[arg-type]
    daemon = start(site, clock)
    dispatched(daemon)
    ride_out(clock, daemon, LONG_OUTAGE)
    assert set(site.outbox_statuses()) == {"deferred"}
    assert outbox_attempts(site) == {0: TOUCHES}
    assert len(lines_with(daemon, reply)) == 1
    site.sink.answer("*", "", at=stage)  # type: ignore[arg-type]  # no rule: accept again
    catch_up(site, clock, daemon, TOUCHES)
    assert_each_touch_arrived_once(site, TOUCHES)
    assert daemon.is_running() and "Traceback" not in daemon.log


def test_mail_server_refusing_some_recipients_bounces_them_and_sends_the_rest(
        sqlite_site: Site, clock: SharedClock) -> None:
    site = sqlite_site
    site.seed(TOUCHES)
    gone = [f"lead{n}@d{n % 97}.example" for n in range(0, TOUCHES, 10)]
    for address in gone:
        site.sink.answer(address, f"550 5.1.1 <{address}>: Recipient address rejected: "
                                  "User unknown")
    daemon = start(site, clock)
    until(lambda: site.all_final(TOUCHES), PATIENCE, "every outbox row final")
    received = site.received_ids()
    assert len(received) == TOUCHES - len(gone) and set(received.values()) == {1}
    assert not {m.recipients[0] for m in site.sink.messages} & set(gone)
    assert site.outbox_statuses() == {"sent": TOUCHES - len(gone), "failed": len(gone)}
    assert site.enrollments() == {"finished": TOUCHES - len(gone), "stopped": len(gone)}
    daemon.wait_for_log(f"bounced {len(gone)}")  # the tick's summary, not a line per lead
    assert lines_with(daemon, "User unknown") == []
    assert daemon.is_running() and "Traceback" not in daemon.log
