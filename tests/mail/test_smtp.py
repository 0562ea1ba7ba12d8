"""SmtpTransport against a real aiosmtpd on loopback."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from nurture.mail.smtp import Security, SmtpTransport
from nurture.mail.transport import Delivery, Envelope, Outcome
from tests.smtp_sink import SmtpSink, TlsPair, unused_port


def envelope(to: str = "lead@example.com", number: int = 1, *more: str) -> Envelope:
    message = (
        "From: Sales <sales@example.com>\r\n"
        f"To: {to}\r\n"
        f"Subject: Hello {number}\r\n"
        f"Message-ID: <{number}@example.com>\r\n"
        "\r\n"
        "Hi,\r\n"
        ".a line that starts with a dot\r\n"
        "bye\r\n"
    ).encode()
    return Envelope("bounces@example.com", (to, *more), message, f"<{number}@example.com>")


def transport_for(sink: SmtpSink, **options: Any) -> SmtpTransport:
    return SmtpTransport(sink.host, sink.port, local_hostname="nurture.test", **options)


def send(transport: SmtpTransport, *envelopes: Envelope) -> list[Delivery]:
    """Send one after another on a fresh event loop, then close the transport."""

    async def run() -> list[Delivery]:
        try:
            return [await transport.send(each) for each in envelopes]
        finally:
            await transport.close()

    return asyncio.run(run())


def test_message_arrives_byte_identical_with_its_envelope(smtp_sink: SmtpSink) -> None:
    sent = envelope()
    [delivery] = send(transport_for(smtp_sink), sent)
    assert delivery.outcome is Outcome.SENT
    assert delivery.code == 250
    assert "queued as 1" in delivery.reason
    [received] = smtp_sink.messages
    assert received.data == sent.message
    assert received.mail_from == "bounces@example.com"
    assert received.recipients == ("lead@example.com",)


def test_lf_message_goes_out_with_crlf_line_endings(smtp_sink: SmtpSink) -> None:
    crlf = envelope()
    lf = Envelope(crlf.mail_from, crlf.recipients, crlf.message.replace(b"\r\n", b"\n"), "<1>")
    send(transport_for(smtp_sink), lf)
    assert smtp_sink.messages[0].data == crlf.message


def test_sequential_sends_reuse_one_connection(smtp_sink: SmtpSink) -> None:
    deliveries = send(transport_for(smtp_sink), *(envelope(number=n) for n in range(5)))
    assert [d.outcome for d in deliveries] == [Outcome.SENT] * 5
    assert smtp_sink.sessions == 1


def test_twenty_concurrent_sends_with_pool_of_two_open_at_most_two_sessions(
    smtp_sink: SmtpSink,
) -> None:
    transport = transport_for(smtp_sink, pool_size=2)

    async def run() -> list[Delivery]:
        try:
            sends = (transport.send(envelope(number=n)) for n in range(20))
            return list(await asyncio.gather(*sends))
        finally:
            await transport.close()

    deliveries = asyncio.run(run())
    assert {d.outcome for d in deliveries} == {Outcome.SENT}
    assert len(smtp_sink.messages) == 20
    assert 1 <= smtp_sink.sessions <= 2
    assert {m.session for m in smtp_sink.messages} <= {1, 2}


def test_unknown_mailbox_is_recipient_rejected_with_the_servers_text(smtp_sink: SmtpSink) -> None:
    smtp_sink.answer("gone@example.com", "550 5.1.1 <gone@example.com>: no such user")
    [delivery] = send(transport_for(smtp_sink), envelope("gone@example.com"))
    assert delivery == Delivery(
        Outcome.RECIPIENT_REJECTED, "550 5.1.1 <gone@example.com>: no such user", 550, "5.1.1"
    )
    assert smtp_sink.messages == []


def test_temporary_failure_is_retry(smtp_sink: SmtpSink) -> None:
    smtp_sink.answer("busy@example.com", "451 4.3.0 Temporary lookup failure")
    [delivery] = send(transport_for(smtp_sink), envelope("busy@example.com"))
    assert delivery.outcome is Outcome.RETRY
    assert delivery.reason == "451 4.3.0 Temporary lookup failure"


def test_dmarc_refusal_after_data_is_sender_rejected(smtp_sink: SmtpSink) -> None:
    reply = "550 5.7.26 Unauthenticated email from example.com is not accepted due to DMARC"
    smtp_sink.answer("lead@example.com", reply, at="data")
    [delivery] = send(transport_for(smtp_sink), envelope())
    assert delivery.outcome is Outcome.SENDER_REJECTED
    assert (delivery.reason, delivery.enhanced) == (reply, "5.7.26")


def test_refused_return_path_is_sender_rejected(smtp_sink: SmtpSink) -> None:
    smtp_sink.answer("bounces@example.com", "553 5.7.1 Sender address rejected", at="mail")
    [delivery] = send(transport_for(smtp_sink), envelope())
    assert delivery.outcome is Outcome.SENDER_REJECTED
    assert delivery.reason == "553 5.7.1 Sender address rejected"


def test_partly_refused_recipients_still_count_as_sent(smtp_sink: SmtpSink) -> None:
    smtp_sink.answer("gone@example.com", "550 5.1.1 <gone@example.com>: no such user")
    [delivery] = send(transport_for(smtp_sink), envelope("lead@example.com", 1, "gone@example.com"))
    assert delivery.outcome is Outcome.SENT
    assert "refused: 550 5.1.1 <gone@example.com>: no such user" in delivery.reason
    assert smtp_sink.messages[0].recipients == ("lead@example.com",)


def test_all_recipients_refused_takes_the_most_cautious_outcome(smtp_sink: SmtpSink) -> None:
    smtp_sink.answer("gone@example.com", "550 5.1.1 <gone@example.com>: no such user")
    smtp_sink.answer("busy@example.com", "451 4.3.0 try later")
    [delivery] = send(transport_for(smtp_sink), envelope("gone@example.com", 1, "busy@example.com"))
    assert delivery.outcome is Outcome.RETRY
    assert delivery.reason == "550 5.1.1 <gone@example.com>: no such user; 451 4.3.0 try later"


def test_nothing_listening_is_retry_saying_cannot_connect() -> None:
    port = unused_port()
    [delivery] = send(SmtpTransport("127.0.0.1", port, timeout=2), envelope())
    assert delivery.outcome is Outcome.RETRY
    assert delivery.reason == f"cannot connect to 127.0.0.1:{port}: Connection refused"


def test_slow_server_past_the_timeout_is_retry_and_its_connection_is_not_reused(
    smtp_sink: SmtpSink,
) -> None:
    smtp_sink.slow("slow@example.com", 5)
    started = time.monotonic()
    slow, fine = send(transport_for(smtp_sink, timeout=0.5), envelope("slow@example.com"),
                      envelope("lead@example.com", 2))
    assert time.monotonic() - started < 3
    assert slow.outcome is Outcome.RETRY
    assert slow.reason.startswith("timed out after 0.5 s waiting for a reply from 127.0.0.1:")
    assert fine.outcome is Outcome.SENT
    assert smtp_sink.sessions == 2
    assert [m.recipients for m in smtp_sink.messages] == [("lead@example.com",)]


def test_idle_connection_dropped_by_the_server_is_replaced(smtp_sink: SmtpSink) -> None:
    transport = transport_for(smtp_sink)

    async def run() -> tuple[Delivery, Delivery]:
        try:
            first = await transport.send(envelope(number=1))
            smtp_sink.drop_connections()
            return first, await transport.send(envelope(number=2))
        finally:
            await transport.close()

    first, second = asyncio.run(run())
    assert (first.outcome, second.outcome) == (Outcome.SENT, Outcome.SENT)
    assert smtp_sink.sessions == 2
    assert [m.session for m in smtp_sink.messages] == [1, 2]


def test_connection_lost_mid_transaction_is_retry_and_not_reused(smtp_sink: SmtpSink) -> None:
    smtp_sink.drop("flaky@example.com")
    lost, fine = send(transport_for(smtp_sink), envelope("flaky@example.com"),
                      envelope("lead@example.com", 2))
    assert lost.outcome is Outcome.RETRY
    assert lost.reason.startswith(f"lost the connection to 127.0.0.1:{smtp_sink.port}")
    assert fine.outcome is Outcome.SENT
    assert smtp_sink.sessions == 2


def test_starttls_and_auth_plain(tls_pair: TlsPair) -> None:
    with SmtpSink(tls_context=tls_pair.server, logins={"nurture": "s3cret"}) as sink:
        transport = transport_for(sink, security="starttls", username="nurture",
                                  password="s3cret", tls_context=tls_pair.client)
        [delivery] = send(transport, envelope())
        assert delivery.outcome is Outcome.SENT
        [received] = sink.messages
        assert (received.tls, received.login) == (True, "nurture")


def test_wrong_password_is_sender_rejected(tls_pair: TlsPair) -> None:
    with SmtpSink(tls_context=tls_pair.server, logins={"nurture": "s3cret"}) as sink:
        transport = transport_for(sink, security="starttls", username="nurture",
                                  password="wrong", tls_context=tls_pair.client)
        [delivery] = send(transport, envelope())
        assert delivery.outcome is Outcome.SENDER_REJECTED
        assert delivery.reason.startswith(f"127.0.0.1:{sink.port} refused the session: 535 ")
        assert sink.messages == []


@pytest.mark.parametrize(("security", "implicit_tls"), [("starttls", False), ("tls", True)])
def test_untrusted_certificate_is_sender_rejected(
    tls_pair: TlsPair, security: Security, implicit_tls: bool
) -> None:
    with SmtpSink(tls_context=tls_pair.server, implicit_tls=implicit_tls) as sink:
        [delivery] = send(transport_for(sink, security=security), envelope())
        assert delivery.outcome is Outcome.SENDER_REJECTED
        assert delivery.reason.startswith(f"TLS with 127.0.0.1:{sink.port} failed: ")
        assert "certificate verify failed: unable to get local issuer" in delivery.reason


def test_implicit_tls(tls_pair: TlsPair) -> None:
    with SmtpSink(tls_context=tls_pair.server, implicit_tls=True) as sink:
        transport = transport_for(sink, security="tls", tls_context=tls_pair.client)
        [delivery] = send(transport, envelope())
        assert delivery.outcome is Outcome.SENT
        assert sink.messages[0].tls


def test_starttls_required_but_not_offered_is_sender_rejected(smtp_sink: SmtpSink) -> None:
    [delivery] = send(transport_for(smtp_sink, security="starttls"), envelope())
    assert delivery.outcome is Outcome.SENDER_REJECTED
    assert "STARTTLS" in delivery.reason
    assert delivery.reason.endswith("check the smtp settings")


@pytest.mark.parametrize("address", ["lead@example.com> NOTIFY=NEVER", "le ad@example.com"])
def test_recipient_that_is_not_a_bare_address_is_refused_before_connecting(
    smtp_sink: SmtpSink, address: str
) -> None:
    [delivery] = send(transport_for(smtp_sink), envelope(address))
    assert delivery.outcome is Outcome.RECIPIENT_REJECTED
    assert f"{address!r} is not a bare email address" in delivery.reason
    assert smtp_sink.sessions == 0


def test_sender_that_is_not_a_bare_address_is_sender_rejected(smtp_sink: SmtpSink) -> None:
    bad = Envelope("Sales <sales@example.com>", ("lead@example.com",), b"x", "<1>")
    [delivery] = send(transport_for(smtp_sink), bad)
    assert delivery.outcome is Outcome.SENDER_REJECTED


def test_non_ascii_recipient_goes_out_with_smtputf8(smtp_sink: SmtpSink) -> None:
    [delivery] = send(transport_for(smtp_sink), envelope("zoë@example.com"))
    assert delivery.outcome is Outcome.SENT
    assert smtp_sink.messages[0].recipients == ("zoë@example.com",)


def test_non_ascii_recipient_without_smtputf8_is_recipient_rejected() -> None:
    with SmtpSink(smtputf8=False) as sink:
        [delivery] = send(transport_for(sink), envelope("zoë@example.com"))
        assert delivery.outcome is Outcome.RECIPIENT_REJECTED
        assert "SMTPUTF8" in delivery.reason
        assert sink.messages == []


def test_null_sender_is_allowed(smtp_sink: SmtpSink) -> None:
    bounce = Envelope("", ("lead@example.com",), envelope().message, "<1>")
    [delivery] = send(transport_for(smtp_sink), bounce)
    assert delivery.outcome is Outcome.SENT
    assert smtp_sink.messages[0].mail_from == ""


def test_close_quits_pooled_connections(smtp_sink: SmtpSink) -> None:
    transport = transport_for(smtp_sink, pool_size=2)

    async def run() -> None:
        await asyncio.gather(*(transport.send(envelope(number=n)) for n in range(4)))
        await transport.close()
        deadline = time.monotonic() + 3
        while smtp_sink.open_connections() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    asyncio.run(run())
    assert smtp_sink.sessions >= 1
    assert smtp_sink.open_connections() == 0


def test_send_after_close_is_a_programming_error(smtp_sink: SmtpSink) -> None:
    transport = transport_for(smtp_sink)

    async def run() -> None:
        await transport.close()
        await transport.send(envelope())

    with pytest.raises(RuntimeError, match=r"after close\(\)"):
        asyncio.run(run())
