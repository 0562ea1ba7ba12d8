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


def _pixel_and_click(message: bytes) -> tuple[str, str]:
    import html
    import re
    from email import message_from_bytes, policy

    parsed = message_from_bytes(message, policy=policy.default)
    body = str(parsed.get_body(preferencelist=("html",)).get_content())  # type: ignore[union-attr]
    [pixel] = re.findall(r'<img src="([^"]+)" width="1" height="1"', body)
    clicks = [html.unescape(h) for h in re.findall(r'href="([^"]+/c/[^"]+)"', body)]
    return html.unescape(pixel), clicks[0]


def test_the_daemon_and_a_separate_nurture_serve_resolve_the_links_of_its_emails(
        sqlite_site: Site) -> None:
    site = sqlite_site
    site.write("templates/note.md.j2", "Hi, see [pricing](https://example.com/pricing).\n")
    site.seed(2)
    run_port, serve_port = unused_port(), unused_port()
    site.start(http_port=run_port, tracking__base_url=f"http://127.0.0.1:{run_port}")
    site.start(("serve",), http_port=serve_port, tracking__base_url=f"http://127.0.0.1:{run_port}")
    until(lambda: site.all_final(2), PATIENCE, "both touches sent")
    [first, second] = [m.data for m in site.sink.messages]
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}

    pixel, _ = _pixel_and_click(first)
    assert httpx.get(pixel, headers=browser, timeout=5).status_code == 200
    _, other_click = _pixel_and_click(second)
    served = other_click.replace(f":{run_port}/", f":{serve_port}/")
    until(lambda: _answers(f"http://127.0.0.1:{serve_port}/healthz"), PATIENCE, "serve is up")
    answer = httpx.get(served, headers=browser, timeout=5)
    assert (answer.status_code, answer.headers["location"]) == (302, "https://example.com/pricing")
    with site.engine.connect() as connection:
        hits = sorted(tuple(row) for row in connection.exec_driver_sql(
            "SELECT type, machine FROM event WHERE source = 'tracking'"))
    # Both came seconds after delivery, as a scanner's prefetch does: stored, flagged machine.
    assert hits == [("clicked", True), ("opened", True)]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
