"""Benchmark: event → rep notification latency through a running daemon.

    .venv/bin/python bench/handoff_latency.py [--events 200] [--rate 5]
        [--database sqlite|postgres|both] [--pg postgresql://postgres@127.0.0.1:5432/test]

Per database: `nurture run` as a real process (SMTP to an aiosmtpd sink on loopback, the HTTP
API on a free port), a pipeline whose rule `qualified` (handoff = true) fires when a lead's
score reaches 20, one rep, and `--events` leads created through the API. Then one
`form_submitted` event (25 points) per lead is posted to POST /api/events, `--rate` per second
(paced), and again for a second set of leads all at once (burst). Latency is from just before
the POST to the moment the rep's handoff email for that lead is accepted by the SMTP sink
(the sink is watched every 5 ms). Prints p50, p99 and max per phase, and the load average;
and, to show where the time goes, the same for the API's answer alone (POST to response).
Target (issue 5): p99 < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from harness import postgres_schema
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' site and sink
from nurture.store.engine import make_engine, upgrade  # noqa: E402
from tests.e2e.harness import Site, until  # noqa: E402
from tests.smtp_sink import SmtpSink, unused_port  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
API_KEY = "bench-key-0123456789"
REP = {"name": "Rita Rep", "email": "rita@nurture.test", "capacity": 100_000,
       "working_hours": "00:00-24:00", "working_days": "mon-sun"}
PIPELINE = """\
[[stage]]
id = "prospecting"
probability = 0.05

[[stage]]
id = "sql"
team = "sales"
probability = 0.2

[scoring.points]
form_submitted = 25

[[rule]]
name = "qualified"
from = "prospecting"
to = "sql"
when = "score >= 20"
handoff = true
"""


class Arrivals:
    """Watches the sink from a thread: when each lead's handoff email arrived (monotonic)."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink, self.seen = sink, 0
        self.at: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            messages = list(self.sink.messages)
            now = time.monotonic()
            for message in messages[self.seen:]:
                if message.recipients == (REP["email"],):
                    subject = str(message.parsed()["Subject"])
                    for word in subject.split():
                        if word.startswith("Lead") and word[4:].isdigit():
                            self.at.setdefault(int(word[4:]), now)
            self.seen = len(messages)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _leads(client: httpx.Client, numbers: range) -> dict[int, int]:
    ids = {}
    for number in numbers:
        answer = client.post("/api/leads", json={
            "email": f"lead{number}@company{number}.de", "first_name": f"Lead{number}",
            "last_name": "Bench", "company": f"Company {number}"})
        answer.raise_for_status()
        ids[number] = answer.json()["lead"]["id"]
    return ids


def _post(client: httpx.Client, lead_id: int, number: int) -> None:
    client.post("/api/events", json={
        "client_id": f"form-{number}", "type": "form_submitted", "lead_id": lead_id,
        "data": {"form": "demo-request"}}).raise_for_status()


def _phase(client: httpx.Client, arrivals: Arrivals, numbers: range, rate: float | None,
           patience: float) -> tuple[list[float], list[float]]:
    """Post one qualifying event per lead (paced at `rate` per second, or all at once from
    threads); the latency of each and the time the API took to answer it, in seconds."""
    ids = _leads(client, numbers)
    posted: dict[int, float] = {}
    answered: dict[int, float] = {}
    if rate:
        for number in numbers:
            posted[number] = time.monotonic()
            _post(client, ids[number], number)
            answered[number] = time.monotonic()
            time.sleep(max(0.0, posted[number] + 1 / rate - time.monotonic()))
    else:
        def post(number: int) -> None:
            with httpx.Client(base_url=client.base_url, headers=client.headers,
                              timeout=patience) as own:
                posted[number] = time.monotonic()
                _post(own, ids[number], number)
                answered[number] = time.monotonic()
        threads = [threading.Thread(target=post, args=(n,)) for n in numbers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    until(lambda: all(n in arrivals.at for n in numbers), patience,
          f"the rep's emails for leads {numbers.start}-{numbers.stop - 1}")
    return ([arrivals.at[n] - posted[n] for n in numbers],
            [answered[n] - posted[n] for n in numbers])


def _report(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"  {name}: {len(ordered)} events, p50 {statistics.median(ordered) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")


@contextmanager
def _site(database: str, root: Path, sink: SmtpSink, pg_url: str) -> Iterator[Site | None]:
    if database == "sqlite":
        url = f"sqlite:///{root / 'nurture.db'}"
        engine: Engine | None = make_engine(url)
        assert engine is not None
        upgrade(engine)
        yield Site(root, url, engine, sink)
        engine.dispose()
        return
    with postgres_schema(pg_url) as engine:
        if engine is None:
            yield None
            return
        upgrade(engine)
        yield Site(root, engine.url.render_as_string(hide_password=False), engine, sink)


def run(database: str, events: int, rate: float, pg_url: str) -> None:
    print(f"{database}: load average before {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder, SmtpSink() as sink, \
            _site(database, Path(folder), sink, pg_url) as site:
        if site is None:
            return
        site.write("sequences/pipeline.toml", PIPELINE)
        port = unused_port()
        daemon = site.start(http_port=port, api_keys=json.dumps([API_KEY]),
                            reps=json.dumps([REP]))
        arrivals = Arrivals(sink)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                              headers={"Authorization": f"Bearer {API_KEY}"}) as client:
                until(lambda: _healthy(client), 60, "the daemon's HTTP port")
                paced, paced_api = _phase(client, arrivals, range(events), rate, 120)
                burst, burst_api = _phase(client, arrivals, range(events, 2 * events), None,
                                          120)
        finally:
            arrivals.stop()
            daemon.kill()
            if not arrivals.at:  # nothing arrived: show why
                print(daemon.log[-3000:])
        _report(f"paced, {rate:g} events/s", paced)
        _report("  the API's answers alone", paced_api)
        _report("burst, all at once", burst)
        _report("  the API's answers alone", burst_api)
    print(f"{database}: load average after {os.getloadavg()[0]:.2f}")


def _healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pg", default=PG_URL)
    options = parser.parse_args()
    for database in ("sqlite", "postgres"):
        if options.database in (database, "both"):
            run(database, options.events, options.rate, options.pg)


if __name__ == "__main__":
    main()
