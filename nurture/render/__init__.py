"""Rendering: a touch's template and subject → a RenderedEmail → MIME bytes.

    renderer = TemplateRenderer(Path("templates"))
    email = renderer.render("prospecting/intro.md.j2", "Hi {{ lead.first_name }}", context)
    raw = build_message(email, sender_name=…, …, date=now)

Bodies are Markdown (`.md.j2`) or HTML fragments (`.html.j2`) with Jinja2, rendered in an
immutable sandbox with StrictUndefined; the body goes into templates/_layout.html.j2, whose
footer adds the unsubscribe link and postal address to both the HTML and the text part.

Lead data is data: it is HTML-escaped (and made inert as Markdown), never evaluated as a
template, and a subject or header that would contain a line break is refused.

Missing fields: the context holds only the fields a lead has, so `{{ lead.company }}` fails,
with a TemplateError naming the template, the line and the field, for a lead without a
company. Give a fallback wherever a field may be missing:
    Hi {{ lead.first_name | default('there') }},
    {% if lead.company is defined %}…at {{ lead.company }}{% endif %}
    {{ lead.custom.plan | default('free') }}        (custom fields)
    {{ owner.name | default('our team') }}           (owner is none before a handoff)
`default` also replaces an empty value when given a second argument: default('there', true).
"""

from nurture.render.context import RenderContext, RenderedEmail
from nurture.render.mime import build_message
from nurture.render.renderer import TemplateRenderer

__all__ = ["RenderContext", "RenderedEmail", "TemplateRenderer", "build_message"]
