"""The running daemon serves /healthz and /metrics on its HTTP port, in the same process and
loop that sends."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import PATIENCE, Site, until
from tests.smtp_sink import unused_port

TOUCHES = 40
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus exposition, by name and labels."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_healthz_and_metrics_report_on_the_running_daemon(sqlite_site: Site) -> None:
    site = sqlite_site
    site.seed(TOUCHES)
    port = unused_port()
    site.start(http_port=port)
    base = f"http://127.0.0.1:{port}"
    until(lambda: site.all_final(TOUCHES), PATIENCE, "every touch sent")

    def metrics_caught_up() -> Samples | None:
        try:
            found = samples(httpx.get(f"{base}/metrics", timeout=2).text)
        except httpx.TransportError:
            return None
        sent = found.get(("nurture_touches_total", (("outcome", "sent"),)))
        return found if sent == TOUCHES else None

    found = until(metrics_caught_up, PATIENCE, f"{TOUCHES} sent in /metrics")
    health = httpx.get(f"{base}/healthz", timeout=2)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert found[("nurture_due_backlog", ())] == 0
    assert found[("nurture_tick_seconds_count", ())] >= 1
    assert found[("nurture_tick_seconds_sum", ())] > 0
    assert len(site.sink.messages) == TOUCHES
