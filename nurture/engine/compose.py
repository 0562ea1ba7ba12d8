"""From a decision to send to the bytes of one email: render the touch for the lead and wrap it
in a MIME message with a stable Message-ID and the unsubscribe headers (RFC 2369, RFC 8058).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nurture.core.sequences import Sequence
from nurture.core.tokens import sign
from nurture.engine.facts import template_lead
from nurture.engine.tracking_links import touch_tracking
from nurture.mail.dkim import DkimSigner
from nurture.render import RenderContext, TemplateRenderer, build_message
from nurture.settings import Settings
from nurture.store.models import Lead


@dataclass(frozen=True)
class Composed:
    subject: str
    message: bytes


@dataclass(frozen=True)
class Identity:
    """Who sends, where links point, the secret that signs them, whether opens and clicks
    are tracked, and the DKIM key that signs each message (if one is configured)."""

    sender_name: str
    sender_email: str
    reply_to: str | None
    postal_address: str
    base_url: str
    secret: str
    track: bool = True
    dkim: DkimSigner | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Identity:
        """The identity the settings describe; DkimError when the DKIM key cannot be used."""
        return cls(settings.sender.name, settings.sender.email, settings.sender.reply_to,
                   settings.sender.postal_address, settings.tracking.base_url.rstrip("/"),
                   settings.tracking.secret.get_secret_value(), settings.tracking.enabled,
                   _signer(settings))

    @property
    def domain(self) -> str:
        return self.sender_email.rpartition("@")[2] or "localhost"

    @property
    def sender(self) -> Mapping[str, str]:
        return {"name": self.sender_name, "email": self.sender_email,
                "postal_address": self.postal_address}


def message_id(identity: Identity, enrollment_id: int, touch_index: int) -> str:
    """Stable per touch, so a retried send carries the same Message-ID (receivers dedupe on it)."""
    digest = hashlib.sha256(f"{identity.secret}|{enrollment_id}|{touch_index}".encode())
    return f"<{enrollment_id}.{touch_index}.{digest.hexdigest()[:12]}@{identity.domain}>"


def unsubscribe_url(identity: Identity, lead_id: int) -> str:
    return f"{identity.base_url}/u/{sign(identity.secret, 'unsubscribe', str(lead_id))}"


def _signer(settings: Settings) -> DkimSigner | None:
    dkim = settings.dkim
    if dkim.private_key_file is None:
        return None
    return DkimSigner(dkim.selector, dkim.domain or settings.sender.email.rpartition("@")[2],
                      dkim.private_key_file.read_bytes())


def task_title(renderer: TemplateRenderer, identity: Identity, sequence: Sequence,
               touch_index: int, lead: Lead, owner: Mapping[str, Any] | None) -> str:
    """The title of a task touch, rendered for the lead; TemplateError when it cannot be."""
    touch = sequence.touches[touch_index]
    assert lead.id is not None
    if not touch.task:
        return f"Follow up with {lead.email}"
    context = RenderContext(
        lead=template_lead(lead), sender=identity.sender, owner=owner,
        sequence={"id": sequence.id, "name": sequence.name or sequence.id},
        touch_number=touch_index + 1, unsubscribe_url=unsubscribe_url(identity, lead.id))
    return renderer.render_line(touch.task, context)


def compose(renderer: TemplateRenderer, identity: Identity, sequence: Sequence, touch_index: int,
            variant: int, lead: Lead, owner: Mapping[str, Any] | None, msg_id: str,
            now: datetime, enrollment_id: int) -> Composed:
    """Render and wrap one touch of `enrollment_id`: links tracked and a pixel added unless
    tracking is off (settings, sequence or touch), DKIM-signed when a key is configured.
    TemplateError (a NurtureError) when the lead's data fails the template."""
    touch = sequence.touches[touch_index]
    assert touch.template is not None and lead.id is not None
    unsubscribe = unsubscribe_url(identity, lead.id)
    tracking = touch_tracking(identity.base_url, identity.secret, sequence, enrollment_id,
                              touch_index, enabled=identity.track)
    context = RenderContext(
        lead=template_lead(lead), sender=identity.sender, owner=owner,
        sequence={"id": sequence.id, "name": sequence.name or sequence.id},
        touch_number=touch_index + 1, unsubscribe_url=unsubscribe,
        link_rewriter=tracking.link_rewriter, pixel_url=tracking.pixel_url,
    )
    rendered = renderer.render(touch.template, touch.subject[variant], context)
    to_name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    message = build_message(
        rendered, sender_name=identity.sender_name, sender_email=identity.sender_email,
        to_name=to_name, to_email=lead.email, message_id=msg_id, reply_to=identity.reply_to,
        list_unsubscribe_url=unsubscribe,
        list_unsubscribe_mailto=f"mailto:{identity.sender_email}?subject=unsubscribe",
        date=now,
    )
    if identity.dkim is not None:
        message = identity.dkim.sign(message)
    return Composed(rendered.subject, message)
