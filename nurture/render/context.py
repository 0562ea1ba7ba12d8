"""What a template sees, and what rendering returns.

Names a template (body or subject) can use:
  lead          the lead's fields that have a value (first_name, company, …); custom fields
                under lead.custom.NAME. A field the lead lacks is undefined: using it fails
                unless the template gives a fallback, {{ lead.first_name | default('there') }}.
  sender        name, email, postal_address of the sending organisation
  owner         the lead's rep (name, email), or none before a handoff:
                {% if owner %}…{% endif %} or {{ owner.name | default('our team') }}
  sequence      id, name of the sequence this touch belongs to
  touch_number  the 1-based position of the touch in its sequence
  unsubscribe_url  the lead's one-click unsubscribe link (the layout's footer shows it)
The layout also sees `body` (the rendered body HTML) and `subject` (the rendered subject).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Everything one email for one lead is rendered from; see the module docstring."""

    lead: Mapping[str, Any]
    sender: Mapping[str, str]
    owner: Mapping[str, str] | None
    sequence: Mapping[str, str]
    touch_number: int
    unsubscribe_url: str
    link_rewriter: Callable[[str], str] | None = None
    """Applied to every http(s) link of the final HTML except those marked `data-notrack`."""
    pixel_url: str | None = None
    """When set, a 1x1 image with this URL is appended to the HTML body."""

    def variables(self) -> dict[str, Any]:
        """The names templates see. lead.custom is always a mapping, so that
        `lead.custom.plan | default('free')` works for a lead without custom fields."""
        lead = self.lead if "custom" in self.lead else {**self.lead, "custom": {}}
        return {
            "lead": lead,
            "sender": self.sender,
            "owner": self.owner,
            "sequence": self.sequence,
            "touch_number": self.touch_number,
            "unsubscribe_url": self.unsubscribe_url,
        }


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """A rendered email: one-line subject, HTML part (CSS inlined, links tracked), text part."""

    subject: str
    html: str
    text: str
