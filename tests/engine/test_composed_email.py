"""What the dispatcher puts in each email beyond the template: tracked links and an open pixel
that the real tracking app resolves to the lead (unless tracking is off, for the instance or
the sequence), and a DKIM signature that verifies when a key is configured."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import html
import re
from datetime import timedelta
from pathlib import Path

import dkim
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from nurture.clock import ManualClock
from nurture.engine.compose import Identity
from nurture.metrics import Metrics
from nurture.settings import DkimSettings, Settings, TrackingSettings
from nurture.web.app import create_app
from nurture.web.state import WebContext
from tests.engine.world import IDENTITY, NOW, World, sequence_toml, touch

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
LINKED = "Hi {{ lead.first_name }}, see [our pricing](https://example.com/pricing?plan=pro).\n"


def _html_part(world: World, email: str) -> str:
    [received] = world.received(email)
    part = received.parsed().get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _get(world: World, url: str, clock: ManualClock) -> httpx.Response:
    assert world.project is not None
    project = world.project
    settings = Settings(tracking=TrackingSettings(base_url=IDENTITY.base_url,
                                                  secret=SecretStr(IDENTITY.secret)))
    app = create_app(Metrics(), WebContext(world.engine, settings, lambda: project, clock))

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=IDENTITY.base_url) as client:
            return await client.get(url, headers={"User-Agent": BROWSER})

    return asyncio.run(fetch())


def test_a_sent_email_has_a_pixel_and_tracked_links_the_app_resolves_to_its_lead(
        world: World) -> None:
    world.template("linked.md.j2", LINKED)
    world.load(sequence_toml("intro", [touch("0d", "Pricing", template="linked.md.j2")]))
    lead = world.add_lead("ann@example.com", first_name="Ann")
    world.enroll()
    world.tick(NOW)
    body = _html_part(world, "ann@example.com")
    [pixel] = re.findall(r'<img src="([^"]+)" width="1" height="1"', body)
    links = [html.unescape(h) for h in re.findall(r'<a[^>]*href="([^"]+)"', body)]
    clicks = [link for link in links if link.startswith(f"{IDENTITY.base_url}/c/")]
    assert len(clicks) == 1, links
    assert not any(link.startswith("https://example.com/") for link in links)

    clock = ManualClock(NOW + timedelta(hours=2))
    assert _get(world, html.unescape(pixel), clock).status_code == 200
    clicked = _get(world, clicks[0], clock)
    assert clicked.status_code in (302, 303, 307)
    assert clicked.headers["location"] == "https://example.com/pricing?plan=pro"
    [sent] = world.outbox(lead)
    [opened] = world.events(lead, "opened")
    [click] = world.events(lead, "clicked")
    assert (opened.outbox_id, opened.machine) == (sent.id, False)
    assert (click.outbox_id, click.data["url"]) == (sent.id, "https://example.com/pricing?plan=pro")


def test_with_tracking_off_the_email_has_no_pixel_and_its_links_as_written(
        world: World) -> None:
    world.template("linked.md.j2", LINKED)
    world.load(sequence_toml("intro", [touch("0d", "Pricing", template="linked.md.j2")]))
    world.add_lead("ann@example.com", first_name="Ann")
    world.enroll()
    world.dispatcher().identity = dataclasses.replace(IDENTITY, track=False)
    world.tick(NOW)
    body = _html_part(world, "ann@example.com")
    assert 'width="1" height="1"' not in body
    assert "https://example.com/pricing?plan=pro" in html.unescape(body)
    assert f"{IDENTITY.base_url}/c/" not in body


def test_a_sequence_that_opts_out_of_link_tracking_keeps_the_pixel(world: World) -> None:
    world.template("linked.md.j2", LINKED)
    world.load(sequence_toml("intro", [touch("0d", "Pricing", template="linked.md.j2")],
                             head="track_links = false\n"))
    world.add_lead("ann@example.com", first_name="Ann")
    world.enroll()
    world.tick(NOW)
    body = _html_part(world, "ann@example.com")
    assert f'{IDENTITY.base_url}/o/' in body
    assert f"{IDENTITY.base_url}/c/" not in body


def test_with_a_dkim_key_configured_every_email_is_signed_and_verifies(
        world: World, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem_file = tmp_path / "dkim.pem"
    pem_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    settings = Settings(dkim=DkimSettings(selector="s1", private_key_file=pem_file))
    settings.sender.email = IDENTITY.sender_email
    signed_identity = Identity.from_settings(settings)
    assert signed_identity.dkim is not None and signed_identity.dkim.domain == "nurture.test"
    world.load(sequence_toml("intro", [touch("0d", "Hello")]))
    world.add_lead("ann@example.com")
    world.enroll()
    world.dispatcher().identity = dataclasses.replace(IDENTITY, dkim=signed_identity.dkim)
    world.tick(NOW)
    [received] = world.received("ann@example.com")
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        if name == b"s1._domainkey.nurture.test.":
            return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
        return None

    assert received.data.startswith(b"DKIM-Signature:")
    assert dkim.verify(received.data, dnsfunc=dns)


def test_a_sequence_that_opts_out_of_open_tracking_has_no_pixel_but_tracked_links(
        world: World) -> None:
    world.template("linked.md.j2", LINKED)
    world.load(sequence_toml("intro", [touch("0d", "Pricing", template="linked.md.j2")],
                             head="track_opens = false\n"))
    world.add_lead("ann@example.com", first_name="Ann")
    world.enroll()
    world.tick(NOW)
    body = _html_part(world, "ann@example.com")
    assert f"{IDENTITY.base_url}/o/" not in body and 'width="1" height="1"' not in body
    assert f"{IDENTITY.base_url}/c/" in body
