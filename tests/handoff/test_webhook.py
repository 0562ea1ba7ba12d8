"""The handoff webhook: Slack-compatible JSON, signed as Standard Webhooks says, retried with
backoff across runs; against a real HTTP server on loopback that checks every signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.handoff.desk import NOW, Desk

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()


@dataclass
class Hook:
    """A webhook receiver: answers with the next status of `answers` (then 200)."""

    port: int
    answers: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T0/B0/secret-path"


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook
            body = self.rfile.read(int(self.headers["content-length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            state.received.append({"headers": headers, "body": body,
                                   "valid": _verify(headers, body), "path": self.path})
            status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"upstream trouble")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _verify(headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, written from the spec, not from nurture's code."""
    if "webhook-signature" not in headers:
        return False
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1)[1] for part in headers["webhook-signature"].split()
               if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, value) for value in offered)


def test_the_webhook_is_signed_and_retried_with_backoff_until_delivered(
    desk: Desk, hook: Hook
) -> None:
    desk.configure(webhook_url=hook.url, webhook_secret=SECRET)
    hook.answers = [500, 503]
    lead = desk.add_lead("pat@acme.test", company="Acme & <Sons>", score=61.0, fit="B")
    desk.request(lead)

    first = desk.handoffs(NOW)
    assert first.notices == {"sent": 1, "retry": 1}  # the email went; the webhook failed
    assert desk.handoffs(NOW + timedelta(seconds=29)).notices == {}  # not due before 30 s
    second = desk.handoffs(NOW + timedelta(seconds=30))
    assert second.notices == {"retry": 1}
    assert desk.handoffs(NOW + timedelta(seconds=89)).notices == {}  # then 60 s
    third = desk.handoffs(NOW + timedelta(seconds=90))
    assert third.notices == {"sent": 1}

    assert [r["valid"] for r in hook.received] == [True, True, True]
    ids = {r["headers"]["webhook-id"] for r in hook.received}
    assert len(ids) == 1 and ids.pop().startswith("msg_")  # the same message, three attempts
    stamps = [int(r["headers"]["webhook-timestamp"]) for r in hook.received]
    assert stamps == [int((NOW + timedelta(seconds=s)).timestamp()) for s in (0, 30, 90)]
    request = hook.received[0]
    assert request["headers"]["content-type"] == "application/json"
    assert request["path"] == "/services/T0/B0/secret-path"
    payload = json.loads(request["body"])
    assert list(payload) == ["text"]
    assert payload["text"] == (
        ":inbox_tray: New lead for *Ana Lima*: Pat Quinn at Acme &amp; &lt;Sons&gt; "
        "(score 61, fit B, rule sales-qualified). Next step: Introduce yourself by phone or "
        "a short personal email.")
    [notice] = [n for n in desk.notices() if n.kind == "webhook"]
    assert (notice.status, notice.attempts, notice.last_error) == ("sent", 3, (
        f"POST http://127.0.0.1:{hook.port}: 503 upstream trouble"))


def test_a_refusal_that_retrying_cannot_fix_is_final(desk: Desk, hook: Hook) -> None:
    desk.configure(webhook_url=hook.url)
    hook.answers = [404]
    desk.request(desk.add_lead("pat@acme.test"))

    report = desk.handoffs(NOW)

    assert report.notices == {"sent": 1, "failed": 1}
    assert "webhook-signature" not in hook.received[0]["headers"]  # no secret: unsigned
    assert desk.handoffs(NOW + timedelta(hours=2)).notices == {}
    assert len(hook.received) == 1


def test_an_unreachable_webhook_is_retried_and_given_up_after_ten_attempts(desk: Desk) -> None:
    desk.configure(webhook_url="http://127.0.0.1:9/hook")  # the discard port: refused
    desk.request(desk.add_lead("pat@acme.test"))
    moment, outcomes = NOW, []
    for _ in range(10):
        outcomes.append(desk.handoffs(moment).notices.get("retry", 0))
        moment += timedelta(hours=1)  # past every backoff, which stops growing at an hour

    [notice] = [n for n in desk.notices() if n.kind == "webhook"]
    assert outcomes == [1] * 9 + [0]
    assert (notice.status, notice.attempts) == ("failed", 10)
    assert "ConnectError" in (notice.last_error or "")
