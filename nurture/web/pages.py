"""The plain HTML pages of the unsubscribe link: confirm, done, paused, not found. Every value
shown is escaped; the pages load nothing from elsewhere."""

from __future__ import annotations

from datetime import datetime
from html import escape

PAUSE_DAYS = 30
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;"
          "padding:0 1rem;line-height:1.5;color:#222}"
          "button{font:inherit;padding:.5rem 1rem;cursor:pointer}")


def _page(title: str, body: str) -> str:
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"robots\" content=\"noindex\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
            f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n")


def confirm_page(sender: str, email: str) -> str:
    """The GET page: nothing changes until one of the buttons is pressed."""
    return _page("Unsubscribe", (
        f"<p>Stop emails from {escape(sender)} to {escape(email)}?</p>\n"
        "<form method=\"post\">\n"
        "<p><button type=\"submit\" name=\"choice\" value=\"unsubscribe\">"
        "Unsubscribe from everything</button></p>\n"
        "<p><button type=\"submit\" name=\"choice\" value=\"pause\">"
        f"Pause emails for {PAUSE_DAYS} days instead</button></p>\n"
        "</form>"))


def unsubscribed_page(sender: str, email: str) -> str:
    return _page("You are unsubscribed",
                 f"<p>{escape(sender)} will not email {escape(email)} again.</p>")


def paused_page(sender: str, email: str, until: datetime) -> str:
    return _page("Emails paused",
                 f"<p>{escape(sender)} will not email {escape(email)} before "
                 f"{until:%B %-d, %Y}.</p>")


def not_found_page() -> str:
    return _page("Link not valid",
                 "<p>This unsubscribe link is not valid. Please use the link in the email "
                 "exactly as it was sent, or reply to the email to unsubscribe.</p>")
